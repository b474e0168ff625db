//! Talking to a running server: the connection settings, the HTTP client with
//! its one-line errors, and the table and field helpers of the output.

use clap::Args;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

/// Where the server is and who is calling.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The server's base URL.
    #[arg(
        long,
        global = true,
        env = "MUSTER_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// A personal access token (`mst_pat_…`). Prefer the variable: flags show in `ps`.
    #[arg(long, global = true, env = "MUSTER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Organization id or name; your default organization when absent.
    #[arg(long, global = true, env = "MUSTER_ORG")]
    pub org: Option<String>,
}

/// Why a client command did not succeed; each maps to one exit code.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Usage(String),
    /// The server said no (4xx): its problem title and detail.
    #[error("{title}: {detail}")]
    Refused { title: String, detail: String },
    /// Rows of a bulk invite were skipped; the report was printed.
    #[error("{0}")]
    Incomplete(String),
    #[error("{0}")]
    Unreachable(String),
}

impl ClientError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            ClientError::Refused { .. } | ClientError::Incomplete(_) => 1,
            ClientError::Usage(_) => 2,
            ClientError::Unreachable(_) => 3,
        })
    }
}

pub type ClientResult<T = ()> = Result<T, ClientError>;

/// An API client bound to one server and token.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub(super) fn new(args: &ClientArgs) -> ClientResult<Client> {
        let token = args.token.clone().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            ClientError::Usage(
                "no token: set MUSTER_TOKEN or pass --token (create one in My profile → Personal access tokens)".into(),
            )
        })?;
        let base = args.server.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Usage(format!(
                "--server must be an http:// or https:// URL, not {base:?}"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("muster-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ClientError::Unreachable(format!("cannot start an HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            token: token.trim().to_owned(),
        })
    }

    pub async fn get(&self, path: &str) -> ClientResult<Value> {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> ClientResult<Value> {
        let mut request = self.request(Method::POST, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    pub async fn post_csv(&self, path: &str, csv: Vec<u8>) -> ClientResult<Value> {
        let request = self
            .request(Method::POST, path)
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(csv);
        self.send(request).await
    }

    pub async fn delete(&self, path: &str) -> ClientResult<Value> {
        self.send(self.request(Method::DELETE, path)).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> ClientResult<Value> {
        let response = request.send().await.map_err(|e| {
            ClientError::Unreachable(format!("cannot reach {}: {}", self.base, root_cause(&e)))
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| {
            ClientError::Unreachable(format!("the answer from {} broke off: {e}", self.base))
        })?;
        if status == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        let value: Option<Value> = serde_json::from_slice(&body).ok();
        if status.is_success() {
            return value.ok_or_else(|| {
                ClientError::Unreachable(format!(
                    "{} answered {status} without JSON; is it a Muster server?",
                    self.base
                ))
            });
        }
        let text = |key: &str| {
            value
                .as_ref()
                .and_then(|v| v[key].as_str())
                .map(str::to_owned)
        };
        let mut detail = text("detail").unwrap_or_else(|| status.to_string());
        if let Some(errors) = value.as_ref().and_then(|v| v["errors"].as_array()) {
            for error in errors {
                let field = error["field"].as_str().unwrap_or_default();
                let message = error["message"].as_str().unwrap_or_default();
                detail.push_str(&format!("; {field}: {message}"));
            }
        }
        let title = text("title").unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("Request failed")
                .to_owned()
        });
        if status.is_server_error() {
            return Err(ClientError::Unreachable(format!(
                "the server failed ({status}): {detail}"
            )));
        }
        Err(ClientError::Refused { title, detail })
    }

    /// The organization to act in: `--org` as an id or a name, else the
    /// caller's default organization.
    pub async fn org_id(&self, args: &ClientArgs) -> ClientResult<String> {
        let me = self.get("/me").await?;
        let memberships = me["memberships"].as_array().cloned().unwrap_or_default();
        let wanted = match &args.org {
            Some(org) => org.trim().to_owned(),
            None => {
                return me["default_org_id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ClientError::Usage(
                            "you have no default organization: pass --org or set MUSTER_ORG".into(),
                        )
                    })
            }
        };
        let matches: Vec<&Value> = memberships
            .iter()
            .filter(|m| {
                m["org_id"].as_str() == Some(wanted.as_str())
                    || m["org_name"]
                        .as_str()
                        .is_some_and(|name| name.eq_ignore_ascii_case(&wanted))
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(one["org_id"].as_str().unwrap_or_default().to_owned()),
            [] => Err(ClientError::Usage(format!(
                "you are not a member of an organization {wanted:?}"
            ))),
            _ => Err(ClientError::Usage(format!(
                "several of your organizations are called {wanted:?}: pass its id"
            ))),
        }
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A plain table for a terminal or a pipe.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(header.iter().map(|h| h.to_uppercase()));
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// A string field of a JSON object, or "" when absent.
pub fn field(value: &Value, key: &str) -> String {
    match &value[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
