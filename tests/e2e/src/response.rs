//! [`Resp`], a fully read HTTP answer, with the assertions tests make on it (status, error
//! body, content type, security headers, 422 entries).

use serde_json::{Value, json};

use crate::expected_errors::ExpectedError;

/// A fully read HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub async fn read(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (showing the body) if it is not.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}); status {}: {}",
                self.status,
                self.text()
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "expected status {status}, got {}; body: {}",
            self.status,
            self.text()
        );
        self
    }

    /// Exact status and body `{"detail": detail}`, JSON content type, and on a 401 the
    /// `WWW-Authenticate: Bearer` header.
    #[track_caller]
    pub fn assert_error(&self, status: u16, detail: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(self.json(), json!({ "detail": detail }), "error body");
        self.assert_json_content_type();
        if status == 401 {
            assert_eq!(
                self.header("www-authenticate").as_deref(),
                Some("Bearer"),
                "every 401 carries WWW-Authenticate: Bearer"
            );
        }
        self
    }

    #[track_caller]
    pub fn assert_json_content_type(&self) -> &Self {
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/json"),
            "content-type should be application/json, is {ct:?}"
        );
        self
    }

    /// The four security headers every response carries.
    #[track_caller]
    pub fn assert_security_headers(&self) -> &Self {
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                self.header(name).as_deref(),
                Some(*value),
                "header {name} on a {} response",
                self.status
            );
        }
        self
    }

    /// 204 with an empty body.
    #[track_caller]
    pub fn assert_no_content(&self) -> &Self {
        self.assert_status(204);
        assert!(
            self.body.is_empty(),
            "204 body must be empty: {:?}",
            self.text()
        );
        self
    }

    /// Status 422 with exactly the `expected` entries (in any order); returns the entries.
    /// Every entry must have `input`; `value_error` entries must have `ctx: {"error": {}}`.
    #[track_caller]
    pub fn assert_422(&self, expected: &[ExpectedError]) -> Vec<Value> {
        self.assert_status(422);
        self.assert_json_content_type();
        let body = self.json();
        let entries = body["detail"]
            .as_array()
            .unwrap_or_else(|| panic!("422 detail must be a list: {body}"))
            .clone();
        assert_eq!(
            entries.len(),
            expected.len(),
            "expected {} validation errors, got: {body:#}",
            expected.len()
        );
        for e in expected {
            let found = entries.iter().find(|x| e.matches(x));
            let found = found.unwrap_or_else(|| panic!("no validation error {e:?} in {body:#}"));
            let obj = found.as_object().expect("entry is an object");
            assert!(obj.contains_key("input"), "entry without `input`: {found}");
            if e.ty == "value_error" && !e.is_email {
                assert_eq!(
                    found["ctx"],
                    json!({"error": {}}),
                    "value_error ctx: {found}"
                );
            }
        }
        entries
    }

    /// The 422 entry at `loc`.
    #[track_caller]
    pub fn entry(&self, loc: Value) -> Value {
        let body = self.json();
        body["detail"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["loc"] == loc).cloned())
            .unwrap_or_else(|| panic!("no entry at {loc} in {body}"))
    }
}

pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("x-xss-protection", "1; mode=block"),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
];
