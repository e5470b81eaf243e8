//! Brute-force protection for `POST /api/v1/auth/token`. The rule — failures within a
//! sliding 15 minutes, and no more attempts in progress than failures are still allowed —
//! is `identity::throttle`; this module keeps its per-minute counters in the key-value
//! store (Spin's SQLite store locally, Redis in production, so every instance and replica
//! counts together), through atomic increments only.

use std::time::{Duration, Instant};

use domain::Timestamp;
use identity::throttle::{Counters, Decision, bucket, decide};
use serde_json::json;
use web::kv::Kv;
use web::log::{Level, emit};
use web::{ApiError, Ctx};

/// How long an attempt waits for a slot while others on the same email are in progress
/// (each holds one for about a password check, ~70 ms), and how often it looks.
const BUSY_WAIT: Duration = Duration::from_secs(3);
const BUSY_POLL: Duration = Duration::from_millis(25);

/// A login attempt in progress: counted in its email's attempts and pending counters
/// of `bucket` until settled by [`Attempt::failed`] or [`Attempt::release`]. Counts
/// nothing when the store could not be reached.
pub struct Attempt {
    counted: Option<(Counters, i64)>,
    log_level: Level,
}

/// Begins a login attempt for `email`: 429 with `Retry-After` when the email is locked
/// (or when no slot frees up within [`BUSY_WAIT`]). A store outage does not lock
/// anybody out: the login goes ahead unthrottled and the problem is logged.
pub fn begin(ctx: &Ctx, email: &str) -> Result<Attempt, ApiError> {
    let log_level = ctx.settings.log_level;
    let counters = Counters::for_email(email);
    let waiting_since = Instant::now();
    loop {
        let now = Timestamp::now().unix_seconds();
        let decision = Kv::open().and_then(|kv| count_in(&kv, &counters, now));
        match decision {
            Ok(Decision::Proceed) => {
                return Ok(Attempt {
                    counted: Some((counters, bucket(now))),
                    log_level,
                });
            }
            Ok(Decision::Locked { retry_after }) => {
                return Err(ApiError::TooManyLoginAttempts { retry_after });
            }
            Ok(Decision::Busy) if waiting_since.elapsed() < BUSY_WAIT => {
                std::thread::sleep(BUSY_POLL);
            }
            Ok(Decision::Busy) => return Err(ApiError::TooManyLoginAttempts { retry_after: 1 }),
            Err(cause) => {
                warn(log_level, &cause);
                return Ok(Attempt {
                    counted: None,
                    log_level,
                });
            }
        }
    }
}

/// Counts an attempt at `now` in, reads the window and decides; a refused attempt is
/// counted out again.
fn count_in(kv: &Kv, counters: &Counters, now: i64) -> Result<Decision, String> {
    let b = bucket(now);
    kv.increment(&counters.attempts_key(b), 1)?;
    kv.increment(&counters.pending_key(b), 1)?;
    let decision = decide(&kv.counters(&counters.window_keys(now))?, now);
    if decision != Decision::Proceed {
        give_back(kv, &counters.attempts_key(b))?;
        give_back(kv, &counters.pending_key(b))?;
    }
    Ok(decision)
}

/// Takes 1 off a counter, deleting it when that leaves 0, so attempts that did not fail
/// leave no keys behind. (The delete is not atomic with the decrement: an attempt counted
/// in that instant can be lost, which costs a count of one at most.)
fn give_back(kv: &Kv, key: &str) -> Result<(), String> {
    if kv.increment(key, -1)? == 0 {
        kv.delete(key)?;
    }
    Ok(())
}

impl Attempt {
    /// Wrong credentials: the attempt stays counted, as a failure.
    pub fn failed(self) {
        self.settle(|kv, counters, b| give_back(kv, &counters.pending_key(b)));
    }

    /// The password was right, or could not be checked (a failing database must not
    /// lock users out): the attempt does not count.
    pub fn release(self) {
        self.settle(|kv, counters, b| {
            give_back(kv, &counters.attempts_key(b))?;
            give_back(kv, &counters.pending_key(b))
        });
    }

    fn settle(self, change: impl Fn(&Kv, &Counters, i64) -> Result<(), String>) {
        let Some((counters, b)) = &self.counted else {
            return;
        };
        // Unsettled, the attempt counts as a failure once it is no longer recent.
        if let Err(cause) = Kv::open().and_then(|kv| change(&kv, counters, *b)) {
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
