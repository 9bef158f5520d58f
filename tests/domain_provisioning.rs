//! Directory provisioning in the domain (issue 14), on either database: SCIM's filters select
//! in the database exactly what they say (checked against a second, plain reading of the same
//! filter over the users in memory, for many generated filters), and every change of a user or
//! a group, whatever door made it, is a new version, so `If-Match` on an old one changes nothing.

mod common;

use allot::domain::provisioning::filter::{AttrPath, CompareOp, Filter, Literal};
use allot::domain::provisioning::{
    self, GroupAttributes, GroupChanges, MemberChange, ProvisionedUser, UserAttributes, Window,
};
use allot::domain::{Actor, DomainError, TenantId, groups, users};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn scim_actor(tenant: TenantId) -> Actor {
    Actor::ApiToken {
        tenant,
        token: allot::domain::ApiTokenId(1),
        name: "Entra provisioning".into(),
        scopes: vec![allot::domain::Scope::Scim],
    }
}

fn person(
    user_name: &str,
    given: &str,
    family: &str,
    external: Option<&str>,
    active: bool,
) -> UserAttributes {
    UserAttributes {
        user_name: user_name.into(),
        display_name: None,
        given_name: given.into(),
        family_name: family.into(),
        external_id: external.map(Into::into),
        email: None,
        active,
        password: None,
    }
}

/// The users the generated filters run over: names that share prefixes, one without a name,
/// one without an externalId, two blocked.
const PEOPLE: [(&str, &str, &str, Option<&str>, bool); 6] = [
    ("ana.bell@contoso.example", "Ana", "Bell", Some("ab"), true),
    (
        "anton.berg@contoso.example",
        "Anton",
        "Berg",
        Some("AB"),
        false,
    ),
    ("bo.bell@contoso.example", "Bo", "Bell", None, true),
    ("cy.dunn@contoso.example", "", "", Some("cd"), true),
    ("dee.ann@contoso.example", "Dee", "Ann", Some("da"), false),
    ("eve.nn@contoso.example", "Eve", "Nn", Some("en"), true),
];

/// A second reading of a filter: the user's attributes as SCIM renders them, compared in
/// memory as RFC 7643 says (without case but for externalId and id). Not `gt`/`lt` on text:
/// those order by the database's collation, which needn't be Rust's byte order.
fn holds(filter: &Filter, user: &ProvisionedUser) -> bool {
    match filter {
        Filter::And(a, b) => holds(a, user) && holds(b, user),
        Filter::Or(a, b) => holds(a, user) || holds(b, user),
        Filter::Not(inner) => !holds(inner, user),
        Filter::Present(path) => match value_of(path, user) {
            Some(Value::Text(t)) => !t.is_empty(),
            Some(Value::Bool(_)) => true,
            None => false,
        },
        Filter::Compare { path, op, value } => {
            let have = value_of(path, user);
            match (have, value) {
                (Some(Value::Bool(b)), Literal::Bool(want)) => match op {
                    CompareOp::Eq => b == *want,
                    CompareOp::Ne => b != *want,
                    _ => unreachable!("only eq and ne are generated for active"),
                },
                (have, Literal::Text(want)) => {
                    let exact = path.name == "externalid";
                    let have = match have {
                        Some(Value::Text(t)) => t,
                        _ => String::new(),
                    };
                    let (have, want) = if exact {
                        (have, want.clone())
                    } else {
                        (have.to_lowercase(), want.to_lowercase())
                    };
                    match op {
                        CompareOp::Eq => have == want,
                        CompareOp::Ne => have != want,
                        CompareOp::Co => have.contains(&want),
                        CompareOp::Sw => have.starts_with(&want),
                        CompareOp::Ew => have.ends_with(&want),
                        CompareOp::Gt => have > want,
                        CompareOp::Ge => have >= want,
                        CompareOp::Lt => have < want,
                        CompareOp::Le => have <= want,
                    }
                }
                other => unreachable!("not generated: {other:?}"),
            }
        }
        Filter::ValuePath { .. } => unreachable!("not generated"),
    }
}

#[derive(Debug)]
enum Value {
    Text(String),
    Bool(bool),
}

fn value_of(path: &AttrPath, user: &ProvisionedUser) -> Option<Value> {
    Some(match path.dotted().as_str() {
        "username" => Value::Text(user.user_name.clone()),
        "displayname" => Value::Text(user.display_name.clone()),
        "name.givenname" => Value::Text(user.given_name.clone()),
        "name.familyname" => Value::Text(user.family_name.clone()),
        "externalid" => Value::Text(user.external_id.clone()?),
        "active" => Value::Bool(user.active),
        other => unreachable!("not generated: {other}"),
    })
}

fn attr(name: &str) -> AttrPath {
    let (name, sub) = match name.split_once('.') {
        Some((a, b)) => (a.to_owned(), Some(b.to_owned())),
        None => (name.to_owned(), None),
    };
    AttrPath {
        schema: None,
        name,
        sub,
    }
}

fn comparison() -> impl Strategy<Value = Filter> {
    let text_attr = prop::sample::select(vec![
        "username",
        "displayname",
        "name.givenname",
        "name.familyname",
        "externalid",
    ]);
    let op = prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
    ]);
    let word = prop::sample::select(vec![
        "",
        "a",
        "an",
        "AN",
        "Ana",
        "bell",
        "BELL",
        "b",
        "ab",
        "AB",
        "e",
        "nn",
        "Dee Ann",
        "@contoso.example",
        "ana.bell@contoso.example",
    ]);
    prop_oneof![
        (text_attr.clone(), op, word).prop_map(|(a, op, w)| Filter::Compare {
            path: attr(a),
            op,
            value: Literal::Text(w.into()),
        }),
        (any::<bool>(), any::<bool>()).prop_map(|(eq, b)| Filter::Compare {
            path: attr("active"),
            op: if eq { CompareOp::Eq } else { CompareOp::Ne },
            value: Literal::Bool(b),
        }),
        text_attr.prop_map(|a| Filter::Present(attr(a))),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    comparison().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Filter::Not(Box::new(a))),
        ]
    })
}

#[test]
fn filters_select_in_the_database_what_they_say() {
    let db = TestDb::with_demo();
    let (_, fabrikam) = tenants(&db);
    // Fabrikam: a tenant whose own users are few, so the filters run over these six and its
    // demo users (read back the same way).
    let actor = scim_actor(fabrikam);
    for (email, given, family, external, active) in PEOPLE {
        let email = email.replace("contoso", "fabrikam");
        provisioning::create_user(
            &mut db.conn(),
            &actor,
            test_now(),
            fabrikam,
            &person(&email, given, family, external, active),
        )
        .unwrap();
    }
    let everyone = provisioning::find_users(
        &mut db.conn(),
        &actor,
        fabrikam,
        None,
        Window::new(None, Some(1000)),
    )
    .unwrap()
    .resources;
    assert!(everyone.len() >= PEOPLE.len());

    let mut bytes = [0u8; 32];
    bytes[0] = 14;
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 200,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    runner
        .run(&filter(), |filter| {
            let found: Vec<String> = provisioning::find_users(
                &mut db.conn(),
                &actor,
                fabrikam,
                Some(&filter),
                Window::new(None, Some(1000)),
            )
            .unwrap()
            .resources
            .into_iter()
            .map(|u| u.guid)
            .collect();
            let expected: Vec<String> = everyone
                .iter()
                .filter(|u| holds(&filter, u))
                .map(|u| u.guid.clone())
                .collect();
            prop_assert_eq!(found, expected, "{:?}", filter);
            Ok(())
        })
        .unwrap();
}

#[test]
fn every_change_whatever_its_door_is_a_new_version() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let scim = scim_actor(contoso);
    let admin = actor(&db, "admin@contoso.example");
    let made = provisioning::create_user(
        &mut db.conn(),
        &scim,
        test_now(),
        contoso,
        &person("gil.ho@contoso.example", "Gil", "Ho", None, true),
    )
    .unwrap();
    // An admin blocks them on their page: SCIM's version moves on.
    users::set_blocked(&mut db.conn(), &admin, test_now(), contoso, made.id, true).unwrap();
    let read = provisioning::find_user(&mut db.conn(), &scim, contoso, &made.guid).unwrap();
    assert!(read.meta.version > made.meta.version);
    assert!(!read.active);
    // A client that read the first version can't overwrite that.
    let stale = provisioning::replace_user(
        &mut db.conn(),
        &scim,
        test_now(),
        contoso,
        &made.guid,
        Some(made.meta.version),
        &person("gil.ho@contoso.example", "Gil", "Ho", None, true),
    );
    assert_eq!(stale, Err(DomainError::Stale));
    let still = provisioning::find_user(&mut db.conn(), &scim, contoso, &made.guid).unwrap();
    assert!(!still.active, "nothing changed");

    // A group: a member added on its page is a new version too.
    let group = provisioning::create_group(
        &mut db.conn(),
        &scim,
        test_now(),
        contoso,
        &GroupAttributes {
            display_name: "Versioned".into(),
            external_id: None,
            members: vec![],
        },
    )
    .unwrap();
    groups::add_members(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        group.id,
        &[user_id(&db, "user07@contoso.example")],
    )
    .unwrap();
    let changed = provisioning::change_group(
        &mut db.conn(),
        &scim,
        test_now(),
        contoso,
        &group.guid,
        Some(group.meta.version),
        &GroupChanges {
            display_name: Some("Renamed".into()),
            external_id: None,
            members: vec![MemberChange::Replace(vec![])],
        },
    );
    assert_eq!(changed, Err(DomainError::Stale));
    let kept = provisioning::find_group(&mut db.conn(), &scim, contoso, &group.guid, true).unwrap();
    assert_eq!(kept.display_name, "Versioned");
    assert_eq!(kept.members.unwrap().len(), 1);
}

#[test]
fn only_a_scim_token_opens_provisioning() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    assert_eq!(
        provisioning::may_provision(&scim_actor(contoso), contoso),
        Ok(())
    );
    assert_eq!(
        provisioning::may_provision(&scim_actor(contoso), fabrikam),
        Err(DomainError::Forbidden)
    );
    let users_write = Actor::ApiToken {
        tenant: contoso,
        token: allot::domain::ApiTokenId(2),
        name: "HR".into(),
        scopes: vec![allot::domain::Scope::UsersWrite],
    };
    assert_eq!(
        provisioning::may_provision(&users_write, contoso),
        Err(DomainError::Forbidden)
    );
    // A User admin may what a scim token may; a License admin may not.
    assert_eq!(
        provisioning::may_provision(&actor(&db, "users@contoso.example"), contoso),
        Ok(())
    );
    assert_eq!(
        provisioning::may_provision(&actor(&db, "licenses@contoso.example"), contoso),
        Err(DomainError::Forbidden)
    );
}
