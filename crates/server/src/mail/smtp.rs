//! SMTP delivery over connections kept open between mails, with Nagle's
//! algorithm off. lettre's own pooled transport leaves it on, and it writes the
//! terminating `.` of a message apart from the body, so every message waited
//! for the server's delayed ACK (40 ms on Linux): about 25 mails a second per
//! connection. Plain SMTP and STARTTLS go through [`SmtpPool`]; implicit TLS
//! (`smtps://`) through lettre's transport.

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// For each step with the server: connecting (with greeting, STARTTLS and
/// login), sending one message, a NOOP.
const TIMEOUT: Duration = Duration::from_secs(30);
/// A connection idle for longer is checked with NOOP before it is used again.
const CHECK_AFTER: Duration = Duration::from_secs(30);

/// Where mail goes: parsed from `MUSTER_SMTP_URL` (`smtp://…`, with
/// `?tls=required` or `?tls=opportunistic` for STARTTLS).
#[derive(Debug, Clone)]
struct Server {
    host: String,
    port: u16,
    starttls: StartTls,
    credentials: Option<Credentials>,
    hello: ClientId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartTls {
    Never,
    Required,
    Opportunistic,
}

#[derive(Clone)]
pub struct SmtpPool {
    server: Arc<Server>,
    idle: Arc<Mutex<Vec<(AsyncSmtpConnection, Instant)>>>,
}

impl std::fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpPool")
            .field("server", &self.server.host)
            .finish()
    }
}

impl SmtpPool {
    /// The pool for a `smtp://` URL; `None` for `smtps://`, which lettre's
    /// transport serves.
    pub fn for_url(raw: &str) -> Result<Option<SmtpPool>, String> {
        let url = url::Url::parse(raw).map_err(|e| e.to_string())?;
        if url.scheme() != "smtp" {
            return Ok(None);
        }
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let (starttls, default_port) = match tls.as_deref() {
            None => (StartTls::Never, 25),
            Some("required") => (StartTls::Required, 587),
            Some("opportunistic") => (StartTls::Opportunistic, 587),
            Some(other) => return Err(format!("unknown tls={other}")),
        };
        let host = url.host_str().ok_or("the URL names no host")?.to_owned();
        let credentials = match url.password() {
            Some(password) => {
                let decode = |s: &str| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8()
                        .map(|s| s.into_owned())
                        .map_err(|e| e.to_string())
                };
                Some(Credentials::new(decode(url.username())?, decode(password)?))
            }
            None => None,
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        let server = Server {
            port: url.port().unwrap_or(default_port),
            host,
            starttls,
            credentials,
            hello,
        };
        Ok(Some(SmtpPool {
            server: Arc::new(server),
            idle: Arc::default(),
        }))
    }

    /// Sends one message; a connection that worked goes back to the pool.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), String> {
        let mut connection = self.connection().await?;
        let sent = match tokio::time::timeout(TIMEOUT, connection.send(envelope, message)).await {
            Ok(sent) => sent.map_err(|e| e.to_string()),
            Err(_) => Err(timed_out().to_string()),
        };
        match sent {
            Ok(_) => {
                if let Ok(mut idle) = self.idle.lock() {
                    idle.push((connection, Instant::now()));
                }
                Ok(())
            }
            Err(e) => {
                // A connection that failed or stalled is not used again.
                let _ = tokio::time::timeout(Duration::from_secs(1), connection.abort()).await;
                Err(e)
            }
        }
    }

    async fn connection(&self) -> Result<AsyncSmtpConnection, String> {
        loop {
            let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            let Some((mut connection, since)) = reused else {
                return self.connect().await.map_err(|e| e.to_string());
            };
            if connection.has_broken() {
                continue;
            }
            if since.elapsed() < CHECK_AFTER {
                return Ok(connection);
            }
            let alive = tokio::time::timeout(TIMEOUT, connection.test_connected()).await;
            if alive.unwrap_or(false) {
                return Ok(connection);
            }
        }
    }

    /// A new connection, greeted, upgraded and signed in within [`TIMEOUT`].
    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        tokio::time::timeout(TIMEOUT, self.open())
            .await
            .map_err(|_| format!("{}: {}", self.server.host, timed_out()))?
    }

    async fn open(&self) -> Result<AsyncSmtpConnection, String> {
        let server = &*self.server;
        let address = (server.host.as_str(), server.port);
        let unreachable =
            |e: std::io::Error| format!("cannot connect to {}:{}: {e}", server.host, server.port);
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(unreachable)?;
        stream.set_nodelay(true).map_err(unreachable)?;
        let mut connection =
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &server.hello)
                .await
                .map_err(|e| e.to_string())?;
        let offered = connection.can_starttls();
        if server.starttls == StartTls::Required
            || (server.starttls == StartTls::Opportunistic && offered)
        {
            let tls = TlsParameters::new(server.host.clone()).map_err(|e| e.to_string())?;
            connection
                .starttls(tls, &server.hello)
                .await
                .map_err(|e| e.to_string())?;
        }
        if let Some(credentials) = &server.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(connection)
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "connecting to the SMTP server timed out",
    )
}
