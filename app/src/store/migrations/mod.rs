//! Schema migrations, applied in order at every start (and by every CLI command) before anything else.

use sea_orm_migration::prelude::*;

mod m0001_initial;
mod m0002_privileges_audit_subject;
pub mod m0003_verification_generation;
mod m0004_sign_in_throttle;
mod m0005_pg_change_notify;
mod m0006_token_hygiene;
pub mod m0007_usage;
mod m0008_list_indexes;
mod m0009_second_factors;
mod m0010_settings;
mod m0011_session_confirmation;
mod m0012_single_sign_on;
mod m0013_passkeys;
mod m0014_requests_window;
mod m0015_token_counts;
mod m0016_token_requests;
mod m0017_token_name_changes;

pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_privileges_audit_subject::Migration),
            Box::new(m0003_verification_generation::Migration),
            Box::new(m0004_sign_in_throttle::Migration),
            Box::new(m0005_pg_change_notify::Migration),
            Box::new(m0006_token_hygiene::Migration),
            Box::new(m0007_usage::Migration),
            Box::new(m0008_list_indexes::Migration),
            Box::new(m0009_second_factors::Migration),
            Box::new(m0010_settings::Migration),
            Box::new(m0011_session_confirmation::Migration),
            Box::new(m0012_single_sign_on::Migration),
            Box::new(m0013_passkeys::Migration),
            Box::new(m0014_requests_window::Migration),
            Box::new(m0015_token_counts::Migration),
            Box::new(m0016_token_requests::Migration),
            Box::new(m0017_token_name_changes::Migration),
        ]
    }
}

/// The names of every migration this binary knows, in order.
pub fn names() -> Vec<String> {
    Migrator::migrations().iter().map(|m| m.name().to_owned()).collect()
}
