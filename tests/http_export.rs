//! Export users through HTTP: Active users' search and filter give the same users in the CSV,
//! a product's page exports its assigned users, every page of a big tenant is streamed, fields
//! are formula-safe, and only those who may see users get it.

mod common;

use actix_web::http::StatusCode;
use allot::domain::schema::users;
use common::*;
use diesel::prelude::*;

fn lines(body: &str) -> Vec<&str> {
    body.split("\r\n").filter(|l| !l.is_empty()).collect()
}

#[actix_web::test]
async fn export_users_gives_what_active_users_lists_with_its_search_and_filter() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let list = admin.get("/users").await;
    assert!(list.contains("href=\"/users/export.csv?q=&amp;filter=&amp;sort=&amp;order=\""));
    // The export follows the order the headers chose.
    let desc = admin.get("/users?sort=email&order=desc").await;
    assert!(
        desc.contains("href=\"/users/export.csv?q=&amp;filter=&amp;sort=email&amp;order=desc\"")
    );
    let backwards = admin.get("/users/export.csv?sort=email&order=desc").await;
    let emails: Vec<&str> = lines(&backwards.body)[1..]
        .iter()
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    let mut sorted = emails.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(emails, sorted);

    let all = admin.get("/users/export.csv").await;
    assert_eq!(all.status, StatusCode::OK);
    let rows = lines(&all.body);
    assert_eq!(
        rows[0],
        "Display name,Sign-in name,Sign-in blocked,Licenses"
    );
    // Contoso: 4 admins and 40 users, sorted by name.
    assert_eq!(rows.len(), 1 + 44);
    assert!(
        rows.contains(
            &"Allan Deyoung,user02@contoso.example,No,Business Premium; Sales Professional"
        ),
        "{rows:?}"
    );
    assert!(!all.body.contains("fabrikam"), "one tenant only");

    let search = admin.get("/users/export.csv?q=emily").await;
    assert_eq!(
        lines(&search.body)[1..],
        ["Emily Braun,user09@contoso.example,No,Business Premium"]
    );
    let premium = product_id(&db, "Business Premium").0;
    let product = admin.get(&format!("/licenses/{premium}")).await;
    // The page's own order (display name) goes with the link, as a header would change it.
    let link = format!("/users/export.csv?filter=product-{premium}&sort=name&order=asc");
    assert!(
        product.contains(&format!("href=\"{}\"", link.replace('&', "&#38;")))
            || product.contains(&format!("href=\"{}\"", link.replace('&', "&amp;"))),
        "{}",
        product.body
    );
    let holders = admin.get(&link).await;
    assert_eq!(
        lines(&holders.body).len(),
        1 + 10,
        "Business Premium: 10 assigned"
    );
    assert!(
        lines(&holders.body)[1..]
            .iter()
            .all(|l| l.contains("Business Premium"))
    );
}

#[actix_web::test]
async fn every_page_of_a_big_tenant_is_exported_once_and_fields_are_formula_safe() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    // Rows as the loader writes them (no password: they never sign in), and one whose name
    // a spreadsheet would run as a formula.
    let mut people: Vec<(String, String)> = (0..2_100)
        .map(|i| {
            (
                format!("Bulk {i:04}"),
                format!("bulk{i:04}@contoso.example"),
            )
        })
        .collect();
    people.push(("=HYPERLINK(\"x\")".into(), "formula@contoso.example".into()));
    for (i, (name, email)) in people.iter().enumerate() {
        diesel::insert_into(users::table)
            .values((
                users::tenant_id.eq(contoso.0),
                users::display_name.eq(name),
                users::name_key.eq(name.to_lowercase()),
                users::email.eq(email),
                users::password_hash.eq("!"),
                users::state.eq("active"),
                users::created_at.eq(test_now().naive_utc()),
                users::guid.eq(format!("00000000-0000-4000-8000-{i:012}")),
            ))
            .execute(&mut db.conn())
            .unwrap();
    }
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let export = admin.get("/users/export.csv").await;
    let rows = lines(&export.body);
    assert_eq!(
        rows.len(),
        1 + 44 + 2_100 + 1,
        "three pages and a bit, each user once"
    );
    let mut emails: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r.split(',').nth(1).unwrap_or(""))
        .collect();
    emails.sort();
    emails.dedup();
    assert_eq!(emails.len(), 44 + 2_100 + 1);
    assert!(
        rows.contains(&"\"'=HYPERLINK(\"\"x\"\")\",formula@contoso.example,No,"),
        "{:?}",
        rows.iter().find(|r| r.contains("formula"))
    );
}

#[actix_web::test]
async fn who_may_export_users() {
    let db = TestDb::with_demo();
    for (email, status) in [
        ("licenses@contoso.example", StatusCode::OK),
        ("users@contoso.example", StatusCode::OK),
        ("billing@contoso.example", StatusCode::FORBIDDEN),
    ] {
        let mut who = signed_in(&db, email).await;
        assert_eq!(who.get("/users/export.csv").await.status, status, "{email}");
    }
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let bad = admin.get("/users/export.csv?q=%07").await;
    assert!(bad.status.is_client_error(), "{:?}", bad.status);
}

#[actix_web::test]
async fn the_audit_log_exports_its_filtered_entries_newest_first() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    // Unassign and assign back Business Premium for user05: two entries to find.
    let premium = product_id(&db, "Business Premium").0;
    let user = user_id(&db, "user05@contoso.example").0.to_string();
    let product_page = format!("/licenses/{premium}");
    let done = admin
        .submit(
            &product_page,
            &format!("{product_page}/unassign"),
            &[("users", &user), ("confirm", "yes")],
        )
        .await;
    assert!(done.status.is_redirection(), "{:?}", done.status);

    let page = admin
        .get("/settings/audit-log?action=Unassigned+license")
        .await;
    assert!(page.contains("href=\"/settings/audit-log/export.csv?user=&#38;product=&#38;action=Unassigned+license&#38;from=&#38;until=\""), "{}", page.body);
    let export = admin
        .get("/settings/audit-log/export.csv?action=Unassigned+license")
        .await;
    assert_eq!(export.status, StatusCode::OK);
    let rows = lines(&export.body);
    assert_eq!(rows[0], "Date (UTC),By,Action,Target,Detail,IP address");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[1].contains(
            ",Unassigned license,user05@contoso.example,Business Premium: 9 of 13 assigned"
        ),
        "{}",
        rows[1]
    );

    // Everything, across pages: as many rows as the tenant has entries.
    use allot::domain::schema::audit_log;
    let entries: i64 = audit_log::table
        .filter(audit_log::tenant_id.eq(contoso.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    let all = admin.get("/settings/audit-log/export.csv").await;
    assert_eq!(lines(&all.body).len() as i64, 1 + entries);
    let mut billing = signed_in(&db, "users@contoso.example").await;
    let refused = billing.get("/settings/audit-log/export.csv").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let bad = admin
        .get("/settings/audit-log/export.csv?from=yesterday")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}
