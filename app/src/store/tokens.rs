//! Queries on API tokens. Every query is scoped to one account, so no caller can reach another's tokens.

use super::{
    accounts::Account,
    entities::{token, token_request},
};
use crate::domain::{IpAllowlist, PrivilegeSet, RateLimit, TokenSort};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoSimpleExpr, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set,
    sea_query::{Order as SortOrder, SimpleExpr},
};
use std::{collections::HashMap, sync::Arc};

pub use token::Model as Token;

/// A token about to be stored. `secret_hash` is the SHA-256 of the secret; the secret itself never gets here.
pub struct NewToken<'a> {
    pub account_id: i64,
    pub name: &'a str,
    pub secret_hash: String,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub allowlist: String,
    pub privileges: String,
    pub rate_limit: Option<String>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewToken<'_>) -> Result<Token, DbErr> {
    token::ActiveModel {
        account_id: Set(new.account_id),
        name: Set(new.name.to_owned()),
        name_key: Set(new.name.to_ascii_lowercase()),
        secret_hash: Set(new.secret_hash),
        hint: Set(new.hint),
        created_at: Set(new.created_at),
        expires_at: Set(new.expires_at),
        allowlist: Set(new.allowlist),
        privileges: Set(new.privileges),
        rate_limit: Set(new.rate_limit),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find_by_name(db: &impl ConnectionTrait, account_id: i64, name: &str) -> Result<Option<Token>, DbErr> {
    if !super::could_be_stored(name) {
        return Ok(None);
    }
    token::Entity::find()
        .filter(token::Column::AccountId.eq(account_id))
        .filter(token::Column::NameKey.eq(name.to_ascii_lowercase()))
        .one(db)
        .await
}

/// Which of an account's tokens a page lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenFilter<'a> {
    /// Part of the name (any case); empty: every name.
    pub search: &'a str,
    /// Only tokens expiring after the first time and at or before the second.
    pub expiring_between: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// One page of an account's tokens whose names contain `search` (case-insensitively), and how many match in all.
pub async fn page(
    db: &impl ConnectionTrait,
    account_id: i64,
    filter: TokenFilter<'_>,
    order: TokenSort,
    descending: bool,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Token>, u64), DbErr> {
    let search = filter.search.trim().to_ascii_lowercase();
    let narrowed = |mut query: sea_orm::Select<token::Entity>| {
        if !search.is_empty() {
            query = query.filter(token::Column::NameKey.like(super::like(&search, false)));
        }
        if let Some((from, to)) = filter.expiring_between {
            query = query.filter(token::Column::ExpiresAt.gt(from)).filter(token::Column::ExpiresAt.lte(to));
        }
        query
    };
    let query = narrowed(token::Entity::find().filter(token::Column::AccountId.eq(account_id)));
    // The whole list: its sizes are kept by the database (m0015), nothing to count.
    let whole =
        if search.is_empty() && filter.expiring_between.is_none() { Some(counts(db, account_id).await?) } else { None };
    let direction = if descending { SortOrder::Desc } else { SortOrder::Asc };
    let (query, columns) = match order {
        TokenSort::Name => (query, sort_keys([token::Column::NameKey, token::Column::Id])),
        TokenSort::Created => (query, sort_keys([token::Column::CreatedAt, token::Column::Id])),
        TokenSort::Expires | TokenSort::LastUsed => {
            // Tokens expiring within dates all have a date: the "never" run is empty, so only the dated one is
            // counted. Counting the other walked every token of the account that never expires (SQLite takes
            // `IS NULL` for the index's equality over the dates' range): 6 ms at 100,000 tokens, on every tokens
            // page (its expiring-soon notice).
            let whole = match filter.expiring_between {
                Some(_) if order == TokenSort::Expires => {
                    Some(TokenCounts { tokens: query.clone().count(db).await?, never_expire: 0 })
                }
                _ => whole,
            };
            return page_nullable(db, query, order, whole, descending, offset, limit).await;
        }
        // Kept beside each token by the usage writer (m0014, m0016) with the token's account, so it sorts from an
        // index on (account, requests, token) like the others: the account is taken from there, not the tokens.
        TokenSort::Requests => {
            let query = token::Entity::find()
                .join_rev(JoinType::InnerJoin, token_request::Relation::Token.def())
                .filter(token_request::Column::AccountId.eq(account_id));
            (narrowed(query), sort_keys([token_request::Column::Requests, token_request::Column::TokenId]))
        }
    };
    // Columns that are never NULL: one walk of the account's index on (column, id) in either direction. Past the
    // first page the total is needed first, so a page near the end is read from there (`slice`).
    if offset > 0 {
        let total = match whole {
            Some(counts) => counts.tokens,
            None => query.clone().count(db).await?,
        };
        let tokens = slice(db, query, &columns, descending, Some(total), offset, limit).await?;
        return Ok((tokens, total));
    }
    let counted = query.clone();
    let query = columns.into_iter().fold(query, |query, column| query.order_by(column, direction.clone()));
    let tokens = query.offset(offset).limit(limit).all(db).await?;
    let total = match whole {
        Some(counts) => counts.tokens,
        None => total_with(db, counted, &tokens, offset, limit).await?,
    };
    Ok((tokens, total))
}

/// The columns a page is ordered by, most significant first (of the tokens' rows, or of a joined table's).
fn sort_keys<C: IntoSimpleExpr>(columns: impl IntoIterator<Item = C>) -> Vec<SimpleExpr> {
    columns.into_iter().map(IntoSimpleExpr::into_simple_expr).collect()
}

/// An account's token counts as the database keeps them (m0015).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenCounts {
    pub tokens: u64,
    pub never_expire: u64,
}

/// The account's counts (zero for an account that never had a token).
pub async fn counts(db: &impl ConnectionTrait, account_id: i64) -> Result<TokenCounts, DbErr> {
    Ok(counts_of(db, &[account_id]).await?.remove(&account_id).unwrap_or_default())
}

/// The counts of each of `ids` (accounts that never had a token are absent).
pub async fn counts_of(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, TokenCounts>, DbErr> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let account_id = Alias::new("account_id");
    let select = Query::select()
        .columns([account_id.clone(), Alias::new("tokens"), Alias::new("never_expire")])
        .from(Alias::new("token_counts"))
        .and_where(Expr::col(account_id).is_in(ids.iter().copied()))
        .to_owned();
    let rows = db.query_all_raw(db.get_database_backend().build(&select)).await?;
    rows.iter()
        .map(|row| {
            let count = |column: &str| row.try_get::<i64>("", column).map(|n| u64::try_from(n).unwrap_or_default());
            let counts = TokenCounts { tokens: count("tokens")?, never_expire: count("never_expire")? };
            Ok((row.try_get::<i64>("", "account_id")?, counts))
        })
        .collect()
}

/// Rows `offset..offset + limit` of the rows `run` gives (not yet ordered) ordered by `columns`, `len` of them when
/// known. A slice nearer the end is read from there, in the reverse order, and turned round: OFFSET walks every row
/// it skips, so the last page of 100,000 tokens walked the whole index (22 ms); from its own end it is a first page.
/// Without the length, the slice is read from the start.
async fn slice(
    db: &impl ConnectionTrait,
    run: sea_orm::Select<token::Entity>,
    columns: &[SimpleExpr],
    descending: bool,
    len: Option<u64>,
    offset: u64,
    limit: u64,
) -> Result<Vec<Token>, DbErr> {
    let end = offset.saturating_add(limit);
    let end = len.map_or(end, |len| end.min(len));
    if offset >= end {
        return Ok(Vec::new());
    }
    let from_end = len.filter(|len| len - end < offset);
    let direction = if descending != from_end.is_some() { SortOrder::Desc } else { SortOrder::Asc };
    let query = columns.iter().fold(run, |query, column| query.order_by(column.clone(), direction.clone()));
    if let Some(len) = from_end {
        let mut rows = query.offset(len - end).limit(end - offset).all(db).await?;
        rows.reverse();
        Ok(rows)
    } else {
        query.offset(offset).limit(end - offset).all(db).await
    }
}

/// How many rows `query` matches, given the page it just gave: a page that is not full (and not past the end) is
/// the last, so the total is known without counting; a search with few matches then costs one walk, not two.
async fn total_with(
    db: &impl ConnectionTrait,
    query: sea_orm::Select<token::Entity>,
    page: &[Token],
    offset: u64,
    limit: u64,
) -> Result<u64, DbErr> {
    let shown = page.len() as u64;
    if shown < limit && (shown > 0 || offset == 0) { Ok(offset + shown) } else { query.count(db).await }
}

/// A page in the order of a column that may be NULL ("never"), which sorts after every date when ascending and
/// first when descending, on every database. Asked as two runs, the NULL rows (by id) and the dated ones (by date,
/// then id), each one walk of an index (m0008) from whichever end is nearer (`slice`) instead of a sort of every
/// matching row: a database can walk an index for `ORDER BY column DESC NULLS FIRST` only if its own NULL order
/// happens to agree. The runs' sizes come from the kept counts (`whole`) where they can: both for expiry, the
/// dated run's for last use (the whole list less the tokens never used, which are counted).
async fn page_nullable(
    db: &impl ConnectionTrait,
    query: sea_orm::Select<token::Entity>,
    order: TokenSort,
    whole: Option<TokenCounts>,
    descending: bool,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Token>, u64), DbErr> {
    let column = if order == TokenSort::Expires { token::Column::ExpiresAt } else { token::Column::LastUsedAt };
    let never = query.clone().filter(column.is_null());
    let dated = query.filter(column.is_not_null());
    let (in_never, in_dated) = match whole {
        // The whole list's first page (the list as it opens): its total is kept (m0015), and the runs' sizes only
        // place a later page, so neither is counted: the first run is read from its start, then the second if it
        // runs short. Counting the tokens never used walked half of 100,000 index entries (8-13 ms, most of the
        // page's time).
        Some(_) if offset == 0 => (None, None),
        Some(counts) if order == TokenSort::Expires => {
            (Some(counts.never_expire), Some(counts.tokens.saturating_sub(counts.never_expire)))
        }
        Some(counts) => {
            let in_never = never.clone().count(db).await?;
            (Some(in_never), Some(counts.tokens.saturating_sub(in_never)))
        }
        None => (Some(never.clone().count(db).await?), Some(dated.clone().count(db).await?)),
    };
    let never = (never, sort_keys([token::Column::Id]), in_never);
    let dated = (dated, sort_keys([column, token::Column::Id]), in_dated);
    let (first, second) = if descending { (never, dated) } else { (dated, never) };
    let mut tokens = slice(db, first.0, &first.1, descending, first.2, offset, limit).await?;
    let wanted = limit.saturating_sub(tokens.len() as u64);
    if wanted > 0 {
        // A first run of unknown size is only read for the first page, which starts the second run at its start.
        let skip = first.2.map_or(0, |len| offset.saturating_sub(len));
        tokens.extend(slice(db, second.0, &second.1, descending, second.2, skip, wanted).await?);
    }
    // The whole list's total is kept; a search's or a filter's is its two runs, both counted.
    let total = whole.map_or_else(|| in_never.unwrap_or(0) + in_dated.unwrap_or(0), |counts| counts.tokens);
    Ok((tokens, total))
}

/// The account's tokens with `ids`, in the order of `ids` (those gone or moved meanwhile are left out). Asked by
/// id alone, each a look-up of the primary key: with the account in the statement too, SQLite walked the account's
/// index instead, all 100,000 entries of it (~12 ms).
pub async fn by_ids(db: &impl ConnectionTrait, account_id: i64, ids: &[i64]) -> Result<Vec<Token>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = token::Entity::find().filter(token::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    rows.retain(|row| row.account_id == account_id);
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(at, &id)| (id, at)).collect();
    rows.sort_by_key(|row| position.get(&row.id).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Token>, DbErr> {
    token::Entity::find_by_id(id).one(db).await
}

/// A token's owner, to join (the entity declares no relations).
fn owner() -> sea_orm::RelationDef {
    use super::entities::account;
    token::Entity::belongs_to(account::Entity).from(token::Column::AccountId).to(account::Column::Id).into()
}

/// The name and owner's name of each of the tokens `ids` that still exist, in one query: token id to (account,
/// token).
pub async fn names_with_owners(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, (String, String)>, DbErr> {
    use super::entities::account;
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String, String)> = token::Entity::find()
        .select_only()
        .column(token::Column::Id)
        .column(account::Column::Username)
        .column(token::Column::Name)
        .join(JoinType::InnerJoin, owner())
        .filter(token::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, account, name)| (id, (account, name))).collect())
}

/// Saves changed fields of a token read earlier.
pub async fn save(db: &impl ConnectionTrait, changes: token::ActiveModel) -> Result<Token, DbErr> {
    changes.update(db).await
}

/// Deletes the named tokens of an account; returns the names (as stored) of those that existed.
pub async fn delete_by_names(
    db: &impl ConnectionTrait,
    account_id: i64,
    names: &[String],
) -> Result<Vec<String>, DbErr> {
    let keys: Vec<String> =
        names.iter().filter(|n| super::could_be_stored(n)).map(|n| n.to_ascii_lowercase()).collect();
    let found = token::Entity::find()
        .filter(token::Column::AccountId.eq(account_id))
        .filter(token::Column::NameKey.is_in(keys))
        .all(db)
        .await?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    token::Entity::delete_many().filter(token::Column::Id.is_in(found.iter().map(|t| t.id))).exec(db).await?;
    Ok(found.into_iter().map(|t| t.name).collect())
}

/// Deletes every token of an account; returns their names.
pub async fn delete_all(db: &impl ConnectionTrait, account_id: i64) -> Result<Vec<String>, DbErr> {
    let names: Vec<String> = token::Entity::find()
        .filter(token::Column::AccountId.eq(account_id))
        .select_only()
        .column(token::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    token::Entity::delete_many().filter(token::Column::AccountId.eq(account_id)).exec(db).await?;
    Ok(names)
}

/// What verifying a call needs of the token one of whose secrets hashes to the presented one, with its owner:
/// all the verification cache keeps per token (`verification_cache`). The row's text verification does not use
/// (its hashes, name key, hint, the stored rules once parsed) stays in the database: with 100,000 tokens in use,
/// full rows held 48 MB, these about a third of it. Cheap to clone: shared parts behind `Arc`s.
#[derive(Debug, Clone)]
pub struct Verifying {
    pub token: TokenFacts,
    /// Which of the token's secrets was looked up.
    pub secret: SecretMatch,
    pub account: Arc<Account>,
    /// What verification checks, parsed once from these two rows when they are read, so a row served from memory
    /// is not worked out again on every request.
    pub checks: Arc<TokenChecks>,
}

/// The token fields a verified call uses: its name (headers, the audit log), its dates (expiry, introspection)
/// and its stored last use (so a use within the minute is not noted again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFacts {
    pub id: i64,
    pub name: Arc<str>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Which of a token's secrets a hash is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMatch {
    /// Its current secret.
    Current,
    /// The secret it had before its last rotation, accepted until the end of the grace period (`None`: never).
    Previous(Option<DateTime<Utc>>),
}

impl SecretMatch {
    /// Which of `token`'s secrets hashes to `hash` (compared in constant time), if either does.
    pub fn of(token: &Token, hash: &str) -> Option<Self> {
        use subtle::ConstantTimeEq;
        let current: bool = token.secret_hash.as_bytes().ct_eq(hash.as_bytes()).into();
        let previous = token.previous_secret_hash.as_ref().is_some_and(|p| p.as_bytes().ct_eq(hash.as_bytes()).into());
        match (current, previous) {
            (true, _) => Some(Self::Current),
            (false, true) => Some(Self::Previous(token.previous_valid_until)),
            (false, false) => None,
        }
    }

    /// Whether the secret is accepted at `now`: the current one always, the previous one within its grace period.
    pub fn accepted_at(self, now: DateTime<Utc>) -> bool {
        match self {
            Self::Current => true,
            Self::Previous(until) => until.is_some_and(|until| now < until),
        }
    }
}

/// A token row's stored rules in the form verification uses them. Equal ones are shared in memory
/// (`verification_cache`): most tokens of a fleet have the same few.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TokenChecks {
    /// The token's own privileges intersected with its owner's current ones (`all` expanded).
    pub privileges: Arc<PrivilegeSet>,
    pub allowlist: IpAllowlist,
    /// `None` when the token has no limit (a stored value that no longer parses counts as none, as before).
    pub rate_limit: Option<RateLimit>,
}

impl Verifying {
    /// What verification keeps of `token` (owned by `account`), found by `hash`; `None` when `hash` is neither of
    /// its secrets.
    pub fn new(token: &Token, account: Account, hash: &str) -> Option<Self> {
        let secret = SecretMatch::of(token, hash)?;
        let checks = TokenChecks {
            privileges: Arc::new(PrivilegeSet::effective(&token.privileges, &account.privileges)),
            allowlist: IpAllowlist::from_storage(&token.allowlist),
            rate_limit: token.rate_limit.as_deref().and_then(|raw| RateLimit::parse(raw).ok()),
        };
        let facts = TokenFacts {
            id: token.id,
            name: token.name.as_str().into(),
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
        };
        Some(Self { token: facts, secret, account: Arc::new(account), checks: Arc::new(checks) })
    }
}

/// A secret's SHA-256 as bytes: what verification looks a token up by, in memory. The database keeps its hex form
/// (`secret_hash`), which is written only when the database is asked (a look-up memory cannot answer).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    /// The hash written in hex (as the database keeps it); `None` when it is not 64 hex digits.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let mut bytes = [0; 32];
        hex::decode_to_slice(hex, &mut bytes).ok().map(|()| Self(bytes))
    }

    /// The hex form, as the database keeps it. Through a buffer into one allocation of the exact size
    /// (`hex::encode` pushes char by char into a growing String).
    pub fn hex(&self) -> String {
        let mut hex = [0u8; 64];
        // 32 bytes fill the 64 digits exactly, all ASCII: the fallback never runs.
        match hex::encode_to_slice(self.0, &mut hex).ok().and_then(|()| std::str::from_utf8(&hex).ok()) {
            Some(hex) => hex.to_owned(),
            None => hex::encode(self.0),
        }
    }
}

/// The token whose current secret hashes to `hash`, or whose previous secret does (still within its rotation
/// grace period, which the caller checks), with its owner. Both hash columns are unique, hence indexed: one
/// indexed look-up joined to the account's primary key, in a single query.
pub async fn find_by_secret_hash(db: &impl ConnectionTrait, hash: &str) -> Result<Option<(Token, Account)>, DbErr> {
    use super::entities::account;
    let found = token::Entity::find()
        .join(JoinType::InnerJoin, owner())
        .select_also(account::Entity)
        .filter(
            sea_orm::Condition::any()
                .add(token::Column::SecretHash.eq(hash))
                .add(token::Column::PreviousSecretHash.eq(hash)),
        )
        .one(db)
        .await?;
    Ok(found.and_then(|(token, account)| account.map(|account| (token, account))))
}

/// [`find_by_secret_hash`] in the form verification keeps.
pub async fn find_verifying(db: &impl ConnectionTrait, hash: &SecretHash) -> Result<Option<Verifying>, DbErr> {
    let hash = hash.hex();
    Ok(find_by_secret_hash(db, &hash).await?.and_then(|(token, account)| Verifying::new(&token, account, &hash)))
}

/// When and from where a token was last used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUse {
    pub token_id: i64,
    pub at: DateTime<Utc>,
    /// Written as text (its canonical form: an IPv4-mapped IPv6 address as IPv4) by the writer, off the request.
    pub ip: std::net::IpAddr,
}

/// Records the last use of several tokens in one transaction. Tokens revoked meanwhile are simply not there.
pub async fn record_last_use(db: &sea_orm::DatabaseConnection, uses: &[LastUse]) -> Result<(), DbErr> {
    use sea_orm::{DatabaseBackend, Statement, Value};
    let txn = super::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let written = async {
        // Hundreds of tokens per statement (the sizes of `usage::chunks`, so each statement stays prepared): with
        // 80,000 tokens in use, one statement per token made this write run for seconds every minute.
        for chunk in super::usage::chunks(uses) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| match backend {
                    DatabaseBackend::Postgres => format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3),
                    _ => "(?, ?, ?)".to_owned(),
                })
                .collect();
            // Never backwards, when instances sharing the database flush uses out of order. (On SQLite the times are
            // RFC 3339 text in UTC, which sorts in time order.) VALUES names its columns column1, column2, … on both.
            let sql = format!(
                "UPDATE tokens SET last_used_at = v.column2, last_used_ip = v.column3 FROM (VALUES {}) AS v \
                 WHERE tokens.id = v.column1 AND (tokens.last_used_at IS NULL OR tokens.last_used_at < v.column2)",
                rows.join(", ")
            );
            let values = chunk.iter().flat_map(|last| {
                [Value::from(last.token_id), Value::from(last.at), Value::from(last.ip.to_canonical().to_string())]
            });
            txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        }
        Ok(())
    }
    .await;
    super::finish(txn, written).await
}
