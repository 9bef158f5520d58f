//! The service portal (/portal): end users sign in, see their products or a clear "no
//! license" page, and buyers manage their self-service purchases. Its own session cookie.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::Form;
use super::frame::{Frame, Who};
use super::session::{self, PortalSession, flash};
use super::{AppState, WebError, csrf, redirect};
use crate::domain::licenses::PoolDetail;
use crate::domain::portal::{self, PortalView};
use crate::domain::signin::Door;
use crate::domain::{SubscriptionId, UserId};

pub(super) fn frame(
    title: &str,
    session: &PortalSession,
    display_name: &str,
    tenant: &str,
) -> Frame {
    let mut frame = Frame::bare_portal(title);
    frame.csrf = session.csrf();
    frame.flash = session::take_flash(&session.session);
    frame.who = Some(Who {
        display_name: display_name.to_owned(),
        email: session.actor.label(),
        place: tenant.to_owned(),
        roles: "Service portal".into(),
        unread_messages: None,
    });
    frame
}

#[derive(Template)]
#[template(path = "portal/signin.html")]
pub struct SignInPage {
    frame: Frame,
    email: String,
    error: Option<String>,
}

fn signin_page(session: &Session, email: String, error: Option<String>) -> SignInPage {
    let mut frame = Frame::bare_portal("Sign in to the service");
    frame.csrf = csrf::token(session);
    frame.flash = session::take_flash(session);
    SignInPage {
        frame,
        email,
        error,
    }
}

/// GET /portal/signin
pub async fn signin_form(session: Session) -> Result<HttpResponse, WebError> {
    super::render(&signin_page(&session, String::new(), None))
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
}

/// POST /portal/signin
pub async fn signin(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: Form<SignInForm>,
) -> Result<HttpResponse, WebError> {
    let SignInForm { email, password } = form.0;
    match super::signin::attempt(
        &req,
        &session,
        &state,
        Door::Portal,
        email.clone(),
        password,
    )
    .await?
    {
        Ok(_) => Ok(redirect("/portal")),
        Err((status, message)) => {
            super::render_with(status, &signin_page(&session, email, Some(message)))
        }
    }
}

/// POST /portal/signout: ends the portal session only.
pub async fn signout(
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    session::end(&session, &state).await?;
    flash(&session, "You have signed out of the service.");
    Ok(redirect("/portal/signin"))
}

#[derive(Template)]
#[template(path = "portal/home.html")]
pub struct HomePage {
    frame: Frame,
    view: PortalView,
}

/// GET /portal: the service for a licensed user; for anyone else, a page that says why not.
pub async fn home(
    session: PortalSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let actor = session.actor.clone();
    let view = state.db(move |conn| portal::view(conn, &actor)).await?;
    let status = if view.has_access() {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    let title = if view.has_access() {
        "Your products"
    } else if view.beyond_the_count.is_empty() && !view.no_apps.is_empty() {
        "No apps turned on"
    } else {
        "No license"
    };
    super::render_with(
        status,
        &HomePage {
            frame: frame(title, &session, &view.display_name, &view.tenant_name),
            view,
        },
    )
}

#[derive(Template)]
#[template(path = "portal/purchase.html")]
pub struct PurchasePage {
    frame: Frame,
    sub: i64,
    detail: PoolDetail,
    error: Option<String>,
    emails: String,
}

async fn purchase_page(
    session: &PortalSession,
    state: &web::Data<AppState>,
    sub: SubscriptionId,
    error: Option<String>,
    emails: String,
) -> Result<PurchasePage, WebError> {
    let actor = session.actor.clone();
    let (detail, view) = state
        .db(move |conn| {
            Ok((
                portal::purchase(conn, &actor, sub)?,
                portal::view(conn, &actor)?,
            ))
        })
        .await?;
    Ok(PurchasePage {
        frame: frame(
            &detail.summary.product_name,
            session,
            &view.display_name,
            &view.tenant_name,
        ),
        sub: sub.0,
        detail,
        error,
        emails,
    })
}

/// GET /portal/purchases/{subscription}: the buyer's own pool.
pub async fn purchase(
    session: PortalSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let page = purchase_page(
        &session,
        &state,
        SubscriptionId(path.into_inner()),
        None,
        String::new(),
    )
    .await?;
    super::render(&page)
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    emails: String,
}

/// POST /portal/purchases/{subscription}/assign: sign-in names, one per line or comma.
pub async fn assign(
    session: PortalSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<AssignForm>,
) -> Result<HttpResponse, WebError> {
    let sub = SubscriptionId(path.into_inner());
    let actor = session.actor.clone();
    let now = state.clock.now();
    let emails: Vec<String> = form
        .0
        .emails
        .split(|c: char| c == ',' || c == '\n' || c == ';' || c.is_whitespace())
        .map(str::to_owned)
        .collect();
    let typed = form.0.emails.clone();
    match state
        .db(move |conn| portal::assign_purchase(conn, &actor, now, sub, &emails))
        .await
    {
        Ok(done) => {
            flash(
                &session.session,
                format!("Assigned {} licenses.", done.assigned.len()),
            );
            Ok(redirect(&format!("/portal/purchases/{}", sub.0)))
        }
        Err(WebError::Domain(e)) if super::errors::is_for_the_form(&e) => {
            let status = super::errors::status_of(&e);
            let page = purchase_page(&session, &state, sub, Some(e.to_string()), typed).await?;
            super::render_with(status, &page)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct UnassignForm {
    #[serde(default)]
    users: Vec<i64>,
}

/// POST /portal/purchases/{subscription}/unassign
pub async fn unassign(
    session: PortalSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<UnassignForm>,
) -> Result<HttpResponse, WebError> {
    let sub = SubscriptionId(path.into_inner());
    let actor = session.actor.clone();
    let now = state.clock.now();
    let users: Vec<UserId> = form.0.users.into_iter().map(UserId).collect();
    let done = state
        .db(move |conn| portal::unassign_purchase(conn, &actor, now, sub, &users))
        .await?;
    flash(
        &session.session,
        format!("Unassigned {} licenses.", done.unassigned.len()),
    );
    Ok(redirect(&format!("/portal/purchases/{}", sub.0)))
}
