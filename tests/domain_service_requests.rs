//! Service requests: filing, the queue, the thread and its internal notes, state transitions,
//! and carrying out cancellations and license changes, on both databases.

mod common;

use allot::domain::billing::{self, TestGateway};
use allot::domain::schema::{
    bills, outbox, service_request_comments, service_requests, subscriptions,
};
use allot::domain::service_requests::{
    self as requests, Assigned, AuthorKind, Done, Kind, NewRequest, QueueFilter, State, Work,
};
use allot::domain::subscriptions::{CancelWhen, Cancelled};
use allot::domain::{Actor, DomainError, ServiceRequestId, SubscriptionId, users};
use chrono::Duration;
use common::*;
use diesel::prelude::*;

/// Contoso's 5-license Business Premium subscription (card, started November 1: within its
/// cancellation window at `test_now()`).
fn card_sub(db: &TestDb) -> SubscriptionId {
    sub_with(db, "credit_card", 5)
}

/// Contoso's 8-license yearly Business Premium (invoice, started October 26: window passed).
fn yearly_sub(db: &TestDb) -> SubscriptionId {
    sub_with(db, "invoice", 8)
}

fn sub_with(db: &TestDb, channel: &str, quantity: i32) -> SubscriptionId {
    SubscriptionId(
        subscriptions::table
            .filter(subscriptions::quantity.eq(quantity))
            .filter(subscriptions::purchase_channel.eq(channel))
            .order(subscriptions::id)
            .select(subscriptions::id)
            .first(&mut db.conn())
            .unwrap(),
    )
}

fn fabrikam_sub(db: &TestDb) -> SubscriptionId {
    let (_, fabrikam) = tenants(db);
    SubscriptionId(
        subscriptions::table
            .filter(subscriptions::tenant_id.eq(fabrikam.0))
            .select(subscriptions::id)
            .first(&mut db.conn())
            .unwrap(),
    )
}

fn new(kind: Kind, sub: Option<SubscriptionId>, quantity: Option<i32>) -> NewRequest {
    NewRequest {
        kind: kind.as_str().into(),
        subscription: sub,
        quantity,
        description: "Please do this for us; our finance team agreed.".into(),
        ..Default::default()
    }
}

fn file(db: &TestDb, email: &str, request: &NewRequest) -> Result<ServiceRequestId, DomainError> {
    let admin = actor(db, email);
    let tenant = admin.tenant().unwrap();
    requests::file(&mut db.conn(), &admin, test_now(), tenant, request)
}

fn file_cancel(db: &TestDb) -> ServiceRequestId {
    file(
        db,
        "admin@contoso.example",
        &new(Kind::CancelSubscription, Some(card_sub(db)), None),
    )
    .unwrap()
}

/// Contoso's requests (the demo files one for Fabrikam).
fn count_requests(db: &TestDb) -> i64 {
    let (contoso, _) = tenants(db);
    service_requests::table
        .filter(service_requests::tenant_id.eq(contoso.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn emails_to(db: &TestDb, to: &str) -> Vec<(String, String, Option<String>)> {
    outbox::table
        .filter(outbox::to_email.eq(to))
        .order(outbox::id)
        .select((outbox::subject, outbox::body, outbox::link))
        .load(&mut db.conn())
        .unwrap()
}

fn state_of(db: &TestDb, id: ServiceRequestId) -> String {
    service_requests::table
        .find(id.0)
        .select(service_requests::state)
        .first(&mut db.conn())
        .unwrap()
}

fn sub_state(db: &TestDb, sub: SubscriptionId) -> (String, i32, bool) {
    subscriptions::table
        .find(sub.0)
        .select((
            subscriptions::state,
            subscriptions::quantity,
            subscriptions::recurring_billing,
        ))
        .first(&mut db.conn())
        .unwrap()
}

fn support(db: &TestDb) -> Actor {
    actor(db, "support@allot.example")
}

/// The first page of the queue as `who` sees it with `filter`, at `test_now()`.
fn queue_of(db: &TestDb, who: &Actor, filter: QueueFilter) -> requests::Page {
    requests::queue(&mut db.conn(), who, test_now(), &filter, None).unwrap()
}

#[test]
fn filing_a_request_confirms_it_by_email_and_puts_it_in_the_queue() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let id = file_cancel(&db);
    assert_eq!(state_of(&db, id), "open");
    let mails = emails_to(&db, "admin@contoso.example");
    let (subject, body, link) = mails.last().unwrap();
    assert!(subject.contains(&format!("We received your service request #{id}")));
    assert!(body.contains("\"Cancel subscription: Business Premium\""));
    assert_eq!(link.as_deref(), Some(&*format!("/support/requests/{id}")));
    assert_eq!(audit_count(&db, contoso, "Filed service request"), 1);

    let page = queue_of(
        &db,
        &support(&db),
        QueueFilter {
            tenant: Some(contoso),
            ..Default::default()
        },
    );
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].tenant_name, "Contoso");
    assert_eq!(page.rows[0].kind, Kind::CancelSubscription);

    let mine = requests::list_for_tenant(
        &mut db.conn(),
        &actor(&db, "licenses@contoso.example"),
        contoso,
        None,
    )
    .unwrap();
    assert_eq!(
        mine.rows.len(),
        1,
        "every admin of the tenant sees its requests"
    );
}

#[test]
fn only_global_and_billing_admins_file_billing_requests() {
    let db = TestDb::with_demo();
    let sub = card_sub(&db);
    for email in ["admin@contoso.example", "billing@contoso.example"] {
        for kind in [
            Kind::CancelSubscription,
            Kind::AddLicenses,
            Kind::RemoveLicenses,
            Kind::BillingQuestion,
            Kind::Other,
        ] {
            let quantity = kind.needs_quantity().then_some(1);
            let subscription = kind.needs_subscription().then_some(sub);
            assert!(
                file(&db, email, &new(kind, subscription, quantity)).is_ok(),
                "{email} files {kind:?}"
            );
        }
    }
    for email in ["licenses@contoso.example", "users@contoso.example"] {
        for kind in [
            Kind::CancelSubscription,
            Kind::AddLicenses,
            Kind::RemoveLicenses,
            Kind::BillingQuestion,
        ] {
            let quantity = kind.needs_quantity().then_some(1);
            let subscription = kind.needs_subscription().then_some(sub);
            assert!(
                matches!(
                    file(&db, email, &new(kind, subscription, quantity)),
                    Err(DomainError::Refused(_))
                ),
                "{email} may not file {kind:?}"
            );
        }
        assert!(file(&db, email, &new(Kind::Other, None, None)).is_ok());
    }
    // Nobody files for another tenant, and staff file for none.
    let (contoso, _) = tenants(&db);
    for email in [
        "admin@fabrikam.example",
        "support@allot.example",
        "partner@allot.example",
    ] {
        let someone = actor(&db, email);
        assert_eq!(
            requests::file(
                &mut db.conn(),
                &someone,
                test_now(),
                contoso,
                &new(Kind::Other, None, None)
            ),
            Err(DomainError::Forbidden),
            "{email}"
        );
    }
    assert_eq!(count_requests(&db), 10 + 2);
}

#[test]
fn bad_requests_are_refused_with_the_field_and_change_nothing() {
    let db = TestDb::with_demo();
    let admin = "admin@contoso.example";
    // The demo's activation email is there already.
    let mails_before = emails_to(&db, admin).len();
    let check = |request: NewRequest, field: &str| match file(&db, admin, &request) {
        Err(DomainError::Invalid { field: got, .. }) => assert_eq!(got, field),
        other => panic!("expected an invalid {field}, got {other:?}"),
    };
    let mut blank = new(Kind::Other, None, None);
    blank.description = "   ".into();
    check(blank, "description");
    let mut long = new(Kind::Other, None, None);
    long.description = "x".repeat(requests::MAX_TEXT + 1);
    check(long, "description");
    check(
        NewRequest {
            kind: "make_coffee".into(),
            ..new(Kind::Other, None, None)
        },
        "kind",
    );
    check(new(Kind::CancelSubscription, None, None), "subscription");
    // Fabrikam's subscription, asked for by Contoso.
    check(
        new(Kind::CancelSubscription, Some(fabrikam_sub(&db)), None),
        "subscription",
    );
    check(
        new(Kind::AddLicenses, Some(card_sub(&db)), None),
        "quantity",
    );
    check(
        new(Kind::RemoveLicenses, Some(card_sub(&db)), Some(6)),
        "quantity",
    );
    check(
        new(Kind::ResendActivationEmail, None, None),
        "agreement_number",
    );
    check(
        NewRequest {
            agreement_number: "EA-0000-0000".into(),
            ..new(Kind::VolumeLicensingInvoice, None, None)
        },
        "agreement_number",
    );
    check(
        NewRequest {
            agreement_number: "EA-7730-1001".into(),
            target: "nowhere.example".into(),
            ..new(Kind::RemapAgreement, None, None)
        },
        "target",
    );
    assert_eq!(count_requests(&db), 0);
    assert_eq!(emails_to(&db, admin).len(), mails_before);
}

#[test]
fn tenants_see_only_their_own_requests() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let id = file_cancel(&db);
    let other = actor(&db, "admin@fabrikam.example");
    // Another tenant's request answers as a missing one would (no existence oracle).
    assert_eq!(
        requests::view(&mut db.conn(), &other, test_now(), id),
        Err(DomainError::NotFound)
    );
    assert_eq!(
        requests::comment(&mut db.conn(), &other, test_now(), id, "hello", false),
        Err(DomainError::NotFound)
    );
    assert_eq!(
        requests::close(&mut db.conn(), &other, test_now(), id),
        Err(DomainError::NotFound)
    );
    // Fabrikam's admin lists Fabrikam's requests: the demo's, not Contoso's.
    let theirs = requests::list_for_tenant(&mut db.conn(), &other, fabrikam, None).unwrap();
    assert!(
        theirs
            .rows
            .iter()
            .all(|r| r.tenant_name == "Fabrikam" && r.id != id)
    );
    assert_eq!(
        requests::list_for_tenant(&mut db.conn(), &other, contoso, None),
        Err(DomainError::Forbidden)
    );
    assert_eq!(state_of(&db, id), "open");
}

#[test]
fn internal_notes_never_reach_the_tenant_its_emails_or_its_audit_log() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let id = file_cancel(&db);
    let staff = support(&db);
    let secret = "Customer is a known chargeback risk";
    requests::comment(&mut db.conn(), &staff, test_now(), id, secret, true).unwrap();
    requests::comment(
        &mut db.conn(),
        &staff,
        test_now(),
        id,
        "We are on it.",
        false,
    )
    .unwrap();

    let seen_by_staff = requests::view(&mut db.conn(), &staff, test_now(), id).unwrap();
    assert!(
        seen_by_staff
            .comments
            .iter()
            .any(|c| c.body == secret && c.internal)
    );

    for email in ["admin@contoso.example", "licenses@contoso.example"] {
        let tenant_view =
            requests::view(&mut db.conn(), &actor(&db, email), test_now(), id).unwrap();
        assert!(
            tenant_view
                .comments
                .iter()
                .all(|c| !c.internal && c.body != secret)
        );
        assert!(
            tenant_view
                .comments
                .iter()
                .any(|c| c.body == "We are on it.")
        );
    }
    let all_mail: Vec<String> = outbox::table
        .select(outbox::body)
        .load(&mut db.conn())
        .unwrap();
    assert!(all_mail.iter().any(|b| b.contains("We are on it.")));
    assert!(all_mail.iter().all(|b| !b.contains(secret)));
    let log = allot::domain::audit::search(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        contoso,
        &Default::default(),
        None,
    )
    .unwrap()
    .0;
    assert!(
        log.iter()
            .all(|e| !e.detail.contains(secret) && e.action != "Added an internal note")
    );
    let export = users::export(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
    )
    .unwrap();
    assert!(
        serde_json::to_string(&export)
            .unwrap()
            .find(secret)
            .is_none()
    );
    // A tenant admin cannot write one.
    assert_eq!(
        requests::comment(
            &mut db.conn(),
            &actor(&db, "admin@contoso.example"),
            test_now(),
            id,
            "sneaky",
            true
        ),
        Err(DomainError::Forbidden)
    );
}

#[test]
fn partners_see_only_volume_licensing_requests() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let cancel = file_cancel(&db);
    // Volume licensing requests need an agreement (the volume licensing issue); one stands in.
    let requester = user_id(&db, "admin@contoso.example");
    let vl: i64 = diesel::insert_into(service_requests::table)
        .values((
            service_requests::tenant_id.eq(contoso.0),
            service_requests::kind.eq("volume_licensing_invoice"),
            service_requests::subject.eq("Volume licensing invoice: a question"),
            service_requests::description.eq("Which lines are on the true-up?"),
            service_requests::state.eq("open"),
            service_requests::requester_id.eq(requester.0),
            service_requests::created_at.eq(test_now().naive_utc()),
            service_requests::updated_at.eq(test_now().naive_utc()),
        ))
        .returning(service_requests::id)
        .get_result(&mut db.conn())
        .unwrap();
    let vl = ServiceRequestId(vl);
    let partner = actor(&db, "partner@allot.example");
    let queue = queue_of(&db, &partner, QueueFilter::default());
    assert_eq!(
        queue.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![vl]
    );
    assert_eq!(
        requests::view(&mut db.conn(), &partner, test_now(), cancel),
        Err(DomainError::Forbidden)
    );
    assert!(requests::view(&mut db.conn(), &partner, test_now(), vl).is_ok());
    requests::comment(
        &mut db.conn(),
        &partner,
        test_now(),
        vl,
        "Two lines.",
        false,
    )
    .unwrap();
    assert_eq!(
        requests::carry_out(
            &mut db.conn(),
            &partner,
            &TestGateway,
            test_now(),
            cancel,
            Work::Cancel(CancelWhen::Now)
        ),
        Err(DomainError::Forbidden)
    );
    // Billing support sees both.
    let all = queue_of(
        &db,
        &support(&db),
        QueueFilter {
            tenant: Some(contoso),
            ..Default::default()
        },
    );
    assert_eq!(all.rows.len(), 2);
    // Tenant admins have no queue.
    assert_eq!(
        requests::queue(
            &mut db.conn(),
            &actor(&db, "admin@contoso.example"),
            test_now(),
            &QueueFilter::default(),
            None
        ),
        Err(DomainError::Forbidden)
    );
}

#[test]
fn states_move_only_along_the_allowed_transitions() {
    let db = TestDb::with_demo();
    let id = file_cancel(&db);
    let staff = support(&db);
    let admin = actor(&db, "admin@contoso.example");
    let set = |to: State, message: &str| {
        requests::set_state(&mut db.conn(), &staff, test_now(), id, to, message)
    };
    // Open can't jump to resolved: someone takes it first.
    assert!(matches!(
        set(State::Resolved, "done"),
        Err(DomainError::Conflict(_))
    ));
    assert_eq!(state_of(&db, id), "open");
    requests::take(&mut db.conn(), &staff, test_now(), id).unwrap();
    assert_eq!(state_of(&db, id), "in_progress");
    set(State::WaitingOnCustomer, "Which subscription exactly?").unwrap();
    // The customer's answer puts it back in progress.
    requests::comment(
        &mut db.conn(),
        &admin,
        test_now(),
        id,
        "The card one.",
        false,
    )
    .unwrap();
    assert_eq!(state_of(&db, id), "in_progress");
    // Resolving needs a message to the customer.
    assert!(matches!(
        set(State::Resolved, "  "),
        Err(DomainError::Invalid {
            field: "message",
            ..
        })
    ));
    assert_eq!(state_of(&db, id), "in_progress");
    set(State::Resolved, "Cancelled as asked.").unwrap();
    assert_eq!(state_of(&db, id), "resolved");
    // Tenant admins don't move states, except closing their own request.
    assert_eq!(
        requests::set_state(
            &mut db.conn(),
            &admin,
            test_now(),
            id,
            State::InProgress,
            ""
        ),
        Err(DomainError::Forbidden)
    );
    requests::close(&mut db.conn(), &admin, test_now(), id).unwrap();
    assert_eq!(state_of(&db, id), "closed");
    for to in State::ALL {
        assert!(set(to, "again").is_err(), "closed stays closed ({to:?})");
    }
    assert!(matches!(
        requests::comment(&mut db.conn(), &admin, test_now(), id, "hello?", false),
        Err(DomainError::Conflict(_))
    ));
    // Every state change was mailed to the requester, with the resolution's message.
    let mails = emails_to(&db, "admin@contoso.example");
    let subjects: Vec<&str> = mails.iter().map(|(s, _, _)| s.as_str()).collect();
    for state in ["in progress", "waiting on customer", "resolved", "closed"] {
        assert!(
            subjects
                .iter()
                .any(|s| s.ends_with(&format!("#{id} is {state}"))),
            "an email says {state}: {subjects:?}"
        );
    }
    assert!(
        mails
            .iter()
            .any(|(_, b, _)| b.contains("Cancelled as asked."))
    );
}

#[test]
fn assigning_goes_only_to_staff_who_work_the_kind() {
    let db = TestDb::with_demo();
    let id = file_cancel(&db);
    let staff = support(&db);
    let partner_id = match actor(&db, "partner@allot.example") {
        Actor::Staff { staff, .. } => staff,
        _ => unreachable!(),
    };
    assert!(matches!(
        requests::assign(&mut db.conn(), &staff, test_now(), id, partner_id),
        Err(DomainError::Invalid { field: "staff", .. })
    ));
    assert_eq!(state_of(&db, id), "open");
    requests::take(&mut db.conn(), &staff, test_now(), id).unwrap();
    let mine = queue_of(
        &db,
        &staff,
        QueueFilter {
            assigned: Assigned::Me,
            ..Default::default()
        },
    );
    assert_eq!(mine.rows.len(), 1);
    let nobody = queue_of(
        &db,
        &staff,
        QueueFilter {
            assigned: Assigned::Nobody,
            tenant: Some(tenants(&db).0),
            ..Default::default()
        },
    );
    assert!(nobody.rows.is_empty());
}

#[test]
fn carrying_out_a_cancellation_within_the_window_ends_it_now_with_a_refund() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = card_sub(&db);
    let id = file_cancel(&db);
    let done = requests::carry_out(
        &mut db.conn(),
        &support(&db),
        &TestGateway,
        test_now(),
        id,
        Work::Cancel(CancelWhen::Now),
    )
    .unwrap();
    let Done::Cancelled(Cancelled::Now {
        refund_cents,
        bill: Some(_),
    }) = done
    else {
        panic!("not cancelled now with a refund: {done:?}")
    };
    assert_eq!(refund_cents, billing::prorate(5 * 2200, 2214000, 2592000));
    assert_eq!(sub_state(&db, sub).0, "cancelled");
    // The request was taken, its thread says what was done, and the customer was told.
    assert_eq!(state_of(&db, id), "in_progress");
    let view = requests::view(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        id,
    )
    .unwrap();
    assert!(
        view.comments
            .iter()
            .any(|c| c.author_kind == AuthorKind::System
                && c.body.contains("cancelled the subscription today"))
    );
    assert_eq!(audit_count(&db, contoso, "Cancelled subscription"), 1);
    assert_eq!(audit_count(&db, contoso, "Carried out service request"), 1);
    let subjects: Vec<String> = emails_to(&db, "admin@contoso.example")
        .into_iter()
        .map(|(s, _, _)| s)
        .collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("subscription is cancelled"))
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.contains(&format!("Update on your service request #{id}")))
    );
    // Carried out once: the request can't cancel it again.
    assert!(matches!(
        requests::carry_out(
            &mut db.conn(),
            &support(&db),
            &TestGateway,
            test_now(),
            id,
            Work::Cancel(CancelWhen::Now)
        ),
        Err(DomainError::Conflict(_))
    ));
}

#[test]
fn billing_support_ends_a_subscription_now_after_the_window_without_a_refund() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = yearly_sub(&db);
    let id = file(
        &db,
        "billing@contoso.example",
        &new(Kind::CancelSubscription, Some(sub), None),
    )
    .unwrap();
    let bills_before: i64 = bills::table
        .filter(bills::tenant_id.eq(contoso.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    let done = requests::carry_out(
        &mut db.conn(),
        &support(&db),
        &TestGateway,
        test_now(),
        id,
        Work::Cancel(CancelWhen::Now),
    )
    .unwrap();
    assert_eq!(
        done,
        Done::Cancelled(Cancelled::Now {
            refund_cents: 0,
            bill: None
        })
    );
    assert_eq!(sub_state(&db, sub).0, "cancelled");
    let bills_after: i64 = bills::table
        .filter(bills::tenant_id.eq(contoso.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(bills_before, bills_after, "no refund, no bill");
}

#[test]
fn a_cancellation_shows_when_the_data_goes_and_whether_it_was_exported() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let id = file_cancel(&db);
    let staff = support(&db);
    let before = requests::view(&mut db.conn(), &staff, test_now(), id)
        .unwrap()
        .data_safety
        .unwrap();
    assert!(before.if_cancelled_today);
    assert_eq!(before.deleted_on, test_now() + Duration::days(90));
    assert_eq!(before.exported_at, None);
    let later = test_now() + Duration::hours(2);
    users::export(
        &mut db.conn(),
        &actor(&db, "billing@contoso.example"),
        later,
        contoso,
    )
    .unwrap();
    requests::carry_out(
        &mut db.conn(),
        &staff,
        &TestGateway,
        later,
        id,
        Work::Cancel(CancelWhen::Now),
    )
    .unwrap();
    let after = requests::view(&mut db.conn(), &staff, test_now() + Duration::days(3), id)
        .unwrap()
        .data_safety
        .unwrap();
    assert!(!after.if_cancelled_today);
    assert_eq!(after.deleted_on, later + Duration::days(90));
    assert_eq!(after.exported_at, Some(later));
    // The day comes: tick deletes the subscription, once.
    let tick = |at| allot::jobs::tick(&mut db.conn(), &TestGateway, at).unwrap();
    tick(later + Duration::days(89));
    assert_eq!(sub_state(&db, card_sub(&db)).0, "cancelled");
    tick(later + Duration::days(90));
    assert_eq!(sub_state(&db, card_sub(&db)).0, "deleted");
    tick(later + Duration::days(91));
    assert_eq!(audit_count(&db, contoso, "Subscription deleted"), 1);
}

#[test]
fn carrying_out_add_licenses_grows_the_pool_and_bills_it() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = card_sub(&db);
    let id = file(
        &db,
        "admin@contoso.example",
        &new(Kind::AddLicenses, Some(sub), Some(3)),
    )
    .unwrap();
    let (licenses, assigned, _) = pool_counts(&db, contoso, "Business Premium");
    let done = requests::carry_out(
        &mut db.conn(),
        &support(&db),
        &TestGateway,
        test_now(),
        id,
        Work::AddLicenses(3),
    )
    .unwrap();
    assert!(matches!(done, Done::Added { licenses: 3, .. }));
    assert_eq!(
        pool_counts(&db, contoso, "Business Premium"),
        (licenses + 3, assigned, licenses + 3 - assigned)
    );
    assert_eq!(sub_state(&db, sub).1, 8);
    // The wrong work for the request changes nothing.
    assert!(matches!(
        requests::carry_out(
            &mut db.conn(),
            &support(&db),
            &TestGateway,
            test_now(),
            id,
            Work::RemoveLicenses {
                licenses: 1,
                accept_conflict: true
            }
        ),
        Err(DomainError::Conflict(_))
    ));
    // Tenant admins and partners don't carry requests out.
    for email in ["admin@contoso.example", "partner@allot.example"] {
        assert_eq!(
            requests::carry_out(
                &mut db.conn(),
                &actor(&db, email),
                &TestGateway,
                test_now(),
                id,
                Work::AddLicenses(3)
            ),
            Err(DomainError::Forbidden),
            "{email}"
        );
    }
    assert_eq!(sub_state(&db, sub).1, 8);
}

#[test]
fn removing_below_the_assigned_count_needs_a_confirmation_and_half_a_change_is_never_kept() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = card_sub(&db);
    let (licenses, assigned, _) = pool_counts(&db, contoso, "Business Premium");
    assert!(assigned > licenses - 5, "the demo fills the pool enough");
    let id = file(
        &db,
        "admin@contoso.example",
        &new(Kind::RemoveLicenses, Some(sub), Some(5)),
    )
    .unwrap();
    let comments_before: i64 = service_request_comments::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    let preview = requests::preview_removal(&mut db.conn(), &support(&db), id, 5).unwrap();
    assert!(!preview.beyond.is_empty());
    let refused = requests::carry_out(
        &mut db.conn(),
        &support(&db),
        &TestGateway,
        test_now(),
        id,
        Work::RemoveLicenses {
            licenses: 5,
            accept_conflict: false,
        },
    );
    assert!(matches!(refused, Err(DomainError::Conflict(_))));
    let comments_after: i64 = service_request_comments::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(comments_before, comments_after, "the thread is untouched");
    assert_eq!(sub_state(&db, sub).1, 5);
    assert_eq!(state_of(&db, id), "open");
    requests::carry_out(
        &mut db.conn(),
        &support(&db),
        &TestGateway,
        test_now(),
        id,
        Work::RemoveLicenses {
            licenses: 5,
            accept_conflict: true,
        },
    )
    .unwrap();
    assert_eq!(sub_state(&db, sub).1, 0);
    assert_eq!(
        pool_counts(&db, contoso, "Business Premium").0,
        licenses - 5
    );
}

#[test]
fn the_queue_filters_and_pages() {
    let db = TestDb::with_demo();
    let staff = support(&db);
    let admin = actor(&db, "admin@contoso.example");
    let (contoso, fabrikam) = tenants(&db);
    let mut ids = Vec::new();
    for i in 0..(requests::PAGE_SIZE + 5) {
        let at = test_now() + Duration::minutes(i);
        ids.push(
            requests::file(
                &mut db.conn(),
                &admin,
                at,
                contoso,
                &new(Kind::Other, None, None),
            )
            .unwrap(),
        );
    }
    let fab = requests::file(
        &mut db.conn(),
        &actor(&db, "admin@fabrikam.example"),
        test_now() - Duration::days(10),
        fabrikam,
        &new(Kind::BillingQuestion, None, None),
    )
    .unwrap();
    let queue = |filter: &QueueFilter, after| {
        requests::queue(
            &mut db.conn(),
            &staff,
            test_now() + Duration::days(1),
            filter,
            after,
        )
        .unwrap()
    };
    let first = queue(&QueueFilter::default(), None);
    assert_eq!(first.rows.len() as i64, requests::PAGE_SIZE);
    assert_eq!(first.rows[0].id, *ids.last().unwrap(), "newest first");
    let second = queue(&QueueFilter::default(), first.next);
    // The rest of Contoso's, Fabrikam's, and the demo's own billing question.
    assert_eq!(second.rows.len(), 7);
    assert_eq!(second.next, None);
    let mut seen: Vec<_> = first
        .rows
        .iter()
        .chain(&second.rows)
        .map(|r| r.id)
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len() as i64,
        requests::PAGE_SIZE + 7,
        "no row twice, none lost"
    );

    let by_tenant = queue(
        &QueueFilter {
            tenant: Some(fabrikam),
            ..Default::default()
        },
        None,
    );
    assert_eq!(by_tenant.rows.len(), 2, "Fabrikam's and the demo's");
    assert!(by_tenant.rows.iter().all(|r| r.tenant_name == "Fabrikam"));
    assert!(by_tenant.rows.iter().any(|r| r.id == fab));
    let old = queue(
        &QueueFilter {
            older_than_days: Some(7),
            ..Default::default()
        },
        None,
    );
    assert_eq!(old.rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![fab]);
    let questions = queue(
        &QueueFilter {
            kind: Some(Kind::BillingQuestion),
            state: Some(State::Open),
            ..Default::default()
        },
        None,
    );
    assert_eq!(questions.rows.len(), 2, "Fabrikam's and the demo's");
    let none = queue(
        &QueueFilter {
            state: Some(State::Resolved),
            ..Default::default()
        },
        None,
    );
    assert!(none.rows.is_empty());
}

/// Who may do what with a request: every admin role of the request's tenant, an admin of
/// another tenant, billing support and a partner, over every operation.
#[test]
fn each_role_may_do_exactly_its_part_of_a_request() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let sub = card_sub(&db);
    // list, file Other, file Cancel subscription, view, comment, internal note, close, take,
    // change state, carry out, the queue
    let table: [(&str, [bool; 11]); 7] = [
        (
            "admin@contoso.example",
            [
                true, true, true, true, true, false, true, false, false, false, false,
            ],
        ),
        (
            "billing@contoso.example",
            [
                true, true, true, true, true, false, true, false, false, false, false,
            ],
        ),
        (
            "licenses@contoso.example",
            [
                true, true, false, true, true, false, true, false, false, false, false,
            ],
        ),
        (
            "users@contoso.example",
            [
                true, true, false, true, true, false, true, false, false, false, false,
            ],
        ),
        ("admin@fabrikam.example", [false; 11]),
        (
            "support@allot.example",
            [
                false, false, false, true, true, true, false, true, true, true, true,
            ],
        ),
        (
            "partner@allot.example",
            [
                false, false, false, false, false, false, false, false, false, false, true,
            ],
        ),
    ];
    for (email, expected) in table {
        let who = actor(&db, email);
        // Fresh requests for each row, so closing or carrying out doesn't spoil the next.
        let id = file_cancel(&db);
        let to_close = file_cancel(&db);
        let mut conn = db.conn();
        let got = [
            requests::list_for_tenant(&mut conn, &who, contoso, None).is_ok(),
            requests::file(
                &mut conn,
                &who,
                test_now(),
                contoso,
                &new(Kind::Other, None, None),
            )
            .is_ok(),
            requests::file(
                &mut conn,
                &who,
                test_now(),
                contoso,
                &new(Kind::CancelSubscription, Some(sub), None),
            )
            .is_ok(),
            requests::view(&mut conn, &who, test_now(), id).is_ok(),
            requests::comment(&mut conn, &who, test_now(), id, "A word.", false).is_ok(),
            requests::comment(&mut conn, &who, test_now(), id, "A note.", true).is_ok(),
            requests::close(&mut conn, &who, test_now(), to_close).is_ok(),
            requests::take(&mut conn, &who, test_now(), id).is_ok(),
            requests::set_state(
                &mut conn,
                &who,
                test_now(),
                id,
                State::WaitingOnCustomer,
                "",
            )
            .is_ok(),
            requests::carry_out(
                &mut conn,
                &who,
                &TestGateway,
                test_now(),
                id,
                Work::Cancel(CancelWhen::AtTermEnd),
            )
            .is_ok(),
            requests::queue(&mut conn, &who, test_now(), &QueueFilter::default(), None).is_ok(),
        ];
        assert_eq!(got, expected, "{email}");
        // Recurring billing back on, for the next row's cancellation.
        diesel::update(subscriptions::table.find(sub.0))
            .set(subscriptions::recurring_billing.eq(true))
            .execute(&mut conn)
            .unwrap();
    }
}

#[test]
fn a_resolved_request_closes_by_itself_after_fourteen_days_without_a_reply() {
    let db = TestDb::with_demo();
    let id = file_cancel(&db);
    let staff = support(&db);
    requests::take(&mut db.conn(), &staff, test_now(), id).unwrap();
    requests::set_state(
        &mut db.conn(),
        &staff,
        test_now(),
        id,
        State::Resolved,
        "Cancelled as asked.",
    )
    .unwrap();
    let tick = |at| {
        allot::jobs::tick(&mut db.conn(), &TestGateway, at)
            .unwrap()
            .requests_closed
    };
    assert_eq!(tick(test_now() + Duration::days(13)), 0);
    assert_eq!(state_of(&db, id), "resolved");
    assert_eq!(tick(test_now() + Duration::days(14)), 1);
    assert_eq!(state_of(&db, id), "closed");
    assert_eq!(tick(test_now() + Duration::days(15)), 0, "closed once");
    let view = requests::view(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now() + Duration::days(15),
        id,
    )
    .unwrap();
    assert!(
        view.comments
            .iter()
            .any(|c| c.author == "allot"
                && c.body.starts_with("Closed 14 days after it was resolved"))
    );
    let subjects: Vec<String> = emails_to(&db, "admin@contoso.example")
        .into_iter()
        .map(|(s, _, _)| s)
        .collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.ends_with(&format!("#{id} is closed")))
    );
}

/// Issue 12, finding 8: a description keeps line breaks (CR LF as LF) and tabs; a NUL, a lone
/// CR or an escape is refused, in a description, a comment and a staff message alike.
#[test]
fn request_text_keeps_line_breaks_and_tabs_and_refuses_other_control_characters() {
    let db = TestDb::with_demo();
    let control = |result: Result<_, DomainError>, field: &str| {
        matches!(result, Err(DomainError::Invalid { field: f, ref message })
            if f == field && message.contains("control characters"))
    };
    for description in [
        "Our bill\0 is wrong.",
        "Our bill\r is wrong.",
        "Our \u{1b}[2J bill is wrong.",
    ] {
        let request = NewRequest {
            description: description.into(),
            ..new(Kind::Other, None, None)
        };
        assert!(
            control(
                file(&db, "admin@contoso.example", &request).map(|_| ()),
                "description"
            ),
            "{description:?}"
        );
    }
    let id = file(
        &db,
        "admin@contoso.example",
        &NewRequest {
            description: "Our bill is wrong:\r\n\t- twice the licenses\r\n".into(),
            ..new(Kind::Other, None, None)
        },
    )
    .unwrap();
    let support = actor(&db, "support@allot.example");
    let view = requests::view(&mut db.conn(), &support, test_now(), id).unwrap();
    assert_eq!(
        view.description,
        "Our bill is wrong:\n\t- twice the licenses"
    );
    let admin = actor(&db, "admin@contoso.example");
    assert!(control(
        requests::comment(&mut db.conn(), &admin, test_now(), id, "Any news?\0", false),
        "body"
    ));
    requests::take(&mut db.conn(), &support, test_now(), id).unwrap();
    assert!(control(
        requests::set_state(
            &mut db.conn(),
            &support,
            test_now(),
            id,
            State::Resolved,
            "Fixed.\u{7}"
        ),
        "message"
    ));
    let comments: i64 = service_request_comments::table
        .filter(service_request_comments::request_id.eq(id.0))
        .filter(service_request_comments::author_kind.ne("system"))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(comments, 0, "nothing is stored");
}
