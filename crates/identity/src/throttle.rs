//! The login-throttling rule, without the store: more than [`MAX_FAILURES`] failed
//! logins for one email within the last 15 minutes lock that email, even for the right
//! password, until enough of those failures are old.
//!
//! The store only needs atomic increments (`wasi:keyvalue/atomics.increment`, an INCRBY on
//! Redis and a transaction on Spin's SQLite store). Compare-and-swap is not used: on
//! Spin's Redis store a swap that loses the race still reports success, and on its SQLite
//! store the first write of a missing key is not compared at all, so neither can hold a
//! limit between replicas.
//!
//! Per email, two families of per-minute counters:
//! - *attempts*: logins begun in that minute and not given back — failures, and the
//!   attempts still being checked. A failure counts for [`WINDOW_BUCKETS`] minutes, so
//!   at least 15 and less than 16 minutes.
//! - *pending*: logins begun in that minute and not settled yet. An attempt still
//!   pending after [`PENDING_BUCKETS`] minutes never will be (its instance died): from
//!   then on it counts as a failure, so killing requests cannot dodge the limit.
//!
//! A login first adds itself to both, pending first (increments are atomic, so every
//! attempt sees all that began before it), then reads the window and decides: locked when the failures
//! alone reach the limit, busy when failures plus other attempts in progress do (it gives
//! its increments back and waits for a slot), otherwise it goes ahead. However many race,
//! on however many replicas, at most 5 passwords are checked before the lock; a client
//! logging in many times at once with the right password is only made to wait.

use sha2::{Digest, Sha256};

/// Failed attempts tolerated within the window for one email from one client address;
/// the next attempt is refused.
pub const MAX_FAILURES: i64 = 5;
/// Failed attempts tolerated within the window for one email over all clients (revision
/// 2, `login_max_failures_per_email`): stops guessing spread over many addresses.
pub const MAX_FAILURES_PER_EMAIL: i64 = 50;
/// Seconds per counter bucket.
pub const BUCKET_SECONDS: i64 = 60;
/// Buckets in the window: the current minute and the 15 before it.
pub const WINDOW_BUCKETS: i64 = 16;
/// Buckets in which an unsettled attempt still counts as in progress.
pub const PENDING_BUCKETS: i64 = 2;

/// The bucket of a unix time.
pub fn bucket(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(BUCKET_SECONDS)
}

/// The counters of one email (over all clients) or of one email from one client
/// address, with the failures they tolerate. Keys carry a SHA-256 digest, so the
/// key-value store (and its dumps) never holds emails or addresses in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    digest: String,
    max_failures: i64,
}

impl Counters {
    /// One email over all clients, tolerating [`MAX_FAILURES`] (the unit tests' rule).
    pub fn for_email(email: &str) -> Counters {
        Counters::per_email(email, MAX_FAILURES)
    }

    /// One email over all clients, tolerating `max_failures`.
    pub fn per_email(email: &str, max_failures: i64) -> Counters {
        Counters {
            digest: hex_digest(email.as_bytes()),
            max_failures,
        }
    }

    /// One email from one client address, tolerating [`MAX_FAILURES`].
    pub fn per_client(email: &str, client: &str) -> Counters {
        let subject = format!("{email}\n{client}");
        Counters {
            digest: hex_digest(subject.as_bytes()),
            max_failures: MAX_FAILURES,
        }
    }

    pub fn max_failures(&self) -> i64 {
        self.max_failures
    }

    pub fn attempts_key(&self, bucket: i64) -> String {
        format!("login-attempts/{}/{bucket}", self.digest)
    }

    pub fn pending_key(&self, bucket: i64) -> String {
        format!("login-pending/{}/{bucket}", self.digest)
    }

    /// The keys a decision at `now` reads, in the order [`decide`] takes their values:
    /// the window's attempts, oldest first, then the recent pending counters.
    pub fn window_keys(&self, now: i64) -> Vec<String> {
        let current = bucket(now);
        let attempts = (current - WINDOW_BUCKETS + 1..=current).map(|b| self.attempts_key(b));
        let pending = (current - PENDING_BUCKETS + 1..=current).map(|b| self.pending_key(b));
        attempts.chain(pending).collect()
    }
}

/// What the rule needs of a key-value store: atomic increments (returning the new
/// value) and a batch read of counters (missing keys as 0). Nothing else: no delete.
pub trait CounterStore {
    fn increment(&self, key: &str, delta: i64) -> Result<i64, String>;
    fn counters(&self, keys: &[String]) -> Result<Vec<i64>, String>;
}

impl Counters {
    /// Counts an attempt at `now` in, reads the window and decides; a refused attempt is
    /// counted out again. A `Proceed` attempt is settled later with [`Counters::fail`] or
    /// [`Counters::release`], given `bucket(now)`.
    pub fn count_in(&self, store: &impl CounterStore, now: i64) -> Result<Decision, String> {
        let b = bucket(now);
        // Pending first: between the two increments another attempt must never see this
        // one as a failure (attempts without pending), or honest logins racing each
        // other lock the account. Seen on real Spin, whose store calls are slower: 12
        // parallel right-password logins got 429s. The other way round, the moment
        // reads as one attempt fewer in progress, which the busy rule covers (an
        // attempt that sees fewer is earlier, and the later one sees it whole).
        store.increment(&self.pending_key(b), 1)?;
        if let Err(cause) = store.increment(&self.attempts_key(b), 1) {
            // Not counted in after all.
            let _ = give_back(store, &self.pending_key(b));
            return Err(cause);
        }
        let counts = match store.counters(&self.window_keys(now)) {
            Ok(counts) => counts,
            Err(cause) => {
                let _ = self.release(store, b);
                return Err(cause);
            }
        };
        let decision = decide_with(&counts, now, self.max_failures);
        if decision != Decision::Proceed {
            give_back(store, &self.attempts_key(b))?;
            give_back(store, &self.pending_key(b))?;
        }
        Ok(decision)
    }

    /// Wrong credentials: the attempt of `bucket` stays counted, as a failure.
    pub fn fail(&self, store: &impl CounterStore, bucket: i64) -> Result<(), String> {
        give_back(store, &self.pending_key(bucket))
    }

    /// The password was right, or could not be checked: the attempt does not count.
    pub fn release(&self, store: &impl CounterStore, bucket: i64) -> Result<(), String> {
        give_back(store, &self.attempts_key(bucket))?;
        give_back(store, &self.pending_key(bucket))
    }
}

/// Takes 1 off a counter: an increment, never a delete. Deleting a key that reached 0
/// raced attempts counting into it in that instant (their count was deleted with it, and
/// they then got a real password check while the email was locked). Keys at 0 stay until
/// the store evicts them (Redis runs with `allkeys-lru`); they are a few per email and
/// minute.
fn give_back(store: &impl CounterStore, key: &str) -> Result<(), String> {
    store.increment(key, -1).map(drop)
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What an attempt that has counted itself in does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Check the password.
    Proceed,
    /// As many attempts are in progress as failures are still allowed: give the counts
    /// back and try again when one has settled.
    Busy,
    /// Too many failures: give the counts back; the email is locked this many seconds.
    Locked { retry_after: u64 },
}

/// Decides for an attempt at `now` that has already added 1 to the current attempts and
/// pending counters. `counts` are the values of [`Counters::window_keys`], in order
/// (missing keys as 0).
pub fn decide(counts: &[i64], now: i64) -> Decision {
    decide_with(counts, now, MAX_FAILURES)
}

/// [`decide`] for a rule tolerating `max_failures`.
pub fn decide_with(counts: &[i64], now: i64, max_failures: i64) -> Decision {
    let (attempts, pending) = counts.split_at(WINDOW_BUCKETS as usize);
    // Counters are never negative in a consistent store; a bucket that is (a give-back
    // raced a key deletion) must not hide other failures.
    let others_attempts = attempts.iter().map(|&n| n.max(0)).sum::<i64>() - 1;
    let others_pending = (pending.iter().map(|&n| n.max(0)).sum::<i64>() - 1).max(0);
    let failures = (others_attempts - others_pending).max(0);
    if failures >= max_failures {
        return Decision::Locked {
            retry_after: unlock_after(attempts, failures, now, max_failures),
        };
    }
    if others_attempts >= max_failures {
        return Decision::Busy;
    }
    Decision::Proceed
}

/// Seconds until the `failures` fall below the limit as the oldest buckets leave the
/// window (pending attempts, being the newest, are taken from the newest buckets).
fn unlock_after(attempts: &[i64], failures: i64, now: i64, max_failures: i64) -> u64 {
    let oldest = bucket(now) - WINDOW_BUCKETS + 1;
    let mut remaining = failures;
    for (i, &n) in attempts.iter().enumerate() {
        remaining -= n.max(0);
        if remaining < max_failures {
            // Bucket `oldest + i` stops counting when it is WINDOW_BUCKETS old.
            let leaves_at = (oldest + i as i64 + WINDOW_BUCKETS) * BUCKET_SECONDS;
            return (leaves_at - now).max(1) as u64;
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10:00:00 UTC on some day: the start of a bucket.
    const T0: i64 = 1_764_000_000;

    /// An in-memory store, driven through the same protocol as the component's.
    #[derive(Default)]
    struct Store(std::cell::RefCell<std::collections::HashMap<String, i64>>);

    impl CounterStore for Store {
        fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
            let mut map = self.0.borrow_mut();
            let n = map.entry(key.to_string()).or_default();
            *n += delta;
            Ok(*n)
        }

        fn counters(&self, keys: &[String]) -> Result<Vec<i64>, String> {
            let map = self.0.borrow();
            Ok(keys
                .iter()
                .map(|k| map.get(k).copied().unwrap_or(0))
                .collect())
        }
    }

    struct Attempt {
        bucket: i64,
    }

    impl Store {
        fn begin(&mut self, c: &Counters, now: i64) -> Result<Attempt, Decision> {
            match c.count_in(self, now).unwrap() {
                Decision::Proceed => Ok(Attempt {
                    bucket: bucket(now),
                }),
                refusal => Err(refusal),
            }
        }

        fn fail(&mut self, c: &Counters, a: Attempt) {
            c.fail(self, a.bucket).unwrap();
        }

        fn release(&mut self, c: &Counters, a: Attempt) {
            c.release(self, a.bucket).unwrap();
        }

        fn fail_n(&mut self, c: &Counters, n: usize, now: i64) {
            for _ in 0..n {
                let a = self.begin(c, now).expect("not locked yet");
                self.fail(c, a);
            }
        }
    }

    fn locked(seconds: i64) -> Decision {
        Decision::Locked {
            retry_after: seconds as u64,
        }
    }

    fn alice() -> Counters {
        Counters::for_email("alice@example.com")
    }

    #[test]
    fn five_failures_lock_the_sixth_attempt_until_they_leave_the_window() {
        let (c, mut s) = (alice(), Store::default());
        s.fail_n(&c, 5, T0);
        // The bucket of T0 counts for 16 minutes from its start.
        assert_eq!(s.begin(&c, T0).err(), Some(locked(16 * 60)));
        assert_eq!(s.begin(&c, T0 + 59).err(), Some(locked(16 * 60 - 59)));
        assert_eq!(s.begin(&c, T0 + 16 * 60 - 1).err(), Some(locked(1)));
        assert!(s.begin(&c, T0 + 16 * 60).is_ok());
    }

    #[test]
    fn a_failure_counts_for_at_least_15_minutes_whatever_the_clock() {
        let (c, mut s) = (alice(), Store::default());
        // Failures late in a minute still count 15 minutes later.
        s.fail_n(&c, 5, T0 + 59);
        assert!(matches!(
            s.begin(&c, T0 + 59 + 15 * 60),
            Err(Decision::Locked { .. })
        ));
    }

    #[test]
    fn the_window_slides_across_quarter_hours() {
        // 3 failures just before a quarter hour, 2 just after: 5 within 15 minutes.
        let (c, mut s) = (alice(), Store::default());
        let quarter = T0 - T0.rem_euclid(900) + 900;
        s.fail_n(&c, 3, quarter - 1);
        s.fail_n(&c, 2, quarter + 1);
        assert!(matches!(
            s.begin(&c, quarter + 2),
            Err(Decision::Locked { .. })
        ));
        // The lock lifts when the 3 old ones leave, not at the next quarter hour.
        let lifts = (bucket(quarter - 1) + WINDOW_BUCKETS) * BUCKET_SECONDS;
        assert_eq!(
            s.begin(&c, quarter + 2).err(),
            Some(locked(lifts - quarter - 2))
        );
        assert!(s.begin(&c, lifts).is_ok());
    }

    #[test]
    fn successful_attempts_do_not_count() {
        let (c, mut s) = (alice(), Store::default());
        s.fail_n(&c, 4, T0);
        let a = s.begin(&c, T0 + 10).unwrap();
        s.release(&c, a);
        // A fifth failure is still allowed after a successful login; then the lock.
        s.fail_n(&c, 1, T0 + 11);
        assert!(matches!(s.begin(&c, T0 + 12), Err(Decision::Locked { .. })));
    }

    #[test]
    fn attempts_in_progress_take_the_remaining_slots_and_the_next_waits() {
        let (c, mut s) = (alice(), Store::default());
        s.fail_n(&c, 3, T0);
        let first = s.begin(&c, T0 + 1).unwrap();
        let second = s.begin(&c, T0 + 1).unwrap();
        assert_eq!(s.begin(&c, T0 + 1).err(), Some(Decision::Busy));
        // One succeeds: its slot is free again.
        s.release(&c, first);
        let third = s.begin(&c, T0 + 2).unwrap();
        // Both running ones fail: now the email is locked, not busy.
        s.fail(&c, second);
        s.fail(&c, third);
        assert!(matches!(s.begin(&c, T0 + 3), Err(Decision::Locked { .. })));
    }

    #[test]
    fn at_most_five_passwords_are_checked_however_many_race() {
        let (c, mut s) = (alice(), Store::default());
        let mut running = vec![];
        for _ in 0..100 {
            match s.begin(&c, T0) {
                Ok(a) => running.push(a),
                Err(refusal) => assert_eq!(refusal, Decision::Busy),
            }
        }
        assert_eq!(running.len() as i64, MAX_FAILURES);
        for a in running {
            s.fail(&c, a);
        }
        assert!(matches!(s.begin(&c, T0), Err(Decision::Locked { .. })));
    }

    #[test]
    fn an_attempt_that_never_settles_counts_as_a_failure() {
        let (c, mut s) = (alice(), Store::default());
        for _ in 0..5 {
            let _never_settled = s.begin(&c, T0).unwrap();
        }
        assert_eq!(s.begin(&c, T0 + 119).err(), Some(Decision::Busy));
        assert_eq!(s.begin(&c, T0 + 120).err(), Some(locked(16 * 60 - 120)));
    }

    #[test]
    fn other_emails_are_not_affected() {
        let mut s = Store::default();
        s.fail_n(&alice(), 5, T0);
        assert!(s.begin(&Counters::for_email("bob@example.com"), T0).is_ok());
    }

    #[test]
    fn negative_counters_do_not_hide_failures() {
        let mut counts = vec![0; (WINDOW_BUCKETS + PENDING_BUCKETS) as usize];
        counts[3] = 5;
        counts[4] = -3;
        counts[15] = 1; // this attempt
        counts[17] = 1; // this attempt, pending
        assert!(matches!(decide(&counts, T0), Decision::Locked { .. }));
    }

    #[test]
    fn keys_hold_a_digest_not_the_email() {
        let c = alice();
        let keys = c.window_keys(T0);
        assert_eq!(keys.len(), (WINDOW_BUCKETS + PENDING_BUCKETS) as usize);
        assert_eq!(keys[15], c.attempts_key(bucket(T0)));
        assert_eq!(keys[0], c.attempts_key(bucket(T0) - 15));
        assert_eq!(keys[17], c.pending_key(bucket(T0)));
        assert!(
            keys.iter()
                .all(|k| !k.contains("alice") && !k.contains('@'))
        );
        assert!(keys[0].starts_with("login-attempts/"));
        assert_ne!(c, Counters::for_email("bob@example.com"));
        assert_eq!(c, alice());
    }

    /// A store whose reads fail, as Spin's Redis `get_many` does: increments go through.
    struct UnreadableStore(Store);

    impl CounterStore for UnreadableStore {
        fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
            self.0.increment(key, delta)
        }
        fn counters(&self, _keys: &[String]) -> Result<Vec<i64>, String> {
            Err("wrong number of arguments for 'keys' command".into())
        }
    }

    #[test]
    fn an_attempt_that_cannot_read_its_window_is_an_error_and_leaves_nothing_counted() {
        let store = UnreadableStore(Store::default());
        let c = alice();
        assert!(c.count_in(&store, T0).is_err());
        assert!(
            store.0.0.borrow().values().all(|&n| n == 0),
            "{:?}",
            store.0.0
        );
    }

    /// Records the keys incremented, in order.
    #[derive(Default)]
    struct Recorder(std::cell::RefCell<Vec<String>>, Store);

    impl CounterStore for Recorder {
        fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
            self.0.borrow_mut().push(key.to_string());
            self.1.increment(key, delta)
        }
        fn counters(&self, keys: &[String]) -> Result<Vec<i64>, String> {
            self.1.counters(keys)
        }
    }

    /// Runs `meanwhile` the moment a counter is decremented to 0, as another request
    /// counting in at that instant would.
    type OtherAttempt<'a> = Box<dyn FnOnce(&Store) + 'a>;

    struct Interleaved<'a> {
        store: Store,
        meanwhile: std::cell::RefCell<Option<OtherAttempt<'a>>>,
    }

    impl CounterStore for Interleaved<'_> {
        fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
            let n = self.store.increment(key, delta)?;
            if delta < 0
                && n == 0
                && let Some(other) = self.meanwhile.borrow_mut().take()
            {
                other(&self.store);
            }
            Ok(n)
        }
        fn counters(&self, keys: &[String]) -> Result<Vec<i64>, String> {
            self.store.counters(keys)
        }
    }

    /// A refused attempt gives its counts back with increments only: an attempt that
    /// counts itself in just as the counter reaches 0 keeps its count. (The old
    /// decrement-then-delete lost it, and that attempt then got a password check while
    /// the email was locked.)
    #[test]
    fn a_give_back_never_erases_another_attempts_count() {
        let c = alice();
        let mut seeded = Store::default();
        seeded.fail_n(&c, 5, T0);
        let b = bucket(T0 + 60);
        let store = Interleaved {
            store: seeded,
            meanwhile: std::cell::RefCell::new(Some(Box::new(|s: &Store| {
                s.increment(&c.attempts_key(b), 1).unwrap();
            }))),
        };
        assert_eq!(c.count_in(&store, T0 + 60).unwrap(), locked(60 * 15));
        assert_eq!(
            store.store.counters(&[c.attempts_key(b)]).unwrap(),
            vec![1],
            "the other attempt is still counted"
        );
    }

    /// Another login half-way through counting itself in (its first increment done)
    /// must not read as a failure: with 4 failures, an honest login is not locked out.
    #[test]
    fn a_login_half_counted_in_is_never_a_failure() {
        let mut store = Store::default();
        let c = alice();
        store.fail_n(&c, 4, T0);
        // What `count_in` writes first, and nothing else yet.
        let recorder = Recorder::default();
        c.count_in(&recorder, T0).unwrap();
        let first = recorder.0.borrow()[0].clone();
        store.increment(&first, 1).unwrap();
        assert!(
            !matches!(c.count_in(&store, T0).unwrap(), Decision::Locked { .. }),
            "a racing honest login was locked out"
        );
    }
}
