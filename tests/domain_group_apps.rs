//! A group's license turning apps off for all its members: a member has every app one of
//! their seat's sources turns on, the data of an app they lose is held for 30 days, and the
//! portal gives only the apps a member has.

mod common;

use allot::domain::billing::TestGateway;
use allot::domain::groups;
use allot::domain::licenses::{self, DATA_HOLD, LicenseApps, PoolRef};
use allot::domain::schema::{audit_log, data_holds};
use allot::domain::{Actor, DomainError, GroupId, ProductId, ServiceId, TenantId, UserId, portal};
use allot::jobs;
use chrono::Duration;
use common::*;
use diesel::prelude::*;

const MAILBOX: &str = "Exchange Online mailbox";

struct Setup {
    db: TestDb,
    contoso: TenantId,
    admin: Actor,
    premium: ProductId,
}

fn setup() -> Setup {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let premium = product_id(&db, "Business Premium");
    Setup {
        db,
        contoso,
        admin,
        premium,
    }
}

impl Setup {
    fn group(&self, name: &str, members: &[UserId]) -> GroupId {
        let conn = &mut self.db.conn();
        let g = groups::create(conn, &self.admin, test_now(), self.contoso, name, "").unwrap();
        if !members.is_empty() {
            groups::add_members(conn, &self.admin, test_now(), self.contoso, g, members).unwrap();
        }
        groups::assign_product(conn, &self.admin, test_now(), self.contoso, g, self.premium)
            .unwrap();
        g
    }

    /// Business Premium's apps but the mailbox.
    fn all_but_mailbox(&self) -> Vec<ServiceId> {
        vec![
            app_id(&self.db, "Business Premium", "OneDrive files"),
            app_id(&self.db, "Business Premium", "Office apps"),
        ]
    }

    fn set(&self, group: GroupId, on: &[ServiceId]) -> groups::GroupAppsChanged {
        groups::set_group_apps(
            &mut self.db.conn(),
            &self.admin,
            test_now(),
            self.contoso,
            group,
            self.premium,
            on,
        )
        .unwrap()
    }

    fn premium_apps(&self, user: UserId) -> LicenseApps {
        licenses::apps_of(&mut self.db.conn(), &self.admin, self.contoso, user)
            .unwrap()
            .into_iter()
            .find(|l| l.product == self.premium)
            .expect("holds Business Premium")
    }

    fn mailbox_on(&self, user: UserId) -> bool {
        self.premium_apps(user)
            .apps
            .iter()
            .find(|a| a.name == MAILBOX)
            .unwrap()
            .on
    }

    fn mailbox_hold(&self, user: UserId) -> Option<chrono::NaiveDateTime> {
        let mailbox = app_id(&self.db, "Business Premium", MAILBOX);
        data_holds::table
            .filter(data_holds::user_id.eq(user.0))
            .filter(data_holds::service_id.eq(mailbox.0))
            .select(data_holds::held_until)
            .first(&mut self.db.conn())
            .optional()
            .unwrap()
    }

    fn portal_apps(&self, email: &str) -> Vec<String> {
        let a = Actor::EndUser {
            user: user_id(&self.db, email),
            tenant: self.contoso,
            email: email.into(),
        };
        portal::view(&mut self.db.conn(), &a)
            .unwrap()
            .products
            .into_iter()
            .find(|p| p.name == "Business Premium")
            .map(|p| p.apps)
            .unwrap_or_default()
    }
}

fn held_until_date() -> chrono::NaiveDateTime {
    (test_now() + DATA_HOLD).naive_utc()
}

#[test]
fn a_group_turning_the_mailbox_off_takes_it_from_members_with_a_hold_and_the_portal_agrees() {
    let s = setup();
    let (u16, u17) = (
        user_id(&s.db, "user16@contoso.example"),
        user_id(&s.db, "user17@contoso.example"),
    );
    let g = s.group("Frontline", &[u16, u17]);
    assert!(s.mailbox_on(u16));

    let done = s.set(g, &s.all_but_mailbox());
    assert_eq!(done.turned_off, vec![MAILBOX.to_owned()]);
    assert!(done.turned_on.is_empty());
    assert_eq!(done.members_changed, 2);
    assert_eq!(done.data_held_until, Some(test_now() + DATA_HOLD));
    // The licenses stay: 10 + 2 of 13 assigned.
    assert_eq!(
        pool_counts(&s.db, s.contoso, "Business Premium"),
        (13, 12, 1)
    );
    for u in [u16, u17] {
        assert!(!s.mailbox_on(u));
        assert_eq!(s.mailbox_hold(u), Some(held_until_date()));
    }
    assert_eq!(
        s.premium_apps(u16)
            .apps
            .iter()
            .find(|a| a.name == MAILBOX)
            .unwrap()
            .held_until,
        Some(test_now() + DATA_HOLD)
    );
    assert_eq!(audit_count(&s.db, s.contoso, "Changed group apps"), 1);
    assert_eq!(audit_count(&s.db, s.contoso, "Changed apps"), 2);
    let detail: String = audit_log::table
        .filter(audit_log::action.eq("Changed apps"))
        .filter(audit_log::target.eq("user16@contoso.example"))
        .select(audit_log::detail)
        .first(&mut s.db.conn())
        .unwrap();
    assert!(
        detail.contains("turned off Exchange Online mailbox"),
        "{detail}"
    );
    assert!(detail.contains("apps of Frontline"), "{detail}");
    // The group's page says which apps it turns off.
    let page = groups::detail(&mut s.db.conn(), &s.admin, s.contoso, g).unwrap();
    assert_eq!(page.licenses[0].apps_off, vec![MAILBOX.to_owned()]);
    // The portal gives the member the other two apps only.
    let apps = s.portal_apps("user16@contoso.example");
    assert!(!apps.contains(&MAILBOX.to_owned()), "{apps:?}");
    assert!(apps.contains(&"Office apps".to_owned()), "{apps:?}");
}

#[test]
fn a_member_with_the_license_directly_or_from_another_group_keeps_the_apps_those_give() {
    let s = setup();
    // user05 holds Business Premium directly, user16 doesn't.
    let (u05, u16) = (
        user_id(&s.db, "user05@contoso.example"),
        user_id(&s.db, "user16@contoso.example"),
    );
    let frontline = s.group("Frontline", &[u05, u16]);
    let done = s.set(frontline, &s.all_but_mailbox());
    assert_eq!(done.members_changed, 1, "only user16 loses the mailbox");
    assert!(s.mailbox_on(u05));
    assert_eq!(s.mailbox_hold(u05), None);
    assert!(!s.mailbox_on(u16));

    // A second group that gives every app: user16 has the mailbox again, its data kept.
    let office = s.group("Office", &[u16]);
    assert!(s.mailbox_on(u16));
    assert_eq!(
        s.mailbox_hold(u16),
        None,
        "back on in time: the data is kept"
    );
    assert_eq!(
        pool_counts(&s.db, s.contoso, "Business Premium"),
        (13, 11, 2),
        "one seat however many sources"
    );

    // Leaving that group, the mailbox goes off again with a new hold.
    groups::remove_members(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        office,
        &[u16],
    )
    .unwrap();
    assert!(!s.mailbox_on(u16));
    assert_eq!(s.mailbox_hold(u16), Some(held_until_date()));

    // Unassigned directly, user05 keeps the seat through Frontline, without the mailbox.
    let pool = PoolRef::Tenant(s.premium);
    let gone = licenses::unassign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        pool,
        &[u05],
    )
    .unwrap();
    assert_eq!(gone.kept_through_groups, vec![u05]);
    assert!(!s.mailbox_on(u05));
    assert_eq!(s.mailbox_hold(u05), Some(held_until_date()));
    // Assigned directly again, every app is back and the hold ends.
    licenses::assign(
        &mut s.db.conn(),
        &s.admin,
        test_now(),
        s.contoso,
        pool,
        &[u05],
    )
    .unwrap();
    assert!(s.mailbox_on(u05));
    assert_eq!(s.mailbox_hold(u05), None);
}

#[test]
fn turned_back_on_in_time_the_data_stays_and_left_off_tick_deletes_it_after_30_days() {
    let s = setup();
    let (u16, u17) = (
        user_id(&s.db, "user16@contoso.example"),
        user_id(&s.db, "user17@contoso.example"),
    );
    let keep = s.group("Keep", &[u16]);
    let lose = s.group("Lose", &[u17]);
    s.set(keep, &s.all_but_mailbox());
    s.set(lose, &s.all_but_mailbox());

    let back = s.set(keep, &[]).turned_on;
    assert!(back.is_empty(), "an empty choice turns everything off");
    let all: Vec<ServiceId> = s.premium_apps(u16).apps.iter().map(|a| a.id).collect();
    let on = s.set(keep, &all);
    assert_eq!(on.turned_on.len(), 3);
    assert!(s.mailbox_on(u16));
    assert_eq!(s.mailbox_hold(u16), None);

    let later = test_now() + DATA_HOLD + Duration::minutes(1);
    let tick = jobs::tick(&mut s.db.conn(), &TestGateway, later).unwrap();
    assert_eq!(tick.held_data_deleted, 1, "user17's mailbox, still off");
    assert_eq!(s.mailbox_hold(u17), None);
    assert!(!s.mailbox_on(u17), "the app stays off, the license stays");
    assert_eq!(
        pool_counts(&s.db, s.contoso, "Business Premium"),
        (13, 12, 1)
    );
}

#[test]
fn joining_a_group_that_turns_an_app_off_gives_the_seat_without_it() {
    let s = setup();
    let g = s.group("Frontline", &[]);
    s.set(g, &s.all_but_mailbox());
    let u18 = user_id(&s.db, "user18@contoso.example");
    groups::add_members(&mut s.db.conn(), &s.admin, test_now(), s.contoso, g, &[u18]).unwrap();
    assert!(!s.mailbox_on(u18));
    // A new seat brings no data to hold.
    assert_eq!(s.mailbox_hold(u18), None);
    let apps = s.portal_apps("user18@contoso.example");
    assert_eq!(apps.len(), 2, "{apps:?}");
}

#[test]
fn a_seat_given_back_while_its_data_is_held_keeps_holding_the_apps_left_off() {
    let s = setup();
    let u16 = user_id(&s.db, "user16@contoso.example");
    let g = s.group("Frontline", &[u16]);
    s.set(g, &s.all_but_mailbox());
    // Leaving frees the seat: the license's data is held from now.
    let later = test_now() + Duration::days(10);
    groups::remove_members(&mut s.db.conn(), &s.admin, later, s.contoso, g, &[u16]).unwrap();
    assert_eq!(
        pool_counts(&s.db, s.contoso, "Business Premium"),
        (13, 10, 3)
    );
    // Back in the group 5 days on: the seat returns without the mailbox, whose data is still
    // held until the license's hold would have run out, not 30 days from the return.
    let back = later + Duration::days(5);
    groups::add_members(&mut s.db.conn(), &s.admin, back, s.contoso, g, &[u16]).unwrap();
    assert!(!s.mailbox_on(u16));
    assert_eq!(s.mailbox_hold(u16), Some((later + DATA_HOLD).naive_utc()));
}

#[test]
fn who_may_change_a_groups_apps_and_what_bad_input_changes() {
    let s = setup();
    let u16 = user_id(&s.db, "user16@contoso.example");
    let g = s.group("Frontline", &[u16]);
    let conn = &mut s.db.conn();
    let try_as = |who: &Actor, conn: &mut _| {
        groups::set_group_apps(conn, who, test_now(), s.contoso, g, s.premium, &[])
    };
    let end_user = Actor::EndUser {
        user: u16,
        tenant: s.contoso,
        email: "user16@contoso.example".into(),
    };
    for who in [actor(&s.db, "billing@contoso.example"), end_user] {
        assert!(
            matches!(try_as(&who, conn), Err(DomainError::Forbidden)),
            "{who:?}"
        );
    }
    // Fabrikam's admin finds no such group in Fabrikam.
    let (_, fabrikam) = tenants(&s.db);
    let other = actor(&s.db, "admin@fabrikam.example");
    let r = groups::set_group_apps(conn, &other, test_now(), fabrikam, g, s.premium, &[]);
    assert!(matches!(r, Err(DomainError::NotFound)), "{r:?}");
    // A product the group doesn't carry; an app of another product.
    let sales = product_id(&s.db, "Sales Professional");
    let r = groups::set_group_apps(conn, &s.admin, test_now(), s.contoso, g, sales, &[]);
    assert!(matches!(r, Err(DomainError::NotFound)), "{r:?}");
    let foreign = app_id(&s.db, "Sales Professional", "Sales data");
    let r = groups::set_group_apps(
        conn,
        &s.admin,
        test_now(),
        s.contoso,
        g,
        s.premium,
        &[foreign],
    );
    assert!(matches!(r, Err(DomainError::Invalid { .. })), "{r:?}");
    assert!(s.mailbox_on(u16), "nothing changed");
    // A License admin may (they assign licenses to groups).
    let la = actor(&s.db, "licenses@contoso.example");
    let done = groups::set_group_apps(
        conn,
        &la,
        test_now(),
        s.contoso,
        g,
        s.premium,
        &s.all_but_mailbox(),
    )
    .unwrap();
    assert_eq!(done.members_changed, 1);
    // The member's own apps can't be changed on the user while the group gives the seat.
    let r = licenses::set_apps(conn, &la, test_now(), s.contoso, u16, s.premium, &[]);
    assert!(matches!(r, Err(DomainError::Conflict(_))), "{r:?}");
}
