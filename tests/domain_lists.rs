//! Lists that search, sort and count: the support queue's search by number and by text, the
//! orders of the requests lists and of the audit log with their keyset pages, on both
//! databases; a product's holders in each order, a big pool among others, and after a rename.

mod common;

use allot::domain::audit::{self, AuditOrder, AuditSort, Filter};
use allot::domain::service_requests::{
    self as requests, Cursor, NewRequest, QueueFilter, RequestOrder, RequestSort,
};
use allot::domain::{Actor, DomainError, ServiceRequestId};
use chrono::Duration;
use common::*;

fn question(db: &TestDb, email: &str, minutes: i64, description: &str) -> ServiceRequestId {
    let admin = actor(db, email);
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

fn search(db: &TestDb, who: &Actor, text: &str) -> requests::Page {
    requests::queue(
        &mut db.conn(),
        who,
        test_now(),
        &QueueFilter {
            search: text.into(),
            ..Default::default()
        },
        None,
    )
    .unwrap()
}

fn ids(page: &requests::Page) -> Vec<ServiceRequestId> {
    page.rows.iter().map(|r| r.id).collect()
}

#[test]
fn the_queue_finds_a_request_by_its_number_in_any_form_the_pages_show() {
    let db = TestDb::with_demo();
    let support = actor(&db, "support@allot.example");
    let id = question(&db, "admin@contoso.example", 1, "Why is the invoice late?");
    for text in [
        id.0.to_string(),
        format!("#{}", id.0),
        format!("SR-{}", id.0),
        format!("sr-{}", id.0),
        format!("  #{} ", id.0),
    ] {
        let page = search(&db, &support, &text);
        assert_eq!(ids(&page), vec![id], "searching {text:?}");
        assert_eq!(page.total, 1);
    }
    assert_eq!(search(&db, &support, "#999999").total, 0);
}

#[test]
fn the_queue_finds_words_in_subject_description_and_tenant_any_case() {
    let db = TestDb::with_demo();
    let support = actor(&db, "support@allot.example");
    let late = question(
        &db,
        "admin@contoso.example",
        1,
        "Invoice is late\nThe PURCHASE order reference is missing.",
    );
    let other = question(&db, "admin@contoso.example", 2, "Card declined twice");
    // The subject (first line), any case.
    assert_eq!(ids(&search(&db, &support, "INVOICE IS")), vec![late]);
    // The description past the subject.
    assert_eq!(ids(&search(&db, &support, "purchase order")), vec![late]);
    // The tenant's name: Contoso's two, not Fabrikam's demo question.
    let by_tenant = search(&db, &support, "contoso");
    assert_eq!(by_tenant.total, 2);
    assert_eq!(ids(&by_tenant), vec![other, late]);
    let fabrikam = search(&db, &support, "fabrik");
    assert_eq!(fabrikam.total, 1);
    assert!(fabrikam.rows[0].subject.contains("October bill"));
    // Together with the other filters.
    let (contoso, _) = tenants(&db);
    let page = requests::queue(
        &mut db.conn(),
        &support,
        test_now(),
        &QueueFilter {
            search: "declined".into(),
            tenant: Some(contoso),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(ids(&page), vec![other]);
    let (_, fabrikam_id) = tenants(&db);
    let none = requests::queue(
        &mut db.conn(),
        &support,
        test_now(),
        &QueueFilter {
            search: "declined".into(),
            tenant: Some(fabrikam_id),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(none.total, 0);
}

#[test]
fn percent_and_underscore_in_a_search_are_only_themselves() {
    let db = TestDb::with_demo();
    let support = actor(&db, "support@allot.example");
    let percent = question(
        &db,
        "admin@contoso.example",
        1,
        "We got 100% discount by mistake",
    );
    let underscore = question(
        &db,
        "admin@contoso.example",
        2,
        "Field cost_center is empty",
    );
    question(
        &db,
        "admin@contoso.example",
        3,
        "Costs center on the bill are wrong",
    );
    assert_eq!(ids(&search(&db, &support, "100%")), vec![percent]);
    assert_eq!(ids(&search(&db, &support, "%")), vec![percent]);
    assert_eq!(ids(&search(&db, &support, "cost_center")), vec![underscore]);
    assert_eq!(search(&db, &support, "_").total, 1);
    assert_eq!(search(&db, &support, "\\").total, 0);
    // A control character is refused, not sent to the database.
    assert!(matches!(
        requests::queue(
            &mut db.conn(),
            &support,
            test_now(),
            &QueueFilter {
                search: "a\u{0}b".into(),
                ..Default::default()
            },
            None,
        ),
        Err(DomainError::Invalid { .. })
    ));
}

#[test]
fn the_search_stays_within_what_the_viewer_may_see() {
    let db = TestDb::with_demo();
    let id = question(&db, "admin@contoso.example", 1, "Refund the double charge");
    // Partners work volume licensing requests only: a billing question is not theirs, by
    // number or by text.
    let partner = actor(&db, "partner@allot.example");
    assert_eq!(search(&db, &partner, &format!("#{}", id.0)).total, 0);
    assert_eq!(search(&db, &partner, "refund").total, 0);
    // Tenant admins have no queue, searched or not.
    let admin = actor(&db, "admin@contoso.example");
    assert_eq!(
        requests::queue(
            &mut db.conn(),
            &admin,
            test_now(),
            &QueueFilter {
                search: "refund".into(),
                ..Default::default()
            },
            None
        ),
        Err(DomainError::Forbidden)
    );
    // Billing support finds it.
    let support = actor(&db, "support@allot.example");
    assert_eq!(ids(&search(&db, &support, "refund the")), vec![id]);
}

/// Every page of the tenant's requests in `order`, walked by their keys.
fn walk(db: &TestDb, who: &Actor, order: RequestOrder) -> (Vec<ServiceRequestId>, i64) {
    let tenant = who.tenant().unwrap();
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = requests::list_for_tenant_in(&mut db.conn(), who, tenant, order, after).unwrap();
        seen.extend(ids(&page));
        match page.next {
            Some(next) => after = Some(Cursor::parse(&next.token()).unwrap()),
            None => return (seen, page.total),
        }
    }
}

#[test]
fn request_lists_sort_by_number_filed_and_updated_and_page_in_each_order() {
    let db = TestDb::with_demo();
    let admin = actor(&db, "admin@contoso.example");
    // More than a page (50), filed a minute apart, so the keys are crossed.
    let mut filed = Vec::new();
    for i in 0..55 {
        filed.push(question(
            &db,
            "admin@contoso.example",
            i,
            &format!("Question number {i} about the bill"),
        ));
    }
    // The first one filed is updated last: a comment.
    requests::comment(
        &mut db.conn(),
        &admin,
        test_now() + Duration::hours(5),
        filed[0],
        "Any news on this one?",
        false,
    )
    .unwrap();
    let orders = |by, descending| RequestOrder { by, descending };
    let (by_number, total) = walk(&db, &admin, orders(RequestSort::Number, false));
    assert_eq!(total, 55);
    assert_eq!(by_number, filed);
    let (by_number_desc, _) = walk(&db, &admin, orders(RequestSort::Number, true));
    assert_eq!(
        by_number_desc,
        filed.iter().rev().copied().collect::<Vec<_>>()
    );
    let (filed_first, _) = walk(&db, &admin, orders(RequestSort::Created, false));
    assert_eq!(filed_first, filed);
    let (updated_last, _) = walk(&db, &admin, orders(RequestSort::Updated, true));
    assert_eq!(updated_last.len(), 55);
    assert_eq!(updated_last[0], filed[0]);
    assert_eq!(updated_last[1], filed[54]);
    let (updated_first, _) = walk(&db, &admin, orders(RequestSort::Updated, false));
    assert_eq!(updated_first[0], filed[1]);
    assert_eq!(updated_first[54], filed[0]);
    // The default is the newest activity first, as before.
    let (default, _) = walk(&db, &admin, RequestOrder::default());
    assert_eq!(default, updated_last);
}

#[test]
fn the_queue_pages_its_search_in_the_order_asked() {
    let db = TestDb::with_demo();
    let support = actor(&db, "support@allot.example");
    let mut filed = Vec::new();
    for i in 0..52 {
        filed.push(question(
            &db,
            "admin@contoso.example",
            i,
            &format!("Renewal price {i}"),
        ));
    }
    question(&db, "admin@contoso.example", 60, "Something else entirely");
    let filter = QueueFilter {
        search: "renewal".into(),
        order: RequestOrder {
            by: RequestSort::Created,
            descending: false,
        },
        ..Default::default()
    };
    let first = requests::queue(&mut db.conn(), &support, test_now(), &filter, None).unwrap();
    assert_eq!(first.total, 52);
    assert_eq!(first.rows.len(), 50);
    let second = requests::queue(
        &mut db.conn(),
        &support,
        test_now(),
        &filter,
        first.next.clone(),
    )
    .unwrap();
    assert_eq!(second.total, 52);
    let all: Vec<_> = ids(&first).into_iter().chain(ids(&second)).collect();
    assert_eq!(all, filed);
    assert_eq!(second.next, None);
}

fn log(db: &TestDb, who: &Actor, order: AuditOrder, size: i64) -> (Vec<i64>, Vec<audit::Entry>) {
    let tenant = who.tenant().unwrap();
    let filter = Filter {
        order,
        ..Default::default()
    };
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let (page, next) =
            audit::search_sized(&mut db.conn(), who, tenant, &filter, after, size).unwrap();
        entries.extend(page);
        match next {
            Some(id) => after = Some(id),
            None => break,
        }
    }
    (entries.iter().map(|e| e.id).collect(), entries)
}

#[test]
fn the_audit_log_sorts_by_when_who_and_action_and_pages_in_each_order() {
    let db = TestDb::with_demo();
    let admin = actor(&db, "admin@contoso.example");
    let tenant = admin.tenant().unwrap();
    // Entries written out of time order (a job run as of an earlier time), two at once.
    for (minutes, action) in [(30, "zeta.test"), (-600, "alpha.test"), (30, "mid.test")] {
        audit::record(
            &mut db.conn(),
            &admin,
            test_now() + Duration::minutes(minutes),
            Some(tenant),
            action,
            "target",
            "",
        )
        .unwrap();
    }
    let total = audit::count(&mut db.conn(), &admin, tenant, &Filter::default()).unwrap();
    assert!(total > 3);
    let order = |by, descending| AuditOrder { by, descending };
    // Pages of 2 cross every key; each order walks every entry once.
    let (newest, entries) = log(&db, &admin, AuditOrder::default(), 2);
    assert_eq!(newest.len() as i64, total);
    let mut expected = entries.clone();
    expected.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
    assert_eq!(entries, expected);
    let (oldest, _) = log(&db, &admin, order(AuditSort::When, false), 2);
    assert_eq!(oldest, newest.iter().rev().copied().collect::<Vec<_>>());
    let (_, by_action) = log(&db, &admin, order(AuditSort::Action, false), 2);
    assert_eq!(by_action.len() as i64, total);
    let mut expected = by_action.clone();
    expected.sort_by(|a, b| (&a.action, a.id).cmp(&(&b.action, b.id)));
    assert_eq!(by_action, expected);
    let (_, by_action_desc) = log(&db, &admin, order(AuditSort::Action, true), 3);
    assert_eq!(by_action_desc[0].action, "zeta.test");
    let (_, by_who) = log(&db, &admin, order(AuditSort::Who, true), 2);
    let mut expected = by_who.clone();
    expected.sort_by(|a, b| (&b.actor, b.id).cmp(&(&a.actor, a.id)));
    assert_eq!(by_who, expected);
    // The count follows the filters.
    let filtered = Filter {
        action: "mid.test".into(),
        ..Default::default()
    };
    assert_eq!(
        audit::count(&mut db.conn(), &admin, tenant, &filtered).unwrap(),
        1
    );
    // Another tenant's entry is no page key here.
    let other = actor(&db, "admin@fabrikam.example");
    let (theirs, _) = log(&db, &other, AuditOrder::default(), 1000);
    assert!(matches!(
        audit::search(
            &mut db.conn(),
            &admin,
            tenant,
            &Filter::default(),
            theirs.first().copied()
        ),
        Err(DomainError::Invalid { .. })
    ));
}

/// Every page of the queue in `order`, walked by the keys its links carry.
fn walk_queue(db: &TestDb, who: &Actor, order: RequestOrder) -> (Vec<requests::RequestRow>, i64) {
    let filter = QueueFilter {
        order,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = requests::queue(&mut db.conn(), who, test_now(), &filter, after).unwrap();
        seen.extend(page.rows);
        match page.next {
            Some(next) => after = Some(Cursor::parse(&next.token()).unwrap()),
            None => return (seen, page.total),
        }
    }
}

fn state_key(r: &requests::RequestRow) -> String {
    r.state.as_str().to_owned()
}

#[test]
fn the_queue_sorts_by_state_and_tenant_and_pages_by_key_in_each_order() {
    let db = TestDb::with_demo();
    let support = actor(&db, "support@allot.example");
    // Two tenants, 60 requests, some taken (in progress): each key crossed by the pages.
    let mut filed = Vec::new();
    for i in 0..60 {
        let email = if i % 3 == 0 {
            "admin@fabrikam.example"
        } else {
            "admin@contoso.example"
        };
        filed.push(question(
            &db,
            email,
            i,
            &format!("Question number {i} about the bill"),
        ));
    }
    for id in filed.iter().step_by(4) {
        requests::take(&mut db.conn(), &support, test_now(), *id).unwrap();
    }
    for (by, text) in [
        (
            RequestSort::State,
            state_key as fn(&requests::RequestRow) -> String,
        ),
        (RequestSort::Tenant, |r| r.tenant_name.clone()),
    ] {
        for descending in [false, true] {
            let (rows, total) = walk_queue(&db, &support, RequestOrder { by, descending });
            assert_eq!(
                rows.len() as i64,
                total,
                "{by:?} {descending}: every request"
            );
            let mut ids: Vec<i64> = rows.iter().map(|r| r.id.0).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len() as i64, total, "{by:?} {descending}: none twice");
            // In the order asked: the key, then the number, the same way round. The
            // database's collation orders the names; these two differ in their first letter.
            let keys: Vec<(String, i64)> = rows.iter().map(|r| (text(r), r.id.0)).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            if descending {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "{by:?} {descending}");
        }
    }
    // State codes sort as their titles do, so the order a user sees is alphabetical.
    let mut codes = requests::State::ALL.map(|s| (s.as_str(), s.title()));
    codes.sort();
    let titles: Vec<&str> = codes.iter().map(|c| c.1).collect();
    let mut sorted_titles = titles.clone();
    sorted_titles.sort();
    assert_eq!(titles, sorted_titles);
    // A page key naming no state is refused, not a server error.
    let bad = Cursor::parse("0.1.nonsense").unwrap();
    let filter = QueueFilter {
        order: RequestOrder {
            by: RequestSort::State,
            descending: false,
        },
        ..Default::default()
    };
    assert!(matches!(
        requests::queue(&mut db.conn(), &support, test_now(), &filter, Some(bad)),
        Err(DomainError::Invalid { .. })
    ));
}

/// Adds `n` users named "`prefix` 000"… whose sign-in names run the other way; those of
/// `holding` are assigned it. Then the pools are recounted with room for all of them.
fn add_people(
    db: &TestDb,
    tenant: allot::domain::TenantId,
    holding: Option<allot::domain::ProductId>,
    prefix: &str,
    n: usize,
) {
    use allot::domain::licenses;
    use allot::domain::schema::{license_assignments, subscriptions, users};
    use diesel::prelude::*;
    let mut conn = db.conn();
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        for i in 0..n {
            let name = format!("{prefix} {i:04}");
            let id: i64 = diesel::insert_into(users::table)
                .values((
                    users::tenant_id.eq(tenant.0),
                    users::display_name.eq(&name),
                    users::name_key.eq(name.to_lowercase()),
                    users::email.eq(format!(
                        "{}{:04}@contoso.example",
                        prefix.to_lowercase(),
                        n - i
                    )),
                    users::password_hash.eq("!"),
                    users::state.eq("active"),
                    users::created_at.eq(test_now().naive_utc()),
                    users::guid.eq(uuid_like(prefix, i)),
                ))
                .returning(users::id)
                .get_result(conn)?;
            if let Some(product) = holding {
                diesel::insert_into(license_assignments::table)
                    .values((
                        license_assignments::tenant_id.eq(tenant.0),
                        license_assignments::user_id.eq(id),
                        license_assignments::product_id.eq(product.0),
                        license_assignments::assigned_at.eq(test_now().naive_utc()),
                    ))
                    .execute(conn)?;
                diesel::update(
                    subscriptions::table.filter(subscriptions::product_id.eq(product.0)),
                )
                .set(subscriptions::quantity.eq(10_000))
                .execute(conn)?;
            }
        }
        Ok(())
    })
    .unwrap();
    licenses::recount(&mut conn, tenant).unwrap();
}

fn uuid_like(prefix: &str, i: usize) -> String {
    let tag: u32 = prefix.bytes().map(u32::from).sum();
    format!("00000000-0000-4000-9{tag:03x}-{i:012}")
}

/// Every page of a pool's holders by key, in each order, with and without `search`: each
/// holder once, in order, as many as the page's total says, and that total is `expected`.
fn walk_every_order(
    db: &TestDb,
    admin: &Actor,
    pool: allot::domain::licenses::PoolRef,
    search: &str,
    expected: i64,
) -> Vec<allot::domain::UserId> {
    use allot::domain::licenses::{self, HOLDERS_PAGE};
    use allot::domain::users::UserSort;
    let tenant = admin.tenant().unwrap();
    let mut by_name = Vec::new();
    for sort in [
        UserSort::Name,
        UserSort::NameDesc,
        UserSort::Email,
        UserSort::EmailDesc,
    ] {
        let mut seen = Vec::new();
        let mut after = None;
        let total = loop {
            let page = licenses::pool_detail_sorted(
                &mut db.conn(),
                admin,
                tenant,
                pool,
                search,
                sort,
                after,
            )
            .unwrap();
            assert!(page.holders.len() as i64 <= HOLDERS_PAGE);
            seen.extend(page.holders);
            match page.next {
                Some(next) => after = Some(next),
                None => break page.matches,
            }
        };
        assert_eq!(seen.len() as i64, total, "{sort:?} {search:?}");
        assert_eq!(total, expected, "{sort:?} {search:?}");
        let keys: Vec<(String, i64)> = seen
            .iter()
            .map(|h| {
                let key = if sort.by_email() {
                    h.email.clone()
                } else {
                    h.display_name.to_lowercase()
                };
                (key, h.user.0)
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        if sort.descending() {
            sorted.reverse();
        }
        assert_eq!(keys, sorted, "{sort:?} {search:?}: in order, each once");
        if sort == UserSort::Name {
            by_name = seen.iter().map(|h| h.user).collect();
        }
    }
    by_name
}

#[test]
fn a_products_holders_page_by_key_by_name_and_sign_in_name_both_ways() {
    use allot::domain::licenses::PoolRef;
    let db = TestDb::with_demo();
    let admin = actor(&db, "admin@contoso.example");
    let tenant = admin.tenant().unwrap();
    let premium = product_id(&db, "Business Premium");
    // 70 more holders whose names and sign-in names run opposite ways.
    add_people(&db, tenant, Some(premium), "Holder", 70);
    let pool = PoolRef::Tenant(premium);
    walk_every_order(&db, &admin, pool, "", 80);
    walk_every_order(&db, &admin, pool, "holder", 70);
}

/// A pool of more holders than pages hold, among users who hold another product or none,
/// interleaved with them in both orders: the pool's indexes list every holder, and no one else.
#[test]
fn a_big_pools_holders_are_every_holder_once_in_each_order_and_no_one_else() {
    use allot::domain::licenses::{self, PoolRef};
    use allot::domain::schema::license_assignments;
    use diesel::prelude::*;
    let db = TestDb::with_demo();
    let admin = actor(&db, "admin@contoso.example");
    let tenant = admin.tenant().unwrap();
    let premium = product_id(&db, "Business Premium");
    let other = product_id(&db, "Sales Professional");
    // Holders and others interleaved in both orders: "Walk 0000" holds, "Walks 0000" doesn't
    // hold Premium but holds another product, "Walker 0000" holds nothing.
    add_people(&db, tenant, Some(premium), "Walk", 2_100);
    add_people(&db, tenant, Some(other), "Walks", 600);
    add_people(&db, tenant, None, "Walker", 600);
    let pool = PoolRef::Tenant(premium);
    let assigned = licenses::pools(&mut db.conn(), &admin, tenant)
        .unwrap()
        .into_iter()
        .find(|p| p.pool() == pool)
        .unwrap()
        .assigned;
    assert_eq!(assigned, 2_110, "the demo's 10 and 2,100 more");
    let listed = walk_every_order(&db, &admin, pool, "", assigned);
    let mut holders: Vec<i64> = license_assignments::table
        .filter(license_assignments::tenant_id.eq(tenant.0))
        .filter(license_assignments::product_id.eq(premium.0))
        .filter(license_assignments::self_service_subscription_id.is_null())
        .select(license_assignments::user_id)
        .load(&mut db.conn())
        .unwrap();
    holders.sort();
    let mut listed: Vec<i64> = listed.into_iter().map(|u| u.0).collect();
    listed.sort();
    assert_eq!(listed, holders);
    // A search narrows the walk to its matches ("walk" is in every name; 2,100 hold).
    walk_every_order(&db, &admin, pool, "walk 0", 1_000);
}

/// A product's page is in its users' order as they are named now: an assignment's copies of
/// its user's keys follow a rename, however the assignment was made (written straight to the
/// table, Assign licenses, a group that carries the product).
#[test]
fn a_renamed_holder_takes_their_new_place_in_each_order() {
    use allot::domain::licenses::{self, PoolRef};
    use allot::domain::schema::{license_assignments, users};
    use allot::domain::users::UserSort;
    use allot::domain::{UserId, groups, users as directory};
    use diesel::prelude::*;
    let db = TestDb::with_demo();
    let admin = actor(&db, "admin@contoso.example");
    let tenant = admin.tenant().unwrap();
    let premium = product_id(&db, "Business Premium");
    let pool = PoolRef::Tenant(premium);
    add_people(&db, tenant, Some(premium), "Holder", 70);
    add_people(&db, tenant, None, "Joiner", 6);
    let named = |prefix: &str| -> Vec<UserId> {
        users::table
            .filter(users::display_name.like(format!("{prefix} %")))
            .order(users::name_key)
            .select(users::id)
            .load::<i64>(&mut db.conn())
            .unwrap()
            .into_iter()
            .map(UserId)
            .collect()
    };
    let (holders, joiners) = (named("Holder"), named("Joiner"));
    licenses::assign(
        &mut db.conn(),
        &admin,
        test_now(),
        tenant,
        pool,
        &joiners[..3],
    )
    .unwrap();
    let group = groups::create(&mut db.conn(), &admin, test_now(), tenant, "Renamers", "").unwrap();
    groups::assign_product(&mut db.conn(), &admin, test_now(), tenant, group, premium).unwrap();
    let joined = groups::add_members(
        &mut db.conn(),
        &admin,
        test_now(),
        tenant,
        group,
        &joiners[3..],
    )
    .unwrap();
    assert_eq!(joined.licenses.map(|g| g.assigned), Some(3));
    walk_every_order(&db, &admin, pool, "", 86);

    // One of each kind renamed to the front of the names and the end of the sign-in names.
    let renamed = [holders[40], joiners[1], joiners[4]];
    for (k, user) in renamed.iter().enumerate() {
        directory::rename(
            &mut db.conn(),
            &admin,
            test_now(),
            tenant,
            *user,
            &format!("Aaa Renamed {k}"),
            &format!("zzz-renamed-{k}@contoso.example"),
        )
        .unwrap();
    }
    let first = |sort| -> Vec<UserId> {
        licenses::pool_detail_sorted(&mut db.conn(), &admin, tenant, pool, "", sort, None)
            .unwrap()
            .holders
            .iter()
            .take(3)
            .map(|h| h.user)
            .collect()
    };
    assert_eq!(first(UserSort::Name), renamed.to_vec());
    assert_eq!(
        first(UserSort::EmailDesc),
        renamed.iter().rev().copied().collect::<Vec<_>>()
    );
    walk_every_order(&db, &admin, pool, "", 86);
    let stale: i64 = license_assignments::table
        .inner_join(users::table)
        .filter(
            license_assignments::user_name_key
                .ne(users::name_key)
                .or(license_assignments::user_email.ne(users::email)),
        )
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(stale, 0, "every assignment carries its user's keys");
}

#[test]
fn messages_count_all_and_sort_by_kind_as_their_titles_read() {
    use allot::domain::messages::{self, Kind, MessageSort};
    // The stored codes sort as the titles do, which is why SQL orders by the code.
    let mut kinds = Kind::ALL.to_vec();
    kinds.sort_by_key(|k| k.as_str());
    let titles: Vec<&str> = kinds.iter().map(|k| k.title()).collect();
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted);

    let db = TestDb::with_demo();
    let admin = actor(&db, "admin@contoso.example");
    let tenant = admin.tenant().unwrap();
    {
        use allot::domain::schema::messages as table;
        use diesel::prelude::*;
        for (i, kind) in [
            "renewal_soon",
            "card_expiring",
            "request_reply",
            "renewal_soon",
        ]
        .iter()
        .enumerate()
        {
            diesel::insert_into(table::table)
                .values((
                    table::tenant_id.eq(tenant.0),
                    table::kind.eq(*kind),
                    table::about.eq(format!("test:{i}")),
                    table::subject.eq(format!("Message {i}")),
                    table::body.eq("Read me."),
                    table::link.eq("/"),
                    table::created_at.eq((test_now() + Duration::minutes(i as i64)).naive_utc()),
                ))
                .execute(&mut db.conn())
                .unwrap();
        }
    }
    let count = messages::count(&mut db.conn(), &admin, tenant).unwrap();
    let newest = messages::list(&mut db.conn(), &admin, tenant).unwrap();
    assert_eq!(count, newest.len() as i64);
    assert!(count >= 4);
    assert_eq!(newest[0].subject, "Message 3");
    let oldest =
        messages::list_sorted(&mut db.conn(), &admin, tenant, MessageSort::When, false).unwrap();
    assert_eq!(oldest.last().unwrap().subject, "Message 3");
    let by_kind =
        messages::list_sorted(&mut db.conn(), &admin, tenant, MessageSort::Kind, false).unwrap();
    let titles: Vec<&str> = by_kind.iter().map(|m| m.kind.title()).collect();
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted);
    let by_kind_desc =
        messages::list_sorted(&mut db.conn(), &admin, tenant, MessageSort::Kind, true).unwrap();
    assert_eq!(by_kind_desc[0].kind, Kind::RequestReply);
    // Within a kind, newest first: the later renewal before the earlier.
    let renewals: Vec<&str> = by_kind
        .iter()
        .filter(|m| m.subject.starts_with("Message") && m.kind == Kind::RenewalSoon)
        .map(|m| m.subject.as_str())
        .collect();
    assert_eq!(renewals, ["Message 3", "Message 0"]);
}
