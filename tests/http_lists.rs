//! Lists through HTTP: each shows its total, sorts by its header links (the first row changes),
//! falls back to its default order for an unknown column, and the support queue finds a
//! request by its number and by a word.

mod common;

use actix_web::http::StatusCode;
use allot::domain::ServiceRequestId;
use allot::domain::audit;
use allot::domain::service_requests::{self as requests, NewRequest};
use chrono::Duration;
use common::*;

fn question(db: &TestDb, minutes: i64, description: &str) -> ServiceRequestId {
    let admin = actor(db, "admin@contoso.example");
    let tenant = admin.tenant().unwrap();
    requests::file(
        &mut db.conn(),
        &admin,
        test_now() + Duration::minutes(minutes),
        tenant,
        &NewRequest {
            kind: "billing_question".into(),
            description: description.into(),
            ..Default::default()
        },
    )
    .unwrap()
}

/// The first row of the page's table.
fn first_row(body: &str) -> String {
    let body = &body[body.find("<tbody>").expect("a table") + 7..];
    let start = body.find("<tr").unwrap();
    let end = body.find("</tr>").unwrap();
    body[start..end].to_owned()
}

/// The header link of `label`, unescaped.
fn header_link(body: &str, label: &str) -> String {
    let marker = "<a class=\"sort\" href=\"";
    body.match_indices(marker)
        .map(|(at, _)| &body[at + marker.len()..])
        .find_map(|rest| {
            let end = rest.find('"')?;
            let text = &rest[end + 2..];
            text.starts_with(label)
                .then(|| rest[..end].replace("&amp;", "&").replace("&#38;", "&"))
        })
        .unwrap_or_else(|| panic!("a header {label}"))
}

#[actix_web::test]
async fn the_support_queue_counts_searches_by_number_and_word_and_sorts_by_its_headers() {
    let db = TestDb::with_demo();
    let late = question(&db, 1, "The invoice for November is late");
    let card = question(&db, 2, "Our card was declined twice");
    let mut b = signed_in(&db, "support@allot.example").await;
    let all = b.get("/support").await;
    assert_eq!(all.status, StatusCode::OK);
    // The demo's Fabrikam question and these two.
    assert!(all.contains("3 service requests"), "{}", all.body);
    assert!(first_row(&all.body).contains("declined"));
    // By number, as the page shows it and as staff say it.
    for q in [format!("%23{}", late.0), format!("SR-{}", late.0)] {
        let found = b.get(&format!("/support?q={q}")).await;
        assert_eq!(found.status, StatusCode::OK);
        assert!(found.contains("1 service request<"), "{}", found.body);
        assert!(first_row(&found.body).contains("The invoice for November"));
    }
    // By a word, any case, with the other filters.
    let word = b.get("/support?q=DECLINED&assigned=nobody").await;
    assert!(word.contains("1 service request<"));
    assert!(first_row(&word.body).contains(&format!("#{}", card.0)));
    // The number header sorts ascending, then the other way round; the search is kept.
    let by_number = header_link(&all.body, "Number");
    assert!(by_number.contains("sort=number&order=asc"), "{by_number}");
    let ascending = b.get(&by_number).await;
    assert!(ascending.contains("aria-sort=\"ascending\""));
    let oldest = first_row(&ascending.body);
    assert!(!oldest.contains(&format!("#{}", card.0)));
    let descending = b.get(&header_link(&ascending.body, "Number")).await;
    assert!(first_row(&descending.body).contains(&format!("#{}", card.0)));
    let searched = b.get("/support?q=invoice").await;
    assert!(header_link(&searched.body, "Age").contains("q=invoice"));
    // An unknown column falls back to the default order.
    let unknown = b.get("/support?sort=password&order=sideways").await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(first_row(&unknown.body), first_row(&all.body));
}

#[actix_web::test]
async fn a_tenants_requests_count_and_sort_by_number_and_update() {
    let db = TestDb::with_demo();
    let first = question(&db, 1, "First question about the bill");
    let second = question(&db, 2, "Second question about the bill");
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let list = b.get("/support/requests").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.contains("2 service requests"), "{}", list.body);
    assert!(first_row(&list.body).contains(&format!("#{}", second.0)));
    let by_number = b.get(&header_link(&list.body, "Number")).await;
    assert!(first_row(&by_number.body).contains(&format!("#{}", first.0)));
    let updated = b.get("/support/requests?sort=updated&order=asc").await;
    assert!(first_row(&updated.body).contains(&format!("#{}", first.0)));
    let unknown = b.get("/support/requests?sort=tenant_id").await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert!(first_row(&unknown.body).contains(&format!("#{}", second.0)));
}

#[actix_web::test]
async fn the_audit_log_counts_its_entries_and_sorts_by_when_who_and_action() {
    let db = TestDb::with_demo();
    let admin = actor(&db, "admin@contoso.example");
    let tenant = admin.tenant().unwrap();
    for action in ["aaa.first", "zzz.last"] {
        audit::record(
            &mut db.conn(),
            &admin,
            test_now(),
            Some(tenant),
            action,
            "someone",
            "",
        )
        .unwrap();
    }
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let log = b.get("/settings/audit-log").await;
    assert_eq!(log.status, StatusCode::OK);
    // Counted after signing in (which may add an entry), as the page counted.
    let shown = audit::count(&mut db.conn(), &admin, tenant, &Default::default()).unwrap();
    assert!(shown > 2);
    assert!(log.contains(&allot_total(shown)), "{}", log.body);
    // The first action in the database's own order (its collation decides), either way round.
    let first_action = |descending| {
        let filter = audit::Filter {
            order: audit::AuditOrder {
                by: audit::AuditSort::Action,
                descending,
            },
            ..Default::default()
        };
        audit::search(&mut db.conn(), &admin, tenant, &filter, None)
            .unwrap()
            .0[0]
            .action
            .clone()
    };
    let by_action = b.get(&header_link(&log.body, "Action")).await;
    assert!(first_row(&by_action.body).contains(&format!(">{}<", first_action(false))));
    let by_action_desc = b.get(&header_link(&by_action.body, "Action")).await;
    assert!(first_row(&by_action_desc.body).contains(&format!(">{}<", first_action(true))));
    assert_ne!(first_action(false), first_action(true));
    // The filter is kept by the header links and counted.
    let filtered = b.get("/settings/audit-log?action=zzz.last").await;
    assert!(filtered.contains("1 entry<"), "{}", filtered.body);
    assert!(header_link(&filtered.body, "Who").contains("action=zzz.last"));
    let unknown = b.get("/settings/audit-log?sort=detail&order=up").await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(first_row(&unknown.body), first_row(&log.body));
}

/// A total as the pages group it ("1,234 entries").
fn allot_total(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    format!("{out} entries")
}

#[actix_web::test]
async fn groups_bills_tokens_and_the_outbox_count_and_sort_by_their_headers() {
    let db = TestDb::with_demo();
    // The demo has no bills yet: two of Contoso's, small and large.
    let (contoso, _) = tenants(&db);
    for (number, cents) in [("B-0001", 1_250i64), ("B-0002", 99_900)] {
        use allot::domain::schema::bills;
        use diesel::prelude::*;
        diesel::insert_into(bills::table)
            .values((
                bills::tenant_id.eq(contoso.0),
                bills::number.eq(number),
                bills::issued_at.eq(test_now().naive_utc()),
                bills::kind.eq("purchase"),
                bills::state.eq("paid"),
                bills::total_cents.eq(cents),
                bills::payment_method.eq("Visa ending 4242"),
            ))
            .execute(&mut db.conn())
            .unwrap();
    }
    let mut b = signed_in(&db, "admin@contoso.example").await;
    for (path, total, header) in [
        ("/groups", " group", "Name"),
        ("/billing/bills", " bill", "Amount"),
        ("/settings/api-access", " API token", "Name"),
    ] {
        let list = b.get(path).await;
        assert_eq!(list.status, StatusCode::OK, "{path}");
        let shown = &list.body[list.body.find("class=\"list-total\">").expect(path)..];
        assert!(
            shown[19..].split('<').next().unwrap().contains(total),
            "{path}: {shown:.80}"
        );
        // The demo has groups and bills; API tokens only when one was added.
        if path != "/settings/api-access" || list.contains("a class=\"sort\"") {
            // Clicking the header twice gives both directions (the first click may turn the
            // default order round).
            let once = b.get(&header_link(&list.body, header)).await;
            assert_eq!(once.status, StatusCode::OK);
            let twice = b.get(&header_link(&once.body, header)).await;
            let ascending = |p: &Page| p.contains("aria-sort=\"ascending\"");
            assert!(
                once.contains("aria-sort=") && twice.contains("aria-sort="),
                "{path}"
            );
            assert_ne!(ascending(&once), ascending(&twice), "{path}");
        }
        let unknown = b.get(&format!("{path}?sort=id--&order=x")).await;
        assert_eq!(unknown.status, StatusCode::OK, "{path}");
    }
    // Bills: the largest amount first, then the smallest.
    let bills = b.get("/billing/bills?sort=amount&order=desc").await;
    assert!(bills.contains("2 bills"));
    assert!(first_row(&bills.body).contains("B-0002"));
    let smallest = first_row(&b.get("/billing/bills?sort=amount&order=asc").await.body);
    assert!(smallest.contains("B-0001"));

    let mut support = signed_in(&db, "support@allot.example").await;
    let outbox = support.get("/support/outbox").await;
    assert!(
        outbox.contains(" emails<") || outbox.contains(" emails<span"),
        "{}",
        outbox.body
    );
    let by_to = support.get("/support/outbox?sort=to&order=asc").await;
    let by_to_desc = support.get("/support/outbox?sort=to&order=desc").await;
    assert_ne!(first_row(&by_to.body), first_row(&by_to_desc.body));
}
