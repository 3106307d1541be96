//! Single sign-on through an OpenID Connect provider (issue 19): the authorization code flow with PKCE, a
//! nonce, and a `state` bound to the browser by a cookie. The provider's ID token is checked (signature against
//! its published keys, issuer, audience, expiry with a bounded clock skew, nonce) before its claims are read;
//! an account is matched by a configured claim and is created only when the operator allows it, with
//! privileges from a claim-to-privilege map. The same flow re-confirms a signed-in person (sudo mode) with
//! `prompt=login`.
//!
//! What the person sees is one plain sentence per kind of failure ([`SsoError`]); the details go to the log.

use super::{
    Actor,
    auth::{self, SignIn},
    password::Password,
    random::{base62, sha256_hex},
    rate_limits::RateLimiter,
};
use crate::{
    domain::{AccountName, Period, RateLimit},
    error::AppError,
    services::Core,
    store::{
        accounts::{self, Account},
        audit::{self, NewEvent, Outcome},
        sessions,
        single_sign_on::{self, PendingSignIn},
    },
};
use chrono::{DateTime, Duration, Utc};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    core::{CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreProviderMetadata},
    reqwest,
};
use serde_json::{Map, Value};
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration as StdDuration, Instant},
};
use tokio::sync::Mutex;

/// How long the browser has to come back from the provider.
pub const PENDING_LIFETIME: Duration = Duration::minutes(10);
/// Clocks may disagree this much: an ID token is accepted this long after its expiry, and not issued further in
/// the future than this.
pub const CLOCK_SKEW: Duration = Duration::seconds(60);
/// The provider's discovery document and keys are fetched again after this (key rotation), and at once when an
/// ID token's signature does not match the keys held.
const METADATA_LIFETIME: StdDuration = StdDuration::from_secs(15 * 60);
/// A re-confirmation must come from a sign-in at the provider at most this long ago.
const CONFIRMATION_FRESHNESS: Duration = Duration::minutes(5);

/// The operator's single sign-on settings (`--oidc-*`).
#[derive(Clone)]
pub struct SsoSettings {
    /// The provider's issuer URL, exactly as its discovery document states it.
    pub issuer: String,
    pub client_id: String,
    /// `None`: a public client (PKCE only).
    pub client_secret: Option<String>,
    /// The claim whose value is the account name (default `preferred_username`).
    pub username_claim: String,
    /// Create an account on first sign-in, with these privileges; `None`: only existing accounts sign in.
    pub create_accounts: Option<PrivilegeMap>,
    /// The provider's name on the sign-in button ("Sign in with …").
    pub display_name: String,
}

impl std::fmt::Debug for SsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "(hidden)"))
            .field("username_claim", &self.username_claim)
            .field("create_accounts", &self.create_accounts)
            .finish()
    }
}

/// Which privileges an account created by single sign-on gets: for each value of `claim` (a string or a list of
/// strings in the ID token), the privileges listed for it. Read from a JSON file:
/// `{"claim": "groups", "privileges": {"tessera-admins": ["all"], "developers": ["manage-api-tokens"]}}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivilegeMap {
    pub claim: String,
    pub privileges: BTreeMap<String, Vec<String>>,
}

impl PrivilegeMap {
    /// Reads the map's JSON, and checks every privilege it names is a well-formed privilege name.
    pub fn parse(json: &str) -> Result<Self, String> {
        let map: Self = serde_json::from_str(json).map_err(|err| err.to_string())?;
        if map.claim.trim().is_empty() {
            return Err("\"claim\" names no claim".into());
        }
        for name in map.privileges.values().flatten() {
            let known = crate::domain::builtin(name).is_some();
            if !known {
                crate::domain::check_custom_name(name).map_err(|err| format!("privilege “{name}”: {err}"))?;
            }
        }
        Ok(map)
    }

    /// The privileges the claims grant, sorted, without repeats.
    pub fn grants(&self, claims: &Map<String, Value>) -> Vec<String> {
        let mut granted: Vec<String> = claim_strings(claims, &self.claim)
            .iter()
            .filter_map(|value| self.privileges.get(value))
            .flatten()
            .cloned()
            .collect();
        granted.sort();
        granted.dedup();
        granted
    }
}

/// The string values of a claim: itself if a string, its strings if a list, nothing otherwise.
fn claim_strings(claims: &Map<String, Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Value::String(value)) => vec![value.clone()],
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Why a single sign-on did not sign anyone in: each is one plain sentence for the person, and a short code the
/// sign-in page is sent back with (`/login?sso=CODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoError {
    /// Single sign-on is not set up on this server.
    Off,
    /// The provider could not be reached or answered nonsense (discovery, keys, the code exchange).
    Unavailable,
    /// The provider said no, or what it sent back did not pass the checks (signature, audience, nonce, expiry).
    NotConfirmed,
    /// The return matched no sign-in waiting here: used already, too old, or from another browser.
    Expired,
    /// The provider confirmed someone who has no account here (and accounts are not created).
    NotAllowed,
    /// The account is suspended.
    Suspended,
    /// The re-confirmation was for someone else, or for a session that ended.
    WrongPerson,
    /// Too many sign-ins started from one address (each start is a row in the database).
    TooMany,
    /// Our own failure (the database).
    Internal,
}

impl SsoError {
    pub const ALL: [Self; 9] = [
        Self::Off,
        Self::Unavailable,
        Self::NotConfirmed,
        Self::Expired,
        Self::NotAllowed,
        Self::Suspended,
        Self::WrongPerson,
        Self::TooMany,
        Self::Internal,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Unavailable => "unavailable",
            Self::NotConfirmed => "not-confirmed",
            Self::Expired => "expired",
            Self::NotAllowed => "not-allowed",
            Self::Suspended => "suspended",
            Self::WrongPerson => "wrong-person",
            Self::TooMany => "too-many",
            Self::Internal => "internal",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|error| error.code() == code)
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Off => "Single sign-on is not set up on this server.",
            Self::Unavailable => "Your identity provider could not be reached. Try again in a moment.",
            Self::NotConfirmed => "Your identity provider did not confirm the sign-in.",
            Self::Expired => "This sign-in was already used or took too long. Please start again.",
            Self::NotAllowed => {
                "Your identity provider confirmed who you are, but you have no account here. Ask an administrator for one."
            }
            Self::Suspended => "This account is suspended.",
            Self::WrongPerson => "Your identity provider confirmed someone else. Sign in again as yourself.",
            Self::TooMany => "Too many sign-ins were started from your address. Please wait a minute.",
            Self::Internal => "Something went wrong on our side. Please try again.",
        }
    }
}

impl From<sea_orm::DbErr> for SsoError {
    fn from(err: sea_orm::DbErr) -> Self {
        tracing::error!(error = %err, "single sign-on: database error");
        Self::Internal
    }
}

impl From<AppError> for SsoError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::AccountSuspended => Self::Suspended,
            AppError::Unavailable => Self::Unavailable,
            other => {
                tracing::error!(error = %other, "single sign-on: could not sign in");
                Self::Internal
            }
        }
    }
}

/// Single sign-on with one provider: its settings, an HTTP client that follows no redirects, and the provider's
/// discovery document and keys, fetched on first use and kept a while.
pub struct SingleSignOn {
    settings: SsoSettings,
    http: reqwest::Client,
    metadata: Mutex<Option<(Instant, Arc<CoreProviderMetadata>)>>,
    /// Starts per client address (by a hash of it), in this instance: each start writes a row.
    starts: RateLimiter,
}

/// Sign-ins one address may start, in each instance (a person needs one; a flood fills the database).
const STARTS_PER_ADDRESS: RateLimit = RateLimit { calls: 30, per: Period::Minute };

/// Where to send the browser to sign in at the provider, and the `state` value its cookie must carry back.
pub struct Authorization {
    pub url: String,
    pub state: String,
}

/// What a return from the provider led to.
pub enum Finished {
    /// A sign-in: signed in, or waiting for the account's second factor.
    SignIn(SignIn),
    /// A re-confirmation of a session: done; go back to this page.
    Confirmed { return_to: String },
}

/// What the provider's redirect back carries (its query), as received.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl SingleSignOn {
    pub fn new(settings: SsoSettings) -> Result<Self, String> {
        IssuerUrl::new(settings.issuer.clone()).map_err(|err| format!("--oidc-issuer: {err}"))?;
        let http = reqwest::Client::builder()
            // The provider's endpoints answer directly; a redirect is not followed (it could point anywhere).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(StdDuration::from_secs(10))
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
        Ok(Self { settings, http, metadata: Mutex::new(None), starts: RateLimiter::default() })
    }

    pub fn settings(&self) -> &SsoSettings {
        &self.settings
    }

    /// The provider's metadata: the copy held unless it is older than its lifetime or `refresh` asks for a new
    /// one (keys rotated).
    async fn metadata(&self, refresh: bool) -> Result<Arc<CoreProviderMetadata>, SsoError> {
        let mut held = self.metadata.lock().await;
        if let Some((fetched, metadata)) = held.as_ref()
            && !refresh
            && fetched.elapsed() < METADATA_LIFETIME
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|_| SsoError::Unavailable)?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(|err| {
            tracing::warn!(error = %error_chain(&err), issuer = %self.settings.issuer, "single sign-on: discovery failed");
            SsoError::Unavailable
        })?;
        let metadata = Arc::new(metadata);
        *held = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(&self, metadata: &CoreProviderMetadata, redirect_url: &str) -> Result<SsoClient, SsoError> {
        let redirect = RedirectUrl::new(redirect_url.to_owned()).map_err(|err| {
            tracing::error!(error = %err, redirect_url, "single sign-on: bad redirect URL");
            SsoError::Internal
        })?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in (or, with `confirm`, a re-confirmation of that session: its cookie value and the page to
    /// go back to): remembers what the return must match and says where to send the browser.
    pub async fn begin(
        &self,
        state: &Core,
        redirect_url: &str,
        client_ip: &str,
        confirm: Option<(&str, String)>,
    ) -> Result<Authorization, SsoError> {
        let digest = super::random::sha256(client_ip);
        let key = i64::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ]);
        if self.starts.check(key, STARTS_PER_ADDRESS, state.clock.now()).is_err() {
            tracing::warn!(client_ip, "single sign-on: too many sign-ins started from one address");
            return Err(SsoError::TooMany);
        }
        let metadata = self.metadata(false).await?;
        let client = self.client(&metadata, redirect_url)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                || CsrfToken::new(base62(43)),
                || Nonce::new(base62(43)),
            )
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        if confirm.is_some() {
            // The person types their credentials again at the provider, as they would type a password here.
            request = request.add_prompt(CoreAuthPrompt::Login).set_max_age(std::time::Duration::ZERO);
        }
        let (url, csrf, nonce) = request.url();
        let now = state.clock.now();
        let (session_id, return_to) = match confirm {
            Some((cookie_value, return_to)) => (Some(sha256_hex(cookie_value)), Some(return_to)),
            None => (None, None),
        };
        let pending = PendingSignIn {
            id: sha256_hex(csrf.secret()),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            session_id,
            return_to,
            created_at: now,
            expires_at: now + PENDING_LIFETIME,
        };
        single_sign_on::insert(&state.db, pending).await?;
        Ok(Authorization { url: url.to_string(), state: csrf.secret().clone() })
    }

    /// Finishes what [`begin`](Self::begin) started, when the provider sends the browser back: `cookie_state` is
    /// the `state` its cookie carries, which must be the one in the return. The waiting sign-in is taken once,
    /// before anything else, so a replayed return finds nothing.
    pub async fn finish(
        &self,
        state: &Core,
        redirect_url: &str,
        cookie_state: Option<&str>,
        callback: Callback,
        client_ip: Option<&str>,
    ) -> Result<Finished, SsoError> {
        let returned = callback.state.as_deref().unwrap_or_default();
        let same_browser = cookie_state.is_some_and(|cookie| {
            !returned.is_empty() && subtle::ConstantTimeEq::ct_eq(cookie.as_bytes(), returned.as_bytes()).into()
        });
        if !same_browser {
            tracing::info!("single sign-on: the return's state is not this browser's");
            return Err(SsoError::Expired);
        }
        let now = state.clock.now();
        let Some(pending) = single_sign_on::take(&state.db, &sha256_hex(returned)).await? else {
            tracing::info!("single sign-on: the return's state is unknown or used");
            return Err(SsoError::Expired);
        };
        if now >= pending.expires_at {
            return Err(SsoError::Expired);
        }
        if let Some(error) = &callback.error {
            tracing::info!(error, description = ?callback.error_description, "single sign-on: the provider refused");
            return Err(SsoError::NotConfirmed);
        }
        let Some(code) = callback.code else {
            tracing::info!("single sign-on: the return carries no code");
            return Err(SsoError::NotConfirmed);
        };
        let claims = self.redeem(redirect_url, code, &pending, now).await?;
        let Some(username) = claim_strings(&claims, &self.settings.username_claim).into_iter().next() else {
            tracing::warn!(claim = %self.settings.username_claim, "single sign-on: the ID token lacks the account claim");
            return Err(SsoError::NotAllowed);
        };
        match pending.session_id {
            Some(session_id) => {
                let return_to = pending.return_to.unwrap_or_else(|| "/tokens".to_owned());
                self.confirm_session(state, &session_id, &username, now, client_ip).await?;
                Ok(Finished::Confirmed { return_to })
            }
            None => {
                let account = self.account_for(state, &username, &claims, client_ip).await?;
                if account.suspended {
                    let event = NewEvent::by("login", &account).target(Some(SSO_TARGET)).from_ip(client_ip);
                    audit::record(&state.db, event.outcome(Outcome::Refused), now).await?;
                    return Err(SsoError::Suspended);
                }
                Ok(Finished::SignIn(auth::sign_in_confirmed(state, account, client_ip, Some(SSO_TARGET)).await?))
            }
        }
    }

    /// Redeems the code (with the PKCE verifier) and checks the ID token; answers its verified claims.
    async fn redeem(
        &self,
        redirect_url: &str,
        code: String,
        pending: &PendingSignIn,
        now: DateTime<Utc>,
    ) -> Result<Map<String, Value>, SsoError> {
        let metadata = self.metadata(false).await?;
        let client = self.client(&metadata, redirect_url)?;
        let request = client.exchange_code(AuthorizationCode::new(code)).map_err(|err| {
            tracing::warn!(error = %err, "single sign-on: the provider has no token endpoint");
            SsoError::Unavailable
        })?;
        let response = request
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|err| {
                tracing::warn!(error = %error_chain(&err), "single sign-on: the code exchange failed");
                SsoError::NotConfirmed
            })?;
        let Some(id_token) = response.id_token() else {
            tracing::warn!("single sign-on: the token response has no ID token");
            return Err(SsoError::NotConfirmed);
        };
        let nonce = Nonce::new(pending.nonce.clone());
        let verify = |client: &SsoClient| {
            let verifier = client
                .id_token_verifier()
                // Expiry is checked against a clock running CLOCK_SKEW behind ours: a token is accepted up to
                // that long after it expired by our clock.
                .set_time_fn(move || now - CLOCK_SKEW)
                .set_issue_time_verifier_fn(move |issued| {
                    if issued > now + CLOCK_SKEW {
                        Err(format!("issued in the future ({issued})"))
                    } else if issued < now - PENDING_LIFETIME - CLOCK_SKEW {
                        Err(format!("issued too long ago ({issued})"))
                    } else {
                        Ok(())
                    }
                });
            id_token.claims(&verifier, &nonce).map(|claims| claims.auth_time()).map_err(|err| err.to_string())
        };
        let verified = match verify(&client) {
            Ok(auth_time) => Ok(auth_time),
            // The provider may have rotated its keys since they were fetched: fetch them once more.
            Err(first) if first.contains("signature") || first.contains("key") => {
                let metadata = self.metadata(true).await?;
                verify(&self.client(&metadata, redirect_url)?)
                    .map_err(|again| format!("{first}; after a refresh: {again}"))
            }
            Err(err) => Err(err),
        };
        let auth_time = verified.map_err(|err| {
            tracing::warn!(error = %err, "single sign-on: the ID token failed its checks");
            SsoError::NotConfirmed
        })?;
        let mut claims = jwt_payload(&id_token.to_string()).ok_or_else(|| {
            tracing::warn!("single sign-on: the ID token's claims are unreadable");
            SsoError::NotConfirmed
        })?;
        // A provider that follows the core spec to the letter puts profile claims in its UserInfo answer only
        // (when an access token is issued): ask there for what the ID token lacks.
        let wanted = std::iter::once(&self.settings.username_claim)
            .chain(self.settings.create_accounts.as_ref().map(|map| &map.claim));
        if wanted.clone().any(|claim| !claims.contains_key(claim.as_str()))
            && let Some(endpoint) = metadata.userinfo_endpoint()
        {
            let extra = self.user_info(endpoint.url().as_str(), response.access_token().secret(), &claims).await?;
            for (name, value) in extra {
                claims.entry(name).or_insert(value);
            }
        }
        if pending.session_id.is_some() {
            // A re-confirmation must come from credentials typed just now, not a session at the provider.
            let fresh = auth_time.is_some_and(|at| at >= now - CONFIRMATION_FRESHNESS - CLOCK_SKEW);
            if !fresh {
                tracing::warn!(
                    ?auth_time,
                    "single sign-on: the re-confirmation's sign-in at the provider is not fresh"
                );
                return Err(SsoError::NotConfirmed);
            }
        }
        Ok(claims)
    }

    /// The provider's UserInfo answer for the access token, if it is about the ID token's subject.
    async fn user_info(
        &self,
        endpoint: &str,
        access_token: &str,
        id_claims: &Map<String, Value>,
    ) -> Result<Map<String, Value>, SsoError> {
        let answer = self
            .http
            .get(endpoint)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| {
                tracing::warn!(error = %error_chain(&err), "single sign-on: the UserInfo request failed");
                SsoError::Unavailable
            })?;
        let body = answer.bytes().await.map_err(|err| {
            tracing::warn!(error = %error_chain(&err), "single sign-on: the UserInfo answer was cut off");
            SsoError::Unavailable
        })?;
        let claims: Map<String, Value> = serde_json::from_slice(&body).map_err(|err| {
            tracing::warn!(error = %err, "single sign-on: the UserInfo answer is not a JSON object");
            SsoError::NotConfirmed
        })?;
        if claims.get("sub").is_none() || claims.get("sub") != id_claims.get("sub") {
            tracing::warn!("single sign-on: the UserInfo answer is about another subject");
            return Err(SsoError::NotConfirmed);
        }
        Ok(claims)
    }

    /// The account the claims name: an existing one, or (when the operator allows it) a new one with the
    /// privileges the claims map to. Nobody else.
    async fn account_for(
        &self,
        state: &Core,
        username: &str,
        claims: &Map<String, Value>,
        client_ip: Option<&str>,
    ) -> Result<Account, SsoError> {
        let now = state.clock.now();
        let refuse = async |reason: &str| -> Result<Account, SsoError> {
            tracing::warn!(claimed = %username, reason, "single sign-on: no account for this person");
            let attempted = AccountName::parse(username).map_or("(invalid name)".to_owned(), |n| n.as_str().to_owned());
            let event = NewEvent::new("login", &attempted, None).target(Some(SSO_TARGET)).from_ip(client_ip);
            audit::record_about(&state.db, event.outcome(Outcome::Failure), None, Some(reason.to_owned()), now).await?;
            Err(SsoError::NotAllowed)
        };
        let Ok(name) = AccountName::parse(username) else {
            return refuse("the claim is not a valid account name").await;
        };
        if let Some(account) = accounts::find_by_name(&state.db, name.as_str()).await? {
            return Ok(account);
        }
        let Some(map) = &self.settings.create_accounts else {
            return refuse("no such account (accounts are not created by single sign-on)").await;
        };
        let privileges = map.grants(claims);
        if privileges.is_empty() {
            return refuse("no such account, and the claims map to no privilege").await;
        }
        // Nobody knows this password: the account signs in through the provider (an administrator can set one).
        let password = Password::new(base62(40));
        match super::accounts::create(state, &Actor::operator(), &name, password, &privileges).await {
            Ok(account) => {
                tracing::info!(account = %account.username, "single sign-on: account created");
                Ok(account)
            }
            // Created meanwhile by another sign-in or instance.
            Err(AppError::Conflict { .. }) => {
                accounts::find_by_name(&state.db, name.as_str()).await?.ok_or(SsoError::Internal)
            }
            Err(AppError::Invalid { message, .. }) => refuse(&format!("cannot create it: {message}")).await,
            Err(err) => Err(err.into()),
        }
    }

    /// Marks the session `session_id` (a hash) confirmed just now, if it is still alive and the provider
    /// confirmed its own account.
    async fn confirm_session(
        &self,
        state: &Core,
        session_id: &str,
        username: &str,
        now: DateTime<Utc>,
        client_ip: Option<&str>,
    ) -> Result<(), SsoError> {
        let Some(session) = sessions::find(&state.db, session_id).await? else {
            return Err(SsoError::WrongPerson);
        };
        let Some(account) = accounts::find_by_id(&state.db, session.account_id).await? else {
            return Err(SsoError::WrongPerson);
        };
        let event = NewEvent::by("session.confirm", &account).target(Some(SSO_TARGET)).from_ip(client_ip);
        let same = AccountName::parse(username).is_ok_and(|name| name.key() == account.username_key);
        if !same || now >= session.expires_at {
            tracing::warn!(claimed = %username, account = %account.username, "single sign-on: re-confirmed by someone else");
            audit::record(&state.db, event.outcome(Outcome::Failure), now).await?;
            return Err(SsoError::WrongPerson);
        }
        sessions::confirm(&state.db, session_id, now).await?;
        audit::record(&state.db, event.outcome(Outcome::Success), now).await?;
        Ok(())
    }
}

/// The audit log's target for what single sign-on did.
const SSO_TARGET: &str = "single sign-on";

type SsoClient = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    openidconnect::core::CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The claims of a compact JWT whose signature was already checked: its middle part, base64url-decoded JSON.
fn jwt_payload(jwt: &str) -> Option<Map<String, Value>> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// An error with its sources, for the log (reqwest's top-level message alone says little).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_privilege_map_grants_what_the_claims_values_name() {
        let map = PrivilegeMap::parse(
            r#"{"claim": "groups", "privileges": {"admins": ["all"], "dev": ["manage-api-tokens", "list-accts"], "ops": ["list-accts"]}}"#,
        )
        .unwrap();
        assert_eq!(
            map.grants(&claims(json!({"groups": ["dev", "ops", "other"]}))),
            ["list-accts", "manage-api-tokens"]
        );
        assert_eq!(map.grants(&claims(json!({"groups": "admins"}))), ["all"]);
        assert!(map.grants(&claims(json!({"groups": ["nobody"]}))).is_empty());
        assert!(map.grants(&claims(json!({"groups": 7}))).is_empty());
        assert!(map.grants(&claims(json!({}))).is_empty());
    }

    #[test]
    fn a_privilege_map_with_a_bad_privilege_or_field_is_refused() {
        let bad = PrivilegeMap::parse(r#"{"claim": "groups", "privileges": {"a": ["Not A Privilege"]}}"#);
        assert!(bad.unwrap_err().contains("Not A Privilege"));
        assert!(PrivilegeMap::parse(r#"{"claim": "groups", "privileges": {}, "extra": 1}"#).is_err());
        assert!(PrivilegeMap::parse(r#"{"claim": " ", "privileges": {}}"#).is_err());
        assert!(PrivilegeMap::parse("not json").is_err());
    }

    #[test]
    fn error_codes_round_trip_and_messages_are_plain() {
        for error in SsoError::ALL {
            assert_eq!(SsoError::from_code(error.code()), Some(error));
            assert!(error.message().ends_with('.'));
        }
        assert_eq!(SsoError::from_code("<script>"), None);
        assert_eq!(SsoError::NotConfirmed.message(), "Your identity provider did not confirm the sign-in.");
    }

    #[test]
    fn reads_the_claims_of_a_compact_jwt() {
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"1","groups":["a"]}"#);
        let parsed = jwt_payload(&format!("e30.{payload}.sig")).unwrap();
        assert_eq!(claim_strings(&parsed, "groups"), ["a"]);
        assert_eq!(claim_strings(&parsed, "sub"), ["1"]);
        assert!(jwt_payload("no-dots").is_none());
    }
}
