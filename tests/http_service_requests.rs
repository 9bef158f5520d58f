//! Service requests through HTTP: filing from the form, bad input as 4xx pages that change
//! nothing, the support console's pages and actions, and who sees what.

mod common;

use actix_web::http::StatusCode;
use allot::domain::schema::{service_requests, subscriptions};
use common::*;
use diesel::prelude::*;

fn subscription_of(db: &TestDb, tenant: allot::domain::TenantId, quantity: i32) -> i64 {
    subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::quantity.eq(quantity))
        .order(subscriptions::id)
        .select(subscriptions::id)
        .first(&mut db.conn())
        .unwrap()
}

fn fabrikam_subscription(db: &TestDb) -> i64 {
    let (_, fabrikam) = tenants(db);
    subscriptions::table
        .filter(subscriptions::tenant_id.eq(fabrikam.0))
        .select(subscriptions::id)
        .first(&mut db.conn())
        .unwrap()
}

/// Contoso's requests (the demo files one for Fabrikam).
fn request_count(db: &TestDb) -> i64 {
    let (contoso, _) = tenants(db);
    service_requests::table
        .filter(service_requests::tenant_id.eq(contoso.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

const NEW: &str = "/support/requests/new";

/// Files a request through the form; returns its page's path.
async fn file_through_the_form<S, B>(b: &mut Browser<S>, fields: &[(&str, &str)]) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let done = b.submit(NEW, "/support/requests", fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    done.location.unwrap()
}

#[actix_web::test]
async fn an_admin_files_a_cancellation_and_sees_it_with_the_data_safety_note() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = subscription_of(&db, contoso, 5).to_string();
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let form = b.get(NEW).await;
    assert!(form.contains("Problem description") && form.contains("Cancel subscription"));
    let path = file_through_the_form(
        &mut b,
        &[
            ("kind", "cancel_subscription"),
            ("subscription", &sub),
            ("quantity", ""),
            ("description", "We are moving to another provider."),
        ],
    )
    .await;
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Cancel subscription: Business Premium"));
    assert!(page.contains("We are moving to another provider."));
    assert!(page.contains("Save your data first."));
    assert!(page.contains("<form method=\"post\" action=\"/billing/export\""));
    assert!(page.contains(">Export data</button>"));
    assert!(page.contains("If the subscription is cancelled today, its data is deleted on"));
    let list = b.get("/support/requests").await;
    assert!(list.contains("Cancel subscription: Business Premium") && list.contains("Open"));
}

/// A refused form: the fields sent, the message shown, the field it marks.
type Refused<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

/// The refused form marks `field` alone: `aria-invalid`, described by the message shown
/// beside it (`{field}-error`), and focused (`autofocus`).
fn the_error_marks(body: &str, field: &str, message: &str) {
    let start = body
        .find(&format!(" id=\"{field}\""))
        .and_then(|at| body[..at].rfind('<'))
        .unwrap_or_else(|| panic!("no field {field}"));
    let tag = &body[start..start + body[start..].find('>').unwrap_or_default()];
    assert_eq!(
        common::crawl::attribute(tag, "aria-invalid").as_deref(),
        Some("true"),
        "{field}: {tag}"
    );
    let described = common::crawl::attribute(tag, "aria-describedby").unwrap_or_default();
    assert!(
        described
            .split(' ')
            .any(|id| id == format!("{field}-error")),
        "{field}: {tag}"
    );
    assert!(tag.contains(" autofocus"), "focus moves to {field}: {tag}");
    let beside = format!("<span id=\"{field}-error\" class=\"field-error\">{message}");
    assert!(body.contains(&beside), "the message beside {field}");
    assert_eq!(
        body.matches("aria-invalid").count(),
        1,
        "only {field} is marked"
    );
    assert_eq!(
        body.matches(" autofocus").count(),
        1,
        "one field has the focus"
    );
}

#[actix_web::test]
async fn bad_input_gets_a_4xx_page_with_the_message_and_nothing_is_filed() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let ours = subscription_of(&db, contoso, 5).to_string();
    let theirs = fabrikam_subscription(&db).to_string();
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let cases: [Refused; 6] = [
        (
            &[
                ("kind", "cancel_subscription"),
                ("subscription", &ours),
                ("description", ""),
            ],
            "Describe the problem in at least 10 characters.",
            "description",
        ),
        (
            &[
                ("kind", "cancel_subscription"),
                ("subscription", &theirs),
                ("description", "Cancel Fabrikam's, please."),
            ],
            "Choose one of your organization&#39;s subscriptions.",
            "subscription",
        ),
        (
            &[
                ("kind", "cancel_subscription"),
                ("description", "Cancel it, please."),
            ],
            "Choose the subscription this request is about.",
            "subscription",
        ),
        (
            &[
                ("kind", "add_licenses"),
                ("subscription", &ours),
                ("quantity", "lots"),
                ("description", "We need more licenses."),
            ],
            "Enter a number of licenses.",
            "quantity",
        ),
        (
            &[("kind", ""), ("description", "Something is wrong.")],
            "Choose the type of request.",
            "kind",
        ),
        (
            &[("kind", "other"), ("description", &"x".repeat(4001))],
            "Keep it under 4000 characters",
            "description",
        ),
    ];
    for (fields, message, field) in cases {
        let page = b.submit(NEW, "/support/requests", fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(page.contains(message), "{message} in {}", page.body);
        assert!(
            page.contains("New service request"),
            "the form is shown again"
        );
        the_error_marks(&page.body, field, message);
    }
    assert_eq!(request_count(&db), 0);
}

#[actix_web::test]
async fn license_admins_only_see_the_other_type_and_are_refused_billing_types() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = subscription_of(&db, contoso, 5).to_string();
    let mut b = signed_in(&db, "licenses@contoso.example").await;
    let form = b.get(NEW).await;
    assert!(!form.contains("value=\"cancel_subscription\""));
    assert!(form.contains("value=\"other\""));
    let refused = b
        .submit(
            NEW,
            "/support/requests",
            &[
                ("kind", "cancel_subscription"),
                ("subscription", &sub),
                ("description", "Cancel it for us please."),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.contains("Only Global and Billing admins"));
    assert_eq!(request_count(&db), 0);
}

#[actix_web::test]
async fn support_works_a_request_and_the_tenant_never_sees_the_internal_note() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = subscription_of(&db, contoso, 5).to_string();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let path = file_through_the_form(
        &mut admin,
        &[
            ("kind", "add_licenses"),
            ("subscription", &sub),
            ("quantity", "2"),
            ("description", "Two more people join on Monday."),
        ],
    )
    .await;
    let before = pool_counts(&db, contoso, "Business Premium");

    let mut staff = signed_in(&db, "support@allot.example").await;
    let queue = staff.get("/support?kind=add_licenses&state=open").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.contains("Add 2 licenses: Business Premium") && queue.contains("Contoso"));
    // An open request can't jump to resolved: a clear 409, nothing changes.
    let jump = staff
        .submit(
            &path,
            &format!("{path}/state"),
            &[("state", "resolved"), ("message", "Done.")],
        )
        .await;
    assert_eq!(jump.status, StatusCode::CONFLICT);
    assert!(jump.contains("can&#39;t be moved to resolved"));
    let take = staff.submit(&path, &format!("{path}/take"), &[]).await;
    assert_eq!(take.location.as_deref(), Some(path.as_str()));
    let note = staff
        .submit(
            &path,
            &format!("{path}/comments"),
            &[("visibility", "internal"), ("body", "Their card is fine.")],
        )
        .await;
    assert_eq!(note.status, StatusCode::SEE_OTHER);
    let added = staff
        .submit(&path, &format!("{path}/add-licenses"), &[("quantity", "2")])
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let staff_page = staff.get(&path).await;
    assert!(staff_page.contains("Their card is fine.") && staff_page.contains("Internal note"));
    assert!(staff_page.contains("Billing support added 2 licenses."));
    assert_eq!(
        pool_counts(&db, contoso, "Business Premium"),
        (before.0 + 2, before.1, before.2 + 2)
    );

    let tenant_page = admin.get(&path).await;
    assert!(tenant_page.contains("Billing support added 2 licenses."));
    assert!(tenant_page.contains("In progress"));
    assert!(!tenant_page.contains("Their card is fine."));
    assert!(!tenant_page.contains("Internal note"));
    // A forged "internal" comment from the tenant is refused.
    let forged = admin
        .submit(
            &path,
            &format!("{path}/comments"),
            &[("visibility", "internal"), ("body", "psst")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // And tenant admins have no support console, nor the staff's actions.
    assert_eq!(admin.get("/support").await.status, StatusCode::FORBIDDEN);
    let not_theirs = admin
        .submit(&path, &format!("{path}/add-licenses"), &[("quantity", "9")])
        .await;
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);
    assert_eq!(
        pool_counts(&db, contoso, "Business Premium").0,
        before.0 + 2
    );
}

#[actix_web::test]
async fn other_tenants_and_partners_cannot_open_the_request() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let path = file_through_the_form(
        &mut admin,
        &[
            ("kind", "billing_question"),
            ("description", "Why is the September invoice higher?"),
        ],
    )
    .await;
    // Another tenant's request is not found, as a missing one; a partner works only volume
    // licensing requests.
    for (email, status) in [
        ("admin@fabrikam.example", StatusCode::NOT_FOUND),
        ("partner@allot.example", StatusCode::FORBIDDEN),
    ] {
        let mut other = signed_in(&db, email).await;
        let page = other.get(&path).await;
        assert_eq!(page.status, status, "{email}");
        assert!(!page.contains("September invoice"), "{email}");
    }
    let mut fabrikam = signed_in(&db, "admin@fabrikam.example").await;
    assert!(
        !fabrikam
            .get("/support/requests")
            .await
            .contains("September invoice")
    );
    let mut partner = signed_in(&db, "partner@allot.example").await;
    let queue = partner.get("/support").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(!queue.contains("September invoice"));
}

#[actix_web::test]
async fn a_bad_page_link_or_filter_is_a_4xx_page() {
    let db = TestDb::with_demo();
    let mut staff = signed_in(&db, "support@allot.example").await;
    for path in [
        "/support?after=yesterday",
        "/support?state=sleeping",
        "/support?age=9",
        "/support?tenant=contoso",
    ] {
        assert_eq!(
            staff.get(path).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}"
        );
    }
    assert_eq!(
        staff.get("/support/requests/999999").await.status,
        StatusCode::NOT_FOUND
    );
}

/// Issue 12, finding 8: a description or comment keeps its line breaks (a browser's CR LF is
/// kept as LF) and tabs, but a NUL or another control character is refused on the form and
/// nothing is stored.
#[actix_web::test]
async fn descriptions_and_comments_keep_line_breaks_but_refuse_other_control_characters() {
    let db = TestDb::with_demo();
    let before = request_count(&db);
    let mut b = signed_in(&db, "admin@contoso.example").await;
    for description in [
        "Please help\0 with our bill.",
        "Please help\r with our bill.",
        "Please help \u{1b}[2J with our bill.",
    ] {
        let shown = b
            .submit(
                NEW,
                "/support/requests",
                &[("kind", "other"), ("description", description)],
            )
            .await;
        assert_eq!(
            shown.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{description:?}"
        );
        assert!(
            shown.contains("Remove the control characters"),
            "{description:?}"
        );
    }
    assert_eq!(request_count(&db), before, "nothing is filed");
    let path = file_through_the_form(
        &mut b,
        &[
            ("kind", "other"),
            ("description", "First line\r\n\tSecond line"),
        ],
    )
    .await;
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let stored: String = service_requests::table
        .find(id)
        .select(service_requests::description)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(stored, "First line\n\tSecond line");
    let refused = b
        .submit(&path, &format!("{path}/comments"), &[("body", "Thanks\0!")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("Remove the control characters"));
    let page = b.get(&path).await;
    assert!(!page.contains("Thanks"), "no comment is stored");
}
