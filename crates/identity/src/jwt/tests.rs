//! Unit tests for every verification rule. Tokens that `jwt-compact` refuses to
//! produce (alg none, wrong claim types, …) are forged by hand: base64url(JSON) parts
//! and an HMAC computed here with the `hmac`/`sha2` crates.

use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::json;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef"; // exactly 32 bytes
const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn jwt(alg: JwtAlgorithm) -> Jwt {
    Jwt::new(SECRET, alg, 30).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC over `header.payload` with the given algorithm name's digest.
fn hmac_sig(alg: &str, secret: &[u8], signing_input: &str) -> Vec<u8> {
    match alg {
        "HS256" => {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
            m.update(signing_input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        "HS384" => {
            let mut m = Hmac::<sha2::Sha384>::new_from_slice(secret).unwrap();
            m.update(signing_input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        "HS512" => {
            let mut m = Hmac::<sha2::Sha512>::new_from_slice(secret).unwrap();
            m.update(signing_input.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        other => panic!("no HMAC for {other}"),
    }
}

/// A token with arbitrary header and payload JSON text, HMAC-signed with `sign_as`
/// (which may differ from the header's `alg`) or unsigned when `None`.
fn forge_raw(header: &str, payload: &str, sign_as: Option<&str>, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = match sign_as {
        Some(alg) => b64(&hmac_sig(alg, secret, &input)),
        None => String::new(),
    };
    format!("{input}.{sig}")
}

/// A correctly HMAC-signed token (with our secret) for the given alg and payload.
fn forge(alg: &str, payload: serde_json::Value) -> String {
    let header = json!({"alg": alg, "typ": "JWT"}).to_string();
    forge_raw(&header, &payload.to_string(), Some(alg), SECRET)
}

fn decode_part(token: &str, index: usize) -> serde_json::Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

// ---- configuration -------------------------------------------------------------

#[test]
fn algorithm_from_str_accepts_any_case() {
    assert_eq!("HS256".parse::<JwtAlgorithm>(), Ok(JwtAlgorithm::Hs256));
    assert_eq!("hs256".parse::<JwtAlgorithm>(), Ok(JwtAlgorithm::Hs256));
    assert_eq!("Hs384".parse::<JwtAlgorithm>(), Ok(JwtAlgorithm::Hs384));
    assert_eq!(" HS512 ".parse::<JwtAlgorithm>(), Ok(JwtAlgorithm::Hs512));
    for bad in ["RS256", "none", "", "HS1024", "ES256"] {
        assert_eq!(
            bad.parse::<JwtAlgorithm>(),
            Err(ConfigError::UnknownAlgorithm(bad.to_owned()))
        );
    }
    assert_eq!(JwtAlgorithm::Hs384.to_string(), "HS384");
}

#[test]
fn secret_must_be_at_least_32_bytes() {
    assert_eq!(
        Jwt::new(&SECRET[..31], JwtAlgorithm::Hs256, 30).unwrap_err(),
        ConfigError::SecretTooShort
    );
    assert_eq!(
        Jwt::new(b"", JwtAlgorithm::Hs256, 30).unwrap_err(),
        ConfigError::SecretTooShort
    );
    assert!(Jwt::new(SECRET, JwtAlgorithm::Hs256, 30).is_ok());
}

#[test]
fn expiration_minutes_must_be_positive() {
    for bad in [0, -1, i64::MIN, i64::MAX] {
        assert_eq!(
            Jwt::new(SECRET, JwtAlgorithm::Hs256, bad).unwrap_err(),
            ConfigError::BadExpiration
        );
    }
    assert!(Jwt::new(SECRET, JwtAlgorithm::Hs256, 1).is_ok());
}

#[test]
fn config_errors_display_and_are_std_errors() {
    let e: Box<dyn std::error::Error> = Box::new(ConfigError::UnknownAlgorithm("RS256".into()));
    assert!(e.to_string().contains("RS256"));
    assert!(ConfigError::SecretTooShort.to_string().contains("32"));
    assert_eq!(TokenError::Expired.to_string(), "Token has expired");
    assert_eq!(
        TokenError::Invalid.to_string(),
        "Could not validate credentials"
    );
}

#[test]
fn debug_does_not_print_the_secret() {
    let text = format!("{:?}", jwt(JwtAlgorithm::Hs256));
    assert!(!text.contains("0123456789abcdef"), "{text}");
    assert!(text.contains("Hs256"));
}

// ---- issuing --------------------------------------------------------------------

#[test]
fn issue_sets_sub_iat_exp_and_header() {
    for alg in [
        JwtAlgorithm::Hs256,
        JwtAlgorithm::Hs384,
        JwtAlgorithm::Hs512,
    ] {
        let token = jwt(alg).issue(42, NOW);
        let header = decode_part(&token, 0);
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["typ"], "JWT");
        let claims = decode_part(&token, 1);
        assert_eq!(claims["sub"], json!("42"));
        assert_eq!(claims["iat"].as_i64(), Some(NOW));
        assert_eq!(claims["exp"].as_i64(), Some(NOW + 30 * 60));
        // Revision 2: the session's start; the contract's four claims, no others.
        assert_eq!(claims["auth_time"].as_i64(), Some(NOW));
        assert_eq!(claims.as_object().unwrap().len(), 4, "{claims}");
    }
}

#[test]
fn issued_token_matches_independent_hmac() {
    // Our signature must be plain RFC 7515 HMAC so other implementations accept it.
    let token = jwt(JwtAlgorithm::Hs256).issue(7, NOW);
    let (input, sig) = token.rsplit_once('.').unwrap();
    assert_eq!(sig, b64(&hmac_sig("HS256", SECRET, input)));
}

#[test]
fn roundtrip_for_each_algorithm() {
    for alg in [
        JwtAlgorithm::Hs256,
        JwtAlgorithm::Hs384,
        JwtAlgorithm::Hs512,
    ] {
        let j = jwt(alg);
        assert_eq!(j.verify(&j.issue(42, NOW), NOW), Ok(42));
        assert_eq!(j.verify(&j.issue(i64::MAX, NOW), NOW + 1), Ok(i64::MAX));
    }
}

// ---- expiry ---------------------------------------------------------------------

#[test]
fn expiry_boundary() {
    let j = jwt(JwtAlgorithm::Hs256);
    let token = j.issue(42, NOW);
    let exp = NOW + 30 * 60;
    assert_eq!(j.verify(&token, exp - 1), Ok(42));
    assert_eq!(j.verify(&token, exp), Err(TokenError::Expired));
    assert_eq!(j.verify(&token, exp + 3600), Err(TokenError::Expired));
}

#[test]
fn forged_expired_token_is_invalid_not_expired() {
    let j = jwt(JwtAlgorithm::Hs256);
    let header = json!({"alg": "HS256", "typ": "JWT"}).to_string();
    let payload = json!({"sub": "42", "exp": NOW - 10}).to_string();
    let forged = forge_raw(
        &header,
        &payload,
        Some("HS256"),
        b"attacker-secret-attacker-secret!",
    );
    assert_eq!(j.verify(&forged, NOW), Err(TokenError::Invalid));
    // …while the genuine version of that token is Expired.
    assert_eq!(
        j.verify(&forge("HS256", json!({"sub": "42", "exp": NOW - 10})), NOW),
        Err(TokenError::Expired)
    );
}

#[test]
fn missing_exp_is_invalid() {
    let j = jwt(JwtAlgorithm::Hs256);
    let token = forge("HS256", json!({"sub": "42", "iat": NOW}));
    assert_eq!(j.verify(&token, NOW), Err(TokenError::Invalid));
}

#[test]
fn non_numeric_exp_is_invalid() {
    let j = jwt(JwtAlgorithm::Hs256);
    for exp in [json!("soon"), json!(null), json!([1]), json!(1e300)] {
        let token = forge("HS256", json!({"sub": "42", "exp": exp}));
        assert_eq!(j.verify(&token, NOW), Err(TokenError::Invalid), "{exp}");
    }
}

// ---- issued-at / not-before -----------------------------------------------------

#[test]
fn iat_more_than_60s_in_future_is_invalid() {
    let j = jwt(JwtAlgorithm::Hs256);
    let exp = NOW + 3600;
    let ok = forge("HS256", json!({"sub": "1", "iat": NOW + 60, "exp": exp}));
    assert_eq!(j.verify(&ok, NOW), Ok(1));
    let bad = forge("HS256", json!({"sub": "1", "iat": NOW + 61, "exp": exp}));
    assert_eq!(j.verify(&bad, NOW), Err(TokenError::Invalid));
    // issued by a replica whose clock is a bit ahead: fine
    assert_eq!(j.verify(&j.issue(1, NOW + 30), NOW), Ok(1));
    assert_eq!(
        j.verify(&j.issue(1, NOW + 120), NOW),
        Err(TokenError::Invalid)
    );
}

#[test]
fn nbf_more_than_60s_in_future_is_invalid() {
    let j = jwt(JwtAlgorithm::Hs256);
    let bad = forge(
        "HS256",
        json!({"sub": "1", "nbf": NOW + 600, "exp": NOW + 3600}),
    );
    assert_eq!(j.verify(&bad, NOW), Err(TokenError::Invalid));
    let ok = forge(
        "HS256",
        json!({"sub": "1", "nbf": NOW - 5, "exp": NOW + 3600}),
    );
    assert_eq!(j.verify(&ok, NOW), Ok(1));
}

#[test]
fn legacy_python_jose_token_without_iat_is_valid() {
    // python-jose `jwt.encode({"sub": "42", "exp": …}, key, algorithm="HS256")`:
    // compact JSON, keys in insertion order, header {"alg","typ"}.
    let j = jwt(JwtAlgorithm::Hs256);
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let payload = format!(r#"{{"sub":"42","exp":{}}}"#, NOW + 600);
    let token = forge_raw(header, &payload, Some("HS256"), SECRET);
    assert_eq!(j.verify(&token, NOW), Ok(42));
    assert_eq!(j.verify(&token, NOW + 600), Err(TokenError::Expired));
}

// ---- subject --------------------------------------------------------------------

#[test]
fn sub_accepts_decimal_string_and_json_integer() {
    let j = jwt(JwtAlgorithm::Hs256);
    let exp = NOW + 600;
    assert_eq!(
        j.verify(&forge("HS256", json!({"sub": "42", "exp": exp})), NOW),
        Ok(42)
    );
    assert_eq!(
        j.verify(&forge("HS256", json!({"sub": 42, "exp": exp})), NOW),
        Ok(42)
    );
    assert_eq!(
        j.verify(
            &forge("HS256", json!({"sub": "9223372036854775807", "exp": exp})),
            NOW
        ),
        Ok(i64::MAX)
    );
}

#[test]
fn missing_or_non_integer_sub_is_invalid() {
    let j = jwt(JwtAlgorithm::Hs256);
    let exp = NOW + 600;
    let bad_subs = [
        json!("abc"),
        json!(""),
        json!(" 42"),
        json!("42 "),
        json!("+42"),
        json!("4.2"),
        json!("42abc"),
        json!("9223372036854775808"),
        json!(4.2),
        json!(42.0),
        json!(18446744073709551615u64),
        json!(null),
        json!(true),
        json!(["42"]),
        json!({"id": 42}),
    ];
    for sub in bad_subs {
        let token = forge("HS256", json!({"sub": sub, "exp": exp}));
        assert_eq!(
            j.verify(&token, NOW),
            Err(TokenError::Invalid),
            "sub = {sub}"
        );
    }
    let no_sub = forge("HS256", json!({"exp": exp, "iat": NOW}));
    assert_eq!(j.verify(&no_sub, NOW), Err(TokenError::Invalid));
}

#[test]
fn expired_token_with_bad_sub_is_invalid() {
    // Both problems: the claim error wins, an unusable token is never "just expired".
    let j = jwt(JwtAlgorithm::Hs256);
    let token = forge("HS256", json!({"sub": "x", "exp": NOW - 1}));
    assert_eq!(j.verify(&token, NOW), Err(TokenError::Invalid));
}

// ---- algorithm confusion ----------------------------------------------------------

#[test]
fn alg_none_is_invalid() {
    let j = jwt(JwtAlgorithm::Hs256);
    let payload = json!({"sub": "42", "exp": NOW + 600}).to_string();
    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "typ": "JWT"}).to_string();
        assert_eq!(
            j.verify(&forge_raw(&header, &payload, None, SECRET), NOW),
            Err(TokenError::Invalid)
        );
        // even with a "signature" attached
        assert_eq!(
            j.verify(&forge_raw(&header, &payload, Some("HS256"), SECRET), NOW),
            Err(TokenError::Invalid)
        );
    }
}

#[test]
fn asymmetric_alg_headers_are_invalid() {
    // HS/RS confusion: the attacker HMACs with something they believe is our
    // "public key" and labels the token RS256/ES256. Here we even use the real
    // secret: the label alone must be enough to refuse it.
    let j = jwt(JwtAlgorithm::Hs256);
    let payload = json!({"sub": "42", "exp": NOW + 600}).to_string();
    for alg in ["RS256", "ES256", "PS256", "EdDSA"] {
        let header = json!({"alg": alg, "typ": "JWT"}).to_string();
        let token = forge_raw(&header, &payload, Some("HS256"), SECRET);
        assert_eq!(j.verify(&token, NOW), Err(TokenError::Invalid), "{alg}");
    }
}

#[test]
fn other_hs_size_is_invalid() {
    let payload = json!({"sub": "42", "exp": NOW + 600});
    for (configured, other) in [
        (JwtAlgorithm::Hs256, "HS384"),
        (JwtAlgorithm::Hs256, "HS512"),
        (JwtAlgorithm::Hs384, "HS256"),
        (JwtAlgorithm::Hs512, "HS256"),
    ] {
        let j = jwt(configured);
        assert_eq!(
            j.verify(&forge(other, payload.clone()), NOW),
            Err(TokenError::Invalid),
            "{configured} vs {other}"
        );
        assert_eq!(
            j.verify(&forge(configured.as_str(), payload.clone()), NOW),
            Ok(42)
        );
    }
    // token issued under one configuration, verified under another
    let t = jwt(JwtAlgorithm::Hs512).issue(1, NOW);
    assert_eq!(
        jwt(JwtAlgorithm::Hs256).verify(&t, NOW),
        Err(TokenError::Invalid)
    );
}

#[test]
fn alg_comparison_is_exact() {
    // "hs256" in the header is not "HS256": RFC 7515 names are case-sensitive.
    let j = jwt(JwtAlgorithm::Hs256);
    let header = json!({"alg": "hs256", "typ": "JWT"}).to_string();
    let payload = json!({"sub": "42", "exp": NOW + 600}).to_string();
    let token = forge_raw(&header, &payload, Some("HS256"), SECRET);
    assert_eq!(j.verify(&token, NOW), Err(TokenError::Invalid));
}

// ---- integrity and structure ------------------------------------------------------

#[test]
fn bad_signature_is_invalid() {
    let j = jwt(JwtAlgorithm::Hs256);
    let other = Jwt::new(b"another-secret-another-secret-!!", JwtAlgorithm::Hs256, 30).unwrap();
    assert_eq!(
        j.verify(&other.issue(42, NOW), NOW),
        Err(TokenError::Invalid)
    );

    let token = j.issue(42, NOW);
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut sig_bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    sig_bytes[0] ^= 1;
    let flipped = format!("{input}.{}", b64(&sig_bytes));
    assert_eq!(j.verify(&flipped, NOW), Err(TokenError::Invalid));
    // truncated signature
    let truncated = format!("{input}.{}", b64(&sig_bytes[..16]));
    assert_eq!(j.verify(&truncated, NOW), Err(TokenError::Invalid));
    // no signature
    assert_eq!(
        j.verify(&format!("{input}."), NOW),
        Err(TokenError::Invalid)
    );
}

#[test]
fn tampered_payload_is_invalid() {
    let j = jwt(JwtAlgorithm::Hs256);
    let token = j.issue(42, NOW);
    let parts: Vec<&str> = token.split('.').collect();
    let evil = json!({"sub": "1", "iat": NOW, "exp": NOW + 1800}).to_string();
    let tampered = format!("{}.{}.{}", parts[0], b64(evil.as_bytes()), parts[2]);
    assert_eq!(j.verify(&tampered, NOW), Err(TokenError::Invalid));
    // extend expiry
    let later = json!({"sub": "42", "iat": NOW, "exp": NOW + 999_999}).to_string();
    let tampered = format!("{}.{}.{}", parts[0], b64(later.as_bytes()), parts[2]);
    assert_eq!(j.verify(&tampered, NOW), Err(TokenError::Invalid));
}

#[test]
fn malformed_tokens_are_invalid() {
    let j = jwt(JwtAlgorithm::Hs256);
    let good = j.issue(42, NOW);
    let parts: Vec<&str> = good.split('.').collect();
    let cases = vec![
        String::new(),
        "garbage".to_owned(),
        "a.b".to_owned(),
        "a.b.c".to_owned(),
        "...".to_owned(),
        format!("{good}.extra"),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], "%%%%", parts[2]),
        format!("Bearer {good}"),
        format!(" {good}"),
        forge_raw("not json", r#"{"sub":"42"}"#, Some("HS256"), SECRET),
        forge_raw(r#"{"alg":"HS256"}"#, "not json", Some("HS256"), SECRET),
        forge_raw(r#"{"alg":"HS256"}"#, r#"["sub"]"#, Some("HS256"), SECRET),
        forge_raw(r#"{"typ":"JWT"}"#, r#"{"sub":"42"}"#, Some("HS256"), SECRET),
        forge_raw(
            r#"{"alg":"HS256","cty":"CBOR"}"#,
            r#"{"sub":"42"}"#,
            Some("HS256"),
            SECRET,
        ),
    ];
    for token in cases {
        assert_eq!(j.verify(&token, NOW), Err(TokenError::Invalid), "{token:?}");
    }
}

#[test]
fn oversized_token_is_invalid() {
    let j = jwt(JwtAlgorithm::Hs256);
    // Correctly signed and otherwise valid, just too big: the size cap wins.
    let padding = "x".repeat(MAX_TOKEN_LEN);
    let big = forge(
        "HS256",
        json!({"sub": "42", "exp": NOW + 600, "pad": padding}),
    );
    assert!(big.len() > MAX_TOKEN_LEN);
    assert_eq!(j.verify(&big, NOW), Err(TokenError::Invalid));
    // Extra claims themselves are fine while under the cap.
    let small = forge("HS256", json!({"sub": "42", "exp": NOW + 600, "pad": "x"}));
    assert_eq!(j.verify(&small, NOW), Ok(42));
}

#[test]
fn sessions_keep_auth_time() {
    let j = jwt(JwtAlgorithm::Hs256);
    let token = j.issue_session(7, NOW, NOW - 3600);
    let verified = j.verify_session(&token, NOW).unwrap();
    assert_eq!(verified.user_id, 7);
    assert_eq!(verified.issued_at, NOW);
    assert_eq!(verified.auth_time, NOW - 3600);
    // Tokens without auth_time (the old service's): from iat, or from exp minus the
    // lifetime.
    let old = forge(
        "HS256",
        json!({"sub": "7", "iat": NOW - 60, "exp": NOW + 600}),
    );
    let verified = j.verify_session(&old, NOW).unwrap();
    assert_eq!(
        (verified.issued_at, verified.auth_time),
        (NOW - 60, NOW - 60)
    );
    let oldest = forge("HS256", json!({"sub": "7", "exp": NOW + 600}));
    let verified = j.verify_session(&oldest, NOW).unwrap();
    assert_eq!(verified.auth_time, NOW + 600 - 30 * 60);
    // A session cannot begin after its token was issued, nor be anything but seconds.
    for claims in [
        json!({"sub": "7", "iat": NOW, "exp": NOW + 600, "auth_time": NOW + 10}),
        json!({"sub": "7", "iat": NOW, "exp": NOW + 600, "auth_time": "yesterday"}),
    ] {
        assert_eq!(
            j.verify_session(&forge("HS256", claims), NOW),
            Err(TokenError::Invalid)
        );
    }
}
