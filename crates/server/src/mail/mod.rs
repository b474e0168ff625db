//! Outgoing mail: the message we send, and the transports that deliver it. The
//! default transport writes RFC 5322 `.eml` files to the outbox directory.

pub mod job;
mod outbox;
pub mod smtp;

use crate::jobs::JobError;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One email, as queued in a `send_mail` job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
}

/// The first line of a mail to someone: "Hello Ada," or, without a first
/// name, "Hello,".
pub fn greeting(first_name: &str) -> String {
    match first_name.trim() {
        "" => "Hello,".to_owned(),
        name => format!("Hello {name},"),
    }
}

#[derive(Clone)]
pub enum Transport {
    /// Writes `<key>.eml` files into a directory.
    Outbox { dir: PathBuf, from: String },
    /// Sends through an SMTP server (`MUSTER_SMTP_URL`).
    Smtp { mailer: Mailer, from: String },
}

impl Transport {
    /// SMTP when `smtp_url` is given, else the file outbox in `outbox`.
    pub fn new(smtp_url: Option<&str>, from: &str, outbox: PathBuf) -> Result<Self, String> {
        let from = from.to_owned();
        match smtp_url {
            Some(url) => {
                let mailer = match smtp::SmtpPool::for_url(url)? {
                    Some(pool) => Mailer::Pool(pool),
                    None => Mailer::Lettre(smtp_mailer(url)?),
                };
                Ok(Transport::Smtp { mailer, from })
            }
            None => Ok(Transport::Outbox { dir: outbox, from }),
        }
    }

    /// Delivers `mail`; `key` identifies the delivery so that a retry replaces
    /// rather than duplicates.
    pub async fn send(&self, mail: &Mail, key: &str) -> Result<(), JobError> {
        match self {
            Transport::Outbox { dir, from } => {
                let message = build(mail, from, key)?;
                outbox::write(dir, key, &message.formatted()).await
            }
            Transport::Smtp { mailer, from } => {
                let message = build(mail, from, key)?;
                // Every SMTP failure is retried (with backoff, up to the job's
                // attempts): a refused login or a full mailbox can be mended.
                let sent = match mailer {
                    Mailer::Pool(pool) => pool.send(message.envelope(), &message.formatted()).await,
                    Mailer::Lettre(lettre) => lettre
                        .send(message)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                };
                sent.map_err(|e| {
                    JobError::Retry(format!("the SMTP server did not take the message: {e}"))
                })
            }
        }
    }
}

/// How mail reaches the SMTP server.
#[derive(Clone)]
pub enum Mailer {
    /// `smtp://`: our pool of connections without Nagle's delay.
    Pool(smtp::SmtpPool),
    /// `smtps://`: lettre's pooled transport.
    Lettre(AsyncSmtpTransport<Tokio1Executor>),
}

/// `smtp://host:port` (plain, or `?tls=required` for STARTTLS), `smtps://` for
/// TLS from the start; `user:password@` for authentication.
pub fn smtp_mailer(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|builder| {
            builder
                .timeout(Some(std::time::Duration::from_secs(30)))
                .build()
        })
        .map_err(|e| e.to_string())
}

fn build(mail: &Mail, from: &str, key: &str) -> Result<Message, JobError> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| JobError::Permanent(format!("MUSTER_MAIL_FROM is not an address: {e}")))?;
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| JobError::Permanent(format!("the recipient is not an address: {e}")))?;
    let domain = from.email.domain().to_owned();
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{key}@{domain}>")));
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text.clone());
    let message = match &mail.html {
        Some(html) => builder.multipart(
            MultiPart::alternative().singlepart(text).singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html.clone()),
            ),
        ),
        None => builder.singlepart(text),
    };
    message.map_err(|e| JobError::Permanent(format!("the message could not be built: {e}")))
}
