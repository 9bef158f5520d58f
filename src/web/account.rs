//! Your account: who is signed in, how many sessions the account has open, and Sign out
//! everywhere, for the admin center (admins and staff) and the service portal.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::forms::Form;
use super::frame::Frame;
use super::session::{self, AdminRequest, PortalSession};
use super::{AppState, NoFields, WebError, redirect};
use crate::domain::sessions;

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub frame: Frame,
    pub display_name: String,
    pub email: String,
    pub place: String,
    pub roles: String,
    pub live_sessions: i64,
}

/// GET /account
pub async fn show(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
) -> Result<HttpResponse, WebError> {
    let lifetimes = state.sessions.lifetimes;
    let live_sessions = state
        .db(move |conn| sessions::live_count(conn, &actor, now, lifetimes))
        .await?;
    let frame = Frame::new("Your account", &session, "/account");
    let who = frame.who.as_ref();
    super::render(&AccountPage {
        display_name: session.signed_in.display_name.clone(),
        email: session.actor().label(),
        place: session.signed_in.place.clone(),
        roles: who.map(|w| w.roles.clone()).unwrap_or_default(),
        live_sessions,
        frame,
    })
}

/// POST /account/sign-out-everywhere: ends every session of one's own account, at both doors,
/// on every device, this one included.
pub async fn sign_out_everywhere(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    _form: Form<NoFields>,
) -> Result<HttpResponse, WebError> {
    state
        .db(move |conn| sessions::sign_out_everywhere(conn, &actor, now))
        .await?;
    session::forget(&session.session);
    session::flash(
        &session.session,
        "You have signed out everywhere: every session of your account has ended.",
    );
    Ok(redirect("/signin"))
}

/// GET /portal/account
pub async fn portal_show(
    session: PortalSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let actor = session.actor.clone();
    let now = state.clock.now();
    let lifetimes = state.sessions.lifetimes;
    let (view, live_sessions) = state
        .db(move |conn| {
            Ok((
                crate::domain::portal::view(conn, &actor)?,
                sessions::live_count(conn, &actor, now, lifetimes)?,
            ))
        })
        .await?;
    let frame = super::portal::frame(
        "Your account",
        &session,
        &view.display_name,
        &view.tenant_name,
    );
    super::render(&AccountPage {
        frame,
        display_name: view.display_name,
        email: view.email,
        place: view.tenant_name,
        roles: String::new(),
        live_sessions,
    })
}

/// POST /portal/sign-out-everywhere
pub async fn portal_sign_out_everywhere(
    session: PortalSession,
    state: web::Data<AppState>,
    _form: Form<NoFields>,
) -> Result<HttpResponse, WebError> {
    let actor = session.actor.clone();
    let now = state.clock.now();
    state
        .db(move |conn| sessions::sign_out_everywhere(conn, &actor, now))
        .await?;
    session::forget(&session.session);
    session::flash(
        &session.session,
        "You have signed out everywhere: every session of your account has ended.",
    );
    Ok(redirect("/portal/signin"))
}
