//! The browser's half of passkeys: hands the server's options to `navigator.credentials.create()` or `.get()`
//! and sends the authenticator's answer back as JSON, binary values base64url-encoded (what `webauthn-rs`
//! reads). Reached by reflection, so no JavaScript file of our own is needed (the CSP allows none inline).

/// Asks the browser to make a passkey for the options (JSON from the server); answers the registration (JSON),
/// or what the browser said when it did not (the person cancelled, no authenticator, …).
pub async fn create(options: &str) -> Result<String, String> {
    imp::ceremony(options, true).await
}

/// Asks the browser to sign the options' challenge with one of the passkeys they allow; answers the assertion.
pub async fn get(options: &str) -> Result<String, String> {
    imp::ceremony(options, false).await
}

#[cfg(feature = "hydrate")]
mod imp {
    use js_sys::{Array, Function, JSON, Object, Promise, Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    /// What a refusal said (a `DOMException`'s message), for the person.
    fn said(value: JsValue) -> String {
        let field = |name: &str| Reflect::get(&value, &JsValue::from_str(name)).ok().and_then(|v| v.as_string());
        match (field("name").as_deref(), field("message")) {
            (Some("NotAllowedError"), _) => "The passkey was not used (cancelled, or it took too long).".to_owned(),
            (Some("InvalidStateError"), _) => "This passkey is already registered.".to_owned(),
            (_, Some(message)) => message,
            _ => "The browser refused.".to_owned(),
        }
    }

    fn get(target: &JsValue, key: &str) -> Result<JsValue, String> {
        Reflect::get(target, &JsValue::from_str(key)).map_err(said)
    }

    fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), String> {
        Reflect::set(target, &JsValue::from_str(key), value).map(drop).map_err(said)
    }

    /// Replaces the base64url text at `target[key]` with its bytes.
    fn to_bytes(target: &JsValue, key: &str) -> Result<(), String> {
        let text = get(target, key)?.as_string().ok_or_else(|| format!("the options' {key} is not text"))?;
        let bytes = super::base64url::decode(&text).ok_or_else(|| format!("the options' {key} is not base64url"))?;
        set(target, key, &Uint8Array::from(bytes.as_slice()).into())
    }

    /// The bytes of the buffer at `source[key]`, base64url-encoded, set as `target[key]`.
    fn copy_bytes(source: &JsValue, target: &JsValue, key: &str) -> Result<(), String> {
        let buffer = get(source, key)?;
        if buffer.is_null() || buffer.is_undefined() {
            return Ok(());
        }
        let text = super::base64url::encode(&Uint8Array::new(&buffer).to_vec());
        set(target, key, &JsValue::from_str(&text))
    }

    pub async fn ceremony(options: &str, create: bool) -> Result<String, String> {
        let parsed = JSON::parse(options).map_err(said)?;
        let public_key = get(&parsed, "publicKey")?;
        to_bytes(&public_key, "challenge")?;
        let listed = if create { "excludeCredentials" } else { "allowCredentials" };
        if let Ok(credentials) = get(&public_key, listed)?.dyn_into::<Array>() {
            for credential in credentials.iter() {
                to_bytes(&credential, "id")?;
            }
        }
        if create {
            to_bytes(&get(&public_key, "user")?, "id")?;
        }
        let request = Object::new();
        set(&request, "publicKey", &public_key)?;

        let window = web_sys::window().ok_or("no window")?;
        let container = get(&window.navigator().into(), "credentials")?;
        let method = get(&container, if create { "create" } else { "get" })?
            .dyn_into::<Function>()
            .map_err(|_| "This browser cannot use passkeys.".to_owned())?;
        let promise = method
            .call1(&container, &request)
            .map_err(said)?
            .dyn_into::<Promise>()
            .map_err(|_| "This browser cannot use passkeys.".to_owned())?;
        let credential = JsFuture::from(promise).await.map_err(said)?;

        let answer = Object::new();
        set(&answer, "id", &get(&credential, "id")?)?;
        set(&answer, "type", &get(&credential, "type")?)?;
        copy_bytes(&credential, &answer, "rawId")?;
        let response = get(&credential, "response")?;
        let fields = Object::new();
        let binary: &[&str] = if create {
            &["attestationObject", "clientDataJSON"]
        } else {
            &["authenticatorData", "clientDataJSON", "signature", "userHandle"]
        };
        for key in binary {
            copy_bytes(&response, &fields, key)?;
        }
        set(&answer, "response", &fields)?;
        JSON::stringify(&answer).map(String::from).map_err(said)
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    /// Ceremonies run in the browser only (after hydration); the server never calls this.
    pub async fn ceremony(_options: &str, _create: bool) -> Result<String, String> {
        Err("Passkeys need the page to have loaded fully.".to_owned())
    }
}

/// Base64url without padding (RFC 4648 §5), as WebAuthn's JSON uses.
mod base64url {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    #[cfg_attr(not(any(feature = "hydrate", test)), allow(dead_code))]
    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    #[cfg_attr(not(any(feature = "hydrate", test)), allow(dead_code))]
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let text = text.trim_end_matches('=');
        let values = text
            .bytes()
            .map(|c| ALPHABET.iter().position(|&a| a == c).map(|v| v as u32))
            .collect::<Option<Vec<_>>>()?;
        if values.len() % 4 == 1 {
            return None;
        }
        let mut out = Vec::with_capacity(values.len() * 3 / 4);
        for chunk in values.chunks(4) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, v)| n | (v << (18 - 6 * i)));
            for i in 0..chunk.len() - 1 {
                out.push((n >> (16 - 8 * i)) as u8);
            }
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn round_trips_and_matches_rfc_4648_vectors() {
            for (raw, encoded) in [
                ("", ""),
                ("f", "Zg"),
                ("fo", "Zm8"),
                ("foo", "Zm9v"),
                ("foob", "Zm9vYg"),
                ("fooba", "Zm9vYmE"),
                ("foobar", "Zm9vYmFy"),
            ] {
                assert_eq!(encode(raw.as_bytes()), encoded);
                assert_eq!(decode(encoded).unwrap(), raw.as_bytes());
            }
            let all: Vec<u8> = (0..=255).collect();
            assert_eq!(decode(&encode(&all)).unwrap(), all);
            assert_eq!(encode(&[0xfb, 0xff]), "-_8");
            assert!(decode("a").is_none());
            assert!(decode("ab+c").is_none());
        }
    }
}
