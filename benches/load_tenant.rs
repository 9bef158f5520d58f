//! Loads a large tenant for the performance benchmark (benches/run.sh, docs/PERFORMANCE.md).
//!
//! ```sh
//! DATABASE_URL=/tmp/bench.db cargo bench --bench load_tenant -- --users 100000 \
//!     [--products 20] [--assignments-per-user 2] [--bulk-ids FILE] \
//!     [--small-users N [--small-bulk-ids FILE]] [--group-members N] \
//!     [--group-add N [--group-runs K] --group-add-ids FILE] \
//!     [--renewals-due 1000 [--renewals-due-at RFC3339]…]
//! ```
//!
//! Loads the normal demo first (Contoso, admin@contoso.example / allot-demo), then adds to
//! Contoso `--users` users (bench000001@contoso.example …, realistic display names in a
//! pseudo-random order), `--products` products with one subscription each, and about
//! `--assignments-per-user` assignments per user, in one transaction: multi-row INSERTs on
//! SQLite, COPY FROM STDIN on PostgreSQL. The per-row trigger that keeps `user_counts` is off
//! while a tenant's users go in, and their counts are recounted after; the secondary indexes
//! (and on PostgreSQL the foreign keys) of users and license_assignments are dropped and made
//! again after the rows are in, which checks every key all the same; a user's `licensed`, and
//! on SQLite their `guid`, come in with the user and an assignment's sort keys with it, so the
//! triggers that make them are off; SQLite's search index `users_search` is rebuilt once at
//! the end; the other derived rows, groups' `member_count` and the pools' `license_counts`, are
//! kept by their triggers or recounted as the app keeps them.
//!
//! `--small-users N` (issue 17's "flatness" of bulk work) also fills the demo's Fabrikam
//! (fabrikam.example, admin@fabrikam.example / allot-demo) with N bench users
//! (bench000001@fabrikam.example …) with the same products and the same assignment pattern:
//! the first min(N, 30000) lack the bulk product, whose Fabrikam pool has room for them all.
//! Their ids go to `--small-bulk-ids`; printed as `SMALL_TENANT=<id>`, `SMALL_BULK_PRODUCT=<id>`
//! (the same product as `BULK_PRODUCT`) and `SMALL_USERS=<n>`. Default 0: none, so other users
//! of the loader (scripts/crash_test, tests/cluster) count only Contoso's bench rows.
//!
//! The last bench product is the bulk-assignment target: the first min(N, 30000) bench users
//! never get it, and its pool has that many licenses to spare, so the benchmark can assign it to
//! 10,000 of them (three times at 100k users). Their ids go to `--bulk-ids` (one a line), and
//! the product's id is printed as `BULK_PRODUCT=<id>`.
//!
//! `--group-members N` (issue 13's group page) adds to Contoso the group "Bench group" with the
//! first N bench users as members and no licenses, printed as `GROUP=<id>`.
//!
//! `--group-add N` (issue 13's Add members) adds `--group-runs` K (default 1) groups "Bench
//! licensed group k", each without members and carrying Bench Product 01, whose pool gets K×N
//! more licenses, and writes to `--group-add-ids` K×N ids of bench users who lack that product
//! (spread evenly over the tenant, one a line, run k's N after run k-1's), so each run can add
//! N members to its own group and they all get a seat. Fewer than N a run when the tenant has
//! too few such users. Printed as `GROUP_PRODUCT=<id>`, `GROUP_ADD_SIZE=<n>` and
//! `LICENSED_GROUP_k=<id>`, k from 1.
//!
//! `--renewals-due N` (the crash test, scripts/crash_test) adds to Contoso, for each
//! `--renewals-due-at` time (default: one, a day from now), a product "Bench Renewals k" with N
//! monthly subscriptions of one license each, paid by card with recurring billing on, whose
//! terms all end in the 10 minutes before that time, so one `allot tick --now <that time>`
//! renews every one of them (and none of a later time's). The demo's Visa expires too soon for
//! that, so they are paid by a card of their own (4242, valid for years), which the test
//! gateway approves. They share Contoso's license lock with the bulk assignment. Printed as
//! `RENEWAL_PRODUCT_k=<id>` and `RENEWALS_DUE_AT_k=<RFC 3339 time>`, k from 1. Times a month or
//! more apart are not needed (nor wanted: a tick a month ahead ends today's sessions).
//!
//! `--purges-due N` and `--purchase-orders-due N` (the cluster test, tests/cluster/) add work
//! the next tick finds due: N bench users deleted 31 days ago, and N purchase orders entered
//! on Contoso's agreement a day ago.

use std::io::Write;
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDateTime, SubsecRound, Utc};
use diesel::pg::CopyFormat;
use diesel::prelude::*;

use allot::domain::db::{self, Backend, DbConnection};
use allot::domain::schema::{
    group_licenses, group_members, license_assignments, payment_methods, product_services,
    products, subscriptions, tenants, user_groups, users,
};
use allot::domain::{demo, passwords};

/// Rows per INSERT: 1000 rows × at most 7 columns stays far below SQLite's 32766 variables
/// and PostgreSQL's 65535 parameters.
const CHUNK: usize = 1000;
/// Bench users who never get the bulk-assignment product (at most this many).
const RESERVED: usize = 30_000;
/// The demo's second tenant, which `--small-users` fills.
const SMALL_DOMAIN: &str = "fabrikam.example";

const FIRST_NAMES: [&str; 96] = [
    "Aaron",
    "Abigail",
    "Adam",
    "Adriana",
    "Ahmed",
    "Aisha",
    "Alan",
    "Alice",
    "Amara",
    "Amy",
    "Andre",
    "Anna",
    "Arjun",
    "Ava",
    "Beatriz",
    "Ben",
    "Bianca",
    "Carlos",
    "Carmen",
    "Charlotte",
    "Chen",
    "Chloe",
    "Daniel",
    "David",
    "Diana",
    "Diego",
    "Dmitri",
    "Elena",
    "Eli",
    "Emily",
    "Emma",
    "Erik",
    "Fatima",
    "Felix",
    "Fiona",
    "Gabriel",
    "Grace",
    "Hana",
    "Hannah",
    "Hugo",
    "Ibrahim",
    "Ines",
    "Isaac",
    "Isabel",
    "Ivan",
    "Jack",
    "Jacob",
    "James",
    "Jana",
    "Jane",
    "Jasmine",
    "Javier",
    "Jing",
    "John",
    "Jonas",
    "Jose",
    "Julia",
    "Kai",
    "Karen",
    "Kenji",
    "Laura",
    "Leo",
    "Liam",
    "Lina",
    "Lucas",
    "Lucia",
    "Maria",
    "Mark",
    "Marta",
    "Martin",
    "Maya",
    "Mei",
    "Michael",
    "Mohammed",
    "Nadia",
    "Nina",
    "Noah",
    "Olga",
    "Omar",
    "Oscar",
    "Paul",
    "Priya",
    "Rafael",
    "Rosa",
    "Samuel",
    "Sara",
    "Sofia",
    "Stefan",
    "Tariq",
    "Thomas",
    "Uma",
    "Victor",
    "Wei",
    "Yusuf",
    "Zara",
    "Zoe",
];

const LAST_NAMES: [&str; 96] = [
    "Adams",
    "Ahmed",
    "Alvarez",
    "Andersen",
    "Bakker",
    "Baker",
    "Becker",
    "Bianchi",
    "Brown",
    "Carter",
    "Castro",
    "Chen",
    "Clark",
    "Costa",
    "Cruz",
    "Davies",
    "Diaz",
    "Dubois",
    "Evans",
    "Fischer",
    "Fernandes",
    "Garcia",
    "Gomez",
    "Green",
    "Gupta",
    "Hall",
    "Hansen",
    "Harris",
    "Hernandez",
    "Hill",
    "Hoffmann",
    "Ito",
    "Jackson",
    "Jansen",
    "Johnson",
    "Jones",
    "Kaya",
    "Khan",
    "Kim",
    "Kowalski",
    "Kumar",
    "Lambert",
    "Larsen",
    "Lee",
    "Lewis",
    "Li",
    "Lopez",
    "Martin",
    "Martinez",
    "Meyer",
    "Miller",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Perez",
    "Peters",
    "Petrov",
    "Ramos",
    "Reyes",
    "Ricci",
    "Roberts",
    "Rodriguez",
    "Romano",
    "Rossi",
    "Sato",
    "Schmidt",
    "Schneider",
    "Silva",
    "Singh",
    "Smith",
    "Sousa",
    "Suzuki",
    "Tanaka",
    "Taylor",
    "Thomas",
    "Thompson",
    "Torres",
    "Tran",
    "Van Dijk",
    "Wagner",
    "Walker",
    "Wang",
    "Weber",
    "White",
    "Williams",
    "Wilson",
    "Wong",
    "Wright",
    "Yilmaz",
    "Young",
    "Zhang",
];

const SERVICES: [(&str, bool); 3] = [("Mailbox", true), ("Files", false), ("Apps", false)];

/// Inserts one chunk of rows on the backend's own connection (diesel builds multi-row
/// INSERTs per backend, not for the MultiConnection).
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConnection::Postgresql(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

struct Options {
    users: usize,
    products: usize,
    per_user: usize,
    bulk_ids: Option<String>,
    /// Bench users of the small tenant, Fabrikam (0: none).
    small_users: usize,
    small_bulk_ids: Option<String>,
    /// Members of "Bench group" (0: no such group).
    group_members: usize,
    /// Users to add to each licensed group (0: no licensed groups).
    group_add: usize,
    group_runs: usize,
    group_add_ids: Option<String>,
    /// Card subscriptions to add whose renewal is due by each of `renewals_due_at`.
    renewals: usize,
    renewals_due_at: Vec<DateTime<Utc>>,
    /// Bench users deleted 31 days ago, due to be purged (the cluster test).
    purges_due: usize,
    /// Purchase orders on Contoso's agreement whose processing time has passed (the cluster
    /// test).
    purchase_orders_due: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: DATABASE_URL=… cargo bench --bench load_tenant -- --users N \
         [--products 20] [--assignments-per-user 2] [--bulk-ids FILE] \
         [--small-users N [--small-bulk-ids FILE]] [--group-members N] [--group-add N [--group-runs K] --group-add-ids FILE] \
         [--renewals-due N [--renewals-due-at RFC3339]…] [--purges-due N] \
         [--purchase-orders-due N]"
    );
    std::process::exit(2);
}

fn options() -> Options {
    let mut o = Options {
        users: 100_000,
        products: 20,
        per_user: 2,
        bulk_ids: None,
        small_users: 0,
        small_bulk_ids: None,
        group_members: 0,
        group_add: 0,
        group_runs: 1,
        group_add_ids: None,
        renewals: 0,
        renewals_due_at: Vec::new(),
        purges_due: 0,
        purchase_orders_due: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> usize {
            args.next()
                .and_then(|v| v.replace('_', "").parse().ok())
                .unwrap_or_else(|| {
                    eprintln!("{what} needs a number");
                    usage()
                })
        };
        match arg.as_str() {
            "--users" => o.users = number("--users"),
            "--products" => o.products = number("--products"),
            "--assignments-per-user" => o.per_user = number("--assignments-per-user"),
            "--bulk-ids" => o.bulk_ids = Some(args.next().unwrap_or_else(|| usage())),
            "--small-users" => o.small_users = number("--small-users"),
            "--small-bulk-ids" => o.small_bulk_ids = Some(args.next().unwrap_or_else(|| usage())),
            "--group-members" => o.group_members = number("--group-members"),
            "--group-add" => o.group_add = number("--group-add"),
            "--group-runs" => o.group_runs = number("--group-runs"),
            "--group-add-ids" => o.group_add_ids = Some(args.next().unwrap_or_else(|| usage())),
            "--renewals-due" => o.renewals = number("--renewals-due"),
            "--purges-due" => o.purges_due = number("--purges-due"),
            "--purchase-orders-due" => o.purchase_orders_due = number("--purchase-orders-due"),
            "--renewals-due-at" => {
                let at = args.next().unwrap_or_else(|| usage());
                let at = DateTime::parse_from_rfc3339(&at).unwrap_or_else(|_| {
                    eprintln!("--renewals-due-at needs an RFC 3339 time, not {at}");
                    usage()
                });
                o.renewals_due_at.push(at.with_timezone(&Utc));
            }
            // `cargo bench` passes --bench to every bench binary.
            "--bench" => {}
            "-h" | "--help" => usage(),
            other => {
                eprintln!("unknown argument {other}");
                usage()
            }
        }
    }
    if o.users == 0 || o.products < 2 || o.per_user == 0 || o.per_user >= o.products {
        eprintln!("need --users ≥ 1, --products ≥ 2 and 1 ≤ --assignments-per-user < --products");
        usage();
    }
    if o.group_members > o.users {
        eprintln!("--group-members can be at most --users");
        usage();
    }
    if o.group_add > 0 && (o.group_runs == 0 || o.group_add_ids.is_none()) {
        eprintln!("--group-add needs --group-runs ≥ 1 and --group-add-ids FILE");
        usage();
    }
    o
}

/// Work the next tick finds due, made through the domain as it happened: `purges_due` bench
/// users (the last ones) deleted 31 days ago, and `purchase_orders_due` purchase orders of one
/// Sales Professional license each on Contoso's agreement, entered a day ago with two hours
/// to process. Printed as `PURGES_DUE=n` and `PURCHASE_ORDERS_DUE=n`.
fn load_due_work(
    conn: &mut DbConnection,
    contoso: i64,
    user_ids: &[i64],
    o: &Options,
    now: DateTime<Utc>,
) -> Result<(), String> {
    use allot::domain::agreements::{self, Item, OrderKind, OrderLine};
    use allot::domain::schema::agreements as agreement_table;
    use allot::domain::{Actor, AgreementId, ProductId, TenantId, UserId};
    let actor = Actor::System("bench loader");
    if o.purges_due > user_ids.len() {
        return Err("--purges-due can be at most --users".into());
    }
    let deleted_at = now - Duration::days(31);
    for &id in &user_ids[user_ids.len() - o.purges_due..] {
        allot::domain::users::delete(conn, &actor, deleted_at, TenantId(contoso), UserId(id))
            .map_err(|e| format!("deleting user {id}: {e}"))?;
    }
    if o.purchase_orders_due > 0 {
        let agreement: i64 = agreement_table::table
            .filter(agreement_table::customer.eq("Contoso"))
            .order(agreement_table::id)
            .select(agreement_table::id)
            .first(&mut *conn)
            .map_err(|e| format!("Contoso's agreement: {e}"))?;
        let sales: i64 = products::table
            .filter(products::name.eq("Sales Professional"))
            .select(products::id)
            .first(&mut *conn)
            .map_err(|e| format!("the Sales product: {e}"))?;
        let line = OrderLine {
            product: ProductId(sales),
            item: Item::Licenses,
            quantity: 1,
        };
        for _ in 0..o.purchase_orders_due {
            agreements::enter_order(
                conn,
                &actor,
                now - Duration::days(1),
                AgreementId(agreement),
                OrderKind::PurchaseOrder,
                &[line],
                Duration::hours(2),
            )
            .map_err(|e| format!("entering a purchase order: {e}"))?;
        }
    }
    println!("PURGES_DUE={}", o.purges_due);
    println!("PURCHASE_ORDERS_DUE={}", o.purchase_orders_due);
    Ok(())
}

/// A fixed pseudo-random sequence (splitmix64), so every run loads the same tenant.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn display_name(i: usize) -> String {
    let h = mix(i as u64);
    let first = FIRST_NAMES[(h % FIRST_NAMES.len() as u64) as usize];
    let last = LAST_NAMES[((h >> 16) % LAST_NAMES.len() as u64) as usize];
    format!("{first} {last}")
}

/// The bench products user `i` (1-based) holds, as indexes into the bench products: `per_user`
/// consecutive ones from a pseudo-random start, never the bulk product (the last) for the
/// reserved users.
fn holdings(i: usize, reserved: usize, products: usize, per_user: usize) -> Vec<usize> {
    let (pool, start) = if i <= reserved {
        (
            products - 1,
            (mix(i as u64 ^ 0xabcdef) % (products as u64 - 1)) as usize,
        )
    } else {
        (
            products,
            (mix(i as u64 ^ 0xabcdef) % products as u64) as usize,
        )
    };
    (0..per_user.min(pool))
        .map(|k| (start + k) % pool)
        .collect()
}

fn main() {
    if let Err(e) = run(options()) {
        eprintln!("load_tenant: {e}");
        std::process::exit(1);
    }
}

fn run(o: Options) -> Result<(), String> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "set DATABASE_URL to a SQLite file path or a postgres:// URL".to_string())?;
    let backend = Backend::of_url(&url);
    let started = Instant::now();
    let pool = db::connect(&url, 2)?;
    let mut pooled = pool.get().map_err(|e| e.to_string())?;
    let conn: &mut DbConnection = &mut pooled;
    if let DbConnection::Sqlite(c) = conn {
        // The load is one transaction of about 1.3 GB at 1M users: with SQLite's default 2 MB
        // page cache it spills to the WAL and reads its pages back, one system call each.
        // A crash during a load leaves a database to load again, so its commit isn't synced.
        diesel::sql_query("PRAGMA cache_size = -4000000")
            .execute(c)
            .and_then(|_| diesel::sql_query("PRAGMA synchronous = OFF").execute(c))
            .map_err(|e| e.to_string())?;
    }
    let now = Utc::now();
    let at = now.naive_utc();

    let t = Instant::now();
    demo::load(conn, now).map_err(|e| e.to_string())?;
    let contoso: i64 = tenants::table
        .filter(tenants::name.eq("Contoso"))
        .select(tenants::id)
        .first(&mut *conn)
        .map_err(|e| e.to_string())?;
    println!("demo data ready ({:.2} s)", t.elapsed().as_secs_f64());

    let already: i64 = products::table
        .filter(products::code.like("BENCH_%"))
        .count()
        .get_result(&mut *conn)
        .map_err(|e| e.to_string())?;
    if already > 0 {
        return Err("this database already holds the bench tenant; start from an empty one".into());
    }

    let hash = passwords::hash(demo::DEMO_PASSWORD).map_err(|e| e.to_string())?;
    let reserved = o.users.min(RESERVED);
    let n_products = o.products;
    let bulk_index = n_products - 1;
    // The licensed groups' product is the first bench product; the users to add are those
    // who lack it, evenly spread (bench order is pseudo-random name order).
    let group_index = 0;
    let lacking: Vec<usize> = (0..o.users)
        .filter(|&k| !holdings(k + 1, reserved, n_products, o.per_user).contains(&group_index))
        .collect();
    let group_add = if o.group_add > 0 {
        o.group_add.min(lacking.len() / o.group_runs)
    } else {
        0
    };
    let to_add: Vec<usize> = if group_add > 0 {
        let wanted = group_add * o.group_runs;
        (0..wanted)
            .map(|j| lacking[j * lacking.len() / wanted])
            .collect()
    } else {
        Vec::new()
    };

    let t = Instant::now();
    let small_tenant = if o.small_users > 0 {
        Some(
            tenants::table
                .filter(tenants::domain.eq(SMALL_DOMAIN))
                .select(tenants::id)
                .first::<i64>(&mut *conn)
                .map_err(|e| format!("the demo's Fabrikam ({SMALL_DOMAIN}): {e}"))?,
        )
    } else {
        None
    };
    let (product_ids, big, small) = conn
        .transaction::<_, diesel::result::Error, _>(|conn| {
            let product_ids = insert_products(conn, n_products)?;
            let dropped = drop_for_load(conn, &["users", "license_assignments"])?;
            let big = fill_tenant(
                conn,
                &Fill {
                    tenant: contoso,
                    name: "Contoso",
                    domain: "contoso.example",
                    users: o.users,
                    reserved,
                    per_user: o.per_user,
                    group_index,
                    group_extra: to_add.len() as i64,
                },
                &product_ids,
                &hash,
                at,
            )?;
            let small = match small_tenant {
                Some(tenant) => Some(fill_tenant(
                    conn,
                    &Fill {
                        tenant,
                        name: "Fabrikam",
                        domain: SMALL_DOMAIN,
                        users: o.small_users,
                        reserved: o.small_users.min(RESERVED),
                        per_user: o.per_user,
                        group_index,
                        group_extra: 0,
                    },
                    &product_ids,
                    &hash,
                    at,
                )?),
                None => None,
            };
            let t = Instant::now();
            restore_after_load(conn, &dropped)?;
            if !dropped.is_empty() {
                println!(
                    "  {} indexes, keys and triggers of users and license_assignments back \
                     ({:.2} s)",
                    dropped.len(),
                    t.elapsed().as_secs_f64()
                );
            }
            Ok((product_ids, big, small))
        })
        .map_err(|e| e.to_string())?;
    println!(
        "bench tenants inserted and committed ({:.2} s)",
        t.elapsed().as_secs_f64()
    );
    // The rows went in directly, so the pools' assigned counts are counted afresh.
    for tenant in std::iter::once(contoso).chain(small_tenant) {
        allot::domain::licenses::recount(conn, allot::domain::TenantId(tenant))
            .map_err(|e| e.to_string())?;
    }
    let Filled {
        user_ids,
        per_product: assigned,
        quantities,
    } = big;

    let t = Instant::now();
    let groups = load_groups(
        conn,
        contoso,
        &user_ids,
        o.group_members,
        product_ids[group_index],
        if group_add > 0 { o.group_runs } else { 0 },
        at,
    )
    .map_err(|e| format!("loading the groups: {e}"))?;
    if o.group_members > 0 {
        println!(
            "  Bench group: {} members ({:.2} s)",
            o.group_members,
            t.elapsed().as_secs_f64()
        );
    }

    let mut renewals = Vec::new();
    if o.renewals > 0 {
        let mut times = o.renewals_due_at.clone();
        if times.is_empty() {
            times.push((now + Duration::days(1)).trunc_subsecs(0));
        }
        for (k, due_at) in times.into_iter().enumerate() {
            let t = Instant::now();
            let product = load_renewals(conn, contoso, k + 1, o.renewals, due_at, at)
                .map_err(|e| format!("loading the renewals: {e}"))?;
            println!(
                "  {} card subscriptions due to renew by {} ({:.2} s)",
                o.renewals,
                due_at.to_rfc3339(),
                t.elapsed().as_secs_f64()
            );
            renewals.push((product, due_at));
        }
    }

    if o.purges_due > 0 || o.purchase_orders_due > 0 {
        load_due_work(conn, contoso, &user_ids, &o, now)?;
    }

    // PostgreSQL's autovacuum would analyze these tables within a minute of such a load; do it
    // now so the measurements don't depend on when it ran. SQLite has no such thing and allot
    // never runs ANALYZE, so SQLite is measured as the app leaves it.
    if backend == Backend::Postgres {
        let t = Instant::now();
        diesel::sql_query("VACUUM ANALYZE")
            .execute(&mut *conn)
            .map_err(|e| e.to_string())?;
        println!("VACUUM ANALYZE ({:.2} s)", t.elapsed().as_secs_f64());
    }

    if let Some(path) = &o.bulk_ids {
        write_ids(path, user_ids[..reserved].iter().copied())?;
    }
    let small_reserved = o.small_users.min(RESERVED);
    if let (Some(path), Some(small)) = (&o.small_bulk_ids, &small) {
        write_ids(path, small.user_ids[..small_reserved].iter().copied())?;
    }
    if let Some(path) = &o.group_add_ids {
        write_ids(path, to_add.iter().map(|&k| user_ids[k]))?;
    }

    let total_assigned: i64 = assigned.iter().sum();
    let bulk = product_ids[bulk_index];
    let small_line = small
        .as_ref()
        .map(|s| {
            format!(
                "; into Fabrikam: {} users, {} assignments",
                s.user_ids.len(),
                s.per_product.iter().sum::<i64>()
            )
        })
        .unwrap_or_default();
    println!(
        "loaded into Contoso ({}): {} users, {} products, {} assignments{small_line} in {:.2} s",
        match backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        },
        o.users,
        n_products,
        total_assigned,
        started.elapsed().as_secs_f64()
    );
    println!(
        "bulk target: Bench Product {:02} (id {bulk}): {} assigned of {}; {} users lack it{}",
        n_products,
        assigned[bulk_index],
        quantities[bulk_index],
        reserved,
        o.bulk_ids
            .as_ref()
            .map(|p| format!(" (ids in {p})"))
            .unwrap_or_default()
    );
    println!("BULK_PRODUCT={bulk}");
    if let (Some(tenant), Some(small)) = (small_tenant, &small) {
        println!(
            "small tenant: Fabrikam (id {tenant}), bulk target Bench Product {:02} (id {bulk}): \
             {} assigned of {}; {} users lack it{}",
            n_products,
            small.per_product[bulk_index],
            small.quantities[bulk_index],
            small_reserved,
            o.small_bulk_ids
                .as_ref()
                .map(|p| format!(" (ids in {p})"))
                .unwrap_or_default()
        );
        println!("SMALL_TENANT={tenant}");
        println!("SMALL_BULK_PRODUCT={bulk}");
        println!("SMALL_USERS={}", small.user_ids.len());
    }
    if let Some(group) = groups.bench {
        println!("GROUP={group}");
    }
    if !groups.licensed.is_empty() {
        println!(
            "licensed groups: {} carrying Bench Product {:02} (id {}), {} users to add to each \
             of the {} who lack it{}",
            groups.licensed.len(),
            group_index + 1,
            product_ids[group_index],
            group_add,
            lacking.len(),
            o.group_add_ids
                .as_ref()
                .map(|p| format!(" (ids in {p})"))
                .unwrap_or_default()
        );
        println!("GROUP_PRODUCT={}", product_ids[group_index]);
        println!("GROUP_ADD_SIZE={group_add}");
        for (k, group) in groups.licensed.iter().enumerate() {
            println!("LICENSED_GROUP_{}={group}", k + 1);
        }
    }
    for (k, (product, due_at)) in renewals.iter().enumerate() {
        println!("RENEWAL_PRODUCT_{}={product}", k + 1);
        println!(
            "RENEWALS_DUE_AT_{}={}",
            k + 1,
            due_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
    }
    Ok(())
}

/// One tenant's share of the load (`fill_tenant`).
struct Fill<'a> {
    tenant: i64,
    name: &'a str,
    domain: &'a str,
    users: usize,
    /// The first bench users, who never get the bulk product (the last bench product).
    reserved: usize,
    per_user: usize,
    /// The licensed groups' product, whose pool gets `group_extra` more licenses.
    group_index: usize,
    group_extra: i64,
}

/// What `fill_tenant` added.
struct Filled {
    /// In bench order: bench000001 first.
    user_ids: Vec<i64>,
    /// Assignments of each bench product, and its pool's licenses.
    per_product: Vec<i64>,
    quantities: Vec<i32>,
}

/// The bench products, each with its services.
fn insert_products(
    conn: &mut DbConnection,
    n_products: usize,
) -> Result<Vec<i64>, diesel::result::Error> {
    let mut product_ids = Vec::with_capacity(n_products);
    for p in 1..=n_products {
        let id: i64 = diesel::insert_into(products::table)
            .values((
                products::code.eq(format!("BENCH_{p:02}")),
                products::name.eq(format!("Bench Product {p:02}")),
                products::family.eq(if p % 3 == 0 {
                    "business_applications"
                } else {
                    "online_services"
                }),
                products::monthly_price_cents.eq(500 + 100 * p as i64),
                products::cancellation_window_days.eq(7),
            ))
            .returning(products::id)
            .get_result(conn)?;
        let services: Vec<_> = SERVICES
            .iter()
            .map(|(name, holds)| {
                (
                    product_services::product_id.eq(id),
                    product_services::name.eq(*name),
                    product_services::holds_data.eq(*holds),
                )
            })
            .collect();
        insert_rows!(conn, product_services::table, &services)?;
        product_ids.push(id);
    }
    Ok(product_ids)
}

/// Adds to one tenant `f.users` bench users (bench000001@domain …), their assignments of the
/// bench products (`holdings`, oldest first) and one subscription per product with room to
/// spare; the bulk product's pool has room for every reserved user.
fn fill_tenant(
    conn: &mut DbConnection,
    f: &Fill,
    product_ids: &[i64],
    hash: &str,
    at: NaiveDateTime,
) -> Result<Filled, diesel::result::Error> {
    let n_products = product_ids.len();
    let bulk_index = n_products - 1;
    let t = Instant::now();
    let users: Vec<NewUser> = (1..=f.users)
        .map(|i| {
            let name = display_name(i);
            NewUser {
                key: name.to_lowercase(),
                name,
                email: format!("bench{i:06}@{}", f.domain),
                licensed: !holdings(i, f.reserved, n_products, f.per_user).is_empty(),
                guid: uuid::Uuid::new_v4().to_string(),
            }
        })
        .collect();
    insert_users(conn, f.tenant, &users, hash, at)?;
    // Ids in insertion order, which is bench user order (the email's order is not, past
    // bench999999).
    let user_ids: Vec<i64> = users::table
        .filter(users::tenant_id.eq(f.tenant))
        .filter(users::email.like(format!("bench%@{}", f.domain)))
        .order(users::id)
        .select(users::id)
        .load(conn)?;
    assert_eq!(user_ids.len(), f.users, "every bench user reads back");
    println!(
        "  {}: {} users ({:.2} s)",
        f.name,
        f.users,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut per_product = vec![0i64; n_products];
    let mut rows = Vec::with_capacity(f.users * f.per_user);
    let started = at - Duration::days(30);
    for (k, user) in user_ids.iter().enumerate() {
        for p in holdings(k + 1, f.reserved, n_products, f.per_user) {
            per_product[p] += 1;
            rows.push((
                *user,
                product_ids[p],
                started + Duration::seconds(k as i64),
                k,
            ));
        }
    }
    insert_assignments(conn, f.tenant, &rows, &users)?;

    let term_start: NaiveDateTime = started;
    let term_end = (started.and_utc() + Months::new(12)).naive_utc();
    let quantities: Vec<i32> = (0..n_products)
        .map(|p| {
            let extra = if p == bulk_index {
                f.reserved as i64 + 100
            } else if p == f.group_index {
                per_product[p] / 10 + 100 + f.group_extra
            } else {
                per_product[p] / 10 + 100
            };
            (per_product[p] + extra) as i32
        })
        .collect();
    let subs: Vec<_> = (0..n_products)
        .map(|p| {
            (
                subscriptions::tenant_id.eq(f.tenant),
                subscriptions::product_id.eq(product_ids[p]),
                subscriptions::quantity.eq(quantities[p]),
                subscriptions::billing_period.eq("yearly"),
                subscriptions::term_start.eq(term_start),
                subscriptions::term_end.eq(term_end),
                subscriptions::recurring_billing.eq(true),
                subscriptions::purchase_channel.eq("invoice"),
                subscriptions::state.eq("active"),
                subscriptions::self_service_buyer_id.eq(None::<i64>),
                subscriptions::created_at.eq(at),
            )
        })
        .collect();
    insert_rows!(conn, subscriptions::table, &subs)?;
    println!(
        "  {}: {} products, {} assignments ({:.2} s)",
        f.name,
        n_products,
        rows.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(Filled {
        user_ids,
        per_product,
        quantities,
    })
}

/// A bench user's names.
struct NewUser {
    name: String,
    key: String,
    email: String,
    /// Whether `holdings` gives the user a product: the `licensed` the triggers would keep.
    licensed: bool,
    /// What the database would make (on SQLite a trigger, with two updates a row; on
    /// PostgreSQL `gen_random_uuid()`, which reads the system's random source a row).
    guid: String,
}

/// A CSV field for PostgreSQL's COPY, always quoted (a password hash holds commas).
fn csv(out: &mut String, value: &str) {
    out.push('"');
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

fn timestamp(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// Streams CSV rows to a COPY FROM STDIN, `CHUNK` rows a write.
fn copy_rows<Tab, T, F>(
    c: &mut PgConnection,
    table: Tab,
    target: T,
    rows: usize,
    row: F,
) -> Result<usize, diesel::result::Error>
where
    Tab: diesel::Table,
    T: diesel::pg::CopyTarget<Table = Tab>,
    F: Fn(usize, &mut String),
{
    diesel::copy_from(table)
        .from_raw_data(target, |out| {
            let mut buf = String::new();
            for k in 0..rows {
                row(k, &mut buf);
                buf.push('\n');
                if (k + 1) % CHUNK == 0 || k + 1 == rows {
                    out.write_all(buf.as_bytes())
                        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
                    buf.clear();
                }
            }
            Ok::<_, diesel::result::Error>(())
        })
        .with_format(CopyFormat::Csv)
        .execute(c)
}

/// Inserts the users: multi-row INSERTs on SQLite, COPY on PostgreSQL. The per-row trigger
/// that keeps `user_counts` (one row per tenant and state, updated a million times in one
/// transaction) is the slow part, so it is off while the tenant's users go in (on SQLite
/// dropped by `drop_for_load`), and the tenant's counts are recounted instead, in the same
/// transaction.
fn insert_users(
    conn: &mut DbConnection,
    tenant: i64,
    rows: &[NewUser],
    hash: &str,
    at: NaiveDateTime,
) -> Result<(), diesel::result::Error> {
    match conn {
        DbConnection::Sqlite(c) => {
            for chunk in rows.chunks(CHUNK) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|u| {
                        (
                            users::tenant_id.eq(tenant),
                            users::display_name.eq(u.name.as_str()),
                            users::name_key.eq(u.key.as_str()),
                            users::email.eq(u.email.as_str()),
                            users::password_hash.eq(hash),
                            users::state.eq("active"),
                            users::created_at.eq(at),
                            users::licensed.eq(u.licensed),
                            users::guid.eq(u.guid.as_str()),
                        )
                    })
                    .collect();
                diesel::insert_into(users::table)
                    .values(values)
                    .execute(c)?;
            }
        }
        DbConnection::Postgresql(c) => {
            diesel::sql_query("ALTER TABLE users DISABLE TRIGGER user_counts_insert_delete")
                .execute(c)?;
            let created = timestamp(at);
            copy_rows(
                c,
                users::table,
                (
                    users::tenant_id,
                    users::display_name,
                    users::name_key,
                    users::email,
                    users::password_hash,
                    users::state,
                    users::created_at,
                    users::licensed,
                    users::guid,
                ),
                rows.len(),
                |k, out| {
                    let u = &rows[k];
                    out.push_str(&tenant.to_string());
                    for field in [&u.name, &u.key, &u.email] {
                        out.push(',');
                        csv(out, field);
                    }
                    out.push(',');
                    csv(out, hash);
                    out.push_str(",active,");
                    out.push_str(&created);
                    out.push_str(if u.licensed { ",t," } else { ",f," });
                    out.push_str(&u.guid);
                },
            )?;
            diesel::sql_query("ALTER TABLE users ENABLE TRIGGER user_counts_insert_delete")
                .execute(c)?;
        }
    }
    // Both backends load without the trigger of `user_counts` (a million updates of one row).
    diesel::sql_query(format!(
        "INSERT INTO user_counts (tenant_id, state, users, licensed)
         SELECT tenant_id, state, count(*), count(*) FILTER (WHERE licensed)
         FROM users WHERE tenant_id = {tenant} GROUP BY tenant_id, state
         ON CONFLICT (tenant_id, state)
         DO UPDATE SET users = excluded.users, licensed = excluded.licensed"
    ))
    .execute(conn)?;
    Ok(())
}

/// Inserts direct assignments (user, product, assigned at, the user's place in `users`) of one
/// tenant, with the user's sort keys that the triggers would copy: multi-row INSERTs on SQLite,
/// COPY on PostgreSQL.
fn insert_assignments(
    conn: &mut DbConnection,
    tenant: i64,
    rows: &[(i64, i64, NaiveDateTime, usize)],
    users: &[NewUser],
) -> Result<(), diesel::result::Error> {
    match conn {
        DbConnection::Sqlite(c) => {
            for chunk in rows.chunks(CHUNK) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|(user, product, at, k)| {
                        (
                            license_assignments::tenant_id.eq(tenant),
                            license_assignments::user_id.eq(*user),
                            license_assignments::product_id.eq(*product),
                            license_assignments::self_service_subscription_id.eq(None::<i64>),
                            license_assignments::assigned_at.eq(*at),
                            license_assignments::user_name_key.eq(&users[*k].key),
                            license_assignments::user_email.eq(&users[*k].email),
                        )
                    })
                    .collect();
                diesel::insert_into(license_assignments::table)
                    .values(values)
                    .execute(c)?;
            }
        }
        DbConnection::Postgresql(c) => {
            // The users came in with `licensed` set and the rows bring their users' keys: the
            // triggers would only make them again, with a join of every row copied or a
            // lookup a row.
            diesel::sql_query(
                "ALTER TABLE license_assignments DISABLE TRIGGER users_licensed_assigned, \
                 DISABLE TRIGGER license_assignments_user_keys",
            )
            .execute(c)?;
            copy_rows(
                c,
                license_assignments::table,
                (
                    license_assignments::tenant_id,
                    license_assignments::user_id,
                    license_assignments::product_id,
                    license_assignments::assigned_at,
                    license_assignments::user_name_key,
                    license_assignments::user_email,
                ),
                rows.len(),
                |i, out| {
                    let (user, product, at, k) = rows[i];
                    out.push_str(&format!("{tenant},{user},{product},{},", timestamp(at)));
                    csv(out, &users[k].key);
                    out.push(',');
                    csv(out, &users[k].email);
                },
            )?;
            diesel::sql_query(
                "ALTER TABLE license_assignments ENABLE TRIGGER users_licensed_assigned, \
                 ENABLE TRIGGER license_assignments_user_keys",
            )
            .execute(c)?;
        }
    }
    Ok(())
}

/// SQLite's triggers that only make again what the loader gives (`licensed`, the
/// assignments' sort keys) or what one rebuild after the load makes faster (the search
/// index: a million inserts into FTS5 merge its segments over and over).
const SQLITE_TRIGGERS_OFF: &[&str] = &[
    "users_search_insert",
    "user_counts_insert",
    "users_licensed_assigned",
    "license_assignments_user_keys",
];

#[derive(QueryableByName)]
struct Index {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    def: String,
}

/// Drops the indexes of `tables` that no constraint owns and their foreign keys (PostgreSQL)
/// or `SQLITE_TRIGGERS_OFF` (SQLite), and returns the statements that make them again, for
/// `restore_after_load`: one sorted build of an index after the load is much cheaper than a
/// million inserts into it (the trigram indexes and the random `guid` most), and adding a
/// foreign key checks every row in one join instead of a lookup a row. In the load's
/// transaction, so they are never missing for anyone else, and the keys are checked all the
/// same.
fn drop_for_load(
    conn: &mut DbConnection,
    tables: &[&str],
) -> Result<Vec<String>, diesel::result::Error> {
    let c = match conn {
        DbConnection::Postgresql(c) => c,
        DbConnection::Sqlite(c) => {
            let mut defs = Vec::new();
            for table in tables {
                let triggers = SQLITE_TRIGGERS_OFF.join("', '");
                let found: Vec<Index> = diesel::sql_query(format!(
                    "SELECT type || ' \"' || name || '\"' AS name, sql AS def
                     FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL
                       AND (type = 'index' OR (type = 'trigger' AND name IN ('{triggers}')))"
                ))
                .bind::<diesel::sql_types::Text, _>(*table)
                .load(c)?;
                for dropped in found {
                    diesel::sql_query(format!("DROP {}", dropped.name)).execute(c)?;
                    defs.push(dropped.def);
                }
            }
            return Ok(defs);
        }
    };
    let mut defs = Vec::new();
    for table in tables {
        let found: Vec<Index> = diesel::sql_query(
            "SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
             WHERE i.schemaname = current_schema() AND i.tablename = $1
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                   WHERE k.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)",
        )
        .bind::<diesel::sql_types::Text, _>(*table)
        .load(c)?;
        for index in found {
            diesel::sql_query(format!("DROP INDEX \"{}\"", index.name)).execute(c)?;
            defs.push(index.def);
        }
    }
    for table in tables {
        let keys: Vec<Index> = diesel::sql_query(
            "SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
             WHERE contype = 'f' AND conrelid = $1::regclass",
        )
        .bind::<diesel::sql_types::Text, _>(*table)
        .load(c)?;
        for key in keys {
            diesel::sql_query(format!(
                "ALTER TABLE \"{table}\" DROP CONSTRAINT \"{}\"",
                key.name
            ))
            .execute(c)?;
            defs.push(format!(
                "ALTER TABLE \"{table}\" ADD CONSTRAINT \"{}\" {}",
                key.name, key.def
            ));
        }
    }
    Ok(defs)
}

/// Makes again what `drop_for_load` dropped, and on SQLite the search index of every user.
fn restore_after_load(
    conn: &mut DbConnection,
    defs: &[String],
) -> Result<(), diesel::result::Error> {
    match conn {
        DbConnection::Postgresql(c) => {
            diesel::sql_query("SET LOCAL maintenance_work_mem = '256MB'").execute(c)?;
            for def in defs {
                diesel::sql_query(def.as_str()).execute(c)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for def in defs {
                diesel::sql_query(def.as_str()).execute(c)?;
            }
            if !defs.iter().any(|def| def.contains("users_search_insert")) {
                return Ok(());
            }
            let t = Instant::now();
            // FTS5 writes a segment whenever its pending terms pass `hashsize` (1 MB), then
            // merges them again and again; 256 MB holds most of a million users' trigrams.
            // The setting is stored, so the default is put back after.
            diesel::sql_query(
                "INSERT INTO users_search(users_search, rank) VALUES ('hashsize', 268435456)",
            )
            .execute(c)?;
            diesel::sql_query("INSERT INTO users_search(users_search) VALUES ('rebuild')")
                .execute(c)?;
            diesel::sql_query("DELETE FROM users_search_config WHERE k = 'hashsize'").execute(c)?;
            println!(
                "  search index rebuilt ({:.2} s)",
                t.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// Writes `ids` to `path`, one a line.
fn write_ids(path: &str, ids: impl Iterator<Item = i64>) -> Result<(), String> {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(path).map_err(|e| format!("cannot write {path}: {e}"))?,
    );
    for id in ids {
        writeln!(file, "{id}").map_err(|e| e.to_string())?;
    }
    file.flush().map_err(|e| e.to_string())
}

/// The groups `load_groups` added.
struct BenchGroups {
    bench: Option<i64>,
    licensed: Vec<i64>,
}

/// Adds "Bench group" with the first `members` of `user_ids` (none when 0), and `licensed`
/// groups "Bench licensed group k" without members, each carrying `product`.
fn load_groups(
    conn: &mut DbConnection,
    contoso: i64,
    user_ids: &[i64],
    members: usize,
    product: i64,
    licensed: usize,
    at: NaiveDateTime,
) -> Result<BenchGroups, diesel::result::Error> {
    conn.transaction(|conn| {
        let add_group = |conn: &mut DbConnection, name: &str, description: &str| {
            diesel::insert_into(user_groups::table)
                .values((
                    user_groups::tenant_id.eq(contoso),
                    user_groups::name.eq(name),
                    user_groups::name_key.eq(name.to_lowercase()),
                    user_groups::description.eq(description),
                    user_groups::created_at.eq(at),
                ))
                .returning(user_groups::id)
                .get_result::<i64>(conn)
        };
        let bench = if members > 0 {
            let group = add_group(conn, "Bench group", "The benchmark's big group.")?;
            let members = &user_ids[..members];
            // The indexes (and keys) are made after the rows, as for the users.
            let dropped = drop_for_load(conn, &["group_members"])?;
            match conn {
                DbConnection::Sqlite(c) => {
                    let rows: Vec<_> = members
                        .iter()
                        .map(|user| {
                            (
                                group_members::tenant_id.eq(contoso),
                                group_members::group_id.eq(group),
                                group_members::user_id.eq(*user),
                                group_members::added_at.eq(at),
                            )
                        })
                        .collect();
                    for chunk in rows.chunks(CHUNK) {
                        diesel::insert_into(group_members::table)
                            .values(chunk)
                            .execute(c)?;
                    }
                }
                // One COPY is one statement: the statement trigger counts the members once.
                DbConnection::Postgresql(c) => {
                    let added = timestamp(at);
                    copy_rows(
                        c,
                        group_members::table,
                        (
                            group_members::tenant_id,
                            group_members::group_id,
                            group_members::user_id,
                            group_members::added_at,
                        ),
                        members.len(),
                        |k, out| {
                            out.push_str(&format!("{contoso},{group},{},{added}", members[k]));
                        },
                    )?;
                }
            }
            restore_after_load(conn, &dropped)?;
            Some(group)
        } else {
            None
        };
        let mut groups = Vec::with_capacity(licensed);
        for k in 1..=licensed {
            let group = add_group(
                conn,
                &format!("Bench licensed group {k}"),
                "The benchmark's Add members target.",
            )?;
            diesel::insert_into(group_licenses::table)
                .values((
                    group_licenses::tenant_id.eq(contoso),
                    group_licenses::group_id.eq(group),
                    group_licenses::product_id.eq(product),
                    group_licenses::assigned_at.eq(at),
                ))
                .execute(conn)?;
            groups.push(group);
        }
        Ok(BenchGroups {
            bench,
            licensed: groups,
        })
    })
}

/// Adds `n` monthly card subscriptions of one license of a new product, "Bench Renewals k", to
/// Contoso, each paid by the same good card, whose terms end one second apart (up to 10
/// minutes) before `due_at`. Returns the product's id.
fn load_renewals(
    conn: &mut DbConnection,
    contoso: i64,
    k: usize,
    n: usize,
    due_at: DateTime<Utc>,
    at: NaiveDateTime,
) -> Result<i64, diesel::result::Error> {
    conn.transaction(|conn| {
        let product: i64 = diesel::insert_into(products::table)
            .values((
                products::code.eq(format!("BENCH_RENEWALS_{k}")),
                products::name.eq(format!("Bench Renewals {k}")),
                products::family.eq("online_services"),
                products::monthly_price_cents.eq(1200_i64),
                products::cancellation_window_days.eq(7),
            ))
            .returning(products::id)
            .get_result(conn)?;
        // Not the tenant's default: the demo's story keeps its expiring Visa.
        let card: i64 = diesel::insert_into(payment_methods::table)
            .values((
                payment_methods::tenant_id.eq(contoso),
                payment_methods::holder.eq(format!("Renewals Bench {k}")),
                payment_methods::brand.eq("Visa"),
                payment_methods::last4.eq("4242"),
                payment_methods::exp_month.eq(12),
                payment_methods::exp_year.eq(due_at.year() + 5),
                payment_methods::gateway_token.eq("test:approve"),
                payment_methods::is_default.eq(false),
                payment_methods::created_at.eq(at),
            ))
            .returning(payment_methods::id)
            .get_result(conn)?;
        let rows: Vec<_> = (0..n)
            .map(|k| {
                let end = (due_at - Duration::seconds(1 + (k % 600) as i64)).naive_utc();
                let start = (end.and_utc() - Months::new(1)).naive_utc();
                (
                    subscriptions::tenant_id.eq(contoso),
                    subscriptions::product_id.eq(product),
                    subscriptions::quantity.eq(1),
                    subscriptions::billing_period.eq("monthly"),
                    subscriptions::term_start.eq(start),
                    subscriptions::term_end.eq(end),
                    subscriptions::recurring_billing.eq(true),
                    subscriptions::purchase_channel.eq("credit_card"),
                    subscriptions::state.eq("active"),
                    subscriptions::payment_method_id.eq(Some(card)),
                    subscriptions::created_at.eq(at),
                )
            })
            .collect();
        for chunk in rows.chunks(CHUNK) {
            insert_rows!(conn, subscriptions::table, chunk)?;
        }
        Ok(product)
    })
}
