//! Brute-force protection for `POST /api/v1/auth/token`. The rule (a sliding 15-minute
//! window, more than 5 failures lock the email) is `identity::throttle`; this module keeps
//! each email's attempt log in the key-value store — Spin's SQLite store locally, Redis in
//! production, so every instance and replica sees the same log — and writes it only with
//! compare-and-swap, so concurrent attempts never overwrite each other's entries.

use domain::Timestamp;
use identity::throttle::{AttemptLog, key};
use serde_json::json;
use web::kv::Kv;
use web::log::{Level, emit};
use web::{ApiError, Ctx};

/// Compare-and-swap rounds before giving up. Losing them all means that many attempts
/// on one email are racing, which is itself a reason to refuse.
const CAS_TRIES: usize = 8;

/// An attempt that holds an entry in its email's log until it is released. `None` when
/// the store could not be reached (nothing is held, nothing to give back).
pub struct Attempt {
    held: Option<(String, i64)>,
    log_level: Level,
}

/// Takes an entry for a login attempt at `now`, or 429 with `Retry-After` when the
/// email is locked. A store outage does not lock anybody out: the login goes ahead
/// unthrottled and the problem is logged.
pub fn begin(ctx: &Ctx, email: &str, now: Timestamp) -> Result<Attempt, ApiError> {
    let log_level = ctx.settings.log_level;
    let key = key(email);
    let now = now.unix_seconds();
    let outcome = Kv::open().and_then(|kv| {
        kv.compare_and_swap(&key, CAS_TRIES, |stored| {
            match AttemptLog::parse(stored).begin(now) {
                Ok(log) => (Some(log.encode()), Ok(())),
                Err(retry_after) => (None, Err(retry_after)),
            }
        })
    });
    match outcome {
        Ok(Some(Ok(()))) => Ok(Attempt {
            held: Some((key, now)),
            log_level,
        }),
        Ok(Some(Err(retry_after))) => Err(ApiError::TooManyLoginAttempts { retry_after }),
        Ok(None) => Err(ApiError::TooManyLoginAttempts { retry_after: 1 }),
        Err(cause) => {
            warn(log_level, &cause);
            Ok(Attempt {
                held: None,
                log_level,
            })
        }
    }
}

impl Attempt {
    /// The password was right, or could not be checked (a failing database must not
    /// lock users out): the attempt does not count. A log left empty is deleted, so
    /// successful logins leave no keys behind. (The delete is not atomic with the read:
    /// a failure recorded by another replica in that instant can be lost, which costs an
    /// attacker's count one entry at most, and only while the owner logs in.)
    pub fn release(self) {
        let Some((key, started)) = self.held else {
            return;
        };
        let now = Timestamp::now().unix_seconds();
        let result = Kv::open().and_then(|kv| {
            let emptied = kv.compare_and_swap(&key, CAS_TRIES, |stored| {
                let log = AttemptLog::parse(stored).release(started, now);
                if log.is_empty() {
                    (None, true)
                } else {
                    (Some(log.encode()), false)
                }
            })?;
            match emptied {
                Some(true) => kv.delete(&key),
                Some(false) => Ok(()),
                None => Err("attempt not released: too much contention".into()),
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
