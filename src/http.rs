//! HTTP helpers every layer above `config` may use: the 303 answer, query-value
//! encoding, and the `next` target check. A leaf: it imports nothing from the crate.

use actix_web::HttpResponse;
use actix_web::http::header;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The answer to a successful POST: 303 to `location`.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// What a query-string value may keep unencoded: unreserved characters, and `/`
/// so that `next=/leads` stays readable.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes a query-string value.
pub fn url_encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// A `next` target that stays on this host: a local absolute path, not `//host`,
/// not `/\host` (which browsers treat as `//`), no scheme, no control characters.
/// Anything else becomes `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\')
                && n.len() <= 2048 =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_host() {
        assert_eq!(safe_next(Some("/leads?page=2")), "/leads?page=2");
        assert_eq!(safe_next(None), "/");
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "https://evil.com",
            "evil.com",
            "/a\\b",
            "/\nx",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(url_encode("/leads?q=a b&x"), "/leads%3Fq%3Da%20b%26x");
    }
}
