//! The audit log's vocabulary: what happened ([`AuditAction`]), who did it
//! ([`Actor`]), and where the request came from ([`RequestMeta`]).

use super::MemberId;
use super::text_enum::text_enum;

text_enum! {
    /// What an audit entry records. The stored text is a dotted name.
    pub enum AuditAction {
        /// A member logged in.
        LoginSucceeded = "login.succeeded",
        /// A log-in was refused (wrong password, unknown or deactivated account).
        LoginFailed = "login.failed",
        /// A member logged out.
        Logout = "logout",
        /// A member set a new password through a reset link.
        PasswordReset = "password.reset",
        /// A member changed their password on `/account`.
        PasswordChanged = "password.changed",
        /// An admin invited someone (or sent an invite again).
        InviteSent = "invite.sent",
        /// Someone accepted an invite and joined.
        InviteAccepted = "invite.accepted",
        /// An admin revoked an invite.
        InviteRevoked = "invite.revoked",
        /// An admin changed a member's role.
        MemberRoleChanged = "member.role_changed",
        /// An admin deactivated a member.
        MemberDeactivated = "member.deactivated",
        /// An admin changed the organisation's settings.
        SettingsChanged = "settings.changed",
        /// An API key was made (API keys are not built yet).
        ApiKeyCreated = "api_key.created",
        /// An API key was used for the first time.
        ApiKeyFirstUsed = "api_key.first_used",
        /// An API key was revoked.
        ApiKeyRevoked = "api_key.revoked",
        /// Leads were imported from CSV.
        LeadsImported = "leads.imported",
        /// A CSV import was undone.
        ImportUndone = "leads.import_undone",
        /// The lead list was exported as CSV.
        LeadsExported = "leads.exported",
        /// An admin downloaded the whole workspace.
        WorkspaceExported = "workspace.exported",
        /// A lead was deleted.
        LeadDeleted = "lead.deleted",
        /// A company was deleted.
        CompanyDeleted = "company.deleted",
        /// The operator moved the tenant to another placement.
        TenantMoved = "tenant.moved",
        /// The operator changed the tenant's plan.
        TenantPlanChanged = "tenant.plan_changed",
        /// The operator overrode the tenant's limits.
        TenantLimitsChanged = "tenant.limits_changed",
        /// The operator restored the tenant from a bundle.
        TenantImported = "tenant.imported",
    }
}

impl AuditAction {
    /// Every action, in the order the filter lists them.
    pub const ALL: [AuditAction; 24] = [
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::Logout,
        Self::PasswordReset,
        Self::PasswordChanged,
        Self::InviteSent,
        Self::InviteAccepted,
        Self::InviteRevoked,
        Self::MemberRoleChanged,
        Self::MemberDeactivated,
        Self::SettingsChanged,
        Self::ApiKeyCreated,
        Self::ApiKeyFirstUsed,
        Self::ApiKeyRevoked,
        Self::LeadsImported,
        Self::ImportUndone,
        Self::LeadsExported,
        Self::WorkspaceExported,
        Self::LeadDeleted,
        Self::CompanyDeleted,
        Self::TenantMoved,
        Self::TenantPlanChanged,
        Self::TenantLimitsChanged,
        Self::TenantImported,
    ];

    /// The action named `s` (its stored form), if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::from_stored(s)
    }
}

text_enum! {
    /// The kind of whoever did what an entry records.
    pub enum ActorKind {
        /// A member of the tenant, logged in.
        Member = "member",
        /// An integration, with one of the tenant's API keys.
        ApiKey = "api_key",
        /// The operator, on the command line.
        Operator = "operator",
        /// Tenantry itself.
        System = "system",
        /// Nobody known (a refused log-in).
        Anonymous = "anonymous",
    }
}

/// Who did it, as an entry keeps it: the label is taken at the time (a member's
/// email then), so the log reads the same after a rename.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A member, by id, with their email at the time.
    Member {
        /// The member's id.
        id: MemberId,
        /// Their email then.
        label: String,
    },
    /// An API key, by id, with its name at the time.
    ApiKey {
        /// The key's id.
        id: String,
        /// Its name then.
        label: String,
    },
    /// The operator (the command line).
    Operator,
    /// Tenantry itself.
    System,
    /// Someone not logged in.
    Anonymous,
}

impl Actor {
    /// The actor's kind.
    pub fn kind(&self) -> ActorKind {
        match self {
            Actor::Member { .. } => ActorKind::Member,
            Actor::ApiKey { .. } => ActorKind::ApiKey,
            Actor::Operator => ActorKind::Operator,
            Actor::System => ActorKind::System,
            Actor::Anonymous => ActorKind::Anonymous,
        }
    }

    /// The actor's id, for a member or a key.
    pub fn id(&self) -> Option<&str> {
        match self {
            Actor::Member { id, .. } => Some(id.as_str()),
            Actor::ApiKey { id, .. } => Some(id),
            _ => None,
        }
    }

    /// How the log names the actor.
    pub fn label(&self) -> &str {
        match self {
            Actor::Member { label, .. } | Actor::ApiKey { label, .. } => label,
            Actor::Operator => "operator",
            Actor::System => "system",
            Actor::Anonymous => "anonymous",
        }
    }
}

/// Where a request came from, as the log keeps it: the client address (as
/// limits see it, trusted proxies considered) and the request id of its log
/// lines. Empty outside a request (the command line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The client's address.
    pub client_ip: Option<String>,
    /// The request's id (`tracing_actix_web`'s), as in the logs.
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_its_name() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len(), "names are unique");
        assert_eq!(
            AuditAction::parse("login.failed"),
            Some(AuditAction::LoginFailed)
        );
        assert_eq!(AuditAction::parse("nope"), None);
        assert_eq!(AuditAction::parse(""), None);
    }

    #[test]
    fn actor_kinds_round_trip() {
        for kind in ["member", "api_key", "operator", "system", "anonymous"] {
            assert_eq!(
                ActorKind::from_stored(kind).map(ActorKind::as_str),
                Some(kind)
            );
        }
        assert_eq!(Actor::Operator.label(), "operator");
        assert_eq!(Actor::Anonymous.id(), None);
    }
}
