//! The states of an outgoing mail: what it is for and how far it got.

use super::text_enum::text_enum;

text_enum! {
    /// Where a mail in an outbox stands.
    pub enum MailStatus {
        /// Waiting for its first or next try.
        Pending = "pending",
        /// Handed to the relay.
        Sent = "sent",
        /// Given up: refused for good, or out of tries.
        Failed = "failed",
        /// Not to be sent: superseded by a resend, or its invite or member went away.
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// What a tenant mail is for, which decides the link token it carries.
    pub enum MailPurpose {
        /// An invite to join the organisation.
        Invite = "invite",
        /// A password reset link.
        PasswordReset = "password_reset",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_forms_round_trip() {
        for s in [
            MailStatus::Pending,
            MailStatus::Sent,
            MailStatus::Failed,
            MailStatus::Cancelled,
        ] {
            assert_eq!(MailStatus::from_stored(s.as_str()), Some(s));
        }
        for p in [MailPurpose::Invite, MailPurpose::PasswordReset] {
            assert_eq!(MailPurpose::from_stored(p.as_str()), Some(p));
        }
        assert_eq!(MailStatus::from_stored("queued"), None);
    }
}
