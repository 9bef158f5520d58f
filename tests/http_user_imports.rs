//! Add multiple users through HTTP: the upload (multipart with its CSRF token), the preview,
//! Import, the result, the passwords' one download, and who may do it.

mod common;

use actix_web::http::StatusCode;
use common::*;

const CSV: &str = "Display name,Sign-in name,Licenses\r\n\
New One,new1@contoso.example,Sales Professional\r\n\
New Two,new2@contoso.example,\r\n\
Bad Mail,not-an-email,\r\n\
Already Here,user01@contoso.example,\r\n\
Unknown Product,new3@contoso.example,Visio Plan 9\r\n";

/// The id in a Location such as /users/import/12.
fn import_path(location: &Option<String>) -> String {
    let location = location.clone().expect("a redirect");
    assert!(location.starts_with("/users/import/"), "{location}");
    location
}

#[actix_web::test]
async fn an_admin_previews_imports_and_downloads_the_passwords_once() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let list = admin.get("/users").await;
    assert!(list.contains("href=\"/users/import\"") && list.contains("Add multiple users"));
    let form = admin.get("/users/import").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.contains("Download a sample CSV") && form.contains("enctype=\"multipart/form-data\"")
    );
    let sample = admin.get("/users/import/sample.csv").await;
    assert_eq!(sample.status, StatusCode::OK);
    assert!(
        sample
            .body
            .starts_with("Display name,Sign-in name,Licenses\r\n")
    );
    assert!(sample.contains("@contoso.example"), "{}", sample.body);

    let token = form.csrf();
    let sent = admin
        .post_multipart(
            "/users/import",
            &[("csrf_token", &token)],
            &[("file", "people.csv", CSV.as_bytes())],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let page = import_path(&sent.location);
    let preview = admin.get(&page).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(
        preview.contains("2 users will be created, 3 rows will be skipped."),
        "{}",
        preview.body
    );
    for said in [
        "What will happen",
        "Bad email",
        "Already exists",
        "Product unknown: Visio Plan 9",
        "people.csv",
    ] {
        assert!(preview.contains(said), "{said}");
    }
    // The preview made nobody.
    assert!(admin.get("/users?q=new1").await.contains("No users match."));

    let token = preview.csrf();
    let started = admin
        .post_raw(&format!("{page}/start"), &[("csrf_token", &token)])
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let done = admin.get(&page).await;
    assert!(done.contains("Imported 5 of 5 rows"), "{}", done.body);
    assert!(
        done.contains("2 users created, 3 rows skipped."),
        "{}",
        done.body
    );
    assert!(done.contains("Outcome") && done.contains("Created"));
    assert!(
        !done.contains("http-equiv=\"refresh\""),
        "a finished import stops reloading"
    );
    assert!(admin.get("/users?q=new1").await.contains("New One"));

    let token = done.csrf();
    let passwords = admin
        .post_raw(&format!("{page}/passwords"), &[("csrf_token", &token)])
        .await;
    assert_eq!(passwords.status, StatusCode::OK);
    assert!(
        passwords
            .headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = passwords.body.lines().collect();
    assert_eq!(lines[0], "Sign-in name,Password");
    assert_eq!(lines.len(), 3, "{}", passwords.body);
    assert!(lines[1].starts_with("new1@contoso.example,") && lines[1].len() > 30);
    // The password works: New One signs in to the service portal with it.
    let password = lines[1].split(',').nth(1).unwrap();
    let mut portal = browser(state(&db, allot::domain::Clock::fixed(test_now()))).await;
    assert_eq!(
        portal
            .portal_sign_in("new1@contoso.example", password)
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    let again = admin
        .post_raw(&format!("{page}/passwords"), &[("csrf_token", &token)])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.contains("no longer kept"));
    let after = admin.get(&page).await;
    assert!(
        after.contains("The passwords were downloaded on")
            && !after.contains("Download passwords (CSV)")
    );
}

#[actix_web::test]
async fn a_file_that_cant_be_read_is_answered_on_the_form() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let token = admin.get("/users/import").await.csrf();
    let too_big = vec![b'a'; allot::domain::users::import::MAX_BYTES + 10];
    for (content, status, said) in [
        (
            &b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"[..],
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a CSV file",
        ),
        (
            b"Name,Email\nA,a@contoso.example\n",
            StatusCode::UNPROCESSABLE_ENTITY,
            "no Display name or Sign-in name column",
        ),
        (b"", StatusCode::UNPROCESSABLE_ENTITY, "The file is empty."),
        (
            b"Display name,Sign-in name,Licenses\n",
            StatusCode::UNPROCESSABLE_ENTITY,
            "no users",
        ),
        (
            &too_big[..],
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than 5 MB",
        ),
    ] {
        let page = admin
            .post_multipart(
                "/users/import",
                &[("csrf_token", &token)],
                &[("file", "people.csv", content)],
            )
            .await;
        assert_eq!(page.status, status, "{said}: {}", page.body);
        assert!(page.contains(said), "{said}: {}", page.body);
        assert!(
            page.contains("<h1>Add multiple users</h1>"),
            "the form, again"
        );
    }
    let none = admin
        .post_multipart("/users/import", &[("csrf_token", &token)], &[])
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.contains("Choose a CSV file"));
}

#[actix_web::test]
async fn an_upload_without_the_forms_csrf_token_is_refused() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let file = [("file", "people.csv", CSV.as_bytes())];
    let missing = admin.post_multipart("/users/import", &[], &file).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = admin
        .post_multipart("/users/import", &[("csrf_token", "not-the-token")], &file)
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(admin.get("/users?q=new1").await.contains("No users match."));
}

#[actix_web::test]
async fn a_license_admin_may_not_add_multiple_users() {
    let db = TestDb::with_demo();
    let mut admin = signed_in(&db, "licenses@contoso.example").await;
    let list = admin.get("/users").await;
    assert!(!list.contains("Add multiple users"));
    assert_eq!(
        admin.get("/users/import").await.status,
        StatusCode::FORBIDDEN
    );
    let token = list.csrf();
    let sent = admin
        .post_multipart(
            "/users/import",
            &[("csrf_token", &token)],
            &[("file", "people.csv", CSV.as_bytes())],
        )
        .await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn another_tenants_import_is_not_found() {
    let db = TestDb::with_demo();
    let mut contoso = signed_in(&db, "admin@contoso.example").await;
    let token = contoso.get("/users/import").await.csrf();
    let sent = contoso
        .post_multipart(
            "/users/import",
            &[("csrf_token", &token)],
            &[("file", "people.csv", CSV.as_bytes())],
        )
        .await;
    let page = import_path(&sent.location);
    let mut fabrikam = signed_in(&db, "admin@fabrikam.example").await;
    assert_eq!(fabrikam.get(&page).await.status, StatusCode::NOT_FOUND);
    let token = fabrikam.get("/users/import").await.csrf();
    for action in ["start", "passwords"] {
        let refused = fabrikam
            .post_raw(&format!("{page}/{action}"), &[("csrf_token", &token)])
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert!(
        contoso
            .get("/users?q=new1")
            .await
            .contains("No users match.")
    );
}

#[actix_web::test]
async fn a_running_import_shows_its_progress_and_reloads_itself() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let mut file = String::from("Display name,Sign-in name\n");
    for i in 0..150 {
        file.push_str(&format!("Progress {i},progress{i}@contoso.example\n"));
    }
    let rows = allot::domain::users::import::read_file(file.as_bytes()).unwrap();
    let admin = actor(&db, "admin@contoso.example");
    let id = allot::domain::users::import::preview(
        &mut db.conn(),
        &admin,
        test_now(),
        contoso,
        "progress.csv",
        &rows,
    )
    .unwrap();
    // Started, and one step run (as the scheduler would), the rest still to do.
    allot::domain::users::import::start(&mut db.conn(), &admin, test_now(), contoso, id).unwrap();
    allot::domain::users::import::step(&mut db.conn(), test_now(), id).unwrap();
    let mut browser = signed_in(&db, "admin@contoso.example").await;
    let page = browser.get(&format!("/users/import/{}", id.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"2\">"));
    assert!(page.contains("<label for=\"import-progress\">Imported 100 of 150 rows</label>"));
    assert!(page.contains("<progress id=\"import-progress\" max=\"150\" value=\"100\">"));
    assert!(page.contains("Created") && page.contains("Next rows"));
    let rest = browser
        .get(&format!("/users/import/{}?after=101", id.0))
        .await;
    assert!(rest.contains("Waiting"), "the rows not run yet");
    assert!(
        !page.contains("Download passwords (CSV)"),
        "not before it is done"
    );
}
