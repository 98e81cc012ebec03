//! Who is asking: the client address that every limiter and log line uses.
//!
//! Behind a TLS proxy every request comes from the proxy's address, so a limit per
//! TCP peer would make one client's bad log-ins lock out everyone. The proxy says
//! who its client was in `X-Forwarded-For`, but anyone can send that header, so it
//! is believed only from a peer listed in `TRUSTED_PROXIES`; then the client is the
//! rightmost address in the header that is not itself a trusted proxy (the left
//! part was written by whoever connected to the first proxy, and can be anything).

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpRequest, web};
use ipnet::IpNet;

use crate::config::Config;
use crate::domain::RequestMeta;

/// The header a trusted proxy appends its client to.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address as limits and logs see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The client address of a request whose TCP peer is `peer`: the peer itself,
/// unless the peer is a trusted proxy; then the rightmost untrusted address of
/// `X-Forwarded-For` (every `X-Forwarded-For` line counts, in order). A header
/// that cannot be read leaves the peer as the answer.
pub fn client_addr(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all(FORWARDED_FOR) {
        let Ok(text) = value.to_str() else {
            return Some(peer);
        };
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.parse::<IpAddr>() {
                Ok(ip) => hops.push(ip),
                // A hop we cannot read: nothing left of it can be believed.
                Err(_) => hops.clear(),
            }
        }
    }
    Some(
        hops.into_iter()
            .rev()
            .find(|ip| !is_trusted(ip))
            .unwrap_or(peer),
    )
}

/// The client address of an actix request, with the app's trusted proxies.
pub fn of_request(req: &HttpRequest) -> ClientAddr {
    let trusted = req
        .app_data::<web::Data<Config>>()
        .map(|c| c.trusted_proxies.as_slice())
        .unwrap_or_default();
    ClientAddr(client_addr(
        req.peer_addr().map(|a| a.ip()),
        req.headers(),
        trusted,
    ))
}

impl FromRequest for ClientAddr {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(of_request(req)))
    }
}

/// What the audit log keeps of a request: its client address and request id.
pub fn meta_of_request(req: &HttpRequest) -> RequestMeta {
    use actix_web::HttpMessage;
    RequestMeta {
        client_ip: of_request(req).0.map(|ip| ip.to_string()),
        request_id: req
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string),
    }
}

impl FromRequest for RequestMeta {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(meta_of_request(req)))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                HeaderName::from_static(FORWARDED_FOR),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&["1.2.3.4"]);
        assert_eq!(
            client_addr(Some(ip("203.0.113.9")), &h, &trusted),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            client_addr(Some(ip("203.0.113.9")), &h, &[]),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_rightmost_untrusted_hop() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The client forged the first entry; the proxy appended the real peer.
        let h = headers(&["6.6.6.6, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(
            client_addr(Some(ip("10.0.0.1")), &h, &trusted),
            Some(ip("198.51.100.7"))
        );
        // Without a header, or with only proxies in it, the peer it is.
        assert_eq!(
            client_addr(Some(ip("10.0.0.1")), &HeaderMap::new(), &trusted),
            Some(ip("10.0.0.1"))
        );
        // An unreadable hop: nothing to its left is believed.
        let h = headers(&["6.6.6.6, garbage"]);
        assert_eq!(
            client_addr(Some(ip("10.0.0.1")), &h, &trusted),
            Some(ip("10.0.0.1"))
        );
    }
}
