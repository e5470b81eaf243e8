//! The login-throttling rule, without the store: more than [`MAX_FAILURES`] failed
//! logins for one email within the last [`WINDOW_SECONDS`] lock that email until the
//! oldest of them is that old, even for the right password.
//!
//! Each email has an [`AttemptLog`]: its recent failures, and the attempts still in
//! progress. A login *begins* by adding a pending entry, before the (slow) password
//! check; wrong credentials turn it into a failure, anything else removes it. The
//! caller writes the log with compare-and-swap, so no entry is lost between replicas,
//! and no more attempts can be in progress than failures are still allowed: however
//! many race, on however many replicas, at most 5 passwords are checked before the lock.
//! Further attempts wait for a slot ([`Refusal::Busy`]) rather than being refused, so a
//! client that logs in many times at once with the right password is only slowed down.
//!
//! The window slides: a failure counts for exactly 15 minutes after it happened, whatever
//! the wall-clock boundaries (fixed windows let an attacker double the rate across a
//! boundary, and reset a lock early).

use sha2::{Digest, Sha256};

/// Failed attempts tolerated within the window; the next attempt is refused.
pub const MAX_FAILURES: usize = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;
/// An attempt still pending after this long never settled (its instance died): it
/// counts as a failure, so killing requests cannot be used to dodge the limit.
pub const PENDING_SECONDS: i64 = 60;

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

/// Why an attempt cannot begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures: the email is locked for this many more seconds.
    Locked { retry_after: u64 },
    /// As many attempts are in progress as failures are still allowed: try again
    /// when one of them has settled.
    Busy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    at: i64,
    pending: bool,
}

/// Failures and pending attempts with their start times (unix seconds), oldest first.
/// Stored as text, `1764000000 p1764000042`: both Redis and SQLite stores keep it as is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptLog(Vec<Entry>);

impl AttemptLog {
    /// Reads a stored log. An unreadable value counts as empty: a damaged entry must
    /// never lock an account for good.
    pub fn parse(stored: Option<&[u8]>) -> AttemptLog {
        let Some(text) = stored.and_then(|bytes| std::str::from_utf8(bytes).ok()) else {
            return AttemptLog::default();
        };
        let parsed: Option<Vec<Entry>> = text
            .split_ascii_whitespace()
            .map(|word| match word.strip_prefix('p') {
                Some(at) => at.parse().ok().map(|at| Entry { at, pending: true }),
                None => word.parse().ok().map(|at| Entry { at, pending: false }),
            })
            .collect();
        let mut entries = parsed.unwrap_or_default();
        entries.sort_unstable();
        AttemptLog(entries)
    }

    pub fn encode(&self) -> Vec<u8> {
        let words: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}{}", if e.pending { "p" } else { "" }, e.at))
            .collect();
        words.join(" ").into_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries still inside the window at `now`.
    fn recent(&self, now: i64) -> Vec<Entry> {
        self.0
            .iter()
            .copied()
            .filter(|e| e.at > now - WINDOW_SECONDS)
            .collect()
    }

    /// Starts an attempt at `now`: the log with its pending entry, or why it cannot start.
    pub fn begin(&self, now: i64) -> Result<AttemptLog, Refusal> {
        let mut entries = self.recent(now);
        let failures: Vec<i64> = entries
            .iter()
            .filter(|e| !e.pending || e.at <= now - PENDING_SECONDS)
            .map(|e| e.at)
            .collect();
        if failures.len() >= MAX_FAILURES {
            let frees_at = failures[failures.len() - MAX_FAILURES] + WINDOW_SECONDS;
            // Clamped: an entry written by a replica whose clock runs ahead must not
            // produce a wait longer than one window.
            let retry_after = (frees_at - now).clamp(1, WINDOW_SECONDS) as u64;
            return Err(Refusal::Locked { retry_after });
        }
        if entries.len() >= MAX_FAILURES {
            return Err(Refusal::Busy);
        }
        entries.push(Entry {
            at: now,
            pending: true,
        });
        entries.sort_unstable();
        Ok(AttemptLog(entries))
    }

    /// The attempt begun at `started` failed: its entry stays, as a failure (added
    /// anew if the log lost it).
    pub fn fail(&self, started: i64, now: i64) -> AttemptLog {
        let mut entries = self.without_pending(started, now);
        entries.push(Entry {
            at: started,
            pending: false,
        });
        entries.sort_unstable();
        AttemptLog(entries)
    }

    /// The attempt begun at `started` succeeded, or could not be checked: its entry goes.
    pub fn release(&self, started: i64, now: i64) -> AttemptLog {
        AttemptLog(self.without_pending(started, now))
    }

    /// The recent entries less one pending entry of `started` (two attempts begun in the
    /// same second each hold their own).
    fn without_pending(&self, started: i64, now: i64) -> Vec<Entry> {
        let mut entries = self.recent(now);
        let own = Entry {
            at: started,
            pending: true,
        };
        if let Some(at) = entries.iter().position(|&e| e == own) {
            entries.remove(at);
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_000_000;

    fn locked(seconds: i64) -> Result<AttemptLog, Refusal> {
        Err(Refusal::Locked {
            retry_after: seconds as u64,
        })
    }

    /// `n` attempts begun and failed at `at`, one after the other.
    fn fail_n(mut log: AttemptLog, n: usize, at: i64) -> AttemptLog {
        for _ in 0..n {
            log = log.begin(at).expect("not locked yet").fail(at, at);
        }
        log
    }

    #[test]
    fn five_failures_lock_the_sixth_attempt_for_the_rest_of_the_window() {
        let log = fail_n(AttemptLog::default(), 5, T0);
        assert_eq!(log.begin(T0), locked(WINDOW_SECONDS));
        assert_eq!(log.begin(T0 + 60), locked(WINDOW_SECONDS - 60));
        assert_eq!(log.begin(T0 + WINDOW_SECONDS - 1), locked(1));
        // Exactly 15 minutes after the failures they no longer count.
        let next = log.begin(T0 + WINDOW_SECONDS).expect("window over");
        assert_eq!(
            next.encode(),
            format!("p{}", T0 + WINDOW_SECONDS).into_bytes()
        );
    }

    #[test]
    fn the_window_slides_instead_of_resetting_on_a_clock_boundary() {
        // 3 failures just before a quarter hour, 2 just after: still 5 within 15 min.
        let boundary = T0 - T0.rem_euclid(WINDOW_SECONDS) + WINDOW_SECONDS;
        let log = fail_n(AttemptLog::default(), 3, boundary - 1);
        let log = fail_n(log, 2, boundary + 1);
        assert_eq!(log.begin(boundary + 2), locked(WINDOW_SECONDS - 3));
        // The lock lifts when the oldest 3 leave the window, not at the next boundary.
        assert!(log.begin(boundary - 1 + WINDOW_SECONDS).is_ok());
    }

    #[test]
    fn the_lock_lifts_when_the_oldest_counted_failure_leaves_the_window() {
        let mut log = AttemptLog::default();
        for minute in 0..5 {
            log = fail_n(log, 1, T0 + minute * 60);
        }
        assert_eq!(log.begin(T0 + 300), locked(WINDOW_SECONDS - 300));
        // The one at T0 leaves first; then one more failure locks again, for a minute.
        let log = fail_n(log, 1, T0 + WINDOW_SECONDS);
        assert_eq!(log.begin(T0 + WINDOW_SECONDS), locked(60));
    }

    #[test]
    fn successful_attempts_do_not_count() {
        let log = fail_n(AttemptLog::default(), 4, T0);
        let started = T0 + 10;
        let after = log.begin(started).unwrap().release(started, started);
        assert_eq!(after, log);
        // So a fifth failure is still allowed after a successful login.
        assert!(after.begin(started + 1).is_ok());
    }

    #[test]
    fn attempts_in_progress_take_the_remaining_slots_and_the_next_waits() {
        // 3 failures leave 2 slots: two attempts may run, the third waits for one.
        let log = fail_n(AttemptLog::default(), 3, T0);
        let log = log.begin(T0 + 1).unwrap().begin(T0 + 1).unwrap();
        assert_eq!(log.begin(T0 + 1), Err(Refusal::Busy));
        // One succeeds: its slot is free again.
        let log = log.release(T0 + 1, T0 + 2);
        let log = log.begin(T0 + 2).unwrap();
        // Both running ones fail: now the email is locked, not busy.
        let log = log.fail(T0 + 1, T0 + 3).fail(T0 + 2, T0 + 3);
        assert_eq!(log.begin(T0 + 3), locked(WINDOW_SECONDS - 3));
    }

    #[test]
    fn at_most_five_passwords_are_checked_however_many_race() {
        let mut log = AttemptLog::default();
        let mut running = 0;
        for _ in 0..100 {
            match log.begin(T0) {
                Ok(next) => {
                    log = next;
                    running += 1;
                }
                Err(refusal) => assert_eq!(refusal, Refusal::Busy),
            }
        }
        assert_eq!(running, MAX_FAILURES);
    }

    #[test]
    fn an_attempt_that_never_settles_counts_as_a_failure() {
        let mut log = AttemptLog::default();
        for _ in 0..5 {
            log = log.begin(T0).unwrap();
        }
        assert_eq!(log.begin(T0 + PENDING_SECONDS - 1), Err(Refusal::Busy));
        assert_eq!(
            log.begin(T0 + PENDING_SECONDS),
            locked(WINDOW_SECONDS - PENDING_SECONDS)
        );
    }

    #[test]
    fn settling_takes_one_entry_of_a_second_and_prunes_old_ones() {
        let log = AttemptLog::parse(Some(
            format!("{} p{T0} p{T0}", T0 - WINDOW_SECONDS).as_bytes(),
        ));
        assert_eq!(log.release(T0, T0).encode(), format!("p{T0}").into_bytes());
        assert_eq!(
            log.fail(T0, T0).encode(),
            format!("{T0} p{T0}").into_bytes()
        );
        // A failure whose pending entry was lost still counts.
        assert_eq!(
            AttemptLog::default().fail(T0, T0).encode(),
            T0.to_string().into_bytes()
        );
        assert!(
            AttemptLog::parse(Some(format!("p{T0}").as_bytes()))
                .release(T0, T0 + WINDOW_SECONDS)
                .is_empty()
        );
    }

    #[test]
    fn the_log_survives_a_round_trip() {
        let log = fail_n(AttemptLog::default(), 2, T0).begin(T0 + 5).unwrap();
        assert_eq!(log.encode(), format!("{T0} {T0} p{}", T0 + 5).into_bytes());
        assert_eq!(AttemptLog::parse(Some(&log.encode())), log);
    }

    #[test]
    fn unreadable_values_count_as_empty() {
        for stored in [
            None,
            Some(&b""[..]),
            Some(b"not numbers"),
            Some(b"12 x 13"),
            Some(b"12 pp13"),
            Some(&[0xff, 0xfe][..]),
            Some(&7i64.to_le_bytes()[..]),
        ] {
            assert!(AttemptLog::parse(stored).is_empty(), "{stored:?}");
        }
    }

    #[test]
    fn future_entries_from_a_fast_clock_never_lock_longer_than_a_window() {
        let log = fail_n(AttemptLog::default(), 5, T0 + 3600);
        assert_eq!(log.begin(T0), locked(WINDOW_SECONDS));
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
