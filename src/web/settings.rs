//! Settings > Roles: who holds each admin role; a Global admin gives and takes them.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::{Form, Query};
use super::frame::Frame;
use super::session::{TenantRequest, flash};
use super::{WebError, redirect};
use crate::domain::authz::Role;
use crate::domain::users::{self, AdminHolder, UserFilter, UserRow, UserSort};
use crate::domain::{DomainError, UserId};

/// Matches shown for a search; a longer search narrows them.
const MATCHES_SHOWN: usize = 10;

/// One admin role's part of the page.
pub struct RoleSection {
    pub slug: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub holders: Vec<AdminHolder>,
    /// The search made in this section ("Find a user"), and what it found.
    pub search: String,
    pub matches: Vec<Match>,
    pub more_matches: bool,
}

pub struct Match {
    pub user: UserRow,
    /// Holds this section's role already.
    pub holds: bool,
}

#[derive(Template)]
#[template(path = "settings/roles.html")]
pub struct RolesPage {
    frame: Frame,
    sections: Vec<RoleSection>,
    /// A change refused, said on the page.
    error: Option<String>,
}

/// What each role lets its holders do (DESIGN.md, "Who uses it").
fn description(role: Role) -> &'static str {
    match role {
        Role::Global => "Everything in your organization, including giving and taking these roles.",
        Role::Billing => {
            "Buys and removes licenses and subscriptions, manages payment methods and bills, files billing service requests. Can't assign licenses or manage users."
        }
        Role::License => {
            "Assigns, unassigns and reassigns licenses, and reads users. Can't create or delete users, or buy."
        }
        Role::User => {
            "Creates, edits, blocks, deletes and restores users, resets passwords, assigns licenses. Can't buy, or change a Global admin."
        }
    }
}

#[derive(Deserialize, Default)]
pub struct RolesQuery {
    /// The role whose "Find a user" was used, and the words searched.
    #[serde(default)]
    role: String,
    #[serde(default)]
    q: String,
}

/// GET /settings/roles
pub async fn roles(
    request: TenantRequest,
    query: Query<RolesQuery>,
) -> Result<HttpResponse, WebError> {
    let page = roles_page(&request, query.0, None).await?;
    super::render(&page)
}

async fn roles_page(
    request: &TenantRequest,
    query: RolesQuery,
    error: Option<String>,
) -> Result<RolesPage, WebError> {
    let searched = if query.q.trim().is_empty() {
        None
    } else {
        Some(query.role.parse::<Role>()?)
    };
    let q = query.q.trim().to_owned();
    let (admins, found) = request
        .db(move |conn, actor, tenant, _| {
            let admins = users::admins(conn, actor, tenant)?;
            let found = match searched {
                Some(_) => Some(users::list(
                    conn,
                    actor,
                    tenant,
                    &q,
                    UserFilter::All,
                    UserSort::Name,
                    None,
                )?),
                None => None,
            };
            Ok((admins, found))
        })
        .await?;
    let sections = Role::ALL
        .into_iter()
        .map(|role| {
            let holders: Vec<AdminHolder> = admins
                .iter()
                .filter(|a| a.roles.contains(&role))
                .cloned()
                .collect();
            let (search, matches, more_matches) = match (&found, searched) {
                (Some(found), Some(r)) if r == role => (
                    query.q.trim().to_owned(),
                    found
                        .rows
                        .iter()
                        .take(MATCHES_SHOWN)
                        .map(|user| Match {
                            holds: holders.iter().any(|h| h.id == user.id),
                            user: user.clone(),
                        })
                        .collect(),
                    found.rows.len() > MATCHES_SHOWN || found.next.is_some(),
                ),
                _ => (String::new(), Vec::new(), false),
            };
            RoleSection {
                slug: role.as_str(),
                title: role.title(),
                description: description(role),
                holders,
                search,
                matches,
                more_matches,
            }
        })
        .collect();
    Ok(RolesPage {
        frame: Frame::new("Roles", &request.session, "/settings/roles"),
        sections,
        error,
    })
}

#[derive(Deserialize)]
pub struct RoleChangeForm {
    user: i64,
}

/// POST /settings/roles/{role}/assign: gives the role to the user.
pub async fn assign(
    request: TenantRequest,
    path: web::Path<String>,
    form: Form<RoleChangeForm>,
) -> Result<HttpResponse, WebError> {
    change(request, path.into_inner(), UserId(form.0.user), true).await
}

/// POST /settings/roles/{role}/remove: takes the role from the user.
pub async fn remove(
    request: TenantRequest,
    path: web::Path<String>,
    form: Form<RoleChangeForm>,
) -> Result<HttpResponse, WebError> {
    change(request, path.into_inner(), UserId(form.0.user), false).await
}

async fn change(
    request: TenantRequest,
    role: String,
    user: UserId,
    give: bool,
) -> Result<HttpResponse, WebError> {
    let role: Role = role.parse()?;
    let changed = request
        .db(move |conn, actor, tenant, now| {
            let changed = if give {
                users::give_role(conn, actor, now, tenant, user, role)?
            } else {
                users::take_role(conn, actor, now, tenant, user, role)?
            };
            let name = users::get(conn, actor, tenant, user)?.display_name;
            Ok((changed, name))
        })
        .await;
    let (changed, name) = match changed {
        Ok(done) => done,
        // Refused for a reason the admin can act on (the last Global admin): said on the page.
        Err(WebError::Domain(DomainError::Conflict(message))) => {
            let page = roles_page(&request, RolesQuery::default(), Some(message)).await?;
            return super::render_with(StatusCode::CONFLICT, &page);
        }
        Err(e) => return Err(e),
    };
    let message = match (give, changed.given.is_empty() && changed.taken.is_empty()) {
        (true, true) => format!("{name} is already a {}.", role.title()),
        (false, true) => format!("{name} isn't a {}.", role.title()),
        (true, false) => format!(
            "{name} is now a {}. Their sessions have ended: they sign in again with the new role.",
            role.title()
        ),
        (false, false) => format!(
            "{name} is no longer a {}. Their sessions have ended: they sign in again without it.",
            role.title()
        ),
    };
    flash(&request.session.session, message);
    Ok(redirect(&format!("/settings/roles#role-{}", role.as_str())))
}
