//! What a SCIM client reads to learn this server (RFC 7644 §4): `/ServiceProviderConfig`,
//! `/ResourceTypes`, `/Schemas`. The schemas list the attributes allot keeps, with the RFC
//! 7643 characteristics it honours (userName unique and without case, id read-only…).

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::errors::ScimError;
use super::resources::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use super::{LIST_SCHEMA, ScimSettings, scim_json};
use crate::domain::provisioning::PAGE_MAX;

fn location(settings: &ScimSettings, path: &str) -> String {
    format!("{}/{path}", settings.base_url)
}

pub async fn service_provider_config(settings: web::Data<ScimSettings>) -> HttpResponse {
    scim_json(
        200,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": location(&settings, "Schemas"),
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": PAGE_MAX },
            "changePassword": { "supported": false },
            "sort": { "supported": false },
            "etag": { "supported": true },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "API token",
                "description": "A token made at Settings > API access with the scim scope, sent as Authorization: Bearer <token>.",
                "primary": true
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": location(&settings, "ServiceProviderConfig"),
            }
        }),
    )
}

fn resource_types(settings: &ScimSettings) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A person of the tenant, who signs in and holds licenses",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{ "schema": ENTERPRISE_SCHEMA, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": location(settings, "ResourceTypes/User") }
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A set of the tenant's users; licenses assigned to it are inherited by its members",
            "schema": GROUP_SCHEMA,
            "meta": { "resourceType": "ResourceType", "location": location(settings, "ResourceTypes/Group") }
        }),
    ]
}

fn attribute(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none"
    })
}

fn with(mut attribute: Value, changes: Value) -> Value {
    if let (Some(a), Some(c)) = (attribute.as_object_mut(), changes.as_object()) {
        for (k, v) in c {
            a.insert(k.clone(), v.clone());
        }
    }
    attribute
}

fn schemas(settings: &ScimSettings) -> Vec<Value> {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "User Account",
        "attributes": [
            with(attribute("userName", "string", "The sign-in name: an email address at the tenant's domain."),
                json!({"required": true, "uniqueness": "server"})),
            with(attribute("name", "complex", "The user's name."), json!({"subAttributes": [
                attribute("givenName", "string", "Given name."),
                attribute("familyName", "string", "Family name."),
                with(attribute("formatted", "string", "Given and family name."), json!({"mutability": "readOnly"})),
            ]})),
            attribute("displayName", "string", "The name shown in the admin center; made from the name when not sent."),
            with(attribute("externalId", "string", "The provisioning client's id for the user."), json!({"caseExact": true})),
            attribute("active", "boolean", "May sign in. false blocks sign-in and ends every session."),
            with(attribute("password", "string", "A first password (on creation only); never returned."),
                json!({"mutability": "writeOnly", "returned": "never"})),
            with(attribute("emails", "complex", "The work email: the sign-in name unless another is sent."), json!({
                "multiValued": true,
                "subAttributes": [
                    attribute("value", "string", "The address."),
                    with(attribute("type", "string", "Always work."), json!({"canonicalValues": ["work"]})),
                    attribute("primary", "boolean", "Always true."),
                ]
            })),
            with(attribute("groups", "complex", "The groups the user is a member of; changed through the groups."), json!({
                "multiValued": true,
                "mutability": "readOnly",
                "subAttributes": [
                    with(attribute("value", "string", "The group's id."), json!({"mutability": "readOnly"})),
                    with(attribute("$ref", "reference", "The group's URI."), json!({"mutability": "readOnly", "referenceTypes": ["Group"]})),
                    with(attribute("display", "string", "The group's name."), json!({"mutability": "readOnly"})),
                    with(attribute("type", "string", "Always direct: groups don't nest."), json!({"mutability": "readOnly"})),
                ]
            })),
        ],
        "meta": { "resourceType": "Schema", "location": location(settings, &format!("Schemas/{USER_SCHEMA}")) }
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "Group",
        "attributes": [
            with(attribute("displayName", "string", "The group's name, unique in the tenant."),
                json!({"required": true, "uniqueness": "server"})),
            with(attribute("externalId", "string", "The provisioning client's id for the group."), json!({"caseExact": true})),
            with(attribute("members", "complex", "The group's users (groups don't nest)."), json!({
                "multiValued": true,
                "subAttributes": [
                    with(attribute("value", "string", "The user's id."), json!({"mutability": "immutable"})),
                    with(attribute("$ref", "reference", "The user's URI."), json!({"mutability": "immutable", "referenceTypes": ["User"]})),
                    with(attribute("display", "string", "The user's display name."), json!({"mutability": "readOnly"})),
                    with(attribute("type", "string", "Always User."), json!({"mutability": "immutable", "canonicalValues": ["User"]})),
                ]
            })),
        ],
        "meta": { "resourceType": "Schema", "location": location(settings, &format!("Schemas/{GROUP_SCHEMA}")) }
    });
    vec![user, group]
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub async fn list_resource_types(settings: web::Data<ScimSettings>) -> HttpResponse {
    scim_json(200, &list(resource_types(&settings)))
}

pub async fn resource_type(
    settings: web::Data<ScimSettings>,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    pick(resource_types(&settings), &path)
}

pub async fn list_schemas(settings: web::Data<ScimSettings>) -> HttpResponse {
    scim_json(200, &list(schemas(&settings)))
}

pub async fn schema(
    settings: web::Data<ScimSettings>,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    pick(schemas(&settings), &path)
}

fn pick(resources: Vec<Value>, id: &str) -> Result<HttpResponse, ScimError> {
    resources
        .into_iter()
        .find(|r| r["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
        .map(|r| scim_json(200, &r))
        .ok_or_else(|| {
            ScimError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                None,
                format!("There is no {id} here."),
            )
        })
}
