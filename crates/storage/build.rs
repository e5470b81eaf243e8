//! Compiles in the newest migration version, so `/health_check/detailed` can tell whether
//! the database schema is the one this build expects. Both dialects must carry the same
//! set of versions; a mismatch fails the build.

use std::path::Path;

fn versions(dir: &Path) -> Vec<i64> {
    let mut versions: Vec<i64> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let (version, rest) = name.split_once('_')?;
            rest.ends_with(".up.sql").then(|| version.parse().ok())?
        })
        .collect();
    versions.sort_unstable();
    versions
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    println!("cargo::rerun-if-changed={}", root.display());
    let postgres = versions(&root.join("postgres"));
    let sqlite = versions(&root.join("sqlite"));
    assert_eq!(
        postgres, sqlite,
        "migrations/postgres and migrations/sqlite must have the same versions"
    );
    let latest = postgres.last().copied().unwrap_or(0);
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("latest_migration.rs");
    std::fs::write(
        out,
        format!("pub const LATEST_MIGRATION: i64 = {latest};\n"),
    )
    .unwrap();
}
