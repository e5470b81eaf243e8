//! The built binary: exit codes (0 ok / 1 pending / 2 error) and stderr shape.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn migrator(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migrator"));
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SPIN_VARIABLE_DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn cli_sqlite_default_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    // No URL anywhere: sqlite://default = ./.spin/sqlite_db.db, created on demand.
    let o = migrator(cwd, &["status"], &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("pending  20260101000001  create users"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("5 pending"), "{}", stdout(&o));
    assert!(cwd.join(".spin/sqlite_db.db").is_file());
    {
        // Password hashes and personal data: 0600 in a 0700 folder.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cwd.join(".spin/sqlite_db.db")), 0o600);
        assert_eq!(mode(&cwd.join(".spin")), 0o700);
    }

    let o = migrator(cwd, &["up"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = migrator(cwd, &["status"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("up to date"), "{}", stdout(&o));
    let o = migrator(cwd, &["up"], &[]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("nothing to apply"));

    let o = migrator(cwd, &["down", "1"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("reverted 20260101000005"));
    assert_eq!(code(&migrator(cwd, &["status"], &[])), 1);
    assert_eq!(code(&migrator(cwd, &["down", "all"], &[])), 0);
    assert_eq!(code(&migrator(cwd, &["up"], &[])), 0);
    assert_eq!(code(&migrator(cwd, &["status"], &[])), 0);

    // bad arguments
    for args in [
        &["down", "0"][..],
        &["down", "-1"],
        &["down", "x"],
        &["down"],
        &["sideways"],
        &[],
    ] {
        assert_eq!(code(&migrator(cwd, args, &[])), 2, "{args:?}");
    }
}

#[test]
fn cli_url_sources_and_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let spin = format!("sqlite://{}", cwd.join("spin.db").display());
    let env_url = format!("sqlite://{}", cwd.join("env.db").display());
    let flag = format!("sqlite:{}", cwd.join("flag.db").display());

    assert_eq!(
        code(&migrator(
            cwd,
            &["up"],
            &[("SPIN_VARIABLE_DATABASE_URL", &spin)]
        )),
        0
    );
    assert!(cwd.join("spin.db").is_file());
    assert_eq!(
        code(&migrator(
            cwd,
            &["up"],
            &[
                ("SPIN_VARIABLE_DATABASE_URL", &spin),
                ("DATABASE_URL", &env_url)
            ]
        )),
        0
    );
    assert!(cwd.join("env.db").is_file());
    assert_eq!(
        code(&migrator(
            cwd,
            &["--database-url", &flag, "up"],
            &[("DATABASE_URL", &env_url)]
        )),
        0
    );
    assert!(cwd.join("flag.db").is_file());
    // option after the subcommand works too
    assert_eq!(
        code(&migrator(cwd, &["status", "--database-url", &flag], &[])),
        0
    );
    let custom = cwd.join("custom/x.db");
    let o = migrator(
        cwd,
        &["--sqlite-default-path", custom.to_str().unwrap(), "up"],
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(custom.is_file());
    assert!(!cwd.join(".spin").exists());
}

#[test]
fn cli_errors_are_one_line_without_password() {
    let dir = tempfile::tempdir().unwrap();
    for (url, expect) in [
        (
            "postgres://app:hunter2-secret@127.0.0.1:5999/cars",
            "error: cannot connect to PostgreSQL at 127.0.0.1:5999: connection refused",
        ),
        (
            "mysql://app:hunter2-secret@localhost/cars",
            "error: invalid database URL mysql://app:***@localhost/cars",
        ),
        (
            "postgres://app:hunter2-secret@host:99999999/db",
            "error: invalid database URL postgres://app:***@host:99999999/db",
        ),
    ] {
        for cmd in ["up", "status", "down"] {
            let mut args = vec!["--database-url", url, cmd];
            if cmd == "down" {
                args.push("1");
            }
            let o = migrator(dir.path(), &args, &[]);
            assert_eq!(code(&o), 2, "{url} {cmd}");
            let err = stderr(&o);
            assert_eq!(err.lines().count(), 1, "{err:?}");
            assert!(!err.contains("hunter2-secret"), "{err}");
            assert!(err.starts_with(expect), "{err}");
            assert!(!stdout(&o).contains("hunter2-secret"));
        }
    }
    // via the environment as well
    let o = migrator(
        dir.path(),
        &["status"],
        &[(
            "DATABASE_URL",
            "postgresql://app:hunter2-secret@127.0.0.1:5999/cars",
        )],
    );
    assert_eq!(code(&o), 2);
    assert!(!stderr(&o).contains("hunter2-secret"));
}

#[tokio::test]
async fn cli_postgres_exit_codes() {
    let Some(db) = PgDb::create("cli").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    let run = move |args: &[&str]| {
        let mut full = vec!["--database-url", url.as_str()];
        full.extend_from_slice(args);
        migrator(dir.path(), &full, &[])
    };
    let o = run(&["status"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(code(&run(&["up"])), 0);
    assert_eq!(code(&run(&["status"])), 0);
    assert_eq!(code(&run(&["down", "4"])), 0);
    let o = run(&["status"]);
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("pending  20260101000002  create brands"),
        "{}",
        stdout(&o)
    );
    assert_eq!(code(&run(&["up"])), 0);
    assert_eq!(code(&run(&["status"])), 0);

    // a dirty row (as a failed no-transaction migration would leave) is an error: 2
    let mut c = db.conn().await;
    pg_exec(
        &mut c,
        "UPDATE _sqlx_migrations SET success = false WHERE version = 20260101000003",
    )
    .await
    .unwrap();
    let o = run(&["status"]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("DIRTY    20260101000003"),
        "{}",
        stdout(&o)
    );
    let o = run(&["up"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("recorded as failed (dirty)"),
        "{}",
        stderr(&o)
    );
    drop(c);
}
