//! E-mail addresses as the old service accepted them (Pydantic's `EmailStr`, backed by
//! the `email-validator` rules without deliverability checks): the domain part is
//! lower-cased, the local part kept as typed.

use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

use crate::validation::Problem;

/// Top-level names reserved for special use, which cannot receive mail.
const SPECIAL_USE: &[&str] = &["arpa", "invalid", "local", "localhost", "onion", "test"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &Value) -> Result<Email, Problem> {
        let text = crate::input::lax_str(value)?;
        Email::parse_str(text).map_err(|reason| {
            Problem::new(
                "value_error",
                format!("value is not a valid email address: {reason}"),
            )
            .with_ctx(json!({ "reason": reason }))
        })
    }

    /// Validates and normalises; the error is the human-readable reason.
    pub fn parse_str(text: &str) -> Result<Email, String> {
        let Some(at) = text.rfind('@') else {
            return Err("An email address must have an @-sign.".into());
        };
        let (local, domain) = (&text[..at], &text[at + 1..]);
        if local.is_empty() {
            return Err("There must be something before the @-sign.".into());
        }
        if domain.is_empty() {
            return Err("There must be something after the @-sign.".into());
        }
        check_local(local)?;
        let domain = check_domain(domain)?;
        let address = format!("{local}@{domain}");
        let length = address.chars().count();
        let max = crate::contract::EMAIL.max.unwrap_or(usize::MAX);
        if length > max {
            return Err(format!(
                "The email address is too long ({} characters too many).",
                length - max
            ));
        }
        Ok(Email(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_local(local: &str) -> Result<(), String> {
    let length = local.chars().count();
    let max = crate::contract::EMAIL_LOCAL_PART;
    if length > max {
        return Err(format!(
            "The email address is too long before the @-sign ({} characters too many).",
            length - max
        ));
    }
    if local.starts_with('.') {
        return Err("An email address cannot start with a period.".into());
    }
    if local.ends_with('.') {
        return Err("An email address cannot have a period immediately before the @-sign.".into());
    }
    if local.contains("..") {
        return Err("An email address cannot have two periods in a row.".into());
    }
    let bad: Vec<String> = local
        .chars()
        .filter(|c| !is_atext(*c) && *c != '.')
        .map(describe)
        .collect();
    if !bad.is_empty() {
        return Err(format!(
            "The email address contains invalid characters before the @-sign: {}.",
            dedup(bad)
        ));
    }
    Ok(())
}

/// RFC 5322 atext, plus the non-ASCII letters that internationalised addresses allow.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
}

fn check_domain(domain: &str) -> Result<String, String> {
    let domain = domain.to_lowercase();
    let bad: Vec<String> = domain
        .chars()
        .filter(|c| !(c.is_alphanumeric() || *c == '-' || *c == '.'))
        .map(describe)
        .collect();
    if !bad.is_empty() {
        return Err(format!(
            "The part after the @-sign contains invalid characters: {}.",
            dedup(bad)
        ));
    }
    if domain.starts_with('.') {
        return Err("An email address cannot have a period immediately after the @-sign.".into());
    }
    if domain.ends_with('.') {
        return Err("An email address cannot end with a period.".into());
    }
    if domain.contains("..") {
        return Err("An email address cannot have two periods in a row.".into());
    }
    if domain.chars().count() > 253 {
        return Err("The email address is too long after the @-sign.".into());
    }
    for label in domain.split('.') {
        if label.starts_with('-') {
            return Err("An email address cannot have a hyphen immediately after the @-sign or after a period.".into());
        }
        if label.ends_with('-') {
            return Err(
                "An email address cannot have a hyphen immediately before a period or at the end."
                    .into(),
            );
        }
        if label.chars().count() > 63 {
            return Err(
                "After the @-sign, periods cannot be separated by so many characters.".into(),
            );
        }
    }
    let Some((_, tld)) = domain.rsplit_once('.') else {
        return Err("The part after the @-sign is not valid. It should have a period.".into());
    };
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(
            "The part after the @-sign is not valid. It is not within a valid top-level domain."
                .into(),
        );
    }
    if SPECIAL_USE.contains(&tld) {
        return Err(
            "The part after the @-sign is a special-use or reserved name that cannot be used with email."
                .into(),
        );
    }
    Ok(domain)
}

fn describe(c: char) -> String {
    match c {
        ' ' => "SPACE".into(),
        '\t' => "TAB".into(),
        c if c.is_control() => format!("U+{:04X}", c as u32),
        c => format!("'{c}'"),
    }
}

fn dedup(mut items: Vec<String>) -> String {
    let mut seen = Vec::new();
    items.retain(|i| {
        if seen.contains(i) {
            false
        } else {
            seen.push(i.clone());
            true
        }
    });
    items.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_the_domain_only() {
        let email = Email::parse_str("Mixed.Case@Example.COM").unwrap();
        assert_eq!(email.as_str(), "Mixed.Case@example.com");
    }

    #[test]
    fn rejects_common_mistakes() {
        for bad in [
            "plainaddress",
            "@example.com",
            "user@",
            "user@localhost",
            "user@example",
            "a b@example.com",
            ".user@example.com",
            "user.@example.com",
            "us..er@example.com",
            "user@exa mple.com",
            "user@-example.com",
            "user@example.123",
            "user@site.test",
        ] {
            assert!(Email::parse_str(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn accepts_ordinary_addresses() {
        for good in [
            "john@example.com",
            "a+tag@sub.example.co",
            "x_y-z@test.com",
            "ü@exämple.de",
        ] {
            assert!(Email::parse_str(good).is_ok(), "{good} should be accepted");
        }
    }

    #[test]
    fn length_limits() {
        let local = "a".repeat(65);
        assert!(Email::parse_str(&format!("{local}@example.com")).is_err());
        let long = format!(
            "{}@{}.com",
            "a".repeat(64),
            "b".repeat(60) + "." + &"c".repeat(60) + "." + &"d".repeat(60) + "." + &"e".repeat(10)
        );
        assert!(Email::parse_str(&long).is_err());
    }

    #[test]
    fn pydantic_message_shape() {
        let problem = Email::parse(&serde_json::json!("nope")).unwrap_err();
        assert_eq!(problem.kind, "value_error");
        assert_eq!(
            problem.msg,
            "value is not a valid email address: An email address must have an @-sign."
        );
    }
}
