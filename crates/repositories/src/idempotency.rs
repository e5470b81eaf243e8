//! The `idempotency_keys` table: one row per key of one caller on one route, holding the
//! fingerprint of the first body and, once it is known, the answer. The protocol (when
//! to claim, replay or release) is `web::idempotency`'s; this module only stores.

use storage::{Db, DbError};

/// One key of one caller (0 for a request without a token) on one route.
#[derive(Debug, Clone)]
pub struct Slot {
    pub caller_id: i64,
    /// `METHOD /path`.
    pub route: String,
    pub key: String,
    /// A digest of the request body.
    pub fingerprint: String,
}

/// What a slot holds: the first request's fingerprint and, once it finished, its answer.
#[derive(Debug, Clone)]
pub struct Stored {
    pub fingerprint: String,
    /// `None` while the first request is still running.
    pub answer: Option<StoredAnswer>,
}

#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub status: i64,
    pub content_type: Option<String>,
    pub body: String,
}

/// Claims the slot at `now` (Unix seconds): true when this request is the one to run. A
/// row created before `expired_before`, or one still unanswered that was created before
/// `abandoned_before`, is taken over in the same statement.
pub fn claim(
    db: &Db,
    slot: &Slot,
    now: i64,
    expired_before: i64,
    abandoned_before: i64,
) -> Result<bool, DbError> {
    let claimed = db.query_opt(
        "INSERT INTO idempotency_keys \
         (caller_id, route, idempotency_key, fingerprint, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (caller_id, route, idempotency_key) DO UPDATE SET \
         fingerprint = excluded.fingerprint, status = NULL, content_type = NULL, \
         body = NULL, created_at = excluded.created_at \
         WHERE idempotency_keys.created_at < $6 \
         OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at < $7) \
         RETURNING created_at",
        &[
            slot.caller_id.into(),
            slot.route.as_str().into(),
            slot.key.as_str().into(),
            slot.fingerprint.as_str().into(),
            now.into(),
            expired_before.into(),
            abandoned_before.into(),
        ],
    )?;
    Ok(claimed.is_some())
}

/// What the slot holds; `None` when it was released meanwhile.
pub fn stored(db: &Db, slot: &Slot) -> Result<Option<Stored>, DbError> {
    let row = db.query_opt(
        "SELECT fingerprint, status, content_type, body FROM idempotency_keys \
         WHERE caller_id = $1 AND route = $2 AND idempotency_key = $3",
        &[
            slot.caller_id.into(),
            slot.route.as_str().into(),
            slot.key.as_str().into(),
        ],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let answer = match row.opt_i64("status")? {
        Some(status) => Some(StoredAnswer {
            status,
            content_type: row.opt_text("content_type")?,
            body: row.opt_text("body")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Some(Stored {
        fingerprint: row.text("fingerprint")?,
        answer,
    }))
}

/// Stores the answer (inside the write's transaction).
pub fn record(
    db: &Db,
    slot: &Slot,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3 \
         WHERE caller_id = $4 AND route = $5 AND idempotency_key = $6",
        &[
            i32::from(status).into(),
            content_type.into(),
            body.into(),
            slot.caller_id.into(),
            slot.route.as_str().into(),
            slot.key.as_str().into(),
        ],
    )
    .map(drop)
}

/// Gives an unanswered slot back, so a retry runs at once.
pub fn release(db: &Db, slot: &Slot) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM idempotency_keys \
         WHERE caller_id = $1 AND route = $2 AND idempotency_key = $3 AND status IS NULL",
        &[
            slot.caller_id.into(),
            slot.route.as_str().into(),
            slot.key.as_str().into(),
        ],
    )
    .map(drop)
}

/// Deletes every slot created before `before` (Unix seconds).
pub fn purge(db: &Db, before: i64) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        &[before.into()],
    )
    .map(drop)
}
