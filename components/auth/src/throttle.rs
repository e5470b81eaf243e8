//! Brute-force protection for `POST /api/v1/auth/token`. The rule — a sliding 15-minute
//! window, at most 5 failures, at most as many attempts in progress as failures are still
//! allowed — is `identity::throttle`; this module keeps each email's attempt log in the
//! key-value store (Spin's SQLite store locally, Redis in production, so every instance
//! and replica sees the same log) and writes it only with compare-and-swap, so
//! concurrent attempts never overwrite each other's entries.

use std::time::{Duration, Instant};

use domain::Timestamp;
use identity::throttle::{AttemptLog, Refusal, key};
use serde_json::json;
use web::kv::Kv;
use web::log::{Level, emit};
use web::{ApiError, Ctx};

/// Compare-and-swap rounds per write before giving up. Losing them all means that many
/// attempts on one email are racing, which is itself a reason to refuse.
const CAS_TRIES: usize = 8;
/// How long an attempt waits for a slot while others on the same email are in progress
/// (each holds one for about a password check, ~70 ms), and how often it looks.
const BUSY_WAIT: Duration = Duration::from_secs(5);
const BUSY_POLL: Duration = Duration::from_millis(20);

/// An attempt in progress, holding a pending entry in its email's log until it is
/// settled by [`Attempt::failed`] or [`Attempt::release`]. Holds nothing when the store
/// could not be reached.
pub struct Attempt {
    held: Option<(String, i64)>,
    log_level: Level,
}

/// Begins a login attempt for `email`: 429 with `Retry-After` when the email is locked
/// (or when no slot frees up within [`BUSY_WAIT`]). A store outage does not lock
/// anybody out: the login goes ahead unthrottled and the problem is logged.
pub fn begin(ctx: &Ctx, email: &str) -> Result<Attempt, ApiError> {
    let log_level = ctx.settings.log_level;
    let key = key(email);
    let waiting_since = Instant::now();
    loop {
        let now = Timestamp::now().unix_seconds();
        let outcome = Kv::open().and_then(|kv| {
            kv.compare_and_swap(&key, CAS_TRIES, |stored| {
                match AttemptLog::parse(stored).begin(now) {
                    Ok(log) => (Some(log.encode()), Ok(())),
                    Err(refusal) => (None, Err(refusal)),
                }
            })
        });
        match outcome {
            Ok(Some(Ok(()))) => {
                return Ok(Attempt {
                    held: Some((key, now)),
                    log_level,
                });
            }
            Ok(Some(Err(Refusal::Locked { retry_after }))) => {
                return Err(ApiError::TooManyLoginAttempts { retry_after });
            }
            Ok(Some(Err(Refusal::Busy))) if waiting_since.elapsed() < BUSY_WAIT => {
                std::thread::sleep(BUSY_POLL);
            }
            Ok(Some(Err(Refusal::Busy))) | Ok(None) => {
                return Err(ApiError::TooManyLoginAttempts { retry_after: 1 });
            }
            Err(cause) => {
                warn(log_level, &cause);
                return Ok(Attempt {
                    held: None,
                    log_level,
                });
            }
        }
    }
}

impl Attempt {
    /// Wrong credentials: the entry stays, as a failure.
    pub fn failed(self) {
        self.settle(|log, started, now| Some(log.fail(started, now)));
    }

    /// The password was right, or could not be checked (a failing database must not
    /// lock users out): the attempt does not count. A log left empty is deleted, so
    /// successful logins leave no keys behind. (The delete is not atomic with the read:
    /// an entry written by another replica in that instant can be lost, which costs an
    /// attacker's count one entry at most, and only while the owner logs in.)
    pub fn release(self) {
        self.settle(|log, started, now| {
            let log = log.release(started, now);
            (!log.is_empty()).then_some(log)
        });
    }

    /// Rewrites the log with `change` (`None`: delete the key).
    fn settle(self, change: impl Fn(AttemptLog, i64, i64) -> Option<AttemptLog>) {
        let Some((key, started)) = self.held else {
            return;
        };
        let now = Timestamp::now().unix_seconds();
        let result = Kv::open().and_then(|kv| {
            let deleted = kv.compare_and_swap(&key, CAS_TRIES, |stored| {
                match change(AttemptLog::parse(stored), started, now) {
                    Some(log) => (Some(log.encode()), false),
                    None => (None, true),
                }
            })?;
            match deleted {
                Some(true) => kv.delete(&key),
                Some(false) => Ok(()),
                // Left pending, the entry counts as a failure once it is stale.
                None => Err("attempt not settled: too much contention".into()),
            }
        });
        if let Err(cause) = result {
            warn(self.log_level, &cause);
        }
    }
}

fn warn(threshold: Level, cause: &str) {
    emit(
        threshold,
        Level::Warning,
        "login throttling unavailable",
        json!({ "cause": cause }),
    );
}
