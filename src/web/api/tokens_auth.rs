//! The API's door: `Authorization: Bearer <secret>`, checked against the token's row on every
//! call (so a revoked token is refused at once in every process), and a per-token rate limit.
//! No cookies and no CSRF: a bearer token is not sent by a browser on its own.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;

use super::errors::ApiError;
use crate::domain::api_tokens::{self, Authentication};
use crate::domain::{Actor, ApiTokenId, DbConnection, DomainError, TenantId};
use crate::web::AppState;

/// Calls one token may make in a minute.
pub const REQUESTS_PER_MINUTE: u32 = 600;

/// A fixed one-minute window per token, counted in this process. Several server processes
/// each count on their own, so behind a balancer a token may make this many calls a minute in
/// each (the README says so).
pub struct RateLimiter {
    limit: u32,
    /// The current window (minutes since the epoch) and each token's calls in it.
    window: Mutex<(i64, HashMap<ApiTokenId, u32>)>,
}

impl RateLimiter {
    pub fn new(limit: u32) -> RateLimiter {
        RateLimiter {
            limit,
            window: Mutex::new((i64::MIN, HashMap::new())),
        }
    }

    /// Counts a call of `token` at `now`; `Err(seconds)` until the window ends when over.
    pub fn admit(&self, token: ApiTokenId, now: DateTime<Utc>) -> Result<(), u64> {
        let minute = now.timestamp().div_euclid(60);
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if window.0 != minute {
            // A new window forgets the last one, so the map holds only this minute's tokens.
            *window = (minute, HashMap::new());
        }
        let calls = window.1.entry(token).or_insert(0);
        if *calls >= self.limit {
            let left = 60 - now.timestamp().rem_euclid(60);
            return Err(left.max(1) as u64);
        }
        *calls += 1;
        Ok(())
    }
}

/// A call of the API with a live token: the facts every API handler starts from.
/// Handlers destructure what they use: `ApiRequest { state, actor, tenant, now }`.
pub struct ApiRequest {
    pub state: web::Data<AppState>,
    pub actor: Actor,
    pub tenant: TenantId,
    /// The clock's time when the call came in: one instant for the whole change.
    pub now: DateTime<Utc>,
}

impl ApiRequest {
    /// Runs one domain call on the blocking pool as this token, in its tenant, at its time.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, &Actor, TenantId, DateTime<Utc>) -> Result<T, DomainError>
            + Send
            + 'static,
    {
        let (actor, tenant, now) = (self.actor.clone(), self.tenant, self.now);
        Ok(self
            .state
            .db(move |conn| f(conn, &actor, tenant, now))
            .await?)
    }
}

/// The secret of an `Authorization: Bearer <secret>` header (the scheme in any case).
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.trim().split_once(' ')?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then(|| secret.to_owned())
}

impl FromRequest for ApiRequest {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let secret = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no application state".into()))?;
            let Some(secret) = secret else {
                return Err(ApiError::Unauthenticated(
                    "Send an API token: Authorization: Bearer <token>. Tokens are made at \
                     Settings > API access.",
                ));
            };
            let now = state.clock.now();
            let found = state
                .db(move |conn| api_tokens::authenticate(conn, now, &secret))
                .await?;
            let actor = match found {
                Authentication::Valid(actor) => actor,
                Authentication::Unknown => {
                    return Err(ApiError::Unauthenticated("The API token is not valid."));
                }
                Authentication::Expired => {
                    return Err(ApiError::Unauthenticated("The API token has expired."));
                }
                Authentication::Revoked => {
                    return Err(ApiError::Unauthenticated("The API token has been revoked."));
                }
            };
            let Actor::ApiToken { tenant, token, .. } = &actor else {
                return Err(ApiError::Internal("a token that is not a token".into()));
            };
            state
                .api
                .limiter
                .admit(*token, now)
                .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
            Ok(ApiRequest {
                tenant: *tenant,
                state,
                actor,
                now,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_token_gets_its_limit_a_minute_and_then_waits_for_the_next_minute() {
        let limiter = RateLimiter::new(3);
        let at = Utc.with_ymd_and_hms(2026, 11, 5, 9, 0, 45).unwrap();
        let (a, b) = (ApiTokenId(1), ApiTokenId(2));
        for _ in 0..3 {
            assert_eq!(limiter.admit(a, at), Ok(()));
        }
        assert_eq!(limiter.admit(a, at), Err(15));
        assert_eq!(limiter.admit(b, at), Ok(()), "each token counts alone");
        let next = Utc.with_ymd_and_hms(2026, 11, 5, 9, 1, 0).unwrap();
        assert_eq!(limiter.admit(a, next), Ok(()));
    }
}
