//! Pieces of SQL that Diesel's statement cache keeps.
//!
//! Diesel's `eq_any` of a list writes one `?` per value on SQLite, and its SQL
//! literals (`sql`, `sql_query`) opt out of the statement cache: either way the
//! statement is compiled afresh on every run, on every page that names members
//! or companies by id. [`JsonEachIn`] writes `column IN (SELECT value FROM
//! json_each(?))` with the values bound as one JSON array, the same SQL every
//! time. It hides the number of values from SQLite's planner, which then may
//! walk a whole index rather than look each one up: so it serves lookups by key
//! and, on purpose, the list's walk over a large share of a tenant's leads
//! (`Search::Numbers` and `Search::Among` in `leads::list`). [`FixedSql`] is
//! `sql_query` for text that never changes, which the cache may then keep.

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};

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

/// For the two-backend connection and for SQLite's own (the list's query runs
/// on the latter, see `on_backend!`).
impl<DB> QueryFragment<DB> for JsonEachIn
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<Text>,
    String: diesel::serialize::ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> diesel::QueryResult<()> {
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

/// Runs `$body` with `$c` as the backend's own connection (`SqliteConnection`
/// or `PgConnection`) rather than the two-backend [`crate::db::DbConnection`],
/// for a query that reads the same on both and runs on every page.
///
/// Through the two-backend connection, Diesel writes a query's SQL text on
/// every run, to find it in the statement cache and again while it collects the
/// binds, and converts each bind and each value read through its own types;
/// 12% of a list page's work was that writing (every identifier quoted anew),
/// 8% those conversions. On the backend's own connection a query whose type
/// says all of its SQL (no boxed query, no `IN` list) is found in the cache by
/// its type, and its SQL never written again.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match &mut *$conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgresql($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// `query LIMIT n` with `n` written into the SQL text rather than bound.
///
/// PostgreSQL keeps a prepared statement's generic plan only if it costs about
/// what the plans made for each run's values cost, and a generic plan of a
/// bound `LIMIT $n` is costed as if it read a tenth of the rows. So the list's
/// query was planned afresh on every run at 10,000 leads a tenant (0.26 ms of
/// planning for 0.25 ms of execution), and only small tenants got the generic
/// plan. With the limit in the text, the generic plan is costed for the page it
/// reads and kept. The text, and so the prepared statement, differs only per
/// page size (a handful of values).
#[derive(Debug, Clone)]
pub(crate) struct LiteralLimit<Q> {
    pub query: Q,
    pub limit: i64,
}

impl<Q> QueryId for LiteralLimit<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for LiteralLimit<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> diesel::RunQueryDsl<C> for LiteralLimit<Q> {}

impl<Q, DB> QueryFragment<DB> for LiteralLimit<Q>
where
    DB: diesel::backend::Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> diesel::QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_sql(&self.limit.to_string());
        Ok(())
    }
}

/// A value bound into a [`FixedSql`] statement.
#[derive(Debug, Clone)]
pub(super) enum Value {
    Text(String),
    BigInt(i64),
}

/// A SQLite statement of fixed text with numbered placeholders (`$1`, `$2`,
/// each as often as the text needs it) and its values: what `sql_query` does,
/// but kept compiled in Diesel's statement cache (the text written out, one
/// `?` per use, is the same on every run). For the search's statements, whose
/// full-text `MATCH` and `UNION ALL` the query builder does not write.
#[derive(Debug, Clone)]
pub(super) struct FixedSql {
    pub sql: &'static str,
    pub values: Vec<Value>,
}

impl QueryId for FixedSql {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for FixedSql {
    type SqlType = diesel::sql_types::Untyped;
}

impl<C> diesel::RunQueryDsl<C> for FixedSql {}

impl QueryFragment<diesel::sqlite::Sqlite> for FixedSql {
    fn walk_ast<'b>(
        &'b self,
        mut out: AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> diesel::QueryResult<()> {
        let mut rest = self.sql;
        while let Some(at) = rest.find('$') {
            out.push_sql(&rest[..at]);
            let digits = rest[at + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(rest.len() - at - 1, |end| end);
            let value = rest[at + 1..at + 1 + digits]
                .parse::<usize>()
                .ok()
                .and_then(|n| self.values.get(n.checked_sub(1)?))
                .ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("no value for placeholder in {:?}", self.sql).into(),
                    )
                })?;
            match value {
                Value::Text(text) => out.push_bind_param::<Text, String>(text)?,
                Value::BigInt(n) => out.push_bind_param::<diesel::sql_types::BigInt, i64>(n)?,
            }
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::{FixedSql, LiteralLimit, Value};

    /// The limit is part of the text, not a bound value, on PostgreSQL; on
    /// SQLite the query runs with it.
    #[test]
    fn a_literal_limit_is_written_into_the_text() {
        use crate::db::schema::tenants;
        let query = LiteralLimit {
            query: tenants::table
                .filter(tenants::slug.eq("acme"))
                .select(tenants::slug),
            limit: 51,
        };
        let sql = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
        assert!(sql.contains(" LIMIT 51 -- binds: [\"acme\"]"), "{sql}");
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        let rows: Vec<String> = LiteralLimit {
            query: diesel::dsl::sql::<diesel::sql_types::Text>(
                "SELECT 'a' UNION ALL SELECT 'b' UNION ALL SELECT 'c'",
            ),
            limit: 2,
        }
        .load(&mut c)
        .unwrap();
        assert_eq!(rows, ["a", "b"]);
    }

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        a: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        b: i64,
    }

    /// Each numbered placeholder gets its value, however often and in whatever
    /// order the text uses it; a number without a value is an error, not a
    /// statement with a missing bind.
    #[test]
    fn numbered_placeholders_bind_their_values() {
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        let query = FixedSql {
            sql: "SELECT $2 || $1 || $2 AS a, $3 + $3 AS b",
            values: vec![
                Value::Text("x".into()),
                Value::Text("y".into()),
                Value::BigInt(20),
            ],
        };
        let row: Row = query.clone().get_result(&mut c).unwrap();
        assert_eq!(
            row,
            Row {
                a: "yxy".into(),
                b: 40
            }
        );
        // The same statement again, now from the cache, with other values.
        let again = FixedSql {
            values: vec![
                Value::Text("p".into()),
                Value::Text("q".into()),
                Value::BigInt(1),
            ],
            ..query
        };
        assert_eq!(
            again.get_result::<Row>(&mut c).unwrap(),
            Row {
                a: "qpq".into(),
                b: 2
            }
        );
        let missing = FixedSql {
            sql: "SELECT $1 AS a, $4 AS b",
            values: vec![Value::Text("x".into())],
        };
        assert!(missing.get_result::<Row>(&mut c).is_err());
    }
}
