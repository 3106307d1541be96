//! The signed-in person's second factors (issue 19): an authenticator app, enrolled with a QR code and confirmed
//! by one code, and recovery codes, shown once.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the account page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorView {
    /// An authenticator app is set up.
    pub totp: bool,
    pub recovery_codes_left: u64,
    /// Passkeys and security keys, oldest first.
    #[serde(default)]
    pub passkeys: Vec<PasskeyView>,
}

/// A registered passkey or security key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    pub added: chrono::DateTime<chrono::Utc>,
    pub last_used: Option<chrono::DateTime<chrono::Utc>>,
}

/// A WebAuthn challenge for the browser: the handle of the ceremony, and the options (JSON) for
/// `navigator.credentials.create()` or `.get()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyChallenge {
    pub handle: String,
    pub options: String,
}

/// An authenticator app being set up: the QR code (an SVG drawn by the server) and the same secret as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
}

#[server(prefix = "/rpc", endpoint = "second_factor_status")]
pub async fn load_second_factors() -> Result<SecondFactorView, AppError> {
    super::context::guarded("load_second_factors", async move {
        let (state, actor) = super::context::acting_enrolling().await?;
        let status = crate::services::second_factor::status(&state, &actor).await?;
        let account = crate::services::second_factor::person(&actor)?;
        let passkeys = crate::services::passkeys::list(&state, account)
            .await?
            .into_iter()
            .map(|key| PasskeyView { id: key.id, name: key.name, added: key.created_at, last_used: key.last_used_at })
            .collect();
        Ok(SecondFactorView { totp: status.totp, recovery_codes_left: status.recovery_codes_left, passkeys })
    })
    .await
}

/// Starts setting up an authenticator app: a new secret, not active until [`confirm_totp`].
#[server(prefix = "/rpc", endpoint = "start_totp")]
pub async fn start_totp() -> Result<TotpSetup, AppError> {
    let (state, actor) = super::context::acting_enrolling().await?;
    let enrolment = crate::services::second_factor::start_totp(&state, &actor).await?;
    let qr_svg = qr_svg(&enrolment.uri)?;
    Ok(TotpSetup { secret: enrolment.secret, uri: enrolment.uri, qr_svg })
}

/// Activates the authenticator app with a code it shows; answers the ten recovery codes (shown once).
#[server(prefix = "/rpc", endpoint = "confirm_totp")]
pub async fn confirm_totp(code: String) -> Result<Vec<String>, AppError> {
    let (state, actor) = super::context::acting_enrolling().await?;
    crate::services::second_factor::confirm_totp(&state, &actor, &code).await
}

/// Removes the authenticator app and the recovery codes (the password is asked again).
#[server(prefix = "/rpc", endpoint = "remove_totp")]
pub async fn remove_totp(password: String) -> Result<(), AppError> {
    use crate::services::password::Password;
    let (state, actor) = super::context::acting().await?;
    crate::services::second_factor::remove(&state, &actor, Password::new(password)).await
}

/// Replaces the recovery codes with ten new ones (the password is asked again); the old ones stop working.
#[server(prefix = "/rpc", endpoint = "regenerate_recovery_codes")]
pub async fn regenerate_recovery_codes(password: String) -> Result<Vec<String>, AppError> {
    use crate::services::password::Password;
    let (state, actor) = super::context::acting().await?;
    crate::services::second_factor::regenerate_recovery_codes(&state, &actor, Password::new(password)).await
}

/// Starts registering a passkey or security key called `name`: the browser answers the challenge with
/// [`finish_passkey`].
#[server(prefix = "/rpc", endpoint = "start_passkey")]
pub async fn start_passkey(name: String) -> Result<PasskeyChallenge, AppError> {
    let (state, actor) = super::context::acting_enrolling().await?;
    let relying_party = super::context::relying_party(&state)?;
    let challenge = crate::services::passkeys::start_registration(&state, &actor, &relying_party, &name).await?;
    Ok(PasskeyChallenge { handle: challenge.handle, options: challenge.options })
}

/// Adds the passkey with the browser's answer (`credential`, JSON). Answers ten recovery codes (shown once) when
/// it is the account's first second factor.
#[server(prefix = "/rpc", endpoint = "finish_passkey")]
pub async fn finish_passkey(handle: String, credential: String) -> Result<Option<Vec<String>>, AppError> {
    let (state, actor) = super::context::acting_enrolling().await?;
    let relying_party = super::context::relying_party(&state)?;
    crate::services::passkeys::finish_registration(&state, &actor, &relying_party, &handle, &credential).await
}

/// Removes a passkey (the password is asked again).
#[server(prefix = "/rpc", endpoint = "remove_passkey")]
pub async fn remove_passkey(id: i64, password: String) -> Result<(), AppError> {
    use crate::services::password::Password;
    let (state, actor) = super::context::acting().await?;
    crate::services::passkeys::remove(&state, &actor, id, Password::new(password)).await
}

/// Who must sign in with a second factor (accounts holding `all`).
#[server(prefix = "/rpc", endpoint = "second_factor_policy")]
pub async fn load_second_factor_policy() -> Result<crate::domain::SecondFactorPolicy, AppError> {
    super::context::guarded("load_second_factor_policy", async move {
        let (state, admin) = super::context::acting().await?;
        crate::services::second_factor::policy_for(&state, &admin).await
    })
    .await
}

/// Sets who must sign in with a second factor: `required` is `nobody`, `everyone` or `holding`, with
/// `privileges` (comma-separated) for `holding`.
#[server(prefix = "/rpc", endpoint = "set_second_factor_policy")]
pub async fn set_second_factor_policy(
    required: String,
    privileges: String,
) -> Result<crate::domain::SecondFactorPolicy, AppError> {
    let (state, admin) = super::context::acting().await?;
    crate::services::second_factor::set_policy(&state, &admin, &required, &privileges).await
}

/// The QR code of an `otpauth://` URI as an SVG element, sized by the page's stylesheet.
#[cfg(feature = "ssr")]
fn qr_svg(uri: &str) -> Result<String, AppError> {
    use qrcode::{EcLevel, QrCode, render::svg};
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).map_err(|err| {
        tracing::error!(error = %err, "drawing a QR code");
        AppError::Internal
    })?;
    let drawn = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#111827"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The element only: the renderer starts with an XML declaration, which has no place inside HTML.
    Ok(match drawn.find("<svg") {
        Some(start) => drawn[start..].to_owned(),
        None => drawn,
    })
}
