//! Settings > API access: the tenant's API tokens, Add a token (its secret shown once) and
//! Revoke. Global admins only; the domain decides (`Action::ManageApiTokens`).

use actix_web::HttpResponse;
use askama::Template;
use serde::Deserialize;
use strum::IntoEnumIterator;

use super::api::openapi::Endpoint;
use super::errors::{is_for_the_form, status_of};
use super::forms::Form;
use super::frame::Frame;
use super::session::{TenantRequest, flash};
use super::sorting::{SortHeader, SortOrder, SortQuery, total};
use super::{NoFields, WebError, redirect};
use crate::domain::api_tokens::{self, EXPIRY_DAYS, NewToken, TokenRow};
use crate::domain::{ApiTokenId, DomainError, Scope};

const HERE: &str = "/settings/api-access";

#[derive(Template)]
#[template(path = "settings/api_access.html")]
pub struct ApiAccessPage {
    frame: Frame,
    tokens: Vec<TokenRow>,
    /// "2 API tokens".
    total: String,
    /// Name, Created, Expires, Last used.
    headers: [SortHeader; 4],
    /// The API's endpoints, from its OpenAPI document.
    endpoints: Vec<Endpoint>,
}

/// GET /settings/api-access
pub async fn list(
    request: TenantRequest,
    query: super::forms::Query<SortQuery>,
) -> Result<HttpResponse, WebError> {
    request.session.require(|p| p.manage_api_tokens)?;
    let order = SortOrder::resolve(&query.0, &["created", "name", "expires", "used"], true);
    let sort = match order.column {
        "name" => api_tokens::TokenSort::Name,
        "expires" => api_tokens::TokenSort::Expires,
        "used" => api_tokens::TokenSort::LastUsed,
        _ => api_tokens::TokenSort::Created,
    };
    let descending = order.descending;
    let tokens = request
        .db(move |conn, actor, tenant, now| {
            api_tokens::list_sorted(conn, actor, now, tenant, sort, descending)
        })
        .await?;
    super::render(&ApiAccessPage {
        frame: Frame::new("API access", &request.session, HERE),
        total: total(tokens.len() as i64, "API token", "API tokens"),
        headers: [
            order.header(HERE, &[], "name", "Name"),
            order.header(HERE, &[], "created", "Created"),
            order.header(HERE, &[], "expires", "Expires"),
            order.header(HERE, &[], "used", "Last used"),
        ],
        tokens,
        endpoints: super::api::openapi::endpoints(),
    })
}

#[derive(Deserialize, Default, Clone)]
pub struct NewTokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    expires: String,
}

impl NewTokenForm {
    fn chose(&self, scope: &Scope) -> bool {
        self.scopes.iter().any(|s| s == scope.as_str())
    }

    fn expires_in(&self, days: &i64) -> bool {
        self.expires.trim() == days.to_string() || (self.expires.is_empty() && *days == 90)
    }
}

#[derive(Template)]
#[template(path = "settings/api_token_new.html")]
pub struct NewTokenPage {
    frame: Frame,
    form: NewTokenForm,
    scopes: Vec<Scope>,
    expiries: [i64; 3],
    error: Option<String>,
    /// The field the error is about, so it is marked invalid and described by the message.
    error_field: &'static str,
}

fn new_page(
    request: &TenantRequest,
    form: NewTokenForm,
    error: Option<(String, &'static str)>,
) -> NewTokenPage {
    let (error, error_field) = match error {
        Some((message, field)) => (Some(message), field),
        None => (None, ""),
    };
    NewTokenPage {
        frame: Frame::new("Add a token", &request.session, HERE),
        form,
        scopes: Scope::iter().collect(),
        expiries: EXPIRY_DAYS,
        error,
        error_field,
    }
}

/// GET /settings/api-access/new: Add a token.
pub async fn new_form(request: TenantRequest) -> Result<HttpResponse, WebError> {
    request.session.require(|p| p.manage_api_tokens)?;
    super::render(&new_page(&request, NewTokenForm::default(), None))
}

#[derive(Template)]
#[template(path = "settings/api_token_created.html")]
pub struct TokenCreatedPage {
    frame: Frame,
    token: NewToken,
}

/// POST /settings/api-access: adds the token and shows its secret, this once (the answer is
/// not stored: `Cache-Control: no-store`, and no redirect that would need to keep it).
pub async fn create(
    request: TenantRequest,
    form: Form<NewTokenForm>,
) -> Result<HttpResponse, WebError> {
    let sent = form.0.clone();
    let result = request
        .db(move |conn, actor, tenant, now| {
            let scopes = Scope::parse_list(sent.scopes.iter().map(String::as_str))?;
            let days: i64 = sent.expires.trim().parse().map_err(|_| {
                DomainError::invalid(
                    "expires",
                    "Choose when the token expires: in 30, 90 or 365 days.",
                )
            })?;
            api_tokens::create(conn, actor, now, tenant, &sent.name, &scopes, days)
        })
        .await;
    match result {
        Ok(token) => super::render(&TokenCreatedPage {
            frame: Frame::new("Token added", &request.session, HERE),
            token,
        }),
        Err(WebError::Domain(e)) if is_for_the_form(&e) => {
            let field = match &e {
                DomainError::Invalid { field, .. } => *field,
                _ => "",
            };
            let status = status_of(&e);
            let page = new_page(&request, form.0, Some((e.to_string(), field)));
            super::render_with(status, &page)
        }
        Err(other) => Err(other),
    }
}

/// POST /settings/api-access/{id}/revoke: calls with the token are refused from now on.
pub async fn revoke(
    request: TenantRequest,
    path: actix_web::web::Path<i64>,
    _: Form<NoFields>,
) -> Result<HttpResponse, WebError> {
    let token = ApiTokenId(path.into_inner());
    let name = request
        .db(move |conn, actor, tenant, now| api_tokens::revoke(conn, actor, now, tenant, token))
        .await?;
    flash(
        &request.session.session,
        format!("Revoked the token {name}. Calls with it are refused from now on."),
    );
    Ok(redirect(HERE))
}
