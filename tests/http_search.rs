//! Active users through HTTP: a word anywhere, the total, the column headers, and Select all
//! N matching for Manage product licenses and Delete.

mod common;

use actix_web::http::StatusCode;
use allot::domain::users::{self, NewUser, UserFilter};
use common::*;

/// Ten more Contoso users ("Zz Extra 0" …), so that everyone fills more than a page.
fn ten_more(db: &TestDb) {
    let (contoso, _) = tenants(db);
    for i in 0..10 {
        users::create(
            &mut db.conn(),
            &actor(db, "admin@contoso.example"),
            test_now(),
            contoso,
            &NewUser {
                display_name: format!("Zz Extra {i}"),
                email: format!("zz{i}@contoso.example"),
                password: None,
                products: vec![],
            },
        )
        .unwrap();
    }
}

fn contoso_count(db: &TestDb) -> i64 {
    let (contoso, _) = tenants(db);
    let admin = actor(db, "admin@contoso.example");
    users::count(&mut db.conn(), &admin, contoso, "", UserFilter::All).unwrap()
}

fn plain(body: &str) -> String {
    body.replace("&#38;", "&").replace("&amp;", "&")
}

#[actix_web::test]
async fn a_middle_word_finds_the_user_and_the_total_says_how_many() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let found = admin.get("/users?q=braun").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.contains("Emily Braun") && found.contains(">1 user<"));
    assert!(!found.contains("Alex Wilber"));
    let all = admin.get("/users?q=contoso").await;
    let total = format!(">{} users<", contoso_count(&db));
    assert!(all.contains(&total), "{total}");
    assert!(admin.get("/users").await.contains(&total));
    // No "Sort by" select any more: the headers sort.
    assert!(!all.contains("Sort by"));
    let none = admin.get("/users?q=nobody-here").await;
    assert!(none.contains(">0 users<") && none.contains("No users match."));
}

#[actix_web::test]
async fn the_headers_sort_both_ways_and_keep_the_search() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let page = plain(&admin.get("/users?q=contoso").await.body);
    assert!(page.contains("href=\"/users?q=contoso&sort=name&order=desc\""));
    assert!(page.contains("href=\"/users?q=contoso&sort=email&order=asc\""));
    assert!(page.contains("aria-sort=\"ascending\""));
    // The old link still sorts by sign-in name.
    let old = plain(&admin.get("/users?sort=email").await.body);
    assert!(
        old.contains("href=\"/users?sort=email&order=desc\""),
        "{old}"
    );
    let desc = admin.get("/users?sort=name&order=desc").await;
    assert!(desc.contains("aria-sort=\"descending\""));
    let (z, a) = (desc.body.find("Zoe Keller"), desc.body.find("Alex Wilber"));
    assert!(z.unwrap() < a.unwrap(), "descending: Z before A");
    let asc = admin.get("/users?sort=name&order=asc").await;
    assert!(asc.body.find("Alex Wilber").unwrap() < asc.body.find("Zoe Keller").unwrap());
}

#[actix_web::test]
async fn select_all_matching_manages_every_match_after_naming_the_count() {
    let db = TestDb::with_demo();
    ten_more(&db);
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let n = contoso_count(&db);
    let list = admin.get("/users").await;
    assert!(list.contains(&format!("Select all {n} users matching")));
    // One page of a search offers nothing to select beyond it.
    assert!(!admin.get("/users?q=braun").await.contains("matching"));

    let form_page = "/users/manage?all_matching=yes&q=zz&filter=";
    let form = admin.get(form_page).await;
    assert!(form.contains("10 users selected"), "{}", form.body);
    let premium = product_id(&db, "Business Premium").0.to_string();
    let fields = [
        ("all_matching", "yes"),
        ("q", "zz"),
        ("filter", ""),
        ("mode", "assign"),
        ("products", premium.as_str()),
    ];
    let done = admin.submit(form_page, "/users/manage", &fields).await;
    assert_eq!(done.status, StatusCode::OK);
    // All ten matches, decided on the server: three licenses don't go round (all or none).
    assert!(done.contains("3 available for 10 users"), "{}", done.body);
    for i in 0..10 {
        assert!(done.contains(&format!("Zz Extra {i}")));
    }

    // Everyone, unassign all: the confirmation names the count and the first ones.
    let everyone = "/users/manage?all_matching=yes&q=&filter=";
    let page = admin.get(everyone).await;
    assert!(page.contains(&format!("{n} users selected")));
    assert!(
        page.contains(&format!("and {} more", n - 20)),
        "{}",
        page.body
    );
    let unassign = [
        ("all_matching", "yes"),
        ("q", ""),
        ("filter", ""),
        ("mode", "unassign"),
    ];
    let asked = admin.submit(everyone, "/users/manage", &unassign).await;
    assert!(asked.contains("removes licenses from"), "{}", asked.body);
    assert!(asked.contains("Emily Braun"));
}

#[actix_web::test]
async fn select_all_matching_is_refused_to_a_role_that_may_not_assign() {
    let db = TestDb::with_demo();
    ten_more(&db);
    let mut billing = signed_in(&db, "billing@contoso.example").await;
    let list = billing.get("/users").await;
    assert!(!list.contains("Manage product licenses"));
    let page = billing
        .get("/users/manage?all_matching=yes&q=&filter=")
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let delete = billing
        .get("/users/delete?all_matching=yes&q=&filter=")
        .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn delete_all_matching_asks_then_deletes_them_in_the_tenant_only() {
    let db = TestDb::with_demo();
    ten_more(&db);
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let before = contoso_count(&db);
    let form_page = "/users/delete?all_matching=yes&q=zz&filter=";
    let asked = admin.get(form_page).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.contains("Delete 10 users?") && asked.contains("Zz Extra 3"));
    assert_eq!(
        contoso_count(&db),
        before,
        "nothing changes before the confirmation"
    );
    let fields = [("all_matching", "yes"), ("q", "zz"), ("filter", "")];
    let done = admin.submit(form_page, "/users/delete", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(contoso_count(&db), before - 10);
    // Fabrikam's users are never among the matches: "example" matches everyone's domain.
    let (_, fabrikam) = tenants(&db);
    let fab = actor(&db, "admin@fabrikam.example");
    let fab_before = users::count(&mut db.conn(), &fab, fabrikam, "", UserFilter::All).unwrap();
    let all = admin
        .get("/users/delete?all_matching=yes&q=example&filter=")
        .await;
    assert!(
        all.contains(&format!("Delete {} users?", before - 11)),
        "all but the admin"
    );
    assert!(!all.contains("fabrikam.example"));
    let fields = [("all_matching", "yes"), ("q", "example"), ("filter", "")];
    admin
        .submit(
            "/users/delete?all_matching=yes&q=example",
            "/users/delete",
            &fields,
        )
        .await;
    assert_eq!(contoso_count(&db), 1, "the admin's own account stays");
    assert_eq!(
        users::count(&mut db.conn(), &fab, fabrikam, "", UserFilter::All).unwrap(),
        fab_before
    );
}

#[actix_web::test]
async fn a_products_page_searches_its_holders_says_the_total_and_unassigns_all_matching() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let premium = product_id(&db, "Business Premium").0;
    let page = format!("/licenses/{premium}");
    let all = admin.get(&page).await;
    assert!(all.contains(">10 assigned users<"), "{}", all.body);
    let found = admin.get(&format!("{page}?q=contoso")).await;
    assert!(found.contains(">10 assigned users<"));
    // A word in the middle of the sign-in names: user01 … user09 hold it in the demo.
    let some = admin.get(&format!("{page}?q=ser0")).await;
    let n = some
        .body
        .split(">")
        .find_map(|s| s.strip_suffix(" assigned users</p"))
        .and_then(|n| n.parse::<usize>().ok())
        .expect("a total");
    assert!(n > 1 && n < 10, "{n}");

    let fields = [("all_matching", "yes"), ("q", "ser0")];
    let asked = admin
        .submit(&page, &format!("{page}/unassign"), &fields)
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(
        asked.contains(&format!("Business Premium: {n} users")),
        "{}",
        asked.body
    );
    assert!(admin.get(&page).await.contains(">10 assigned users<"));
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm", "yes"));
    let done = admin
        .submit(&page, &format!("{page}/unassign"), &confirmed)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let after = admin.get(&page).await;
    assert!(
        after.contains(&format!(">{} assigned users<", 10 - n))
            || (10 - n == 1 && after.contains(">1 assigned user<")),
        "{}",
        after.body
    );
    // A role that may not assign may not unassign all matching either.
    let mut billing = signed_in(&db, "billing@contoso.example").await;
    let refused = billing
        .submit(&page, &format!("{page}/unassign"), &confirmed)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
