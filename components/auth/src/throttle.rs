//! Brute-force protection for `POST /api/v1/auth/token`. The rule — failures within a
//! sliding 15 minutes, and no more attempts in progress than failures are still allowed —
//! is `identity::throttle`, with the protocol of increments it runs on a store; this
//! module runs it on the key-value store (Spin's SQLite store locally, Redis in
//! production, so every instance and replica counts together), waits while the email
//! is busy, and turns the outcome into the answer.

use std::time::{Duration, Instant};

use domain::Timestamp;
use identity::throttle::{Counters, Decision, MAX_FAILURES_PER_EMAIL, bucket};
use serde_json::json;
use web::client::{client_address, parse_cidrs};
use web::config::{parse_list, variable};
use web::kv::Kv;
use web::log::{Level, emit};
use web::{ApiError, Ctx, metrics};

/// How long an attempt waits for a slot while others on the same email are in progress
/// (each holds one for about a password check, ~70 ms), and how often it looks.
const BUSY_WAIT: Duration = Duration::from_secs(3);
const BUSY_POLL: Duration = Duration::from_millis(25);

/// A login attempt in progress: counted in the attempts and pending counters of
/// `bucket` of both rules (this email from this client, and this email over all
/// clients) until settled by [`Attempt::failed`] or [`Attempt::release`].
pub struct Attempt {
    counted: Vec<(Counters, i64)>,
    log_level: Level,
}

/// The two rules of revision 2, strictest first: failures of this email from this client
/// address (5 in 15 minutes: a stranger elsewhere cannot lock the owner out), and of
/// this email over all clients (`login_max_failures_per_email`, default 50: distributed
/// guessing). Without a client address (a host that gives none), the first rule counts
/// the email alone, as before revision 2.
fn rules(ctx: &Ctx, email: &str) -> [Counters; 2] {
    let trusted = parse_cidrs(&parse_list(
        &variable("trusted_proxies").unwrap_or_default(),
    ));
    let client = client_address(
        ctx.request.header("spin-client-addr"),
        ctx.request.header("x-forwarded-for"),
        &trusted,
    );
    let per_client = match client {
        Some(address) => Counters::per_client(email, &address.to_string()),
        None => Counters::for_email(email),
    };
    let per_email_limit = variable("login_max_failures_per_email")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(MAX_FAILURES_PER_EMAIL);
    [per_client, Counters::per_email(email, per_email_limit)]
}

/// Counts the attempt into every rule, in order; when one refuses, the rules already
/// counted are given back and that rule's decision stands.
fn count_in_all(kv: &Kv, rules: &[Counters; 2], now: i64) -> Result<Decision, String> {
    for (i, rule) in rules.iter().enumerate() {
        let decision = rule.count_in(kv, now)?;
        if decision != Decision::Proceed {
            for earlier in &rules[..i] {
                earlier.release(kv, bucket(now))?;
            }
            return Ok(decision);
        }
    }
    Ok(Decision::Proceed)
}

/// Begins a login attempt for `email`: 429 with `Retry-After` when the email is locked
/// (or when no slot frees up within [`BUSY_WAIT`]).
///
/// When the counters cannot be read or written, the login **fails closed**: 503, logged
/// at `error`, counted in `login_throttle_unavailable_total` (alerted on in
/// monitoring/). Letting attempts through unthrottled would silently switch off the
/// brute-force protection for as long as the store is broken, and nobody would see it
/// (that is what happened on Spin's Redis store, whose `get_many` always fails); a
/// refused login is visible at once and loses nothing: the client retries later.
pub fn begin(ctx: &Ctx, email: &str) -> Result<Attempt, ApiError> {
    let log_level = ctx.settings.log_level;
    let rules = rules(ctx, email);
    let waiting_since = Instant::now();
    loop {
        let now = Timestamp::now().unix_seconds();
        let decision = Kv::open().and_then(|kv| count_in_all(&kv, &rules, now));
        match decision {
            Ok(Decision::Proceed) => {
                return Ok(Attempt {
                    counted: rules.iter().map(|r| (r.clone(), bucket(now))).collect(),
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
                if let Ok(kv) = Kv::open_metrics() {
                    let _ = kv.increment(metrics::THROTTLE_UNAVAILABLE_KEY, 1);
                }
                emit(
                    log_level,
                    Level::Error,
                    "login throttling unavailable: login refused",
                    json!({ "cause": cause }),
                );
                return Err(ApiError::Unavailable(format!(
                    "login throttling unavailable: {cause}"
                )));
            }
        }
    }
}

impl Attempt {
    /// Wrong credentials: the attempt stays counted, as a failure.
    pub fn failed(self) {
        self.settle(Counters::fail);
    }

    /// The password was right, or could not be checked (a failing database must not
    /// lock users out): the attempt does not count.
    pub fn release(self) {
        self.settle(Counters::release);
    }

    fn settle(self, how: impl Fn(&Counters, &Kv, i64) -> Result<(), String>) {
        // Unsettled, the attempt counts as a failure once it is no longer recent.
        let settled = Kv::open().and_then(|kv| {
            self.counted
                .iter()
                .try_for_each(|(counters, b)| how(counters, &kv, *b))
        });
        if let Err(cause) = settled {
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
