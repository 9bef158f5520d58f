//! `allot migrate-to`: a SQLite installation (the demo plus 100,000 users, with licenses, roles,
//! a big group) moved into PostgreSQL and compared row for row, every table; and the command as
//! an operator runs it, including the refusal of a second run into the now filled target.
//!
//! These need a SQLite source and a PostgreSQL target at once, so they run in the suite's
//! PostgreSQL pass (`ALLOT_TEST_BACKEND=postgres`, the server in `ALLOT_TEST_POSTGRES_URL`);
//! in the SQLite pass they say so and do nothing.

mod common;

use allot::domain::backup;
use allot::domain::db::{self, Backend, DbConnection};
use allot::domain::schema::{
    deleted_user_licenses, group_members, license_assignments, products, tenants, user_groups,
    user_roles, users,
};
use allot::domain::users::{self as directory, NewUser};
use allot::domain::{Actor, TenantId, demo};
use chrono::{Duration, NaiveDateTime};
use common::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

const USERS: usize = 100_000;
const CHUNK: usize = 1000;

/// True in the PostgreSQL pass; in the SQLite pass says loudly that the test is left to it.
fn postgres_pass(test: &str) -> bool {
    if backend() == Backend::Postgres {
        return true;
    }
    eprintln!(
        "SKIPPED {test}: it needs PostgreSQL as the target and runs in the PostgreSQL pass (ALLOT_TEST_BACKEND=postgres)"
    );
    false
}

/// A PostgreSQL database that exists, empty and not migrated, for one test.
struct EmptyPg {
    server: String,
    name: String,
    url: String,
}

impl EmptyPg {
    fn new(tag: &str) -> EmptyPg {
        let server = std::env::var("ALLOT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!(
            "allot_m_{tag}_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_subsec_nanos()
        );
        PgConnection::establish(&server)
            .unwrap_or_else(|e| panic!("no PostgreSQL at {server}: {e}"))
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the target database");
        let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
        let url = format!("{base}/{name}");
        EmptyPg { server, name, url }
    }
}

impl Drop for EmptyPg {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.server) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A SQLite database of allot with the demo, in `dir`.
fn sqlite_with_demo(dir: &Path) -> (String, db::Pool) {
    let url = dir.join("allot.db").to_string_lossy().into_owned();
    let pool = db::connect(&url, 2).expect("a SQLite database");
    assert!(demo::load(&mut pool.get().unwrap(), test_now()).unwrap());
    (url, pool)
}

/// Inserts many rows in one statement on the SQLite connection (diesel's multi-row INSERT
/// is per backend).
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConnection::Postgresql(_) => unreachable!("the source is SQLite"),
        }
    };
}

/// Adds `USERS` users to Contoso in one transaction, as benches/load_tenant.rs does, with
/// something in every kind of value: every second user holds a license (a quarter of those not
/// directly), every tenth is deleted (a timestamp where others have NULL) and remembers its
/// license, every third has an external id, every hundredth a role, and 30,000 are members of
/// one group (whose member_count SQLite's trigger keeps).
fn load_users(conn: &mut DbConnection) {
    let at = test_now().naive_utc();
    let contoso: i64 = tenants::table
        .filter(tenants::name.eq("Contoso"))
        .select(tenants::id)
        .first(conn)
        .unwrap();
    let product: i64 = products::table
        .order(products::id)
        .select(products::id)
        .first(conn)
        .unwrap();
    let hash =
        "$argon2id$v=19$m=19456,t=2,p=1$bWlncmF0ZQ$bWlncmF0ZWQgdXNlcnMgaGF2ZSBubyBwYXNzd29yZA";
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        let names: Vec<String> = (1..=USERS)
            .map(|i| format!("Migrated User {i:06}"))
            .collect();
        let keys: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
        let emails: Vec<String> = (1..=USERS)
            .map(|i| format!("migrated{i:06}@contoso.example"))
            .collect();
        let guids: Vec<String> = (1..=USERS)
            .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
            .collect();
        let externals: Vec<Option<String>> = (1..=USERS)
            .map(|i| (i % 3 == 0).then(|| format!("ext-{i}")))
            .collect();
        let rows: Vec<_> = (0..USERS)
            .map(|k| {
                let deleted = (k + 1) % 10 == 0;
                (
                    users::tenant_id.eq(contoso),
                    users::display_name.eq(names[k].as_str()),
                    users::name_key.eq(keys[k].as_str()),
                    users::email.eq(emails[k].as_str()),
                    users::password_hash.eq(hash),
                    users::state.eq(if deleted { "deleted" } else { "active" }),
                    users::deleted_at.eq(deleted.then(|| at + Duration::days(1))),
                    // Microseconds, so the copy must keep fractions of a second.
                    users::created_at.eq(at + Duration::microseconds(k as i64 * 7_919)),
                    users::guid.eq(guids[k].as_str()),
                    users::external_id.eq(externals[k].as_deref()),
                )
            })
            .collect();
        for chunk in rows.chunks(CHUNK) {
            insert_rows!(conn, users::table, chunk)?;
        }
        let ids: Vec<i64> = users::table
            .filter(users::email.like("migrated%@contoso.example"))
            .order(users::email)
            .select(users::id)
            .load(conn)?;
        assert_eq!(ids.len(), USERS);

        let holders: Vec<_> = ids
            .iter()
            .enumerate()
            .filter(|(k, _)| k % 2 == 0)
            .map(|(k, id)| {
                (
                    license_assignments::tenant_id.eq(contoso),
                    license_assignments::user_id.eq(*id),
                    license_assignments::product_id.eq(product),
                    license_assignments::assigned_at.eq(at - Duration::seconds(k as i64)),
                    license_assignments::direct.eq(k % 8 != 0),
                )
            })
            .collect();
        for chunk in holders.chunks(CHUNK) {
            insert_rows!(conn, license_assignments::table, chunk)?;
        }
        let remembered: Vec<_> = ids
            .iter()
            .enumerate()
            .filter(|(k, _)| (k + 1) % 10 == 0)
            .map(|(_, id)| {
                (
                    deleted_user_licenses::user_id.eq(*id),
                    deleted_user_licenses::product_id.eq(product),
                    deleted_user_licenses::tenant_id.eq(contoso),
                )
            })
            .collect();
        for chunk in remembered.chunks(CHUNK) {
            insert_rows!(conn, deleted_user_licenses::table, chunk)?;
        }
        let roles: Vec<_> = ids
            .iter()
            .step_by(100)
            .map(|id| {
                (
                    user_roles::user_id.eq(*id),
                    user_roles::role.eq("user"),
                    user_roles::tenant_id.eq(contoso),
                )
            })
            .collect();
        for chunk in roles.chunks(CHUNK) {
            insert_rows!(conn, user_roles::table, chunk)?;
        }
        let group: i64 = diesel::insert_into(user_groups::table)
            .values((
                user_groups::tenant_id.eq(contoso),
                user_groups::name.eq("Migrated group"),
                user_groups::name_key.eq("migrated group"),
                user_groups::created_at.eq(at),
            ))
            .returning(user_groups::id)
            .get_result(conn)?;
        let members: Vec<_> = ids[..30_000]
            .iter()
            .map(|id| {
                (
                    group_members::tenant_id.eq(contoso),
                    group_members::group_id.eq(group),
                    group_members::user_id.eq(*id),
                    group_members::added_at.eq(at),
                )
            })
            .collect();
        for chunk in members.chunks(CHUNK) {
            insert_rows!(conn, group_members::table, chunk)?;
        }
        Ok(())
    })
    .unwrap();
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct TypedName {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    row: String,
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The ordinary tables: the full-text index of users (FTS5 and its shadow tables) is an index,
/// which PostgreSQL keeps as a GIN index and `migrate-to` does not copy.
fn sqlite_tables(conn: &mut SqliteConnection) -> BTreeSet<String> {
    diesel::sql_query(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
    )
    .load::<Name>(conn)
    .unwrap()
    .into_iter()
    .map(|t| t.name)
    .collect()
}

fn postgres_tables(conn: &mut PgConnection) -> BTreeSet<String> {
    diesel::sql_query(
        "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema() \
         AND tablename <> '__diesel_schema_migrations'",
    )
    .load::<Name>(conn)
    .unwrap()
    .into_iter()
    .map(|t| t.name)
    .collect()
}

/// A value as both databases mean it: SQLite's 0/1 booleans as booleans, timestamps (SQLite's
/// `2026-11-05 09:00:00.5`, PostgreSQL's `2026-11-05T09:00:00.5`) as the instant they name.
#[derive(Debug, PartialEq)]
enum Normal {
    Json(Value),
    Bool(bool),
    Instant(NaiveDateTime),
}

fn normal(value: &Value, data_type: &str, context: &str) -> Normal {
    match (data_type, value) {
        (_, Value::Null) => Normal::Json(Value::Null),
        ("boolean", Value::Bool(b)) => Normal::Bool(*b),
        ("boolean", Value::Number(n)) => match n.as_i64() {
            Some(0) => Normal::Bool(false),
            Some(1) => Normal::Bool(true),
            _ => panic!("{context}: {n} is no boolean"),
        },
        ("timestamp without time zone", Value::String(s)) => Normal::Instant(
            NaiveDateTime::parse_from_str(&s.replacen('T', " ", 1), "%Y-%m-%d %H:%M:%S%.f")
                .unwrap_or_else(|e| panic!("{context}: '{s}' is no timestamp: {e}")),
        ),
        _ => Normal::Json(value.clone()),
    }
}

/// Compares every row of every table, read in primary key order from both databases; returns
/// the tables compared with their rows.
fn compare_row_for_row(
    sqlite: &mut SqliteConnection,
    pg: &mut PgConnection,
) -> Vec<(String, usize)> {
    let tables = postgres_tables(pg);
    assert_eq!(
        tables,
        sqlite_tables(sqlite),
        "the same tables on both sides"
    );
    let mut compared = Vec::new();
    for table in &tables {
        let columns: Vec<TypedName> = diesel::sql_query(
            "SELECT column_name::text AS name, data_type::text AS data_type \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind::<Text, _>(table)
        .load(pg)
        .unwrap();
        let key: Vec<Name> = diesel::sql_query(
            "SELECT a.attname::text AS name FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
             WHERE i.indrelid = $1::regclass AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind::<Text, _>(quoted(table))
        .load(pg)
        .unwrap();
        assert!(!key.is_empty(), "{table} has a primary key to order by");
        let is_text = |name: &str| {
            columns
                .iter()
                .any(|c| c.name == name && c.data_type == "text")
        };
        // SQLite orders text by its bytes; PostgreSQL does with the C collation.
        let pg_order: Vec<String> = key
            .iter()
            .map(|k| {
                if is_text(&k.name) {
                    format!("{} COLLATE \"C\"", quoted(&k.name))
                } else {
                    quoted(&k.name)
                }
            })
            .collect();
        let sqlite_order: Vec<String> = key.iter().map(|k| quoted(&k.name)).collect();
        let pairs: Vec<String> = columns
            .iter()
            .map(|c| format!("'{}', {}", c.name, quoted(&c.name)))
            .collect();
        let from_sqlite: Vec<JsonRow> = diesel::sql_query(format!(
            "SELECT json_object({}) AS row FROM {} ORDER BY {}",
            pairs.join(", "),
            quoted(table),
            sqlite_order.join(", ")
        ))
        .load(sqlite)
        .unwrap();
        let from_pg: Vec<JsonRow> = diesel::sql_query(format!(
            "SELECT row_to_json(t)::text AS row FROM {} AS t ORDER BY {}",
            quoted(table),
            pg_order.join(", ")
        ))
        .load(pg)
        .unwrap();
        assert_eq!(
            from_sqlite.len(),
            from_pg.len(),
            "{table}: rows on both sides"
        );
        for (i, (a, b)) in from_sqlite.iter().zip(&from_pg).enumerate() {
            let a: Map<String, Value> = serde_json::from_str(&a.row).unwrap();
            let b: Map<String, Value> = serde_json::from_str(&b.row).unwrap();
            assert_eq!(a.len(), columns.len(), "{table}: SQLite's columns");
            assert_eq!(b.len(), columns.len(), "{table}: PostgreSQL's columns");
            for c in &columns {
                let context = format!("{table} row {i} column {}", c.name);
                assert_eq!(
                    normal(&a[&c.name], &c.data_type, &context),
                    normal(&b[&c.name], &c.data_type, &context),
                    "{context}: SQLite {} vs PostgreSQL {}",
                    a[&c.name],
                    b[&c.name]
                );
            }
        }
        compared.push((table.clone(), from_pg.len()));
    }
    compared
}

#[test]
fn the_demo_and_100000_users_move_to_postgresql_row_for_row() {
    if !postgres_pass("the_demo_and_100000_users_move_to_postgresql_row_for_row") {
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (url, pool) = sqlite_with_demo(dir.path());
    load_users(&mut pool.get().unwrap());
    drop(pool);
    let loaded = started.elapsed();

    let target = EmptyPg::new("big");
    let t = Instant::now();
    let migrated = backup::migrate_to(&url, &target.url).expect("the migration succeeds");
    let migrating = t.elapsed();

    let mut sqlite = SqliteConnection::establish(&url).unwrap();
    let mut pg = PgConnection::establish(&target.url).unwrap();
    let t = Instant::now();
    let compared = compare_row_for_row(&mut sqlite, &mut pg);
    let comparing = t.elapsed();

    // Every table of the schema was compared, and was what the migration copied.
    let schema_tables = postgres_tables(&mut pg);
    assert_eq!(compared.len(), schema_tables.len());
    assert_eq!(compared.len(), migrated.tables.len());
    for (table, rows) in &compared {
        let copied = migrated.tables.iter().find(|t| &t.table == table).unwrap();
        assert_eq!(copied.rows as usize, *rows, "{table}");
    }
    let rows = |name: &str| compared.iter().find(|(t, _)| t == name).unwrap().1;
    assert!(rows("users") > USERS);
    assert!(rows("license_assignments") >= USERS / 2);
    assert!(rows("group_members") >= 30_000);
    assert!(migrated.sequences > 10, "{migrated}");

    // The server can go on writing on PostgreSQL: a new user gets an id past every copied one.
    let highest: i64 = users::table
        .select(diesel::dsl::max(users::id))
        .first::<Option<i64>>(&mut pg)
        .unwrap()
        .unwrap();
    let on_pg = db::connect(&target.url, 2).expect("the migrated database opens");
    let mut conn = on_pg.get().unwrap();
    assert!(db::migrations_applied(&mut conn).unwrap());
    let contoso: i64 = tenants::table
        .filter(tenants::name.eq("Contoso"))
        .select(tenants::id)
        .first(&mut *conn)
        .unwrap();
    let created = directory::create(
        &mut conn,
        &Actor::System("test"),
        test_now(),
        TenantId(contoso),
        &NewUser {
            display_name: "After Migration".into(),
            email: "after.migration@contoso.example".into(),
            password: Some("a password after the move".into()),
            products: vec![],
        },
    )
    .expect("a user can be added after the migration");
    assert_eq!(created.user.0, highest + 1);

    eprintln!(
        "load {:.1} s, migrate {:.1} s, compare {:.1} s; {} tables, {} rows",
        loaded.as_secs_f64(),
        migrating.as_secs_f64(),
        comparing.as_secs_f64(),
        compared.len(),
        compared.iter().map(|(_, n)| n).sum::<usize>()
    );
}

fn allot(database_url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_allot"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("ALLOT_DATA_DIR", dir)
        .env(
            "ALLOT_SECRET_KEY",
            "a test key of at least thirty-two bytes",
        )
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("the allot binary runs")
}

#[test]
fn the_command_prints_a_line_per_table_and_refuses_a_target_that_holds_data() {
    if !postgres_pass("the_command_prints_a_line_per_table_and_refuses_a_target_that_holds_data") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (url, pool) = sqlite_with_demo(dir.path());
    drop(pool);
    let target = EmptyPg::new("cli");

    let first = allot(&url, dir.path(), &["migrate-to", &target.url]);
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        first.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let mut pg = PgConnection::establish(&target.url).unwrap();
    let tables = postgres_tables(&mut pg);
    let summary = stdout.lines().next().unwrap();
    assert!(
        summary.starts_with(&format!("Migrated {url} into {}", target.url)),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("{} tables, ", tables.len())),
        "{summary}"
    );
    for table in &tables {
        let count: i64 = diesel::sql_query(format!("SELECT count(*) AS n FROM {}", quoted(table)))
            .get_result::<Count>(&mut pg)
            .unwrap()
            .n;
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>()
                    == [table.as_str(), &count.to_string()]),
            "a line '{table} {count}' in:\n{stdout}"
        );
    }
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("Next: set DATABASE_URL")
    );

    let second = allot(&url, dir.path(), &["migrate-to", &target.url]);
    let stderr = String::from_utf8_lossy(&second.stderr).into_owned();
    assert!(!second.status.success());
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("already holds data") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(second.stdout.is_empty());
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[test]
fn a_row_postgresql_refuses_leaves_the_target_without_any_row() {
    if !postgres_pass("a_row_postgresql_refuses_leaves_the_target_without_any_row") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (url, pool) = sqlite_with_demo(dir.path());
    drop(pool);
    // A role of a user who does not exist: SQLite lets it in with its foreign keys off,
    // PostgreSQL's foreign key stops the copy at the last table.
    let mut sqlite = SqliteConnection::establish(&url).unwrap();
    sqlite
        .batch_execute(
            "PRAGMA foreign_keys = OFF; INSERT INTO user_roles (user_id, role, tenant_id) SELECT 999999, 'user', min(id) FROM tenants;",
        )
        .unwrap();
    drop(sqlite);
    let target = EmptyPg::new("fk");

    let e = backup::migrate_to(&url, &target.url).unwrap_err();
    assert!(e.starts_with("cannot copy table user_roles: "), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    let mut pg = PgConnection::establish(&target.url).unwrap();
    for table in postgres_tables(&mut pg) {
        let count: i64 = diesel::sql_query(format!("SELECT count(*) AS n FROM {}", quoted(&table)))
            .get_result::<Count>(&mut pg)
            .unwrap()
            .n;
        assert_eq!(count, 0, "{table} after the failed copy");
    }
}

#[test]
fn a_sqlite_database_behind_this_build_is_refused() {
    if !postgres_pass("a_sqlite_database_behind_this_build_is_refused") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("allot.db").to_string_lossy().into_owned();
    drop(db::connect(&url, 1).unwrap());
    SqliteConnection::establish(&url)
        .unwrap()
        .batch_execute(
            "DELETE FROM __diesel_schema_migrations WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)",
        )
        .unwrap();
    let target = EmptyPg::new("behind");

    let e = backup::migrate_to(&url, &target.url).unwrap_err();
    assert!(
        e.contains("lacks 1 of this build's migrations") && e.contains("run allot migrate"),
        "{e}"
    );
    let e = backup::migrate_to(
        &dir.path().join("missing.db").to_string_lossy(),
        &target.url,
    )
    .unwrap_err();
    assert!(e.starts_with("there is no database at "), "{e}");
}
