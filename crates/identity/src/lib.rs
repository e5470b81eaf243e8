//! Identity primitives shared by the Spin components: JWT issuing/verification,
//! Argon2id password hashing and the login-throttling rule.
//!
//! This crate is pure Rust with no I/O so the same code runs inside the
//! `wasm32-wasip2` components and in native unit tests. Time is always passed in by
//! the caller (`now_unix`) instead of read from a clock: the components get "now" from
//! the host, and tests can pin it, which is what makes expiry rules testable.

mod jwt;
mod password;
pub mod throttle;

pub use jwt::{
    ConfigError, Jwt, JwtAlgorithm, MAX_TOKEN_LEN, MIN_SECRET_LEN, TokenError, VerifiedToken,
};
pub use password::{hash_password, verify_dummy, verify_password};
