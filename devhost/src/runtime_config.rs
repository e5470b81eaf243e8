//! The subset of Spin's runtime configuration file devhost understands:
//! `[sqlite_database.<label>]` and `[key_value_store.<label>]`. Relative paths
//! resolve against the directory of the runtime-config file, as in Spin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

#[derive(Debug, Clone, PartialEq)]
pub enum SqliteLocation {
    File(PathBuf),
    Memory,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KvBackend {
    Sqlite(SqliteLocation),
    Redis { url: String },
}

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub sqlite_databases: BTreeMap<String, SqliteLocation>,
    pub kv_stores: BTreeMap<String, KvBackend>,
}

impl RuntimeConfig {
    /// Loads the file (if any) and adds Spin's defaults for the `default`
    /// labels: `<state_dir>/sqlite_db.db` and `<state_dir>/sqlite_key_value.db`.
    pub fn load(path: Option<&Path>, state_dir: &Path) -> Result<Self> {
        let mut cfg = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read runtime config {}", p.display()))?;
                let base = p
                    .canonicalize()
                    .ok()
                    .and_then(|c| c.parent().map(Path::to_path_buf))
                    .unwrap_or_else(|| PathBuf::from("."));
                Self::parse(&text, &base)
                    .with_context(|| format!("invalid runtime config {}", p.display()))?
            }
            None => RuntimeConfig {
                sqlite_databases: BTreeMap::new(),
                kv_stores: BTreeMap::new(),
            },
        };
        cfg.sqlite_databases
            .entry("default".into())
            .or_insert_with(|| SqliteLocation::File(state_dir.join("sqlite_db.db")));
        cfg.kv_stores.entry("default".into()).or_insert_with(|| {
            KvBackend::Sqlite(SqliteLocation::File(state_dir.join("sqlite_key_value.db")))
        });
        Ok(cfg)
    }

    pub fn parse(text: &str, base: &Path) -> Result<Self> {
        let table: toml::Table = toml::from_str(text).map_err(|e| anyhow!("{}", e.message()))?;
        let mut sqlite_databases = BTreeMap::new();
        let mut kv_stores = BTreeMap::new();
        for (section, value) in &table {
            match section.as_str() {
                "sqlite_database" => {
                    for (label, entry) in as_table(value, section)? {
                        let entry = as_table(entry, label)?;
                        let location = match type_of(entry, section, label)? {
                            "spin" => sqlite_location(entry, base),
                            other => bail!(
                                "[sqlite_database.{label}]: type {other:?} is not supported by devhost (only \"spin\")"
                            ),
                        };
                        sqlite_databases.insert(label.clone(), location);
                    }
                }
                "key_value_store" => {
                    for (label, entry) in as_table(value, section)? {
                        let entry = as_table(entry, label)?;
                        let backend = match type_of(entry, section, label)? {
                            "spin" => KvBackend::Sqlite(sqlite_location(entry, base)),
                            "redis" => {
                                let url = entry.get("url").and_then(toml::Value::as_str).ok_or_else(
                                    || anyhow!("[key_value_store.{label}]: type \"redis\" needs a `url`"),
                                )?;
                                KvBackend::Redis {
                                    url: url.to_string(),
                                }
                            }
                            other => bail!(
                                "[key_value_store.{label}]: type {other:?} is not supported by devhost (\"spin\" or \"redis\")"
                            ),
                        };
                        kv_stores.insert(label.clone(), backend);
                    }
                }
                other => {
                    eprintln!(
                        "devhost: warning: runtime config section [{other}] is not supported by devhost and is ignored"
                    );
                }
            }
        }
        Ok(RuntimeConfig {
            sqlite_databases,
            kv_stores,
        })
    }
}

fn as_table<'a>(v: &'a toml::Value, what: &str) -> Result<&'a toml::Table> {
    v.as_table()
        .ok_or_else(|| anyhow!("[{what}] must be a table"))
}

fn type_of<'a>(entry: &'a toml::Table, section: &str, label: &str) -> Result<&'a str> {
    entry
        .get("type")
        .and_then(toml::Value::as_str)
        .ok_or_else(|| anyhow!("[{section}.{label}] needs a `type`"))
}

fn sqlite_location(entry: &toml::Table, base: &Path) -> SqliteLocation {
    match entry.get("path").and_then(toml::Value::as_str) {
        Some(p) => {
            let p = Path::new(p);
            SqliteLocation::File(if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            })
        }
        // Spin keeps a database without a path in memory.
        None => SqliteLocation::Memory,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_and_defaults() {
        let text = r#"
[sqlite_database.default]
type = "spin"
path = ".spin/db.db"
[key_value_store.default]
type = "redis"
url = "redis://127.0.0.1:6379"
[key_value_store.cache]
type = "spin"
[llm_compute]
type = "remote_http"
"#;
        let cfg = RuntimeConfig::parse(text, Path::new("/cfg")).unwrap();
        assert_eq!(
            cfg.sqlite_databases["default"],
            SqliteLocation::File("/cfg/.spin/db.db".into())
        );
        assert_eq!(
            cfg.kv_stores["default"],
            KvBackend::Redis {
                url: "redis://127.0.0.1:6379".into()
            }
        );
        assert_eq!(
            cfg.kv_stores["cache"],
            KvBackend::Sqlite(SqliteLocation::Memory)
        );
        assert!(
            RuntimeConfig::parse("[sqlite_database.x]\ntype = \"libsql\"", Path::new("/")).is_err()
        );
    }
}
