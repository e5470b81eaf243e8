//! Brute-force protection: more than 5 failed logins for one email within a 15-minute
//! window lock that email until the window ends (429 with `Retry-After`), even for the
//! right password. Counters live in the key-value store, so every instance and replica
//! shares them. Keys are per window, so an old window's counter is simply never read
//! again; the previous one is deleted when a new window starts counting.

use domain::Timestamp;
use serde_json::json;
use web::ApiError;
use web::kv::Kv;
use web::log::{Level, emit};

pub const MAX_FAILURES: i64 = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;

fn key(email: &str, window: i64) -> String {
    format!("login-failures/{window}/{email}")
}

fn window(now: Timestamp) -> i64 {
    now.unix_seconds().div_euclid(WINDOW_SECONDS)
}

/// 429 once the failures in the current window reached the limit. A store outage does
/// not lock anybody out: the login goes ahead and the problem is logged.
pub fn check(email: &str, now: Timestamp) -> Result<(), ApiError> {
    let window = window(now);
    let failures = match Kv::open().and_then(|kv| kv.counter(&key(email, window))) {
        Ok(failures) => failures,
        Err(cause) => {
            warn(&cause);
            return Ok(());
        }
    };
    if failures >= MAX_FAILURES {
        let retry_after = (window + 1) * WINDOW_SECONDS - now.unix_seconds();
        return Err(ApiError::TooManyLoginAttempts {
            retry_after: retry_after.max(1) as u64,
        });
    }
    Ok(())
}

pub fn record_failure(email: &str, now: Timestamp) {
    let window = window(now);
    let result = Kv::open().and_then(|kv| {
        let count = kv.increment(&key(email, window), 1)?;
        if count == 1 {
            kv.delete(&key(email, window - 1))?;
        }
        Ok(())
    });
    if let Err(cause) = result {
        warn(&cause);
    }
}

fn warn(cause: &str) {
    emit(
        Level::Warning,
        Level::Warning,
        "login throttling unavailable",
        json!({ "cause": cause }),
    );
}
