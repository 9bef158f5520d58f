//! Volume licensing: agreements, orders, the OSM's activation, reservations and the true-up,
//! and what billing support does for them (resend, remap), on both databases.

mod common;

use allot::domain::agreements::{self, Item, NewAgreement, OrderKind, OrderLine, discount_for};
use allot::domain::billing::TestGateway;
use allot::domain::schema::{agreement_invoices, agreements as agreement_table, outbox};
use allot::domain::service_requests::{self as requests, Kind, NewRequest, Work};
use allot::domain::{Actor, AgreementId, DomainError, subscriptions};
use chrono::Duration;
use common::*;
use diesel::prelude::*;

fn agreement(db: &TestDb, number: &str) -> AgreementId {
    AgreementId(
        agreement_table::table
            .filter(agreement_table::number.eq(number))
            .select(agreement_table::id)
            .first(&mut db.conn())
            .unwrap(),
    )
}

/// The newest activation link mailed to `to`, as its token.
fn activation_token(db: &TestDb, to: &str) -> String {
    let link: Option<String> = outbox::table
        .filter(outbox::to_email.eq(to))
        .filter(outbox::subject.like("Activate your%"))
        .order(outbox::id.desc())
        .select(outbox::link)
        .first(&mut db.conn())
        .unwrap();
    link.unwrap()
        .strip_prefix("/agreements/activate/")
        .unwrap()
        .to_owned()
}

fn activation_emails(db: &TestDb, to: &str) -> i64 {
    outbox::table
        .filter(outbox::to_email.eq(to))
        .filter(outbox::subject.like("Activate your%"))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn licenses(db: &TestDb, product: &str, n: i32) -> OrderLine {
    OrderLine {
        product: product_id(db, product),
        item: Item::Licenses,
        quantity: n,
    }
}

fn partner(db: &TestDb) -> Actor {
    actor(db, "partner@allot.example")
}

#[test]
fn volume_discounts_start_at_250_licenses() {
    assert_eq!(discount_for(249), 0);
    assert_eq!(discount_for(250), 5);
    assert_eq!(discount_for(2_400), 10);
    assert_eq!(discount_for(6_000), 15);
    assert_eq!(discount_for(15_000), 20);
}

#[test]
fn the_osm_activates_with_a_warning_and_the_licenses_pool_with_the_direct_ones() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let osm = actor(&db, "admin@contoso.example");
    let token = activation_token(&db, "admin@contoso.example");
    let before = pool_counts(&db, contoso, "Sales Professional");

    // A License admin can't attach it.
    assert!(matches!(
        agreements::preview_activation(
            &mut db.conn(),
            &actor(&db, "licenses@contoso.example"),
            test_now(),
            &token
        ),
        Err(DomainError::Refused(_))
    ));
    let preview = agreements::preview_activation(&mut db.conn(), &osm, test_now(), &token).unwrap();
    assert_eq!(preview.tenant_name, "Contoso");
    assert_eq!(preview.attached_to, None);
    // Contoso has 1 production instance and 5 GB for Sales Professional; the order has none.
    assert_eq!(preview.warnings.len(), 2, "{:?}", preview.warnings);
    assert!(preview.warnings[0].contains("additional production instances"));
    assert_eq!(
        preview.direct.len(),
        1,
        "the direct Sales Professional subscription"
    );

    agreements::activate(&mut db.conn(), &osm, test_now(), &token).unwrap();
    assert_eq!(
        pool_counts(&db, contoso, "Sales Professional"),
        (before.0 + 20, before.1, before.2 + 20)
    );
    let products = subscriptions::list(&mut db.conn(), &osm, contoso).unwrap();
    let sales: Vec<_> = products
        .iter()
        .filter(|s| s.product_name == "Sales Professional")
        .collect();
    assert_eq!(
        sales.len(),
        2,
        "the direct one stays beside the agreement's"
    );
    assert!(
        sales
            .iter()
            .any(|s| s.how_bought() == "Volume licensing" && s.quantity == 20)
    );
    assert!(
        sales
            .iter()
            .any(|s| s.how_bought() == "Invoice" && s.state.is_active())
    );
    assert_eq!(audit_count(&db, contoso, "Activated agreement"), 1);

    // The link works once.
    assert!(matches!(
        agreements::activate(&mut db.conn(), &osm, test_now(), &token),
        Err(DomainError::Conflict(_))
    ));
    assert_eq!(
        agreements::preview_activation(&mut db.conn(), &osm, test_now(), "not-a-token"),
        Err(DomainError::NotFound)
    );
}

#[test]
fn an_expired_link_is_refused_and_changes_nothing() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let token = activation_token(&db, "admin@contoso.example");
    let before = pool_counts(&db, contoso, "Sales Professional");
    let late = test_now() + Duration::days(15);
    assert!(matches!(
        agreements::activate(&mut db.conn(), &actor(&db, "admin@contoso.example"), late, &token),
        Err(DomainError::Conflict(message)) if message.contains("expired")
    ));
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), before);
}

#[test]
fn a_purchase_order_waits_for_processing_then_pools_on_an_attached_agreement() {
    let db = TestDb::with_demo();
    let (_, fabrikam) = tenants(&db);
    let esa = agreement(&db, "ESA-4410-2002");
    let before = pool_counts(&db, fabrikam, "Sales Professional");
    agreements::enter_order(
        &mut db.conn(),
        &partner(&db),
        test_now(),
        esa,
        OrderKind::PurchaseOrder,
        &[licenses(&db, "Sales Professional", 10)],
        Duration::hours(12),
    )
    .unwrap();
    assert_eq!(pool_counts(&db, fabrikam, "Sales Professional"), before);
    let tick = |at| allot::jobs::tick(&mut db.conn(), &TestGateway, at).unwrap();
    assert_eq!(tick(test_now() + Duration::hours(11)).purchase_orders, 0);
    assert_eq!(tick(test_now() + Duration::hours(12)).purchase_orders, 1);
    assert_eq!(tick(test_now() + Duration::hours(13)).purchase_orders, 0);
    assert_eq!(
        pool_counts(&db, fabrikam, "Sales Professional"),
        (before.0 + 10, before.1, before.2 + 10)
    );
}

#[test]
fn a_reservation_adds_licenses_at_once_and_the_anniversary_bills_it_once() {
    let db = TestDb::with_demo();
    let (_, fabrikam) = tenants(&db);
    let esa = agreement(&db, "ESA-4410-2002");
    let admin = actor(&db, "admin@fabrikam.example");
    let before = pool_counts(&db, fabrikam, "Sales Professional");
    agreements::enter_order(
        &mut db.conn(),
        &admin,
        test_now(),
        esa,
        OrderKind::Reservation,
        &[licenses(&db, "Sales Professional", 4)],
        Duration::zero(),
    )
    .unwrap();
    assert_eq!(
        pool_counts(&db, fabrikam, "Sales Professional").0,
        before.0 + 4
    );
    // Tenant admins reserve; purchase orders go through the partner.
    assert!(matches!(
        agreements::enter_order(
            &mut db.conn(),
            &admin,
            test_now(),
            esa,
            OrderKind::PurchaseOrder,
            &[licenses(&db, "Sales Professional", 4)],
            Duration::zero(),
        ),
        Err(DomainError::Refused(_))
    ));
    let view = agreements::get(&mut db.conn(), &admin, test_now(), esa).unwrap();
    assert_eq!(view.open_reservations().len(), 2, "the demo's and this one");
    let anniversary = view.head.next_true_up;
    let true_ups = |db: &TestDb| -> Vec<i64> {
        agreement_invoices::table
            .filter(agreement_invoices::kind.eq("true_up"))
            .select(agreement_invoices::total_cents)
            .load(&mut db.conn())
            .unwrap()
    };
    let tick = |at| allot::jobs::tick(&mut db.conn(), &TestGateway, at).unwrap();
    tick(anniversary - Duration::minutes(1));
    assert!(true_ups(&db).is_empty());
    assert_eq!(tick(anniversary).true_ups, 1);
    assert_eq!(tick(anniversary + Duration::hours(1)).true_ups, 0);
    // 5 + 4 Sales Professional licenses at $65 a month for a year.
    assert_eq!(true_ups(&db), vec![9 * 6500 * 12]);
    let after = agreements::get(&mut db.conn(), &admin, anniversary, esa).unwrap();
    assert!(after.open_reservations().is_empty());
    assert!(after.head.next_true_up > anniversary);
    // The licenses stay: the subscription runs into the next year.
    assert_eq!(
        pool_counts(&db, fabrikam, "Sales Professional").0,
        before.0 + 4
    );
}

#[test]
fn only_the_partner_enters_agreements_and_changes_the_osm() {
    let db = TestDb::with_demo();
    let new = NewAgreement {
        number: "EA-1".into(),
        program: "enterprise".into(),
        customer: "Contoso".into(),
        osm_email: "osm@contoso.example".into(),
        partner: "Northwind Licensing".into(),
        starts_on: None,
    };
    for email in [
        "admin@contoso.example",
        "billing@contoso.example",
        "support@allot.example",
    ] {
        assert_eq!(
            agreements::create(&mut db.conn(), &actor(&db, email), test_now(), &new),
            Err(DomainError::Forbidden),
            "{email}"
        );
    }
    // A customer's agreements share one anniversary: no start date needed for Contoso.
    let id = agreements::create(&mut db.conn(), &partner(&db), test_now(), &new).unwrap();
    let ea = agreement(&db, "EA-7730-1001");
    let first = agreements::get(&mut db.conn(), &partner(&db), test_now(), ea).unwrap();
    let second = agreements::get(&mut db.conn(), &partner(&db), test_now(), id).unwrap();
    assert_eq!(first.head.next_true_up, second.head.next_true_up);
    assert!(matches!(
        agreements::create(&mut db.conn(), &partner(&db), test_now(), &new),
        Err(DomainError::Invalid {
            field: "number",
            ..
        })
    ));
    assert_eq!(
        agreements::change_osm(
            &mut db.conn(),
            &actor(&db, "admin@contoso.example"),
            test_now(),
            ea,
            "someone@contoso.example"
        ),
        Err(DomainError::Forbidden)
    );
    // Another tenant's admin sees nothing of an agreement not attached to them: not even
    // that it exists.
    assert_eq!(
        agreements::get(
            &mut db.conn(),
            &actor(&db, "admin@fabrikam.example"),
            test_now(),
            ea
        )
        .map(|_| ()),
        Err(DomainError::NotFound)
    );
}

fn file(
    db: &TestDb,
    email: &str,
    kind: Kind,
    number: &str,
    target: &str,
) -> allot::domain::ServiceRequestId {
    let admin = actor(db, email);
    let tenant = admin.tenant().unwrap();
    requests::file(
        &mut db.conn(),
        &admin,
        test_now(),
        tenant,
        &NewRequest {
            kind: kind.as_str().into(),
            agreement_number: number.into(),
            target: target.into(),
            description: "Please take care of our agreement.".into(),
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn the_activation_email_is_resent_only_to_the_osm_on_file() {
    let db = TestDb::with_demo();
    let support = actor(&db, "support@allot.example");
    let id = file(
        &db,
        "admin@contoso.example",
        Kind::ResendActivationEmail,
        "EA-7730-1001",
        "",
    );
    let before = activation_emails(&db, "admin@contoso.example");
    let refused = requests::carry_out(
        &mut db.conn(),
        &support,
        &TestGateway,
        test_now(),
        id,
        Work::ResendActivation {
            to: Some("cfo@contoso.example".into()),
        },
    );
    assert!(
        matches!(refused, Err(DomainError::Refused(ref m)) if m.contains("can only be resent to the OSM"))
    );
    assert_eq!(activation_emails(&db, "cfo@contoso.example"), 0);
    requests::carry_out(
        &mut db.conn(),
        &support,
        &TestGateway,
        test_now(),
        id,
        Work::ResendActivation { to: None },
    )
    .unwrap();
    assert_eq!(activation_emails(&db, "admin@contoso.example"), before + 1);
    // The partner changes the OSM; the next resend goes to the new one.
    let ea = agreement(&db, "EA-7730-1001");
    agreements::change_osm(
        &mut db.conn(),
        &partner(&db),
        test_now(),
        ea,
        "osm@contoso.example",
    )
    .unwrap();
    let again = file(
        &db,
        "admin@contoso.example",
        Kind::ResendActivationEmail,
        "EA-7730-1001",
        "",
    );
    requests::carry_out(
        &mut db.conn(),
        &support,
        &TestGateway,
        test_now(),
        again,
        Work::ResendActivation { to: None },
    )
    .unwrap();
    assert_eq!(activation_emails(&db, "osm@contoso.example"), 1);
}

#[test]
fn a_remap_moves_business_application_licenses_and_is_refused_with_online_services() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let support = actor(&db, "support@allot.example");
    // Fabrikam's agreement holds only Sales Professional (a business application).
    let id = file(
        &db,
        "admin@fabrikam.example",
        Kind::RemapAgreement,
        "ESA-4410-2002",
        "contoso.example",
    );
    let preview = requests::preview_remap(&mut db.conn(), &support, id).unwrap();
    assert_eq!(
        (preview.from.as_str(), preview.to.as_str()),
        ("Fabrikam", "Contoso")
    );
    let contoso_before = pool_counts(&db, contoso, "Sales Professional");
    let addons_of = |tenant: allot::domain::TenantId| -> i64 {
        use allot::domain::schema::subscription_addons;
        subscription_addons::table
            .filter(subscription_addons::tenant_id.eq(tenant.0))
            .count()
            .get_result(&mut db.conn())
            .unwrap()
    };
    let fabrikam_addons = addons_of(fabrikam);
    assert!(
        fabrikam_addons > 0,
        "the agreement's subscription has add-ons"
    );
    let contoso_addons = addons_of(contoso);
    requests::carry_out(
        &mut db.conn(),
        &support,
        &TestGateway,
        test_now(),
        id,
        Work::Remap,
    )
    .unwrap();
    assert_eq!(
        pool_counts(&db, contoso, "Sales Professional").0,
        contoso_before.0 + 35
    );
    // The add-ons moved with their subscription: a tenant-owned row says whose it is.
    assert_eq!(addons_of(fabrikam), 0);
    assert_eq!(addons_of(contoso), contoso_addons + fabrikam_addons);
    let fabrikam_pools = allot::domain::licenses::pools(
        &mut db.conn(),
        &actor(&db, "admin@fabrikam.example"),
        fabrikam,
    )
    .unwrap();
    assert!(
        fabrikam_pools
            .iter()
            .all(|p| p.product_name != "Sales Professional")
    );

    // With Business Premium (online services) on it, the agreement can't be remapped.
    let esa = agreement(&db, "ESA-4410-2002");
    agreements::enter_order(
        &mut db.conn(),
        &partner(&db),
        test_now(),
        esa,
        OrderKind::Reservation,
        &[licenses(&db, "Business Premium", 3)],
        Duration::zero(),
    )
    .unwrap();
    let back = file(
        &db,
        "admin@contoso.example",
        Kind::RemapAgreement,
        "ESA-4410-2002",
        "fabrikam.example",
    );
    let before = pool_counts(&db, contoso, "Sales Professional");
    assert!(matches!(
        requests::carry_out(&mut db.conn(), &support, &TestGateway, test_now(), back, Work::Remap),
        Err(DomainError::Refused(ref m)) if m.contains("online services licenses")
    ));
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), before);
    // A remap to the organization it is attached to is refused when filed.
    let admin = actor(&db, "admin@contoso.example");
    assert!(matches!(
        requests::file(
            &mut db.conn(),
            &admin,
            test_now(),
            contoso,
            &NewRequest {
                kind: "remap_agreement".into(),
                agreement_number: "ESA-4410-2002".into(),
                target: "contoso.example".into(),
                description: "Please move it here.".into(),
                ..Default::default()
            },
        ),
        Err(DomainError::Invalid {
            field: "target",
            ..
        })
    ));
}

/// Who may do what with agreements: every admin role of the attached tenant, an admin of
/// another tenant, billing support and the partner.
#[test]
fn each_role_may_do_exactly_its_part_of_volume_licensing() {
    let db = TestDb::with_demo();
    let (_, fabrikam) = tenants(&db);
    let esa = agreement(&db, "ESA-4410-2002");
    // enter an agreement, change the OSM, a purchase order, a reservation, see the attached
    // agreement, Settings > Agreements of Fabrikam, the partner's list
    let table: [(&str, [bool; 7]); 6] = [
        (
            "admin@fabrikam.example",
            [false, false, false, true, true, true, false],
        ),
        ("admin@contoso.example", [false; 7]),
        ("billing@contoso.example", [false; 7]),
        ("licenses@contoso.example", [false; 7]),
        ("support@allot.example", [false; 7]),
        (
            "partner@allot.example",
            [true, true, true, true, true, false, true],
        ),
    ];
    for (i, (email, expected)) in table.into_iter().enumerate() {
        let who = actor(&db, email);
        let mut conn = db.conn();
        let line = [licenses(&db, "Sales Professional", 1)];
        let got = [
            agreements::create(
                &mut conn,
                &who,
                test_now(),
                &NewAgreement {
                    number: format!("EA-9{i}"),
                    program: "campus_school".into(),
                    customer: "Woodgrove School".into(),
                    osm_email: "osm@woodgrove.example".into(),
                    partner: "Northwind Licensing".into(),
                    starts_on: chrono::NaiveDate::from_ymd_opt(2026, 9, 1),
                },
            )
            .is_ok(),
            agreements::change_osm(
                &mut conn,
                &who,
                test_now(),
                esa,
                &format!("osm{i}@fabrikam.example"),
            )
            .is_ok(),
            agreements::enter_order(
                &mut conn,
                &who,
                test_now(),
                esa,
                OrderKind::PurchaseOrder,
                &line,
                Duration::hours(12),
            )
            .is_ok(),
            agreements::enter_order(
                &mut conn,
                &who,
                test_now(),
                esa,
                OrderKind::Reservation,
                &line,
                Duration::zero(),
            )
            .is_ok(),
            agreements::get(&mut conn, &who, test_now(), esa).is_ok(),
            agreements::for_tenant(&mut conn, &who, test_now(), fabrikam).is_ok(),
            agreements::all(&mut conn, &who).is_ok(),
        ];
        assert_eq!(got, expected, "{email}");
    }
}

/// Files a volume licensing request as `email`, for what it answers.
fn try_file(
    db: &TestDb,
    email: &str,
    kind: Kind,
    number: &str,
    target: &str,
) -> Result<allot::domain::ServiceRequestId, DomainError> {
    let admin = actor(db, email);
    requests::file(
        &mut db.conn(),
        &admin,
        test_now(),
        admin.tenant().unwrap(),
        &NewRequest {
            kind: kind.as_str().into(),
            agreement_number: number.into(),
            target: target.into(),
            description: "Please take care of our agreement.".into(),
            ..Default::default()
        },
    )
}

fn request_rows(db: &TestDb) -> i64 {
    use allot::domain::schema::service_requests;
    service_requests::table
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

/// Issue 12, finding 4: Contoso filed "Remap agreement" for Fabrikam's ESA-4410-2002, and
/// Fabrikam asked about Contoso's EA-7730-1001. A tenant names only its own agreement (attached
/// to it, or not attached yet with its OSM one of its admins); another tenant's answers as an
/// unknown number does, whatever else the request says.
#[test]
fn a_tenant_names_only_its_own_agreement_and_another_tenants_answers_as_an_unknown_one() {
    let db = TestDb::with_demo();
    let before = request_rows(&db);
    let unknown = try_file(
        &db,
        "admin@contoso.example",
        Kind::RemapAgreement,
        "ESA-0000-9999",
        "contoso.example",
    );
    assert!(matches!(
        unknown,
        Err(DomainError::Invalid {
            field: "agreement_number",
            ..
        })
    ));
    for (email, kind, number, target) in [
        (
            "admin@contoso.example",
            Kind::RemapAgreement,
            "ESA-4410-2002",
            "contoso.example",
        ),
        (
            "admin@contoso.example",
            Kind::RemapAgreement,
            "ESA-4410-2002",
            "fabrikam.example",
        ),
        (
            "billing@contoso.example",
            Kind::RemapAgreement,
            "esa-4410-2002",
            "no-such-domain.example",
        ),
        (
            "admin@contoso.example",
            Kind::ResendActivationEmail,
            "ESA-4410-2002",
            "",
        ),
        (
            "admin@fabrikam.example",
            Kind::ResendActivationEmail,
            "EA-7730-1001",
            "",
        ),
        (
            "admin@fabrikam.example",
            Kind::RemapAgreement,
            "EA-7730-1001",
            "fabrikam.example",
        ),
        (
            "admin@fabrikam.example",
            Kind::VolumeLicensingInvoice,
            "EA-7730-1001",
            "",
        ),
    ] {
        assert_eq!(
            try_file(&db, email, kind, number, target),
            unknown,
            "{email} {kind:?} {number} {target}"
        );
    }
    assert_eq!(request_rows(&db), before, "nothing is filed");
    // Each names its own: Fabrikam its attached ESA, Contoso its EA awaiting activation (the
    // OSM, admin@contoso.example, is Contoso's Global admin).
    try_file(
        &db,
        "admin@fabrikam.example",
        Kind::RemapAgreement,
        "ESA-4410-2002",
        "contoso.example",
    )
    .unwrap();
    try_file(
        &db,
        "billing@contoso.example",
        Kind::ResendActivationEmail,
        "EA-7730-1001",
        "",
    )
    .unwrap();
}

/// Carrying out re-checks whose agreement it is: a request whose agreement is no longer the
/// requesting tenant's (it was remapped since) is refused with the reason and changes nothing.
#[test]
fn carrying_out_refuses_a_remap_the_agreements_own_tenant_did_not_ask_for() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let support = actor(&db, "support@allot.example");
    let first = file(
        &db,
        "admin@fabrikam.example",
        Kind::RemapAgreement,
        "ESA-4410-2002",
        "contoso.example",
    );
    let second = file(
        &db,
        "admin@fabrikam.example",
        Kind::RemapAgreement,
        "ESA-4410-2002",
        "contoso.example",
    );
    requests::carry_out(
        &mut db.conn(),
        &support,
        &TestGateway,
        test_now(),
        first,
        Work::Remap,
    )
    .unwrap();
    // ESA-4410-2002 is Contoso's now: Fabrikam's second request no longer speaks for it.
    let contoso_before = pool_counts(&db, contoso, "Sales Professional");
    fn refusal<T: std::fmt::Debug>(result: Result<T, DomainError>) -> String {
        match result {
            Err(DomainError::Refused(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let previewed = refusal(requests::preview_remap(&mut db.conn(), &support, second));
    assert!(
        previewed.contains("ESA-4410-2002 is attached to Contoso")
            && previewed.contains("filed by Fabrikam"),
        "{previewed}"
    );
    let carried = refusal(requests::carry_out(
        &mut db.conn(),
        &support,
        &TestGateway,
        test_now(),
        second,
        Work::Remap,
    ));
    assert_eq!(carried, previewed);
    assert_eq!(
        pool_counts(&db, contoso, "Sales Professional"),
        contoso_before
    );
    assert_eq!(audit_count(&db, fabrikam, "Remapped agreement"), 1);
    assert_eq!(audit_count(&db, contoso, "Remapped agreement"), 1);
}

/// Issue 12, finding 8: an agreement's start date is a year from 2000 to 2100, and its
/// number, customer, OSM and partner carry no control characters; nothing else is entered.
#[test]
fn an_agreement_starts_in_a_sensible_year_and_its_fields_refuse_control_characters() {
    let db = TestDb::with_demo();
    let good = NewAgreement {
        number: "CSA-5500-0001".into(),
        program: "campus_school".into(),
        customer: "Woodgrove School".into(),
        osm_email: "osm@woodgrove.example".into(),
        partner: "Northwind Licensing".into(),
        starts_on: chrono::NaiveDate::from_ymd_opt(2026, 9, 1),
    };
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
    let cases = [
        (
            NewAgreement {
                starts_on: day(-9999, 1, 1),
                ..good.clone()
            },
            "starts_on",
        ),
        (
            NewAgreement {
                starts_on: day(1999, 12, 31),
                ..good.clone()
            },
            "starts_on",
        ),
        (
            NewAgreement {
                starts_on: day(2101, 1, 1),
                ..good.clone()
            },
            "starts_on",
        ),
        (
            NewAgreement {
                number: "CSA-5500\0-1".into(),
                ..good.clone()
            },
            "number",
        ),
        (
            NewAgreement {
                customer: "Woodgrove\r\nSchool".into(),
                ..good.clone()
            },
            "customer",
        ),
        (
            NewAgreement {
                customer: "Woodgrove\0".into(),
                ..good.clone()
            },
            "customer",
        ),
        (
            NewAgreement {
                partner: "Northwind\u{1b}".into(),
                ..good.clone()
            },
            "partner",
        ),
        (
            NewAgreement {
                osm_email: "osm\n@woodgrove.example".into(),
                ..good.clone()
            },
            "osm_email",
        ),
    ];
    for (new, field) in cases {
        let refused = agreements::create(&mut db.conn(), &partner(&db), test_now(), &new);
        assert!(
            matches!(refused, Err(DomainError::Invalid { field: f, .. }) if f == field),
            "{field}: {refused:?}"
        );
    }
    let count: i64 = agreement_table::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(count, 2, "the demo's two only");
    agreements::create(&mut db.conn(), &partner(&db), test_now(), &good).unwrap();
}
