//! Migrator against a real PostgreSQL (TEST_DATABASE_URL, default
//! postgres://postgres@127.0.0.1:5432/postgres). Each test gets its own database.

mod common;

use std::time::{Duration, Instant};

use common::*;
use migrator::{Dialect, ErrorKind, Options, State, Steps, Target};
use sqlx_core::connection::Connection;

fn target(db: &PgDb) -> Target {
    Target::parse(&db.url, None).unwrap()
}

fn opts() -> Options {
    Options::default()
}

async fn applied_versions(db: &PgDb) -> Vec<i64> {
    let mut c = db.conn().await;
    let v = sqlx_core::query_scalar::query_scalar::<_, i64>(
        "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let _ = c.close().await;
    v
}

const USER: &str = "INSERT INTO users (id, username, email, password_hash) VALUES";

#[tokio::test]
async fn pg_up_creates_schema_and_constraints_hold() {
    let Some(db) = PgDb::create("schema").await else {
        return;
    };
    let t = target(&db);
    let m = migrator::embedded_migrator(Dialect::Postgres);
    let ran = migrator::up(&t, &m, &opts()).await.unwrap();
    assert_eq!(
        ran.iter().map(|r| r.version).collect::<Vec<_>>(),
        vec![
            20260101000001,
            20260101000002,
            20260101000003,
            20260101000004,
            20260101000005
        ]
    );
    assert_eq!(ran[2].description, "create cars");

    let mut c = db.conn().await;
    // unique + CHECK on users
    assert_eq!(
        pg_exec(&mut c, &format!("{USER} (1, 'alice', 'a@x.io', 'h')")).await,
        Ok(1)
    );
    assert_eq!(
        pg_exec(&mut c, &format!("{USER} (2, 'alice', 'b@x.io', 'h')")).await,
        Err("23505".into())
    );
    assert_eq!(
        pg_exec(&mut c, &format!("{USER} (3, 'bob', 'a@x.io', 'h')")).await,
        Err("23505".into())
    );
    assert_eq!(
        pg_exec(&mut c, &format!("{USER} (4, 'ab', 'c@x.io', 'h')")).await,
        Err("23514".into())
    );
    assert_eq!(
        pg_exec(&mut c, &format!("{USER} (5, 'bob', 'bob@x.io', 'h')")).await,
        Ok(1)
    );
    // brands
    assert_eq!(
        pg_exec(&mut c, "INSERT INTO brands (id, name) VALUES (1, 'Fiat')").await,
        Ok(1)
    );
    assert_eq!(
        pg_exec(&mut c, "INSERT INTO brands (id, name) VALUES (2, 'Fiat')").await,
        Err("23505".into())
    );
    assert_eq!(
        pg_exec(&mut c, "INSERT INTO brands (id, name) VALUES (3, 'F')").await,
        Err("23514".into())
    );
    assert_eq!(
        pg_exec(&mut c, "INSERT INTO brands (id, name) VALUES (4, 'Ford')").await,
        Ok(1)
    );
    assert_eq!(
        pg_text(&mut c, "SELECT is_active::text FROM brands WHERE id = 1")
            .await
            .as_deref(),
        Some("true")
    );
    // cars: price NUMERIC(10,2) rounds half up
    let car = |id: i64, plate: &str, fuel: &str, price: &str, brand: i64, owner: i64| {
        format!(
            "INSERT INTO cars (id, model, factory_year, model_year, color, plate, fuel_type, transmission, price, brand_id, owner_id) \
             VALUES ({id}, 'Uno', 2020, 2021, 'red', '{plate}', '{fuel}', 'manual', {price}, {brand}, {owner})"
        )
    };
    assert_eq!(
        pg_exec(&mut c, &car(1, "ABC1D23", "flex", "12.345", 1, 1)).await,
        Ok(1)
    );
    assert_eq!(
        pg_text(&mut c, "SELECT price::text FROM cars WHERE id = 1")
            .await
            .as_deref(),
        Some("12.35")
    );
    assert_eq!(
        pg_exec(&mut c, &car(2, "ABC1D23", "flex", "10", 1, 1)).await,
        Err("23505".into())
    );
    assert_eq!(
        pg_exec(&mut c, &car(3, "XYZ9K88", "steam", "10", 1, 1)).await,
        Err("23514".into())
    );
    assert_eq!(
        pg_exec(&mut c, &car(4, "XYZ9K88", "flex", "0", 1, 1)).await,
        Err("23514".into())
    );
    assert_eq!(
        pg_exec(&mut c, &car(5, "XYZ9K88", "flex", "10", 99, 1)).await,
        Err("23503".into())
    );
    assert_eq!(
        pg_exec(&mut c, &car(6, "XYZ9K88", "flex", "10", 1, 99)).await,
        Err("23503".into())
    );
    assert_eq!(
        pg_exec(&mut c, &car(7, "BOB0B00", "diesel", "99999999.99", 4, 5)).await,
        Ok(1)
    );
    // FK RESTRICT: a brand in use cannot be deleted; an unused one can
    assert_eq!(
        pg_exec(&mut c, "DELETE FROM brands WHERE id = 1").await,
        Err("23503".into())
    );
    // FK CASCADE: deleting a user deletes their cars, and only theirs
    assert_eq!(
        pg_exec(&mut c, "DELETE FROM users WHERE id = 1").await,
        Ok(1)
    );
    assert_eq!(
        pg_i64(&mut c, "SELECT count(*) FROM cars WHERE owner_id = 1").await,
        0
    );
    assert_eq!(pg_i64(&mut c, "SELECT count(*) FROM cars").await, 1);
    assert_eq!(
        pg_exec(&mut c, "DELETE FROM brands WHERE id = 1").await,
        Ok(1)
    );
    // identity columns hand out ids
    assert_eq!(
        pg_exec(&mut c, "INSERT INTO brands (name) VALUES ('Auto-id')").await,
        Ok(1)
    );
    // bookkeeping the health check reads
    assert_eq!(
        pg_i64(
            &mut c,
            "SELECT max(version) FROM _sqlx_migrations WHERE success"
        )
        .await,
        20260101000005
    );
    let _ = c.close().await;
}

#[tokio::test]
async fn pg_status_before_and_after_up() {
    let Some(db) = PgDb::create("status").await else {
        return;
    };
    let t = target(&db);
    let m = migrator::embedded_migrator(Dialect::Postgres);
    let before = migrator::status(&t, &m, &opts()).await.unwrap();
    assert_eq!(before.count(State::Pending), 5);
    assert!(!before.is_current());
    assert_eq!(before.newest_applied(), None);
    // status is read-only: it did not create the bookkeeping table
    let mut c = db.conn().await;
    assert_eq!(
        pg_text(&mut c, "SELECT to_regclass('_sqlx_migrations')::text").await,
        None
    );
    let _ = c.close().await;

    migrator::up(&t, &m, &opts()).await.unwrap();
    let after = migrator::status(&t, &m, &opts()).await.unwrap();
    assert!(after.is_current(), "{after:?}");
    assert_eq!(after.count(State::Applied), 5);
    assert_eq!(after.newest_applied(), Some(20260101000005));
}

#[tokio::test]
async fn pg_down_one_down_all_then_up_again() {
    let Some(db) = PgDb::create("down").await else {
        return;
    };
    let t = target(&db);
    let m = migrator::embedded_migrator(Dialect::Postgres);
    migrator::up(&t, &m, &opts()).await.unwrap();

    let ran = migrator::down(&t, &m, Steps::Count(3), &opts())
        .await
        .unwrap();
    assert_eq!(
        ran.iter().map(|r| r.version).collect::<Vec<_>>(),
        vec![20260101000005, 20260101000004, 20260101000003]
    );
    assert_eq!(
        applied_versions(&db).await,
        vec![20260101000001, 20260101000002]
    );
    let mut c = db.conn().await;
    assert_eq!(
        pg_text(&mut c, "SELECT to_regclass('cars')::text").await,
        None
    );
    assert!(
        pg_text(&mut c, "SELECT to_regclass('brands')::text")
            .await
            .is_some()
    );
    let st = migrator::status(&t, &m, &opts()).await.unwrap();
    assert_eq!((st.count(State::Applied), st.count(State::Pending)), (2, 3));

    let ran = migrator::down(&t, &m, Steps::All, &opts()).await.unwrap();
    assert_eq!(
        ran.iter().map(|r| r.version).collect::<Vec<_>>(),
        vec![20260101000002, 20260101000001]
    );
    assert!(applied_versions(&db).await.is_empty());
    assert_eq!(
        pg_text(&mut c, "SELECT to_regclass('users')::text").await,
        None
    );
    // more than applied: nothing left, no error
    assert!(
        migrator::down(&t, &m, Steps::Count(5), &opts())
            .await
            .unwrap()
            .is_empty()
    );
    // n = 0 is refused
    let e = migrator::down(&t, &m, Steps::Count(0), &opts())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Usage);

    assert_eq!(migrator::up(&t, &m, &opts()).await.unwrap().len(), 5);
    assert!(
        migrator::status(&t, &m, &opts())
            .await
            .unwrap()
            .is_current()
    );
    assert_eq!(
        pg_exec(&mut c, &format!("{USER} (1, 'alice', 'a@x.io', 'h')")).await,
        Ok(1)
    );
    let _ = c.close().await;
}

#[tokio::test]
async fn pg_up_is_idempotent() {
    let Some(db) = PgDb::create("idem").await else {
        return;
    };
    let t = target(&db);
    let m = migrator::embedded_migrator(Dialect::Postgres);
    assert_eq!(migrator::up(&t, &m, &opts()).await.unwrap().len(), 5);
    let mut c = db.conn().await;
    pg_exec(&mut c, &format!("{USER} (1, 'alice', 'a@x.io', 'h')"))
        .await
        .unwrap();
    assert!(migrator::up(&t, &m, &opts()).await.unwrap().is_empty());
    assert!(migrator::up(&t, &m, &opts()).await.unwrap().is_empty());
    assert_eq!(pg_i64(&mut c, "SELECT count(*) FROM users").await, 1);
    assert_eq!(
        pg_i64(&mut c, "SELECT count(*) FROM _sqlx_migrations").await,
        5
    );
    let _ = c.close().await;
}

#[tokio::test]
async fn pg_failed_migration_leaves_database_as_it_was() {
    let Some(db) = PgDb::create("broken").await else {
        return;
    };
    let t = target(&db);
    let dir = tempfile::tempdir().unwrap();
    write_migrations(dir.path(), BROKEN_UP);
    let m = migrator_from(dir.path()).await;

    let err = migrator::up(&t, &m, &opts()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::MigrationFailed);
    let msg = err.to_string();
    assert_one_line_without(&msg, "\u{0}");
    assert!(msg.contains("migration 2 (break things)"), "{msg}");
    assert!(
        msg.contains("no_such_table") && msg.contains("42P01"),
        "{msg}"
    );
    assert!(msg.contains("kept: 1"), "{msg}");

    let mut c = db.conn().await;
    assert_eq!(
        pg_text(&mut c, "SELECT string_agg(name, ',') FROM things")
            .await
            .as_deref(),
        Some("original")
    );
    assert_eq!(
        pg_text(&mut c, "SELECT to_regclass('half_done')::text").await,
        None
    );
    assert_eq!(applied_versions(&db).await, vec![1]);
    let st = migrator::status(&t, &m, &opts()).await.unwrap();
    assert_eq!((st.count(State::Applied), st.count(State::Pending)), (1, 1));
    assert!(
        st.problems().is_empty(),
        "a rolled-back migration is pending, not dirty"
    );
    let _ = c.close().await;
}

#[tokio::test]
async fn pg_failed_revert_leaves_database_as_it_was() {
    let Some(db) = PgDb::create("brokendown").await else {
        return;
    };
    let t = target(&db);
    let dir = tempfile::tempdir().unwrap();
    write_migrations(dir.path(), BROKEN_DOWN);
    let m = migrator_from(dir.path()).await;
    migrator::up(&t, &m, &opts()).await.unwrap();

    let err = migrator::down(&t, &m, Steps::All, &opts())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::MigrationFailed);
    assert!(
        err.to_string()
            .contains("reverting migration 2 (add thing) failed"),
        "{err}"
    );
    let mut c = db.conn().await;
    assert_eq!(pg_i64(&mut c, "SELECT count(*) FROM things").await, 2);
    assert_eq!(applied_versions(&db).await, vec![1, 2]);
    let _ = c.close().await;
}

#[tokio::test]
async fn pg_modified_migration_is_refused() {
    let Some(db) = PgDb::create("modified").await else {
        return;
    };
    let t = target(&db);
    let dir = tempfile::tempdir().unwrap();
    write_migrations(dir.path(), &BROKEN_DOWN[..2]);
    migrator::up(&t, &migrator_from(dir.path()).await, &opts())
        .await
        .unwrap();
    write_migrations(
        dir.path(),
        &[("1_create_things.up.sql", "CREATE TABLE things (name TEXT);")],
    );
    let m = migrator_from(dir.path()).await;
    let err = migrator::up(&t, &m, &opts()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Inconsistent);
    assert!(
        err.to_string().contains("was changed after it was applied"),
        "{err}"
    );
    let st = migrator::status(&t, &m, &opts()).await.unwrap();
    assert_eq!(st.problems()[0].state, State::Modified);
}

#[tokio::test]
async fn pg_missing_database_is_a_clear_error() {
    // Needs a reachable server, but no database of its own.
    let Some(db) = PgDb::create("missing").await else {
        return;
    };
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_path("/migrator_no_such_database_here");
    let _ = url.set_password(Some("hunter2-secret"));
    let t = Target::parse(url.as_str(), None).unwrap();
    let m = migrator::embedded_migrator(Dialect::Postgres);
    let err = migrator::status(&t, &m, &opts()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::DatabaseMissing, "{err}");
    let msg = err.to_string();
    assert_one_line_without(&msg, "hunter2-secret");
    assert!(
        msg.contains("\"migrator_no_such_database_here\" does not exist"),
        "{msg}"
    );
}

#[tokio::test]
async fn pg_unreachable_server_is_one_line_without_password() {
    // No server needed: nothing listens on 5999.
    let t = Target::parse("postgres://app:hunter2-secret@127.0.0.1:5999/cars", None).unwrap();
    let m = migrator::embedded_migrator(Dialect::Postgres);
    let err = migrator::up(&t, &m, &opts()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Connect);
    let msg = err.to_string();
    assert_one_line_without(&msg, "hunter2-secret");
    assert_eq!(
        msg,
        "cannot connect to PostgreSQL at 127.0.0.1:5999: connection refused"
    );
    assert!(!format!("{t:?}").contains("hunter2-secret"));
}

#[tokio::test]
async fn pg_connect_timeout_bounds_a_blackholed_host() {
    // 10.255.255.1 is normally unroutable: either the SYN goes nowhere (timeout) or
    // the network says unreachable at once. Either way: quick, one line.
    let t = Target::parse("postgres://app:hunter2-secret@10.255.255.1:5432/cars", None).unwrap();
    let m = migrator::embedded_migrator(Dialect::Postgres);
    let options = Options {
        connect_timeout: Duration::from_secs(1),
    };
    let start = Instant::now();
    let err = migrator::status(&t, &m, &options).await.unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(err.kind, ErrorKind::Connect);
    let msg = err.to_string();
    assert_one_line_without(&msg, "hunter2-secret");
    assert!(
        msg.starts_with("cannot connect to PostgreSQL at 10.255.255.1:5432: "),
        "{msg}"
    );
}

#[tokio::test]
async fn pg_bad_url_is_a_clear_error() {
    for url in [
        "postgres://app:hunter2-secret@host:notaport/db",
        "postgresql://app:hunter2-secret@/a/b",
        "redis://app:hunter2-secret@host/0",
    ] {
        let err = Target::parse(url, None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadUrl, "{url}");
        assert_one_line_without(&err.to_string(), "hunter2-secret");
        assert!(
            err.to_string().starts_with("invalid database URL "),
            "{err}"
        );
    }
}
