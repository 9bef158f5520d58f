//! Sessions: a signed and encrypted cookie (HttpOnly, SameSite=Lax, Secure when configured),
//! renewed at sign-in and ended after a period of inactivity.

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionExt, SessionMiddleware};
use actix_web::cookie::{Key, SameSite};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::{AppState, WebError, csrf};
use crate::config::Config;
use crate::domain::accounts::{self, Principal, SignedIn};
use crate::domain::authz::Permissions;
use crate::domain::{Actor, TenantId, portal};

const PRINCIPAL: &str = "principal";
const LAST_SEEN: &str = "seen";
const FLASH: &str = "flash";

#[derive(Clone)]
pub struct SessionSettings {
    key: Key,
    secure: bool,
    idle_seconds: i64,
}

impl SessionSettings {
    pub fn from_config(config: &Config) -> Self {
        SessionSettings {
            key: Key::derive_from(&config.secret_key),
            secure: config.cookie_secure,
            idle_seconds: config.session_idle_minutes * 60,
        }
    }

    /// The admin center's session (admins and staff).
    pub fn admin_middleware(&self) -> SessionMiddleware<CookieSessionStore> {
        self.middleware("allot_admin", "/")
    }

    /// The service portal's own session: signing out of one leaves the other alone.
    pub fn portal_middleware(&self) -> SessionMiddleware<CookieSessionStore> {
        self.middleware("allot_portal", "/portal")
    }

    fn middleware(&self, name: &str, path: &str) -> SessionMiddleware<CookieSessionStore> {
        SessionMiddleware::builder(CookieSessionStore::default(), self.key.clone())
            .cookie_name(name.to_owned())
            .cookie_path(path.to_owned())
            .cookie_secure(self.secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_content_security(CookieContentSecurity::Private)
            // The cookie ends with the browser; inactivity is checked on the server (LAST_SEEN).
            .session_lifecycle(BrowserSession::default())
            .build()
    }
}

/// Starts a fresh session for `principal`: the old state (and CSRF token) is dropped.
pub fn begin(session: &Session, principal: Principal, now: i64) -> Result<(), WebError> {
    session.clear();
    session.renew();
    session.insert(PRINCIPAL, principal).map_err(internal)?;
    session.insert(LAST_SEEN, now).map_err(internal)?;
    csrf::rotate(session);
    Ok(())
}

/// Signs out: the principal and CSRF token are dropped; the cookie then holds nothing of them.
pub fn end(session: &Session) {
    session.clear();
    session.renew();
}

/// Keeps a one-time message for the next page.
pub fn flash(session: &Session, message: impl Into<String>) {
    let _ = session.insert(FLASH, message.into());
}

pub fn take_flash(session: &Session) -> Option<String> {
    session.remove_as::<String>(FLASH).and_then(Result::ok)
}

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Internal(e.to_string())
}

/// A signed-in admin or staff member of the admin center. Extracting it checks the session,
/// its idle time, and that the account may still sign in; otherwise the request is sent to
/// the sign-in page.
pub struct AdminSession {
    pub signed_in: SignedIn,
    pub session: Session,
}

impl AdminSession {
    pub fn actor(&self) -> &Actor {
        &self.signed_in.actor
    }

    /// What the domain lets this actor do in their tenant or console, for what pages offer.
    pub fn permissions(&self) -> Permissions {
        Permissions::of(self.actor())
    }

    /// Refuses a page whose form the actor could not send anyway (the POST asks again).
    pub fn require(&self, allowed: impl Fn(&Permissions) -> bool) -> Result<(), WebError> {
        if allowed(&self.permissions()) {
            Ok(())
        } else {
            Err(WebError::Domain(crate::domain::DomainError::Forbidden))
        }
    }

    /// The tenant an admin works in; staff have none, so tenant pages refuse them.
    pub fn tenant(&self) -> Result<TenantId, WebError> {
        self.actor()
            .tenant()
            .ok_or(WebError::Domain(crate::domain::DomainError::Forbidden))
    }

    pub fn csrf(&self) -> String {
        csrf::token(&self.session)
    }
}

impl FromRequest for AdminSession {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| WebError::Internal("no application state".into()))?;
            let principal = session
                .get::<Principal>(PRINCIPAL)
                .ok()
                .flatten()
                .ok_or(WebError::SignInRequired)?;
            let now = state.clock.now().timestamp();
            let seen = session.get::<i64>(LAST_SEEN).ok().flatten().unwrap_or(0);
            if now - seen > state.sessions.idle_seconds {
                session.purge();
                return Err(WebError::SignInRequired);
            }
            if now - seen >= 60 {
                // Refreshing once a minute at most keeps the cookie from changing on every request.
                let _ = session.insert(LAST_SEEN, now);
            }
            match state
                .db(move |conn| accounts::admin_center_actor(conn, principal))
                .await?
            {
                Some(signed_in) => Ok(AdminSession { signed_in, session }),
                None => {
                    session.purge();
                    Err(WebError::SignInRequired)
                }
            }
        })
    }
}

/// The principal of a session that has not been idle too long; refreshes its last-seen time.
fn live_principal(
    session: &Session,
    state: &AppState,
    missing: WebError,
) -> Result<Principal, WebError> {
    let Some(principal) = session.get::<Principal>(PRINCIPAL).ok().flatten() else {
        return Err(missing);
    };
    let now = state.clock.now().timestamp();
    let seen = session.get::<i64>(LAST_SEEN).ok().flatten().unwrap_or(0);
    if now - seen > state.sessions.idle_seconds {
        session.purge();
        return Err(missing);
    }
    if now - seen >= 60 {
        // Refreshing once a minute at most keeps the cookie from changing on every request.
        let _ = session.insert(LAST_SEEN, now);
    }
    Ok(principal)
}

/// A signed-in end user of the service portal (its own cookie and session).
pub struct PortalSession {
    pub actor: Actor,
    pub session: Session,
}

impl PortalSession {
    pub fn csrf(&self) -> String {
        csrf::token(&self.session)
    }
}

impl FromRequest for PortalSession {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| WebError::Internal("no application state".into()))?;
            let principal = live_principal(&session, &state, WebError::PortalSignInRequired)?;
            match state.db(move |conn| portal::actor(conn, principal)).await? {
                Some(actor) => Ok(PortalSession { actor, session }),
                None => {
                    session.purge();
                    Err(WebError::PortalSignInRequired)
                }
            }
        })
    }
}

/// Where a signed-in person starts: admins at Home, staff in the support console.
pub fn landing(principal: Principal) -> &'static str {
    match principal {
        Principal::User(_) => "/",
        Principal::Staff(_) => "/support",
    }
}
