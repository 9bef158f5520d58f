//! Users > Groups through HTTP, as a browser uses them: Add a group, Add members, assigning a
//! product to a group, the inherited box on a user's page, Remove members with the data-hold
//! date, Errors & issues and Reprocess, Delete group, and who may do what.

mod common;

use actix_web::http::StatusCode;
use common::*;

/// The id of the first group Groups lists (its rows link as `<a href="/groups/{id}">`).
fn first_group(body: &str) -> String {
    let marker = "<a href=\"/groups/";
    let at = body.find(marker).expect("a group in the list") + marker.len();
    body[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect()
}

/// The group's id from the address a redirect points to (`/groups/{id}`).
fn group_of(location: Option<&str>) -> String {
    location
        .and_then(|l| l.strip_prefix("/groups/"))
        .expect("a redirect to the group's page")
        .to_owned()
}

#[actix_web::test]
async fn a_group_is_added_given_members_and_a_product_which_its_members_inherit() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let list = admin.get("/groups").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.contains("Sales team") && list.contains("Add a group"));

    let added = admin
        .submit(
            "/groups/new",
            "/groups",
            &[("name", "Marketing"), ("description", "Campaigns")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let group = group_of(added.location.as_deref());
    let page = admin.get(&format!("/groups/{group}")).await;
    assert!(page.contains("Added the group Marketing.") && page.contains("no members yet"));

    // Three users, picked on Add members.
    let ids: Vec<String> = contoso_users(&db, 21, 23)
        .iter()
        .map(|u| u.0.to_string())
        .collect();
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|id| ("users", id.as_str())).collect();
    let add_form = format!("/groups/{group}/members/add");
    assert!(admin.get(&add_form).await.contains("Mariya Ivanova"));
    let joined = admin
        .submit(&add_form, &format!("/groups/{group}/members"), &fields)
        .await;
    assert_eq!(
        joined.location.as_deref(),
        Some(format!("/groups/{group}").as_str())
    );
    assert!(
        admin
            .get(&format!("/groups/{group}"))
            .await
            .contains("Added 3 members to the group.")
    );

    // Business Premium to the group: the three take 3 of its 3 available licenses.
    let premium = product_id(&db, "Business Premium").0.to_string();
    let given = admin
        .submit(
            &format!("/groups/{group}"),
            &format!("/groups/{group}/licenses"),
            &[("product", &premium)],
        )
        .await;
    assert_eq!(given.status, StatusCode::SEE_OTHER);
    let page = admin.get(&format!("/groups/{group}")).await;
    assert!(
        page.contains("3 licenses assigned from the group&#39;s licenses.")
            || page.contains("3 licenses assigned from the group's licenses."),
        "{}",
        page.body
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 13, 0));
    let licenses = admin.get(&format!("/licenses/{premium}")).await;
    assert!(licenses.contains("Marketing") && licenses.contains("Groups"));

    // Each member's Licenses and apps shows the box checked, disabled, and from where.
    let user = &ids[0];
    let user_page = admin.get(&format!("/users/{user}")).await;
    assert!(
        user_page.contains("Inherited from Marketing"),
        "{}",
        user_page.body
    );
    assert!(user_page.contains("changed through the group"));
    assert!(user_page.contains(&format!("checked disabled id=\"p{premium}\"")));

    // Saving the user's licenses without the disabled box keeps the inherited license.
    let saved = admin
        .submit(
            &format!("/users/{user}"),
            &format!("/users/{user}/licenses"),
            &[],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 13, 0));

    // Unassigning it from the Licenses page is refused with how to change it.
    let refused = admin
        .submit(
            &format!("/licenses/{premium}"),
            &format!("/licenses/{premium}/unassign"),
            &[("users", user.as_str()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.contains("Remove them from the group"));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 13, 0));

    // Removing a member frees their seat, and says until when their data is kept.
    fields.truncate(1);
    let removed = admin
        .submit(
            &format!("/groups/{group}"),
            &format!("/groups/{group}/members/remove"),
            &fields,
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let page = admin.get(&format!("/groups/{group}")).await;
    let until = (test_now() + chrono::Duration::days(30))
        .format("%B %-d, %Y")
        .to_string();
    assert!(
        page.contains("Removed 1 member from the group.")
            && page.contains("1 license was freed.")
            && page.contains(&format!("Their data is kept until {until}.")),
        "{}",
        page.body
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 12, 1));
}

#[actix_web::test]
async fn members_beyond_the_licenses_are_listed_as_errors_until_reprocessed() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let added = admin
        .submit("/groups/new", "/groups", &[("name", "Everyone")])
        .await;
    let group = group_of(added.location.as_deref());
    let premium = product_id(&db, "Business Premium").0.to_string();
    admin
        .submit(
            &format!("/groups/{group}"),
            &format!("/groups/{group}/licenses"),
            &[("product", &premium)],
        )
        .await;
    // Five who lack it, for the three licenses left.
    let ids: Vec<String> = contoso_users(&db, 21, 25)
        .iter()
        .map(|u| u.0.to_string())
        .collect();
    let fields: Vec<(&str, &str)> = ids.iter().map(|id| ("users", id.as_str())).collect();
    admin
        .submit(
            &format!("/groups/{group}/members/add"),
            &format!("/groups/{group}/members"),
            &fields,
        )
        .await;
    let page = admin.get(&format!("/groups/{group}")).await;
    assert!(
        page.contains("2 couldn&#39;t be assigned") || page.contains("2 couldn't be assigned"),
        "{}",
        page.body
    );
    assert!(
        page.contains("Errors &amp; issues (2)")
            && page.contains("Not enough licenses: 0 of 13 available")
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 13, 0));

    // Two licenses freed (user01 and user02 lose theirs), then Reprocess gives them.
    let freed: Vec<String> = contoso_users(&db, 1, 2)
        .iter()
        .map(|u| u.0.to_string())
        .collect();
    admin
        .submit(
            &format!("/licenses/{premium}"),
            &format!("/licenses/{premium}/unassign"),
            &[
                ("users", &freed[0]),
                ("users", &freed[1]),
                ("confirm", "yes"),
            ],
        )
        .await;
    let again = admin
        .submit(
            &format!("/groups/{group}"),
            &format!("/groups/{group}/reprocess"),
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let page = admin.get(&format!("/groups/{group}")).await;
    assert!(!page.contains("Errors &amp; issues"), "{}", page.body);
    assert!(page.contains("All licenses assigned") || page.contains("2 licenses assigned"));
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 13, 0));
}

#[actix_web::test]
async fn a_name_in_use_is_refused_on_the_form_and_nothing_is_stored() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let refused = admin
        .submit("/groups/new", "/groups", &[("name", " sales TEAM ")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("A group named sales TEAM already exists."));
    assert!(refused.contains("value=\" sales TEAM \""));
    let empty = admin
        .submit("/groups/new", "/groups", &[("name", "")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let list = admin.get("/groups").await;
    assert_eq!(
        list.body.matches("<a href=\"/groups/").count(),
        1,
        "only the Sales team"
    );
}

#[actix_web::test]
async fn a_group_with_licenses_cannot_be_deleted_until_they_are_unassigned() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let group = first_group(&admin.get("/groups").await.body);
    let confirm = admin.get(&format!("/groups/{group}/delete")).await;
    assert!(confirm.contains("can&#39;t be deleted") || confirm.contains("can't be deleted"));
    let refused = admin
        .post_raw(
            &format!("/groups/{group}/delete"),
            &[("csrf_token", &confirm.csrf())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), (15, 9, 6));

    let sales = product_id(&db, "Sales Professional").0.to_string();
    let unassigned = admin
        .submit(
            &format!("/licenses/{sales}"),
            &format!("/groups/{group}/licenses/{sales}/unassign"),
            &[("back", "product")],
        )
        .await;
    assert_eq!(
        unassigned.location.as_deref(),
        Some(format!("/licenses/{sales}").as_str())
    );
    assert_eq!(pool_counts(&db, contoso, "Sales Professional"), (15, 4, 11));
    let deleted = admin
        .submit(
            &format!("/groups/{group}/delete"),
            &format!("/groups/{group}/delete"),
            &[],
        )
        .await;
    assert_eq!(deleted.location.as_deref(), Some("/groups"));
    assert!(!admin.get("/groups").await.contains("Sales team"));
}

#[actix_web::test]
async fn roles_and_tenants_decide_who_sees_and_changes_groups() {
    let db = TestDb::with_demo();
    let mut fabrikam = signed_in(&db, "admin@fabrikam.example").await;
    assert!(
        fabrikam
            .get("/groups")
            .await
            .contains("There are no groups yet.")
    );
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let sales_team = first_group(&admin.get("/groups").await.body);
    // Another tenant's group is not found, for reading and for changing.
    assert_eq!(
        fabrikam.get(&format!("/groups/{sales_team}")).await.status,
        StatusCode::NOT_FOUND
    );
    let token = fabrikam.get("/groups").await.csrf();
    let user = user_id(&db, "user01@fabrikam.example").0.to_string();
    assert_eq!(
        fabrikam
            .post_raw(
                &format!("/groups/{sales_team}/members"),
                &[("csrf_token", &token), ("users", &user)],
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A Billing admin has no Groups; a License admin reads them but doesn't add members.
    let mut billing = signed_in(&db, "billing@contoso.example").await;
    assert_eq!(billing.get("/groups").await.status, StatusCode::FORBIDDEN);
    let mut license = signed_in(&db, "licenses@contoso.example").await;
    let page = license.get(&format!("/groups/{sales_team}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.contains("Add members") && page.contains("Assign licenses"));
    let user21 = user_id(&db, "user21@contoso.example").0.to_string();
    assert_eq!(
        license
            .post_raw(
                &format!("/groups/{sales_team}/members"),
                &[("csrf_token", &page.csrf()), ("users", &user21)],
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        license.get("/groups/new").await.status,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn assigning_a_product_to_a_group_says_which_members_had_it_already() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let added = admin
        .submit("/groups/new", "/groups", &[("name", "Pilots")])
        .await;
    let group = group_of(added.location.as_deref());
    // user05 holds Business Premium directly, user16 doesn't.
    let members: Vec<String> = ["user05@contoso.example", "user16@contoso.example"]
        .iter()
        .map(|e| user_id(&db, e).0.to_string())
        .collect();
    let fields: Vec<(&str, &str)> = members.iter().map(|id| ("users", id.as_str())).collect();
    admin
        .submit(
            &format!("/groups/{group}/members/add"),
            &format!("/groups/{group}/members"),
            &fields,
        )
        .await;
    let premium = product_id(&db, "Business Premium").0.to_string();
    admin
        .submit(
            &format!("/groups/{group}"),
            &format!("/groups/{group}/licenses"),
            &[("product", &premium)],
        )
        .await;
    let page = admin.get(&format!("/groups/{group}")).await;
    assert!(
        page.contains("1 license assigned from the group&#39;s licenses. 1 member had it already, so no license was used for them."),
        "{}",
        page.body
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 11, 2));
}
