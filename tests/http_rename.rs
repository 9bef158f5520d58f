//! A user's page: Name and sign-in name (issue 15). The sign-in name stays unique and at the
//! tenant's domain, refused on the form with what was typed; the containment rule decides who
//! may rename whom.

mod common;

use actix_web::http::StatusCode;
use allot::domain::Clock;
use allot::domain::schema::{audit_log, users};
use common::*;
use diesel::prelude::*;

fn names(db: &TestDb, id: i64) -> (String, String) {
    users::table
        .find(id)
        .select((users::display_name, users::email))
        .first(&mut db.conn())
        .unwrap()
}

#[actix_web::test]
async fn an_admin_renames_a_user_who_then_signs_in_with_the_new_name() {
    let db = TestDb::with_demo();
    let id = user_id(&db, "user05@contoso.example").0;
    let page = format!("/users/{id}");
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let shown = admin.get(&page).await;
    assert!(shown.contains("<h2 id=\"name-heading\">Name and sign-in name</h2>"));
    assert!(shown.contains("value=\"user05@contoso.example\""));
    let saved = admin
        .submit(
            &page,
            &format!("{page}/name"),
            &[
                ("display_name", "Cameron Whitfield"),
                ("email", "cameron.whitfield@contoso.example"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        names(&db, id),
        (
            "Cameron Whitfield".to_owned(),
            "cameron.whitfield@contoso.example".to_owned()
        )
    );
    let after = admin.get(&page).await;
    assert!(after.contains("<h1>Cameron Whitfield</h1>"));
    assert!(after.contains("The user signs in with the new sign-in name from now on."));
    let found = admin.get("/users?q=cameron+whitf").await;
    assert!(
        found.contains("cameron.whitfield@contoso.example"),
        "{}",
        found.body
    );
    let detail: String = audit_log::table
        .filter(audit_log::action.eq("Changed user"))
        .select(audit_log::detail)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(
        detail,
        "Display name Cameron White → Cameron Whitfield, sign-in name user05@contoso.example → cameron.whitfield@contoso.example"
    );

    let mut portal = browser(state(&db, Clock::fixed(test_now()))).await;
    let old = portal
        .portal_sign_in("user05@contoso.example", "allot-demo")
        .await;
    assert_ne!(
        old.status,
        StatusCode::SEE_OTHER,
        "the old sign-in name is gone"
    );
    let new = portal
        .portal_sign_in("cameron.whitfield@contoso.example", "allot-demo")
        .await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_taken_or_foreign_sign_in_name_is_refused_on_the_form_and_nothing_changes() {
    let db = TestDb::with_demo();
    let id = user_id(&db, "user05@contoso.example").0;
    let page = format!("/users/{id}");
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    for (email, message) in [
        (
            "user06@contoso.example",
            "The sign-in name user06@contoso.example is already in use.",
        ),
        // Unique across tenants too, and at the tenant's own domain.
        (
            "user01@fabrikam.example",
            "The sign-in name must end with @contoso.example.",
        ),
        ("not an address", "valid"),
    ] {
        let refused = admin
            .submit(
                &page,
                &format!("{page}/name"),
                &[("display_name", "Cameron W"), ("email", email)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        assert!(
            refused.contains("role=\"alert\" id=\"name-error\">"),
            "{email}: {}",
            refused.body
        );
        assert!(
            refused.contains(message) || message == "valid",
            "{email}: {}",
            refused.body
        );
        assert!(
            refused.contains(&format!("value=\"{email}\"")),
            "what was typed is kept"
        );
        assert!(refused.contains("value=\"Cameron W\""));
    }
    let empty = admin
        .submit(
            &page,
            &format!("{page}/name"),
            &[("display_name", "  "), ("email", "user05@contoso.example")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.contains("A display name has 1 to 120 characters."));
    assert_eq!(
        names(&db, id),
        (
            "Cameron White".to_owned(),
            "user05@contoso.example".to_owned()
        )
    );
}

#[actix_web::test]
async fn who_may_rename_whom() {
    let db = TestDb::with_demo();
    let user05 = user_id(&db, "user05@contoso.example").0;
    let adele = user_id(&db, "admin@contoso.example").0;
    let mut uma = signed_in(&db, "users@contoso.example").await;
    // A User admin renames a user without admin roles...
    let done = uma
        .submit(
            &format!("/users/{user05}"),
            &format!("/users/{user05}/name"),
            &[
                ("display_name", "Cameron W"),
                ("email", "user05@contoso.example"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    // ...but not a Global admin: the page doesn't offer it and the post is refused.
    let page = uma.get(&format!("/users/{adele}")).await;
    assert!(!page.contains("Name and sign-in name"));
    let refused = uma
        .submit(
            &format!("/users/{user05}"),
            &format!("/users/{adele}/name"),
            &[
                ("display_name", "Mallory"),
                ("email", "mallory@contoso.example"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Nobody renames their own account this way; a License admin renames nobody.
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let own = admin
        .submit(
            &format!("/users/{user05}"),
            &format!("/users/{adele}/name"),
            &[
                ("display_name", "Adele V"),
                ("email", "admin@contoso.example"),
            ],
        )
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert!(
        own.contains("You can&#39;t rename your own account."),
        "{}",
        own.body
    );
    let mut lee = signed_in(&db, "licenses@contoso.example").await;
    let license_admin = lee
        .submit(
            "/licenses",
            &format!("/users/{user05}/name"),
            &[("display_name", "X"), ("email", "x@contoso.example")],
        )
        .await;
    assert_eq!(license_admin.status, StatusCode::FORBIDDEN);
    // Another tenant's user is not found.
    let theirs = user_id(&db, "user01@fabrikam.example").0;
    let across = admin
        .submit(
            "/licenses",
            &format!("/users/{theirs}/name"),
            &[("display_name", "X"), ("email", "x@contoso.example")],
        )
        .await;
    assert_eq!(across.status, StatusCode::NOT_FOUND);
    assert_eq!(names(&db, adele).0, "Adele Vance");
    assert_eq!(names(&db, user05).0, "Cameron W");
}
