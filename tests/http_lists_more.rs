//! The rest of the lists through HTTP (issue 15): Your products, Payment methods, the Message
//! center and a product's assigned users say their total and sort by their header (or sort)
//! links both ways; a product's page pages by key in each order without gaps or repeats; the
//! support queue sorts by state and tenant; unknown sort values fall back to the default.

mod common;

use actix_web::http::StatusCode;
use allot::domain::Actor;
use allot::domain::schema::{license_assignments, messages, payment_methods, subscriptions, users};
use allot::domain::subscriptions as subs;
use common::*;
use diesel::prelude::*;

/// The first row of the page's first table.
fn first_row(body: &str) -> String {
    let body = &body[body.find("<tbody>").expect("a table") + 7..];
    let start = body.find("<tr").unwrap();
    let end = body.find("</tr>").unwrap();
    body[start..end].to_owned()
}

/// The rows of the page's first table.
fn rows(body: &str) -> Vec<String> {
    let body = &body[body.find("<tbody>").expect("a table") + 7..];
    let body = &body[..body.find("</tbody>").unwrap()];
    body.split("</tr>")
        .filter(|r| r.contains("<tr"))
        .map(str::to_owned)
        .collect()
}

/// The sort link of `label` (a header's, or a row of sort links'), unescaped.
fn sort_link(body: &str, label: &str) -> String {
    let marker = "<a class=\"sort\" href=\"";
    body.match_indices(marker)
        .map(|(at, _)| &body[at + marker.len()..])
        .find_map(|rest| {
            let end = rest.find('"')?;
            let text = &rest[rest[end..].find('>')? + end + 1..];
            text.starts_with(label)
                .then(|| rest[..end].replace("&amp;", "&").replace("&#38;", "&"))
        })
        .unwrap_or_else(|| panic!("a sort link {label}"))
}

/// The list's total as the page says it.
fn total_of(body: &str) -> String {
    let marker = "class=\"list-total\"";
    let at = body.find(marker).expect("a total") + marker.len();
    let rest = &body[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..start + rest[start..].find('<').unwrap()].to_owned()
}

#[actix_web::test]
async fn your_products_counts_its_subscriptions_and_sorts_by_licenses_state_and_renewal() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let shown = subs::list(&mut db.conn(), &Actor::System("test"), contoso).unwrap();
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let page = b.get("/billing/products").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        total_of(&page.body),
        format!("{} subscriptions", shown.len())
    );
    assert_eq!(rows(&page.body).len(), shown.len());
    // Licenses: fewest first, then most, by the same header clicked again.
    let fewest = shown.iter().map(|s| s.quantity).min().unwrap();
    let most = shown.iter().map(|s| s.quantity).max().unwrap();
    assert_ne!(fewest, most);
    let quantity = |row: &str| -> i32 {
        let cell = "data-label=\"Licenses\">";
        let at = row.find(cell).unwrap() + cell.len();
        row[at..at + row[at..].find('<').unwrap()].parse().unwrap()
    };
    let ascending = b.get(&sort_link(&page.body, "Licenses")).await;
    assert!(ascending.contains("aria-sort=\"ascending\""));
    assert_eq!(quantity(&first_row(&ascending.body)), fewest);
    let descending = b.get(&sort_link(&ascending.body, "Licenses")).await;
    assert!(descending.contains("aria-sort=\"descending\""));
    assert_eq!(quantity(&first_row(&descending.body)), most);
    // Every row is still there in each order.
    assert_eq!(rows(&descending.body).len(), shown.len());
    // Status by its title, either way round; Next renewal too.
    let states: Vec<&str> = shown.iter().map(|s| s.state.title()).collect();
    let (first_state, last_state) = (*states.iter().min().unwrap(), *states.iter().max().unwrap());
    let by_state = b.get("/billing/products?sort=state&order=asc").await;
    assert!(first_row(&by_state.body).contains(&format!(">{first_state}<")));
    let by_state = b.get("/billing/products?sort=state&order=desc").await;
    assert!(first_row(&by_state.body).contains(&format!(">{last_state}<")));
    let renewal = b.get(&sort_link(&page.body, "Next renewal")).await;
    assert_eq!(renewal.status, StatusCode::OK);
    assert!(!first_row(&renewal.body).contains("Doesn't renew"));
    // An unknown column, or a direction that isn't one, falls back to the default order.
    for bad in [
        "?sort=monthly_price_cents",
        "?sort=../x&order=sideways",
        "?order=%00",
    ] {
        let unknown = b.get(&format!("/billing/products{bad}")).await;
        assert_eq!(unknown.status, StatusCode::OK, "{bad}");
        assert_eq!(rows(&unknown.body), rows(&page.body), "{bad}");
    }
}

#[actix_web::test]
async fn payment_methods_count_the_cards_and_sort_by_card_expiry_and_holder() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    // The demo's default card, and a second one that sorts first by holder and last by expiry.
    diesel::insert_into(payment_methods::table)
        .values((
            payment_methods::tenant_id.eq(contoso.0),
            payment_methods::holder.eq("Aaron Zimmer"),
            payment_methods::brand.eq("Mastercard"),
            payment_methods::last4.eq("5454"),
            payment_methods::exp_month.eq(12),
            payment_methods::exp_year.eq(2099),
            payment_methods::gateway_token.eq("test:approve"),
            payment_methods::is_default.eq(false),
            payment_methods::created_at.eq(test_now().naive_utc()),
        ))
        .execute(&mut db.conn())
        .unwrap();
    let mut b = signed_in(&db, "billing@contoso.example").await;
    let page = b.get("/billing/payment-methods").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(total_of(&page.body), "2 cards");
    let first_card = |body: &str| -> String {
        let marker = "<section class=\"panel\" aria-label=\"";
        let at = body.find(marker).expect("a card") + marker.len();
        body[at..at + body[at..].find('"').unwrap()].to_owned()
    };
    // As before: the default card first.
    assert!(!first_card(&page.body).contains("5454"));
    let holder = b.get(&sort_link(&page.body, "Name on card")).await;
    assert!(holder.contains("aria-current=\"true\""));
    assert!(first_card(&holder.body).contains("5454"));
    let holder_desc = b.get(&sort_link(&holder.body, "Name on card")).await;
    assert!(!first_card(&holder_desc.body).contains("5454"));
    let expires = b.get(&sort_link(&page.body, "Expires")).await;
    assert!(!first_card(&expires.body).contains("5454"));
    let expires_desc = b.get(&sort_link(&expires.body, "Expires")).await;
    assert!(first_card(&expires_desc.body).contains("5454"));
    let card = b.get("/billing/payment-methods?sort=card&order=desc").await;
    assert!(first_card(&card.body).contains("Visa") || first_card(&card.body).contains("5454"));
    let unknown = b.get("/billing/payment-methods?sort=gateway_token").await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(first_card(&unknown.body), first_card(&page.body));
}

#[actix_web::test]
async fn the_message_center_counts_every_message_and_sorts_by_when_and_kind() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    // 60 messages: more than the page's 50, so the total counts beyond the page.
    for i in 0..60i64 {
        let kind = if i == 10 {
            "card_expiring"
        } else {
            "renewal_soon"
        };
        diesel::insert_into(messages::table)
            .values((
                messages::tenant_id.eq(contoso.0),
                messages::kind.eq(kind),
                messages::about.eq(format!("test:{i}")),
                messages::subject.eq(format!("Message number {i:02}")),
                messages::body.eq("Something to read."),
                messages::link.eq("/billing/products"),
                messages::created_at.eq((test_now() + chrono::Duration::minutes(i)).naive_utc()),
            ))
            .execute(&mut db.conn())
            .unwrap();
    }
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let page = b.get("/messages").await;
    assert_eq!(page.status, StatusCode::OK);
    let all: i64 = messages::table
        .filter(messages::tenant_id.eq(contoso.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert!(all >= 60);
    assert_eq!(total_of(&page.body), format!("{all} messages"));
    let subjects = |body: &str| -> Vec<String> {
        body.match_indices("class=\"message-subject\"><a href=\"/billing/products\">")
            .map(|(at, m)| {
                let rest = &body[at + m.len()..];
                rest[..rest.find('<').unwrap()].to_owned()
            })
            .collect()
    };
    // Newest first by default; When turns it round.
    assert_eq!(subjects(&page.body)[0], "Message number 59");
    let oldest = b.get(&sort_link(&page.body, "When")).await;
    assert!(oldest.contains("aria-current=\"true\""));
    let oldest_subjects = subjects(&oldest.body);
    assert!(!oldest_subjects.contains(&"Message number 59".to_owned()));
    // Kind, A to Z by title: the one card expiring before the renewals.
    let kind = b.get(&sort_link(&page.body, "Kind")).await;
    let first_kind = &kind.body[kind.body.find("class=\"message-meta\"").unwrap()..];
    assert!(
        first_kind[..200].contains("Card expiring"),
        "{:.300}",
        first_kind
    );
    let kind_desc = b.get(&sort_link(&kind.body, "Kind")).await;
    assert!(!subjects(&kind_desc.body).contains(&"Message number 10".to_owned()));
    let unknown = b.get("/messages?sort=about&order=x").await;
    assert_eq!(subjects(&unknown.body), subjects(&page.body));
}

/// `n` more Contoso users holding Business Premium (licenses enough for them all).
fn many_holders(db: &TestDb, n: usize) {
    many_users(db, n, 1);
}

/// `n` more Contoso users, every `every`-th of them holding Business Premium (licenses enough
/// for them all).
fn many_users(db: &TestDb, n: usize, every: usize) {
    let (contoso, _) = tenants(db);
    let premium = product_id(db, "Business Premium");
    let mut conn = db.conn();
    for i in 0..n {
        // Names and sign-in names in different orders, so the two sorts differ.
        let name = format!("Holder {i:03}");
        let email = format!("h{:03}@contoso.example", n - i);
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::tenant_id.eq(contoso.0),
                users::display_name.eq(&name),
                users::name_key.eq(name.to_lowercase()),
                users::email.eq(&email),
                users::password_hash.eq("!"),
                users::state.eq("active"),
                users::created_at.eq(test_now().naive_utc()),
                users::guid.eq(format!("00000000-0000-4000-9000-{i:012}")),
            ))
            .returning(users::id)
            .get_result(&mut conn)
            .unwrap();
        if i % every != 0 {
            continue;
        }
        diesel::insert_into(license_assignments::table)
            .values((
                license_assignments::tenant_id.eq(contoso.0),
                license_assignments::user_id.eq(id),
                license_assignments::product_id.eq(premium.0),
                license_assignments::assigned_at.eq(test_now().naive_utc()),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    diesel::update(
        subscriptions::table
            .filter(subscriptions::tenant_id.eq(contoso.0))
            .filter(subscriptions::product_id.eq(premium.0)),
    )
    .set(subscriptions::quantity.eq(500.max(n as i32 + 100)))
    .execute(&mut conn)
    .unwrap();
    allot::domain::licenses::recount(&mut conn, contoso).unwrap();
}

/// The sign-in names of a product page's table, in its order.
fn emails(body: &str) -> Vec<String> {
    rows(body)
        .iter()
        .map(|r| {
            let cell = "data-label=\"Sign-in name\">";
            let at = r.find(cell).expect("a sign-in name") + cell.len();
            r[at..at + r[at..].find('<').unwrap()].to_owned()
        })
        .collect()
}

/// The page's "Next page" link, unescaped.
fn next_page(body: &str) -> Option<String> {
    let at = body.find("\">Next page</a>")?;
    let start = body[..at].rfind("href=\"").unwrap() + 6;
    Some(body[start..at].replace("&amp;", "&").replace("&#38;", "&"))
}

/// A pool of thousands of holders among more users (its pages walk the tenant's users in
/// order rather than sort every holder): each order's pages, followed to the end, list every
/// holder once, in order, and no one else.
#[actix_web::test]
async fn a_big_pools_assigned_users_page_by_key_in_each_order_without_gaps() {
    let db = TestDb::with_demo();
    many_users(&db, 7500, 3);
    let premium = product_id(&db, "Business Premium");
    let (contoso, _) = tenants(&db);
    let (_, assigned, _) = pool_counts(&db, contoso, "Business Premium");
    assert_eq!(assigned, 2510, "the demo's 10 and 2,500 more");
    let mut conn = db.conn();
    let mut holders: Vec<(String, String)> = license_assignments::table
        .inner_join(users::table)
        .filter(license_assignments::product_id.eq(premium.0))
        .filter(license_assignments::tenant_id.eq(contoso.0))
        .select((users::name_key, users::email))
        .load(&mut conn)
        .unwrap();
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let path = format!("/licenses/{}", premium.0);
    for (sort, order) in [
        ("name", "asc"),
        ("name", "desc"),
        ("email", "asc"),
        ("email", "desc"),
    ] {
        let label = format!("{sort} {order}");
        let mut seen = Vec::new();
        let mut link = Some(format!("{path}?sort={sort}&order={order}"));
        let mut pages = 0;
        while let Some(l) = link {
            let p = b.get(&l).await;
            assert_eq!(p.status, StatusCode::OK, "{label}: {l}");
            assert_eq!(total_of(&p.body), "2,510 assigned users", "{label}");
            seen.extend(emails(&p.body));
            link = next_page(&p.body);
            pages += 1;
            assert!(pages < 60, "{label}: the pages never end");
        }
        assert_eq!(pages, 51, "{label}: 50 pages of 50 and one of 10");
        // The names are unique here, so each order is one list.
        holders.sort_by(|a, b| {
            if sort == "name" {
                a.0.cmp(&b.0)
            } else {
                a.1.cmp(&b.1)
            }
        });
        if order == "desc" {
            holders.reverse();
        }
        let expected: Vec<String> = holders.iter().map(|h| h.1.clone()).collect();
        assert_eq!(
            seen, expected,
            "{label}: every holder once, in order, no one else"
        );
    }
}

#[actix_web::test]
async fn a_products_assigned_users_sort_by_name_and_sign_in_name_and_page_by_key_in_each_order() {
    let db = TestDb::with_demo();
    many_holders(&db, 120);
    let premium = product_id(&db, "Business Premium");
    let (contoso, _) = tenants(&db);
    let (_, assigned, _) = pool_counts(&db, contoso, "Business Premium");
    assert_eq!(assigned, 130, "the demo's 10 and 120 more");
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let path = format!("/licenses/{}", premium.0);
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(total_of(&page.body), "130 assigned users");
    // Each order, walked by its Next page links: every holder once, in that order. The
    // default is by display name, so its header turns that round first.
    let name_desc = b.get(&format!("{path}?sort=name&order=desc")).await;
    for (label, start) in [
        ("name desc", sort_link(&page.body, "Display name")),
        ("name asc", sort_link(&name_desc.body, "Display name")),
        ("email asc", sort_link(&page.body, "Sign-in name")),
        ("email desc", {
            let asc = b.get(&sort_link(&page.body, "Sign-in name")).await;
            sort_link(&asc.body, "Sign-in name")
        }),
    ] {
        let mut seen = Vec::new();
        let mut link = Some(start);
        let mut pages = 0;
        let mut first = None;
        while let Some(l) = link {
            let p = b.get(&l).await;
            assert_eq!(p.status, StatusCode::OK, "{label}: {l}");
            assert_eq!(total_of(&p.body), "130 assigned users", "{label}");
            first.get_or_insert_with(|| p.body.clone());
            seen.extend(emails(&p.body));
            link = next_page(&p.body);
            pages += 1;
            assert!(pages < 10, "{label}: the pages never end");
        }
        assert_eq!(pages, 3, "{label}: 50, 50 and 30");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 130, "{label}: no gaps, no repeats");
        let first = first.unwrap();
        let descending = label.ends_with("desc");
        assert!(
            first.contains(&format!(
                "aria-sort=\"{}\"",
                if descending {
                    "descending"
                } else {
                    "ascending"
                }
            )),
            "{label}"
        );
        if label.starts_with("email") {
            let mut sorted = seen.clone();
            sorted.sort();
            if descending {
                sorted.reverse();
            }
            assert_eq!(seen, sorted, "{label}: in sign-in name order");
            // The export follows the order.
            let at = first
                .find("\" download>Export users</a>")
                .expect("Export users");
            let start = first[..at].rfind("href=\"").unwrap() + 6;
            let export = first[start..at].replace("&amp;", "&").replace("&#38;", "&");
            assert!(
                export.ends_with(&format!(
                    "&sort=email&order={}",
                    if descending { "desc" } else { "asc" }
                )),
                "{label}: {export}"
            );
        } else {
            // Holder 000 has the last sign-in name of the new ones (h120).
            let holder_0 = seen
                .iter()
                .position(|e| e == "h120@contoso.example")
                .unwrap();
            let holder_119 = seen
                .iter()
                .position(|e| e == "h001@contoso.example")
                .unwrap();
            assert_eq!(holder_0 < holder_119, !descending, "{label}");
        }
    }
    // The search keeps the order (its header links and its form), and counts its matches.
    let searched = b
        .get(&format!("{path}?q=holder%2000&sort=email&order=desc"))
        .await;
    assert_eq!(total_of(&searched.body), "10 assigned users");
    assert!(sort_link(&searched.body, "Display name").contains("q=holder"));
    assert!(searched.contains("name=\"sort\" value=\"email\""));
    let found = emails(&searched.body);
    let mut sorted = found.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(found, sorted);
    // Bad values fall back to the default order.
    let default_first = first_row(&page.body);
    for bad in ["sort=password", "sort=email;drop&order=up", "order=%00"] {
        let p = b.get(&format!("{path}?{bad}")).await;
        assert_eq!(p.status, StatusCode::OK, "{bad}");
        assert_eq!(first_row(&p.body), default_first, "{bad}");
    }
    // The export follows the order, as Active users' does.
    let export = b
        .get(&format!(
            "/users/export.csv?filter=product-{}&sort=email&order=desc",
            premium.0
        ))
        .await;
    assert_eq!(export.status, StatusCode::OK);
    let exported: Vec<&str> = export
        .body
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(exported.len(), 130);
    let mut sorted = exported.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(exported, sorted);
}

#[actix_web::test]
async fn the_support_queue_sorts_by_state_and_tenant_both_ways() {
    use allot::domain::service_requests::{self as requests, NewRequest};
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    for (email, tenant) in [
        ("admin@contoso.example", contoso),
        ("admin@fabrikam.example", fabrikam),
    ] {
        requests::file(
            &mut db.conn(),
            &actor(&db, email),
            test_now(),
            tenant,
            &NewRequest {
                kind: "billing_question".into(),
                description: "A question about the bill, please.".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let mut b = signed_in(&db, "support@allot.example").await;
    let queue = b.get("/support").await;
    let tenant_cell = |row: &str| -> String {
        let cell = "data-label=\"Tenant\">";
        let at = row.find(cell).expect("a tenant cell") + cell.len();
        row[at..at + row[at..].find('<').unwrap()].to_owned()
    };
    let by_tenant = b.get(&sort_link(&queue.body, "Tenant")).await;
    assert!(by_tenant.contains("aria-sort=\"ascending\""));
    let by_tenant_desc = b.get(&sort_link(&by_tenant.body, "Tenant")).await;
    assert!(by_tenant_desc.contains("aria-sort=\"descending\""));
    let (first, last) = (
        tenant_cell(&first_row(&by_tenant.body)),
        tenant_cell(&first_row(&by_tenant_desc.body)),
    );
    assert_ne!(first, last);
    let names: Vec<String> = rows(&by_tenant.body)
        .iter()
        .map(|r| tenant_cell(r))
        .collect();
    assert_eq!(names.first(), Some(&first));
    assert_eq!(names.last(), Some(&last));
    let by_state = b.get(&sort_link(&queue.body, "State")).await;
    assert_eq!(by_state.status, StatusCode::OK);
    assert!(by_state.contains("aria-sort=\"ascending\""));
    assert_eq!(
        total_of(&by_state.body),
        total_of(&queue.body),
        "sorting keeps the total"
    );
    // The filters are kept by the new headers.
    let filtered = b.get("/support?assigned=nobody").await;
    assert!(sort_link(&filtered.body, "State").contains("assigned=nobody"));
    assert!(sort_link(&filtered.body, "Tenant").contains("assigned=nobody"));
}
