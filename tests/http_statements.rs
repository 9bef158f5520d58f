//! The SQL statements a page runs (issue 17): counted per request by the connections of the
//! pool and kept in `/metrics` as `allot_http_request_statements`. A page runs a handful, and
//! the same number when the tenant has many more users, licenses and audit entries: work that
//! grows with the tenant (a query per row) shows here before it shows in the benchmark.
//! Alone in its binary: the metrics recorder is the process's.

mod common;

use allot::domain::licenses::{self, PoolRef};
use allot::domain::users::{self, NewUser};
use common::*;
use std::collections::BTreeMap;

/// The pages an admin opens most, by route as `/metrics` names them.
const PAGES: [(&str, &str); 7] = [
    ("/licenses", "/licenses"),
    ("/users", "/users"),
    ("/users?q=user", "/users"),
    ("/", "/"),
    ("/billing/products", "/billing/products"),
    ("/settings/audit-log", "/settings/audit-log"),
    ("/messages", "/messages"),
];

/// Sum and count of the statements histogram, per route.
fn statements(text: &str) -> BTreeMap<String, (f64, f64)> {
    let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for line in text.lines() {
        let (is_sum, rest) =
            if let Some(r) = line.strip_prefix("allot_http_request_statements_sum{") {
                (true, r)
            } else if let Some(r) = line.strip_prefix("allot_http_request_statements_count{") {
                (false, r)
            } else {
                continue;
            };
        let route = rest
            .split("route=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_owned();
        let value: f64 = rest.rsplit(' ').next().unwrap().parse().unwrap();
        let entry = out.entry(route).or_default();
        if is_sum {
            entry.0 = value;
        } else {
            entry.1 = value;
        }
    }
    out
}

/// Opens each page once and says how many statements each ran.
async fn statements_per_page<S, B>(b: &mut Browser<S>) -> Vec<(&'static str, f64)>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let mut out = Vec::new();
    for (path, route) in PAGES {
        let before = statements(&allot::web::metrics::handle().render());
        let page = b.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        let after = statements(&allot::web::metrics::handle().render());
        let (sum0, count0) = before.get(route).copied().unwrap_or_default();
        let (sum1, count1) = after.get(route).copied().unwrap_or_default();
        assert_eq!(count1 - count0, 1.0, "{path} is counted once");
        out.push((path, sum1 - sum0));
    }
    out
}

#[actix_web::test]
async fn pages_run_a_handful_of_statements_whatever_the_tenant_size() {
    let db = TestDb::with_demo();
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let small = statements_per_page(&mut b).await;
    for (path, n) in &small {
        assert!(*n >= 1.0, "{path} reads the database: {n}");
        assert!(*n <= 20.0, "{path} runs {n} statements");
    }

    // Many more users, licensed ones, and audit entries than a page shows.
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let mut conn = db.conn();
    let mut added = Vec::new();
    for i in 0..120 {
        let new = NewUser {
            display_name: format!("Statement User {i:03}"),
            email: format!("statement.user{i:03}@contoso.example"),
            password: Some("a long enough password 1".into()),
            products: vec![],
        };
        added.push(
            users::create(&mut conn, &admin, test_now(), contoso, &new)
                .unwrap()
                .user,
        );
    }
    // Every license the demo's pools have left goes to the new users.
    let mut given = 0;
    for product in ["Business Premium", "Sales Professional"] {
        let (total, assigned, _) = pool_counts(&db, contoso, product);
        let room = usize::try_from(total - assigned)
            .unwrap()
            .min(added.len() - given);
        if room > 0 {
            let pool = PoolRef::Tenant(product_id(&db, product));
            let to = &added[given..given + room];
            licenses::assign(&mut conn, &admin, test_now(), contoso, pool, to).unwrap();
            given += room;
        }
    }
    assert!(given >= 3, "the demo has licenses to give: {given}");
    drop(conn);

    let large = statements_per_page(&mut b).await;
    assert_eq!(small, large, "the same statements with 120 more users");
}
