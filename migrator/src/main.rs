//! `migrator up | down <n|all> | status` — thin CLI over the `migrator` library.
//!
//! Exit codes: 0 success (for `status`: schema current); 1 `status` found pending
//! migrations; 2 any error (bad URL, unreachable database, failed migration, dirty or
//! inconsistent history, bad arguments). Scripts and Kubernetes Jobs rely on these.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use migrator::{Options, State, Steps, Target};

#[derive(Parser)]
#[command(
    name = "migrator",
    version,
    about = "Applies, reverts and reports the car API's schema migrations",
    after_help = "Database: --database-url, else $DATABASE_URL, else $SPIN_VARIABLE_DATABASE_URL, else sqlite://default.\n\
                  URLs: postgres://user:pass@host:port/db, postgresql://…, sqlite://path, sqlite:path, sqlite:///abs/path,\n\
                  sqlite://default (= .spin/sqlite_db.db under the current directory, Spin's default database).\n\
                  Exit codes: 0 ok/current, 1 status: migrations pending, 2 error."
)]
struct Cli {
    /// Database URL (its password is never printed).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,

    /// File used for `sqlite://default` instead of .spin/sqlite_db.db.
    #[arg(long, global = true, value_name = "PATH")]
    sqlite_default_path: Option<PathBuf>,

    /// Seconds to wait for a PostgreSQL connection.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 5.0)]
    connect_timeout: f64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply all pending migrations.
    Up,
    /// Revert the newest N applied migrations (N >= 1, or `all`).
    Down {
        #[arg(value_name = "N|all", value_parser = parse_steps)]
        steps: Steps,
    },
    /// List migrations as applied/pending; exit 0 only if the schema is current.
    Status,
}

fn parse_steps(s: &str) -> Result<Steps, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(Steps::All);
    }
    match s.parse::<u32>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(Steps::Count(n)),
        Err(_) => Err("expected a positive integer or `all`".to_owned()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, migrator::Error> {
    let url = migrator::resolve_database_url(cli.database_url, |k| std::env::var(k).ok());
    let target = Target::parse(&url, cli.sqlite_default_path.as_deref())?;
    let timeout = if cli.connect_timeout.is_finite() && cli.connect_timeout > 0.0 {
        Duration::from_secs_f64(cli.connect_timeout.min(3600.0))
    } else {
        migrator::DEFAULT_CONNECT_TIMEOUT
    };
    let options = Options {
        connect_timeout: timeout,
    };
    let embedded = migrator::embedded_migrator(target.dialect());
    let place = target.describe();

    match cli.command {
        Command::Up => {
            let ran = migrator::up(&target, &embedded, &options).await?;
            for r in &ran {
                println!(
                    "applied  {}  {}  ({} ms)",
                    r.version,
                    r.description,
                    r.elapsed.as_millis()
                );
            }
            if ran.is_empty() {
                println!("{place}: already up to date, nothing to apply");
            } else {
                println!("{place}: applied {} migration(s), up to date", ran.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Down { steps } => {
            let ran = migrator::down(&target, &embedded, steps, &options).await?;
            for r in &ran {
                println!(
                    "reverted {}  {}  ({} ms)",
                    r.version,
                    r.description,
                    r.elapsed.as_millis()
                );
            }
            match (steps, ran.len()) {
                (_, 0) => println!("{place}: no applied migrations, nothing to revert"),
                (Steps::Count(n), k) if (n as usize) > k => println!(
                    "{place}: reverted {k} migration(s) (only {k} were applied, {n} requested)"
                ),
                (_, k) => println!("{place}: reverted {k} migration(s)"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status => {
            let status = migrator::status(&target, &embedded, &options).await?;
            for e in &status.entries {
                println!("{:<8} {}  {}", e.state.label(), e.version, e.description);
            }
            let problems = status.problems();
            if let Some(first) = problems.first() {
                eprintln!(
                    "error: {place}: {} migration(s) in a bad state ({} {} {}): see the list above",
                    problems.len(),
                    first.state.label(),
                    first.version,
                    first.description
                );
                return Ok(ExitCode::from(2));
            }
            let pending = status.count(State::Pending);
            if pending > 0 {
                println!(
                    "{place}: {pending} pending migration(s), {} applied: run `migrator up`",
                    status.count(State::Applied)
                );
                Ok(ExitCode::from(1))
            } else {
                println!(
                    "{place}: up to date ({} applied, newest {})",
                    status.count(State::Applied),
                    status
                        .newest_applied()
                        .map_or_else(|| "none".to_owned(), |v| v.to_string())
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}
