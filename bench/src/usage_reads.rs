//! The usage benchmark's reads: the usage API, the Usage page and the
//! Overview, each checked against the plan and then timed through wrk beside
//! the bare handler.

use crate::logs::{thousands, Timed, ROTATE_LUA, WRK_CAP};
use crate::server::Server;
use crate::usage::*;
use crate::usage_plan::*;
use anyhow::{bail, Context, Result};
use axum::http::header;
use muster_domain::usage::format_day;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

// ---------------------------------------------------------------------------
// Reading.

/// A call with the owner's PAT that must answer `expected`; its JSON.
pub(crate) async fn api(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Value,
    expected: u16,
) -> Result<Value> {
    let response = server
        .http
        .request(method.clone(), format!("{}{path}", server.base))
        .bearer_auth(&server.token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if status.as_u16() != expected {
        bail!("{method} {path} {body}: expected {expected}, got {status} {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

/// The owner signed in through the sign-in form: the session cookie.
pub(crate) async fn sign_in(server: &Server) -> Result<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = client.get(format!("{}/signin", server.base)).send().await?;
    let form_cookie = cookie(&form, "muster_form")?;
    let html = form.text().await?;
    let csrf = html
        .split(r#"name="csrf_token" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no csrf_token in the sign-in form")?
        .to_owned();
    let signed_in = client
        .post(format!("{}/signin", server.base))
        .header(header::COOKIE, format!("muster_form={form_cookie}"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "owner@bench.test"),
            ("password", "benchmark password"),
            ("next", "/"),
        ])
        .send()
        .await?;
    if !signed_in.status().is_redirection() {
        bail!(
            "POST /signin answered {}: {}",
            signed_in.status(),
            signed_in.text().await.unwrap_or_default()
        );
    }
    Ok(format!(
        "muster_session={}",
        cookie(&signed_in, "muster_session")?
    ))
}

pub(crate) fn cookie(response: &reqwest::Response, name: &str) -> Result<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&prefix)
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
        .with_context(|| format!("no {name} cookie in the answer ({})", response.status()))
}

/// What an answer must hold.
pub(crate) enum Expect {
    /// The usage JSON: (metric, total) pairs; active users, DAU, WAU, MAU
    /// may be one more than planned (the owner, who signed in and called).
    Json {
        totals: Vec<(&'static str, u64)>,
        active: Option<[usize; 4]>,
        periods: usize,
    },
    /// HTML holding each of these.
    Html(Vec<String>),
}

pub(crate) struct Read {
    pub(crate) label: String,
    pub(crate) target: &'static str,
    pub(crate) path: String,
    /// `Authorization: Bearer …` or `Cookie: …`.
    pub(crate) header: String,
    pub(crate) expect: Expect,
}

pub(crate) struct Measured {
    pub(crate) label: String,
    pub(crate) target: &'static str,
    pub(crate) body_len: usize,
    pub(crate) ours: [Timed; 2],
    pub(crate) bare: [Timed; 2],
}

pub(crate) fn queries(
    server: &Server,
    plan: &UsagePlan,
    tally: &Tally,
    (members, active_members): (usize, usize),
    cookie: &str,
) -> Vec<Read> {
    let org = &server.org;
    let from = format_day(plan.first_day);
    let to = format_day(plan.today());
    let last = DAYS - 1;
    let active = [
        plan.distinct(0, last),
        plan.distinct(last, last),
        plan.distinct(last - 6, last),
        plan.distinct(last - 29, last),
    ];
    let totals = |t: [u64; 3]| {
        vec![
            ("solution_opens", t[0]),
            ("screen_views", t[1]),
            ("custom_events", t[2]),
        ]
    };
    let whole = [tally.total(0), tally.total(1), tally.total(2)];
    let busiest = (0..plan.solutions.len())
        .max_by_key(|s| tally.solutions[*s][1])
        .unwrap_or(0);
    let bearer = format!("Authorization: Bearer {}", server.token);
    let cookie = format!("Cookie: {cookie}");
    let weeks = muster_domain::usage::Interval::Week
        .periods(plan.first_day, plan.today())
        .len();
    let row = |metric: &str, label: &str, n: u64| {
        format!(r#"<tr data-metric="{metric}"><th scope="row">{label}</th><td>{n}</td></tr>"#)
    };
    let page_rows = vec![
        row("solution_opens", "Solution opens", whole[0]),
        row("screen_views", "Screen views", whole[1]),
        row("custom_events", "Custom events", whole[2]),
    ];
    vec![
        Read {
            label: format!("usage API, 90 days by day (?from={from}&to={to}, PAT)"),
            target: "p99 < 50 ms",
            path: format!("/api/v1/orgs/{org}/usage?from={from}&to={to}"),
            header: bearer.clone(),
            expect: Expect::Json {
                totals: totals(whole),
                active: Some(active),
                periods: DAYS,
            },
        },
        Read {
            label: "… by week (&interval=week)".into(),
            target: "p99 < 50 ms",
            path: format!("/api/v1/orgs/{org}/usage?from={from}&to={to}&interval=week"),
            header: bearer.clone(),
            expect: Expect::Json {
                totals: totals(whole),
                active: Some(active),
                periods: weeks,
            },
        },
        Read {
            label: format!(
                "… one solution (&solution=, the busiest: {:.0}% of the screen views)",
                100.0 * tally.solutions[busiest][1] as f64 / whole[1].max(1) as f64
            ),
            target: "p99 < 50 ms",
            path: format!(
                "/api/v1/orgs/{org}/usage?from={from}&to={to}&solution={}",
                plan.solutions[busiest]
            ),
            header: bearer.clone(),
            expect: Expect::Json {
                totals: totals(tally.solutions[busiest]),
                active: None,
                periods: DAYS,
            },
        },
        Read {
            label: "Usage page, last 90 days (/orgs/{org}/usage?range=90, session cookie)".into(),
            target: "p99 < 50 ms",
            path: format!("/orgs/{org}/usage?range=90"),
            header: cookie.clone(),
            expect: Expect::Html(page_rows.clone()),
        },
        Read {
            label: "… by week (&interval=week)".into(),
            target: "p99 < 50 ms",
            path: format!("/orgs/{org}/usage?range=90&interval=week"),
            header: cookie.clone(),
            expect: Expect::Html(page_rows),
        },
        Read {
            label: format!(
                "Overview (/orgs/{{org}}/overview, session cookie) at {} members ({} active)",
                thousands(members as f64),
                thousands(active_members as f64)
            ),
            target: "p99 < 50 ms",
            path: format!("/orgs/{org}/overview"),
            header: cookie,
            expect: Expect::Html(vec![format!(
                r#"id="active-members">{active_members}</span>"#
            )]),
        },
    ]
}

/// GETs the read once and checks what it answers; the body's length.
pub(crate) async fn check(server: &Server, read: &Read) -> Result<usize> {
    let (name, value) = read.header.split_once(": ").context("a header")?;
    let response = server
        .http
        .get(format!("{}{}", server.base, read.path))
        .header(name, value)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        let shown: String = text.chars().take(800).collect();
        bail!("GET {}: expected 200, got {status} {shown}", read.path);
    }
    match &read.expect {
        Expect::Html(needles) => {
            for needle in needles {
                if !text.contains(needle.as_str()) {
                    bail!("GET {}: the page does not hold {needle}", read.path);
                }
            }
        }
        Expect::Json {
            totals,
            active,
            periods,
        } => {
            let v: Value = serde_json::from_str(&text)?;
            let series: HashMap<&str, &Value> = v["series"]
                .as_array()
                .context("no series")?
                .iter()
                .filter_map(|s| Some((s["metric"].as_str()?, s)))
                .collect();
            for (metric, want) in totals {
                let got = series.get(metric).and_then(|s| s["total"].as_u64());
                if got != Some(*want) {
                    bail!("GET {}: {metric} total {got:?}, planned {want}", read.path);
                }
            }
            let got_periods = v["periods"].as_array().map_or(0, Vec::len);
            if got_periods != *periods {
                bail!(
                    "GET {}: {got_periods} periods, expected {periods}",
                    read.path
                );
            }
            if let Some([total, dau, wau, mau]) = active {
                let got = [
                    series.get("active_users").and_then(|s| s["total"].as_u64()),
                    v["active"]["dau"].as_u64(),
                    v["active"]["wau"].as_u64(),
                    v["active"]["mau"].as_u64(),
                ];
                for (name, (got, want)) in ["active users", "DAU", "WAU", "MAU"]
                    .iter()
                    .zip(got.iter().zip([total, dau, wau, mau]))
                {
                    let ok = got.is_some_and(|g| g == *want as u64 || g == *want as u64 + 1);
                    if !ok {
                        bail!(
                            "GET {}: {name} {got:?}, planned {want} (or one more, the owner)",
                            read.path
                        );
                    }
                }
            }
        }
    }
    Ok(text.len())
}

/// Checks each read (which warms it up), then reads it with wrk one request
/// at a time and `concurrency` at a time, and the bare handler answering as
/// many bytes the same way.
pub(crate) async fn measure(
    server: &Server,
    bare_base: &str,
    reads: &[Read],
    opts: &Options,
) -> Result<Vec<Measured>> {
    let files = tempfile::tempdir()?;
    let script = files.path().join("rotate.lua");
    std::fs::write(&script, ROTATE_LUA)?;
    let mut out = Vec::new();
    for (n, read) in reads.iter().enumerate() {
        let body_len = check(server, read).await?;
        for _ in 0..4 {
            check(server, read).await?;
        }
        let ours_file = files.path().join(format!("ours-{n}.txt"));
        let bare_file = files.path().join(format!("bare-{n}.txt"));
        let glue = if read.path.contains('?') { '&' } else { '?' };
        std::fs::write(&ours_file, format!("{}\n", read.path))?;
        std::fs::write(
            &bare_file,
            format!("{}{glue}bare_len={body_len}\n", read.path),
        )?;
        let mut ours = [Timed::default(); 2];
        let mut bare = [Timed::default(); 2];
        for (i, c) in [1, opts.concurrency.max(1)].into_iter().enumerate() {
            ours[i] = wrk(
                &server.base,
                &script,
                &ours_file,
                &read.header,
                c,
                opts.requests,
            )?;
            bare[i] = wrk(
                bare_base,
                &script,
                &bare_file,
                &read.header,
                c,
                opts.requests,
            )?;
        }
        eprintln!(
            "usage: {}: p99 {:.2} ms ({:.2} ms {} at a time)",
            read.label,
            ours[0].p99.as_secs_f64() * 1000.0,
            ours[1].p99.as_secs_f64() * 1000.0,
            opts.concurrency
        );
        out.push(Measured {
            label: read.label.clone(),
            target: read.target,
            body_len,
            ours,
            bare,
        });
    }
    Ok(out)
}

/// wrk with `header`, rotating through the paths of a file (see
/// `logs::ROTATE_LUA`): each thread stops after its share of `requests`.
pub(crate) fn wrk(
    base: &str,
    script: &Path,
    paths: &Path,
    header: &str,
    connections: usize,
    requests: usize,
) -> Result<Timed> {
    use std::io::BufRead;
    let threads = connections.min(2);
    let per_thread = requests.div_ceil(threads);
    let mut child = Command::new("wrk")
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            &format!("-d{}s", WRK_CAP.as_secs()),
            "--timeout",
            "60s",
            "-H",
            header,
            "-s",
        ])
        .arg(script)
        .arg(base)
        .arg("--")
        .arg(paths)
        .arg(per_thread.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run wrk ({e}); install it: apt-get install wrk"))?;
    let stdout = child.stdout.take().context("wrk's output")?;
    let mut text = String::new();
    let mut stopped = 0;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        if line == "STOPPED" {
            stopped += 1;
            if stopped == threads {
                Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status()?;
            }
        }
        text.push_str(&line);
        text.push('\n');
    }
    let output = child.wait_with_output()?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .with_context(|| {
            format!(
                "no figures in wrk's output: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let v: Vec<u64> = line
        .split_whitespace()
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    if v.len() != 7 {
        bail!("wrk printed {line}");
    }
    if v[5] > 0 || v[6] > 0 {
        bail!(
            "{base}: {} answers were not 2xx/3xx and {} requests failed (paths in {})",
            v[5],
            v[6],
            paths.display()
        );
    }
    Ok(Timed {
        requests: v[0],
        per_second: v[0] as f64 / (v[1] as f64 / 1e6).max(1e-9),
        p50: Duration::from_micros(v[2]),
        p95: Duration::from_micros(v[3]),
        p99: Duration::from_micros(v[4]),
    })
}
