//! Passkeys and security keys (WebAuthn, issue 19), through `webauthn-rs`: a person registers one or more on the
//! Account page, each with a name, and signs in with one after the password instead of a code. A ceremony's
//! state (its challenge) stays on the server, in `passkey_ceremonies`, and is taken once, so an answer cannot be
//! replayed and any instance on a shared database can finish what another started.
//!
//! The relying party is the host people reach Tessera at (`--public-url`, else the request's host): WebAuthn
//! needs a host name, over HTTPS or on `localhost`.

use super::{Actor, Core, random::base62, random::sha256_hex, second_factor};
use crate::{
    error::{AppError, OnConstraint},
    store::{
        self,
        accounts::Account,
        audit::{self, NewEvent},
        passkeys::{self, Ceremony, StoredPasskey},
        second_factors,
    },
};
use chrono::Duration;
use serde_json::Value;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid,
    Webauthn, WebauthnBuilder,
};

/// How long the browser has to answer a challenge.
pub const CEREMONY_LIFETIME: Duration = Duration::minutes(5);
/// Passkeys one account may hold.
pub const MAX_PASSKEYS: usize = 10;
/// The longest name a passkey may have, in characters.
pub const NAME_MAX_LEN: usize = 50;

const REGISTER: &str = "register";
const SIGN_IN: &str = "sign-in";

/// The site passkeys are bound to: its host (the WebAuthn relying party id) and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub origin: String,
}

impl RelyingParty {
    fn webauthn(&self) -> Result<Webauthn, AppError> {
        let unusable = || {
            AppError::BadRequest(
                "Passkeys need Tessera to be reached by a host name (not an IP address), over HTTPS or on localhost."
                    .into(),
            )
        };
        let origin = Url::parse(&self.origin).map_err(|_| unusable())?;
        WebauthnBuilder::new(&self.id, &origin).and_then(|builder| builder.rp_name("Tessera").build()).map_err(|err| {
            tracing::info!(error = %err, rp = %self.id, origin = %self.origin, "passkeys: no usable relying party");
            unusable()
        })
    }
}

/// A challenge for the browser: the handle that names the ceremony, and the options for
/// `navigator.credentials.create()` or `.get()` as JSON (binary values base64url-encoded, no nulls).
pub struct Challenge {
    pub handle: String,
    pub options: String,
}

/// The account's passkeys, oldest first.
pub async fn list(state: &Core, account: &Account) -> Result<Vec<StoredPasskey>, AppError> {
    Ok(passkeys::list(&state.db, account.id).await?)
}

/// Whether the account has at least one passkey.
pub async fn any(state: &Core, account_id: i64) -> Result<bool, AppError> {
    Ok(passkeys::count(&state.db, account_id).await? > 0)
}

/// Starts registering a passkey called `name` for the signed-in person.
pub async fn start_registration(
    state: &Core,
    actor: &Actor,
    relying_party: &RelyingParty,
    name: &str,
) -> Result<Challenge, AppError> {
    let account = second_factor::person(actor)?;
    let name = check_name(name)?;
    let existing = passkeys::list(&state.db, account.id).await?;
    if existing.len() >= MAX_PASSKEYS {
        return Err(AppError::invalid(
            "name",
            format!("An account has at most {MAX_PASSKEYS} passkeys: remove one first."),
        ));
    }
    if existing.iter().any(|passkey| passkey.name.to_lowercase() == name.to_lowercase()) {
        return Err(AppError::conflict("name", format!("You already have a passkey named “{name}”.")));
    }
    // The authenticator refuses to make a second credential for a key it already holds.
    let exclude = existing.iter().filter_map(|stored| decode(stored).ok()).map(|key| key.cred_id().clone()).collect();
    let (options, registration) = relying_party
        .webauthn()?
        .start_passkey_registration(user_handle(account), &account.username, &account.username, Some(exclude))
        .map_err(internal("start a registration"))?;
    let state_json = serde_json::to_string(&registration).map_err(internal("keep a registration"))?;
    let handle = begin(state, account.id, REGISTER, Some(name), state_json).await?;
    Ok(Challenge { handle, options: options_json(&options)? })
}

/// Finishes a registration with the browser's answer (`credential`, JSON). Answers the new recovery codes when
/// this is the account's first second factor (shown once), else `None`.
pub async fn finish_registration(
    state: &Core,
    actor: &Actor,
    relying_party: &RelyingParty,
    handle: &str,
    credential: &str,
) -> Result<Option<Vec<String>>, AppError> {
    let account = second_factor::person(actor)?;
    let ceremony = take(state, handle, account.id, REGISTER).await?;
    let answer: RegisterPublicKeyCredential = serde_json::from_str(credential)
        .map_err(|_| AppError::invalid("passkey", "The browser's answer is not a passkey registration."))?;
    let registration: PasskeyRegistration =
        serde_json::from_str(&ceremony.state).map_err(internal("read a registration"))?;
    let passkey = relying_party.webauthn()?.finish_passkey_registration(&answer, &registration).map_err(|err| {
        tracing::info!(error = %err, account = %account.username, "passkeys: a registration failed its checks");
        AppError::invalid("passkey", "The passkey's answer did not pass the checks, so it was not added. Try again.")
    })?;
    let name = ceremony.name.unwrap_or_else(|| "Passkey".to_owned());
    let credential_id = credential_id(&passkey);
    let stored = serde_json::to_string(&passkey).map_err(internal("store a passkey"))?;
    let first = !second_factor::required(state, account).await?;
    let (codes, hashes) = if first { second_factor::new_recovery_codes() } else { (Vec::new(), Vec::new()) };
    let now = state.clock.now();
    let target = format!("passkey {name}");
    let event = NewEvent::by("account.second_factor.enrol", account).target(target.as_str()).from_ip(actor.client_ip());
    let txn = store::begin_write(&state.db).await?;
    let done: Result<(), AppError> = async {
        passkeys::insert(&txn, account.id, &name, credential_id, stored, now)
            .await
            .on_unique_violation(|| AppError::conflict("passkey", "This passkey is already registered."))?;
        if first {
            second_factors::replace_recovery_codes(&txn, account.id, hashes, now).await?;
        }
        audit::record(&txn, event, now).await?;
        Ok(())
    }
    .await;
    store::finish(txn, done).await?;
    tracing::info!(account = %account.username, "passkey added");
    Ok(first.then_some(codes))
}

/// Removes the signed-in person's passkey `id`, after the password. With no second factor left, the recovery
/// codes go too.
pub async fn remove(state: &Core, actor: &Actor, id: i64, password: super::password::Password) -> Result<(), AppError> {
    let account = second_factor::person(actor)?;
    second_factor::confirm_password(state, account, password).await?;
    let now = state.clock.now();
    let txn = store::begin_write(&state.db).await?;
    let done: Result<(), AppError> = async {
        let Some(name) = passkeys::delete(&txn, account.id, id).await? else {
            return Err(AppError::NotFound);
        };
        let totp = second_factors::totp(&txn, account.id).await?.is_some_and(|factor| factor.confirmed_at.is_some());
        if !totp && passkeys::count(&txn, account.id).await? == 0 {
            second_factors::remove_all(&txn, account.id).await?;
        }
        let target = format!("passkey {name}");
        let event =
            NewEvent::by("account.second_factor.remove", account).target(target.as_str()).from_ip(actor.client_ip());
        audit::record(&txn, event, now).await?;
        Ok(())
    }
    .await;
    store::finish(txn, done).await
}

/// Starts a sign-in's second step with one of the account's passkeys.
pub async fn start_sign_in(
    state: &Core,
    account: &Account,
    relying_party: &RelyingParty,
) -> Result<Challenge, AppError> {
    let keys = passkeys::list(&state.db, account.id)
        .await?
        .iter()
        .filter_map(|stored| decode(stored).ok())
        .collect::<Vec<_>>();
    if keys.is_empty() {
        return Err(AppError::invalid("passkey", "This account has no passkey: enter a code instead."));
    }
    let (options, authentication) =
        relying_party.webauthn()?.start_passkey_authentication(&keys).map_err(internal("start a sign-in"))?;
    let state_json = serde_json::to_string(&authentication).map_err(internal("keep a sign-in"))?;
    let handle = begin(state, account.id, SIGN_IN, None, state_json).await?;
    Ok(Challenge { handle, options: options_json(&options)? })
}

/// Checks the browser's answer to a sign-in challenge: `Ok(true)` when one of the account's passkeys signed it
/// (its counter is kept), `Ok(false)` when it did not pass (counts as a failed sign-in for the caller).
pub async fn check_sign_in(
    state: &Core,
    account: &Account,
    relying_party: &RelyingParty,
    handle: &str,
    credential: &str,
) -> Result<bool, AppError> {
    let ceremony = take(state, handle, account.id, SIGN_IN).await?;
    let answer: PublicKeyCredential = serde_json::from_str(credential)
        .map_err(|_| AppError::invalid("passkey", "The browser's answer is not a passkey sign-in."))?;
    let authentication: PasskeyAuthentication =
        serde_json::from_str(&ceremony.state).map_err(internal("read a sign-in"))?;
    let result = match relying_party.webauthn()?.finish_passkey_authentication(&answer, &authentication) {
        Ok(result) => result,
        Err(err) => {
            tracing::info!(error = %err, account = %account.username, "passkeys: a sign-in failed its checks");
            return Ok(false);
        }
    };
    let now = state.clock.now();
    for stored in passkeys::list(&state.db, account.id).await? {
        let Ok(mut key) = decode(&stored) else { continue };
        if key.cred_id() != result.cred_id() {
            continue;
        }
        key.update_credential(&result);
        let updated = serde_json::to_string(&key).map_err(internal("store a passkey"))?;
        passkeys::record_use(&state.db, stored.id, updated, now).await?;
        return Ok(true);
    }
    Ok(false)
}

/// A passkey's name, trimmed: 1 to 50 printable characters.
fn check_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Give the passkey a name, like “Work laptop” or “YubiKey”."));
    }
    if name.chars().count() > NAME_MAX_LEN {
        return Err(AppError::invalid("name", format!("A passkey's name has at most {NAME_MAX_LEN} characters.")));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "A passkey's name cannot hold control characters."));
    }
    Ok(name.to_owned())
}

/// Remembers a ceremony; answers the handle the browser will name it by.
async fn begin(
    state: &Core,
    account_id: i64,
    kind: &str,
    name: Option<String>,
    state_json: String,
) -> Result<String, AppError> {
    let handle = base62(43);
    let ceremony = Ceremony {
        id: sha256_hex(&handle),
        account_id,
        kind: kind.to_owned(),
        name,
        state: state_json,
        expires_at: state.clock.now() + CEREMONY_LIFETIME,
    };
    passkeys::insert_ceremony(&state.db, ceremony).await?;
    Ok(handle)
}

/// Takes the ceremony `handle` names, if it is this account's, of this kind, and still alive.
async fn take(state: &Core, handle: &str, account_id: i64, kind: &str) -> Result<Ceremony, AppError> {
    let taken = passkeys::take_ceremony(&state.db, &sha256_hex(handle)).await?;
    match taken {
        Some(ceremony)
            if ceremony.account_id == account_id
                && ceremony.kind == kind
                && state.clock.now() < ceremony.expires_at =>
        {
            Ok(ceremony)
        }
        _ => Err(AppError::invalid("passkey", "That took too long or was already used: try the passkey again.")),
    }
}

/// The WebAuthn user handle of an account: stable, and not its name (authenticators may show or sync it).
fn user_handle(account: &Account) -> Uuid {
    let digest = super::random::sha256(&format!("tessera account {}", account.id));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn decode(stored: &StoredPasskey) -> Result<Passkey, AppError> {
    serde_json::from_str(&stored.credential).map_err(internal("read a stored passkey"))
}

/// The credential id, base64url, as stored (unique across accounts).
fn credential_id(passkey: &Passkey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(AsRef::<[u8]>::as_ref(passkey.cred_id()))
}

/// The options as JSON without `null` members: a browser reads a `null` as a value, not as absent.
fn options_json(options: &impl serde::Serialize) -> Result<String, AppError> {
    fn without_nulls(value: Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect(),
            ),
            Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
            other => other,
        }
    }
    let value = serde_json::to_value(options).map_err(internal("write the options"))?;
    serde_json::to_string(&without_nulls(value)).map_err(internal("write the options"))
}

fn internal<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> AppError {
    move |err| {
        tracing::error!(error = %err, "passkeys: could not {what}");
        AppError::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Work laptop ").unwrap(), "Work laptop");
        assert!(check_name("   ").is_err());
        assert!(check_name(&"x".repeat(NAME_MAX_LEN + 1)).is_err());
        assert!(check_name(&"é".repeat(NAME_MAX_LEN)).is_ok());
        assert!(check_name("a\u{0}b").is_err());
    }

    #[test]
    fn options_lose_their_nulls_at_any_depth() {
        let json = options_json(&serde_json::json!({"a": null, "b": {"c": null, "d": 1}, "e": [{"f": null}]})).unwrap();
        assert_eq!(json, r#"{"b":{"d":1},"e":[{}]}"#);
    }

    #[test]
    fn an_ip_address_or_a_foreign_origin_is_no_relying_party() {
        let rp = |id: &str, origin: &str| RelyingParty { id: id.into(), origin: origin.into() }.webauthn().is_ok();
        assert!(rp("localhost", "http://localhost:3000"));
        assert!(rp("tessera.example.com", "https://tessera.example.com"));
        assert!(!rp("127.0.0.1", "http://127.0.0.1:3000"));
        assert!(!rp("example.com", "https://evil.example.net"));
    }
}
