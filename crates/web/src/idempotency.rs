//! Safe retries of writes with `Idempotency-Key` (the header of Stripe's API and of the
//! IETF draft "The Idempotency-Key HTTP Header Field").
//!
//! The first request with a key claims it (a row committed at once, so a concurrent
//! retry sees it and gets 409), then runs its handler inside a transaction that also
//! stores the answer: the write and its recorded answer commit together or not at all.
//! A retry with the same key, caller, route and body gets that answer back without
//! running again, also when the first answer never reached the client. A 5xx is never
//! stored: the transaction rolls back and the claim is released, so the retry runs.
//!
//! Keys are scoped to the caller (the token's user; 0 for registration, which needs no
//! token) and to the route (method and path), live 24 hours, and sit in the database,
//! so they survive restarts and are shared by every replica.

use domain::Timestamp;
use domain::validation::{Problem, Source, ValidationErrors};
use repositories::Db;
use repositories::idempotency::{self as keys, Slot};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api::Endpoint;
use crate::context::Ctx;
use crate::error::ApiError;
use crate::http::HttpResponse;
use crate::{HandlerResult, log};

pub const HEADER: &str = "idempotency-key";
/// Set on an answer that was stored by an earlier request with the same key.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long an answer is kept.
pub const TTL_SECONDS: i64 = 24 * 60 * 60;
/// A claim with no answer this old belongs to a request that lost its database before it
/// could release the claim (the transaction itself rolled back): it is taken over.
/// Handlers finish in well under a second, so no live request is this old.
pub const ABANDONED_AFTER_SECONDS: i64 = 30;
/// The longest key accepted, as in Stripe's API.
pub const MAX_KEY_LENGTH: usize = 255;
/// One successful keyed write in this many also deletes expired answers.
const PURGE_ONE_IN: u8 = 64;

/// Runs `handler` under the request's `Idempotency-Key`, if it has one and the endpoint
/// takes it; otherwise runs it as it is.
pub fn run(
    ctx: &Ctx,
    endpoint: &Endpoint,
    handler: impl FnOnce(&Ctx) -> HandlerResult,
) -> HandlerResult {
    let Some(raw) = ctx.request.header(HEADER) else {
        return handler(ctx);
    };
    if !endpoint.takes_idempotency_key() {
        return handler(ctx);
    }
    // Authentication first, as for every protected route: a refused token is answered
    // as it would be without the header, and nothing is stored for it.
    // Keys are scoped by the token's claim; the handler proves the caller as it would
    // without the header.
    let caller_id = if endpoint.auth {
        ctx.claim()?.user_id()
    } else {
        0
    };
    let slot = Slot {
        caller_id,
        route: format!("{} {}", ctx.request.method, route_path(&ctx.request.path)),
        key: parse_key(raw)?,
        fingerprint: fingerprint(ctx.body()),
    };
    let db = ctx.db()?;
    let now = Timestamp::now().unix_seconds();
    let claimed = keys::claim(
        db,
        &slot,
        now,
        now - TTL_SECONDS,
        now - ABANDONED_AFTER_SECONDS,
    )?;
    if !claimed {
        return earlier_answer(db, &slot);
    }

    if let Err(error) = db.begin() {
        release(db, &slot);
        return Err(error.into());
    }
    // Client errors are answers like any other: stored, and replayed to a retry.
    let outcome = match handler(ctx) {
        Err(error) if error.status() < 500 => Ok(error.into_response()),
        other => other,
    };
    match outcome {
        Ok(response) if response.status < 500 => {
            let stored = keys::record(
                db,
                &slot,
                response.status,
                response.header("content-type"),
                &String::from_utf8_lossy(&response.body),
            )
            .and_then(|()| db.commit());
            if let Err(error) = stored {
                db.rollback();
                release(db, &slot);
                return Err(error.into());
            }
            if random_byte().is_multiple_of(PURGE_ONE_IN) {
                purge_expired(ctx, db, now);
            }
            Ok(response)
        }
        failed => {
            db.rollback();
            release(db, &slot);
            failed
        }
    }
}

/// The key is taken: the stored answer (same body), 422 (another body) or 409 (the first
/// request is still running).
fn earlier_answer(db: &Db, slot: &Slot) -> HandlerResult {
    // Released between our claim and this read: the first request failed and its retry
    // may run. Asking the client to retry is the honest answer.
    let Some(stored) = keys::stored(db, slot)? else {
        return Err(ApiError::IdempotencyKeyInFlight);
    };
    if stored.fingerprint != slot.fingerprint {
        return Err(ApiError::IdempotencyKeyReused);
    }
    let Some(answer) = stored.answer else {
        return Err(ApiError::IdempotencyKeyInFlight);
    };
    let mut response = HttpResponse {
        status: u16::try_from(answer.status)
            .map_err(|_| ApiError::Internal(format!("stored status {}", answer.status)))?,
        headers: Vec::new(),
        body: answer.body.into_bytes(),
    };
    if let Some(content_type) = answer.content_type {
        response.set_header("content-type", &content_type);
    }
    response.set_header(REPLAYED_HEADER, "true");
    Ok(response)
}

/// Gives the key back after a failure, so a retry runs at once. When the database is gone
/// this fails too, and the claim is taken over after `ABANDONED_AFTER_SECONDS`.
fn release(db: &Db, slot: &Slot) {
    let _ = keys::release(db, slot);
}

/// Deletes answers past their lifetime; a failure only leaves them for the next purge.
fn purge_expired(ctx: &Ctx, db: &Db, now: i64) {
    if let Err(error) = keys::purge(db, now - TTL_SECONDS) {
        log::emit(
            ctx.settings.log_level,
            log::Level::Warning,
            "expired idempotency keys not purged",
            json!({ "request_id": ctx.request_id, "cause": error.to_string() }),
        );
    }
}

/// 1 to 255 visible ASCII characters (a UUID, typically).
fn parse_key(raw: &str) -> Result<String, ApiError> {
    let problem = if raw.is_empty() {
        Some(
            Problem::new(
                "string_too_short",
                "String should have at least 1 character",
            )
            .with_ctx(json!({ "min_length": 1 })),
        )
    } else if raw.len() > MAX_KEY_LENGTH {
        Some(
            Problem::new(
                "string_too_long",
                format!("String should have at most {MAX_KEY_LENGTH} characters"),
            )
            .with_ctx(json!({ "max_length": MAX_KEY_LENGTH })),
        )
    } else if !raw.bytes().all(|b| b.is_ascii_graphic()) {
        Some(Problem::new(
            "string_pattern_mismatch",
            "Idempotency-Key must be visible ASCII characters without spaces",
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ApiError::Validation(ValidationErrors::one(problem.at(
            Source::Header,
            HEADER,
            json!(raw),
        )))),
        None => Ok(raw.to_string()),
    }
}

/// The path without a trailing slash: `/cars/` and `/cars` are one route.
fn route_path(path: &str) -> &str {
    if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    }
}

/// SHA-256 of the body, hex: what "the same request" means.
fn fingerprint(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_byte() -> u8 {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    byte[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert_eq!(
            parse_key("0f8fad5b-d9cb-469f-a165-70867728950e")
                .ok()
                .as_deref(),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e")
        );
        assert!(parse_key(&"k".repeat(255)).is_ok());
        for bad in ["", "with space", "tab\there", "ação", &"k".repeat(256)] {
            let Err(ApiError::Validation(errors)) = parse_key(bad) else {
                panic!("{bad:?} accepted");
            };
            let detail = errors.to_json()["detail"][0].clone();
            assert_eq!(
                detail["loc"],
                json!(["header", "idempotency-key"]),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_route_ignores_a_trailing_slash() {
        assert_eq!(route_path("/api/v1/cars/"), "/api/v1/cars");
        assert_eq!(route_path("/api/v1/cars/7"), "/api/v1/cars/7");
        assert_eq!(route_path("/"), "/");
    }

    #[test]
    fn fingerprints_tell_bodies_apart() {
        assert_eq!(fingerprint(b"{}"), fingerprint(b"{}"));
        assert_ne!(fingerprint(b"{\"a\":1}"), fingerprint(b"{\"a\":2}"));
        assert_eq!(fingerprint(b"").len(), 64);
    }
}
