//! Sign in and sign out of the admin center.

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use std::time::Duration;

use super::frame::Frame;
use super::session::{self, AdminSession};
use super::{AppState, WebError, csrf};
use crate::domain::accounts::Principal;
use crate::domain::signin::{self, Door, Refusal};

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage {
    pub frame: Frame,
    pub email: String,
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
}

fn render(status: StatusCode, page: SignInPage) -> Result<HttpResponse, WebError> {
    super::render_with(status, &page)
}

fn page(session: &Session, email: String, error: Option<String>) -> SignInPage {
    let mut frame = Frame::bare("Sign in");
    frame.csrf = csrf::token(session);
    frame.flash = session::take_flash(session);
    SignInPage {
        frame,
        email,
        error,
    }
}

/// GET /signin: the form, or straight on for someone already signed in.
pub async fn form(req: HttpRequest, session: Session) -> Result<HttpResponse, WebError> {
    use actix_web::FromRequest;
    if let Ok(signed_in) = AdminSession::extract(&req).await {
        let to = match signed_in.actor() {
            crate::domain::Actor::Staff { .. } => "/support",
            _ => "/",
        };
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to))
            .finish());
    }
    render(StatusCode::OK, page(&session, String::new(), None))
}

/// Checks a sign-in at `door` and, when it succeeds, starts a fresh session. A refusal comes
/// back as the status and message to show on the form, after the throttle's delay.
pub async fn attempt(
    req: &HttpRequest,
    session: &Session,
    state: &AppState,
    door: Door,
    email: String,
    password: String,
) -> Result<Result<Principal, (StatusCode, String)>, WebError> {
    // The peer address, not a forwarded header a client could set to dodge the throttle.
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let now = state.clock.now();
    let outcome = state
        .db(move |conn| {
            Ok(signin::sign_in(
                conn, now, door, &email, &password, &address,
            ))
        })
        .await?;
    match outcome {
        Ok(principal) => {
            session::begin(session, principal, now.timestamp())?;
            Ok(Ok(principal))
        }
        Err(Refusal::Storage(detail)) => Err(WebError::Internal(detail)),
        Err(refusal) => {
            let status = match refusal {
                Refusal::WrongCredentials { delay_seconds } => {
                    actix_web::rt::time::sleep(Duration::from_secs(delay_seconds)).await;
                    StatusCode::UNAUTHORIZED
                }
                Refusal::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::FORBIDDEN,
            };
            Ok(Err((status, refusal.to_string())))
        }
    }
}

/// POST /signin
pub async fn submit(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, WebError> {
    let SignInForm { email, password } = form.into_inner();
    match attempt(
        &req,
        &session,
        &state,
        Door::AdminCenter,
        email.clone(),
        password,
    )
    .await?
    {
        Ok(principal) => Ok(super::redirect(session::landing(principal))),
        Err((status, message)) => render(status, page(&session, email, Some(message))),
    }
}

/// POST /signout: ends the admin center session only (the portal has its own).
pub async fn sign_out(session: Session) -> HttpResponse {
    session::end(&session);
    session::flash(&session, "You have signed out.");
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/signin"))
        .finish()
}
