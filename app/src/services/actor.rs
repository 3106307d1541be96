//! Who is acting: one [`Actor`] for every service call, whether a person signed in to the web app, an API token,
//! or the operator at the command line. It answers the one privilege question every service asks ("holds P, or
//! holds `all`") and starts the audit event that records the call, so both are written once.

use crate::{
    domain::{ALL, IpAllowlist, PrivilegeSet},
    error::AppError,
    store::{accounts::Account, audit::NewEvent},
};
use chrono::{DateTime, Utc};

/// The name the audit log shows for the operator acting on no account in particular.
pub const OPERATOR: &str = "(operator)";

/// The token a request came through, with what it may pass on: tokens it creates or edits stay within these.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The calling token's row id: a token may always act on itself.
    pub id: i64,
    pub name: String,
    /// Effective privileges: the token's own set intersected with the owner's current set.
    pub privileges: PrivilegeSet,
    pub expires_at: Option<DateTime<Utc>>,
    pub allowlist: IpAllowlist,
    /// The calling token's rate limit: what it creates or edits may not go faster.
    pub rate_limit: Option<crate::domain::RateLimit>,
}

/// How the actor reached Tessera.
#[derive(Debug, Clone)]
pub enum Via {
    /// Signed in to the web app: holds the account's privileges.
    Session,
    /// An API token: holds the token's effective privileges, and never reaches beyond them.
    Token(TokenGrant),
    /// The operator at the command line (or the server itself at start-up): holds everything.
    Operator,
}

/// Who is acting, on whose behalf, and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The account acting (or acted for by the operator); `None` for the operator acting on no account.
    account: Option<Account>,
    via: Via,
    client_ip: Option<String>,
}

impl Actor {
    /// A person signed in to the web app.
    pub fn session(account: Account, client_ip: Option<String>) -> Self {
        Self { account: Some(account), via: Via::Session, client_ip }
    }

    /// A verified API token acting for its owner.
    pub fn token(owner: Account, grant: TokenGrant, client_ip: Option<String>) -> Self {
        Self { account: Some(owner), via: Via::Token(grant), client_ip }
    }

    /// The operator, acting on no account in particular (account administration at the command line).
    pub fn operator() -> Self {
        Self { account: None, via: Via::Operator, client_ip: None }
    }

    /// The operator acting for one account (its tokens, at the command line).
    pub fn operator_for(account: Account) -> Self {
        Self { account: Some(account), via: Via::Operator, client_ip: None }
    }

    /// The account acting or acted for.
    pub fn account(&self) -> Option<&Account> {
        self.account.as_ref()
    }

    pub fn via(&self) -> &Via {
        &self.via
    }

    pub fn client_ip(&self) -> Option<&str> {
        self.client_ip.as_deref()
    }

    /// The name the audit log and the server log show.
    pub fn name(&self) -> &str {
        self.account.as_ref().map_or(OPERATOR, |account| account.username.as_str())
    }

    /// The calling token, when the actor came through one.
    pub fn grant(&self) -> Option<&TokenGrant> {
        match &self.via {
            Via::Token(grant) => Some(grant),
            Via::Session | Via::Operator => None,
        }
    }

    /// Whether the actor holds `privilege`, directly or through `all`: the one privilege check of the services.
    pub fn holds(&self, privilege: &str) -> bool {
        match &self.via {
            Via::Operator => true,
            Via::Token(grant) => grant.privileges.grants(privilege),
            Via::Session => {
                self.account.as_ref().is_some_and(|a| PrivilegeSet::from_storage(&a.privileges).grants(privilege))
            }
        }
    }

    /// Whether the actor holds `all`.
    pub fn holds_all(&self) -> bool {
        self.holds(ALL)
    }

    /// `Forbidden`, naming the privilege, unless the actor holds it.
    pub fn require(&self, privilege: &str) -> Result<(), AppError> {
        if self.holds(privilege) { Ok(()) } else { Err(AppError::Forbidden(privilege.to_owned())) }
    }

    /// Operator-defined privileges and the whole audit log are for those holding `all`.
    pub fn require_all(&self) -> Result<(), AppError> {
        self.require(ALL)
    }

    /// Whether the actor may grant this one privilege: nobody grants what they do not hold, `all` included.
    pub fn may_grant_one(&self, privilege: &str) -> bool {
        self.holds(privilege) && (privilege != ALL || self.holds_all())
    }

    /// Refuses, naming the first, when `set` holds a privilege the actor may not grant.
    pub fn may_grant(&self, set: &PrivilegeSet) -> Result<(), AppError> {
        match set.iter().find(|p| !self.may_grant_one(p)) {
            Some(missing) => Err(AppError::invalid(
                "privileges",
                format!("You cannot grant “{missing}”: you do not hold it yourself."),
            )),
            None => Ok(()),
        }
    }

    /// An actor may act only on accounts holding nothing it lacks (a reseller cannot suspend root).
    pub fn may_act_on(&self, target: &Account) -> Result<(), AppError> {
        if self.may_grant(&PrivilegeSet::from_storage(&target.privileges)).is_err() {
            return Err(AppError::invalid(
                "account",
                format!("You cannot change “{}”: it holds privileges you do not hold.", target.username),
            ));
        }
        Ok(())
    }

    /// Whether `target` is the actor's own account.
    pub fn is_self(&self, target: &Account) -> bool {
        self.account.as_ref().is_some_and(|account| account.id == target.id)
    }

    /// The audit event of this actor doing `action` to `target`: by whom, through which token, from where.
    pub fn event<'a>(&'a self, action: &'a str, target: &'a str) -> NewEvent<'a> {
        let by = match &self.account {
            Some(account) => NewEvent::by(action, account),
            None => NewEvent::new(action, OPERATOR, None),
        };
        by.via(self.grant().map(|grant| grant.name.as_str())).target(target).from_ip(self.client_ip())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LIST_ACCOUNTS, MANAGE_API_TOKENS};

    fn account(id: i64, privileges: &str) -> Account {
        Account {
            id,
            username: format!("user{id}"),
            username_key: format!("user{id}"),
            password_hash: crate::store::entities::account::StoredPasswordHash(String::new()),
            privileges: privileges.to_owned(),
            suspended: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn grant(privileges: &[&str]) -> TokenGrant {
        TokenGrant {
            id: 9,
            name: "ci".into(),
            privileges: PrivilegeSet::from_names(privileges.iter().map(|p| (*p).to_owned())),
            expires_at: None,
            allowlist: IpAllowlist::default(),
            rate_limit: None,
        }
    }

    #[test]
    fn a_session_holds_its_accounts_privileges_and_all_covers_every_one() {
        let reseller = Actor::session(account(1, LIST_ACCOUNTS), None);
        assert!(reseller.holds(LIST_ACCOUNTS));
        assert!(!reseller.holds(MANAGE_API_TOKENS));
        assert!(!reseller.holds_all());
        let root = Actor::session(account(2, ALL), None);
        assert!(root.holds(MANAGE_API_TOKENS) && root.holds("billing:read") && root.holds_all());
    }

    #[test]
    fn a_token_holds_only_its_grant_even_when_its_owner_holds_all() {
        let actor = Actor::token(account(1, ALL), grant(&[MANAGE_API_TOKENS]), Some("192.0.2.1".into()));
        assert!(actor.holds(MANAGE_API_TOKENS));
        assert!(!actor.holds(LIST_ACCOUNTS));
        assert_eq!(actor.require(LIST_ACCOUNTS), Err(AppError::Forbidden(LIST_ACCOUNTS.into())));
        assert!(!actor.may_grant_one(ALL));
    }

    #[test]
    fn the_operator_holds_everything_and_is_named_in_the_log() {
        let operator = Actor::operator();
        assert!(operator.holds_all() && operator.holds("anything"));
        assert_eq!(operator.name(), OPERATOR);
        assert!(!operator.is_self(&account(1, ALL)));
        let for_account = Actor::operator_for(account(3, ""));
        assert_eq!(for_account.name(), "user3");
        assert!(for_account.holds(MANAGE_API_TOKENS));
    }

    #[test]
    fn nobody_grants_or_touches_what_they_do_not_hold() {
        let reseller = Actor::session(account(1, &format!("{LIST_ACCOUNTS} {MANAGE_API_TOKENS}")), None);
        assert!(reseller.may_grant(&PrivilegeSet::from_names([LIST_ACCOUNTS.to_owned()])).is_ok());
        assert!(reseller.may_grant(&PrivilegeSet::from_names([ALL.to_owned()])).is_err());
        assert!(reseller.may_act_on(&account(2, ALL)).is_err());
        assert!(reseller.may_act_on(&account(3, LIST_ACCOUNTS)).is_ok());
        assert!(reseller.is_self(&account(1, "")));
    }
}
