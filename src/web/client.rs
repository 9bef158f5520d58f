//! The client's address, as sign-in throttling sees it: the TCP peer, or, when the peer is one
//! of the balancers of `ALLOT_TRUSTED_PROXIES`, the address they forwarded in
//! `X-Forwarded-For`. Without trusted proxies the header is ignored: anyone can send it.

use actix_web::HttpRequest;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use std::net::IpAddr;

tokio::task_local! {
    /// The client of the request this task serves.
    static CLIENT: Option<IpAddr>;
}

/// Middleware: the rest of the request runs knowing its client's address, which
/// `AppState::db` hands to the audit log of the changes it makes.
pub async fn remember(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let trusted = req
        .app_data::<web::Data<super::AppState>>()
        .map(|state| state.trusted_proxies.clone());
    let address = trusted.and_then(|trusted| client_address(req.request(), &trusted));
    CLIENT.scope(address, next.call(req)).await
}

/// The address `remember` saw for the request being served, if any.
pub fn current() -> Option<IpAddr> {
    CLIENT.try_with(|a| *a).ok().flatten()
}

/// The client behind `req`. Read right to left, `X-Forwarded-For` lists the hops nearest first:
/// the first that is not a trusted proxy is the client; what lies left of it could be made up
/// by the client. A malformed entry ends the walk at the last hop known good.
pub fn client_address(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(addr) if trusted.contains(&addr) => nearest = addr,
            Ok(addr) => return Some(addr),
            Err(_) => return Some(nearest),
        }
    }
    Some(nearest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip(a: &str) -> IpAddr {
        a.parse().unwrap()
    }

    fn from(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(format!("{peer}:5000").parse().unwrap());
        if let Some(f) = forwarded {
            req = req.insert_header(("X-Forwarded-For", f));
        }
        req.to_http_request()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let req = from("203.0.113.5", Some("198.51.100.1"));
        assert_eq!(client_address(&req, &[]), Some(ip("203.0.113.5")));
        assert_eq!(
            client_address(&req, &[ip("10.0.0.1")]),
            Some(ip("203.0.113.5"))
        );
    }

    #[test]
    fn behind_a_trusted_balancer_the_nearest_untrusted_hop_is_the_client() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // The client said it was 1.2.3.4; the balancers appended what they saw.
        let req = from("10.0.0.1", Some("1.2.3.4, 198.51.100.7, 10.0.0.2"));
        assert_eq!(client_address(&req, &trusted), Some(ip("198.51.100.7")));
        // Nothing forwarded: the balancer itself.
        assert_eq!(
            client_address(&from("10.0.0.1", None), &trusted),
            Some(ip("10.0.0.1"))
        );
        // A malformed hop ends the walk at the last good one.
        let req = from("10.0.0.1", Some("198.51.100.7, junk"));
        assert_eq!(client_address(&req, &trusted), Some(ip("10.0.0.1")));
        let req = from("10.0.0.1", Some("2001:db8::7"));
        assert_eq!(client_address(&req, &trusted), Some(ip("2001:db8::7")));
    }
}
