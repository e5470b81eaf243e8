//! Embeds `../migrations/postgres` and `../migrations/sqlite` into the binary.
//!
//! This does what `sqlx::migrate!` does (see Cargo.toml for why that macro's crate
//! cannot be a dependency here): same file-name rules (`<version>_<name>.up.sql` /
//! `.down.sql` / `.sql`), same description (`_` -> space), same `-- no-transaction`
//! opt-out, and the checksum is computed by sqlx-core's own `Migration::new`, so rows
//! in `_sqlx_migrations` are identical to what sqlx-cli would write.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut out = String::new();
    for (name, dir) in [
        ("POSTGRES", "../migrations/postgres"),
        ("SQLITE", "../migrations/sqlite"),
    ] {
        let dir = manifest_dir.join(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        emit(&mut out, name, &dir);
    }
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap()).join("embedded_migrations.rs");
    fs::write(dest, out).unwrap();
}

fn emit(out: &mut String, name: &str, dir: &Path) {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read migration directory {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();

    let mut entries = Vec::new();
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some((version, rest)) = file_name.split_once('_') else {
            continue;
        };
        if !rest.ends_with(".sql") {
            continue;
        }
        let version: i64 = version.parse().unwrap_or_else(|_| {
            panic!("migration {file_name:?}: version prefix is not an integer")
        });
        let (kind, suffix) = if rest.ends_with(".up.sql") {
            ("ReversibleUp", ".up.sql")
        } else if rest.ends_with(".down.sql") {
            ("ReversibleDown", ".down.sql")
        } else {
            ("Simple", ".sql")
        };
        let description = rest.trim_end_matches(suffix).replace('_', " ");
        let sql = fs::read_to_string(&path).unwrap();
        let no_tx = sql.starts_with("-- no-transaction");
        let abs = path.canonicalize().unwrap();
        entries.push((version, kind, description, abs, no_tx));
    }
    // sqlx orders by (version, type); keep the same order for readability.
    entries.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

    writeln!(
        out,
        "/// Migrations compiled in from `migrations/{}`.",
        name.to_lowercase()
    )
    .unwrap();
    writeln!(
        out,
        "pub(crate) fn {}_migrations() -> Vec<Migration> {{",
        name.to_lowercase()
    )
    .unwrap();
    writeln!(out, "    vec![").unwrap();
    for (version, kind, description, abs, no_tx) in entries {
        writeln!(
            out,
            "        Migration::new({version}, Cow::Borrowed({description:?}), MigrationType::{kind}, SqlStr::from_static(include_str!({path:?})), {no_tx}),",
            path = abs.display().to_string()
        )
        .unwrap();
    }
    writeln!(out, "    ]").unwrap();
    writeln!(out, "}}").unwrap();
}
