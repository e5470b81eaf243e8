//! The login-throttling rule, without the store: more than [`MAX_FAILURES`] failed
//! logins for one email within the last [`WINDOW_SECONDS`] lock that email until the
//! oldest of them is that old, even for the right password.
//!
//! Each email has an [`AttemptLog`]: the start times of its recent attempts that were not
//! given back. A login *begins* by adding its own entry (refused when the log is full),
//! and gives it back when the password was right or could not be checked; only wrong
//! credentials leave their entry behind. Because the entry is taken before the (slow)
//! password check, and the caller writes the log with a compare-and-swap, parallel
//! attempts on any number of replicas cannot all slip past the limit.
//!
//! The window slides: a failure counts for exactly 15 minutes after it happened, whatever
//! the wall-clock boundaries (fixed windows let an attacker double the rate across a
//! boundary, and reset a lock early).

use sha2::{Digest, Sha256};

/// Failed attempts tolerated within the window; the next attempt is refused.
pub const MAX_FAILURES: usize = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;

/// The store key holding an email's log. The address is digested, so the key-value
/// store (and its dumps) never holds emails in clear.
pub fn key(email: &str) -> String {
    let digest = Sha256::digest(email.as_bytes());
    let mut key = String::with_capacity(15 + 64);
    key.push_str("login-attempts/");
    for byte in digest {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

/// Attempt start times (unix seconds), oldest first. Stored as decimal text separated by
/// spaces, which both Redis and SQLite stores keep as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptLog(Vec<i64>);

impl AttemptLog {
    /// Reads a stored log. An unreadable value counts as empty: a damaged entry must
    /// never lock an account for good.
    pub fn parse(stored: Option<&[u8]>) -> AttemptLog {
        let Some(text) = stored.and_then(|bytes| std::str::from_utf8(bytes).ok()) else {
            return AttemptLog::default();
        };
        let parsed: Result<Vec<i64>, _> = text.split_ascii_whitespace().map(str::parse).collect();
        let mut times = parsed.unwrap_or_default();
        times.sort_unstable();
        AttemptLog(times)
    }

    pub fn encode(&self) -> Vec<u8> {
        let text: Vec<String> = self.0.iter().map(i64::to_string).collect();
        text.join(" ").into_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entries still inside the window at `now`.
    fn recent(&self, now: i64) -> AttemptLog {
        AttemptLog(
            self.0
                .iter()
                .copied()
                .filter(|&t| t > now - WINDOW_SECONDS)
                .collect(),
        )
    }

    /// Starts an attempt at `now`: the log with its entry, or — when [`MAX_FAILURES`]
    /// entries are still in the window — the seconds until the oldest of them leaves it.
    pub fn begin(&self, now: i64) -> Result<AttemptLog, u64> {
        let AttemptLog(mut times) = self.recent(now);
        if times.len() >= MAX_FAILURES {
            let frees_at = times[times.len() - MAX_FAILURES] + WINDOW_SECONDS;
            // Clamped: an entry written by a replica whose clock runs ahead must not
            // produce a wait longer than one window.
            return Err((frees_at - now).clamp(1, WINDOW_SECONDS) as u64);
        }
        times.push(now);
        times.sort_unstable();
        Ok(AttemptLog(times))
    }

    /// Gives back the entry of the attempt that began at `started` (one entry: two
    /// attempts in the same second each hold their own).
    pub fn release(&self, started: i64, now: i64) -> AttemptLog {
        let AttemptLog(mut times) = self.recent(now);
        if let Some(at) = times.iter().position(|&t| t == started) {
            times.remove(at);
        }
        AttemptLog(times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_000_000;

    fn fail_n(n: usize, at: i64) -> AttemptLog {
        let mut log = AttemptLog::default();
        for _ in 0..n {
            log = log.begin(at).expect("not locked yet");
        }
        log
    }

    #[test]
    fn five_failures_lock_the_sixth_attempt_for_the_rest_of_the_window() {
        let log = fail_n(5, T0);
        assert_eq!(log.begin(T0), Err(WINDOW_SECONDS as u64));
        assert_eq!(log.begin(T0 + 60), Err((WINDOW_SECONDS - 60) as u64));
        assert_eq!(log.begin(T0 + WINDOW_SECONDS - 1), Err(1));
        // Exactly 15 minutes after the failures they no longer count.
        let next = log.begin(T0 + WINDOW_SECONDS).expect("window over");
        assert_eq!(next.0, vec![T0 + WINDOW_SECONDS]);
    }

    #[test]
    fn the_window_slides_instead_of_resetting_on_a_clock_boundary() {
        // 3 failures just before a quarter hour, 2 just after: still 5 within 15 min.
        let boundary = T0 - T0.rem_euclid(WINDOW_SECONDS) + WINDOW_SECONDS;
        let mut log = fail_n(3, boundary - 1);
        for _ in 0..2 {
            log = log.begin(boundary + 1).unwrap();
        }
        assert_eq!(log.begin(boundary + 2), Err((WINDOW_SECONDS - 3) as u64));
        // The lock lifts when the oldest 3 leave the window, not at the next boundary.
        assert!(log.begin(boundary - 1 + WINDOW_SECONDS).is_ok());
    }

    #[test]
    fn the_lock_lifts_when_the_oldest_counted_failure_leaves_the_window() {
        let mut log = AttemptLog::default();
        for minute in 0..5 {
            log = log.begin(T0 + minute * 60).unwrap();
        }
        // The one at T0 leaves first; after that, 4 remain and one more attempt is allowed.
        assert_eq!(log.begin(T0 + 300), Err((WINDOW_SECONDS - 300) as u64));
        let log = log.begin(T0 + WINDOW_SECONDS).unwrap();
        assert_eq!(log.begin(T0 + WINDOW_SECONDS), Err(60));
    }

    #[test]
    fn released_attempts_do_not_count() {
        let log = fail_n(4, T0);
        let started = T0 + 10;
        let with_success = log.begin(started).unwrap();
        let after = with_success.release(started, started);
        assert_eq!(after, log);
        // So a fifth failure is still allowed after a successful login.
        assert!(after.begin(started + 1).is_ok());
    }

    #[test]
    fn release_takes_back_one_entry_of_a_second_and_prunes_old_ones() {
        let log = AttemptLog(vec![T0 - WINDOW_SECONDS, T0, T0]);
        assert_eq!(log.release(T0, T0).0, vec![T0]);
        assert!(
            AttemptLog(vec![T0])
                .release(T0, T0 + WINDOW_SECONDS)
                .is_empty()
        );
    }

    #[test]
    fn the_log_is_bounded_and_survives_a_round_trip() {
        let mut log = AttemptLog::default();
        for second in 0..100 {
            if let Ok(next) = log.begin(T0 + second) {
                log = next;
            }
        }
        assert_eq!(log.0.len(), MAX_FAILURES);
        assert_eq!(AttemptLog::parse(Some(&log.encode())), log);
        assert_eq!(
            log.encode(),
            b"1764000000 1764000001 1764000002 1764000003 1764000004"
        );
    }

    #[test]
    fn unreadable_values_count_as_empty() {
        for stored in [
            None,
            Some(&b""[..]),
            Some(b"not numbers"),
            Some(b"12 x 13"),
            Some(&[0xff, 0xfe][..]),
            Some(&7i64.to_le_bytes()[..]),
        ] {
            assert!(AttemptLog::parse(stored).is_empty(), "{stored:?}");
        }
    }

    #[test]
    fn future_entries_from_a_fast_clock_never_lock_longer_than_a_window() {
        let log = fail_n(5, T0 + 3600);
        assert_eq!(log.begin(T0), Err(WINDOW_SECONDS as u64));
    }

    #[test]
    fn keys_do_not_contain_the_email() {
        let k = key("alice@example.com");
        assert!(k.starts_with("login-attempts/"));
        assert!(!k.contains("alice"));
        assert_eq!(k.len(), "login-attempts/".len() + 64);
        assert_eq!(k, key("alice@example.com"));
        assert_ne!(k, key("bob@example.com"));
    }
}
