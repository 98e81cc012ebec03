//! Pieces of SQL that Diesel's statement cache keeps.
//!
//! Diesel's `eq_any` of a list writes one `?` per value on SQLite, and its SQL
//! literals (`sql`, `sql_query`) opt out of the statement cache: either way the
//! statement is compiled afresh on every run, on every page that names members
//! or companies by id. [`JsonEachIn`] writes `column IN (SELECT value FROM
//! json_each(?))` with the values bound as one JSON array, the same SQL every
//! time. Only for lookups by key: it hides the number of values from SQLite's
//! planner, which then may walk a whole index rather than look each one up (see
//! `Search::Numbers` in `leads::list`).

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};

use super::DbBackend;

/// `<column> IN (SELECT value FROM json_each(<json>))`, for SQLite.
#[derive(Debug, Clone)]
pub(super) struct JsonEachIn {
    /// The column, qualified (`leads.number`).
    pub column: &'static str,
    /// The values as a JSON array.
    pub json: String,
}

impl Expression for JsonEachIn {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for JsonEachIn {}

impl<QS> SelectableExpression<QS> for JsonEachIn {}

impl<G> ValidGrouping<G> for JsonEachIn {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for JsonEachIn {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<DbBackend> for JsonEachIn {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DbBackend>) -> diesel::QueryResult<()> {
        // Only this fixed text and one bound value: safe for the cache, which
        // keys the statement by its SQL.
        out.push_sql(self.column);
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, String>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

/// `$query` (a boxed query) filtered by `$column IN ($ids)` with SQL that does
/// not depend on the number of ids (text ids, with `as_str`): on SQLite a
/// [`JsonEachIn`] on `$sql` (the column, qualified) with the ids as one JSON
/// array; on PostgreSQL `eq_any`, which binds one array (`= ANY($1)`) already.
macro_rules! one_of {
    ($query:expr, $conn:expr, $column:expr, $sql:literal, $ids:expr) => {
        match &*$conn {
            $crate::db::DbConnection::Sqlite(_) => {
                $query.filter($crate::db::cached_sql::JsonEachIn {
                    column: $sql,
                    json: serde_json::json!($ids.iter().map(|id| id.as_str()).collect::<Vec<_>>())
                        .to_string(),
                })
            }
            $crate::db::DbConnection::Postgresql(_) => $query.filter($column.eq_any($ids)),
        }
    };
}
pub(crate) use one_of;
