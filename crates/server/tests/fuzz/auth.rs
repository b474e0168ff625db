//! `Authorization` headers on the routes that read a personal access token
//! (`GET /api/v1/me`) or a device token (`GET /api/v1/app/solutions`): any
//! header gets a clean answer, only the real token opens the door (a device
//! token only on app routes), and no answer repeats the credential it got.

use crate::{cases, check, clean, seed_lines, Served};
use muster_domain::token::{DeviceSecret, PatSecret};
use muster_test_support::Db;
use proptest::prelude::*;
use proptest::sample::select;
use rand::SeedableRng;
use reqwest::header::HeaderValue;

/// A change to a real token: at `at` (modulo its length) substitute, drop,
/// insert or flip the case of a character, cut the token there, or add a
/// second copy.
fn mutated(token: String) -> impl Strategy<Value = String> {
    (any::<usize>(), any::<char>(), 0u8..6).prop_map(move |(at, c, op)| {
        let mut chars: Vec<char> = token.chars().collect();
        let at = at % chars.len();
        match op {
            0 => chars[at] = c,
            1 => {
                chars.remove(at);
            }
            2 => chars.insert(at, c),
            3 => {
                let flipped = if chars[at].is_ascii_uppercase() {
                    chars[at].to_ascii_lowercase()
                } else {
                    chars[at].to_ascii_uppercase()
                };
                chars[at] = flipped;
            }
            4 => chars.truncate(at),
            _ => chars.extend(token.chars()),
        }
        chars.into_iter().collect()
    })
}

/// Well-formed tokens (the checksum holds) that no one was given.
fn unknown_token() -> impl Strategy<Value = String> {
    (any::<u64>(), any::<bool>()).prop_map(|(seed, device)| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        if device {
            DeviceSecret::generate(&mut rng).expose().to_owned()
        } else {
            PatSecret::generate(&mut rng).expose().to_owned()
        }
    })
}

fn credential(pat: String, device: String) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => mutated(pat.clone()),
        2 => mutated(device.clone()),
        2 => unknown_token(),
        1 => select(vec![pat, device]),
        1 => "[!-~]{0,80}",
        1 => any::<String>(),
    ]
}

fn header(pat: String, device: String) -> impl Strategy<Value = Vec<u8>> {
    let scheme = select(vec![
        "Bearer ", "bearer ", "BEARER ", "Bearer  ", "Bearer\t", "Bearer", "Basic ", "Token ", "",
        " Bearer ",
    ]);
    prop_oneof![
        6 => (scheme, credential(pat, device), select(vec!["", " ", "\t", ",", " x"]))
            .prop_map(|(s, c, tail)| format!("{s}{c}{tail}").into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..120),
    ]
}

/// A token-like word of the header (the part an answer must not repeat).
fn secret_part(header: &str) -> Option<&str> {
    header
        .split(|c: char| c.is_whitespace() || c == ',')
        .find(|word| word.len() >= 20)
}

#[test]
fn authorization_headers_get_clean_answers() {
    let Some(served) = Served::start(Db::Sqlite) else {
        return;
    };
    let device = served.block_on(async {
        let response = served
            .app
            .api(&served.token)
            .post(
                format!("/api/v1/app/devices?org={}", served.org),
                serde_json::json!({"name": "Fuzz phone", "platform": "android"}),
            )
            .await;
        assert_eq!(response.status(), 201, "a device for the fuzz run");
        let created: serde_json::Value = response.json().await.expect("the device");
        created["token"].as_str().expect("its token").to_owned()
    });
    let pat = served.token.clone();
    let me = served.url("/api/v1/me");
    let app_route = served.url(&served.fill("/api/v1/app/solutions?org={org}"));
    let test = |raw: Vec<u8>| -> Result<(), String> {
        let Ok(value) = HeaderValue::from_bytes(&raw) else {
            return Ok(()); // Not a header an HTTP client can send.
        };
        let text = String::from_utf8_lossy(&raw).into_owned();
        for (url, allowed) in [(&me, vec![&pat]), (&app_route, vec![&pat, &device])] {
            let (status, body) = served.block_on(async {
                let sent = served
                    .http
                    .get(url.as_str())
                    .header("authorization", value.clone())
                    .send()
                    .await;
                clean(&format!("GET {url} with {text:?}"), sent).await
            })?;
            if status == 200 && !allowed.iter().any(|token| text.contains(token.as_str())) {
                return Err(format!("{url} let {text:?} in"));
            }
            if status != 200 && status != 401 && status != 400 {
                return Err(format!("{url} answered {status} to {text:?}: {body}"));
            }
            if let Some(secret) = secret_part(&text) {
                if body.contains(secret) {
                    return Err(format!("{url} repeats the credential {secret:?}: {body}"));
                }
            }
        }
        Ok(())
    };
    let seeds = seed_lines("authorization.txt").into_iter().map(|line| {
        line.replace("{pat}", &pat)
            .replace("{device}", &device)
            .into_bytes()
    });
    check(
        file!(),
        "authorization_headers_get_clean_answers",
        cases(128),
        seeds,
        header(pat.clone(), device.clone()),
        test,
    );
    served.stop();
}
