//! What a handler gets: the request, its path parameters, and lazily opened resources.

use std::cell::{Cell, OnceCell};

use identity::VerifiedToken;

use domain::query::Query;
use repositories::Db;

use crate::ApiError;
use crate::config::{Settings, database_url};
use crate::http::HttpRequest;
use crate::router::Params;

pub struct Ctx<'a> {
    pub request: &'a HttpRequest,
    pub params: Params,
    pub settings: &'a Settings,
    pub request_id: &'a str,
    db: OnceCell<Db>,
    user_id: Cell<Option<i64>>,
    /// The caller's verified token, when the route authenticates.
    token: Cell<Option<VerifiedToken>>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        request: &'a HttpRequest,
        params: Params,
        settings: &'a Settings,
        request_id: &'a str,
    ) -> Ctx<'a> {
        Ctx {
            request,
            params,
            settings,
            request_id,
            db: OnceCell::new(),
            user_id: Cell::new(None),
            token: Cell::new(None),
        }
    }

    /// The database named by `database_url`, opened on first use.
    pub fn db(&self) -> Result<&Db, ApiError> {
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let url = database_url();
        let db = Db::open(&url)?;
        Ok(self.db.get_or_init(|| db))
    }

    /// Statements run for this request, for `database_queries_total`.
    pub fn queries_run(&self) -> u64 {
        self.db.get().map_or(0, Db::query_count)
    }

    /// A path parameter that must be a 64-bit integer (422 otherwise).
    pub fn path_id(&self, name: &str) -> Result<i64, ApiError> {
        let raw = self
            .params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        Ok(domain::query::path_id(name, raw)?)
    }

    pub fn query(&self) -> Query {
        Query::parse(&self.request.query)
    }

    pub fn body(&self) -> &[u8] {
        &self.request.body
    }

    /// Records who is calling, for the request log.
    pub fn set_user(&self, user_id: i64) {
        self.user_id.set(Some(user_id));
    }

    pub fn user(&self) -> Option<i64> {
        self.user_id.get()
    }

    pub(crate) fn set_token(&self, token: VerifiedToken) {
        self.set_user(token.user_id);
        self.token.set(Some(token));
    }

    /// The caller's verified token (after `claim` or `caller`).
    pub fn token(&self) -> Option<VerifiedToken> {
        self.token.get()
    }
}
