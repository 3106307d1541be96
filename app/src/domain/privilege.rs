//! Privileges: named rights held by accounts and granted to tokens (SPEC §1). The built-in catalog uses WHM's
//! ACL names, each a named constant here; `all` means every privilege, present and future. Every "may this
//! do that" check goes through [`PrivilegeSet::grants`].
//!
//! Storage (decided, issue 13): a set is stored as one space-separated, sorted string column on the account and
//! the token, not a join table. Sets are small (ten built-in names plus a few of the operator's), are always read
//! and written whole, and verification reads one row per token. The cost is on the rare removal of an
//! operator-defined privilege, which rewrites the rows that name it (a LIKE scan); that is accepted.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One entry of the privilege catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivilegeDef {
    pub name: &'static str,
    pub label: &'static str,
    /// The UI warns before granting these to a token.
    pub dangerous: bool,
}

/// The privilege that stands for every other one.
pub const ALL: &str = "all";
/// Create, list, edit, rotate and revoke API tokens (web app and every API).
pub const MANAGE_API_TOKENS: &str = "manage-api-tokens";
pub const CREATE_USER_SESSION: &str = "create-user-session";
/// Reset another account's password (WHM `passwd`); one's own needs the current password instead.
pub const CHANGE_PASSWORDS: &str = "passwd";
pub const LIST_ACCOUNTS: &str = "list-accts";
pub const CREATE_ACCOUNTS: &str = "create-acct";
pub const SUSPEND_ACCOUNTS: &str = "suspend-acct";
pub const DELETE_ACCOUNTS: &str = "kill-acct";
pub const EDIT_ACCOUNTS: &str = "edit-account";
/// Call `/api/v1/introspect` about other tokens.
pub const INTROSPECT: &str = "introspect";

pub const BUILTIN_PRIVILEGES: &[PrivilegeDef] = &[
    PrivilegeDef { name: ALL, label: "Everything: every privilege, present and future", dangerous: true },
    PrivilegeDef { name: MANAGE_API_TOKENS, label: "Manage API Tokens", dangerous: true },
    PrivilegeDef { name: CREATE_USER_SESSION, label: "Create User Session", dangerous: true },
    PrivilegeDef { name: CHANGE_PASSWORDS, label: "Change Password", dangerous: true },
    PrivilegeDef { name: LIST_ACCOUNTS, label: "List Accounts", dangerous: false },
    PrivilegeDef { name: CREATE_ACCOUNTS, label: "Create Accounts", dangerous: false },
    PrivilegeDef { name: SUSPEND_ACCOUNTS, label: "Suspend and Unsuspend Accounts", dangerous: false },
    PrivilegeDef { name: DELETE_ACCOUNTS, label: "Terminate Accounts", dangerous: false },
    PrivilegeDef { name: EDIT_ACCOUNTS, label: "Modify Accounts (rename, privileges)", dangerous: false },
    PrivilegeDef { name: INTROSPECT, label: "Verify other tokens (introspection endpoint)", dangerous: false },
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivilegeError {
    #[error("Choose at least one privilege.")]
    Empty,
    #[error("“{0}” is not a known privilege.")]
    Unknown(String),
}

/// A non-empty set of known privilege names, kept sorted so equal sets compare and store equally.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrivilegeSet(BTreeSet<String>);

impl PrivilegeSet {
    /// Parses a list separated by commas, spaces or newlines, checking every name against `catalog`.
    pub fn parse_list<'a>(
        raw: &str,
        catalog: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Result<Self, PrivilegeError> {
        let names: BTreeSet<String> =
            raw.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        if names.is_empty() {
            return Err(PrivilegeError::Empty);
        }
        if let Some(unknown) = names.iter().find(|n| !catalog.clone().into_iter().any(|known| known == n.as_str())) {
            return Err(PrivilegeError::Unknown(unknown.clone()));
        }
        Ok(Self(names))
    }

    /// Parses against the built-in catalog.
    pub fn parse_builtin(raw: &str) -> Result<Self, PrivilegeError> {
        Self::parse_list(raw, BUILTIN_PRIVILEGES.iter().map(|p| p.name))
    }

    /// Reads the stored form written by [`PrivilegeSet::to_storage`]. Stored data was validated on the way in.
    pub fn from_storage(stored: &str) -> Self {
        Self(stored.split_whitespace().map(str::to_owned).collect())
    }

    /// Space-separated, sorted: the form kept in the database.
    pub fn to_storage(&self) -> String {
        self.0.iter().map(String::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Whether this set grants `privilege`, directly or through `all`: the one place this rule is written.
    pub fn grants(&self, privilege: &str) -> bool {
        self.holds_all() || self.0.contains(privilege)
    }

    /// Whether this set holds `all` (every privilege, present and future).
    pub fn holds_all(&self) -> bool {
        self.0.contains(ALL)
    }

    /// A set of names already known to be valid (an effective set worked out from stored ones).
    pub fn from_names(names: impl IntoIterator<Item = String>) -> Self {
        Self(names.into_iter().collect())
    }

    /// A token's effective privileges from the stored forms of its own and its owner's current ones: their
    /// intersection, with `all` on the token standing for everything the owner holds.
    pub fn effective(token: &str, owner: &str) -> Self {
        let token = Self::from_storage(token);
        let owner = Self::from_storage(owner);
        if token.holds_all() {
            owner
        } else {
            Self::from_names(token.iter().filter(|p| owner.grants(p)).map(str::to_owned))
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The longest name of an operator-defined privilege.
pub const CUSTOM_NAME_MAX_LEN: usize = 64;
/// The longest label of an operator-defined privilege.
pub const LABEL_MAX_LEN: usize = 100;

/// A privilege as the catalog knows it: built in, or defined by the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivilegeInfo {
    pub name: String,
    pub label: String,
    /// The UI warns before granting these.
    pub dangerous: bool,
    /// Built-in privileges cannot be removed.
    pub builtin: bool,
}

impl From<&PrivilegeDef> for PrivilegeInfo {
    fn from(def: &PrivilegeDef) -> Self {
        Self { name: def.name.to_owned(), label: def.label.to_owned(), dangerous: def.dangerous, builtin: true }
    }
}

/// Every privilege there is: the built-in ones first, then the operator's own, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog(Vec<PrivilegeInfo>);

impl Default for Catalog {
    fn default() -> Self {
        Self(BUILTIN_PRIVILEGES.iter().map(PrivilegeInfo::from).collect())
    }
}

impl Catalog {
    /// The built-in privileges followed by `custom` (sorted by name; built-in names are skipped).
    pub fn with_custom(custom: impl IntoIterator<Item = PrivilegeInfo>) -> Self {
        let mut custom: Vec<_> = custom.into_iter().filter(|p| builtin(&p.name).is_none()).collect();
        custom.sort_by(|a, b| a.name.cmp(&b.name));
        let mut catalog = Self::default();
        catalog.0.extend(custom.into_iter().map(|p| PrivilegeInfo { builtin: false, ..p }));
        catalog
    }

    pub fn iter(&self) -> impl Iterator<Item = &PrivilegeInfo> {
        self.0.iter()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> + Clone {
        self.0.iter().map(|p| p.name.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&PrivilegeInfo> {
        self.0.iter().find(|p| p.name == name)
    }

    /// Parses a list separated by commas, spaces or newlines against this catalog.
    pub fn parse(&self, raw: &str) -> Result<PrivilegeSet, PrivilegeError> {
        PrivilegeSet::parse_list(raw, self.names())
    }

    /// Checks names as a form or an API sent them (each may itself be a list) against this catalog.
    pub fn parse_names(&self, names: &[String]) -> Result<PrivilegeSet, PrivilegeError> {
        self.parse(&names.join(","))
    }

    /// The names a set stands for, with `all` expanded to the whole catalog.
    pub fn expand(&self, set: &PrivilegeSet) -> BTreeSet<String> {
        if set.grants(ALL) {
            self.names().map(str::to_owned).collect()
        } else {
            set.iter().map(str::to_owned).collect()
        }
    }
}

/// Why an operator-defined privilege was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomPrivilegeError {
    #[error("The privilege name cannot be empty.")]
    EmptyName,
    #[error("The privilege name is {0} characters long; the limit is {CUSTOM_NAME_MAX_LEN}.")]
    NameTooLong(usize),
    #[error("The privilege name must start with a lower-case letter (a–z).")]
    BadStart,
    #[error("The privilege name contains “{0}”; use only a–z, 0–9, and - _ : . (for example “billing:read”).")]
    BadChar(char),
    #[error("“{0}” is a built-in privilege.")]
    Builtin(String),
    #[error("The label cannot be empty.")]
    EmptyLabel,
    #[error("The label is {0} characters long; the limit is {LABEL_MAX_LEN}.")]
    LabelTooLong(usize),
}

/// Checks the name of an operator-defined privilege (e.g. `billing:read`).
pub fn check_custom_name(raw: &str) -> Result<(), CustomPrivilegeError> {
    let first = raw.chars().next().ok_or(CustomPrivilegeError::EmptyName)?;
    if !first.is_ascii_lowercase() {
        return Err(CustomPrivilegeError::BadStart);
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | ':' | '.');
    if let Some(bad) = raw.chars().find(|c| !allowed(*c)) {
        return Err(CustomPrivilegeError::BadChar(bad));
    }
    if raw.len() > CUSTOM_NAME_MAX_LEN {
        return Err(CustomPrivilegeError::NameTooLong(raw.len()));
    }
    if builtin(raw).is_some() {
        return Err(CustomPrivilegeError::Builtin(raw.to_owned()));
    }
    Ok(())
}

/// Checks the label of an operator-defined privilege; returns it trimmed.
pub fn check_label(raw: &str) -> Result<&str, CustomPrivilegeError> {
    let label = raw.trim();
    match label.chars().count() {
        0 => Err(CustomPrivilegeError::EmptyLabel),
        n if n > LABEL_MAX_LEN => Err(CustomPrivilegeError::LabelTooLong(n)),
        _ => Ok(label),
    }
}

/// Looks a built-in privilege up by name.
pub fn builtin(name: &str) -> Option<&'static PrivilegeDef> {
    BUILTIN_PRIVILEGES.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_the_spec() {
        let dangerous: Vec<_> = BUILTIN_PRIVILEGES.iter().filter(|p| p.dangerous).map(|p| p.name).collect();
        assert_eq!(dangerous, ["all", "manage-api-tokens", "create-user-session", "passwd"]);
        assert_eq!(BUILTIN_PRIVILEGES.len(), 10);
        assert_eq!(builtin("list-accts").map(|p| p.label), Some("List Accounts"));
    }

    #[test]
    fn parses_commas_spaces_and_duplicates_into_a_sorted_set() {
        let set = PrivilegeSet::parse_builtin("passwd, list-accts\nlist-accts").unwrap();
        assert_eq!(set.to_storage(), "list-accts passwd");
        assert_eq!(PrivilegeSet::from_storage(&set.to_storage()), set);
    }

    #[test]
    fn refuses_empty_and_unknown() {
        assert_eq!(PrivilegeSet::parse_builtin(" , "), Err(PrivilegeError::Empty));
        assert_eq!(PrivilegeSet::parse_builtin("passwd,root"), Err(PrivilegeError::Unknown("root".into())));
    }

    #[test]
    fn all_grants_everything_and_others_grant_themselves() {
        let all = PrivilegeSet::parse_builtin("all").unwrap();
        assert!(all.grants("kill-acct") && all.grants("billing:read"));
        let some = PrivilegeSet::parse_builtin("list-accts").unwrap();
        assert!(some.grants("list-accts"));
        assert!(!some.grants("kill-acct"));
    }
    #[test]
    fn catalog_adds_the_operators_privileges_after_the_built_in_ones() {
        let custom =
            |name: &str| PrivilegeInfo { name: name.into(), label: "x".into(), dangerous: false, builtin: true };
        let catalog = Catalog::with_custom([custom("zeta"), custom("billing:read"), custom("passwd")]);
        let names: Vec<_> = catalog.names().collect();
        assert_eq!(names.len(), BUILTIN_PRIVILEGES.len() + 2);
        assert_eq!(&names[BUILTIN_PRIVILEGES.len()..], ["billing:read", "zeta"]);
        assert!(!catalog.get("zeta").unwrap().builtin);
        assert_eq!(catalog.parse("billing:read").unwrap().to_storage(), "billing:read");
        assert_eq!(Catalog::default().parse("billing:read"), Err(PrivilegeError::Unknown("billing:read".into())));
        let all = catalog.expand(&PrivilegeSet::from_storage("all"));
        assert!(all.contains("billing:read") && all.contains("kill-acct"));
    }

    #[test]
    fn custom_names_follow_their_rules() {
        assert_eq!(check_custom_name("billing:read"), Ok(()));
        assert_eq!(check_custom_name("a.b-c_d:9"), Ok(()));
        assert_eq!(check_custom_name(""), Err(CustomPrivilegeError::EmptyName));
        assert_eq!(check_custom_name("Billing"), Err(CustomPrivilegeError::BadStart));
        assert_eq!(check_custom_name("9lives"), Err(CustomPrivilegeError::BadStart));
        assert_eq!(check_custom_name("bill ing"), Err(CustomPrivilegeError::BadChar(' ')));
        assert_eq!(check_custom_name("passwd"), Err(CustomPrivilegeError::Builtin("passwd".into())));
        assert_eq!(check_custom_name(&"a".repeat(65)), Err(CustomPrivilegeError::NameTooLong(65)));
        assert_eq!(check_label("  Read invoices "), Ok("Read invoices"));
        assert_eq!(check_label("  "), Err(CustomPrivilegeError::EmptyLabel));
    }
}
