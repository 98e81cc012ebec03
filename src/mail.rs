//! Mail: composing messages, and the worker that delivers the outbox.
//!
//! Requests never talk to SMTP. A handler renders its mail here and writes it to
//! the outbox (`db::outbox`) in the same transaction as what caused it, then wakes
//! the worker through [`MailWaker`]. A mail with a link is rendered with
//! [`TOKEN_PLACEHOLDER`] where the token goes; the worker mints the token when it
//! claims the mail for a try, gives the database only its hash, and fills the raw
//! token into that try's message alone. The worker, spawned at start-up, also polls
//! every `mail_poll_interval`, so mail queued by another instance or left over from
//! a restart goes out too. Each job names its tenant, and the worker reads and
//! updates that mail inside that tenant's scope: there is no ambient tenant, and a
//! mail can only be completed from its own tenant's rows.
//!
//! A failed try is retried after `mail_retry_base`, doubling each time up to
//! [`MAIL_RETRY_MAX`]; after `mail_max_attempts` tries (or at once on a permanent
//! SMTP refusal) the mail is marked failed, which `/team` shows with a Resend button.
//!
//! Transport: `SMTP_URL` (`smtp://host:port` plain for a local relay,
//! `smtp://...?tls=required` for STARTTLS, `smtps://` for TLS, credentials as
//! `smtp://user:pass@host`). Without it, each mail is written as an `.eml` file under
//! `mail_dir` and its link is logged, a development convenience. Neither the URL nor
//! recipients are ever logged.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::config::{Config, MAIL_RETRY_MAX};
use crate::db::invites::INVITE_TTL;
use crate::db::member_directory::Workspace;
use crate::db::outbox::{Claim, Delivery, MailJob, OutgoingMail};
use crate::db::tenants::Tenant;
use crate::db::tokens::LinkToken;
use crate::db::{Db, DbResult};
use crate::domain::{Email, Role};
use crate::error::{AppResult, error_chain};

/// Stands for the link token in a queued mail's bodies and link.
const TOKEN_PLACEHOLDER: &str = "TENANTRY-LINK-TOKEN";

/// How long a claimed mail is held back from other tries while it is being sent.
pub const MAIL_SEND_LEASE: Duration = Duration::from_secs(120);
/// How long one SMTP step may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one whole send may take: well inside [`MAIL_SEND_LEASE`], so that no
/// other worker claims (and re-mints the link of) a mail still being sent.
pub const SEND_DEADLINE: Duration = Duration::from_secs(90);
/// Due mails handled per worker pass.
const BATCH: i64 = 50;
/// How long the worker waits before it tries a tenant store that did not answer.
const HINT_RETRY: Duration = Duration::from_secs(60);

/// Wakes the mail worker after a request has queued mail.
#[derive(Clone, Default)]
pub struct MailWaker(Arc<Notify>);

impl MailWaker {
    /// Tells the worker that mail is waiting (kept if it is busy right now).
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

#[derive(Template)]
#[template(path = "mail/invite.txt")]
struct InviteText<'a> {
    org_name: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    ttl_days: u64,
}

#[derive(Template)]
#[template(path = "mail/invite.html")]
struct InviteHtml<'a> {
    org_name: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    ttl_days: u64,
}

#[derive(Template)]
#[template(path = "mail/reset.txt")]
struct ResetText<'a> {
    org_name: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/reset.html")]
struct ResetHtml<'a> {
    org_name: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/find.txt")]
struct FindText<'a> {
    workspaces: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "mail/find.html")]
struct FindHtml<'a> {
    workspaces: &'a [(String, String)],
}

/// The invite mail from `inviter`, with a placeholder where the link's token goes.
pub fn invite_mail(
    config: &Config,
    tenant: &Tenant,
    inviter: &str,
    to: &Email,
    role: Role,
) -> AppResult<OutgoingMail> {
    let org_name = tenant.name.as_str();
    let link = format!(
        "{}/invite/{TOKEN_PLACEHOLDER}",
        config.tenant_origin(&tenant.slug)
    );
    let ttl_days = (INVITE_TTL.as_secs() / 86_400).max(1);
    Ok(OutgoingMail {
        to: to.as_str().to_owned(),
        subject: format!("You are invited to join {org_name} on Tenantry"),
        text: InviteText {
            org_name,
            inviter,
            role: role.as_str(),
            link: &link,
            ttl_days,
        }
        .render()?,
        html: InviteHtml {
            org_name,
            inviter,
            role: role.as_str(),
            link: &link,
            ttl_days,
        }
        .render()?,
        link: Some(link),
    })
}

/// The password reset mail, with a placeholder where the link's token goes.
pub fn reset_mail(config: &Config, tenant: &Tenant, to: &Email) -> AppResult<OutgoingMail> {
    let org_name = tenant.name.as_str();
    let link = format!(
        "{}/password/reset/{TOKEN_PLACEHOLDER}",
        config.tenant_origin(&tenant.slug)
    );
    Ok(OutgoingMail {
        to: to.as_str().to_owned(),
        subject: format!("Reset your {org_name} password"),
        text: ResetText {
            org_name,
            link: &link,
        }
        .render()?,
        html: ResetHtml {
            org_name,
            link: &link,
        }
        .render()?,
        link: Some(link),
    })
}

/// A queued mail with `token` where its placeholder was.
fn with_token(mail: OutgoingMail, token: &str) -> OutgoingMail {
    OutgoingMail {
        text: mail.text.replace(TOKEN_PLACEHOLDER, token),
        html: mail.html.replace(TOKEN_PLACEHOLDER, token),
        link: mail.link.map(|l| l.replace(TOKEN_PLACEHOLDER, token)),
        ..mail
    }
}

/// The workspace finder's mail: each workspace's name and address.
pub fn find_mail(config: &Config, to: &Email, workspaces: &[Workspace]) -> AppResult<OutgoingMail> {
    let list: Vec<(String, String)> = workspaces
        .iter()
        .map(|w| (w.name.clone(), config.tenant_origin(&w.slug)))
        .collect();
    Ok(OutgoingMail {
        to: to.as_str().to_owned(),
        subject: "Your Tenantry workspaces".to_owned(),
        text: FindText { workspaces: &list }.render()?,
        html: FindHtml { workspaces: &list }.render()?,
        link: None,
    })
}

/// Why a send failed, and whether trying again could help.
struct SendError {
    permanent: bool,
    reason: String,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// Sends one message through SMTP or into `.eml` files.
struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    fn from_config(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .context("MAIL_FROM is not a mail address (e.g. `Tenantry <no-reply@example.com>`)")?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    // The error text could quote the URL, which may hold a password.
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "SMTP_URL is not usable: use smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://user:pass@host"
                        )
                    })?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&config.mail_dir).with_context(|| {
                    format!("could not create the mail directory {}", config.mail_dir.display())
                })?;
                Transport::Files(
                    AsyncFileTransport::<Tokio1Executor>::new(&config.mail_dir),
                    config.mail_dir.clone(),
                )
            }
        };
        Ok(Self { transport, from })
    }

    async fn send(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        let to: Mailbox = mail.to.parse().map_err(|_| SendError {
            permanent: true,
            reason: "the recipient address is not valid".to_owned(),
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| SendError {
                permanent: true,
                reason: format!("could not build the message: {e}"),
            })?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                match tokio::time::timeout(SEND_DEADLINE, smtp.send(message)).await {
                    Ok(sent) => sent.map(|_| ()).map_err(|e| SendError {
                        permanent: e.is_permanent(),
                        reason: error_chain(&e),
                    }),
                    Err(_) => Err(SendError {
                        permanent: false,
                        reason: "the mail relay did not finish in time".to_owned(),
                    }),
                }
            }
            Transport::Files(files, dir) => {
                let id = files.send(message).await.map_err(|e| SendError {
                    permanent: false,
                    reason: error_chain(&e),
                })?;
                let file = dir.join(format!("{id}.eml"));
                // Development only: the link, so a developer can click it; no address.
                tracing::info!(
                    file = %file.display(),
                    link = mail.link.as_deref().unwrap_or("-"),
                    "mail written to a file (no SMTP_URL set)"
                );
                Ok(())
            }
        }
    }
}

/// A failure reason fit for the log: a relay's answer may quote the recipient's
/// address, and addresses are not logged. (The full reason is kept on the mail,
/// where only the workspace's admins see it.)
fn for_log(reason: &str) -> String {
    reason
        .split(' ')
        .map(|word| {
            if word.contains('@') {
                "[address]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the worker needs from the configuration.
#[derive(Clone)]
struct WorkerSettings {
    max_attempts: u32,
    retry_base: Duration,
    poll: Duration,
}

impl WorkerSettings {
    /// The delay after the `attempt`-th failed try: base, 2×base, 4×base... capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.retry_base.saturating_mul(factor).min(MAIL_RETRY_MAX)
    }
}

/// Starts the delivery worker. Fails at start-up if the mail settings are unusable.
pub fn spawn_worker(db: Db, config: &Config, waker: MailWaker) -> anyhow::Result<JoinHandle<()>> {
    let mailer = Mailer::from_config(config)?;
    let settings = WorkerSettings {
        max_attempts: config.mail_max_attempts.max(1),
        retry_base: config.mail_retry_base,
        poll: config.mail_poll_interval,
    };
    Ok(tokio::spawn(async move {
        loop {
            deliver_due(&db, &mailer, &settings).await;
            tokio::select! {
                () = waker.0.notified() => {}
                () = tokio::time::sleep(settings.poll) => {}
            }
        }
    }))
}

/// One pass: every due job, one at a time.
async fn deliver_due(db: &Db, mailer: &Mailer, settings: &WorkerSettings) {
    let jobs = match db.platform_read(|tx| tx.due_mail_jobs(BATCH)).await {
        Ok(jobs) => jobs,
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "mail worker could not read the queue");
            return;
        }
    };
    deliver_all(db, mailer, settings, jobs).await;
    // Tenants placed outside the main database keep their queues in their own
    // stores; the main database's hints say whose mail is due.
    let elsewhere = match db.platform_read(|tx| tx.mail_due_elsewhere(BATCH)).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "mail worker could not read the hints");
            return;
        }
    };
    for due in elsewhere {
        let scope = due.scope.clone();
        match db.read(&scope, |tx| tx.due_mail_jobs_here(BATCH)).await {
            Ok(jobs) => {
                deliver_all(db, mailer, settings, jobs).await;
                if let Err(e) = db.settle_mail_due(due).await {
                    tracing::warn!(error = %error_chain(&e), "mail worker could not move a hint on");
                }
            }
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "mail worker could not read a tenant's queue; trying again in a minute");
                if let Err(e) = db.postpone_mail_due(due, HINT_RETRY).await {
                    tracing::warn!(error = %error_chain(&e), "mail worker could not put a hint off");
                }
            }
        }
    }
}

async fn deliver_all(db: &Db, mailer: &Mailer, settings: &WorkerSettings, jobs: Vec<MailJob>) {
    for job in jobs {
        let id = job.id().clone();
        if let Err(e) = deliver(db, mailer, settings, job).await {
            tracing::warn!(mail.id = %id, error = %error_chain(&e), "mail job failed");
        }
    }
}

/// Claims a job for one try. A tenant mail's link token is minted here, once per
/// try: the claim stores only its hash, and the raw token goes into this try's
/// message alone, so a retry or a resend voids the links of earlier mails.
async fn claim(db: &Db, job: &MailJob) -> DbResult<Option<(OutgoingMail, u32)>> {
    let (claim, token) = match job {
        MailJob::Tenant { scope, id } => {
            let token = LinkToken::mint();
            let (id, hash) = (id.clone(), token.hash().clone());
            let claim = db
                .write(scope, move |tx| tx.claim_mail(&id, MAIL_SEND_LEASE, &hash))
                .await?;
            (claim, Some(token))
        }
        MailJob::Platform { id } => {
            let id = id.clone();
            let claim = db
                .platform(move |tx| tx.claim_platform_mail(&id, MAIL_SEND_LEASE))
                .await?;
            (claim, None)
        }
    };
    Ok(match claim {
        Claim::Ready { mail, attempt } => {
            let mail = match &token {
                Some(token) => with_token(mail, token.raw()),
                None => mail,
            };
            Some((mail, attempt))
        }
        Claim::Nothing => None,
    })
}

/// Records how a try went, in the job's own tenant (or the platform outbox).
async fn record(db: &Db, job: MailJob, delivery: Delivery) -> DbResult<()> {
    match job {
        MailJob::Tenant { scope, id } => {
            db.write(&scope, move |tx| tx.record_delivery(&id, &delivery))
                .await
        }
        MailJob::Platform { id } => {
            db.platform(move |tx| tx.record_platform_delivery(&id, &delivery))
                .await
        }
    }
}

/// Claims, sends and records one mail.
async fn deliver(
    db: &Db,
    mailer: &Mailer,
    settings: &WorkerSettings,
    job: MailJob,
) -> DbResult<()> {
    let Some((mail, attempt)) = claim(db, &job).await? else {
        return Ok(());
    };
    let id = job.id();
    let delivery = match mailer.send(&mail).await {
        Ok(()) => {
            tracing::info!(mail.id = %id, attempt, "mail delivered");
            Delivery::Sent
        }
        Err(e) if e.permanent || attempt >= settings.max_attempts => {
            tracing::warn!(mail.id = %id, attempt, error = %for_log(&e.reason), "mail failed for good");
            Delivery::Failed(e.reason)
        }
        Err(e) => {
            let wait = settings.backoff(attempt);
            tracing::info!(mail.id = %id, attempt, retry_in_ms = wait.as_millis() as u64, error = %for_log(&e.reason), "mail not delivered; will retry");
            let at = crate::db::after(crate::db::now(), wait);
            Delivery::RetryAt(at, e.reason)
        }
    };
    record(db, job, delivery).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_escape_names_and_text_bodies_keep_them() {
        let link = "http://acme.crm.example/invite/TENANTRY-LINK-TOKEN";
        assert!(link.ends_with(TOKEN_PLACEHOLDER));
        let html = InviteHtml {
            org_name: "<b>Acme</b> & Co",
            inviter: "Ann",
            role: "admin",
            link,
            ttl_days: 7,
        }
        .render()
        .unwrap_or_default();
        assert!(!html.contains("<b>Acme"), "{html}");
        assert!(html.contains("Acme") && html.contains(link));
        assert!(html.contains("as an admin"));
        let text = InviteText {
            org_name: "<b>Acme</b> & Co",
            inviter: "Ann",
            role: "member",
            link,
            ttl_days: 7,
        }
        .render()
        .unwrap_or_default();
        assert!(text.contains("<b>Acme</b> & Co") && text.contains(link));
        assert!(text.contains("as a member"));
    }

    #[test]
    fn logged_reasons_hide_addresses() {
        assert_eq!(
            for_log("permanent error (550): <bob@example.test> unknown"),
            "permanent error (550): [address] unknown"
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let s = WorkerSettings {
            max_attempts: 8,
            retry_base: Duration::from_secs(30),
            poll: Duration::from_secs(1),
        };
        assert_eq!(s.backoff(1), Duration::from_secs(30));
        assert_eq!(s.backoff(2), Duration::from_secs(60));
        assert_eq!(s.backoff(3), Duration::from_secs(120));
        assert_eq!(s.backoff(40), MAIL_RETRY_MAX);
    }
}
