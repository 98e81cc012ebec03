//! Turning Askama templates into responses, and what every page knows; the
//! dashboard's chart geometry in [`chart`].

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::auth::session::Flash;
use crate::auth::{CurrentMember, TypedSession};
use crate::error::{AppResult, html_response};

pub mod chart;

/// A time as the pages show it, to the minute (`2026-12-04 18:09`). Written
/// field by field: chrono's `format` parses its format string on every call,
/// which on the lead list (a time per row) cost 4% of the server's CPU. Takes
/// the time however many references deep a template holds it.
pub fn minute(t: impl AsTime) -> impl std::fmt::Display {
    struct Minute(chrono::NaiveDateTime);
    impl std::fmt::Display for Minute {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            use chrono::{Datelike, Timelike};
            let t = &self.0;
            // Digit by digit into one buffer, one write: `write!` with padded
            // fields went through the formatter's padding for each of five.
            let year = t.year();
            if !(0..=9999).contains(&year) {
                return write!(
                    f,
                    "{year:04}-{:02}-{:02} {:02}:{:02}",
                    t.month(),
                    t.day(),
                    t.hour(),
                    t.minute()
                );
            }
            let year = year.unsigned_abs();
            let mut b = *b"0000-00-00 00:00";
            let digit = |n: u32| b'0' + (n % 10) as u8;
            b[0] = digit(year / 1000);
            b[1] = digit(year / 100);
            b[2] = digit(year / 10);
            b[3] = digit(year);
            for (at, n) in [
                (5, t.month()),
                (8, t.day()),
                (11, t.hour()),
                (14, t.minute()),
            ] {
                b[at] = digit(n / 10);
                b[at + 1] = digit(n);
            }
            f.write_str(std::str::from_utf8(&b).map_err(|_| std::fmt::Error)?)
        }
    }
    Minute(t.time())
}

/// A time, or a reference to one (see [`minute`]).
pub trait AsTime {
    /// The time.
    fn time(&self) -> chrono::NaiveDateTime;
}

impl AsTime for chrono::NaiveDateTime {
    fn time(&self) -> chrono::NaiveDateTime {
        *self
    }
}

impl<T: AsTime + ?Sized> AsTime for &T {
    fn time(&self) -> chrono::NaiveDateTime {
        (**self).time()
    }
}

/// What the layouts need on every page.
pub struct PageContext {
    /// Token for the forms on this page.
    pub csrf_token: String,
    /// A one-time message.
    pub flash: Option<Flash>,
    /// The organisation's name on tenant pages.
    pub org_name: Option<String>,
    /// The logged-in member's name.
    pub member_name: Option<String>,
    /// Whether that member is an admin (admin links).
    pub is_admin: bool,
    /// Sidebar section to highlight.
    pub nav: &'static str,
}

impl PageContext {
    /// For public pages (apex, login): a CSRF token and the flash.
    pub fn public(session: &TypedSession) -> Self {
        Self {
            csrf_token: session.csrf_token(),
            flash: session.take_flash(),
            org_name: None,
            member_name: None,
            is_admin: false,
            nav: "",
        }
    }

    /// For a public page on a tenant host (login, invite): shows the organisation.
    pub fn tenant_public(session: &TypedSession, org_name: &str) -> Self {
        Self {
            org_name: Some(org_name.to_owned()),
            ..Self::public(session)
        }
    }

    /// For pages behind login.
    pub fn app(session: &TypedSession, me: &CurrentMember, nav: &'static str) -> Self {
        Self {
            csrf_token: session.csrf_token(),
            flash: session.take_flash(),
            org_name: Some(me.tenant.name.clone()),
            member_name: Some(me.member.name.clone()),
            is_admin: me.is_admin(),
            nav,
        }
    }
}

// Form errors are a domain value (forms parse in the domain layer); pages name them here.
pub use crate::domain::forms::FormErrors;

/// Renders a template with a status. Every HTML page goes through here.
pub fn render<T: Template>(status: StatusCode, page: &T) -> AppResult<HttpResponse> {
    let html = page.render()?;
    Ok(html_response(HttpResponse::build(status), html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_read_as_chrono_writes_them() {
        for text in [
            "2026-12-04 08:05:59.999999",
            "2000-01-01 00:00:00",
            "2999-12-31 23:59:00",
            "0001-02-03 04:05:06",
            "0999-10-11 12:13:14",
            "9999-12-31 23:59:59",
        ] {
            let t = chrono::NaiveDateTime::parse_from_str(text, "%F %T%.f").unwrap();
            assert_eq!(
                minute(&t).to_string(),
                t.format("%Y-%m-%d %H:%M").to_string()
            );
        }
    }
}
