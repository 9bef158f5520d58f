//! SCIM 2.0 over HTTP (issue 14), on either database: what Entra ID's provisioning client and
//! an RFC 7644 client send, and what they must get back. Examples follow RFC 7643/7644 (the
//! filters of §3.4.2.2, the PATCH shapes of §3.5.2, ETags of §3.14) and Entra ID's documented
//! requests (string booleans, "Replace", member removal by value, dotted keys without a path).

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::test;
use allot::domain::accounts::UserState;
use allot::domain::api_tokens;
use allot::domain::authz::Scope;
use allot::domain::schema::{audit_log, license_assignments, users};
use allot::domain::{Actor, Clock, TenantId, groups};
use allot::web;
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

const BASE: &str = "http://localhost:8080/scim/v2";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Reply {
    status: StatusCode,
    headers: actix_web::http::header::HeaderMap,
    json: Value,
}

impl Reply {
    fn scim_type(&self) -> &str {
        self.json["scimType"].as_str().unwrap_or_default()
    }

    fn etag(&self) -> String {
        self.headers
            .get(header::ETAG)
            .expect("an ETag")
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn ids(&self) -> Vec<String> {
        self.json["Resources"]
            .as_array()
            .unwrap_or_else(|| panic!("a ListResponse: {}", self.json))
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// A SCIM call: every answer with a body is `application/scim+json`, every error in SCIM's
/// error schema with its status as a string.
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
    if body.is_empty() {
        assert!(
            status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED,
            "{status} without a body"
        );
        return Reply {
            status,
            headers,
            json: Value::Null,
        };
    }
    let json: Value = serde_json::from_slice(&body).unwrap_or_else(|_| {
        panic!(
            "{status}: not JSON: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        )
    });
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "application/scim+json",
        "{status} {json}"
    );
    if !status.is_success() {
        assert_eq!(json["schemas"], json!([ERROR]), "{json}");
        assert_eq!(json["status"], json!(status.as_u16().to_string()), "{json}");
        assert!(json["detail"].is_string(), "{json}");
    }
    Reply {
        status,
        headers,
        json,
    }
}

fn scim_body(req: test::TestRequest, body: &Value) -> test::TestRequest {
    req.insert_header((header::CONTENT_TYPE, "application/scim+json"))
        .set_payload(body.to_string())
}

static TOKENS: AtomicUsize = AtomicUsize::new(0);

fn token_in(db: &TestDb, tenant: TenantId, admin: &str, scopes: &[Scope]) -> String {
    api_tokens::create(
        &mut db.conn(),
        &actor(db, admin),
        test_now(),
        tenant,
        &format!(
            "Entra provisioning {}",
            TOKENS.fetch_add(1, Ordering::Relaxed)
        ),
        scopes,
        30,
    )
    .unwrap()
    .secret
}

fn scim_token(db: &TestDb) -> String {
    let (contoso, _) = tenants(db);
    token_in(db, contoso, "admin@contoso.example", &[Scope::Scim])
}

fn app_state(db: &TestDb) -> web::AppState {
    state(db, Clock::fixed(test_now()))
}

/// What Entra ID's provisioning client posts for a new user.
fn entra_user(user_name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": given.to_lowercase(),
        "userName": user_name,
        "active": true,
        "displayName": format!("{given} {family}"),
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": format!("{given} {family}"), "familyName": family, "givenName": given},
        "title": "Designer",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Design"}
    })
}

fn state_of(db: &TestDb, email: &str) -> UserState {
    users::table
        .filter(users::email.eq(email))
        .select(users::state)
        .first(&mut db.conn())
        .unwrap()
}

fn filter(text: &str) -> String {
    url_escape(text)
}

fn url_escape(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[actix_web::test]
async fn discovery_says_what_this_server_supports() {
    let db = TestDb::with_demo();
    let app = test::init_service(web::app(app_state(&db))).await;
    let config = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/ServiceProviderConfig"),
        None,
    )
    .await;
    assert_eq!(config.status, StatusCode::OK);
    assert_eq!(config.json["patch"]["supported"], json!(true));
    assert_eq!(config.json["filter"]["supported"], json!(true));
    assert_eq!(config.json["etag"]["supported"], json!(true));
    assert_eq!(config.json["bulk"]["supported"], json!(false));
    assert_eq!(config.json["sort"]["supported"], json!(false));
    assert_eq!(
        config.json["authenticationSchemes"][0]["type"],
        json!("oauthbearertoken")
    );

    let types = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/ResourceTypes"),
        None,
    )
    .await;
    assert_eq!(types.json["schemas"], json!([LIST]));
    assert_eq!(types.ids(), vec!["User", "Group"]);
    assert_eq!(types.json["Resources"][0]["endpoint"], json!("/Users"));

    let schemas = call(&app, test::TestRequest::get().uri("/scim/v2/Schemas"), None).await;
    assert_eq!(schemas.ids(), vec![USER, GROUP]);
    let user = call(
        &app,
        test::TestRequest::get().uri(&format!("/scim/v2/Schemas/{USER}")),
        None,
    )
    .await;
    let user_name = user.json["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap()
        .clone();
    assert_eq!(user_name["uniqueness"], json!("server"));
    assert_eq!(user_name["required"], json!(true));
    assert_eq!(user_name["caseExact"], json!(false));

    let missing = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Schemas/urn:nothing"),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let nowhere = call(&app, test::TestRequest::get().uri("/scim/v2/Nothing"), None).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    let bulk = call(
        &app,
        scim_body(test::TestRequest::post().uri("/scim/v2/Bulk"), &json!({})),
        None,
    )
    .await;
    assert_eq!(bulk.status, StatusCode::NOT_IMPLEMENTED);
}

#[actix_web::test]
async fn only_a_live_token_with_the_scim_scope_provisions() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let app = test::init_service(web::app(app_state(&db))).await;
    let anonymous = call(&app, test::TestRequest::get().uri("/scim/v2/Users"), None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers.get(header::WWW_AUTHENTICATE).is_some());
    let wrong = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users"),
        Some("allot_nope"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    // users.write may change users through the API, but SCIM wants its own scope.
    let api_only = token_in(&db, contoso, "admin@contoso.example", &[Scope::UsersWrite]);
    let refused = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users"),
        Some(&api_only),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let token = scim_token(&db);
    let listed = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users"),
        Some(&token),
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK);
    let id = api_tokens::list(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
    )
    .unwrap()
    .into_iter()
    .find(|t| t.scopes == vec![Scope::Scim])
    .unwrap()
    .id;
    api_tokens::revoke(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
        id,
    )
    .unwrap();
    let revoked = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users"),
        Some(&token),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn entra_creates_finds_patches_deactivates_and_deletes_a_user() {
    let db = TestDb::with_demo();
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = scim_token(&db);
    let email = "casey.jensen@contoso.example";

    // Entra asks first whether the user exists: an empty list, not a 404.
    let query = format!(
        "/scim/v2/Users?filter={}",
        filter(&format!("userName eq \"{email}\""))
    );
    let absent = call(&app, test::TestRequest::get().uri(&query), Some(&token)).await;
    assert_eq!(absent.status, StatusCode::OK);
    assert_eq!(absent.json["totalResults"], json!(0));
    assert_eq!(absent.json["Resources"], json!([]));

    let created = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Users"),
            &entra_user("Casey.Jensen@Contoso.example", "Casey", "Jensen"),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(created.json["userName"], json!(email));
    assert_eq!(created.json["active"], json!(true));
    assert_eq!(created.json["name"]["givenName"], json!("Casey"));
    assert_eq!(created.json["externalId"], json!("casey"));
    assert_eq!(created.json["meta"]["resourceType"], json!("User"));
    assert_eq!(
        created.headers.get(header::LOCATION).unwrap(),
        &format!("{BASE}/Users/{id}")
    );
    assert_eq!(
        created.etag(),
        created.json["meta"]["version"].as_str().unwrap()
    );
    assert!(created.json.get("password").is_none());
    assert_eq!(state_of(&db, email), UserState::Active);
    // The audit log names the token.
    let who: String = audit_log::table
        .filter(audit_log::action.eq("Added user"))
        .filter(audit_log::target.eq(email))
        .select(audit_log::actor)
        .first(&mut db.conn())
        .unwrap();
    assert!(who.contains("API token 'Entra provisioning"), "{who}");

    let again = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Users"),
            &entra_user(email, "Casey", "Jensen"),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.scim_type(), "uniqueness");

    // Found by userName in any case.
    let query = format!(
        "/scim/v2/Users?filter={}",
        filter("USERNAME EQ \"casey.JENSEN@contoso.example\"")
    );
    let found = call(&app, test::TestRequest::get().uri(&query), Some(&token)).await;
    assert_eq!(found.json["totalResults"], json!(1));
    assert_eq!(found.ids(), vec![id.clone()]);

    // Entra's PATCH: "Replace", dotted keys without a path, a work email by filter.
    let patched = call(
        &app,
        scim_body(
            test::TestRequest::patch().uri(&format!("/scim/v2/Users/{id}")),
            &json!({"schemas": [PATCH], "Operations": [
                {"op": "Replace", "value": {"name.familyName": "Jensen-Ruiz", "displayName": "Casey Jensen-Ruiz"}},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "casey@contoso.example"},
                {"op": "Add", "path": "title", "value": "Lead designer"}
            ]}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.json);
    assert_eq!(patched.json["displayName"], json!("Casey Jensen-Ruiz"));
    assert_eq!(patched.json["name"]["familyName"], json!("Jensen-Ruiz"));
    assert_eq!(patched.json["name"]["givenName"], json!("Casey"));
    assert_eq!(
        patched.json["emails"][0]["value"],
        json!("casey@contoso.example")
    );
    assert_eq!(
        patched.json["userName"],
        json!(email),
        "the sign-in name stays"
    );
    assert_ne!(patched.etag(), created.etag());

    // A change on the version read before the PATCH is refused.
    let stale = call(
        &app,
        scim_body(
            test::TestRequest::patch().uri(&format!("/scim/v2/Users/{id}")),
            &json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Old"}]}),
        )
        .insert_header((header::IF_MATCH, created.etag())),
        Some(&token),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);

    // Deactivated with the string Entra sends: blocked, sign-in ended.
    let deactivated = call(
        &app,
        scim_body(
            test::TestRequest::patch().uri(&format!("/scim/v2/Users/{id}")),
            &json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        )
        .insert_header((header::IF_MATCH, patched.etag())),
        Some(&token),
    )
    .await;
    assert_eq!(deactivated.status, StatusCode::OK, "{}", deactivated.json);
    assert_eq!(deactivated.json["active"], json!(false));
    assert_eq!(state_of(&db, email), UserState::Blocked);
    assert_eq!(audit_count(&db, tenants(&db).0, "Blocked sign-in"), 1);
    let inactive = call(
        &app,
        test::TestRequest::get().uri(&format!(
            "/scim/v2/Users?filter={}",
            filter("active eq false")
        )),
        Some(&token),
    )
    .await;
    assert_eq!(inactive.ids(), vec![id.clone()]);

    let deleted = call(
        &app,
        test::TestRequest::delete().uri(&format!("/scim/v2/Users/{id}")),
        Some(&token),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        state_of(&db, email),
        UserState::Deleted,
        "restorable in Deleted users"
    );
    let gone = call(
        &app,
        test::TestRequest::get().uri(&format!("/scim/v2/Users/{id}")),
        Some(&token),
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let gone_again = call(
        &app,
        test::TestRequest::delete().uri(&format!("/scim/v2/Users/{id}")),
        Some(&token),
    )
    .await;
    assert_eq!(gone_again.status, StatusCode::NOT_FOUND);
    // Its userName stays taken while it can be restored, and the client hears why.
    let recreate = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Users"),
            &entra_user(email, "Casey", "Jensen"),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(recreate.status, StatusCode::CONFLICT);
    assert!(
        recreate.json["detail"]
            .as_str()
            .unwrap()
            .contains("deleted user"),
        "{}",
        recreate.json
    );
}

#[actix_web::test]
async fn deleting_a_licensed_user_frees_their_licenses() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = scim_token(&db);
    let user = user_id(&db, "user01@contoso.example");
    let held: i64 = license_assignments::table
        .filter(license_assignments::user_id.eq(user.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert!(held > 0, "the demo's user01 holds licenses");
    let (_, assigned, _) = pool_counts(&db, contoso, "Business Premium");
    let guid: String = users::table
        .find(user.0)
        .select(users::guid)
        .first(&mut db.conn())
        .unwrap();
    let deleted = call(
        &app,
        test::TestRequest::delete().uri(&format!("/scim/v2/Users/{guid}")),
        Some(&token),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let left: i64 = license_assignments::table
        .filter(license_assignments::user_id.eq(user.0))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        pool_counts(&db, contoso, "Business Premium").1,
        assigned - 1
    );
}

#[actix_web::test]
async fn filters_use_every_operator_of_the_rfc() {
    let db = TestDb::with_demo();
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = scim_token(&db);
    let mut ids = Vec::new();
    for (email, given, family) in [
        ("ana.bell@contoso.example", "Ana", "Bell"),
        ("anton.berg@contoso.example", "Anton", "Berg"),
        ("zoe.cruz@contoso.example", "Zoe", "Cruz"),
    ] {
        let created = call(
            &app,
            scim_body(
                test::TestRequest::post().uri("/scim/v2/Users"),
                &entra_user(email, given, family),
            ),
            Some(&token),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
        ids.push(created.json["id"].as_str().unwrap().to_owned());
    }
    let (ana, anton, zoe) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    let run = |text: &str| format!("/scim/v2/Users?filter={}", filter(text));
    for (text, expected) in [
        (r#"userName sw "an""#, vec![ana.clone(), anton.clone()]),
        (r#"userName ew "berg@contoso.example""#, vec![anton.clone()]),
        (r#"displayName co "OE CR""#, vec![zoe.clone()]),
        (r#"name.familyName eq "bell""#, vec![ana.clone()]),
        (r#"externalId eq "anton""#, vec![anton.clone()]),
        // externalId is compared exactly (caseExact).
        (r#"externalId eq "ANTON""#, vec![]),
        (
            r#"userName sw "an" and not (name.givenName eq "Ana")"#,
            vec![anton.clone()],
        ),
        (
            r#"name.givenName eq "Zoe" or name.givenName eq "Ana""#,
            vec![ana.clone(), zoe.clone()],
        ),
        (
            r#"(userName sw "an" or userName sw "zo") and externalId pr"#,
            vec![ana.clone(), anton.clone(), zoe.clone()],
        ),
        (
            r#"emails[type eq "work" and value co "cruz"]"#,
            vec![zoe.clone()],
        ),
        (r#"emails.value sw "ana.""#, vec![ana.clone()]),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "zoe.cruz@contoso.example""#,
            vec![zoe.clone()],
        ),
        (r#"title pr and userName sw "an""#, vec![]),
        (r#"id eq "nothing-like-an-id""#, vec![]),
    ] {
        let reply = call(&app, test::TestRequest::get().uri(&run(text)), Some(&token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{text}: {}", reply.json);
        assert_eq!(reply.ids(), expected, "{text}");
        assert_eq!(reply.json["totalResults"], json!(expected.len()), "{text}");
    }
    let recent = call(
        &app,
        test::TestRequest::get().uri(&run(&format!(
            "meta.created ge \"{}\" and userName sw \"an\"",
            test_now().to_rfc3339()
        ))),
        Some(&token),
    )
    .await;
    assert_eq!(recent.ids(), vec![ana.clone(), anton.clone()]);
    let by_id = call(
        &app,
        test::TestRequest::get().uri(&run(&format!("id eq \"{zoe}\""))),
        Some(&token),
    )
    .await;
    assert_eq!(by_id.ids(), vec![zoe.clone()]);

    for bad in [
        r#"userName eq"#,
        r#"userName is "x""#,
        r#"(userName eq "x""#,
        r#"nickName eq "x" or shoeSize gt 3"#,
        r#"active co "tr""#,
        r#"meta.created gt "yesterday""#,
    ] {
        let reply = call(&app, test::TestRequest::get().uri(&run(bad)), Some(&token)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.scim_type(), "invalidFilter", "{bad}: {}", reply.json);
    }
}

#[actix_web::test]
async fn lists_page_from_one_and_shape_their_resources() {
    let db = TestDb::with_demo();
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = scim_token(&db);
    let all = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users?count=1000"),
        Some(&token),
    )
    .await;
    let total = all.json["totalResults"].as_i64().unwrap();
    assert!(total > 40, "the demo's Contoso users");
    assert_eq!(all.ids().len() as i64, total);
    assert!(
        all.json["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["userName"]
                .as_str()
                .unwrap()
                .ends_with("@contoso.example")),
        "only the token's tenant"
    );

    let page = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users?startIndex=3&count=2"),
        Some(&token),
    )
    .await;
    assert_eq!(page.json["startIndex"], json!(3));
    assert_eq!(page.json["itemsPerPage"], json!(2));
    assert_eq!(page.json["totalResults"], json!(total));
    assert_eq!(page.ids(), all.ids()[2..4].to_vec());
    let counted = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users?count=0"),
        Some(&token),
    )
    .await;
    assert_eq!(counted.json["totalResults"], json!(total));
    assert_eq!(counted.json["Resources"], json!([]));
    let beyond = call(
        &app,
        test::TestRequest::get().uri(&format!("/scim/v2/Users?startIndex={}", total + 5)),
        Some(&token),
    )
    .await;
    assert_eq!(beyond.json["Resources"], json!([]));
    let bad = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users?count=many"),
        Some(&token),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let narrow = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users?count=1&attributes=userName,name.givenName"),
        Some(&token),
    )
    .await;
    let user = &narrow.json["Resources"][0];
    let mut keys: Vec<&str> = user
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, vec!["id", "schemas", "userName"], "{user}");
    let without = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users?count=1&excludedAttributes=emails,meta"),
        Some(&token),
    )
    .await;
    let user = &without.json["Resources"][0];
    assert!(
        user.get("emails").is_none() && user.get("meta").is_none(),
        "{user}"
    );
    assert!(user.get("userName").is_some());
}

#[actix_web::test]
async fn put_replaces_the_user_under_its_etag() {
    let db = TestDb::with_demo();
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = scim_token(&db);
    let created = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Users"),
            &entra_user("dee.ortiz@contoso.example", "Dee", "Ortiz"),
        ),
        Some(&token),
    )
    .await;
    let id = created.json["id"].as_str().unwrap().to_owned();
    let fetched = call(
        &app,
        test::TestRequest::get().uri(&format!("/scim/v2/Users/{id}")),
        Some(&token),
    )
    .await;
    assert_eq!(fetched.etag(), created.etag());
    let unchanged = call(
        &app,
        test::TestRequest::get()
            .uri(&format!("/scim/v2/Users/{id}"))
            .insert_header((header::IF_NONE_MATCH, created.etag())),
        Some(&token),
    )
    .await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);

    let replacement = json!({"schemas": [USER], "userName": "dee.ortiz@contoso.example", "displayName": "Dee O."});
    let replaced = call(
        &app,
        scim_body(
            test::TestRequest::put().uri(&format!("/scim/v2/Users/{id}")),
            &replacement,
        )
        .insert_header((header::IF_MATCH, created.etag())),
        Some(&token),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.json);
    assert_eq!(replaced.json["displayName"], json!("Dee O."));
    assert!(replaced.json.get("name").is_none(), "left out, so cleared");
    assert!(replaced.json.get("externalId").is_none());

    let stale = call(
        &app,
        scim_body(
            test::TestRequest::put().uri(&format!("/scim/v2/Users/{id}")),
            &replacement,
        )
        .insert_header((header::IF_MATCH, created.etag())),
        Some(&token),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let stale_delete = call(
        &app,
        test::TestRequest::delete()
            .uri(&format!("/scim/v2/Users/{id}"))
            .insert_header((header::IF_MATCH, created.etag())),
        Some(&token),
    )
    .await;
    assert_eq!(stale_delete.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        state_of(&db, "dee.ortiz@contoso.example"),
        UserState::Active
    );

    // Another tenant's sign-in domain, and a password change, are refused.
    let elsewhere = call(
        &app,
        scim_body(
            test::TestRequest::put().uri(&format!("/scim/v2/Users/{id}")),
            &json!({"userName": "dee@fabrikam.example"}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    assert_eq!(elsewhere.scim_type(), "invalidValue");
    let password = call(
        &app,
        scim_body(
            test::TestRequest::put().uri(&format!("/scim/v2/Users/{id}")),
            &json!({"userName": "dee.ortiz@contoso.example", "password": "a new password 1"}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(password.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn another_tenants_users_and_groups_are_not_found() {
    let db = TestDb::with_demo();
    let (_, fabrikam) = tenants(&db);
    let app = test::init_service(web::app(app_state(&db))).await;
    let contoso_token = scim_token(&db);
    let fabrikam_token = token_in(&db, fabrikam, "admin@fabrikam.example", &[Scope::Scim]);
    let created = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Users"),
            &entra_user("eli.ford@contoso.example", "Eli", "Ford"),
        ),
        Some(&contoso_token),
    )
    .await;
    let id = created.json["id"].as_str().unwrap().to_owned();
    let path = format!("/scim/v2/Users/{id}");
    let get = call(
        &app,
        test::TestRequest::get().uri(&path),
        Some(&fabrikam_token),
    )
    .await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
    let patch = call(
        &app,
        scim_body(
            test::TestRequest::patch().uri(&path),
            &json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}),
        ),
        Some(&fabrikam_token),
    )
    .await;
    assert_eq!(patch.status, StatusCode::NOT_FOUND);
    let delete = call(
        &app,
        test::TestRequest::delete().uri(&path),
        Some(&fabrikam_token),
    )
    .await;
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
    assert_eq!(state_of(&db, "eli.ford@contoso.example"), UserState::Active);
    let search = call(
        &app,
        test::TestRequest::get().uri(&format!(
            "/scim/v2/Users?filter={}",
            filter("userName eq \"eli.ford@contoso.example\"")
        )),
        Some(&fabrikam_token),
    )
    .await;
    assert_eq!(search.json["totalResults"], json!(0));
    // Nor can Fabrikam's token provision into Contoso's domain.
    let foreign = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Users"),
            &entra_user("intruder@contoso.example", "In", "Truder"),
        ),
        Some(&fabrikam_token),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST);

    let group = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Groups"),
            &json!({"schemas": [GROUP], "displayName": "Contoso designers", "members": [{"value": id}]}),
        ),
        Some(&contoso_token),
    )
    .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.json);
    let group_id = group.json["id"].as_str().unwrap();
    let other = call(
        &app,
        test::TestRequest::get().uri(&format!("/scim/v2/Groups/{group_id}")),
        Some(&fabrikam_token),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    // A Fabrikam group can't take a Contoso member.
    let mixed = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Groups"),
            &json!({"displayName": "Mixed", "members": [{"value": id}]}),
        ),
        Some(&fabrikam_token),
    )
    .await;
    assert_eq!(mixed.status, StatusCode::BAD_REQUEST);
    assert_eq!(mixed.scim_type(), "invalidValue");
}

#[actix_web::test]
async fn a_scim_token_changes_no_admin() {
    let db = TestDb::with_demo();
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = scim_token(&db);
    let query = format!(
        "/scim/v2/Users?filter={}",
        filter("userName eq \"billing@contoso.example\"")
    );
    let found = call(&app, test::TestRequest::get().uri(&query), Some(&token)).await;
    let id = found.ids().pop().expect("the Billing admin");
    let blocked = call(
        &app,
        scim_body(
            test::TestRequest::patch().uri(&format!("/scim/v2/Users/{id}")),
            &json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    let deleted = call(
        &app,
        test::TestRequest::delete().uri(&format!("/scim/v2/Users/{id}")),
        Some(&token),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::FORBIDDEN);
    assert_eq!(state_of(&db, "billing@contoso.example"), UserState::Active);
    // Nor renamed.
    for (path, value) in [
        ("displayName", "Mallory"),
        ("userName", "mallory@contoso.example"),
    ] {
        let renamed = call(
            &app,
            scim_body(
                test::TestRequest::patch().uri(&format!("/scim/v2/Users/{id}")),
                &json!({"Operations": [{"op": "replace", "path": path, "value": value}]}),
            ),
            Some(&token),
        )
        .await;
        assert_eq!(renamed.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(state_of(&db, "billing@contoso.example"), UserState::Active);
}

#[actix_web::test]
async fn group_membership_over_scim_drives_group_licensing() {
    let db = TestDb::with_demo();
    let (contoso, _) = tenants(&db);
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = scim_token(&db);
    let mut ids = Vec::new();
    for (email, given, family) in [
        ("fay.gomez@contoso.example", "Fay", "Gomez"),
        ("gus.hale@contoso.example", "Gus", "Hale"),
    ] {
        let created = call(
            &app,
            scim_body(
                test::TestRequest::post().uri("/scim/v2/Users"),
                &entra_user(email, given, family),
            ),
            Some(&token),
        )
        .await;
        ids.push(created.json["id"].as_str().unwrap().to_owned());
    }
    let created = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Groups"),
            &json!({"schemas": [GROUP], "displayName": "Field sales", "externalId": "fs-1", "members": [{"value": ids[0]}]}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let group_id = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(created.json["members"][0]["value"], json!(ids[0]));
    assert_eq!(created.json["members"][0]["display"], json!("Fay Gomez"));

    // An admin assigns Sales Professional to the group on its page.
    let group = allot::domain::groups::list(&mut db.conn(), &Actor::System("test"), contoso)
        .unwrap()
        .into_iter()
        .find(|g| g.name == "Field sales")
        .unwrap()
        .id;
    let (_, before, _) = pool_counts(&db, contoso, "Sales Professional");
    groups::assign_product(
        &mut db.conn(),
        &actor(&db, "admin@contoso.example"),
        test_now(),
        contoso,
        group,
        product_id(&db, "Sales Professional"),
    )
    .unwrap();
    assert_eq!(
        pool_counts(&db, contoso, "Sales Professional").1,
        before + 1
    );

    // Entra adds a member: they get the group's license.
    let added = call(
        &app,
        scim_body(
            test::TestRequest::patch().uri(&format!("/scim/v2/Groups/{group_id}")),
            &json!({"schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": [{"value": ids[1]}]}]}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.json);
    assert_eq!(
        pool_counts(&db, contoso, "Sales Professional").1,
        before + 2
    );
    let member = call(
        &app,
        test::TestRequest::get().uri(&format!("/scim/v2/Users/{}", ids[1])),
        Some(&token),
    )
    .await;
    assert_eq!(member.json["groups"][0]["value"], json!(group_id));
    let of_group = call(
        &app,
        test::TestRequest::get().uri(&format!(
            "/scim/v2/Groups?filter={}&excludedAttributes=members",
            filter(&format!("members[value eq \"{}\"]", ids[1]))
        )),
        Some(&token),
    )
    .await;
    assert_eq!(of_group.ids(), vec![group_id.clone()]);
    assert!(of_group.json["Resources"][0].get("members").is_none());

    // Entra removes a member by value; the other way is the RFC's filter path.
    let removed = call(
        &app,
        scim_body(
            test::TestRequest::patch().uri(&format!("/scim/v2/Groups/{group_id}")),
            &json!({"schemas": [PATCH], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": ids[0]}]}]}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.json);
    assert_eq!(removed.json["members"].as_array().unwrap().len(), 1);
    assert_eq!(
        pool_counts(&db, contoso, "Sales Professional").1,
        before + 1
    );
    let filtered = call(
        &app,
        scim_body(
            test::TestRequest::patch().uri(&format!("/scim/v2/Groups/{group_id}")),
            &json!({"schemas": [PATCH], "Operations": [
                {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])},
                {"op": "replace", "path": "displayName", "value": "Field sales EMEA"}
            ]}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.json);
    assert_eq!(filtered.json["displayName"], json!("Field sales EMEA"));
    assert_eq!(filtered.json["members"], json!([]));
    assert_eq!(pool_counts(&db, contoso, "Sales Professional").1, before);

    // One bad operation changes nothing: the rename before it is not kept.
    let atomic = call(
        &app,
        scim_body(
            test::TestRequest::patch().uri(&format!("/scim/v2/Groups/{group_id}")),
            &json!({"schemas": [PATCH], "Operations": [
                {"op": "replace", "path": "displayName", "value": "Renamed"},
                {"op": "add", "path": "members", "value": [{"value": "00000000-0000-4000-8000-000000000000"}]}
            ]}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(atomic.status, StatusCode::BAD_REQUEST);
    let kept = call(
        &app,
        test::TestRequest::get().uri(&format!("/scim/v2/Groups/{group_id}")),
        Some(&token),
    )
    .await;
    assert_eq!(kept.json["displayName"], json!("Field sales EMEA"));

    // A group carrying licenses can't be deleted; the name is unique.
    let refused = call(
        &app,
        test::TestRequest::delete().uri(&format!("/scim/v2/Groups/{group_id}")),
        Some(&token),
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    let twin = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Groups"),
            &json!({"displayName": "field sales emea"}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(twin.status, StatusCode::CONFLICT);
    assert_eq!(twin.scim_type(), "uniqueness");
}

#[actix_web::test]
async fn groups_are_listed_filtered_replaced_and_deleted() {
    let db = TestDb::with_demo();
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = scim_token(&db);
    let created = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Groups"),
            &json!({"schemas": [GROUP], "displayName": "Designers", "externalId": "d-1"}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let found = call(
        &app,
        test::TestRequest::get().uri(&format!(
            "/scim/v2/Groups?filter={}",
            filter("displayName eq \"designers\"")
        )),
        Some(&token),
    )
    .await;
    assert_eq!(found.ids(), vec![id.clone()]);
    let by_external = call(
        &app,
        test::TestRequest::get().uri(&format!(
            "/scim/v2/Groups?filter={}",
            filter("externalId eq \"d-1\"")
        )),
        Some(&token),
    )
    .await;
    assert_eq!(by_external.ids(), vec![id.clone()]);

    let member = user_id(&db, "user05@contoso.example");
    let guid: String = users::table
        .find(member.0)
        .select(users::guid)
        .first(&mut db.conn())
        .unwrap();
    let replaced = call(
        &app,
        scim_body(
            test::TestRequest::put().uri(&format!("/scim/v2/Groups/{id}")),
            &json!({"schemas": [GROUP], "displayName": "Design team", "members": [{"value": guid}]}),
        )
        .insert_header((header::IF_MATCH, created.etag())),
        Some(&token),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.json);
    assert_eq!(replaced.json["displayName"], json!("Design team"));
    assert!(replaced.json.get("externalId").is_none());
    assert_eq!(replaced.json["members"][0]["value"], json!(guid));
    let stale = call(
        &app,
        scim_body(
            test::TestRequest::patch().uri(&format!("/scim/v2/Groups/{id}")),
            &json!({"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}),
        )
        .insert_header((header::IF_MATCH, created.etag())),
        Some(&token),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);

    let deleted = call(
        &app,
        test::TestRequest::delete().uri(&format!("/scim/v2/Groups/{id}")),
        Some(&token),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = call(
        &app,
        test::TestRequest::get().uri(&format!("/scim/v2/Groups/{id}")),
        Some(&token),
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        state_of(&db, "user05@contoso.example"),
        UserState::Active,
        "members stay users"
    );
}

#[actix_web::test]
async fn what_cant_be_read_is_a_scim_400_and_changes_nothing() {
    let db = TestDb::with_demo();
    let app = test::init_service(web::app(app_state(&db))).await;
    let token = scim_token(&db);
    let not_json = call(
        &app,
        test::TestRequest::post()
            .uri("/scim/v2/Users")
            .insert_header((header::CONTENT_TYPE, "application/scim+json"))
            .set_payload("{\"userName\": "),
        Some(&token),
    )
    .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.scim_type(), "invalidSyntax");
    let form = call(
        &app,
        test::TestRequest::post()
            .uri("/scim/v2/Users")
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload("userName=x"),
        Some(&token),
    )
    .await;
    assert_eq!(form.status, StatusCode::BAD_REQUEST);
    let nameless = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Users"),
            &json!({"displayName": "No name"}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(nameless.status, StatusCode::BAD_REQUEST);
    assert_eq!(nameless.scim_type(), "invalidValue");
    let long = call(
        &app,
        scim_body(
            test::TestRequest::post().uri("/scim/v2/Users"),
            &json!({"userName": "long@contoso.example", "displayName": "x".repeat(500)}),
        ),
        Some(&token),
    )
    .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    let any = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users?count=1"),
        Some(&token),
    )
    .await;
    let id = any.ids()[0].clone();
    for (operations, scim_type) in [
        (
            json!([{"op": "move", "path": "displayName", "value": "x"}]),
            "invalidSyntax",
        ),
        (json!([{"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "perhaps"}]),
            "invalidValue",
        ),
        (json!([]), "invalidSyntax"),
    ] {
        let reply = call(
            &app,
            scim_body(
                test::TestRequest::patch().uri(&format!("/scim/v2/Users/{id}")),
                &json!({"schemas": [PATCH], "Operations": operations}),
            ),
            Some(&token),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{operations}: {}",
            reply.json
        );
        assert_eq!(reply.scim_type(), scim_type, "{operations}");
    }
    let unchanged = call(
        &app,
        test::TestRequest::get().uri(&format!("/scim/v2/Users/{id}")),
        Some(&token),
    )
    .await;
    assert_eq!(unchanged.json, any.json["Resources"][0]);
    let method = call(
        &app,
        test::TestRequest::delete().uri("/scim/v2/Users"),
        Some(&token),
    )
    .await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
    let sorted = call(
        &app,
        test::TestRequest::get().uri("/scim/v2/Users?sortBy=userName"),
        Some(&token),
    )
    .await;
    assert_eq!(sorted.status, StatusCode::BAD_REQUEST);
}
