//! The JSON API's writes over HTTP (issue 14, second part), as a client written for Microsoft
//! Graph calls them: `assignLicense` all or nothing (a `CountViolation` changes nothing, in the
//! database nor in `subscribedSkus`), `licenseDetails` with the apps turned off, scopes (403),
//! tenants (404) and bodies that can't be read (400), on either database.

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::test;
use allot::domain::api_tokens;
use allot::domain::authz::Scope;
use allot::domain::licenses::{self, PoolRef};
use allot::domain::schema::{license_assignments, license_pools, users};
use allot::domain::{Actor, Clock, TenantId, UserId};
use allot::web;
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

const BASE: &str = "http://localhost:8080/api/v1";

struct Reply {
    status: StatusCode,
    json: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }

    fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or_default()
    }
}

async fn call<S, B>(app: &S, req: test::TestRequest, token: &str) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
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
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/json",
        "{status}"
    );
    if !status.is_success() {
        assert!(json["error"]["code"].is_string(), "{json}");
        assert!(json["error"]["message"].is_string(), "{json}");
    }
    Reply { status, json }
}

async fn get<S, B>(app: &S, path: &str, token: &str) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    call(app, test::TestRequest::get().uri(path), token).await
}

async fn assign<S, B>(app: &S, user: &str, body: Value, token: &str) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    call(
        app,
        test::TestRequest::post()
            .uri(&format!("/api/v1/users/{user}/assignLicense"))
            .set_json(body),
        token,
    )
    .await
}

static TOKENS: AtomicUsize = AtomicUsize::new(0);

/// A token of `tenant` with `scopes`, made by its Global admin `admin`.
fn token_in(db: &TestDb, tenant: TenantId, admin: &str, scopes: &[Scope]) -> String {
    api_tokens::create(
        &mut db.conn(),
        &actor(db, admin),
        test_now(),
        tenant,
        &format!("Scripts {}", TOKENS.fetch_add(1, Ordering::Relaxed)),
        scopes,
        30,
    )
    .unwrap()
    .secret
}

fn contoso_token(db: &TestDb, scopes: &[Scope]) -> String {
    let (contoso, _) = tenants(db);
    token_in(db, contoso, "admin@contoso.example", scopes)
}

fn app_state(db: &TestDb) -> web::AppState {
    state(db, Clock::fixed(test_now()))
}

/// The GUID of a demo user, the API's `id`.
fn guid(db: &TestDb, email: &str) -> String {
    users::table
        .filter(users::email.eq(email))
        .select(users::guid)
        .first(&mut db.conn())
        .unwrap()
}

/// The `skuId` of a product's pool in `tenant`, as `subscribedSkus` gives it.
fn sku(db: &TestDb, tenant: TenantId, product: &str) -> String {
    let product = product_id(db, product);
    // Reading them makes the pools' GUIDs, as a client's first call would.
    licenses::subscribed_skus(&mut db.conn(), &Actor::System("test"), tenant).unwrap();
    license_pools::table
        .filter(license_pools::tenant_id.eq(tenant.0))
        .filter(license_pools::product_id.eq(product.0))
        .select(license_pools::sku_id)
        .first(&mut db.conn())
        .unwrap()
}

fn plan(product_code: &str, app: &str) -> String {
    licenses::service_plan_id(product_code, app)
}

/// The products a user holds, by name, straight from the database.
fn held(db: &TestDb, user: UserId) -> Vec<String> {
    use allot::domain::schema::products;
    license_assignments::table
        .inner_join(products::table)
        .filter(license_assignments::user_id.eq(user.0))
        .order(products::name)
        .select(products::name)
        .load(&mut db.conn())
        .unwrap()
}

/// `consumedUnits` of each product in `subscribedSkus`, by `skuPartNumber`.
async fn consumed<S, B>(app: &S, token: &str) -> Vec<(String, i64)>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = get(app, "/api/v1/subscribedSkus", token).await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.json["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["skuPartNumber"].as_str().unwrap().to_owned(),
                s["consumedUnits"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn assign_license_adds_with_apps_off_answers_the_user_and_removes_again() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = contoso_token(&db, &[Scope::LicensesWrite, Scope::UsersRead]);
    let premium = sku(&db, contoso, "Business Premium");
    let onedrive = plan("BUSINESS_PREMIUM", "OneDrive files");
    let user = user_id(&db, "user16@contoso.example");
    let id = guid(&db, "user16@contoso.example");
    assert!(held(&db, user).is_empty());

    let reply = assign(
        &app,
        &id,
        json!({"addLicenses": [{"skuId": premium, "disabledPlans": [onedrive]}], "removeLicenses": []}),
        &token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["id"], id.as_str());
    assert_eq!(
        reply.json["@odata.context"],
        format!("{BASE}/$metadata#users/$entity")
    );
    assert_eq!(reply.json["userPrincipalName"], "user16@contoso.example");
    assert_eq!(
        reply.json["assignedLicenses"],
        json!([{"skuId": premium, "disabledPlans": [onedrive]}])
    );
    assert_eq!(held(&db, user), ["Business Premium"]);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 11, 2));
    assert_eq!(audit_count(&db, contoso, "Assigned license"), 1);
    assert_eq!(audit_count(&db, contoso, "Turned off app"), 1);

    // licenseDetails and the user's page show the app off.
    let details = get(&app, &format!("/api/v1/users/{id}/licenseDetails"), &token).await;
    assert_eq!(details.status, StatusCode::OK, "{}", details.json);
    assert_eq!(
        details.json["@odata.context"],
        format!("{BASE}/$metadata#users('{id}')/licenseDetails")
    );
    let value = details.json["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["skuId"], premium.as_str());
    assert_eq!(value[0]["skuPartNumber"], "BUSINESS_PREMIUM");
    let plans: Vec<(String, String, String)> = value[0]["servicePlans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["appliesTo"], "User");
            (
                p["servicePlanId"].as_str().unwrap().to_owned(),
                p["servicePlanName"].as_str().unwrap().to_owned(),
                p["provisioningStatus"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        plans,
        [
            (
                plan("BUSINESS_PREMIUM", "Exchange Online mailbox"),
                "EXCHANGE_ONLINE_MAILBOX".to_owned(),
                "Success".to_owned()
            ),
            (
                onedrive.clone(),
                "ONEDRIVE_FILES".to_owned(),
                "Disabled".to_owned()
            ),
            (
                plan("BUSINESS_PREMIUM", "Office apps"),
                "OFFICE_APPS".to_owned(),
                "Success".to_owned()
            ),
        ]
    );
    let mut admin = signed_in(&db, "licenses@contoso.example").await;
    let page = admin.get(&format!("/users/{}", user.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    let product = product_id(&db, "Business Premium").0;
    let box_of = |app: &str| {
        format!(
            "id=\"app-{product}-{}\"",
            app_id(&db, "Business Premium", app).0
        )
    };
    assert!(page.contains(&format!(
        "{} checked aria-describedby",
        box_of("Exchange Online mailbox")
    )));
    assert!(
        page.contains(&format!("{}>", box_of("OneDrive files"))),
        "OneDrive is off on the page: {}",
        page.body
    );
    assert!(page.contains(&format!("{} checked>", box_of("Office apps"))));

    // Assigning again with no plan off turns OneDrive back on; the seat is the same.
    let again = assign(
        &app,
        "user16@contoso.example",
        json!({"addLicenses": [{"skuId": premium, "disabledPlans": []}], "removeLicenses": []}),
        &token,
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.json);
    assert_eq!(
        again.json["assignedLicenses"],
        json!([{"skuId": premium, "disabledPlans": []}])
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 11, 2));

    let removed = assign(
        &app,
        &id,
        json!({"addLicenses": [], "removeLicenses": [premium]}),
        &token,
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.json);
    assert_eq!(removed.json["assignedLicenses"], json!([]));
    assert!(held(&db, user).is_empty());
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    assert_eq!(audit_count(&db, contoso, "Unassigned license"), 1);
}

#[actix_web::test]
async fn over_assigning_is_a_count_violation_and_changes_nothing() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = contoso_token(&db, &[Scope::LicensesWrite]);
    let premium_product = product_id(&db, "Business Premium");
    // Business Premium's last three licenses go to user16–18.
    licenses::assign(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
        PoolRef::Tenant(premium_product),
        &contoso_users(&db, 16, 18),
    )
    .unwrap();
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 13, 0));
    let premium = sku(&db, contoso, "Business Premium");
    let sales = sku(&db, contoso, "Sales Professional");
    let sales_before = pool_counts(&db, contoso, "Sales Professional");
    let consumed_before = consumed(&app, &token).await;
    let assigned_before = audit_count(&db, contoso, "Assigned license");

    // Sales Professional has licenses left, Business Premium none: neither is assigned.
    let user = user_id(&db, "user19@contoso.example");
    let reply = assign(
        &app,
        "user19@contoso.example",
        json!({"addLicenses": [{"skuId": sales}, {"skuId": premium}], "removeLicenses": []}),
        &token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "CountViolation");
    assert!(
        reply.message().contains("Business Premium") && reply.message().contains(" 0 "),
        "{}",
        reply.message()
    );
    assert!(held(&db, user).is_empty());
    assert_eq!(
        pool_counts(&db, contoso, "Sales Professional"),
        sales_before
    );
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 13, 0));
    assert_eq!(consumed(&app, &token).await, consumed_before);
    assert_eq!(
        audit_count(&db, contoso, "Assigned license"),
        assigned_before
    );

    // A removal in the same call is undone as well.
    let holder = user_id(&db, "user05@contoso.example");
    let reply = assign(
        &app,
        "user05@contoso.example",
        json!({"addLicenses": [{"skuId": sales}], "removeLicenses": [premium]}),
        &token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(held(&db, holder), ["Sales Professional"]);
    let reply = assign(
        &app,
        "user19@contoso.example",
        json!({"addLicenses": [{"skuId": premium}], "removeLicenses": []}),
        &token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let reply = assign(
        &app,
        "user05@contoso.example",
        json!({"addLicenses": [{"skuId": premium}], "removeLicenses": [sales]}),
        &token,
    )
    .await;
    assert_eq!(reply.code(), "CountViolation", "{}", reply.json);
    assert_eq!(held(&db, holder), ["Sales Professional"]);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 13, 0));
}

#[actix_web::test]
async fn unknown_licenses_and_plans_and_inherited_ones_are_400_and_other_tenants_users_404() {
    let db = TestDb::with_demo();
    let (contoso, fabrikam) = tenants(&db);
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = contoso_token(&db, &[Scope::LicensesWrite, Scope::LicensesRead]);
    let premium = sku(&db, contoso, "Business Premium");
    let sales = sku(&db, contoso, "Sales Professional");
    let before = consumed(&app, &token).await;

    let unknown = uuid::Uuid::new_v4().to_string();
    let reply = assign(
        &app,
        "user16@contoso.example",
        json!({"addLicenses": [{"skuId": unknown}], "removeLicenses": []}),
        &token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "Request_BadRequest");
    assert_eq!(reply.json["error"]["target"], "addLicenses");
    assert!(reply.message().contains(&unknown), "{}", reply.message());

    let reply = assign(
        &app,
        "user16@contoso.example",
        json!({"addLicenses": [{"skuId": premium, "disabledPlans": [plan("SALES_PROFESSIONAL", "Sales data")]}], "removeLicenses": []}),
        &token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["error"]["target"], "disabledPlans");

    // Sales Professional comes to user11 from the Sales team group.
    let reply = assign(
        &app,
        "user11@contoso.example",
        json!({"addLicenses": [], "removeLicenses": [sales]}),
        &token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply
            .message()
            .starts_with("User license is inherited from a group membership"),
        "{}",
        reply.message()
    );
    assert_eq!(
        held(&db, user_id(&db, "user11@contoso.example")),
        ["Sales Professional"]
    );

    let reply = assign(
        &app,
        "user16@contoso.example",
        json!({"addLicenses": [], "removeLicenses": [premium]}),
        &token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    // Fabrikam's pool is no license of Contoso's; Fabrikam's user is not found.
    let reply = assign(
        &app,
        "user16@contoso.example",
        json!({"addLicenses": [{"skuId": sku(&db, fabrikam, "Business Premium")}], "removeLicenses": []}),
        &token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let fabrikam_user: String = users::table
        .filter(users::tenant_id.eq(fabrikam.0))
        .filter(users::email.like("user%"))
        .select(users::guid)
        .first(&mut db.conn())
        .unwrap();
    for path in [
        fabrikam_user.as_str(),
        "nobody@contoso.example",
        "not-a-guid",
    ] {
        let reply = assign(
            &app,
            path,
            json!({"addLicenses": [{"skuId": premium}], "removeLicenses": []}),
            &token,
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.code(), "Request_ResourceNotFound");
        let details = get(
            &app,
            &format!("/api/v1/users/{path}/licenseDetails"),
            &token,
        )
        .await;
        assert_eq!(details.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(consumed(&app, &token).await, before);
}

#[actix_web::test]
async fn a_missing_scope_is_403_and_a_body_that_cant_be_read_is_a_json_400() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let app = test::init_service(web::app(app_state(&db))).await;
    let premium = sku(&db, contoso, "Business Premium");
    let body = json!({"addLicenses": [{"skuId": premium}], "removeLicenses": []});
    for scopes in [
        vec![Scope::UsersRead, Scope::UsersWrite],
        vec![Scope::LicensesRead],
    ] {
        let token = contoso_token(&db, &scopes);
        let reply = assign(&app, "user16@contoso.example", body.clone(), &token).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{scopes:?}");
        assert_eq!(reply.code(), "Authorization_RequestDenied");
    }
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
    // licenseDetails takes either read right, and nothing else.
    for (scopes, status) in [
        (vec![Scope::UsersRead], StatusCode::OK),
        (vec![Scope::LicensesRead], StatusCode::OK),
        (vec![Scope::BillingRead], StatusCode::FORBIDDEN),
    ] {
        let token = contoso_token(&db, &scopes);
        let reply = get(
            &app,
            "/api/v1/users/user02@contoso.example/licenseDetails",
            &token,
        )
        .await;
        assert_eq!(reply.status, status, "{scopes:?}");
        if status == StatusCode::OK {
            // Allan Deyoung's Office apps are off in the demo.
            let premium_detail = reply.json["value"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["skuPartNumber"] == "BUSINESS_PREMIUM")
                .unwrap()
                .clone();
            let office = premium_detail["servicePlans"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["servicePlanName"] == "OFFICE_APPS")
                .unwrap()
                .clone();
            assert_eq!(office["provisioningStatus"], "Disabled");
        }
    }

    let token = contoso_token(&db, &[Scope::LicensesWrite]);
    for raw in [
        "{\"addLicenses\": [",
        "{\"addLicenses\": []}",
        "{\"addLicenses\": [{\"disabledPlans\": []}], \"removeLicenses\": []}",
        "[]",
    ] {
        let reply = call(
            &app,
            test::TestRequest::post()
                .uri("/api/v1/users/user16@contoso.example/assignLicense")
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload(raw),
            &token,
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{raw}");
        assert_eq!(reply.code(), "BadRequest", "{raw}");
    }
    let reply = call(
        &app,
        test::TestRequest::get().uri("/api/v1/users/user16@contoso.example/assignLicense"),
        &token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(pool_counts(&db, contoso, "Business Premium"), (13, 10, 3));
}
