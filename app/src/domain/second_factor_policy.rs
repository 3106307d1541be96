//! Who must sign in with a second factor (issue 19): nobody (the default), everyone, or the accounts holding any
//! of chosen privileges (an account holding `all` holds every one). An account the policy covers that has no
//! second factor yet may do nothing but set one up.

use super::PrivilegeSet;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecondFactorPolicy {
    #[default]
    Nobody,
    Everyone,
    /// Accounts holding any of these privileges.
    Holding(PrivilegeSet),
}

const NOBODY: &str = "nobody";
const EVERYONE: &str = "everyone";
const HOLDING: &str = "holding:";

impl SecondFactorPolicy {
    /// The stored form: `nobody`, `everyone` or `holding:` and the privileges, space-separated.
    pub fn to_storage(&self) -> String {
        match self {
            Self::Nobody => NOBODY.to_owned(),
            Self::Everyone => EVERYONE.to_owned(),
            Self::Holding(privileges) => format!("{HOLDING}{}", privileges.to_storage()),
        }
    }

    /// Reads [`Self::to_storage`]'s form (validated on the way in). Anything else is read as `everyone`: a damaged
    /// setting asks for more, never less.
    pub fn from_storage(stored: &str) -> Self {
        match stored {
            NOBODY => Self::Nobody,
            EVERYONE => Self::Everyone,
            _ => match stored.strip_prefix(HOLDING).map(PrivilegeSet::from_storage) {
                Some(privileges) if !privileges.is_empty() => Self::Holding(privileges),
                _ => Self::Everyone,
            },
        }
    }

    /// Whether an account holding `privileges` must have a second factor.
    pub fn applies_to(&self, privileges: &PrivilegeSet) -> bool {
        match self {
            Self::Nobody => false,
            Self::Everyone => true,
            Self::Holding(required) => required.iter().any(|privilege| privileges.grants(privilege)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> PrivilegeSet {
        PrivilegeSet::from_names(names.iter().map(|name| (*name).to_owned()))
    }

    #[test]
    fn stored_forms_round_trip_and_damage_asks_for_more() {
        for policy in [
            SecondFactorPolicy::Nobody,
            SecondFactorPolicy::Everyone,
            SecondFactorPolicy::Holding(set(&["all", "passwd"])),
        ] {
            assert_eq!(SecondFactorPolicy::from_storage(&policy.to_storage()), policy);
        }
        assert_eq!(SecondFactorPolicy::Holding(set(&["passwd", "all"])).to_storage(), "holding:all passwd");
        for damaged in ["", "some", "holding:", "NOBODY"] {
            assert_eq!(SecondFactorPolicy::from_storage(damaged), SecondFactorPolicy::Everyone, "{damaged:?}");
        }
    }

    #[test]
    fn covers_accounts_holding_any_chosen_privilege_directly_or_through_all() {
        let admins = SecondFactorPolicy::Holding(set(&["all"]));
        assert!(admins.applies_to(&set(&["all"])));
        assert!(!admins.applies_to(&set(&["passwd", "kill-acct", "manage-api-tokens"])));
        let dangerous = SecondFactorPolicy::Holding(set(&["kill-acct", "passwd"]));
        assert!(dangerous.applies_to(&set(&["passwd"])));
        assert!(dangerous.applies_to(&set(&["all"])), "all holds every privilege");
        assert!(!dangerous.applies_to(&set(&["manage-api-tokens"])));
        assert!(SecondFactorPolicy::Everyone.applies_to(&set(&["manage-api-tokens"])));
        assert!(!SecondFactorPolicy::Nobody.applies_to(&set(&["all"])));
    }
}
