//! The named parameters of a cPanel-compatible call (UAPI, WHM) or a native query string:
//! `application/x-www-form-urlencoded` text, decoded strictly. A broken `%` escape, bytes that are not UTF-8, a
//! parameter given twice or a list index given twice is refused with its own error instead of being guessed at.

/// Why parameters were refused. The messages are what the APIs answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("A parameter is not correctly URL-encoded UTF-8.")]
    NotEncoded,
    #[error("The parameter “{0}” was given more than once.")]
    Repeated(String),
    #[error("The parameter “{0}” is required.")]
    Required(String),
    #[error(
        "The parameter “{0}” is a secret: send it in a POST body (application/x-www-form-urlencoded), not in the \
         URL, where proxies and logs keep it."
    )]
    SecretInUrl(String),
    #[error("“{0}” is not a valid parameter name.")]
    BadIndex(String),
    #[error("An index of “{0}-N” was given more than once.")]
    RepeatedIndex(String),
}

/// Decoded parameters: those of the query string first, then those of a form body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormParams {
    pairs: Vec<(String, String)>,
    /// How many of `pairs` (the first ones) came from the query string.
    from_query: usize,
}

impl FormParams {
    /// The parameters of `query` and, for a POST with a form body, of `body`.
    pub fn parse(query: &str, body: Option<&str>) -> Result<Self, FormError> {
        let mut pairs = decode(query)?;
        let from_query = pairs.len();
        if let Some(body) = body {
            pairs.extend(decode(body)?);
        }
        Ok(Self { pairs, from_query })
    }

    /// Every parameter as decoded, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The value of `name`, if given; an error when it is given more than once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, FormError> {
        let mut values = self.pairs.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str());
        match (values.next(), values.next()) {
            (first, None) => Ok(first),
            _ => Err(FormError::Repeated(name.to_owned())),
        }
    }

    /// The value of `name`; an error when it is missing, empty or repeated.
    pub fn require(&self, name: &str) -> Result<&str, FormError> {
        match self.get(name)? {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(FormError::Required(name.to_owned())),
        }
    }

    /// A secret parameter (a password, a token): required, and only from a POST body. URLs end up in proxy
    /// and server logs and in browser history, so a secret in the query string is refused, not used.
    pub fn secret(&self, name: &str) -> Result<&str, FormError> {
        if self.pairs[..self.from_query].iter().any(|(key, _)| key == name) {
            return Err(FormError::SecretInUrl(name.to_owned()));
        }
        self.require(name)
    }

    /// A list parameter in WHM's style: `name` itself and `name-0`, `name-1`, … in index order. Empty values are
    /// skipped; an index given twice is an error.
    pub fn list(&self, name: &str) -> Result<Vec<String>, FormError> {
        let mut indexed: Vec<(u32, &str)> = Vec::new();
        for (key, value) in &self.pairs {
            let Some(index) = key.strip_prefix(name).and_then(|rest| rest.strip_prefix('-')) else { continue };
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FormError::BadIndex(key.clone()));
            }
            let index: u32 = index.parse().map_err(|_| FormError::BadIndex(key.clone()))?;
            indexed.push((index, value));
        }
        indexed.sort_by_key(|(index, _)| *index);
        if indexed.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err(FormError::RepeatedIndex(name.to_owned()));
        }
        let mut values: Vec<String> = self.get(name)?.into_iter().map(str::to_owned).collect();
        values.extend(indexed.into_iter().map(|(_, value)| value.to_owned()));
        values.retain(|value| !value.trim().is_empty());
        Ok(values)
    }
}

/// Decodes `application/x-www-form-urlencoded` (also the query string), refusing what does not decode cleanly
/// instead of guessing: a broken `%` escape or bytes that are not UTF-8. Empty pairs (`a=1&&b=2`) are skipped.
pub fn decode(input: &str) -> Result<Vec<(String, String)>, FormError> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((unescape(key)?, unescape(value)?))
        })
        .collect()
}

/// Encodes `pairs` as a form, so that [`decode`] gives them back.
pub fn encode(pairs: &[(String, String)]) -> String {
    let escape = |text: &str| {
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(char::from(byte)),
                b' ' => out.push('+'),
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
        out
    };
    pairs.iter().map(|(key, value)| format!("{}={}", escape(key), escape(value))).collect::<Vec<_>>().join("&")
}

fn unescape(raw: &str) -> Result<String, FormError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let digit =
                    |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16)).ok_or(FormError::NotEncoded);
                let (high, low) = (digit(i + 1)?, digit(i + 2)?);
                out.push(u8::try_from(high * 16 + low).map_err(|_| FormError::NotEncoded)?);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::NotEncoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> FormParams {
        FormParams::parse(query, None).unwrap()
    }

    #[test]
    fn secrets_are_refused_from_the_query_string() {
        let p = params("password=hunter22&user=a");
        assert!(p.secret("password").unwrap_err().to_string().contains("POST body"));
        let from_body = FormParams::parse("user=a", Some("password=hunter22")).unwrap();
        assert_eq!(from_body.secret("password").unwrap(), "hunter22");
    }

    #[test]
    fn decodes_forms_strictly() {
        assert_eq!(
            decode("a=1+2&b=%C3%A9&c").unwrap(),
            [("a".into(), "1 2".into()), ("b".into(), "é".into()), ("c".into(), String::new())]
        );
        for bad in ["a=%zz", "a=%4", "a=%ff", "a=%", "%C3"] {
            assert_eq!(decode(bad), Err(FormError::NotEncoded), "{bad}");
        }
    }

    /// `u8::from_str_radix` takes a sign, so the first decoder read `%+1` as byte 1: only two hex digits are an
    /// escape.
    #[test]
    fn an_escape_is_exactly_two_hex_digits() {
        for bad in ["a=%+1", "a=%-1", "a=%+F", "a=% 1"] {
            assert_eq!(decode(bad), Err(FormError::NotEncoded), "{bad}");
        }
        assert_eq!(decode("a=%4a%4A").unwrap(), [("a".into(), "JJ".into())]);
    }

    #[test]
    fn what_is_encoded_decodes_to_the_same_pairs() {
        let pairs: Vec<(String, String)> = vec![
            ("token_name".into(), "ci deploy & co=1".into()),
            ("acl-0".into(), "é+%".into()),
            ("".into(), "x".into()),
            ("k".into(), "".into()),
            ("".into(), "".into()),
        ];
        assert_eq!(decode(&encode(&pairs)).unwrap(), pairs);
    }

    #[test]
    fn repeated_and_missing_parameters_are_errors() {
        let p = params("name=a&name=b&x=");
        assert_eq!(p.get("name"), Err(FormError::Repeated("name".into())));
        assert!(p.require("x").is_err());
        assert!(p.require("y").is_err());
    }

    #[test]
    fn lists_in_whm_style_keep_index_order() {
        let p = params("acl-1=b&acl-0=a&acl-10=c&acl=z");
        assert_eq!(p.list("acl").unwrap(), ["z", "a", "b", "c"]);
        assert!(params("acl-0=a&acl-0=b").list("acl").is_err());
        assert!(params("acl-x=a").list("acl").is_err());
        assert!(params("acl-+1=a").list("acl").is_err(), "an index is digits only");
        assert!(params("aclx=a").list("acl").unwrap().is_empty());
    }
}
