//! Argon2id password hashing with the OWASP-recommended minimum cost
//! (m = 19 MiB, t = 2, p = 1), stored as PHC strings so the parameters travel with
//! each hash and can be raised later without invalidating old ones.

use std::hint::black_box;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

/// Memory cost in KiB (19 MiB).
const M_COST: u32 = 19 * 1024;
/// Iterations.
const T_COST: u32 = 2;
/// Lanes.
const P_COST: u32 = 1;

/// Limits on the parameters of a hash we agree to verify. A stored PHC string picks
/// its own cost; without a cap, a corrupted or planted row with `m=4294967295` would
/// make the allocator abort the whole component (an abort is not a panic and cannot
/// be caught). 64 MiB / t=10 / p=8 leaves room for stronger future settings.
const MAX_VERIFY_M_COST: u32 = 64 * 1024;
const MAX_VERIFY_T_COST: u32 = 10;
const MAX_VERIFY_P_COST: u32 = 8;

/// A valid hash with exactly our parameters, of a password nobody knows. It is a
/// constant rather than computed at first use because Spin instantiates a component
/// per request: a lazily computed dummy would be recomputed on every request and
/// double the cost of the unknown-email path, which is precisely the timing
/// difference [`verify_dummy`] exists to hide.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c8Tp4b2QolB1P2S4rIbxdQ$SJdOwtg6fPHF4oGEApr1luN1gWYSqm3aQ50L6N5CnoU";

fn hasher() -> Argon2<'static> {
    let params = Params::new(M_COST, T_COST, P_COST, None)
        .expect("constant Argon2 parameters are within the algorithm's limits");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with Argon2id (m=19456 KiB, t=2, p=1) and a fresh random
/// 16-byte salt; returns the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
///
/// # Panics
/// Only if the platform's secure random source fails (`getrandom`; on
/// wasm32-wasip2 that is `wasi:random`), since hashing with a predictable salt would
/// be worse than failing the request.
pub fn hash_password(password: &str) -> String {
    hasher()
        .hash_password(password.as_bytes())
        .expect("Argon2id hashing failed (secure random source unavailable?)")
        .to_string()
}

/// True when `password` matches the PHC string `phc`. A malformed string, another
/// algorithm than Argon2id, or parameters above the verification caps give `false`,
/// never a panic, so a bad row can only deny a login.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if parsed.algorithm.as_str() != "argon2id" {
        return false;
    }
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_VERIFY_M_COST
        || params.t_cost() > MAX_VERIFY_T_COST
        || params.p_cost() > MAX_VERIFY_P_COST
    {
        return false;
    }
    // Parameters come from the hash itself; the `Argon2` instance only supplies
    // the (absent) pepper.
    hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Spends the same time as a real [`verify_password`] and discards the result. Call it
/// when the email is unknown, so a login attempt takes as long whether or not the
/// account exists.
pub fn verify_dummy(password: &str) {
    black_box(verify_password(black_box(password), black_box(DUMMY_HASH)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

    #[test]
    fn hash_has_expected_phc_prefix_and_salt_length() {
        let phc = hash_password("correct horse battery staple");
        assert!(phc.starts_with(PREFIX), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert_eq!(parsed.salt.unwrap().as_ref().len(), 16);
        assert_eq!(parsed.hash.unwrap().len(), 32);
    }

    #[test]
    fn hash_then_verify_roundtrip() {
        let phc = hash_password("s3cret-Pässwörd");
        assert!(verify_password("s3cret-Pässwörd", &phc));
        assert!(!verify_password("s3cret-Passwort", &phc));
        assert!(!verify_password("", &phc));
    }

    #[test]
    fn salts_are_random() {
        assert_ne!(hash_password("same"), hash_password("same"));
    }

    #[test]
    fn malformed_hashes_are_false_not_panics() {
        for bad in [
            "",
            "plaintext",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$",
            "$argon2id$v=19$m=19456,t=2,p=1$!!!$!!!",
            "$argon2id$v=99$m=19456,t=2,p=1$c8Tp4b2QolB1P2S4rIbxdQ$SJdOwtg6fPHF4oGEApr1luN1gWYSqm3aQ50L6N5CnoU",
            "$argon2id$v=19$m=1,t=2,p=1$c8Tp4b2QolB1P2S4rIbxdQ$SJdOwtg6fPHF4oGEApr1luN1gWYSqm3aQ50L6N5CnoU",
            // absurd cost must be refused before any allocation
            "$argon2id$v=19$m=4294967295,t=2,p=1$c8Tp4b2QolB1P2S4rIbxdQ$SJdOwtg6fPHF4oGEApr1luN1gWYSqm3aQ50L6N5CnoU",
            "$argon2id$v=19$m=19456,t=4294967295,p=1$c8Tp4b2QolB1P2S4rIbxdQ$SJdOwtg6fPHF4oGEApr1luN1gWYSqm3aQ50L6N5CnoU",
            // other Argon2 variants and other schemes
            "$argon2i$v=19$m=19456,t=2,p=1$c8Tp4b2QolB1P2S4rIbxdQ$SJdOwtg6fPHF4oGEApr1luN1gWYSqm3aQ50L6N5CnoU",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        ] {
            assert!(!verify_password("password", bad), "{bad}");
        }
    }

    #[test]
    fn dummy_hash_is_valid_and_uses_current_parameters() {
        // If the cost constants change, the dummy must change too, or unknown emails
        // would answer faster/slower than known ones.
        assert!(DUMMY_HASH.starts_with(PREFIX));
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (M_COST, T_COST, P_COST)
        );
        assert_eq!(parsed.salt.unwrap().as_ref().len(), 16);
        // It verifies for its own (secret-less) preimage, so the dummy path runs the
        // full computation including the final comparison.
        assert!(verify_password(
            "not-a-real-password: timing equaliser",
            DUMMY_HASH
        ));
    }

    /// Prints the cost of one hash, one verification and one dummy verification
    /// (`cargo test -p identity --release -- --nocapture timing`). Not asserted
    /// tightly: the machine may be busy with other tests.
    #[test]
    fn timing_of_one_hash() {
        let start = Instant::now();
        let phc = hash_password("timing");
        let hash_time = start.elapsed();
        let start = Instant::now();
        assert!(verify_password("timing", &phc));
        let verify_time = start.elapsed();
        let start = Instant::now();
        verify_dummy("timing");
        let dummy_time = start.elapsed();
        println!(
            "argon2id m=19456,t=2,p=1: hash {hash_time:?}, verify {verify_time:?}, verify_dummy {dummy_time:?} (debug_assertions: {})",
            cfg!(debug_assertions)
        );
    }
}
