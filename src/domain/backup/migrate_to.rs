//! SQLite → PostgreSQL (`allot migrate-to postgres://…`): the installation's SQLite database
//! copied, table by table and row by row, into an empty PostgreSQL database migrated by this
//! build, in one PostgreSQL transaction.
//!
//! Generic over the schema: the tables, their columns and the foreign keys between them are
//! read from the two databases, never listed here, so a new table or column is copied without a
//! change to this file (and a table only one side has stops the copy). Each batch of rows
//! leaves SQLite as JSON (`json_object`) and enters PostgreSQL through
//! `json_populate_recordset`, which converts every value with its column's type: SQLite's 0/1
//! booleans, its timestamps kept as text and NULLs arrive as PostgreSQL's own.
//!
//! The source is read in one read transaction, a snapshot; the server should be stopped, or
//! what it writes after the snapshot is not in the copy.
//!
//! Over 500 lines with its unit tests (the code itself is about 510): the checks, the copy
//! and the sequence reset are one operation that reads top to bottom; split it into
//! `migrate_to/{checks, copy}.rs` when it grows.

use super::*;
use crate::domain::db;
use diesel::pg::PgConnection;
use diesel::sql_types::Integer;
use diesel_migrations::MigrationHarness;
use std::collections::{BTreeMap, BTreeSet};

/// Rows per INSERT: a batch is one JSON document of about a megabyte at allot's widest rows,
/// so memory stays bounded whatever the size of a table.
const BATCH: usize = 2000;

/// What `migrate_to` copied: every table with its rows, counted again on PostgreSQL before the
/// commit and equal to SQLite's count.
#[derive(Debug)]
pub struct Migrated {
    pub source: PathBuf,
    /// The target's URL without its password.
    pub target: String,
    /// In the order they were copied (parents before the tables that refer to them).
    pub tables: Vec<TableRows>,
    /// How many identity/serial sequences were moved past their column's highest value.
    pub sequences: usize,
}

/// Why the copy stopped: a refusal or a database error, already worded for the terminal.
struct Stop(String);

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Stop {
        Stop(e.to_string())
    }
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct TypedColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    column_default: Option<String>,
    #[diesel(sql_type = Text)]
    is_identity: String,
}

#[derive(QueryableByName)]
struct Reference {
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    row: String,
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    row_count: i64,
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = Integer)]
    n: i32,
}

/// Copies the SQLite database at `database_url` (the configured one) into the PostgreSQL
/// database at `target_url`: runs this build's PostgreSQL migrations there, refuses when the
/// target holds any row or the two databases' migrations or tables differ, then copies every
/// row in one transaction (all or nothing), parents first, sets every sequence past its
/// column's highest value and compares the row counts of every table before committing.
pub fn migrate_to(database_url: &str, target_url: &str) -> Result<Migrated, String> {
    if Backend::of_url(database_url) == Backend::Postgres {
        return Err(
            "DATABASE_URL already names a PostgreSQL database; migrate-to copies a SQLite installation into PostgreSQL"
                .into(),
        );
    }
    if Backend::of_url(target_url) != Backend::Postgres {
        return Err(format!(
            "the target must be a postgres:// URL, not '{}'",
            without_password(target_url).0
        ));
    }
    let source = sqlite_path(database_url)?;
    if !source.is_file() {
        return Err(format!(
            "there is no database at {} to migrate",
            source.display()
        ));
    }
    let shown = without_password(target_url).0;
    let mut sqlite = open(path_text(&source).map_err(|Stop(m)| m)?)?;
    let mut pg = PgConnection::establish(target_url)
        .map_err(|e| format!("cannot connect to {shown}: {}", first_line(&e.to_string())))?;

    // One snapshot of the source for every check and every row below.
    sqlite
        .batch_execute("BEGIN")
        .map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    let result = check_and_copy(&mut sqlite, &mut pg, &source, &shown);
    let _ = sqlite.batch_execute("ROLLBACK");
    let (tables, sequences) = result.map_err(|Stop(message)| one_line(&message))?;
    Ok(Migrated {
        source,
        target: shown,
        tables,
        sequences,
    })
}

fn check_and_copy(
    sqlite: &mut SqliteConnection,
    pg: &mut PgConnection,
    source: &Path,
    shown: &str,
) -> Result<(Vec<TableRows>, usize), Stop> {
    let named = source.display().to_string();
    let not_allot = |e: diesel::result::Error| {
        Stop(format!(
            "{named} is not a database of allot ({MIGRATIONS_TABLE}: {e})"
        ))
    };

    // The same migrations on both sides, so the same tables and columns.
    let ours = db::migration_versions(Backend::Postgres).map_err(Stop)?;
    let theirs: Vec<Version> = diesel::sql_query(format!(
        "SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version"
    ))
    .load(sqlite)
    .map_err(not_allot)?;
    let theirs: BTreeSet<String> = theirs.into_iter().map(|v| v.version).collect();
    let ours_set: BTreeSet<String> = ours.iter().cloned().collect();
    if theirs != ours_set {
        let missing: Vec<&String> = ours_set.difference(&theirs).collect();
        let unknown: Vec<&String> = theirs.difference(&ours_set).collect();
        return Err(Stop(if unknown.is_empty() {
            format!(
                "{named} lacks {} of this build's migrations (from {}); run allot migrate on it first, then migrate-to",
                missing.len(),
                missing[0]
            )
        } else {
            format!(
                "{named} has migrations this build does not know ({}); run migrate-to with the allot that made it",
                join(&unknown)
            )
        }));
    }

    // Migrating creates allot's tables: not beside someone else's.
    let existing: Vec<Column> = diesel::sql_query(
        "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
    )
    .load(pg)
    .map_err(|e| Stop(format!("cannot read {shown}: {e}")))?;
    if !existing.is_empty() && !existing.iter().any(|t| t.name == MIGRATIONS_TABLE) {
        return Err(Stop(format!(
            "{shown} already holds tables that are not allot's ({} first); migrate-to fills only an empty database",
            existing[0].name
        )));
    }
    pg.run_pending_migrations(db::POSTGRES_MIGRATIONS)
        .map_err(|e| Stop(format!("cannot migrate {shown}: {e}")))?;
    let applied: Vec<Version> = diesel::sql_query(format!(
        "SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version"
    ))
    .load(pg)?;
    let applied: BTreeSet<String> = applied.into_iter().map(|v| v.version).collect();
    if applied != ours_set {
        return Err(Stop(format!(
            "{shown} has migrations this build does not know ({}); it is not for this allot",
            join(&applied.difference(&ours_set).collect::<Vec<_>>())
        )));
    }

    let source_tables = sqlite_tables(sqlite).map_err(not_allot)?;
    let columns = postgres_columns(pg)?;
    let target_tables: BTreeSet<String> = columns.keys().cloned().collect();
    if source_tables != target_tables {
        let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
            a.difference(b).cloned().collect::<Vec<_>>().join(", ")
        };
        return Err(Stop(format!(
            "the two schemas differ: only in SQLite: [{}]; only in PostgreSQL: [{}]",
            only(&source_tables, &target_tables),
            only(&target_tables, &source_tables)
        )));
    }
    for (table, target_columns) in &columns {
        let source_columns: BTreeSet<String> = sqlite_columns(sqlite, table)?.into_iter().collect();
        let target_columns: BTreeSet<String> = target_columns
            .iter()
            .map(|c| c.column_name.clone())
            .collect();
        if source_columns != target_columns {
            return Err(Stop(format!(
                "the columns of {table} differ: SQLite has [{}], PostgreSQL [{}]",
                join(&source_columns.iter().collect::<Vec<_>>()),
                join(&target_columns.iter().collect::<Vec<_>>())
            )));
        }
    }

    for table in &target_tables {
        let found: Exists = diesel::sql_query(format!(
            "SELECT EXISTS (SELECT 1 FROM {}) AS found",
            quoted(table)
        ))
        .get_result(pg)?;
        if found.found {
            return Err(Stop(format!(
                "{shown} already holds data (table {table} has rows); migrate-to fills only an empty database"
            )));
        }
    }

    let order = copy_order(&target_tables, &foreign_keys(pg)?).map_err(Stop)?;
    pg.transaction(|pg| {
        // The source's values are final, triggers included (a group's member_count, a row's
        // version): the target's own triggers must not count them again. USER leaves the
        // foreign key checks on; the parents-first order satisfies them.
        for table in &order {
            pg.batch_execute(&format!(
                "ALTER TABLE {} DISABLE TRIGGER USER",
                quoted(table)
            ))?;
        }
        let mut tables = Vec::with_capacity(order.len());
        for table in &order {
            let copied = copy_table(sqlite, pg, table)
                .map_err(|e| Stop(format!("cannot copy table {table}: {e}")))?;
            let on_source: Count = diesel::sql_query(format!(
                "SELECT count(*) AS row_count FROM {}",
                quoted(table)
            ))
            .get_result(sqlite)?;
            let on_target: Count = diesel::sql_query(format!(
                "SELECT count(*) AS row_count FROM {}",
                quoted(table)
            ))
            .get_result(pg)?;
            if copied != on_source.row_count || on_target.row_count != on_source.row_count {
                return Err(Stop(format!(
                    "table {table} has {} rows in SQLite but {} were copied and PostgreSQL counts {}; nothing was migrated",
                    on_source.row_count, copied, on_target.row_count
                )));
            }
            tables.push(TableRows {
                table: table.clone(),
                rows: on_target.row_count,
            });
        }
        for table in &order {
            pg.batch_execute(&format!("ALTER TABLE {} ENABLE TRIGGER USER", quoted(table)))?;
        }
        let sequences = reset_sequences(pg, &columns)?;
        Ok((tables, sequences))
    })
}

/// Streams `table`'s rows from SQLite to PostgreSQL in batches; returns how many.
fn copy_table(
    sqlite: &mut SqliteConnection,
    pg: &mut PgConnection,
    table: &str,
) -> Result<i64, diesel::result::Error> {
    let columns = sqlite_columns(sqlite, table)?;
    let pairs: Vec<String> = columns
        .iter()
        .map(|c| format!("'{}', {}", c.replace('\'', "''"), quoted(c)))
        .collect();
    let select = format!(
        "SELECT json_object({}) AS row FROM {}",
        pairs.join(", "),
        quoted(table)
    );
    let insert = format!(
        "WITH inserted AS (INSERT INTO {t} SELECT * FROM json_populate_recordset(NULL::{t}, $1::json) RETURNING 1) SELECT count(*)::int AS n FROM inserted",
        t = quoted(table)
    );
    let mut copied = 0i64;
    let mut batch = String::with_capacity(1 << 20);
    let mut in_batch = 0usize;
    for row in diesel::sql_query(&select).load_iter::<JsonRow, _>(sqlite)? {
        let row = row?;
        batch.push(if in_batch == 0 { '[' } else { ',' });
        batch.push_str(&row.row);
        in_batch += 1;
        if in_batch == BATCH {
            copied += insert_rows(pg, &insert, &mut batch)?;
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        copied += insert_rows(pg, &insert, &mut batch)?;
    }
    Ok(copied)
}

/// Inserts one batch (a JSON array missing its closing bracket) and empties it.
fn insert_rows(
    pg: &mut PgConnection,
    insert: &str,
    batch: &mut String,
) -> Result<i64, diesel::result::Error> {
    batch.push(']');
    let done: Inserted = diesel::sql_query(insert)
        .bind::<Text, _>(batch.as_str())
        .get_result(pg)?;
    batch.clear();
    Ok(i64::from(done.n))
}

/// Sets each sequence that fills a column (serial or identity) so its next value is one past
/// the column's highest: the server's next insert gets a new id, not a copied one.
fn reset_sequences(
    pg: &mut PgConnection,
    columns: &BTreeMap<String, Vec<TypedColumn>>,
) -> Result<usize, diesel::result::Error> {
    let mut reset = 0;
    for (table, columns) in columns {
        for c in columns {
            let filled = c.is_identity == "YES"
                || c.column_default
                    .as_deref()
                    .is_some_and(|d| d.starts_with("nextval("));
            if !filled {
                continue;
            }
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(max({c}), 0) + 1, false) FROM {t}",
                c = quoted(&c.column_name),
                t = quoted(table)
            ))
            .bind::<Text, _>(quoted(table))
            .bind::<Text, _>(&c.column_name)
            .execute(pg)?;
            reset += 1;
        }
    }
    Ok(reset)
}

/// The order to copy `tables` in: every table after the tables its foreign keys refer to
/// (Kahn's algorithm, alphabetical among equals so the order is the same on every run).
/// `references` holds (child, parent) pairs; a table referring to itself is not held back.
pub fn copy_order(
    tables: &BTreeSet<String>,
    references: &[(String, String)],
) -> Result<Vec<String>, String> {
    let mut waiting_on: BTreeMap<&str, BTreeSet<&str>> = tables
        .iter()
        .map(|t| (t.as_str(), BTreeSet::new()))
        .collect();
    for (child, parent) in references {
        if child != parent && tables.contains(parent) {
            if let Some(parents) = waiting_on.get_mut(child.as_str()) {
                parents.insert(parent.as_str());
            }
        }
    }
    let mut order: Vec<String> = Vec::with_capacity(tables.len());
    while !waiting_on.is_empty() {
        let ready: Vec<&str> = waiting_on
            .iter()
            .filter(|(_, parents)| parents.is_empty())
            .map(|(t, _)| *t)
            .collect();
        if ready.is_empty() {
            return Err(format!(
                "the foreign keys among {} form a cycle; they cannot be copied parents first",
                waiting_on.keys().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        for table in ready {
            waiting_on.remove(table);
            for parents in waiting_on.values_mut() {
                parents.remove(table);
            }
            order.push(table.to_owned());
        }
    }
    Ok(order)
}

/// The tables of a SQLite database of allot, without SQLite's and diesel's own, nor the full
/// text indexes (a virtual table and its shadow tables, `users_search_*`): SQLite-only, they
/// are derived from the tables copied (PostgreSQL has its own indexes instead).
fn sqlite_tables(sqlite: &mut SqliteConnection) -> Result<BTreeSet<String>, diesel::result::Error> {
    let names: Vec<Column> = diesel::sql_query(
        "SELECT name FROM sqlite_schema s WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND NOT EXISTS (SELECT 1 FROM sqlite_schema v WHERE v.type = 'table' \
         AND v.sql LIKE 'CREATE VIRTUAL TABLE%' \
         AND (s.name = v.name OR substr(s.name, 1, length(v.name) + 1) = v.name || '_')) \
         ORDER BY name",
    )
    .load(sqlite)?;
    Ok(names
        .into_iter()
        .map(|t| t.name)
        .filter(|n| n != MIGRATIONS_TABLE)
        .collect())
}

fn sqlite_columns(
    sqlite: &mut SqliteConnection,
    table: &str,
) -> Result<Vec<String>, diesel::result::Error> {
    let columns: Vec<Column> =
        diesel::sql_query("SELECT name FROM pragma_table_info(?) ORDER BY cid")
            .bind::<Text, _>(table)
            .load(sqlite)?;
    Ok(columns.into_iter().map(|c| c.name).collect())
}

/// Every table of the target's schema (without diesel's) with its columns.
fn postgres_columns(
    pg: &mut PgConnection,
) -> Result<BTreeMap<String, Vec<TypedColumn>>, diesel::result::Error> {
    let rows: Vec<TypedColumn> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                c.column_default::text AS column_default, c.is_identity::text AS is_identity \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> $1 \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .bind::<Text, _>(MIGRATIONS_TABLE)
    .load(pg)?;
    let mut tables: BTreeMap<String, Vec<TypedColumn>> = BTreeMap::new();
    for row in rows {
        tables.entry(row.table_name.clone()).or_default().push(row);
    }
    Ok(tables)
}

/// The target's foreign keys as (child table, parent table).
fn foreign_keys(pg: &mut PgConnection) -> Result<Vec<(String, String)>, diesel::result::Error> {
    let rows: Vec<Reference> = diesel::sql_query(
        "SELECT DISTINCT ch.relname::text AS child, pa.relname::text AS parent \
         FROM pg_constraint c \
         JOIN pg_class ch ON ch.oid = c.conrelid \
         JOIN pg_class pa ON pa.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = ch.relnamespace \
         WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .load(pg)?;
    Ok(rows.into_iter().map(|r| (r.child, r.parent)).collect())
}

/// An identifier quoted for SQL (both databases quote with double quotes).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A message for the terminal's one line: a server's multi-line text joined.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_owned()
}

fn path_text(path: &Path) -> Result<&str, Stop> {
    path.to_str()
        .ok_or_else(|| Stop(format!("{} is not a UTF-8 path", path.display())))
}

impl fmt::Display for Migrated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Migrated {} into {} in one transaction; the row counts of every table are equal on both sides; {} sequences set past their highest ids; ",
            self.source.display(),
            self.target,
            self.sequences
        )?;
        write_tables(f, &self.tables)?;
        write!(
            f,
            "\nNext: set DATABASE_URL to the PostgreSQL URL and start allot; keep {} as a backup.",
            self.source.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn pair(child: &str, parent: &str) -> (String, String) {
        (child.into(), parent.into())
    }

    #[test]
    fn parents_are_copied_before_the_tables_that_refer_to_them() {
        let order = copy_order(
            &set(&["users", "tenants", "user_roles", "audit_log"]),
            &[
                pair("users", "tenants"),
                pair("user_roles", "users"),
                pair("user_roles", "tenants"),
                pair("audit_log", "tenants"),
                pair("audit_log", "audit_log"),
            ],
        )
        .unwrap();
        assert_eq!(order, ["tenants", "audit_log", "users", "user_roles"]);
    }

    #[test]
    fn a_cycle_of_foreign_keys_is_refused() {
        let e = copy_order(&set(&["a", "b"]), &[pair("a", "b"), pair("b", "a")]).unwrap_err();
        assert!(e.contains("form a cycle"), "{e}");
    }

    #[test]
    fn both_backends_carry_the_same_migrations() {
        assert_eq!(
            db::migration_versions(Backend::Sqlite).unwrap(),
            db::migration_versions(Backend::Postgres).unwrap()
        );
    }
}
