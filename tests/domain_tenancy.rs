//! Every table a tenant owns carries tenant_id (DESIGN.md), so the schema can be distributed by
//! tenant (Citus; the plan is in docs/OPERATIONS.md). Read from the live schema of
//! the backend under test, so a new table fails here until it is classified: tenant-owned (and
//! keyed), or on one of the lists below with its reason.

mod common;

use allot::domain::db::DbConnection;
use allot::domain::schema::service_requests;
use allot::domain::{Actor, ServiceRequestId, service_requests as requests, users};
use common::*;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use std::collections::BTreeSet;

/// The tenants themselves: distributed by `id`, which every tenant-owned table's tenant_id
/// refers to (co-located).
const KEYED_BY_ID: &[&str] = &["tenants"];

/// Provider-wide, small and rarely written: replicated to every node (Citus reference tables).
const REFERENCE: &[&str] = &["products", "product_services", "staff"];

/// Kept on the coordinator (Citus local tables), each for a reason:
const LOCAL: &[&str] = &[
    // Keyed by an account's email or a client's address, before anyone is known to be of a
    // tenant; written on every failed sign-in, which a reference table makes costly.
    "signin_throttle",
    // The provider's volume-licensing book: an agreement has no tenant until its OSM activates
    // it, and a remap moves it (and its subscriptions' link) to another tenant, which a
    // distribution column cannot do. Few rows, written by staff and the jobs.
    "agreements",
    "agreement_orders",
    "agreement_order_lines",
    "agreement_activations",
    "agreement_invoices",
    "agreement_subscriptions",
    // Rows of a tenant and rows of the provider (staff sessions, the provider's own audit
    // entries and emails) in one table: tenant_id is NULL for the latter, which a distribution
    // column cannot hold. They split before they can be distributed.
    "sessions",
    "audit_log",
    "outbox",
];

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    yes: bool,
}

/// What the schema says of one table's tenancy.
#[derive(Debug)]
struct Keys {
    /// tenant_id exists and is NOT NULL.
    tenant_id_not_null: Option<bool>,
    /// The first column of each index, primary and unique keys included.
    first_columns: BTreeSet<String>,
    /// A foreign key from tenant_id to tenants.
    references_tenants: bool,
}

fn tables(conn: &mut DbConnection) -> BTreeSet<String> {
    let names: Vec<Name> = match conn {
        // Ordinary tables only: the full-text index of users (an FTS5 virtual table and its
        // shadow tables) is an index of `users`, which PostgreSQL keeps as a GIN index.
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
        )
        .load(c),
        DbConnection::Postgresql(c) => diesel::sql_query(
            "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema() \
             AND tablename <> '__diesel_schema_migrations'",
        )
        .load(c),
    }
    .unwrap();
    names.into_iter().map(|n| n.name).collect()
}

fn keys(conn: &mut DbConnection, table: &str) -> Keys {
    let (not_null, first, fk): (Vec<Flag>, Vec<Name>, Vec<Flag>) = match conn {
        DbConnection::Sqlite(c) => (
            diesel::sql_query(
                "SELECT \"notnull\" <> 0 AS yes FROM pragma_table_info(?) WHERE name = 'tenant_id'",
            )
            .bind::<Text, _>(table)
            .load(c)
            .unwrap(),
            // An INTEGER PRIMARY KEY is the rowid, no index: its first column is never tenant_id.
            diesel::sql_query(
                "SELECT ii.name AS name FROM pragma_index_list(?1) AS il \
                 JOIN pragma_index_info(il.name) AS ii WHERE ii.seqno = 0",
            )
            .bind::<Text, _>(table)
            .load(c)
            .unwrap(),
            diesel::sql_query(
                "SELECT 1 = 1 AS yes FROM pragma_foreign_key_list(?) \
                 WHERE \"from\" = 'tenant_id' AND \"table\" = 'tenants'",
            )
            .bind::<Text, _>(table)
            .load(c)
            .unwrap(),
        ),
        DbConnection::Postgresql(c) => (
            diesel::sql_query(
                "SELECT is_nullable = 'NO' AS yes FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 AND column_name = 'tenant_id'",
            )
            .bind::<Text, _>(table)
            .load(c)
            .unwrap(),
            diesel::sql_query(
                "SELECT a.attname::text AS name FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
                 WHERE i.indrelid = $1::regclass",
            )
            .bind::<Text, _>(format!("\"{table}\""))
            .load(c)
            .unwrap(),
            diesel::sql_query(
                "SELECT true AS yes FROM pg_constraint c \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
                 WHERE c.conrelid = $1::regclass AND c.contype = 'f' \
                 AND c.confrelid = 'tenants'::regclass AND a.attname = 'tenant_id'",
            )
            .bind::<Text, _>(format!("\"{table}\""))
            .load(c)
            .unwrap(),
        ),
    };
    Keys {
        tenant_id_not_null: not_null.first().map(|f| f.yes),
        first_columns: first.into_iter().map(|n| n.name).collect(),
        references_tenants: !fk.is_empty(),
    }
}

#[test]
fn every_table_is_classified_and_each_tenant_owned_one_is_keyed_by_tenant() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let all = tables(&mut conn);
    let listed: Vec<&str> = KEYED_BY_ID
        .iter()
        .chain(REFERENCE)
        .chain(LOCAL)
        .copied()
        .collect();
    for table in &listed {
        assert!(
            all.contains(*table),
            "{table} is listed but not in the schema"
        );
    }
    assert_eq!(
        listed.len(),
        listed.iter().collect::<BTreeSet<_>>().len(),
        "a table on two lists"
    );
    let owned: Vec<&String> = all
        .iter()
        .filter(|t| !listed.contains(&t.as_str()))
        .collect();
    // The lists and the tenant-owned tables cover the schema, each table once.
    assert_eq!(owned.len() + listed.len(), all.len());
    assert!(owned.len() >= 20, "{owned:?}");

    let mut problems = Vec::new();
    for table in &owned {
        let keys = keys(&mut conn, table);
        match keys.tenant_id_not_null {
            None => problems.push(format!("{table} has no tenant_id")),
            Some(false) => problems.push(format!("{table}.tenant_id may be NULL")),
            Some(true) => {}
        }
        if !keys.first_columns.contains("tenant_id") {
            problems.push(format!(
                "{table} has no index or key that leads with tenant_id (first columns: {:?})",
                keys.first_columns
            ));
        }
        if !keys.references_tenants {
            problems.push(format!("{table}.tenant_id does not refer to tenants"));
        }
    }
    assert!(
        problems.is_empty(),
        "tenant-owned tables (classify a new table in tests/domain_tenancy.rs):\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_child_row_carries_the_tenant_of_its_parent() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let system = Actor::System("test");
    let mut conn = db.conn();
    // Rows the demo lacks: a deleted user's remembered licenses, a comment on a request.
    users::delete(
        &mut conn,
        &system,
        test_now(),
        contoso,
        user_id(&db, "user01@contoso.example"),
    )
    .unwrap();
    let request: i64 = service_requests::table
        .select(service_requests::id)
        .first(&mut conn)
        .unwrap();
    requests::comment(
        &mut conn,
        &system,
        test_now(),
        ServiceRequestId(request),
        "A note from the test.",
        false,
    )
    .unwrap();

    // And an Add multiple users preview: its rows are the import's.
    let file = allot::domain::users::import::read_file(
        b"Display name,Sign-in name\nTen Ant,tenant-check@contoso.example\n",
    )
    .unwrap();
    allot::domain::users::import::preview(
        &mut conn,
        &system,
        test_now(),
        contoso,
        "tenancy.csv",
        &file,
    )
    .unwrap();

    for (child, parent, key) in [
        ("user_roles", "users", "user_id"),
        ("deleted_user_licenses", "users", "user_id"),
        ("bill_lines", "bills", "bill_id"),
        ("service_request_comments", "service_requests", "request_id"),
        ("subscription_addons", "subscriptions", "subscription_id"),
        ("user_import_rows", "user_imports", "import_id"),
    ] {
        #[derive(QueryableByName)]
        struct Counts {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            rows: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            astray: i64,
        }
        let counts: Counts = diesel::sql_query(format!(
            "SELECT count(*) AS rows, \
                    count(*) FILTER (WHERE c.tenant_id <> p.tenant_id) AS astray \
             FROM {child} AS c JOIN {parent} AS p ON p.id = c.{key}"
        ))
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(
            counts.astray, 0,
            "{child} rows with another tenant than their {parent}"
        );
        if child != "bill_lines" {
            assert!(counts.rows > 0, "{child} has rows to check");
        }
    }
}
