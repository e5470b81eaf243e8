//! Spin's known defects, reproduced on purpose.
//!
//! devhost is a test host: an app that passes here must pass on every Spin its users
//! run. Where a Spin release gets a host call wrong, a kinder devhost would hide the
//! app's reliance on that call, so by default (`--spin-compat strict`) devhost fails in
//! the same place, and loudly. `--spin-compat off` implements every call correctly,
//! which is only useful to show that a failure comes from a defect.
//!
//! | call | Spin | devhost (strict) |
//! |---|---|---|
//! | `spin:postgres` `query` with no rows | 4.0.0 – 4.0.2 hang forever (spin#3671) | traps the instance (500) and logs why |
//! | `spin:postgres` `query` failing while its rows stream in (e.g. a unique violation of `INSERT … RETURNING`) | 3.6 and 4.0: the error comes back as `QueryError::Text`, its SQLSTATE only inside the text | the same text (4.0's form) |
//! | `wasi:keyvalue/batch.get-many` on Redis | every release: `KEYS k1 k2 …`, an error | the same error |
//! | `atomics.swap` on Redis after a lost race | every release: reports success, writes nothing | the same |
//! | `atomics.swap` on SQLite when `current` saw no key | every release: writes without comparing | the same |

use anyhow::{Result, bail};

/// Which behaviour devhost gives the calls above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpinCompat {
    /// Fail wherever any supported Spin release fails (the default).
    #[default]
    Strict,
    /// Implement every call correctly.
    Off,
}

impl SpinCompat {
    pub fn parse(text: &str) -> Result<SpinCompat> {
        match text {
            "strict" => Ok(SpinCompat::Strict),
            "off" => Ok(SpinCompat::Off),
            other => bail!("--spin-compat takes `strict` or `off`, not {other:?}"),
        }
    }

    pub fn strict(self) -> bool {
        self == SpinCompat::Strict
    }
}

/// What a zero-row `query` does on Spin 4.0.0 – 4.0.2, said where devhost refuses it.
pub const ZERO_ROW_QUERY: &str = "spin:postgres query returned zero rows: Spin 4.0.0-4.0.2 \
     never answers such a query (spinframework/spin#3671), so devhost --spin-compat strict \
     traps instead; make the statement return at least one row";

/// The error Spin's Redis store gives `get-many` (it sends `KEYS k1 k2 …`).
pub const REDIS_GET_MANY: &str = "An error was signalled by the server - ResponseError: wrong number of arguments for 'keys' command";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_is_the_default_and_both_names_parse() {
        assert_eq!(SpinCompat::default(), SpinCompat::Strict);
        assert!(SpinCompat::parse("strict").unwrap().strict());
        assert!(!SpinCompat::parse("off").unwrap().strict());
        assert!(SpinCompat::parse("4.0").is_err());
    }
}
