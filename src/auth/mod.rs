//! Authentication: password hashing, the typed session, CSRF, and the extractors that
//! put "who is asking" into a handler's signature.

pub mod csrf;
pub mod extractors;
pub mod login;
pub mod password;
pub mod session;

pub use csrf::CsrfForm;
pub use extractors::{AdminMember, CurrentMember, CurrentTenant, SignedIn};
pub use login::{end_session, start_session};
pub use session::TypedSession;
