//! Database URL parsing and redaction.

use std::path::{Path, PathBuf};

use crate::{Error, ErrorKind, Target};

/// Used when neither `--database-url`, `DATABASE_URL` nor `SPIN_VARIABLE_DATABASE_URL`
/// is set: the same default as the app's `database_url` variable.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://default";

/// Where Spin keeps the database labelled `default` (relative to the app directory).
pub const SPIN_DEFAULT_SQLITE_PATH: &str = ".spin/sqlite_db.db";

pub(crate) fn parse(raw: &str, sqlite_default_path: Option<&Path>) -> Result<Target, Error> {
    let url = raw.trim();
    let bad = |why: &str| {
        Error::new(
            ErrorKind::BadUrl,
            format!("invalid database URL {}: {why}", redact_url(url)),
        )
    };
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("postgres" | "postgresql") => parse_postgres(url, &bad),
        Some("sqlite") => {
            let rest = &url["sqlite:".len()..];
            // `sqlite://x` and `sqlite:x` both name file x; `sqlite:///abs` keeps its
            // leading slash. Query parameters (`?mode=rwc`) are sqlx-isms we accept
            // and ignore: the file is always created when missing.
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let path = rest.split(['?', '#']).next().unwrap_or_default();
            if path.is_empty() {
                return Err(bad(
                    "no file path (use sqlite://default, sqlite://path/to/file.db or sqlite:///absolute/path.db)",
                ));
            }
            if path == ":memory:" || path.starts_with(":memory:") {
                return Err(bad(
                    "an in-memory SQLite database would vanish when the migrator exits",
                ));
            }
            let path = if path == "default" {
                sqlite_default_path
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from(SPIN_DEFAULT_SQLITE_PATH))
            } else {
                PathBuf::from(path)
            };
            Ok(Target::Sqlite { path })
        }
        Some(other) if !other.is_empty() && url.contains("://") => Err(bad(&format!(
            "unsupported scheme \"{other}\" (expected postgres://, postgresql:// or sqlite:)"
        ))),
        _ => Err(bad(
            "expected postgres://user@host:port/db, postgresql://…, sqlite://path or sqlite://default",
        )),
    }
}

fn parse_postgres(url: &str, bad: &dyn Fn(&str) -> Error) -> Result<Target, Error> {
    let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    let query_value = |key: &str| {
        parsed
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .or_else(|| query_value("host"))
        .unwrap_or_else(|| "localhost".to_owned());
    let port = parsed
        .port()
        .or_else(|| query_value("port").and_then(|p| p.parse().ok()))
        .unwrap_or(5432);
    let endpoint = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let database = parsed
        .path()
        .trim_start_matches('/')
        .to_owned()
        .chars()
        .collect::<String>();
    let database = if database.is_empty() {
        query_value("dbname").unwrap_or_else(|| {
            // PostgreSQL's own default: the user name.
            let user = parsed.username();
            if user.is_empty() {
                "postgres".to_owned()
            } else {
                user.to_owned()
            }
        })
    } else {
        percent_decode(&database)
    };
    if database.contains('/') {
        return Err(bad("the path must be a single database name"));
    }
    let password = parsed.password().map(percent_decode);
    Ok(Target::Postgres {
        url: url.to_owned(),
        endpoint,
        database,
        password,
    })
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// The URL with its password replaced by `***`, safe to print. Works on URLs the
/// `url` crate rejects too, since a bad URL is exactly when we print one; a
/// `password=` query parameter is masked as well.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let after = scheme_end + 3;
    let authority_end = url[after..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after + i);
    let authority = &url[after..authority_end];
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..after]);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let rest = &url[authority_end..];
    match rest.find('?') {
        Some(q) => {
            out.push_str(&rest[..=q]);
            let params: Vec<String> = rest[q + 1..]
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(rest),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_path(url: &str) -> PathBuf {
        match parse(url, None).unwrap() {
            Target::Sqlite { path } => path,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sqlite_url_forms() {
        assert_eq!(
            sqlite_path("sqlite://default"),
            PathBuf::from(".spin/sqlite_db.db")
        );
        assert_eq!(
            sqlite_path("sqlite://data/app.db"),
            PathBuf::from("data/app.db")
        );
        assert_eq!(
            sqlite_path("sqlite:data/app.db"),
            PathBuf::from("data/app.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///abs/app.db"),
            PathBuf::from("/abs/app.db")
        );
        assert_eq!(
            sqlite_path("sqlite:/abs/app.db"),
            PathBuf::from("/abs/app.db")
        );
        assert_eq!(
            sqlite_path("sqlite://app.db?mode=rwc"),
            PathBuf::from("app.db")
        );
        assert_eq!(sqlite_path("SQLITE://x.db"), PathBuf::from("x.db"));
        match parse("sqlite://default", Some(Path::new("/tmp/d.db"))).unwrap() {
            Target::Sqlite { path } => assert_eq!(path, PathBuf::from("/tmp/d.db")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn postgres_url_parts() {
        match parse(
            "postgres://u:s3cr%40t@db.example:6543/cars?sslmode=disable",
            None,
        )
        .unwrap()
        {
            Target::Postgres {
                endpoint,
                database,
                password,
                ..
            } => {
                assert_eq!(endpoint, "db.example:6543");
                assert_eq!(database, "cars");
                assert_eq!(password.as_deref(), Some("s3cr@t"));
            }
            other => panic!("{other:?}"),
        }
        match parse("postgresql://postgres@127.0.0.1/", None).unwrap() {
            Target::Postgres {
                endpoint, database, ..
            } => {
                assert_eq!(endpoint, "127.0.0.1:5432");
                assert_eq!(database, "postgres");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_urls_are_rejected_without_password() {
        for url in [
            "mysql://root:hunter2hunter2@localhost/db",
            "hunter2hunter2",
            "",
            "sqlite:",
            "sqlite://",
            "sqlite::memory:",
            "postgres://u:hunter2hunter2@[::1/db",
            "postgres://u:hunter2hunter2@host/a/b",
        ] {
            let err = parse(url, None).unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadUrl, "{url}");
            let msg = err.to_string();
            assert!(
                !msg.contains("hunter2hunter2") || url == "hunter2hunter2",
                "{msg}"
            );
            assert!(!msg.contains('\n'));
        }
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("postgres://app:pw@db:5432/cars"),
            "postgres://app:***@db:5432/cars"
        );
        assert_eq!(
            redact_url("postgres://app@db/cars"),
            "postgres://app@db/cars"
        );
        assert_eq!(
            redact_url("postgres://a:p@ss:w@rd@db/x?password=zz&sslmode=require"),
            "postgres://a:***@db/x?password=***&sslmode=require"
        );
        assert_eq!(redact_url("sqlite://default"), "sqlite://default");
    }

    #[test]
    fn database_url_precedence() {
        use crate::resolve_database_url;
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(resolve_database_url(None, env(&[])), "sqlite://default");
        assert_eq!(
            resolve_database_url(
                None,
                env(&[("SPIN_VARIABLE_DATABASE_URL", "sqlite://s.db")])
            ),
            "sqlite://s.db"
        );
        assert_eq!(
            resolve_database_url(
                None,
                env(&[
                    ("DATABASE_URL", "sqlite://d.db"),
                    ("SPIN_VARIABLE_DATABASE_URL", "sqlite://s.db")
                ])
            ),
            "sqlite://d.db"
        );
        assert_eq!(
            resolve_database_url(
                Some("sqlite://c.db".into()),
                env(&[("DATABASE_URL", "sqlite://d.db")])
            ),
            "sqlite://c.db"
        );
        assert_eq!(
            resolve_database_url(
                None,
                env(&[
                    ("DATABASE_URL", " "),
                    ("SPIN_VARIABLE_DATABASE_URL", "sqlite://s.db")
                ])
            ),
            "sqlite://s.db"
        );
    }
}
