//! Volume licensing through HTTP: the activation link signed out and in, used and unknown
//! links, the partner's pages, and bad input on volume licensing service requests.

mod common;

use actix_web::http::StatusCode;
use allot::domain::Clock;
use allot::domain::schema::outbox;
use common::*;
use diesel::prelude::*;

fn activation_link(db: &TestDb) -> String {
    outbox::table
        .filter(outbox::to_email.eq("admin@contoso.example"))
        .filter(outbox::subject.like("Activate your%"))
        .order(outbox::id.desc())
        .select(outbox::link)
        .first::<Option<String>>(&mut db.conn())
        .unwrap()
        .unwrap()
}

#[actix_web::test]
async fn the_link_signs_in_first_then_attaches_once() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let link = activation_link(&db);
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    let first = b.get(&link).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let to_signin = first.location.unwrap();
    assert!(to_signin.starts_with("/signin?next=%2Fagreements%2Factivate%2F"));
    let form = b.get(&to_signin).await;
    let token = form.csrf();
    assert!(form.contains("name=\"next\""));
    let next = link.as_str();
    let signed = b
        .post_raw(
            "/signin",
            &[
                ("csrf_token", token.as_str()),
                ("email", "admin@contoso.example"),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await;
    assert_eq!(signed.location.as_deref(), Some(next), "back to the link");
    let page = b.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Data may be lost.") && page.contains("Attach to Contoso"));
    let before = pool_counts(&db, contoso, "Sales Professional");
    let done = b.submit(&link, &link, &[]).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.contains("Agreement attached") && done.contains("not cancelled"));
    assert_eq!(
        pool_counts(&db, contoso, "Sales Professional").0,
        before.0 + 20
    );
    // Used: a clear 409 page, nothing more attached.
    let again = b.get(&link).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.contains("already been used"));
    assert_eq!(
        b.get("/agreements/activate/0123456789abcdef").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        pool_counts(&db, contoso, "Sales Professional").0,
        before.0 + 20
    );
}

#[actix_web::test]
async fn sign_in_never_follows_a_next_that_leaves_the_site() {
    let db = TestDb::with_demo();
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    for evil in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let form = b.get("/signin").await;
        let token = form.csrf();
        let page = b
            .post_raw(
                "/signin",
                &[
                    ("csrf_token", token.as_str()),
                    ("email", "admin@contoso.example"),
                    ("password", PASSWORD),
                    ("next", evil),
                ],
            )
            .await;
        assert_eq!(page.location.as_deref(), Some("/"), "{evil}");
        b.forget_cookies();
    }
}

#[actix_web::test]
async fn volume_licensing_requests_name_a_known_agreement() {
    let db = TestDb::with_demo();
    let mut b = signed_in(&db, "admin@contoso.example").await;
    let new = "/support/requests/new";
    let unknown = b
        .submit(
            new,
            "/support/requests",
            &[
                ("kind", "resend_activation_email"),
                ("agreement_number", "EA-0000-9999"),
                ("description", "We never got the activation email."),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.contains("There is no agreement with this number."));
    let filed = b
        .submit(
            new,
            "/support/requests",
            &[
                ("kind", "resend_activation_email"),
                ("agreement_number", "ea-7730-1001"),
                ("description", "We never got the activation email."),
            ],
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER);
    let page = b.get(filed.location.as_deref().unwrap()).await;
    assert!(page.contains("Resend activation email: EA-7730-1001"));
}

#[actix_web::test]
async fn the_partner_console_is_the_partners_alone() {
    let db = TestDb::with_demo();
    let mut partner = signed_in(&db, "partner@allot.example").await;
    let list = partner.get("/agreements").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.contains("EA-7730-1001") && list.contains("ESA-4410-2002"));
    let bad = partner
        .submit(
            "/agreements",
            "/agreements",
            &[
                ("number", "EA-7730-1001"),
                ("program", "enterprise"),
                ("customer", "Contoso"),
                ("osm_email", "osm@contoso.example"),
                ("partner", "Northwind Licensing"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("Agreement EA-7730-1001 already exists."));
    for email in ["admin@contoso.example", "support@allot.example"] {
        let mut other = signed_in(&db, email).await;
        assert_eq!(
            other.get("/agreements").await.status,
            StatusCode::FORBIDDEN,
            "{email}"
        );
    }
    // Fabrikam's admin sees its agreement on Settings > Agreements, not Contoso's.
    let mut fabrikam = signed_in(&db, "admin@fabrikam.example").await;
    let page = fabrikam.get("/settings/agreements").await;
    assert!(page.contains("ESA-4410-2002") && !page.contains("EA-7730-1001"));
    assert!(page.contains("Reservations since the last true-up"));
}

#[actix_web::test]
async fn a_bad_order_is_shown_again_with_the_reason_and_nothing_is_entered() {
    let db = TestDb::with_demo();
    let mut partner = signed_in(&db, "partner@allot.example").await;
    let list = partner.get("/agreements").await;
    let marker = "href=\"/agreements/";
    let start = list.body.find(marker).unwrap() + marker.len();
    let id: String = list.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let page = format!("/agreements/{id}");
    let action = format!("{page}/orders");
    let sales = product_id(&db, "Sales Professional").to_string();
    let licenses = format!("licenses_{sales}");
    let before = partner.get(&page).await.body.matches("<tr>").count();
    for (fields, message) in [
        (
            vec![("kind", "purchase_order"), (licenses.as_str(), "")],
            "Enter at least one quantity",
        ),
        (
            vec![("kind", "purchase_order"), (licenses.as_str(), "-3")],
            "Each quantity is a whole number from 1 to 100,000.",
        ),
        (
            vec![("kind", "purchase_order"), (licenses.as_str(), "many")],
            "Each quantity is a whole number from 1 to 100,000.",
        ),
        (
            vec![("kind", "gift"), (licenses.as_str(), "3")],
            "Choose a purchase order or a license reservation.",
        ),
    ] {
        let shown = partner.submit(&page, &action, &fields).await;
        assert_eq!(shown.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(shown.contains(message), "{message}");
        assert!(
            shown.contains("Enter an order"),
            "the agreement's page again"
        );
    }
    assert_eq!(
        partner.get(&page).await.body.matches("<tr>").count(),
        before
    );
    assert_eq!(
        partner
            .submit(
                &page,
                "/agreements/999999/orders",
                &[("kind", "reservation")]
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn staff_cannot_attach_an_agreement_and_a_resend_elsewhere_is_refused_on_the_page() {
    let db = TestDb::with_demo();
    let link = activation_link(&db);
    let mut support = signed_in(&db, "support@allot.example").await;
    assert_eq!(support.get(&link).await.status, StatusCode::FORBIDDEN);

    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let filed = admin
        .submit(
            "/support/requests/new",
            "/support/requests",
            &[
                ("kind", "resend_activation_email"),
                ("agreement_number", "EA-7730-1001"),
                ("target", "cfo@contoso.example"),
                ("description", "Please send it to our CFO instead."),
            ],
        )
        .await;
    let path = filed.location.unwrap();
    let refused = support
        .submit(
            &path,
            &format!("{path}/resend-activation"),
            &[("to", "cfo@contoso.example")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.contains("The activation email can only be resent to the OSM"));
    let sent_to_cfo: i64 = outbox::table
        .filter(outbox::to_email.eq("cfo@contoso.example"))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(sent_to_cfo, 0);
}

/// The message of a page's `role="alert"` notice.
fn alert(page: &Page) -> &str {
    let marker = "role=\"alert\">";
    let start = page.body.find(marker).expect("an alert") + marker.len();
    let end = page.body[start..].find("</div>").unwrap() + start;
    &page.body[start..end]
}

fn all_requests(db: &TestDb) -> i64 {
    use allot::domain::schema::service_requests;
    service_requests::table
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

/// Issue 12, finding 4: another tenant's agreement number, on the form, gets exactly what an
/// unknown number gets (status and message), and nothing is filed.
#[actix_web::test]
async fn another_tenants_agreement_number_answers_as_an_unknown_one_and_files_nothing() {
    let db = TestDb::with_demo();
    let new = "/support/requests/new";
    let before = all_requests(&db);
    let mut contoso = signed_in(&db, "admin@contoso.example").await;
    let ask = async |b: &mut Browser<_>, kind: &str, number: &str, target: &str| {
        b.submit(
            new,
            "/support/requests",
            &[
                ("kind", kind),
                ("agreement_number", number),
                ("target", target),
                ("description", "Please move our agreement's licenses."),
            ],
        )
        .await
    };
    let unknown = ask(
        &mut contoso,
        "remap_agreement",
        "ESA-0000-9999",
        "contoso.example",
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let expected = alert(&unknown).to_owned();
    assert!(expected.contains("There is no agreement with this number."));
    for (kind, target) in [
        ("remap_agreement", "contoso.example"),
        ("remap_agreement", "fabrikam.example"),
        ("resend_activation_email", ""),
    ] {
        let page = ask(&mut contoso, kind, "ESA-4410-2002", target).await;
        assert_eq!(page.status, unknown.status, "{kind} {target}");
        assert_eq!(alert(&page), expected, "{kind} {target}");
    }
    let mut fabrikam = signed_in(&db, "admin@fabrikam.example").await;
    for (kind, target) in [
        ("resend_activation_email", ""),
        ("remap_agreement", "fabrikam.example"),
    ] {
        let page = ask(&mut fabrikam, kind, "EA-7730-1001", target).await;
        assert_eq!(page.status, unknown.status, "{kind} {target}");
        assert_eq!(alert(&page), expected, "{kind} {target}");
    }
    assert_eq!(all_requests(&db), before, "nothing is filed");
}

/// A remap request that the agreement's own tenant did not file (Contoso's request for
/// Fabrikam's agreement, as filed before this rule): the console shows both tenants, offers no
/// remap, and carrying it out is refused with the reason; no license moves.
#[actix_web::test]
async fn the_console_shows_both_tenants_and_refuses_a_remap_the_agreements_tenant_did_not_ask_for()
{
    use allot::domain::schema::service_requests;
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let mut fab = signed_in(&db, "admin@fabrikam.example").await;
    let filed = fab
        .submit(
            "/support/requests/new",
            "/support/requests",
            &[
                ("kind", "remap_agreement"),
                ("agreement_number", "ESA-4410-2002"),
                ("target", "contoso.example"),
                ("description", "Please move our agreement to Contoso."),
            ],
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    let path = filed.location.unwrap();
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    // As if Contoso had filed it, the way the probe did before filing checked the agreement.
    diesel::update(service_requests::table.find(id))
        .set((
            service_requests::tenant_id.eq(contoso.0),
            service_requests::requester_id.eq(user_id(&db, "admin@contoso.example").0),
        ))
        .execute(&mut db.conn())
        .unwrap();
    let fabrikam_before = pool_counts(&db, fabrikam, "Sales Professional");
    let mut support = signed_in(&db, "support@allot.example").await;
    let page = support.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.contains("<dt>Tenant</dt><dd>Contoso</dd>"),
        "{}",
        page.body
    );
    assert!(page.contains("<dt>Agreement's tenant</dt><dd>Fabrikam"));
    assert!(page.contains("not the tenant that filed this request"));
    let reason =
        "Agreement ESA-4410-2002 is attached to Fabrikam, but this request was filed by Contoso.";
    assert!(
        page.contains(reason),
        "the console says why it can't be remapped"
    );
    assert!(!page.contains("/remap\""), "no Remap button");
    let refused = support.submit(&path, &format!("{path}/remap"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.contains(reason));
    assert_eq!(
        pool_counts(&db, fabrikam, "Sales Professional"),
        fabrikam_before
    );
    assert_eq!(audit_count(&db, fabrikam, "Remapped agreement"), 0);
}

/// Finding 5: another tenant's agreement page answers 404, exactly as a missing id does.
#[actix_web::test]
async fn another_tenants_agreement_page_is_a_404_like_a_missing_one() {
    use allot::domain::schema::agreements;
    let db = TestDb::with_demo();
    let esa: i64 = agreements::table
        .filter(agreements::number.eq("ESA-4410-2002"))
        .select(agreements::id)
        .first(&mut db.conn())
        .unwrap();
    let mut fabrikam = signed_in(&db, "admin@fabrikam.example").await;
    assert_eq!(
        fabrikam.get(&format!("/agreements/{esa}")).await.status,
        StatusCode::OK,
        "its own tenant sees it"
    );
    let mut contoso = signed_in(&db, "admin@contoso.example").await;
    let theirs = contoso.get(&format!("/agreements/{esa}")).await;
    let missing = contoso.get("/agreements/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.status, missing.status);
    assert_eq!(theirs.body, missing.body);
    assert!(!theirs.contains("ESA-4410-2002") && !theirs.contains("Fabrikam"));
}

/// Issue 12, finding 8: an agreement starting in year -9999, or with a NUL or a line break in
/// its number, customer, OSM or partner, is refused on the form (422) and nothing is entered.
#[actix_web::test]
async fn an_agreement_with_a_senseless_date_or_control_characters_is_refused() {
    use allot::domain::schema::agreements;
    let db = TestDb::with_demo();
    let count = || {
        agreements::table
            .count()
            .get_result::<i64>(&mut db.conn())
            .unwrap()
    };
    let before = count();
    let mut partner = signed_in(&db, "partner@allot.example").await;
    let good = [
        ("number", "CSA-5500-0001"),
        ("program", "campus_school"),
        ("customer", "Woodgrove School"),
        ("osm_email", "osm@woodgrove.example"),
        ("partner", "Northwind Licensing"),
        ("starts_on", "2026-09-01"),
    ];
    for (field, value, message) in [
        (
            "starts_on",
            "-9999-01-01",
            "Enter a start date from 2000 to 2100.",
        ),
        (
            "starts_on",
            "1999-12-31",
            "Enter a start date from 2000 to 2100.",
        ),
        (
            "starts_on",
            "2101-01-01",
            "Enter a start date from 2000 to 2100.",
        ),
        ("number", "CSA-5500\0-0002", "Remove the control characters"),
        (
            "number",
            "CSA-5500\r\n-0002",
            "Remove the control characters",
        ),
        (
            "customer",
            "Woodgrove\0School",
            "Remove the control characters",
        ),
        (
            "customer",
            "Woodgrove\r\nSchool",
            "Remove the control characters",
        ),
        (
            "partner",
            "Northwind\nLicensing",
            "Remove the control characters",
        ),
        (
            "partner",
            "Northwind\u{1b}[31m",
            "Remove the control characters",
        ),
        ("osm_email", "osm\0@woodgrove.example", "Enter the OSM"),
        (
            "osm_email",
            "osm@woodgrove.example\r\nBcc: x@y.example",
            "Enter the OSM",
        ),
    ] {
        let fields: Vec<(&str, &str)> = good
            .iter()
            .map(|(k, v)| (*k, if *k == field { value } else { *v }))
            .collect();
        let shown = partner.submit("/agreements", "/agreements", &fields).await;
        assert_eq!(
            shown.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field} {value:?}"
        );
        assert!(shown.contains(message), "{field} {value:?}: {message}");
    }
    assert_eq!(count(), before, "nothing is entered");
    let entered = partner.submit("/agreements", "/agreements", &good).await;
    assert_eq!(entered.status, StatusCode::SEE_OTHER);
    assert_eq!(count(), before + 1);
}
