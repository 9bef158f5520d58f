//! Sessions: a signed and encrypted cookie (HttpOnly, SameSite=Lax, Secure when configured)
//! that carries the token of a session record kept on the server (`domain::sessions`), so a
//! session can be ended there: at sign-out, and for every session of an account at once.

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionExt, SessionMiddleware};
use actix_web::cookie::{Key, SameSite};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::frame::Frame;
use super::{AppState, WebError, csrf};
use crate::config::Config;
use crate::domain::accounts::{self, Principal, SignedIn};
use crate::domain::authz::Permissions;
use crate::domain::sessions::{self, Ended, Lifetimes};
use crate::domain::signin::Door;
use crate::domain::{Actor, DbConnection, DomainError, TenantId, portal};

/// The session record's token; the cookie holds nothing else about who is signed in.
const TOKEN: &str = "session";
const FLASH: &str = "flash";

#[derive(Clone)]
pub struct SessionSettings {
    key: Key,
    secure: bool,
    pub lifetimes: Lifetimes,
}

impl SessionSettings {
    pub fn from_config(config: &Config) -> Self {
        SessionSettings {
            key: Key::derive_from(&config.secret_key),
            secure: config.cookie_secure,
            lifetimes: Lifetimes {
                idle: chrono::Duration::minutes(config.session_idle_minutes),
                max: chrono::Duration::hours(config.session_max_hours),
            },
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
            // The cookie ends with the browser; idle time and lifetime are the record's.
            .session_lifecycle(BrowserSession::default())
            .build()
    }
}

fn token_of(session: &Session) -> Option<String> {
    session.get::<String>(TOKEN).ok().flatten()
}

/// Starts a fresh session of `principal` at `door`: a new record, and a cookie with its token
/// and a new CSRF token. The cookie's previous session, if any, is ended.
pub async fn begin(
    session: &Session,
    state: &AppState,
    door: Door,
    principal: Principal,
) -> Result<(), WebError> {
    let now = state.clock.now();
    let lifetimes = state.sessions.lifetimes;
    let previous = token_of(session);
    let token = state
        .db(move |conn| {
            if let Some(previous) = previous {
                sessions::end(conn, &previous, now, Ended::SignedOut)?;
            }
            sessions::start(conn, now, door, principal, lifetimes)
        })
        .await?;
    session.clear();
    session.renew();
    session.insert(TOKEN, token).map_err(internal)?;
    csrf::rotate(session);
    Ok(())
}

/// Signs out: the session's record is ended, so a copy of the cookie no longer works; the
/// cookie itself then holds nothing of it.
pub async fn end(session: &Session, state: &AppState) -> Result<(), WebError> {
    let ended = match token_of(session) {
        Some(token) => {
            let now = state.clock.now();
            state
                .db(move |conn| sessions::end(conn, &token, now, Ended::SignedOut))
                .await
                .map(|_| ())
        }
        None => Ok(()),
    };
    session.clear();
    session.renew();
    ended
}

/// Forgets the cookie's session after "Sign out everywhere" ended its record.
pub fn forget(session: &Session) {
    session.clear();
    session.renew();
}

/// Keeps a one-time message for the next page.
pub fn flash(session: &Session, message: impl Into<String>) {
    let _ = session.insert(FLASH, message.into());
}

/// The one-time message, if any, taken out of the session. Without one the session is left
/// unchanged: actix-session marks a session changed by any `remove`, even of nothing, and a
/// changed session is encrypted again into a new cookie on the response, on every page.
pub fn take_flash(session: &Session) -> Option<String> {
    if !session.contains_key(FLASH) {
        return None;
    }
    session.remove_as::<String>(FLASH).and_then(Result::ok)
}

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Internal(e.to_string())
}

/// What a request's session admits at `door`: its record must be live (`sessions::check`, one
/// lookup by key) and the account, loaded fresh by `load`, must still admit it. Otherwise the
/// cookie is dropped and the answer is `missing` (the sign-in page).
async fn signed_in<T: Send + 'static>(
    session: &Session,
    state: Option<web::Data<AppState>>,
    door: Door,
    missing: WebError,
    load: fn(&mut DbConnection, Principal) -> Result<Option<T>, DomainError>,
) -> Result<T, WebError> {
    let state = state.ok_or_else(|| WebError::Internal("no application state".into()))?;
    let Some(token) = token_of(session) else {
        return Err(missing);
    };
    let now = state.clock.now();
    let lifetimes = state.sessions.lifetimes;
    let found = state
        .db(move |conn| {
            let Some(principal) = sessions::check(conn, &token, now, door, lifetimes)? else {
                return Ok(None);
            };
            let loaded = load(conn, principal)?;
            if loaded.is_none() {
                sessions::end(conn, &token, now, Ended::Refused)?;
            }
            Ok(loaded)
        })
        .await?;
    match found {
        Some(found) => Ok(found),
        None => {
            // Forget it but keep the cookie: the sign-in form shown next stores its CSRF
            // token there (a purged session would drop it, and the first sign-in would fail).
            forget(session);
            Err(missing)
        }
    }
}

/// A signed-in admin or staff member of the admin center. Extracting it checks the session
/// record (not ended, not idle too long, within its lifetime) and that the account may still
/// sign in; otherwise the request is sent to the sign-in page.
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
        let req = req.clone();
        Box::pin(async move {
            let signed_in = signed_in(
                &session,
                state,
                Door::AdminCenter,
                WebError::SignInRequired,
                accounts::admin_center_actor,
            )
            .await?;
            let admin = AdminSession { signed_in, session };
            // An error page shown for this request keeps the signed-in navigation.
            req.extensions_mut()
                .insert(super::errors::SignedInFrame(Frame::for_errors(&admin)));
            Ok(admin)
        })
    }
}

/// An admin's request in their own tenant: the facts every tenant handler starts from, taken
/// once here instead of in each handler. Extracting it checks the session as `AdminSession`
/// does and refuses staff, who have no tenant. Handlers destructure what they use:
/// `TenantRequest { session, state, actor, tenant, now }: TenantRequest`.
pub struct TenantRequest {
    pub session: AdminSession,
    pub state: web::Data<AppState>,
    pub actor: Actor,
    pub tenant: TenantId,
    /// The clock's time when the request came in: one instant for the whole change.
    pub now: chrono::DateTime<chrono::Utc>,
}

impl TenantRequest {
    /// Runs one domain call on the blocking pool as this request's actor, in its tenant, at
    /// its time (for code that keeps the request whole, such as a page shown again).
    pub async fn db<T, F>(&self, f: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(
                &mut DbConnection,
                &Actor,
                TenantId,
                chrono::DateTime<chrono::Utc>,
            ) -> Result<T, DomainError>
            + Send
            + 'static,
    {
        let (actor, tenant, now) = (self.actor.clone(), self.tenant, self.now);
        self.state
            .db(move |conn| f(conn, &actor, tenant, now))
            .await
    }
}

impl FromRequest for TenantRequest {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let admin = AdminRequest::from_request(req, payload);
        Box::pin(async move {
            let AdminRequest {
                session,
                state,
                actor,
                now,
            } = admin.await?;
            let tenant = session.tenant()?;
            Ok(TenantRequest {
                session,
                state,
                actor,
                tenant,
                now,
            })
        })
    }
}

/// A request in the admin center by anyone signed in there, admin or staff (pages both see,
/// such as a service request's thread, and the support console): the same facts as
/// `TenantRequest` without a tenant.
pub struct AdminRequest {
    pub session: AdminSession,
    pub state: web::Data<AppState>,
    pub actor: Actor,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl FromRequest for AdminRequest {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let admin = AdminSession::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let session = admin.await?;
            let state = state.ok_or_else(|| WebError::Internal("no application state".into()))?;
            Ok(AdminRequest {
                actor: session.actor().clone(),
                now: state.clock.now(),
                state,
                session,
            })
        })
    }
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
            let actor = signed_in(
                &session,
                state,
                Door::Portal,
                WebError::PortalSignInRequired,
                portal::actor,
            )
            .await?;
            Ok(PortalSession { actor, session })
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
