//! `make bench` helper (not part of the server): fills a fresh database with accounts and tokens, quickly, by
//! batched inserts of exactly the rows the services would write, and writes a sample of the token secrets
//! (`valid.txt`) and of malformed ones (`malformed.txt`) for the load generator.
//!
//! Usage: bench_seed DATABASE_URL ACCOUNTS TOKENS OUT_DIR [BIG]
//!
//! With BIG, the first account (`user0000`) holds BIG of the tokens, named like the tokens people make
//! (`deploy-000042`, `backup-000043`, …: prefixes to search by), and can sign in with the password in
//! `BENCH_PASSWORD`; the other accounts share the rest.

use app::{
    domain::TokenSecret,
    services::{
        password::{Password, Passwords},
        random::sha256_hex,
    },
    store::{
        self,
        entities::{
            account::{self, StoredPasswordHash},
            token,
        },
    },
};
use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};
use std::{fmt::Write as _, io::Write as _};

/// Every tenth token's secret goes to `valid.txt`.
const SAMPLE_EVERY: usize = 10;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, accounts, tokens, out_dir, big) = match args.as_slice() {
        [url, accounts, tokens, out_dir] => (url, accounts, tokens, out_dir, None),
        [url, accounts, tokens, out_dir, big] => (url, accounts, tokens, out_dir, Some(big.parse::<usize>()?)),
        _ => anyhow::bail!("usage: bench_seed DATABASE_URL ACCOUNTS TOKENS OUT_DIR [BIG]"),
    };
    let accounts: usize = accounts.parse()?;
    let tokens: usize = tokens.parse()?;
    let per_account = match big {
        Some(big) => (tokens - big.min(tokens)).div_ceil(accounts.saturating_sub(1).max(1)),
        None => tokens.div_ceil(accounts),
    };
    let db = store::connect(url).await?;
    let now = Utc::now();
    // The big account signs in (one Argon2id hash); the others never do.
    let big_password = match big {
        Some(_) => {
            let password = std::env::var("BENCH_PASSWORD").map_err(|_| anyhow::anyhow!("BENCH_PASSWORD is not set"))?;
            Some(Passwords::new(1)?.hash(Password::new(password)).await?)
        }
        None => None,
    };

    let txn = db.begin().await?;
    for chunk in (0..accounts).collect::<Vec<_>>().chunks(500) {
        let rows = chunk.iter().map(|i| account::ActiveModel {
            username: Set(format!("user{i:04}")),
            username_key: Set(format!("user{i:04}")),
            // Nobody else signs in during the benchmark: a placeholder instead of 1,000 Argon2id hashes.
            password_hash: Set(match (&big_password, i) {
                (Some(hash), 0) => hash.clone(),
                _ => StoredPasswordHash("!bench".into()),
            }),
            privileges: Set("list-accts manage-api-tokens".into()),
            suspended: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        account::Entity::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await?;
    let ids: Vec<(i64, String)> =
        account::Entity::find().all(&db).await?.into_iter().map(|a| (a.id, a.username)).collect();

    let mut valid = String::new();
    let mut malformed = String::new();
    let mut made = 0;
    let txn = db.begin().await?;
    let mut batch = Vec::with_capacity(1000);
    const KINDS: [&str; 8] = ["deploy", "backup", "monitor", "ci", "reseller", "billing", "dns", "mail"];
    'outer: for (index, (account_id, username)) in ids.iter().enumerate() {
        let (count, named) = match big {
            Some(big) if index == 0 => (big, true),
            _ => (per_account, false),
        };
        for n in 0..count {
            if made == tokens {
                break 'outer;
            }
            let name = if named { format!("{}-{n:06}", KINDS[n % KINDS.len()]) } else { format!("t{n:03}") };
            let secret = TokenSecret::generate();
            if made % SAMPLE_EVERY == 0 {
                writeln!(valid, "{username} {}", secret.expose())?;
                // Same shape, one checksum character changed: refused without a database look-up.
                let mut bad = secret.expose().to_owned();
                let last = if bad.ends_with('0') { "1" } else { "0" };
                bad.replace_range(bad.len() - 1.., last);
                writeln!(malformed, "{username} {bad}")?;
            }
            batch.push(token::ActiveModel {
                account_id: Set(*account_id),
                name_key: Set(name.clone()),
                name: Set(name),
                secret_hash: Set(sha256_hex(secret.expose())),
                hint: Set(secret.hint()),
                // Made over time, some expiring, some used: every sort has something to order.
                created_at: Set(now - chrono::Duration::seconds((count - n) as i64)),
                expires_at: Set((n % 3 == 0).then(|| now + chrono::Duration::days((n % 400) as i64 + 1))),
                allowlist: Set(String::new()),
                privileges: Set("list-accts".into()),
                previous_secret_hash: Set(None),
                previous_valid_until: Set(None),
                last_used_at: Set((n % 2 == 0).then(|| now - chrono::Duration::minutes((n % 10_000) as i64))),
                last_used_ip: Set((n % 2 == 0).then(|| "192.0.2.1".to_owned())),
                ..Default::default()
            });
            made += 1;
            if batch.len() == 1000 {
                token::Entity::insert_many(std::mem::take(&mut batch)).exec(&txn).await?;
            }
        }
    }
    if !batch.is_empty() {
        token::Entity::insert_many(batch).exec(&txn).await?;
    }
    txn.commit().await?;

    std::fs::File::create(format!("{out_dir}/valid.txt"))?.write_all(valid.as_bytes())?;
    std::fs::File::create(format!("{out_dir}/malformed.txt"))?.write_all(malformed.as_bytes())?;
    println!("seeded {} accounts and {made} tokens", ids.len());
    Ok(())
}
