//! Who is calling: a claim first, a proof once the database has seen the account.

use domain::Timestamp;

/// What a verified token says: the user id, and when the token was issued. It proves
/// neither that the account still exists nor that the token survived a password change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    user_id: i64,
    issued_at: Timestamp,
}

impl Claim {
    /// `issued_at` is the token's `iat`, in whole seconds.
    pub fn new(user_id: i64, issued_at_seconds: i64) -> Claim {
        Claim {
            user_id,
            issued_at: Timestamp::from_micros(issued_at_seconds.saturating_mul(1_000_000)),
        }
    }

    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    /// The start of the token's `iat` second, as stored timestamps compare with it.
    pub(crate) fn issued_at(&self) -> Timestamp {
        self.issued_at
    }

    /// The proof from a write whose SQL found the account only when it accepts the token
    /// (`password_changed_at IS NULL OR password_changed_at < issued_at`) and succeeded.
    pub(crate) fn proven_by_write(&self) -> Caller {
        Caller { id: self.user_id }
    }

    /// The proof, given the account's `password_changed_at` as just read: a token issued
    /// before the last password change is revoked (revision 2). `iat` has whole seconds,
    /// so a token of the change's own second counts as earlier; logins and refreshes after
    /// a change are issued in the next second, so they are never caught.
    pub(crate) fn prove(&self, password_changed_at: Option<Timestamp>) -> Option<Caller> {
        match password_changed_at {
            Some(changed) if changed >= self.issued_at => None,
            _ => Some(Caller { id: self.user_id }),
        }
    }
}

/// Proof that the calling account exists and accepts the caller's token. Only this
/// crate makes one, from a row that showed the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    id: i64,
}

impl Caller {
    pub fn id(&self) -> i64 {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_change_revokes_tokens_of_its_second_and_before() {
        let claim = Claim::new(7, 1_000);
        let at =
            |seconds: i64, micros: i64| Some(Timestamp::from_micros(seconds * 1_000_000 + micros));
        assert_eq!(claim.prove(None).map(|c| c.id()), Some(7));
        assert!(claim.prove(at(999, 999_999)).is_some());
        assert!(claim.prove(at(1_000, 0)).is_none());
        assert!(claim.prove(at(1_000, 500_000)).is_none());
        assert!(claim.prove(at(1_001, 0)).is_none());
    }
}
