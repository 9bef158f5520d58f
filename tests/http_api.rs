//! The JSON API's door and first endpoints over HTTP (issue 14), as a client written for
//! Microsoft Graph calls them: bearer tokens (401 for a missing, unknown, revoked or expired
//! one), scopes (403), tenants (404), Graph's shapes and paging, the rate limit, JSON errors
//! everywhere under /api; and Settings > API access in the admin center.

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::test;
use allot::domain::api_tokens;
use allot::domain::authz::Scope;
use allot::domain::{Clock, TenantId};
use allot::web;
use chrono::Duration;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;

const BASE: &str = "http://localhost:8080/api/v1";

struct Reply {
    status: StatusCode,
    headers: header::HeaderMap,
    json: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }
}

async fn call<S, B>(app: &S, req: test::TestRequest, token: Option<&str>) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = match token {
        Some(token) => req.insert_header((header::AUTHORIZATION, format!("Bearer {token}"))),
        None => req,
    };
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = test::read_body(res).await;
    let json: Value = serde_json::from_slice(&body).unwrap_or_else(|_| {
        panic!(
            "{status}: not JSON: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        )
    });
    if status != StatusCode::OK {
        assert_eq!(
            headers.get(header::CONTENT_TYPE).unwrap(),
            "application/json",
            "{status}"
        );
        assert!(json["error"]["code"].is_string(), "{json}");
        assert!(json["error"]["message"].is_string(), "{json}");
    }
    Reply {
        status,
        headers,
        json,
    }
}

async fn get<S, B>(app: &S, path: &str, token: &str) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    call(app, test::TestRequest::get().uri(path), Some(token)).await
}

/// A token of Contoso with `scopes`, made by its Global admin at `test_now()`.
fn token(db: &TestDb, name: &str, scopes: &[Scope]) -> api_tokens::NewToken {
    let (contoso, _) = tenants(db);
    token_in(db, contoso, "admin@contoso.example", name, scopes)
}

fn token_in(
    db: &TestDb,
    tenant: TenantId,
    admin: &str,
    name: &str,
    scopes: &[Scope],
) -> api_tokens::NewToken {
    api_tokens::create(
        &mut db.conn(),
        &actor(db, admin),
        test_now(),
        tenant,
        name,
        scopes,
        30,
    )
    .unwrap()
}

fn app_state(db: &TestDb) -> (web::AppState, Clock) {
    let clock = Clock::fixed(test_now());
    (state(db, clock.clone()), clock)
}

#[actix_web::test]
async fn a_missing_unknown_revoked_or_expired_token_gets_401_in_graphs_envelope() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let (state, clock) = app_state(&db);
    let app = test::init_service(web::app(state)).await;
    let made = token(&db, "Scripts", &[Scope::UsersRead]);

    let none = call(&app, test::TestRequest::get().uri("/api/v1/users"), None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.code(), "InvalidAuthenticationToken");
    assert!(none.headers.contains_key(header::WWW_AUTHENTICATE));
    for bad in [
        "allot_0000000000000000000000000000000000000000000000000000000000000000",
        "nonsense",
    ] {
        let reply = get(&app, "/api/v1/users", bad).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(reply.code(), "InvalidAuthenticationToken");
    }
    // Another scheme, or the token as a cookie, is no token.
    let basic = call(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/users")
            .insert_header((header::AUTHORIZATION, format!("Basic {}", made.secret))),
        None,
    )
    .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);

    assert_eq!(
        get(&app, "/api/v1/users", &made.secret).await.status,
        StatusCode::OK
    );
    let lower = call(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/users")
            .insert_header((header::AUTHORIZATION, format!("bearer {}", made.secret))),
        None,
    )
    .await;
    assert_eq!(lower.status, StatusCode::OK, "the scheme in any case");

    // Expired: 30 days on.
    clock.advance(Duration::days(30));
    let expired = get(&app, "/api/v1/users", &made.secret).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert!(
        expired.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    // Revoked: refused at the very next call.
    let other = token(&db, "Other", &[Scope::UsersRead]);
    clock.advance(Duration::days(-30));
    assert_eq!(
        get(&app, "/api/v1/users", &other.secret).await.status,
        StatusCode::OK
    );
    api_tokens::revoke(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
        other.id,
    )
    .unwrap();
    let revoked = get(&app, "/api/v1/users", &other.secret).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert!(
        revoked.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
}

#[actix_web::test]
async fn a_scope_the_token_lacks_gets_403_and_the_admin_centers_cookie_is_no_token() {
    let db = TestDb::with_demo();
    let (state, _) = app_state(&db);
    let app = test::init_service(web::app(state)).await;
    let users_only = token(&db, "Users", &[Scope::UsersRead]);
    let licenses_only = token(&db, "Licenses", &[Scope::LicensesRead]);
    let billing = token(&db, "Billing", &[Scope::BillingRead, Scope::GroupsWrite]);
    for (path, refused) in [
        ("/api/v1/subscribedSkus", &users_only),
        ("/api/v1/users", &licenses_only),
        ("/api/v1/users", &billing),
        ("/api/v1/subscribedSkus", &billing),
    ] {
        let reply = get(&app, path, &refused.secret).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{path} {}",
            refused.name
        );
        assert_eq!(reply.code(), "Authorization_RequestDenied");
    }
    assert_eq!(
        get(&app, "/api/v1/subscribedSkus", &licenses_only.secret)
            .await
            .status,
        StatusCode::OK
    );

    // A signed-in Global admin's cookie opens nothing under /api.
    let mut browser = signed_in(&db, "admin@contoso.example").await;
    let page = browser.get("/api/v1/users").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("InvalidAuthenticationToken"));
}

#[actix_web::test]
async fn a_user_is_found_by_guid_or_sign_in_name_and_another_tenants_is_not_found() {
    let db = TestDb::with_demo();
    let (_, fabrikam) = tenants(&db);
    let (state, _) = app_state(&db);
    let app = test::init_service(web::app(state)).await;
    let ours = token(&db, "Contoso", &[Scope::UsersRead]);
    let theirs = token_in(
        &db,
        fabrikam,
        "admin@fabrikam.example",
        "Fabrikam",
        &[Scope::UsersRead],
    );
    let fabrikam_user = get(
        &app,
        "/api/v1/users/user01@fabrikam.example",
        &theirs.secret,
    )
    .await;
    assert_eq!(fabrikam_user.status, StatusCode::OK);
    let fabrikam_id = fabrikam_user.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/users/{fabrikam_id}"),
            &theirs.secret
        )
        .await
        .json["userPrincipalName"],
        "user01@fabrikam.example"
    );
    for missing in [
        fabrikam_id.clone(),
        fabrikam_id.to_uppercase(),
        "user01@fabrikam.example".to_owned(),
        "00000000-0000-4000-8000-000000000000".to_owned(),
        "not-a-guid".to_owned(),
    ] {
        let reply = get(&app, &format!("/api/v1/users/{missing}"), &ours.secret).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(reply.code(), "Request_ResourceNotFound");
    }
    // Contoso's own user, in Graph's shape.
    let user = get(&app, "/api/v1/users/user01@contoso.example", &ours.secret).await;
    assert_eq!(user.status, StatusCode::OK);
    assert_eq!(
        user.json["@odata.context"],
        format!("{BASE}/$metadata#users/$entity")
    );
    assert_eq!(user.json["userPrincipalName"], "user01@contoso.example");
    assert_eq!(user.json["mail"], "user01@contoso.example");
    assert_eq!(user.json["accountEnabled"], true);
    assert!(user.json["displayName"].is_string());
    let id = user.json["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let by_id = get(
        &app,
        &format!("/api/v1/users/{}", id.to_uppercase()),
        &ours.secret,
    )
    .await;
    assert_eq!(by_id.json["id"], id, "a GUID in any case");
    let selected = get(
        &app,
        &format!("/api/v1/users/{id}?$select=displayName"),
        &ours.secret,
    )
    .await;
    assert_eq!(
        selected
            .json
            .as_object()
            .unwrap()
            .keys()
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([&"@odata.context".to_owned(), &"displayName".to_owned()])
    );
}

#[actix_web::test]
async fn next_links_walk_every_user_exactly_once_and_top_is_bounded() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let (state, _) = app_state(&db);
    let app = test::init_service(web::app(state)).await;
    let reader = token(&db, "Reader", &[Scope::UsersRead]);
    let deleted = user_id(&db, "user40@contoso.example");
    allot::domain::users::delete(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
        deleted,
    )
    .unwrap();
    let expected: BTreeSet<String> = {
        let page = allot::domain::users::directory(
            &mut db.conn(),
            &actor(&db, "admin@contoso.example"),
            contoso,
            999,
            None,
        )
        .unwrap();
        assert!(page.next.is_none());
        page.users.into_iter().map(|u| u.guid).collect()
    };
    assert!(expected.len() > 40);

    let mut seen = Vec::new();
    let mut next = Some("/api/v1/users?$top=6".to_owned());
    let mut pages = 0;
    while let Some(path) = next.take() {
        let reply = get(&app, &path, &reader.secret).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.json);
        assert_eq!(
            reply.json["@odata.context"],
            format!("{BASE}/$metadata#users")
        );
        let value = reply.json["value"].as_array().unwrap();
        assert!(value.len() <= 6);
        for user in value {
            seen.push(user["id"].as_str().unwrap().to_owned());
            assert!(user["assignedLicenses"].is_array());
            assert!(user["accountEnabled"].is_boolean());
        }
        next = reply.json["@odata.nextLink"].as_str().map(|link| {
            assert!(link.starts_with(BASE), "{link}");
            assert!(link.contains("$skiptoken="), "{link}");
            link.trim_start_matches("http://localhost:8080").to_owned()
        });
        pages += 1;
    }
    assert_eq!(pages, expected.len().div_ceil(6));
    assert_eq!(seen.len(), expected.len(), "each user once");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);

    // The default page is 100; $top from 1 to 999.
    let all = get(&app, "/api/v1/users", &reader.secret).await;
    assert_eq!(all.json["value"].as_array().unwrap().len(), expected.len());
    assert!(all.json.get("@odata.nextLink").is_none());
    for ok in ["1", "999"] {
        let reply = get(&app, &format!("/api/v1/users?$top={ok}"), &reader.secret).await;
        assert_eq!(reply.status, StatusCode::OK, "$top={ok}");
    }
    assert_eq!(
        get(&app, "/api/v1/users?%24top=1", &reader.secret)
            .await
            .json["value"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "an encoded $ is the same option"
    );
    for bad in [
        "$top=0",
        "$top=1000",
        "$top=-1",
        "$top=ten",
        "$top=",
        "$skiptoken=nonsense",
        "$skiptoken=6166746572",
        "$orderby=displayName",
    ] {
        let reply = get(&app, &format!("/api/v1/users?{bad}"), &reader.secret).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.json
        );
        assert_eq!(reply.code(), "BadRequest", "{bad}");
    }
    // $select narrows every user and travels in the next link.
    let narrow = get(
        &app,
        "/api/v1/users?$top=2&$select=displayName,MAIL,unknownThing",
        &reader.secret,
    )
    .await;
    assert_eq!(narrow.status, StatusCode::OK);
    assert_eq!(
        narrow.json["@odata.context"],
        format!("{BASE}/$metadata#users(displayName,mail)")
    );
    for user in narrow.json["value"].as_array().unwrap() {
        assert_eq!(
            user.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["displayName", "mail"]
        );
    }
    assert!(
        narrow.json["@odata.nextLink"]
            .as_str()
            .unwrap()
            .ends_with("&$select=displayName,mail")
    );
}

#[actix_web::test]
async fn subscribed_skus_count_what_the_licenses_page_counts_and_users_name_their_skus() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let (state, _) = app_state(&db);
    let app = test::init_service(web::app(state)).await;
    let both = token(&db, "Both", &[Scope::LicensesRead, Scope::UsersRead]);
    let reply = get(&app, "/api/v1/subscribedSkus", &both.secret).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json["@odata.context"],
        format!("{BASE}/$metadata#subscribedSkus")
    );
    let skus = reply.json["value"].as_array().unwrap();
    let pools = allot::domain::licenses::pools(
        &mut db.conn(),
        &allot::domain::Actor::System("test"),
        contoso,
    )
    .unwrap();
    let codes: Vec<(String, String)> = {
        use allot::domain::schema::products;
        use diesel::prelude::*;
        products::table
            .select((products::name, products::code))
            .load(&mut db.conn())
            .unwrap()
    };
    let products: BTreeSet<&str> = pools.iter().map(|p| p.product_name.as_str()).collect();
    assert_eq!(skus.len(), products.len());
    for name in &products {
        let code = &codes.iter().find(|(n, _)| n == name).unwrap().1;
        let sku = skus
            .iter()
            .find(|s| s["skuPartNumber"] == code.as_str())
            .unwrap_or_else(|| panic!("no sku for {name}"));
        let rows: Vec<_> = pools.iter().filter(|p| p.product_name == *name).collect();
        let licenses: i64 = rows.iter().map(|p| p.licenses).sum();
        let assigned: i64 = rows.iter().map(|p| p.assigned).sum();
        let prepaid = &sku["prepaidUnits"];
        assert_eq!(
            prepaid["enabled"].as_i64().unwrap() + prepaid["warning"].as_i64().unwrap(),
            licenses,
            "{name}"
        );
        assert_eq!(sku["consumedUnits"].as_i64().unwrap(), assigned, "{name}");
        assert_eq!(prepaid["lockedOut"], 0);
        assert_eq!(sku["appliesTo"], "User");
        assert_eq!(sku["capabilityStatus"], "Enabled");
        assert_eq!(sku["id"], sku["skuId"]);
        assert!(uuid::Uuid::parse_str(sku["skuId"].as_str().unwrap()).is_ok());
        for plan in sku["servicePlans"].as_array().unwrap() {
            assert!(uuid::Uuid::parse_str(plan["servicePlanId"].as_str().unwrap()).is_ok());
            assert!(plan["servicePlanName"].is_string());
            assert_eq!(plan["provisioningStatus"], "Success");
            assert_eq!(plan["appliesTo"], "User");
        }
    }
    // The README's demo numbers, as the Licenses page shows them.
    let premium = skus
        .iter()
        .find(|s| {
            let code = &codes
                .iter()
                .find(|(n, _)| n == "Business Premium")
                .unwrap()
                .1;
            s["skuPartNumber"] == code.as_str()
        })
        .unwrap();
    assert_eq!(
        (
            premium["prepaidUnits"]["enabled"].as_i64(),
            premium["consumedUnits"].as_i64()
        ),
        (Some(13), Some(10))
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));

    // Allan Deyoung (user02) holds Business Premium with its Office apps off: its skuId, and
    // the plans turned off among the SKU's servicePlans.
    let allan = get(&app, "/api/v1/users/user02@contoso.example", &both.secret).await;
    let held = allan.json["assignedLicenses"].as_array().unwrap();
    let premium_license = held
        .iter()
        .find(|l| l["skuId"] == premium["skuId"])
        .expect("Allan holds Business Premium");
    let disabled = premium_license["disabledPlans"].as_array().unwrap();
    assert!(!disabled.is_empty());
    let plan_ids: Vec<&Value> = premium["servicePlans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["servicePlanId"])
        .collect();
    assert!(
        disabled.iter().all(|d| plan_ids.contains(&d)),
        "{disabled:?}"
    );
    let sku_ids: Vec<&Value> = skus.iter().map(|s| &s["skuId"]).collect();
    assert!(held.iter().all(|l| sku_ids.contains(&&l["skuId"])));
}

#[actix_web::test]
async fn a_token_gets_600_calls_a_minute_then_429_with_retry_after() {
    let db = TestDb::with_demo();
    let (state, clock) = app_state(&db);
    let app = test::init_service(web::app(state)).await;
    let busy = token(&db, "Busy", &[Scope::LicensesRead]);
    let calm = token(&db, "Calm", &[Scope::LicensesRead]);
    for n in 0..allot::web::api::REQUESTS_PER_MINUTE {
        let reply = get(&app, "/api/v1/subscribedSkus", &busy.secret).await;
        assert_eq!(reply.status, StatusCode::OK, "call {n}");
    }
    let limited = get(&app, "/api/v1/subscribedSkus", &busy.secret).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.code(), "TooManyRequests");
    // test_now() is 09:00:00, so the window ends in a minute.
    assert_eq!(limited.headers.get(header::RETRY_AFTER).unwrap(), "60");
    // Another token counts on its own.
    assert_eq!(
        get(&app, "/api/v1/subscribedSkus", &calm.secret)
            .await
            .status,
        StatusCode::OK
    );
    clock.advance(Duration::seconds(60));
    assert_eq!(
        get(&app, "/api/v1/subscribedSkus", &busy.secret)
            .await
            .status,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn every_answer_under_api_is_json_unknown_paths_and_methods_included() {
    let db = TestDb::with_demo();
    let (state, _) = app_state(&db);
    let app = test::init_service(web::app(state)).await;
    let reader = token(&db, "Reader", &[Scope::UsersRead]);
    for path in ["/api", "/api/v1", "/api/v1/nothing", "/api/v2/users"] {
        let reply = get(&app, path, &reader.secret).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.code(), "NotFound");
    }
    let put = call(
        &app,
        test::TestRequest::put()
            .uri("/api/v1/users")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload("{}"),
        Some(&reader.secret),
    )
    .await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    // A body that can't be read is a JSON 400, before the token's scopes are looked at.
    let post = call(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/users")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload("{\"displayName\": "),
        Some(&reader.secret),
    )
    .await;
    assert_eq!(post.status, StatusCode::BAD_REQUEST);
    assert_eq!(post.code(), "BadRequest");
    // No CSRF token is asked for, and no cookie is set.
    let reply = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/users")
            .insert_header((header::AUTHORIZATION, format!("Bearer {}", reader.secret)))
            .to_request(),
    )
    .await;
    assert!(!reply.headers().contains_key(header::SET_COOKIE));
    assert_eq!(
        reply.headers().get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
}

// ---------------------------------------------------------------- Settings > API access

fn secret_on(body: &str) -> String {
    let start = body.find("allot_").expect("the page shows the secret");
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[actix_web::test]
async fn a_global_admin_adds_a_token_sees_its_secret_once_and_revokes_it() {
    let db = TestDb::with_demo();
    let (state, _) = app_state(&db);
    let app = test::init_service(web::app(state)).await;
    let mut admin = signed_in(&db, "admin@contoso.example").await;
    let home = admin.get("/").await;
    assert!(home.contains("href=\"/settings/api-access\""));
    let list = admin.get("/settings/api-access").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.contains("There are no API tokens yet."));
    let form = admin.get("/settings/api-access/new").await;
    for scope in [
        "users.read",
        "users.write",
        "licenses.read",
        "licenses.write",
        "groups.write",
        "billing.read",
        "scim",
    ] {
        assert!(
            form.contains(&format!("name=\"scopes\" value=\"{scope}\"")),
            "{scope}"
        );
    }
    let created = admin
        .submit(
            "/settings/api-access/new",
            "/settings/api-access",
            &[
                ("name", "Okta provisioning"),
                ("scopes", "users.read"),
                ("scopes", "licenses.read"),
                ("expires", "365"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert!(created.contains("This is the only time it is shown."));
    let secret = secret_on(&created.body);
    assert_eq!(secret.len(), "allot_".len() + 64);
    assert_eq!(
        created.headers.get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );

    // The list shows it, without the secret.
    let list = admin.get("/settings/api-access").await;
    assert!(list.contains("Okta provisioning"));
    assert!(list.contains("licenses.read"));
    assert!(list.contains("Never"));
    assert!(!list.contains(&secret));
    assert!(!list.contains(&secret[6..20]));

    // It works, and the list then shows its last use.
    let reply = get(&app, "/api/v1/users?$top=1", &secret).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!admin.get("/settings/api-access").await.contains("Never"));

    // The same name again is refused on the form, and nothing is added.
    let again = admin
        .submit(
            "/settings/api-access/new",
            "/settings/api-access",
            &[
                ("name", "okta provisioning"),
                ("scopes", "scim"),
                ("expires", "30"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.contains("already exists"));
    assert!(again.contains("aria-invalid=\"true\""));
    assert!(!again.contains("allot_"));
    for (fields, message) in [
        (
            vec![("name", "No scopes"), ("expires", "30")],
            "at least one scope",
        ),
        (
            vec![("name", "Odd"), ("scopes", "everything"), ("expires", "30")],
            "Unknown scope",
        ),
        (
            vec![("name", "Long"), ("scopes", "scim"), ("expires", "45")],
            "30, 90 or 365",
        ),
    ] {
        let page = admin
            .submit("/settings/api-access/new", "/settings/api-access", &fields)
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.contains(message), "{message}");
    }
    assert_eq!(
        api_tokens::list(
            &mut db.conn(),
            &actor(&db, "admin@contoso.example"),
            test_now(),
            tenants(&db).0
        )
        .unwrap()
        .len(),
        1
    );

    // Revoke: a form with its CSRF token; without one, nothing happens.
    let id = api_tokens::list(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        tenants(&db).0,
    )
    .unwrap()[0]
        .id;
    let path = format!("/settings/api-access/{id}/revoke");
    assert_eq!(
        admin.post_raw(&path, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&app, "/api/v1/users?$top=1", &secret).await.status,
        StatusCode::OK
    );
    let revoked = admin.submit("/settings/api-access", &path, &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let list = admin.get("/settings/api-access").await;
    assert!(list.contains("Revoked the token Okta provisioning."));
    assert!(list.contains("There are no API tokens yet."));
    assert_eq!(
        get(&app, "/api/v1/users?$top=1", &secret).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(audit_count(&db, tenants(&db).0, "Added API token"), 1);
    assert_eq!(audit_count(&db, tenants(&db).0, "Revoked API token"), 1);
}

#[actix_web::test]
async fn only_global_admins_see_or_use_api_access() {
    let db = TestDb::with_demo();
    let made = token(&db, "Okta provisioning", &[Scope::UsersRead]);
    for email in [
        "billing@contoso.example",
        "licenses@contoso.example",
        "users@contoso.example",
    ] {
        let mut b = signed_in(&db, email).await;
        assert!(
            !b.get("/").await.contains("/settings/api-access"),
            "{email} sees no API access link"
        );
        assert_eq!(
            b.get("/settings/api-access").await.status,
            StatusCode::FORBIDDEN,
            "{email}"
        );
        assert_eq!(
            b.get("/settings/api-access/new").await.status,
            StatusCode::FORBIDDEN,
            "{email}"
        );
        // Their forms (with a CSRF token from a page they may open) are refused too.
        let added = b
            .submit(
                "/",
                "/settings/api-access",
                &[("name", "Mine"), ("scopes", "scim"), ("expires", "30")],
            )
            .await;
        assert_eq!(added.status, StatusCode::FORBIDDEN, "{email}");
        let revoke = b
            .submit(
                "/",
                &format!("/settings/api-access/{}/revoke", made.id),
                &[],
            )
            .await;
        assert_eq!(revoke.status, StatusCode::FORBIDDEN, "{email}");
    }
    // Staff have no tenant; Fabrikam's Global admin doesn't find Contoso's token.
    let mut support = signed_in(&db, "support@allot.example").await;
    assert_eq!(
        support.get("/settings/api-access").await.status,
        StatusCode::FORBIDDEN
    );
    let mut fabrikam = signed_in(&db, "admin@fabrikam.example").await;
    assert!(
        !fabrikam
            .get("/settings/api-access")
            .await
            .contains("Okta provisioning")
    );
    let revoke = fabrikam
        .submit(
            "/settings/api-access",
            &format!("/settings/api-access/{}/revoke", made.id),
            &[],
        )
        .await;
    assert_eq!(revoke.status, StatusCode::NOT_FOUND);
    assert!(matches!(
        api_tokens::authenticate(&mut db.conn(), test_now(), &made.secret).unwrap(),
        api_tokens::Authentication::Valid(_)
    ));
}
