//! API tokens (issue 14) on the backend under test: creating one (its secret shown once, only
//! its hash stored), names, input, who manages them, revoking, expiry and last use, what a
//! token may do through the domain, and the stable GUIDs the API names things by.

mod common;

use allot::domain::api_tokens::{self, Authentication, SECRET_PREFIX};
use allot::domain::authz::Scope;
use allot::domain::licenses::{self, PoolRef};
use allot::domain::schema::{
    api_tokens as tokens_table, audit_log, product_services, user_groups, users as users_table,
};
use allot::domain::users::{self, NewUser, UserKey};
use allot::domain::{Actor, DomainError, TenantId, groups};
use chrono::Duration;
use common::*;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use strum::IntoEnumIterator;

const NAME: &str = "Okta provisioning";

fn make(db: &TestDb, tenant: TenantId, name: &str, scopes: &[Scope]) -> api_tokens::NewToken {
    let global = actor(db, "admin@contoso.example");
    api_tokens::create(
        &mut db.conn(),
        &global,
        test_now(),
        tenant,
        name,
        scopes,
        90,
    )
    .unwrap()
}

fn as_token(db: &TestDb, secret: &str) -> Actor {
    match api_tokens::authenticate(&mut db.conn(), test_now(), secret).unwrap() {
        Authentication::Valid(actor) => actor,
        other => panic!("the token is refused: {other:?}"),
    }
}

fn token_count(db: &TestDb) -> i64 {
    tokens_table::table
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn is_guid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok_and(|u| u.hyphenated().to_string() == text)
}

#[test]
fn a_new_token_shows_its_secret_once_and_only_its_hash_is_stored() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let made = make(&db, contoso, NAME, &[Scope::UsersRead, Scope::LicensesRead]);
    assert!(made.secret.starts_with(SECRET_PREFIX), "{}", made.secret);
    assert_eq!(made.secret.len(), SECRET_PREFIX.len() + 64);
    assert_eq!(made.expires_at, test_now() + Duration::days(90));
    assert_eq!(made.scopes, vec![Scope::UsersRead, Scope::LicensesRead]);
    let stored: Vec<(String, String, String)> = tokens_table::table
        .select((
            tokens_table::name,
            tokens_table::scopes,
            tokens_table::secret_hash,
        ))
        .load(&mut db.conn())
        .unwrap();
    assert_eq!(
        stored,
        vec![(
            NAME.to_owned(),
            "users.read licenses.read".to_owned(),
            hex::encode(Sha256::digest(made.secret.as_bytes())),
        )]
    );
    // The secret is nowhere in the database, not even in the audit log.
    let audit: Vec<(String, String, String)> = audit_log::table
        .filter(audit_log::action.eq("Added API token"))
        .select((audit_log::actor, audit_log::target, audit_log::detail))
        .load(&mut db.conn())
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "admin@contoso.example");
    assert_eq!(audit[0].1, NAME);
    assert!(!audit[0].2.contains(&made.secret[SECRET_PREFIX.len()..]));
    // Two tokens never share a secret.
    let other = make(&db, contoso, "Scripts", &[Scope::UsersRead]);
    assert_ne!(other.secret, made.secret);
    let listed = api_tokens::list(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
    )
    .unwrap();
    assert_eq!(
        listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        vec!["Scripts", NAME]
    );
    assert!(
        listed
            .iter()
            .all(|t| t.last_used_at.is_none() && !t.expired)
    );
}

#[test]
fn a_name_is_unique_in_the_tenant_until_its_token_is_revoked() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let global = actor(&db, "admin@contoso.example");
    let first = make(&db, contoso, NAME, &[Scope::UsersRead]);
    let again = api_tokens::create(
        &mut db.conn(),
        &global,
        test_now(),
        contoso,
        " okta PROVISIONING ",
        &[Scope::UsersRead],
        30,
    );
    assert!(
        matches!(again, Err(DomainError::Invalid { field: "name", ref message }) if message.contains("already exists")),
        "{again:?}"
    );
    assert_eq!(token_count(&db), 1);
    // Another tenant has its own names.
    let fabrikam_admin = actor(&db, "admin@fabrikam.example");
    api_tokens::create(
        &mut db.conn(),
        &fabrikam_admin,
        test_now(),
        fabrikam,
        NAME,
        &[Scope::UsersRead],
        30,
    )
    .unwrap();
    // Revoked, the name is free again.
    api_tokens::revoke(&mut db.conn(), &global, test_now(), contoso, first.id).unwrap();
    make(&db, contoso, NAME, &[Scope::LicensesRead]);
    assert_eq!(token_count(&db), 3);
}

#[test]
fn bad_input_is_refused_and_nothing_is_stored() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let global = actor(&db, "admin@contoso.example");
    let cases: [(&str, &[Scope], i64, &str); 6] = [
        ("", &[Scope::UsersRead], 30, "name"),
        ("   ", &[Scope::UsersRead], 30, "name"),
        ("Line\nbreak", &[Scope::UsersRead], 30, "name"),
        (&"x".repeat(121), &[Scope::UsersRead], 30, "name"),
        (NAME, &[], 30, "scopes"),
        (NAME, &[Scope::UsersRead], 45, "expires"),
    ];
    for (name, scopes, days, field) in cases {
        let result = api_tokens::create(
            &mut db.conn(),
            &global,
            test_now(),
            contoso,
            name,
            scopes,
            days,
        );
        assert!(
            matches!(result, Err(DomainError::Invalid { field: f, .. }) if f == field),
            "{name:?} {scopes:?} {days}: {result:?}"
        );
    }
    assert_eq!(
        Scope::parse_list(["users.read", "everything"]),
        Err(DomainError::invalid(
            "scopes",
            "Unknown scope 'everything'."
        ))
    );
    assert_eq!(token_count(&db), 0);
    for days in [30, 90, 365] {
        let made = api_tokens::create(
            &mut db.conn(),
            &global,
            test_now(),
            contoso,
            &format!("{days} days"),
            &[Scope::Scim],
            days,
        )
        .unwrap();
        assert_eq!(made.expires_at, test_now() + Duration::days(days));
    }
}

#[test]
fn only_a_global_admin_adds_lists_and_revokes_tokens() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let made = make(&db, contoso, NAME, &[Scope::UsersRead]);
    for email in [
        "billing@contoso.example",
        "licenses@contoso.example",
        "users@contoso.example",
        "support@allot.example",
        "partner@allot.example",
    ] {
        let who = actor(&db, email);
        let mut conn = db.conn();
        assert_eq!(
            api_tokens::create(
                &mut conn,
                &who,
                test_now(),
                contoso,
                "Mine",
                &[Scope::UsersRead],
                30
            )
            .err(),
            Some(DomainError::Forbidden),
            "{email}"
        );
        assert_eq!(
            api_tokens::list(&mut conn, &who, test_now(), contoso).err(),
            Some(DomainError::Forbidden),
            "{email}"
        );
        assert_eq!(
            api_tokens::revoke(&mut conn, &who, test_now(), contoso, made.id).err(),
            Some(DomainError::Forbidden),
            "{email}"
        );
    }
    // A token can't make or revoke tokens, whatever its scopes.
    let every: Vec<Scope> = Scope::iter().collect();
    let token = as_token(&db, &make(&db, contoso, "All", &every).secret);
    assert_eq!(
        api_tokens::revoke(&mut db.conn(), &token, test_now(), contoso, made.id).err(),
        Some(DomainError::Forbidden)
    );
    // Fabrikam's Global admin neither sees nor revokes Contoso's.
    let fabrikam_admin = actor(&db, "admin@fabrikam.example");
    assert_eq!(
        api_tokens::revoke(
            &mut db.conn(),
            &fabrikam_admin,
            test_now(),
            fabrikam,
            made.id
        )
        .err(),
        Some(DomainError::NotFound)
    );
    assert!(
        api_tokens::list(&mut db.conn(), &fabrikam_admin, test_now(), fabrikam)
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        api_tokens::authenticate(&mut db.conn(), test_now(), &made.secret).unwrap(),
        Authentication::Valid(_)
    ));
}

#[test]
fn a_revoked_token_is_refused_at_its_next_call_and_the_revoke_is_audited() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let global = actor(&db, "admin@contoso.example");
    let made = make(&db, contoso, NAME, &[Scope::UsersRead]);
    as_token(&db, &made.secret);
    assert_eq!(
        api_tokens::revoke(&mut db.conn(), &global, test_now(), contoso, made.id),
        Ok(NAME.to_owned())
    );
    assert_eq!(
        api_tokens::authenticate(&mut db.conn(), test_now(), &made.secret).unwrap(),
        Authentication::Revoked
    );
    // Once is enough: a second revoke finds nothing to revoke.
    assert_eq!(
        api_tokens::revoke(&mut db.conn(), &global, test_now(), contoso, made.id).err(),
        Some(DomainError::NotFound)
    );
    assert_eq!(audit_count(&db, contoso, "Revoked API token"), 1);
    assert!(
        api_tokens::list(&mut db.conn(), &global, test_now(), contoso)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_token_works_until_its_expiry_and_is_listed_as_expired_after() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let global = actor(&db, "admin@contoso.example");
    let made = api_tokens::create(
        &mut db.conn(),
        &global,
        test_now(),
        contoso,
        NAME,
        &[Scope::UsersRead],
        30,
    )
    .unwrap();
    let last_moment = test_now() + Duration::days(30) - Duration::seconds(1);
    assert!(matches!(
        api_tokens::authenticate(&mut db.conn(), last_moment, &made.secret).unwrap(),
        Authentication::Valid(_)
    ));
    let after = test_now() + Duration::days(30);
    assert_eq!(
        api_tokens::authenticate(&mut db.conn(), after, &made.secret).unwrap(),
        Authentication::Expired
    );
    let listed = api_tokens::list(&mut db.conn(), &global, after, contoso).unwrap();
    assert!(listed[0].expired);
}

#[test]
fn last_use_is_written_at_most_once_a_minute() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let global = actor(&db, "admin@contoso.example");
    let made = make(&db, contoso, NAME, &[Scope::UsersRead]);
    let last_used =
        || api_tokens::list(&mut db.conn(), &global, test_now(), contoso).unwrap()[0].last_used_at;
    let at = |seconds: i64| test_now() + Duration::seconds(seconds);
    for (seconds, expected) in [(0, 0), (30, 0), (59, 0), (60, 60), (100, 60), (125, 125)] {
        api_tokens::authenticate(&mut db.conn(), at(seconds), &made.secret).unwrap();
        assert_eq!(
            last_used(),
            Some(at(expected)),
            "after a call at +{seconds}s"
        );
    }
}

#[test]
fn a_token_acts_through_the_domain_by_its_scopes_and_is_audited_by_its_name() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let reader = as_token(
        &db,
        &make(&db, contoso, "Reader", &[Scope::UsersRead]).secret,
    );
    let licensing = as_token(
        &db,
        &make(&db, contoso, NAME, &[Scope::LicensesWrite]).secret,
    );
    let mut conn = db.conn();
    assert!(users::directory(&mut conn, &reader, contoso, 10, None).is_ok());
    assert_eq!(
        licenses::subscribed_skus(&mut conn, &reader, contoso).err(),
        Some(DomainError::Forbidden)
    );
    assert!(licenses::subscribed_skus(&mut conn, &licensing, contoso).is_ok());
    assert_eq!(
        users::directory(&mut conn, &licensing, contoso, 10, None).err(),
        Some(DomainError::Forbidden)
    );
    // Its own tenant only.
    assert_eq!(
        users::directory(&mut conn, &reader, fabrikam, 10, None).err(),
        Some(DomainError::Forbidden)
    );
    // A change made by the token names it in the audit log.
    let premium = product_id(&db, "Business Premium");
    let user = user_id(&db, "user20@contoso.example");
    licenses::assign(
        &mut conn,
        &licensing,
        test_now(),
        contoso,
        PoolRef::Tenant(premium),
        &[user],
    )
    .unwrap();
    let actors: Vec<String> = audit_log::table
        .filter(audit_log::tenant_id.eq(contoso.0))
        .filter(audit_log::target.eq("user20@contoso.example"))
        .select(audit_log::actor)
        .load(&mut conn)
        .unwrap();
    assert_eq!(actors, vec!["API token 'Okta provisioning'".to_owned()]);
    // A users.write token may not add a user with licenses: that needs licenses.write too.
    let writer = as_token(
        &db,
        &make(&db, contoso, "Writer", &[Scope::UsersWrite]).secret,
    );
    let with_license = NewUser {
        display_name: "New Person".into(),
        email: "new.person@contoso.example".into(),
        password: None,
        products: vec![premium],
    };
    assert_eq!(
        users::create(&mut conn, &writer, test_now(), contoso, &with_license).err(),
        Some(DomainError::Forbidden)
    );
}

#[test]
fn users_groups_and_pools_have_stable_distinct_guids() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let global = actor(&db, "admin@contoso.example");
    let mut conn = db.conn();
    let guids: Vec<String> = users_table::table
        .select(users_table::guid)
        .load(&mut conn)
        .unwrap();
    assert!(guids.len() > 40);
    assert!(guids.iter().all(|g| is_guid(g)), "{guids:?}");
    assert_eq!(guids.iter().collect::<BTreeSet<_>>().len(), guids.len());

    // A user added now gets one, and is found by it.
    let created = users::create(
        &mut conn,
        &global,
        test_now(),
        contoso,
        &NewUser {
            display_name: "New Person".into(),
            email: "new.person@contoso.example".into(),
            password: None,
            products: Vec::new(),
        },
    )
    .unwrap();
    let guid: String = users_table::table
        .find(created.user.0)
        .select(users_table::guid)
        .first(&mut conn)
        .unwrap();
    assert!(is_guid(&guid) && !guids.contains(&guid), "{guid}");
    let found =
        users::directory_user(&mut conn, &global, contoso, &UserKey::Guid(guid.clone())).unwrap();
    assert_eq!(found.id, created.user);
    assert_eq!(
        users::directory_user(
            &mut conn,
            &global,
            contoso,
            &UserKey::SignInName("NEW.person@contoso.example".into())
        )
        .unwrap()
        .guid,
        guid
    );
    // Another tenant's admin doesn't find it by its GUID.
    let fabrikam_admin = actor(&db, "admin@fabrikam.example");
    assert_eq!(
        users::directory_user(&mut conn, &fabrikam_admin, fabrikam, &UserKey::Guid(guid)).err(),
        Some(DomainError::NotFound)
    );

    // Groups: the demo's and one added now.
    groups::create(&mut conn, &global, test_now(), contoso, "Finance", "").unwrap();
    let group_guids: Vec<String> = user_groups::table
        .select(user_groups::guid)
        .load(&mut conn)
        .unwrap();
    assert_eq!(group_guids.len(), 2);
    assert!(group_guids.iter().all(|g| is_guid(g)), "{group_guids:?}");
    assert_ne!(group_guids[0], group_guids[1]);

    // Pools: one GUID per tenant and product, the same at every read.
    let first = licenses::subscribed_skus(&mut conn, &global, contoso).unwrap();
    let again = licenses::subscribed_skus(&mut conn, &global, contoso).unwrap();
    assert!(!first.is_empty());
    assert!(first.iter().all(|s| is_guid(&s.sku_id)));
    assert_eq!(
        first.iter().map(|s| &s.sku_id).collect::<Vec<_>>(),
        again.iter().map(|s| &s.sku_id).collect::<Vec<_>>()
    );
    let theirs = licenses::subscribed_skus(&mut conn, &fabrikam_admin, fabrikam).unwrap();
    let ours: BTreeSet<&String> = first.iter().map(|s| &s.sku_id).collect();
    assert!(theirs.iter().all(|s| !ours.contains(&s.sku_id)));
    // Service plans: one per app of the product, with ids derived from the product and the
    // app, so they are the same in every installation.
    for sku in &first {
        let apps: Vec<String> = product_services::table
            .filter(product_services::product_id.eq(sku.product.0))
            .order(product_services::id)
            .select(product_services::name)
            .load(&mut conn)
            .unwrap();
        let expected: Vec<String> = apps
            .iter()
            .map(|app| licenses::service_plan_id(&sku.code, app))
            .collect();
        assert_eq!(
            sku.plans.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
            expected
        );
        assert!(sku.plans.iter().all(|p| is_guid(&p.id)), "{sku:?}");
    }
}

#[test]
fn the_directory_walks_every_user_once_in_pages_and_leaves_out_the_deleted() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let global = actor(&db, "admin@contoso.example");
    let mut conn = db.conn();
    let gone = user_id(&db, "user39@contoso.example");
    users::delete(&mut conn, &global, test_now(), contoso, gone).unwrap();
    let expected: BTreeSet<i64> = users_table::table
        .filter(users_table::tenant_id.eq(contoso.0))
        .filter(users_table::state.ne("deleted"))
        .select(users_table::id)
        .load::<i64>(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = users::directory(&mut conn, &global, contoso, 7, after).unwrap();
        assert!(page.users.len() <= 7);
        seen.extend(page.users.iter().map(|u| u.id.0));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), expected.len(), "each user once");
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), expected);
    assert!(!seen.contains(&gone.0));
    for top in [0, 1000, -1] {
        assert!(
            matches!(
                users::directory(&mut conn, &global, contoso, top, None),
                Err(DomainError::Invalid { field: "$top", .. })
            ),
            "{top}"
        );
    }
}
