//! Settings > Roles (issue 15): a Global admin finds a user and gives them an admin role, or
//! takes one away; the organization keeps a Global admin; others can't; other tenants' users
//! are out of reach.

mod common;

use actix_web::http::StatusCode;
use allot::domain::authz::Role;
use allot::domain::schema::{audit_log, user_roles};
use allot::domain::users;
use common::*;
use diesel::prelude::*;

fn roles_of(db: &TestDb, email: &str) -> Vec<String> {
    let id = user_id(db, email);
    user_roles::table
        .filter(user_roles::user_id.eq(id.0))
        .select(user_roles::role)
        .order(user_roles::role)
        .load(&mut db.conn())
        .unwrap()
}

#[actix_web::test]
async fn a_global_admin_finds_a_user_assigns_a_role_and_removes_it() {
    let db = TestDb::with_demo();
    let user05 = user_id(&db, "user05@contoso.example").0.to_string();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let page = admin.get("/settings/roles").await;
    assert_eq!(page.status, StatusCode::OK);
    for role in Role::ALL {
        assert!(page.contains(&format!(
            "<h2 id=\"role-{}\">{}</h2>",
            role.as_str(),
            role.title()
        )));
        assert!(page.contains(&format!(
            "<label for=\"find-{}\">Find a user to make {}</label>",
            role.as_str(),
            role.title()
        )));
    }

    let found = admin.get("/settings/roles?role=billing&q=user05").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.contains("user05@contoso.example"), "{}", found.body);
    assert!(
        found.contains("aria-label=\"Assign Billing admin to"),
        "{}",
        found.body
    );

    // The user has a session in the service portal: the change ends it.
    let mut user = browser(state(&db, allot::domain::Clock::fixed(test_now()))).await;
    let portal = user
        .portal_sign_in("user05@contoso.example", "allot-demo")
        .await;
    assert_eq!(portal.status, StatusCode::SEE_OTHER);
    assert_eq!(user.get("/portal").await.status, StatusCode::OK);
    let assigned = admin
        .submit(
            "/settings/roles?role=billing&q=user05",
            "/settings/roles/billing/assign",
            &[("user", &user05)],
        )
        .await;
    assert_eq!(assigned.status, StatusCode::SEE_OTHER, "{}", assigned.body);
    assert_eq!(
        assigned.location.as_deref(),
        Some("/settings/roles#role-billing")
    );
    assert_eq!(roles_of(&db, "user05@contoso.example"), vec!["billing"]);
    let page = admin.get("/settings/roles").await;
    assert!(page.contains("is now a Billing admin"), "{}", page.body);
    assert!(
        page.contains("aria-label=\"Remove Billing admin from"),
        "{}",
        page.body
    );
    let account = user.get("/portal").await;
    assert!(account.status.is_redirection(), "the user's session ended");

    // Again: nothing changes, and the page says so.
    admin
        .submit(
            "/settings/roles",
            "/settings/roles/billing/assign",
            &[("user", &user05)],
        )
        .await;
    assert!(
        admin
            .get("/settings/roles")
            .await
            .contains("is already a Billing admin.")
    );

    let removed = admin
        .submit(
            "/settings/roles",
            "/settings/roles/billing/remove",
            &[("user", &user05)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(roles_of(&db, "user05@contoso.example").is_empty());
    assert!(
        admin
            .get("/settings/roles")
            .await
            .contains("is no longer a Billing admin.")
    );
    let logged: Vec<String> = audit_log::table
        .filter(audit_log::target.eq("user05@contoso.example"))
        .filter(audit_log::action.eq_any(["Gave admin role", "Removed admin role"]))
        .order(audit_log::id)
        .select(audit_log::action)
        .load(&mut db.conn())
        .unwrap();
    assert_eq!(logged, vec!["Gave admin role", "Removed admin role"]);
}

#[actix_web::test]
async fn the_last_global_admin_cant_remove_their_own_role_and_the_page_says_why() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let admin_actor = actor(&db, "admin@contoso.example");
    let me = user_id(&db, "admin@contoso.example");
    // Leave admin@contoso.example the only Global admin.
    for holder in users::admins(&mut db.conn(), &admin_actor, contoso).unwrap() {
        if holder.id != me && holder.roles.contains(&Role::Global) {
            users::take_role(
                &mut db.conn(),
                &admin_actor,
                test_now(),
                contoso,
                holder.id,
                Role::Global,
            )
            .unwrap();
        }
    }
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let refused = admin
        .submit(
            "/settings/roles",
            "/settings/roles/global/remove",
            &[("user", &me.0.to_string())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.contains("role=\"alert\">Your organization needs at least one Global admin."),
        "{}",
        refused.body
    );
    assert!(
        refused.contains("<h1>Roles</h1>"),
        "the roles page, with its navigation"
    );
    assert_eq!(roles_of(&db, "admin@contoso.example"), vec!["global"]);
}

#[actix_web::test]
async fn only_a_global_admin_changes_roles_and_only_in_their_tenant() {
    let db = TestDb::with_demo();
    let user05 = user_id(&db, "user05@contoso.example").0.to_string();
    for email in [
        "billing@contoso.example",
        "licenses@contoso.example",
        "users@contoso.example",
    ] {
        let mut who = signed_in(&db, email).await;
        assert_eq!(
            who.get("/settings/roles").await.status,
            StatusCode::FORBIDDEN,
            "{email}"
        );
        let tried = who
            .submit(
                "/licenses",
                "/settings/roles/global/assign",
                &[("user", &user05)],
            )
            .await;
        assert_eq!(tried.status, StatusCode::FORBIDDEN, "{email}");
    }
    assert!(roles_of(&db, "user05@contoso.example").is_empty());

    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let fabrikam_admin = user_id(&db, "admin@fabrikam.example").0.to_string();
    let across = admin
        .submit(
            "/settings/roles",
            "/settings/roles/billing/assign",
            &[("user", &fabrikam_admin)],
        )
        .await;
    assert_eq!(across.status, StatusCode::NOT_FOUND);
    assert_eq!(roles_of(&db, "admin@fabrikam.example"), vec!["global"]);
    let search = admin.get("/settings/roles?role=billing&q=admin").await;
    assert!(
        !search.contains("fabrikam.example"),
        "another tenant's users aren't found"
    );

    let unknown = admin
        .submit(
            "/settings/roles",
            "/settings/roles/owner/assign",
            &[("user", &user05)],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        admin.get("/settings/roles?role=owner&q=x").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
