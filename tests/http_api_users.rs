//! Graph's user writes over HTTP (issue 14): `POST /api/v1/users`, `PATCH` and `DELETE
//! /api/v1/users/{id}`, as a script written for Microsoft Graph sends them, on either database.

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::test;
use allot::domain::accounts::UserState;
use allot::domain::api_tokens;
use allot::domain::authz::Scope;
use allot::domain::schema::users;
use allot::domain::{Clock, TenantId};
use allot::web;
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Reply {
    status: StatusCode,
    json: Value,
}

async fn call<S, B>(app: &S, req: test::TestRequest, token: &str) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let body = test::read_body(res).await;
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).expect("JSON")
    };
    if !status.is_success() {
        assert!(json["error"]["code"].is_string(), "{status}: {json}");
    }
    Reply { status, json }
}

static TOKENS: AtomicUsize = AtomicUsize::new(0);

fn token_in(db: &TestDb, tenant: TenantId, admin: &str, scopes: &[Scope]) -> String {
    api_tokens::create(
        &mut db.conn(),
        &actor(db, admin),
        test_now(),
        tenant,
        &format!("HR sync {}", TOKENS.fetch_add(1, Ordering::Relaxed)),
        scopes,
        30,
    )
    .unwrap()
    .secret
}

fn state_of(db: &TestDb, email: &str) -> UserState {
    users::table
        .filter(users::email.eq(email))
        .select(users::state)
        .first(&mut db.conn())
        .unwrap()
}

/// What Graph's documentation posts to create a user.
fn graph_user(upn: &str, name: &str) -> Value {
    json!({
        "accountEnabled": true,
        "displayName": name,
        "mailNickname": upn.split('@').next().unwrap(),
        "userPrincipalName": upn,
        "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}
    })
}

#[actix_web::test]
async fn a_script_creates_changes_and_deletes_a_user() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let app = test::init_service(web::app(state(&db, Clock::fixed(test_now())))).await;
    let token = token_in(&db, contoso, "admin@contoso.example", &[Scope::UsersWrite]);
    let created = call(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/users")
            .set_json(graph_user("adele.new@contoso.example", "Adele New")),
        &token,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.json["userPrincipalName"],
        json!("adele.new@contoso.example")
    );
    assert_eq!(created.json["accountEnabled"], json!(true));
    assert_eq!(created.json["assignedLicenses"], json!([]));
    // The password works at the portal's sign-in.
    let mut portal = browser(state(&db, Clock::fixed(test_now()))).await;
    let signed_in = portal
        .portal_sign_in("adele.new@contoso.example", "xWwvJ]6NMw+bWH-d")
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );

    let twice = call(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/users")
            .set_json(graph_user("adele.new@contoso.example", "Adele Again")),
        &token,
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);

    let changed = call(
        &app,
        test::TestRequest::patch()
            .uri(&format!("/api/v1/users/{id}"))
            .set_json(json!({"displayName": "Adele N. Vance", "accountEnabled": false, "surname": "Vance"})),
        &token,
    )
    .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.json);
    assert_eq!(
        state_of(&db, "adele.new@contoso.example"),
        UserState::Blocked
    );
    let read = call(
        &app,
        test::TestRequest::get().uri("/api/v1/users/adele.new@contoso.example"),
        &token,
    )
    .await;
    assert_eq!(read.json["displayName"], json!("Adele N. Vance"));
    assert_eq!(read.json["accountEnabled"], json!(false));

    let deleted = call(
        &app,
        test::TestRequest::delete().uri(&format!("/api/v1/users/{id}")),
        &token,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        state_of(&db, "adele.new@contoso.example"),
        UserState::Deleted
    );
    let gone = call(
        &app,
        test::TestRequest::get().uri(&format!("/api/v1/users/{id}")),
        &token,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn bad_values_scopes_and_other_tenants_are_refused() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let app = test::init_service(web::app(state(&db, Clock::fixed(test_now())))).await;
    let token = token_in(&db, contoso, "admin@contoso.example", &[Scope::UsersWrite]);
    let reader = token_in(&db, contoso, "admin@contoso.example", &[Scope::UsersRead]);
    let fabrikam_token = token_in(
        &db,
        fabrikam,
        "admin@fabrikam.example",
        &[Scope::UsersWrite],
    );

    let read_only = call(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/users")
            .set_json(graph_user("nope@contoso.example", "Nope")),
        &reader,
    )
    .await;
    assert_eq!(read_only.status, StatusCode::FORBIDDEN);
    let elsewhere = call(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/users")
            .set_json(graph_user("someone@fabrikam.example", "Someone")),
        &token,
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        elsewhere.json["error"]["target"],
        json!("userPrincipalName")
    );
    let unknown = call(
        &app,
        test::TestRequest::patch()
            .uri("/api/v1/users/user03@contoso.example")
            .set_json(json!({"shoeSize": 44})),
        &token,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let missing = call(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/users")
            .set_json(json!({"userPrincipalName": "x@contoso.example"})),
        &token,
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let password = call(
        &app,
        test::TestRequest::patch()
            .uri("/api/v1/users/user03@contoso.example")
            .set_json(json!({"passwordProfile": {"password": "another one 123"}})),
        &token,
    )
    .await;
    assert_eq!(password.status, StatusCode::FORBIDDEN);

    // Another tenant's user is not found, for a change as for a read.
    let foreign = call(
        &app,
        test::TestRequest::patch()
            .uri("/api/v1/users/user03@contoso.example")
            .set_json(json!({"accountEnabled": false})),
        &fabrikam_token,
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let foreign_delete = call(
        &app,
        test::TestRequest::delete().uri("/api/v1/users/user03@contoso.example"),
        &fabrikam_token,
    )
    .await;
    assert_eq!(foreign_delete.status, StatusCode::NOT_FOUND);
    assert_eq!(state_of(&db, "user03@contoso.example"), UserState::Active);

    // A users.write token does no more than a User admin: no Global admin is changed.
    let admin = call(
        &app,
        test::TestRequest::patch()
            .uri("/api/v1/users/admin@contoso.example")
            .set_json(json!({"accountEnabled": false})),
        &token,
    )
    .await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN);
    assert_eq!(state_of(&db, "admin@contoso.example"), UserState::Active);
    // Nor renamed: that is the containment rule too.
    for body in [
        json!({"displayName": "Mallory"}),
        json!({"userPrincipalName": "mallory@contoso.example"}),
    ] {
        let renamed = call(
            &app,
            test::TestRequest::patch()
                .uri("/api/v1/users/admin@contoso.example")
                .set_json(body.clone()),
            &token,
        )
        .await;
        assert_eq!(renamed.status, StatusCode::FORBIDDEN, "{body}");
    }
    let (name, email): (String, String) = users::table
        .filter(users::email.eq("admin@contoso.example"))
        .select((users::display_name, users::email))
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(
        (name.as_str(), email.as_str()),
        ("Adele Vance", "admin@contoso.example")
    );
}
