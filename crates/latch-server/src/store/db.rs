//! The one way the store's modules talk to either database: a statement with `$n` parameters,
//! its arguments, and rows read by column name.
//!
//! SQLite runs on `rusqlite`, synchronously on the calling thread: a statement is a function
//! call on a connection this thread holds (with its prepared statement cached), not a round
//! trip to another thread. PostgreSQL runs on `sqlx`. Both take the same SQL text: `$1` is a
//! numbered parameter to PostgreSQL and a named one to SQLite, bound here by its name, so a
//! parameter may appear twice or out of order. Integers and flags are BIGINT (0/1), bytes
//! BLOB/BYTEA, which both decode the same way.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Column, Postgres, Row as _, Transaction, TypeInfo};

use super::sqlite::Pooled;

/// A database failure, or a value that does not decode as asked.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Postgres(#[from] sqlx::Error),
    #[error("column {column}: {what}")]
    Decode { column: String, what: String },
    #[error("cannot encode a value: {0}")]
    Encode(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the query returned no row")]
    RowNotFound,
    #[error("{0}")]
    Other(String),
}

impl DbError {
    pub fn decode(column: &str, what: impl Into<String>) -> DbError {
        DbError::Decode {
            column: column.to_owned(),
            what: what.into(),
        }
    }

    /// A unique (or primary-key) constraint refused the row: it exists already.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            DbError::Postgres(e) => e
                .as_database_error()
                .is_some_and(|d| d.is_unique_violation()),
            _ => false,
        }
    }
}

/// A connection to either database, for reads and writes alike.
pub enum Conn {
    /// A SQLite connection, from the reader pool or the group-commit writer's own.
    Sqlite(Pooled),
    Postgres(PoolConnection<Postgres>),
    /// A PostgreSQL connection inside a transaction (rolled back when dropped uncommitted).
    PostgresTx(Transaction<'static, Postgres>),
}

impl Conn {
    /// Returns the connection to its pool now, before a wait (for a write, say) during which
    /// holding it would keep it from other requests.
    pub fn give_back(self) {}
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conn::Sqlite(_) => "Conn::Sqlite",
            Conn::Postgres(_) => "Conn::Postgres",
            Conn::PostgresTx(_) => "Conn::PostgresTx",
        })
    }
}

/// A statement argument. Nulls carry their type, which PostgreSQL needs to bind them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Arg {
        Arg::Int(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(Some(v.to_owned()))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Arg {
        Arg::Text(Some(v.clone()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(Some(v))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Arg {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Arg {
        Arg::Text(v.map(str::to_owned))
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Arg {
        Arg::Blob(Some(v))
    }
}
impl From<&[u8]> for Arg {
    fn from(v: &[u8]) -> Arg {
        Arg::Blob(Some(v.to_vec()))
    }
}
impl From<Option<Vec<u8>>> for Arg {
    fn from(v: Option<Vec<u8>>) -> Arg {
        Arg::Blob(v)
    }
}

/// A value read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A type a column can be read as.
pub trait Decode: Sized {
    /// `None` when the value is of another type.
    fn decode(value: &Value) -> Option<Self>;
}

impl Decode for i64 {
    fn decode(value: &Value) -> Option<i64> {
        match value {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }
}
impl Decode for String {
    fn decode(value: &Value) -> Option<String> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}
impl Decode for Vec<u8> {
    fn decode(value: &Value) -> Option<Vec<u8>> {
        match value {
            Value::Blob(v) => Some(v.clone()),
            _ => None,
        }
    }
}
impl<T: Decode> Decode for Option<T> {
    fn decode(value: &Value) -> Option<Option<T>> {
        match value {
            Value::Null => Some(None),
            other => T::decode(other).map(Some),
        }
    }
}

/// One row of a result, its columns found by name.
#[derive(Debug, Clone)]
pub struct Row {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    pub fn try_get<T: Decode>(&self, column: &str) -> Result<T, DbError> {
        let value = self
            .names
            .iter()
            .position(|n| n == column)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| DbError::decode(column, "no such column"))?;
        T::decode(value).ok_or_else(|| DbError::decode(column, format!("unexpected {value:?}")))
    }
}

/// What a statement that returns no rows did.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

/// A statement and its arguments, bound in order to `$1`, `$2`, ….
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until it is executed or fetched"]
pub struct Query<'q> {
    sql: &'q str,
    args: Vec<Arg>,
}

pub fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
    }
}

impl<'q> Query<'q> {
    pub fn bind(mut self, arg: impl Into<Arg>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub async fn execute(self, conn: &mut Conn) -> Result<Done, DbError> {
        let rows = match conn {
            Conn::Sqlite(c) => return sqlite_execute(c.connection()?, self.sql, &self.args),
            Conn::Postgres(c) => self.postgres().execute(&mut **c).await?,
            Conn::PostgresTx(c) => self.postgres().execute(&mut **c).await?,
        };
        Ok(Done {
            rows: rows.rows_affected(),
        })
    }

    pub async fn fetch_all(self, conn: &mut Conn) -> Result<Vec<Row>, DbError> {
        let rows = match conn {
            Conn::Sqlite(c) => return sqlite_fetch(c.connection()?, self.sql, &self.args, None),
            Conn::Postgres(c) => self.postgres().fetch_all(&mut **c).await?,
            Conn::PostgresTx(c) => self.postgres().fetch_all(&mut **c).await?,
        };
        postgres_rows(&rows)
    }

    pub async fn fetch_optional(self, conn: &mut Conn) -> Result<Option<Row>, DbError> {
        let row = match conn {
            Conn::Sqlite(c) => {
                let rows = sqlite_fetch(c.connection()?, self.sql, &self.args, Some(1))?;
                return Ok(rows.into_iter().next());
            }
            Conn::Postgres(c) => self.postgres().fetch_optional(&mut **c).await?,
            Conn::PostgresTx(c) => self.postgres().fetch_optional(&mut **c).await?,
        };
        Ok(postgres_rows(row.as_slice())?.into_iter().next())
    }

    pub async fn fetch_one(self, conn: &mut Conn) -> Result<Row, DbError> {
        self.fetch_optional(conn).await?.ok_or(DbError::RowNotFound)
    }

    fn postgres(self) -> sqlx::query::Query<'q, Postgres, PgArguments> {
        let mut query = sqlx::query::<Postgres>(self.sql);
        for arg in self.args {
            query = match arg {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::Blob(v) => query.bind(v),
            };
        }
        query
    }
}

/// The `$n` names SQLite knows the parameters by, for the counts statements here bind.
const PARAMETER_NAMES: [&str; 24] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16", "$17", "$18", "$19", "$20", "$21", "$22", "$23", "$24",
];

fn sqlite_bind(statement: &mut rusqlite::CachedStatement<'_>, args: &[Arg]) -> Result<(), DbError> {
    if statement.parameter_count() != args.len() {
        return Err(DbError::Other(format!(
            "the statement has {} parameters, {} arguments were given",
            statement.parameter_count(),
            args.len()
        )));
    }
    for (i, arg) in args.iter().enumerate() {
        let name = PARAMETER_NAMES
            .get(i)
            .ok_or_else(|| DbError::Other(format!("more than {} arguments", i)))?;
        let index = statement
            .parameter_index(name)?
            .ok_or_else(|| DbError::Other(format!("the statement has no parameter {name}")))?;
        match arg {
            Arg::Int(v) => statement.raw_bind_parameter(index, v)?,
            Arg::Text(v) => statement.raw_bind_parameter(index, v)?,
            Arg::Blob(v) => statement.raw_bind_parameter(index, v)?,
        }
    }
    Ok(())
}

fn sqlite_execute(conn: &rusqlite::Connection, sql: &str, args: &[Arg]) -> Result<Done, DbError> {
    let mut statement = conn.prepare_cached(sql)?;
    sqlite_bind(&mut statement, args)?;
    let rows = if statement.column_count() == 0 {
        statement.raw_execute()?
    } else {
        // A statement that returns rows (`RETURNING`, a `SELECT`), run for its effect.
        let readonly = statement.readonly();
        let mut rows = statement.raw_query();
        while rows.next()?.is_some() {}
        if readonly {
            0
        } else {
            usize::try_from(conn.changes()).unwrap_or(usize::MAX)
        }
    };
    Ok(Done {
        rows: u64::try_from(rows).unwrap_or(u64::MAX),
    })
}

fn sqlite_fetch(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg],
    limit: Option<usize>,
) -> Result<Vec<Row>, DbError> {
    let mut statement = conn.prepare_cached(sql)?;
    sqlite_bind(&mut statement, args)?;
    let names: Arc<[String]> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            values.push(match row.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(v) => Value::Int(v),
                rusqlite::types::ValueRef::Real(v) => Value::Real(v),
                rusqlite::types::ValueRef::Text(v) => Value::Text(
                    String::from_utf8(v.to_vec())
                        .map_err(|_| DbError::decode(name, "text that is not UTF-8"))?,
                ),
                rusqlite::types::ValueRef::Blob(v) => Value::Blob(v.to_vec()),
            });
        }
        out.push(Row {
            names: names.clone(),
            values,
        });
        if limit.is_some_and(|n| out.len() >= n) {
            break;
        }
    }
    Ok(out)
}

fn postgres_rows(rows: &[PgRow]) -> Result<Vec<Row>, DbError> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let names: Arc<[String]> = first
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    rows.iter()
        .map(|row| {
            let values = row
                .columns()
                .iter()
                .map(|column| postgres_value(row, column))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Row {
                names: names.clone(),
                values,
            })
        })
        .collect()
}

fn postgres_value(row: &PgRow, column: &sqlx::postgres::PgColumn) -> Result<Value, DbError> {
    let i = column.ordinal();
    let value = match column.type_info().name() {
        "INT8" => row.try_get::<Option<i64>, _>(i)?.map(Value::Int),
        "INT4" => row
            .try_get::<Option<i32>, _>(i)?
            .map(|v| Value::Int(v.into())),
        "INT2" => row
            .try_get::<Option<i16>, _>(i)?
            .map(|v| Value::Int(v.into())),
        "BOOL" => row
            .try_get::<Option<bool>, _>(i)?
            .map(|v| Value::Int(v.into())),
        "FLOAT8" => row.try_get::<Option<f64>, _>(i)?.map(Value::Real),
        "TEXT" | "VARCHAR" | "NAME" | "BPCHAR" => {
            row.try_get::<Option<String>, _>(i)?.map(Value::Text)
        }
        "BYTEA" => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Blob),
        other => {
            return Err(DbError::decode(
                column.name(),
                format!("PostgreSQL type {other} is not read here"),
            ))
        }
    };
    Ok(value.unwrap_or(Value::Null))
}
