//! The contract's bounds, each written once. The parsers of this crate enforce them and
//! `/openapi.json` documents them from here (`web::openapi`), so the document and the
//! validation cannot say different things; a test there checks both against each other.
//! The old service's messages carry the same numbers: they are built from these values.

/// A length in Unicode characters; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chars {
    pub min: Option<usize>,
    pub max: Option<usize>,
}

/// An integer range; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ints {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

const fn chars(min: usize, max: usize) -> Chars {
    Chars {
        min: Some(min),
        max: Some(max),
    }
}

pub const USERNAME: Chars = chars(3, 50);
/// A new password (registration, change).
pub const PASSWORD: Chars = chars(6, 128);
/// A password typed at login: only the minimum applies, as in the old service.
pub const LOGIN_PASSWORD: Chars = Chars {
    min: Some(6),
    max: None,
};
/// The whole address; the part before the `@` has its own limit, `EMAIL_LOCAL_PART`.
pub const EMAIL: Chars = Chars {
    min: None,
    max: Some(254),
};
pub const EMAIL_LOCAL_PART: usize = 64;
pub const BRAND_NAME: Chars = chars(2, 50);
pub const DESCRIPTION: Chars = Chars {
    min: None,
    max: Some(5000),
};
pub const CAR_MODEL: Chars = chars(2, 100);
pub const COLOR: Chars = chars(2, 30);
pub const PLATE: Chars = chars(7, 10);
/// A factory or model year.
pub const YEAR: Ints = Ints {
    min: Some(1900),
    max: Some(2030),
};

/// `offset` of a list: from 0, default 0.
pub const OFFSET: Ints = Ints {
    min: Some(0),
    max: None,
};
pub const OFFSET_DEFAULT: i64 = 0;
/// `limit` of a list: 1 to 100, default 100.
pub const LIMIT: Ints = Ints {
    min: Some(1),
    max: Some(100),
};
pub const LIMIT_DEFAULT: i64 = 100;

/// What one field of a request body accepts, as the document states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Chars(Chars),
    Ints(Ints),
}

/// A request body whose fields carry bounds: the list the document is built from.
pub trait Bounded {
    /// `(field, rule)` for every bounded field; fields not listed have none.
    const RULES: &'static [(&'static str, Rule)];
}
