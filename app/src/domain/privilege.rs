//! Privileges: named rights held by accounts and granted to tokens (SPEC §1). The built-in catalog uses WHM's
//! ACL names; `all` means every privilege, present and future.

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

pub const BUILTIN_PRIVILEGES: &[PrivilegeDef] = &[
    PrivilegeDef { name: ALL, label: "Everything: every privilege, present and future", dangerous: true },
    PrivilegeDef { name: "manage-api-tokens", label: "Manage API Tokens", dangerous: true },
    PrivilegeDef { name: "create-user-session", label: "Create User Session", dangerous: true },
    PrivilegeDef { name: "passwd", label: "Change Password", dangerous: true },
    PrivilegeDef { name: "list-accts", label: "List Accounts", dangerous: false },
    PrivilegeDef { name: "create-acct", label: "Create Accounts", dangerous: false },
    PrivilegeDef { name: "suspend-acct", label: "Suspend and Unsuspend Accounts", dangerous: false },
    PrivilegeDef { name: "kill-acct", label: "Terminate Accounts", dangerous: false },
    PrivilegeDef { name: "edit-account", label: "Modify Accounts (rename, privileges)", dangerous: false },
    PrivilegeDef { name: "introspect", label: "Verify other tokens (introspection endpoint)", dangerous: false },
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivilegeError {
    #[error("Choose at least one privilege.")]
    Empty,
    #[error("“{0}” is not a known privilege.")]
    Unknown(String),
}

/// A non-empty set of known privilege names, kept sorted so equal sets compare and store equally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

    /// Whether this set grants `privilege`, directly or through `all`.
    pub fn grants(&self, privilege: &str) -> bool {
        self.0.contains(ALL) || self.0.contains(privilege)
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
}
