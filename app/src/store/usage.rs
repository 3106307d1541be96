//! Usage counters and address history, written in batches by `services::usage`.

use super::entities::{setting, token, token_address, token_request, token_usage};
use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, Set,
    sea_query::{Alias, Expr, ExprTrait, LockType, OnConflict},
};

pub use token_address::Model as TokenAddress;

/// The sizes of multi-row statements and `IN` lists, largest first: far below SQLite's 32,766 bound variables and
/// PostgreSQL's 65,535, however many tokens one write holds. Only these sizes, so each statement has a handful of
/// shapes: the drivers keep every distinct statement text prepared on each connection (a 500-row upsert is a
/// large program), and a remainder of any length would have added a new one with nearly every write.
const CHUNK_SIZES: [usize; 5] = [500, 100, 20, 5, 1];

/// `items` cut into runs of the sizes in [`CHUNK_SIZES`], largest first.
pub(super) fn chunks<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        let size = CHUNK_SIZES.into_iter().find(|size| *size <= items.len())?;
        let (chunk, rest) = items.split_at(size);
        items = rest;
        Some(chunk)
    })
}

/// The ids among `ids` (ascending) that still exist (a token revoked since its use was counted is skipped). On
/// PostgreSQL their rows are locked against deletion (`FOR KEY SHARE`, in the order of their ids) until `db`'s
/// transaction ends: a revoke deletes the token's row and then, cascading, its counters, window and addresses, so
/// a writer that took one of those first could deadlock with it. SQLite has one writer at a time.
pub async fn existing_tokens(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<i64>, DbErr> {
    let mut existing = Vec::with_capacity(ids.len());
    for chunk in chunks(ids) {
        let found: Vec<i64> = token::Entity::find()
            .select_only()
            .column(token::Column::Id)
            .filter(token::Column::Id.is_in(chunk.iter().copied()))
            .order_by_asc(token::Column::Id)
            .lock(LockType::KeyShare)
            .into_tuple()
            .all(db)
            .await?;
        existing.extend(found);
    }
    Ok(existing)
}

/// One counter increment: token, hour, outcome, calls.
pub type Increment = (i64, DateTime<Utc>, &'static str, i64);

/// Adds each increment to its token's counter for that hour and outcome, many rows per statement.
pub async fn add_all(db: &impl ConnectionTrait, increments: &[Increment]) -> Result<(), DbErr> {
    for chunk in chunks(increments) {
        let rows = chunk.iter().map(|&(token_id, hour, outcome, count)| token_usage::ActiveModel {
            token_id: Set(token_id),
            hour: Set(hour),
            outcome: Set(outcome.to_owned()),
            count: Set(count),
        });
        token_usage::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    token_usage::Column::TokenId,
                    token_usage::Column::Hour,
                    token_usage::Column::Outcome,
                ])
                .value(
                    token_usage::Column::Count,
                    Expr::col((token_usage::Entity, token_usage::Column::Count))
                        .add(Expr::col((Alias::new("excluded"), token_usage::Column::Count))),
                )
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The addresses already recorded for the tokens `ids`, as (token, address) pairs.
pub async fn known_addresses(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<(i64, String)>, DbErr> {
    let mut known = Vec::new();
    for chunk in chunks(ids) {
        let found: Vec<(i64, String)> = token_address::Entity::find()
            .select_only()
            .columns([token_address::Column::TokenId, token_address::Column::Ip])
            .filter(token_address::Column::TokenId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        known.extend(found);
    }
    Ok(known)
}

/// One sighting of a known address: token, address, last seen.
pub type Sighting = (i64, String, DateTime<Utc>);

/// Moves the last-seen time of addresses already recorded forward (never backwards), many rows per statement.
pub async fn seen_again(db: &impl ConnectionTrait, sightings: &[Sighting]) -> Result<(), DbErr> {
    let stored = || Expr::col((token_address::Entity, token_address::Column::LastSeen));
    let offered = || Expr::col((Alias::new("excluded"), token_address::Column::LastSeen));
    for chunk in chunks(sightings) {
        let rows = chunk.iter().map(|(token_id, ip, last)| token_address::ActiveModel {
            token_id: Set(*token_id),
            ip: Set(ip.clone()),
            first_seen: Set(*last),
            last_seen: Set(*last),
        });
        token_address::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([token_address::Column::TokenId, token_address::Column::Ip])
                    .value(
                        token_address::Column::LastSeen,
                        Expr::case(offered().gt(stored()), offered()).finally(stored()),
                    )
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Records a use of the token from `ip` between `first` and `last`; `true` when the token had never been used
/// from that address before.
pub async fn seen_from(
    db: &impl ConnectionTrait,
    token_id: i64,
    ip: &str,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = token_address::ActiveModel {
        token_id: Set(token_id),
        ip: Set(ip.to_owned()),
        first_seen: Set(first),
        last_seen: Set(last),
    };
    let inserted = token_address::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([token_address::Column::TokenId, token_address::Column::Ip]).do_nothing().to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if inserted == 1 {
        return Ok(true);
    }
    token_address::Entity::update_many()
        .col_expr(token_address::Column::LastSeen, Expr::value(last))
        .filter(token_address::Column::TokenId.eq(token_id))
        .filter(token_address::Column::Ip.eq(ip))
        .filter(token_address::Column::LastSeen.lt(last))
        .exec(db)
        .await?;
    Ok(false)
}

/// `SUM(count)` as a BIGINT: PostgreSQL sums BIGINTs into NUMERIC, which does not decode as an `i64`.
fn sum_of_counts() -> sea_orm::sea_query::SimpleExpr {
    Expr::col((token_usage::Entity, token_usage::Column::Count)).sum().cast_as(Alias::new("BIGINT"))
}

/// One counter row.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct UsageRow {
    pub hour: DateTime<Utc>,
    pub outcome: String,
    pub count: i64,
}

/// The token's counters for hours in `[from, to)`, oldest first.
pub async fn between(
    db: &impl ConnectionTrait,
    token_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<UsageRow>, DbErr> {
    token_usage::Entity::find()
        .select_only()
        .columns([token_usage::Column::Hour, token_usage::Column::Outcome, token_usage::Column::Count])
        .filter(token_usage::Column::TokenId.eq(token_id))
        .filter(token_usage::Column::Hour.gte(from))
        .filter(token_usage::Column::Hour.lt(to))
        .order_by_asc(token_usage::Column::Hour)
        .into_model::<UsageRow>()
        .all(db)
        .await
}

/// The calls in the window (`token_requests`) of the account's tokens named (lower-cased) in `keys`: each token's
/// id, name and calls.
pub async fn requests_by_name(
    db: &impl ConnectionTrait,
    account_id: i64,
    keys: Vec<String>,
) -> Result<Vec<(i64, String, i64)>, DbErr> {
    token::Entity::find()
        .select_only()
        .column(token::Column::Id)
        .column(token::Column::Name)
        .column(token_request::Column::Requests)
        .join_rev(JoinType::InnerJoin, token_request::Relation::Token.def())
        .filter(token::Column::AccountId.eq(account_id))
        .filter(token::Column::NameKey.is_in(keys))
        .into_tuple()
        .all(db)
        .await
}

/// The first hour the tokens' `token_requests` count, as stored; `None` before the first write set it (the column
/// then holds every counter kept: migration m0014).
pub async fn window_start(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbErr> {
    parse_window_start(super::settings::get(db, super::settings::REQUESTS_WINDOW_START).await?)
}

/// [`window_start`], its row held (`FOR SHARE` on PostgreSQL) until `txn` ends: another instance's move of the
/// window waits for this transaction, and then takes out the calls it adds; a move already under way is waited
/// for, and its start read. Without it, calls of an hour leaving the window, added by a transaction that had read
/// the old start, could be committed after another instance's move had taken that hour out, and stay counted.
async fn window_start_held(txn: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>, DbErr> {
    let row = setting::Entity::find_by_id(super::settings::REQUESTS_WINDOW_START.to_owned())
        .lock(LockType::Share)
        .one(txn)
        .await?;
    parse_window_start(row.map(|row| row.value))
}

fn parse_window_start(stored: Option<String>) -> Result<Option<DateTime<Utc>>, DbErr> {
    let Some(stored) = stored else { return Ok(None) };
    let seconds: i64 =
        stored.parse().map_err(|_| DbErr::Custom(format!("the requests window's start is not a number: {stored}")))?;
    Ok(Utc.timestamp_opt(seconds, 0).single())
}

/// Moves the tokens' window forward to start at `to` (an hour), in `txn`: the calls of the hours that leave it
/// are taken out of each token's `token_requests`. The move is claimed by a conditional write of the start first,
/// so of several instances sliding at once, one takes the hours out (the others wait for its commit and find the
/// window moved). Answers the start in force: `to`, or a later one another instance set.
pub async fn slide_window(txn: &impl ConnectionTrait, to: DateTime<Utc>) -> Result<DateTime<Utc>, DbErr> {
    use sea_orm::{Statement, Value};
    let from = window_start(txn).await?;
    if let Some(from) = from.filter(|from| *from >= to) {
        // Not moving it: held, so a move by another instance waits for this transaction (held by a transaction
        // that moves it, two moving at once would each wait for the other's hold).
        return Ok(window_start_held(txn).await?.unwrap_or(from));
    }
    let key = super::settings::REQUESTS_WINDOW_START;
    let value = to.timestamp().to_string();
    let claimed = match from {
        None => {
            let row = setting::ActiveModel { key: Set(key.to_owned()), value: Set(value), updated_at: Set(to) };
            setting::Entity::insert(row)
                .on_conflict(OnConflict::column(setting::Column::Key).do_nothing().to_owned())
                .exec_without_returning(txn)
                .await?
        }
        Some(from) => {
            setting::Entity::update_many()
                .col_expr(setting::Column::Value, Expr::value(value))
                .col_expr(setting::Column::UpdatedAt, Expr::value(to))
                .filter(setting::Column::Key.eq(key))
                .filter(setting::Column::Value.eq(from.timestamp().to_string()))
                .exec(txn)
                .await?
                .rows_affected
        }
    };
    if claimed != 1 {
        // Another instance moved it meanwhile (and took the hours out): its start is now committed.
        return Ok(window_start(txn).await?.unwrap_or(to));
    }
    let backend = txn.get_database_backend();
    let (hours, values) = match (from, backend) {
        (None, sea_orm::DatabaseBackend::Postgres) => ("hour < $1", vec![Value::from(to)]),
        (None, _) => ("hour < ?", vec![Value::from(to)]),
        (Some(from), sea_orm::DatabaseBackend::Postgres) => {
            ("hour >= $1 AND hour < $2", vec![Value::from(from), Value::from(to)])
        }
        (Some(from), _) => ("hour >= ? AND hour < ?", vec![Value::from(from), Value::from(to)]),
    };
    let sql = format!(
        "UPDATE token_requests SET requests = requests - (SELECT CAST(COALESCE(SUM(u.count), 0) AS BIGINT) \
         FROM token_usage u WHERE u.token_id = token_requests.token_id AND {hours}) \
         WHERE token_id IN (SELECT token_id FROM token_usage WHERE {hours})"
    );
    // The placeholders appear twice: PostgreSQL numbers them (one list), SQLite takes them in order (two).
    let values = if backend == sea_orm::DatabaseBackend::Postgres { values } else { [values.clone(), values].concat() };
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(to)
}

/// Adds calls to tokens' `token_requests`: (token, calls), many tokens per statement.
pub async fn add_to_window(txn: &impl ConnectionTrait, added: &[(i64, i64)]) -> Result<(), DbErr> {
    use sea_orm::{DatabaseBackend, Statement, Value};
    let backend = txn.get_database_backend();
    for chunk in chunks(added) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| match backend {
                DatabaseBackend::Postgres => format!("(${}::BIGINT, ${}::BIGINT)", 2 * i + 1, 2 * i + 2),
                _ => "(?, ?)".to_owned(),
            })
            .collect();
        let sql = format!(
            "UPDATE token_requests SET requests = token_requests.requests + v.column2 FROM (VALUES {}) AS v \
             WHERE token_requests.token_id = v.column1",
            rows.join(", ")
        );
        let values = chunk.iter().flat_map(|&(token_id, calls)| [Value::from(token_id), Value::from(calls)]);
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    Ok(())
}

/// The `limit` tokens with the most calls in the window (`token_requests`, the tokens table's "Requests (30 d)"),
/// of every account, busiest first: (token, calls), tokens without any left out. One walk of that narrow table
/// (a row per token), not a sum over every hourly counter of 30 days (up to 720 rows per busy token).
pub async fn busiest(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<(i64, i64)>, DbErr> {
    token_request::Entity::find()
        .select_only()
        .column(token_request::Column::TokenId)
        .column(token_request::Column::Requests)
        .filter(token_request::Column::Requests.gt(0))
        .order_by_desc(token_request::Column::Requests)
        .order_by_desc(token_request::Column::TokenId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await
}

/// The calls of each of the tokens `ids` in the hours `[from, to)` (from the first kept without `from`): (token,
/// calls), tokens without any left out.
pub async fn calls_between(
    db: &impl ConnectionTrait,
    ids: &[i64],
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, i64)>, DbErr> {
    let mut query = token_usage::Entity::find()
        .select_only()
        .column(token_usage::Column::TokenId)
        .column_as(sum_of_counts(), "calls")
        .filter(token_usage::Column::TokenId.is_in(ids.iter().copied()))
        .filter(token_usage::Column::Hour.lt(to))
        .group_by(token_usage::Column::TokenId);
    if let Some(from) = from {
        query = query.filter(token_usage::Column::Hour.gte(from));
    }
    let rows: Vec<(i64, Option<i64>)> = query.into_tuple().all(db).await?;
    Ok(rows.into_iter().map(|(id, calls)| (id, calls.unwrap_or(0))).collect())
}

/// The token's recorded addresses among `ips` (as text).
pub async fn addresses_among(
    db: &impl ConnectionTrait,
    token_id: i64,
    ips: Vec<String>,
) -> Result<Vec<TokenAddress>, DbErr> {
    token_address::Entity::find()
        .filter(token_address::Column::TokenId.eq(token_id))
        .filter(token_address::Column::Ip.is_in(ips))
        .all(db)
        .await
}

/// The token's most recently seen addresses.
pub async fn addresses(db: &impl ConnectionTrait, token_id: i64, limit: u64) -> Result<Vec<TokenAddress>, DbErr> {
    token_address::Entity::find()
        .filter(token_address::Column::TokenId.eq(token_id))
        .order_by_desc(token_address::Column::LastSeen)
        .limit(limit)
        .all(db)
        .await
}

/// Deletes counters older than `before`, and addresses last seen before it.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let usage = token_usage::Entity::delete_many().filter(token_usage::Column::Hour.lt(before)).exec(db).await?;
    let addresses =
        token_address::Entity::delete_many().filter(token_address::Column::LastSeen.lt(before)).exec(db).await?;
    Ok(usage.rows_affected + addresses.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_in_order_with_few_sizes() {
        for len in [0, 1, 4, 5, 6, 99, 100, 101, 499, 500, 1_234, 70_001] {
            let items: Vec<usize> = (0..len).collect();
            let cut: Vec<&[usize]> = chunks(&items).collect();
            assert_eq!(cut.concat(), items, "{len}");
            assert!(cut.iter().all(|chunk| CHUNK_SIZES.contains(&chunk.len())), "{len}");
            // Largest first, so at most a few of each smaller size.
            assert!(cut.windows(2).all(|pair| pair[0].len() >= pair[1].len()), "{len}");
            assert!(cut.iter().filter(|chunk| chunk.len() < 500).count() <= 4 + 3 + 4 + 4, "{len}");
        }
    }
}
