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
    /// Where to go after signing in (an activation link followed while signed out).
    pub next: String,
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    #[serde(default)]
    next: String,
}

/// `next` when it is a path of this site, to send someone on to after signing in; `None` for
/// anything a browser could read as another host or that can't go in a `Location` header.
///
/// Browsers parse `Location` after the WHATWG URL rules: they drop tabs and newlines and read
/// `\` as `/`, so `/<tab>/evil.example` and `/\evil.example` both mean `//evil.example`. Rather
/// than guess at what they strip, only printable ASCII without `\` is kept (which also keeps
/// the header valid), and after the leading `/` must come something other than a slash, or
/// nothing: `/` itself is fine.
fn safe_next(next: &str) -> Option<&str> {
    let printable = next.bytes().all(|b| (0x20..0x7f).contains(&b));
    let mut rest = next.chars();
    let ok = printable
        && next.len() < 512
        && !next.contains('\\')
        && rest.next() == Some('/')
        && rest.next() != Some('/');
    ok.then_some(next)
}

fn render(status: StatusCode, page: SignInPage) -> Result<HttpResponse, WebError> {
    super::render_with(status, &page)
}

fn page(session: &Session, email: String, error: Option<String>, next: &str) -> SignInPage {
    let mut frame = Frame::bare("Sign in");
    frame.csrf = csrf::token(session);
    frame.flash = session::take_flash(session);
    SignInPage {
        frame,
        email,
        error,
        next: safe_next(next).unwrap_or_default().to_owned(),
    }
}

/// GET /signin: the form, or straight on for someone already signed in.
pub async fn form(
    req: HttpRequest,
    session: Session,
    query: super::forms::Query<SignInQuery>,
) -> Result<HttpResponse, WebError> {
    use actix_web::FromRequest;
    if let Ok(signed_in) = AdminSession::extract(&req).await {
        let to = match (safe_next(&query.0.next), signed_in.actor()) {
            (Some(next), _) => next,
            (None, crate::domain::Actor::Staff { .. }) => "/support",
            (None, _) => "/",
        };
        return Ok(super::redirect(to));
    }
    render(
        StatusCode::OK,
        page(&session, String::new(), None, &query.0.next),
    )
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
    // The peer address, or what a trusted balancer forwarded; never a header any client could
    // set to dodge the throttle.
    let address = super::client::client_address(req, &state.trusted_proxies)
        .map(|a| a.to_string())
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
            session::begin(session, state, door, principal).await?;
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
    let SignInForm {
        email,
        password,
        next,
    } = form.into_inner();
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
        Ok(principal) => Ok(super::redirect(
            safe_next(&next).unwrap_or(session::landing(principal)),
        )),
        Err((status, message)) => render(status, page(&session, email, Some(message), &next)),
    }
}

/// POST /signout: ends the admin center session only (the portal has its own).
pub async fn sign_out(
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    session::end(&session, &state).await?;
    session::flash(&session, "You have signed out.");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/signin"))
        .finish())
}
