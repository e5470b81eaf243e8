//! Migrator against temporary SQLite files (always runs; no server needed).

mod common;

use std::path::Path;

use common::*;
use migrator::{Dialect, ErrorKind, Options, State, Steps, Target};

fn target(path: &Path) -> Target {
    Target::parse(&format!("sqlite://{}", path.display()), None).unwrap()
}

fn opts() -> Options {
    Options::default()
}

fn open(path: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    // As the app does: SQLite enforces foreign keys only when asked, per connection.
    c.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    c
}

/// `Ok(rows)` or `Err(short reason)` naming the constraint family that fired.
fn exec(c: &rusqlite::Connection, sql: &str) -> Result<usize, &'static str> {
    c.execute(sql, []).map_err(|e| {
        let text = e.to_string();
        if text.contains("UNIQUE") {
            "unique"
        } else if text.contains("CHECK") {
            "check"
        } else if text.contains("FOREIGN KEY") {
            "fk"
        } else {
            panic!("unexpected error for {sql}: {text}")
        }
    })
}

fn count(c: &rusqlite::Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn versions(c: &rusqlite::Connection) -> Vec<i64> {
    let mut s = c
        .prepare("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .unwrap();
    s.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

const USER: &str =
    "INSERT INTO users (id, username, email, password_hash, created_at, updated_at) VALUES";
const TS: &str = "'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'";

#[tokio::test]
async fn sqlite_up_creates_schema_and_constraints_hold() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let t = target(&path);
    let m = migrator::embedded_migrator(Dialect::Sqlite);
    assert_eq!(migrator::up(&t, &m, &opts()).await.unwrap().len(), 5);

    let c = open(&path);
    assert_eq!(
        exec(&c, &format!("{USER} (1, 'alice', 'a@x.io', 'h', {TS})")),
        Ok(1)
    );
    assert_eq!(
        exec(&c, &format!("{USER} (2, 'alice', 'b@x.io', 'h', {TS})")),
        Err("unique")
    );
    assert_eq!(
        exec(&c, &format!("{USER} (3, 'bob', 'a@x.io', 'h', {TS})")),
        Err("unique")
    );
    assert_eq!(
        exec(&c, &format!("{USER} (4, 'ab', 'c@x.io', 'h', {TS})")),
        Err("check")
    );
    assert_eq!(
        exec(&c, &format!("{USER} (5, 'bob', 'bob@x.io', 'h', {TS})")),
        Ok(1)
    );
    let brand = |id: i64, name: &str| {
        format!(
            "INSERT INTO brands (id, name, created_at, updated_at) VALUES ({id}, '{name}', {TS})"
        )
    };
    assert_eq!(exec(&c, &brand(1, "Fiat")), Ok(1));
    assert_eq!(exec(&c, &brand(2, "Fiat")), Err("unique"));
    assert_eq!(exec(&c, &brand(3, "F")), Err("check"));
    assert_eq!(exec(&c, &brand(4, "Ford")), Ok(1));
    assert_eq!(count(&c, "SELECT is_active FROM brands WHERE id = 1"), 1);
    let car = |id: i64, plate: &str, fuel: &str, cents: i64, brand: i64, owner: i64| {
        format!(
            "INSERT INTO cars (id, model, factory_year, model_year, color, plate, fuel_type, transmission, price, brand_id, owner_id, created_at, updated_at) \
             VALUES ({id}, 'Uno', 2020, 2021, 'red', '{plate}', '{fuel}', 'manual', {cents}, {brand}, {owner}, {TS})"
        )
    };
    assert_eq!(exec(&c, &car(1, "ABC1D23", "flex", 1235, 1, 1)), Ok(1));
    assert_eq!(
        exec(&c, &car(2, "ABC1D23", "flex", 1000, 1, 1)),
        Err("unique")
    );
    assert_eq!(
        exec(&c, &car(3, "XYZ9K88", "steam", 1000, 1, 1)),
        Err("check")
    );
    assert_eq!(exec(&c, &car(4, "XYZ9K88", "flex", 0, 1, 1)), Err("check"));
    assert_eq!(exec(&c, &car(5, "XYZ9K88", "flex", 1000, 99, 1)), Err("fk"));
    assert_eq!(exec(&c, &car(6, "XYZ9K88", "flex", 1000, 1, 99)), Err("fk"));
    assert_eq!(
        exec(&c, &car(7, "BOB0B00", "diesel", 9_999_999_999, 4, 5)),
        Ok(1)
    );
    // RESTRICT then CASCADE
    assert_eq!(exec(&c, "DELETE FROM brands WHERE id = 1"), Err("fk"));
    assert_eq!(exec(&c, "DELETE FROM users WHERE id = 1"), Ok(1));
    assert_eq!(count(&c, "SELECT count(*) FROM cars WHERE owner_id = 1"), 0);
    assert_eq!(count(&c, "SELECT count(*) FROM cars"), 1);
    assert_eq!(exec(&c, "DELETE FROM brands WHERE id = 1"), Ok(1));
    assert_eq!(
        count(
            &c,
            "SELECT max(version) FROM _sqlx_migrations WHERE success"
        ),
        20260101000005
    );
    // same table layout as sqlx-sqlite: checksum is a 48-byte SHA-384
    assert_eq!(
        count(&c, "SELECT min(length(checksum)) FROM _sqlx_migrations"),
        48
    );
}

#[tokio::test]
async fn sqlite_status_down_up_cycle_and_idempotent_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cycle.db");
    let t = target(&path);
    let m = migrator::embedded_migrator(Dialect::Sqlite);

    let st = migrator::status(&t, &m, &opts()).await.unwrap();
    assert_eq!(st.count(State::Pending), 5);
    assert!(!st.is_current());
    assert_eq!(
        count(
            &open(&path),
            "SELECT count(*) FROM sqlite_master WHERE name = '_sqlx_migrations'"
        ),
        0
    );

    migrator::up(&t, &m, &opts()).await.unwrap();
    assert!(migrator::up(&t, &m, &opts()).await.unwrap().is_empty());
    let st = migrator::status(&t, &m, &opts()).await.unwrap();
    assert!(st.is_current());
    assert_eq!(st.newest_applied(), Some(20260101000005));
    let c = open(&path);
    exec(&c, &format!("{USER} (1, 'alice', 'a@x.io', 'h', {TS})")).unwrap();
    drop(c);

    let ran = migrator::down(&t, &m, Steps::Count(3), &opts())
        .await
        .unwrap();
    assert_eq!(
        ran.iter().map(|r| r.version).collect::<Vec<_>>(),
        vec![20260101000005, 20260101000004, 20260101000003]
    );
    let c = open(&path);
    assert_eq!(versions(&c), vec![20260101000001, 20260101000002]);
    assert_eq!(
        count(&c, "SELECT count(*) FROM users"),
        1,
        "down 3 kept other data"
    );
    drop(c);
    let st = migrator::status(&t, &m, &opts()).await.unwrap();
    assert_eq!(
        st.entries.iter().map(|e| e.state).collect::<Vec<_>>(),
        vec![
            State::Applied,
            State::Applied,
            State::Pending,
            State::Pending,
            State::Pending
        ]
    );

    assert_eq!(
        migrator::down(&t, &m, Steps::All, &opts())
            .await
            .unwrap()
            .len(),
        2
    );
    let c = open(&path);
    assert!(versions(&c).is_empty());
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM sqlite_master WHERE name IN ('users','brands','cars')"
        ),
        0
    );
    drop(c);
    assert_eq!(
        migrator::down(&t, &m, Steps::Count(0), &opts())
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Usage
    );

    assert_eq!(migrator::up(&t, &m, &opts()).await.unwrap().len(), 5);
    assert!(
        migrator::status(&t, &m, &opts())
            .await
            .unwrap()
            .is_current()
    );
}

#[tokio::test]
async fn sqlite_failed_migration_leaves_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.db");
    let t = target(&path);
    let mdir = tempfile::tempdir().unwrap();
    write_migrations(mdir.path(), BROKEN_UP);
    let m = migrator_from(mdir.path()).await;

    let err = migrator::up(&t, &m, &opts()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::MigrationFailed);
    let msg = err.to_string();
    assert_one_line_without(&msg, "\u{0}");
    assert!(
        msg.contains("applying migration 2 (break things) failed"),
        "{msg}"
    );
    assert!(msg.contains("no such table: no_such_table"), "{msg}");

    let c = open(&path);
    assert_eq!(
        c.query_row("SELECT group_concat(name) FROM things", [], |r| r
            .get::<_, String>(0))
            .unwrap(),
        "original"
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"
        ),
        0
    );
    assert_eq!(versions(&c), vec![1]);
}

#[tokio::test]
async fn sqlite_failed_revert_leaves_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("brokendown.db");
    let t = target(&path);
    let mdir = tempfile::tempdir().unwrap();
    write_migrations(mdir.path(), BROKEN_DOWN);
    let m = migrator_from(mdir.path()).await;
    migrator::up(&t, &m, &opts()).await.unwrap();

    let err = migrator::down(&t, &m, Steps::Count(1), &opts())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::MigrationFailed);
    assert!(
        err.to_string()
            .contains("reverting migration 2 (add thing) failed"),
        "{err}"
    );
    let c = open(&path);
    assert_eq!(count(&c, "SELECT count(*) FROM things"), 2);
    assert_eq!(versions(&c), vec![1, 2]);
}

#[tokio::test]
async fn sqlite_default_url_creates_file_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/sqlite_db.db");
    let t = Target::parse("sqlite://default", Some(&path)).unwrap();
    let m = migrator::embedded_migrator(Dialect::Sqlite);
    migrator::up(&t, &m, &opts()).await.unwrap();
    assert!(path.is_file());
    // also the sqlite: and sqlite:/// spellings reach the same file
    for url in [
        format!("sqlite:{}", path.display()),
        format!("sqlite://{}", path.display()),
    ] {
        let t = Target::parse(&url, None).unwrap();
        assert!(
            migrator::status(&t, &m, &opts())
                .await
                .unwrap()
                .is_current(),
            "{url}"
        );
    }
}

#[tokio::test]
async fn sqlite_unopenable_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-db.db");
    std::fs::write(&path, "this is not an SQLite database, just text.......................................................").unwrap();
    let t = target(&path);
    let m = migrator::embedded_migrator(Dialect::Sqlite);
    let err = migrator::up(&t, &m, &opts()).await.unwrap_err();
    assert_one_line_without(&err.to_string(), "\u{0}");
    assert!(
        err.to_string().starts_with("cannot open SQLite database"),
        "{err}"
    );
}
