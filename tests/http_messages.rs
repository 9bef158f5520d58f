//! The Message center through HTTP: the bell with its unread count on every page of an admin,
//! the list, and Mark all as read (issue 15).

mod common;

use actix_web::http::StatusCode;
use allot::domain::billing::TestGateway;
use common::*;

#[actix_web::test]
async fn the_bell_counts_unread_messages_until_they_are_marked_read() {
    let db = TestDb::with_demo();
    allot::jobs::tick(&mut db.conn(), &TestGateway, test_now()).unwrap();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let home = admin.get("/").await;
    assert!(
        home.contains("<span>Message center</span> <span class=\"bell-count\">1<span class=\"visually-hidden\"> unread</span></span>"),
        "{}",
        home.body
    );
    let center = admin.get("/messages").await;
    assert_eq!(center.status, StatusCode::OK);
    assert!(center.contains("<h1>Message center</h1>"));
    assert!(center.contains("Visa •••• 4242 expires before it pays Business Premium"));
    assert!(center.contains("<span class=\"tag\">Unread</span>"));
    let marked = admin.submit("/messages", "/messages/read", &[]).await;
    assert_eq!(marked.status, StatusCode::SEE_OTHER);
    let after = admin.get("/messages").await;
    assert!(after.contains("Marked 1 message as read."));
    assert!(!after.contains("<span class=\"tag\">Unread</span>"));
    assert!(!after.contains("bell-count"));
}

#[actix_web::test]
async fn a_license_admin_gets_no_billing_messages_and_staff_have_no_bell() {
    let db = TestDb::with_demo();
    allot::jobs::tick(&mut db.conn(), &TestGateway, test_now()).unwrap();
    let mut lee = signed_in(&db, "licenses@contoso.example").await;
    let center = lee.get("/messages").await;
    assert!(!center.contains("Visa"), "{}", center.body);
    assert!(!lee.get("/").await.contains("bell-count"));
    let mut support = signed_in(&db, "support@allot.example").await;
    let console = support.get("/support").await;
    assert!(!console.contains("Message center"));
    assert_eq!(support.get("/messages").await.status, StatusCode::FORBIDDEN);
}
