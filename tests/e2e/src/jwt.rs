//! JSON Web Tokens by hand: forging them (any header, claims, algorithm or none), decoding
//! them, and checking their signature with the test secret.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use crate::JWT_SECRET;

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Signs `header.payload` with HMAC-SHA256/384/512.
pub fn hmac_sign(alg: &str, secret: &[u8], data: &[u8]) -> Vec<u8> {
    macro_rules! mac {
        ($h:ty) => {{
            let mut m = Hmac::<$h>::new_from_slice(secret).expect("hmac key");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }};
    }
    match alg {
        "HS256" => mac!(sha2::Sha256),
        "HS384" => mac!(sha2::Sha384),
        "HS512" => mac!(sha2::Sha512),
        other => panic!("hmac_sign: unsupported {other}"),
    }
}

/// Builds a JWT by hand. `alg` is `HS256`/`HS384`/`HS512` (signed with `secret`) or
/// `none` (empty signature).
pub fn forge_token(claims: &Value, alg: &str, secret: &[u8]) -> String {
    forge_token_with_header(&json!({"alg": alg, "typ": "JWT"}), claims, alg, secret)
}

/// Like [`forge_token`] with a header of your own; `sign_alg` picks the signature
/// (`none` = empty).
pub fn forge_token_with_header(
    header: &Value,
    claims: &Value,
    sign_alg: &str,
    secret: &[u8],
) -> String {
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = if sign_alg.eq_ignore_ascii_case("none") {
        String::new()
    } else {
        b64(&hmac_sign(sign_alg, secret, signing_input.as_bytes()))
    };
    format!("{signing_input}.{sig}")
}

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A valid HS256 token for `user_id` (sub, iat, exp now + 30 min) with the test secret.
pub fn token_for(user_id: i64) -> String {
    let now = now_secs();
    forge_token(
        &json!({"sub": user_id.to_string(), "iat": now, "exp": now + 1800}),
        "HS256",
        JWT_SECRET.as_bytes(),
    )
}

/// Decodes a JWT's header and claims (no verification).
#[track_caller]
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    let dec = |s: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .unwrap_or_else(|e| panic!("JWT part {s:?}: {e}"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWT part {s:?}: {e}"))
    };
    (dec(parts[0]), dec(parts[1]))
}

/// Verifies a JWT's HMAC signature with the test secret.
pub fn jwt_signature_ok(token: &str, alg: &str) -> bool {
    let Some((input, sig)) = token.rsplit_once('.') else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(sig)
        .is_ok_and(|s| s == hmac_sign(alg, JWT_SECRET.as_bytes(), input.as_bytes()))
}
