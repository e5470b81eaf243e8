//! Reading and validating a Spin application manifest (`spin_manifest_version = 2`).
//!
//! Only what `spin up` needs to serve the HTTP trigger is modelled; fields that
//! devhost does not act on (build settings, descriptions, watch lists) are
//! accepted and ignored, as Spin itself ignores them at run time.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use crate::variables::Template;

#[derive(Debug, Deserialize)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    #[serde(default)]
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    trigger: BTreeMap<String, Vec<toml::Table>>,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Default, Deserialize)]
struct RawApplication {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    required: bool,
    // Secrets are never printed by devhost, so the flag changes nothing here.
    #[serde(default)]
    #[allow(dead_code)]
    secret: bool,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    source: toml::Value,
    #[serde(default)]
    sqlite_databases: Vec<String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    allowed_http_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    files: Vec<toml::Value>,
    #[serde(default)]
    build: Option<RawBuild>,
}

#[derive(Debug, Deserialize)]
struct RawBuild {
    #[serde(default)]
    command: Option<toml::Value>,
}

/// An application variable declared in `[variables]`.
#[derive(Debug, Clone)]
pub struct AppVariable {
    pub default: Option<String>,
    pub required: bool,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub route: String,
    pub component: String,
}

/// A component as the host needs it.
#[derive(Debug, Clone)]
pub struct Component {
    pub id: String,
    pub source: PathBuf,
    pub build_command: Option<String>,
    pub sqlite_databases: HashSet<String>,
    pub key_value_stores: HashSet<String>,
    pub allowed_outbound_hosts: Vec<String>,
    pub variables: BTreeMap<String, Template>,
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    pub dir: PathBuf,
    pub variables: BTreeMap<String, AppVariable>,
    pub triggers: Vec<HttpTrigger>,
    pub components: BTreeMap<String, Component>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let dir = path
            .canonicalize()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, &dir).with_context(|| format!("invalid manifest {}", path.display()))
    }

    pub fn parse(text: &str, dir: &Path) -> Result<Self> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| anyhow!("{}", e.message()))?;
        match raw.spin_manifest_version {
            toml::Value::Integer(2) => {}
            toml::Value::String(s) if s == "2" => {}
            other => bail!(
                "spin_manifest_version must be 2 (got {other}); devhost serves only version 2 manifests"
            ),
        }

        let mut variables = BTreeMap::new();
        for (name, v) in raw.variables {
            check_variable_name(&name)?;
            if v.required && v.default.is_some() {
                bail!("variable {name:?} cannot be both required and have a default");
            }
            if !v.required && v.default.is_none() {
                bail!("variable {name:?} must either be required or have a default");
            }
            variables.insert(
                name,
                AppVariable {
                    default: v.default,
                    required: v.required,
                },
            );
        }

        let mut components = BTreeMap::new();
        for (id, c) in raw.component {
            let source = match &c.source {
                toml::Value::String(s) => dir.join(s),
                toml::Value::Table(_) => bail!(
                    "component {id:?}: only local file sources are supported by devhost (source = \"path.wasm\")"
                ),
                other => bail!("component {id:?}: invalid source {other}"),
            };
            if !c.allowed_http_hosts.is_empty() {
                bail!(
                    "component {id:?}: allowed_http_hosts is not supported in manifest version 2; use allowed_outbound_hosts"
                );
            }
            if !c.files.is_empty() {
                eprintln!(
                    "devhost: warning: component {id:?} mounts files; devhost does not provide a filesystem"
                );
            }
            let mut comp_vars = BTreeMap::new();
            for (name, tpl) in c.variables {
                check_variable_name(&name)
                    .with_context(|| format!("component {id:?} variable {name:?}"))?;
                let template = Template::parse(&tpl)
                    .with_context(|| format!("component {id:?} variable {name:?}"))?;
                for reference in template.references() {
                    if !variables.contains_key(reference) {
                        bail!(
                            "component {id:?} variable {name:?} refers to undefined application variable {reference:?}"
                        );
                    }
                }
                comp_vars.insert(name, template);
            }
            let build_command = c.build.and_then(|b| b.command).and_then(|cmd| match cmd {
                toml::Value::String(s) => Some(s),
                toml::Value::Array(a) => Some(
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(" && "),
                ),
                _ => None,
            });
            components.insert(
                id.clone(),
                Component {
                    id,
                    source,
                    build_command,
                    sqlite_databases: c.sqlite_databases.into_iter().collect(),
                    key_value_stores: c.key_value_stores.into_iter().collect(),
                    allowed_outbound_hosts: c.allowed_outbound_hosts,
                    variables: comp_vars,
                    environment: c.environment,
                },
            );
        }

        let mut triggers = Vec::new();
        for (kind, entries) in raw.trigger {
            if kind != "http" {
                bail!("trigger type {kind:?} is not supported by devhost (only http)");
            }
            for entry in entries {
                let route = match entry.get("route") {
                    Some(toml::Value::String(r)) => r.clone(),
                    Some(toml::Value::Table(t))
                        if t.get("private").and_then(toml::Value::as_bool) == Some(true) =>
                    {
                        // Private endpoints are reachable only through service
                        // chaining, which devhost does not offer: skip like Spin's router.
                        continue;
                    }
                    _ => bail!("every [[trigger.http]] needs a string `route`"),
                };
                let component = match entry.get("component") {
                    Some(toml::Value::String(c)) => c.clone(),
                    Some(_) => bail!(
                        "trigger {route:?}: inline components are not supported by devhost; reference a [component.X] by id"
                    ),
                    None => bail!("trigger {route:?} has no component"),
                };
                if !components.contains_key(&component) {
                    bail!("trigger {route:?} refers to undefined component {component:?}");
                }
                if entry.contains_key("executor") {
                    let executor = entry.get("executor").and_then(|e| e.get("type"));
                    if executor.and_then(toml::Value::as_str).unwrap_or("http") != "http" {
                        bail!(
                            "trigger {route:?}: only the default http executor is supported by devhost"
                        );
                    }
                }
                triggers.push(HttpTrigger { route, component });
            }
        }
        if triggers.is_empty() {
            bail!("the manifest has no [[trigger.http]] entries");
        }

        Ok(Manifest {
            name: raw.application.name.unwrap_or_else(|| "<unnamed>".into()),
            dir: dir.to_path_buf(),
            variables,
            triggers,
            components,
        })
    }

    /// Components that some trigger routes to (only these are loaded, like Spin).
    pub fn used_components(&self) -> Vec<&Component> {
        let used: HashSet<&str> = self.triggers.iter().map(|t| t.component.as_str()).collect();
        self.components
            .values()
            .filter(|c| used.contains(c.id.as_str()))
            .collect()
    }
}

/// Spin's rule for variable names: lowercase ASCII letters, digits and
/// underscores, starting with a letter, no double or trailing underscore.
pub fn check_variable_name(name: &str) -> Result<()> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_');
    if ok {
        Ok(())
    } else {
        bail!(
            "invalid variable name {name:?}: use lowercase letters, digits and single underscores, starting with a letter"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "x"
[variables]
a = { default = "1" }
b = { required = true, secret = true }
[[trigger.http]]
route = "/..."
component = "c"
[component.c]
source = "c.wasm"
allowed_outbound_hosts = ["postgres://*:*"]
[component.c.variables]
x = "pre-{{ a }}-{{b}}"
"#;

    #[test]
    fn parses_minimal_manifest() {
        let m = Manifest::parse(MINIMAL, Path::new("/app")).unwrap();
        assert_eq!(m.triggers.len(), 1);
        assert_eq!(m.components["c"].source, Path::new("/app/c.wasm"));
        assert!(m.variables["b"].required);
    }

    #[test]
    fn rejects_wrong_version_and_unknown_references() {
        let bad = MINIMAL.replace("spin_manifest_version = 2", "spin_manifest_version = 1");
        assert!(Manifest::parse(&bad, Path::new("/")).is_err());
        let bad = MINIMAL.replace("{{b}}", "{{ nope }}");
        let err = Manifest::parse(&bad, Path::new("/")).unwrap_err();
        assert!(format!("{err:#}").contains("nope"));
        let bad = MINIMAL.replace("component = \"c\"", "component = \"d\"");
        assert!(Manifest::parse(&bad, Path::new("/")).is_err());
    }

    #[test]
    fn variable_names() {
        assert!(check_variable_name("database_url").is_ok());
        assert!(check_variable_name("Database").is_err());
        assert!(check_variable_name("1abc").is_err());
        assert!(check_variable_name("a__b").is_err());
    }
}
