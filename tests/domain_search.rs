//! Active users' search: a word anywhere in the name or the sign-in name, its totals, its
//! orders and pages, on both backends.

mod common;

use allot::domain::users::{self, NewUser, UserFilter, UserSort};
use allot::domain::{Actor, TenantId, UserId};
use common::*;

fn add(db: &TestDb, admin: &Actor, tenant: TenantId, name: &str, email: &str) -> UserId {
    users::create(
        &mut db.conn(),
        admin,
        test_now(),
        tenant,
        &NewUser {
            display_name: name.into(),
            email: email.into(),
            password: None,
            products: vec![],
        },
    )
    .unwrap()
    .user
}

fn names(db: &TestDb, admin: &Actor, tenant: TenantId, q: &str, sort: UserSort) -> Vec<String> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = users::list_sized(
            &mut db.conn(),
            admin,
            tenant,
            q,
            UserFilter::All,
            sort,
            after,
            7,
        )
        .unwrap();
        all.extend(page.rows.into_iter().map(|r| r.display_name));
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

fn count(db: &TestDb, admin: &Actor, tenant: TenantId, q: &str) -> i64 {
    users::count(&mut db.conn(), admin, tenant, q, UserFilter::All).unwrap()
}

#[test]
fn a_word_in_the_middle_of_a_name_finds_the_user() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    assert_eq!(
        names(&db, &admin, contoso, "braun", UserSort::Name),
        vec!["Emily Braun"]
    );
    // Case does not matter, nor where the word is.
    assert_eq!(
        names(&db, &admin, contoso, "BRAU", UserSort::Name),
        vec!["Emily Braun"]
    );
    assert_eq!(
        names(&db, &admin, contoso, "ily bra", UserSort::Name),
        vec!["Emily Braun"]
    );
    assert_eq!(count(&db, &admin, contoso, "braun"), 1);
}

#[test]
fn the_domain_finds_everyone_and_the_total_says_so() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let everyone = names(&db, &admin, contoso, "", UserSort::Name);
    assert!(everyone.len() > 40, "{}", everyone.len());
    assert_eq!(
        names(&db, &admin, contoso, "contoso", UserSort::Name),
        everyone
    );
    assert_eq!(
        count(&db, &admin, contoso, "contoso"),
        everyone.len() as i64
    );
    assert_eq!(count(&db, &admin, contoso, ""), everyone.len() as i64);
    // Fabrikam's users are never found from Contoso, nor counted.
    assert_eq!(count(&db, &admin, contoso, "fabrikam"), 0);
    assert!(names(&db, &admin, contoso, "fabrikam", UserSort::Name).is_empty());
}

#[test]
fn pages_follow_both_orders_without_gaps_or_repeats() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    for q in ["", "contoso", "us", "e"] {
        let up = names(&db, &admin, contoso, q, UserSort::Name);
        let mut down = names(&db, &admin, contoso, q, UserSort::NameDesc);
        down.reverse();
        assert_eq!(up, down, "{q}");
        assert_eq!(up.len() as i64, count(&db, &admin, contoso, q), "{q}");
        let by_email = names(&db, &admin, contoso, q, UserSort::Email);
        let mut by_email_down = names(&db, &admin, contoso, q, UserSort::EmailDesc);
        by_email_down.reverse();
        assert_eq!(by_email, by_email_down, "{q}");
        assert_eq!(by_email.len(), up.len(), "{q}");
    }
}

#[test]
fn percent_underscore_and_search_syntax_are_plain_characters() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    add(&db, &admin, contoso, "Ana 100% Sure", "ana@contoso.example");
    add(
        &db,
        &admin,
        contoso,
        "Bo_Underscore",
        "bo_u@contoso.example",
    );
    assert_eq!(
        names(&db, &admin, contoso, "100%", UserSort::Name),
        vec!["Ana 100% Sure"]
    );
    assert!(names(&db, &admin, contoso, "1%0", UserSort::Name).is_empty());
    assert_eq!(
        names(&db, &admin, contoso, "o_u", UserSort::Name),
        vec!["Bo_Underscore"]
    );
    assert!(names(&db, &admin, contoso, "a_a", UserSort::Name).is_empty());
    for syntax in [
        "\"braun",
        "braun*",
        "NOT braun",
        "name_key: x",
        "a OR b",
        "%%%",
        "\\",
    ] {
        users::list(
            &mut db.conn(),
            &admin,
            contoso,
            syntax,
            UserFilter::All,
            UserSort::Name,
            None,
        )
        .unwrap();
        count(&db, &admin, contoso, syntax);
    }
}

#[test]
fn accents_match_either_case_and_renames_are_found() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let id = add(&db, &admin, contoso, "Jörg Müller", "jm@contoso.example");
    assert_eq!(
        names(&db, &admin, contoso, "MÜLLER", UserSort::Name),
        vec!["Jörg Müller"]
    );
    assert_eq!(
        names(&db, &admin, contoso, "müll", UserSort::Name),
        vec!["Jörg Müller"]
    );
    users::rename(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        id,
        "Jörg Schmidt",
        "jorg.schmidt@contoso.example",
    )
    .unwrap();
    assert!(names(&db, &admin, contoso, "müller", UserSort::Name).is_empty());
    assert_eq!(
        names(&db, &admin, contoso, "schmidt", UserSort::Name),
        vec!["Jörg Schmidt"]
    );
}

#[test]
fn deleted_users_are_neither_found_nor_counted_until_restored() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let before = count(&db, &admin, contoso, "");
    let braun = user_id(&db, "user09@contoso.example");
    users::delete(&mut db.conn(), &admin, test_now(), contoso, braun).unwrap();
    assert!(names(&db, &admin, contoso, "braun", UserSort::Name).is_empty());
    assert_eq!(count(&db, &admin, contoso, "braun"), 0);
    assert_eq!(count(&db, &admin, contoso, ""), before - 1);
    users::restore(&mut db.conn(), &admin, test_now(), contoso, braun).unwrap();
    assert_eq!(count(&db, &admin, contoso, ""), before);
    assert_eq!(count(&db, &admin, contoso, "braun"), 1);
}

#[test]
fn select_all_matching_and_bulk_delete_stay_in_the_tenant_and_spare_the_admin() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let admin = actor(&db, "admin@contoso.example");
    let all = users::matching(&mut db.conn(), &admin, contoso, "example", UserFilter::All).unwrap();
    assert_eq!(all.len() as i64, count(&db, &admin, contoso, ""));
    let fabrikam_before = {
        let fab = actor(&db, "admin@fabrikam.example");
        users::count(&mut db.conn(), &fab, fabrikam, "", UserFilter::All).unwrap()
    };
    let ids: Vec<UserId> = all.iter().map(|u| u.id).collect();
    let plan = users::to_delete_many(&mut db.conn(), &admin, contoso, &ids).unwrap();
    assert!(
        plan.refused
            .contains(&user_id(&db, "admin@contoso.example"))
    );
    let deleted = users::delete_many(&mut db.conn(), &admin, test_now(), contoso, &ids).unwrap();
    assert_eq!(deleted, plan.deletable.len());
    assert_eq!(count(&db, &admin, contoso, ""), plan.refused.len() as i64);
    let fab = actor(&db, "admin@fabrikam.example");
    assert_eq!(
        users::count(&mut db.conn(), &fab, fabrikam, "", UserFilter::All).unwrap(),
        fabrikam_before
    );
}
