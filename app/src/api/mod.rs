//! Server functions: the web app's calls to the server. On the server they run the services; in the browser
//! they are generated client stubs. Their types are what crosses the wire.

mod accounts;
mod audit;
mod auth;
#[cfg(feature = "ssr")]
pub mod client_ip;
#[cfg(feature = "ssr")]
pub(crate) mod context;
mod second_factors;
#[cfg(feature = "ssr")]
pub mod session_cookie;
mod tokens;
mod webhooks;

pub use crate::model::usage::{AddressRow, BusyToken, DayUsage, UsageSummary};
pub use accounts::{
    AccountEditor, AccountPage, AccountQuery, AccountSummary, AccountsScreen, AddPrivilege, AdminRights,
    ChangePassword, CreateAccount, DeleteAccount, LoadAccountEditor, LoadAccounts, LoadContactEmail, LoadPrivileges,
    PrivilegeRemoval, PrivilegesScreen, RemovePrivilege, RenameAccount, ResetAccountPassword, ResetSecondFactors,
    SetAccountPrivileges, SetContactEmail, SuspendAccount, UnlockAccount, add_privilege, change_password,
    create_account, delete_account, load_account_editor, load_accounts, load_contact_email, load_privileges,
    remove_privilege, rename_account, reset_account_password, reset_second_factors, set_account_privileges,
    set_contact_email, suspend_account, unlock_account,
};
pub use audit::{AuditEntry, AuditPage, AuditQuery, LoadAudit, LoadBusiestTokens, load_audit, load_busiest_tokens};
pub use auth::{
    AccountView, CurrentAccount, LoadSignInOptions, LoadSignInStep, Login, Logout, PasskeySignIn, SecondFactor,
    SignInOptions, SignInStep, StartPasskeySignIn, current_account, load_sign_in_options, load_sign_in_step, login,
    logout, passkey_sign_in, second_factor, start_passkey_sign_in,
};
pub use second_factors::{
    ConfirmTotp, LoadSecondFactorPolicy, LoadSecondFactors, RegenerateRecoveryCodes, RemoveTotp, SecondFactorView,
    SetSecondFactorPolicy, StartTotp, TotpSetup, confirm_totp, load_second_factor_policy, load_second_factors,
    regenerate_recovery_codes, remove_totp, set_second_factor_policy, start_totp,
};
pub use second_factors::{
    FinishPasskey, PasskeyChallenge, PasskeyView, RemovePasskey, StartPasskey, finish_passkey, remove_passkey,
    start_passkey,
};
pub use tokens::{
    CheckTokenName, ConfirmIdentity, ConfirmIdentityWithPasskey, CreateToken, DismissLeak, EXPIRING_DAYS, GetToken,
    IssuedToken, LeakNotice, ListTokens, LoadManageToken, LoadTokenForm, LoadTokenTable, NewToken, PAGE_SIZES,
    PrivilegeOption, RenameToken, RevokeAllTokens, RevokeTokens, RotateToken, TokenFormOptions, TokenPage, TokenQuery,
    TokenRow, TokenSort, TokenTable, TokenView, UpdateToken, check_token_name, confirm_identity, create_token,
    dismiss_leak, get_token, list_tokens, load_manage_token, load_token_form, load_token_table, rename_token,
    revoke_all_tokens, revoke_tokens, rotate_token, update_token,
};
pub use tokens::{StartPasskeyConfirmation, confirm_identity_with_passkey, start_passkey_confirmation};
pub use webhooks::{
    AddWebhook, AddedWebhook, DeliveryView, LoadWebhooks, RemoveWebhook, SendTestWebhook, WebhookView, WebhooksScreen,
    add_webhook, load_webhooks, remove_webhook, send_test_webhook,
};
