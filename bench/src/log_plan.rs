//! What the troubleshooting-log benchmark sends: which user sends which batch
//! and when its entries happened, and entries of realistic shape (operations
//! under correlation IDs, levels, messages from templates, rare words).

use crate::logs::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Which user sends which batch, and when its entries happened. Batch `k`
/// covers the `k`-th of `batches` equal windows of the 29.5 days; the users
/// take turns in a new random order every round of `users` batches, so each
/// sends about `batches / users` batches spread over the days.
pub(crate) struct Plan {
    pub(crate) entries: usize,
    pub(crate) batches: usize,
    pub(crate) start_ms: i64,
    pub(crate) senders: Vec<u32>,
    pub(crate) solutions: Vec<String>,
}

impl Plan {
    pub(crate) fn new(entries: usize, users: usize, solutions: Vec<String>, end_ms: i64) -> Plan {
        let batches = entries.div_ceil(BATCH);
        let mut rng = StdRng::seed_from_u64(14);
        let mut senders = Vec::with_capacity(batches + users);
        while senders.len() < batches {
            let mut round: Vec<u32> = (0..users as u32).collect();
            round.shuffle(&mut rng);
            senders.extend(round);
        }
        senders.truncate(batches);
        Plan {
            entries,
            batches,
            start_ms: end_ms - SPAN_MS,
            senders,
            solutions,
        }
    }

    pub(crate) fn size(&self, k: usize) -> usize {
        (self.entries - k * BATCH).min(BATCH)
    }

    /// [from, to) of batch `k`'s times, Unix milliseconds.
    pub(crate) fn window(&self, k: usize) -> (i64, i64) {
        let at = |k: usize| {
            self.start_ms + (i128::from(SPAN_MS) * k as i128 / self.batches as i128) as i64
        };
        (at(k), at(k + 1).max(at(k) + 1))
    }

    /// Batch `k`'s entries, the same every time it is asked for: times in
    /// order within the window, up to three operations (correlation IDs) of
    /// 1–19 entries (10 on average) interleaved.
    pub(crate) fn entries(&self, k: usize) -> Vec<Value> {
        let mut rng = StdRng::seed_from_u64(0x1400_0000_0000 + k as u64);
        let (from, to) = self.window(k);
        let mut times: Vec<i64> = (0..self.size(k)).map(|_| rng.gen_range(from..to)).collect();
        times.sort_unstable();
        let mut open: Vec<Operation> = Vec::with_capacity(3);
        let mut out = Vec::with_capacity(times.len());
        for time in times {
            if open.is_empty() || (open.len() < 3 && rng.gen_bool(0.1)) {
                open.push(Operation::new(&mut rng, self.solutions.len()));
            }
            let i = rng.gen_range(0..open.len());
            out.push(open[i].entry(&mut rng, time, &self.solutions));
            open[i].left -= 1;
            if open[i].left == 0 {
                open.swap_remove(i);
            }
        }
        out
    }

    /// A JSON body of batch `k` and its entry count.
    pub(crate) fn body(&self, k: usize) -> (String, usize) {
        let entries = Value::Array(self.entries(k));
        let n = entries.as_array().map_or(0, Vec::len);
        (format!(r#"{{"entries":{entries}}}"#), n)
    }

    /// Sample batches spread over the days: what they hold, and one
    /// correlation ID of each with its entry count.
    pub(crate) fn sample(&self) -> Sample {
        let mut s = Sample {
            message_chars: (usize::MAX, 0, 0),
            ..Sample::default()
        };
        let batches = self.batches.min(SAMPLE_BATCHES);
        let mut total_chars = 0;
        for i in 0..batches {
            let k = i * self.batches / batches;
            let entries = self.entries(k);
            let mut per_id: HashMap<&str, usize> = HashMap::new();
            for e in &entries {
                s.entries += 1;
                let id = e["correlation_id"].as_str().unwrap_or_default();
                *per_id.entry(id).or_default() += 1;
                let level = e["level"].as_str().unwrap_or_default();
                if let Some(rank) = LEVELS.iter().position(|l| *l == level) {
                    s.levels[rank] += 1;
                }
                s.with_solution += usize::from(e.get("solution_id").is_some());
                s.with_context += usize::from(e.get("context").is_some());
                s.without_category += usize::from(e.get("category").is_none());
                let message = e["message"].as_str().unwrap_or_default();
                let chars = message.chars().count();
                total_chars += chars;
                s.message_chars.0 = s.message_chars.0.min(chars);
                s.message_chars.2 = s.message_chars.2.max(chars);
                let lower = message.to_lowercase();
                s.rare += usize::from(RARE_WORDS.iter().any(|w| lower.contains(w)));
                for (n, word) in COMMON_WORDS.iter().enumerate() {
                    s.common[n] += usize::from(lower.contains(word));
                }
            }
            s.correlations += per_id.len();
            let middle = entries[entries.len() / 2]["correlation_id"]
                .as_str()
                .unwrap_or_default();
            s.picked
                .push((middle.to_owned(), per_id.get(middle).copied().unwrap_or(0)));
        }
        s.message_chars.1 = total_chars / s.entries.max(1);
        s
    }
}

pub(crate) const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "fatal"];
pub(crate) const CATEGORIES: [&str; 8] = [
    "sync", "network", "ui", "storage", "auth", "location", "camera", "forms",
];
pub(crate) const SCREENS: [&str; 7] = [
    "orders",
    "inspection",
    "map",
    "photos",
    "settings",
    "checklist",
    "signature",
];
pub(crate) const COLLECTIONS: [&str; 4] = ["orders", "inspections", "assets", "checklists"];
pub(crate) const FORMS: [&str; 4] = [
    "Daily inspection",
    "Incident report",
    "Delivery note",
    "Site survey",
];
pub(crate) const FUNCTIONS: [&str; 5] = [
    "OrderRepository.load",
    "FormRenderer.layout",
    "PhotoStore.put",
    "UploadQueue.drain",
    "MapView.onFrame",
];
pub(crate) const MODELS: [&str; 4] = ["Pixel 7", "Galaxy A54", "iPhone 13", "iPad Air"];

/// One thing an app does, under one correlation ID.
pub(crate) struct Operation {
    pub(crate) id: String,
    pub(crate) left: u32,
    pub(crate) solution: Option<usize>,
    pub(crate) category: &'static str,
}

pub(crate) fn pick<T: Copy>(rng: &mut StdRng, from: &[T]) -> T {
    from[rng.gen_range(0..from.len())]
}

pub(crate) fn hex8(rng: &mut StdRng) -> String {
    format!("{:08x}", rng.gen::<u32>())
}

impl Operation {
    pub(crate) fn new(rng: &mut StdRng, solutions: usize) -> Operation {
        let v: u128 = rng.gen();
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            ((v >> 64) as u16) & 0xfff,
            (v >> 48) as u16,
            (v as u64) & 0xffff_ffff_ffff
        );
        Operation {
            id,
            left: rng.gen_range(1..=19),
            // Some entries have no solution (the app's shell, sign-in).
            solution: (solutions > 0 && rng.gen_bool(0.85)).then(|| rng.gen_range(0..solutions)),
            category: pick(rng, &CATEGORIES),
        }
    }

    pub(crate) fn entry(&self, rng: &mut StdRng, time_ms: i64, solutions: &[String]) -> Value {
        let (level, message) = message(rng);
        let mut e = json!({
            "time": rfc3339(time_ms),
            "level": level,
            "message": message,
            "correlation_id": self.id,
        });
        if !rng.gen_bool(0.08) {
            let category = if rng.gen_bool(0.8) {
                self.category
            } else {
                pick(rng, &CATEGORIES)
            };
            e["category"] = category.into();
        }
        if let Some(s) = self.solution {
            e["solution_id"] = solutions[s].clone().into();
        }
        if rng.gen_bool(0.25) {
            e["context"] = context(rng);
        }
        e
    }
}

pub(crate) fn rfc3339(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

pub(crate) fn context(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..3) {
        0 => {
            json!({"screen": pick(rng, &SCREENS), "network": pick(rng, &["wifi", "cellular", "offline"])})
        }
        1 => json!({"http_status": pick(rng, &[200, 404, 409, 500, 503]),
                    "endpoint": format!("/api/v2/{}", pick(rng, &COLLECTIONS)),
                    "attempt": rng.gen_range(1..=5)}),
        _ => json!({"app_version": pick(rng, &["3.4.1", "3.4.2", "3.5.0"]),
                    "os": pick(rng, &["Android 14", "Android 13", "iOS 17.5"]),
                    "free_mb": rng.gen_range(50..4000)}),
    }
}

/// A level (mostly info and debug, some warn and error, rare fatal) and a
/// message of that level from a template (40–120 characters).
pub(crate) fn message(rng: &mut StdRng) -> (&'static str, String) {
    if rng.gen_ratio(1, RARE_ONE_IN) {
        return rare_message(rng);
    }
    let x: f64 = rng.gen();
    let level = if x < 0.03 {
        "trace"
    } else if x < 0.33 {
        "debug"
    } else if x < 0.83 {
        "info"
    } else if x < 0.93 {
        "warn"
    } else if x < 0.999 {
        "error"
    } else {
        "fatal"
    };
    let n = rng.gen_range(1_000..99_999);
    let ms = rng.gen_range(3..4_000);
    let text = match level {
        "trace" => match rng.gen_range(0..2) {
            0 => format!(
                "enter {} with {} arguments on thread worker-{}, depth {}",
                pick(rng, &FUNCTIONS),
                rng.gen_range(0..6),
                rng.gen_range(1..9),
                rng.gen_range(1..30)
            ),
            _ => format!(
                "exit {} after {} µs, returned {} items",
                pick(rng, &FUNCTIONS),
                rng.gen_range(5..90_000),
                rng.gen_range(0..500)
            ),
        },
        "debug" => match rng.gen_range(0..5) {
            0 => format!(
                "request POST /api/v2/inspections/{n} queued, attempt {} of 5, payload {} bytes",
                rng.gen_range(1..=5),
                rng.gen_range(200..90_000)
            ),
            1 => format!("cache miss for key form:{n}:schema, fetching it from the server"),
            2 => format!(
                "layout of screen {} measured {}x{} in {ms} ms",
                pick(rng, &SCREENS),
                rng.gen_range(320..1440),
                rng.gen_range(480..3200)
            ),
            3 => format!(
                "location update: accuracy {} m, provider gps, battery {}%",
                rng.gen_range(2..200),
                rng.gen_range(3..100)
            ),
            _ => format!(
                "sync cursor advanced to {n} for collection {}",
                pick(rng, &COLLECTIONS)
            ),
        },
        "info" => match rng.gen_range(0..6) {
            0 => format!(
                "request GET /api/v2/orders/{n} completed in {ms} ms with status 200 ({} bytes)",
                rng.gen_range(200..90_000)
            ),
            1 => format!(
                "sync finished: {} records uploaded, {} downloaded in {ms} ms",
                rng.gen_range(0..400),
                rng.gen_range(0..4000)
            ),
            2 => format!(
                "form \"{}\" saved locally as draft {} with {} fields",
                pick(rng, &FORMS),
                hex8(rng),
                rng.gen_range(3..80)
            ),
            3 => format!(
                "user opened screen {} from {} after {ms} ms on {}",
                pick(rng, &SCREENS),
                pick(rng, &SCREENS),
                pick(rng, &MODELS)
            ),
            4 => format!(
                "cache hit for key asset:{n} (age {} s, {} KB)",
                rng.gen_range(1..86_400),
                rng.gen_range(1..900)
            ),
            _ => format!(
                "photo {} attached to inspection {n}, {} KB after compression",
                hex8(rng),
                rng.gen_range(80..4000)
            ),
        },
        "warn" => match rng.gen_range(0..4) {
            0 => format!("request GET /api/v2/assets/{n} slow: {} ms, over the budget of 2000 ms", ms + 2000),
            1 => format!(
                "low storage: {} MB free, pruning {} files from the photo cache",
                rng.gen_range(20..500),
                rng.gen_range(10..900)
            ),
            2 => format!(
                "retrying upload of photo {} after timeout (attempt {} of 5)",
                hex8(rng),
                rng.gen_range(2..=5)
            ),
            _ => format!(
                "GPS fix lost for {} s on screen {}, using the last known position",
                rng.gen_range(5..600),
                pick(rng, &SCREENS)
            ),
        },
        "error" => match rng.gen_range(0..4) {
            0 => format!("request PUT /api/v2/orders/{n} failed with status 503 after {ms} ms"),
            1 => format!(
                "sync aborted: server answered 409 conflict for record {} in {}",
                hex8(rng),
                pick(rng, &COLLECTIONS)
            ),
            2 => format!(
                "could not decode response of /api/v2/forms/{n}: unexpected end of input at byte {}",
                rng.gen_range(10..90_000)
            ),
            _ => format!(
                "upload of attachment {} failed: connection reset by peer after {} KB",
                hex8(rng),
                rng.gen_range(1..4000)
            ),
        },
        _ => match rng.gen_range(0..2) {
            0 => format!(
                "unhandled exception in {}: index {} out of range for length {}",
                pick(rng, &FUNCTIONS),
                rng.gen_range(1..100),
                rng.gen_range(0..50)
            ),
            _ => format!(
                "out of memory while rendering report {n}: {} MB requested",
                rng.gen_range(64..1024)
            ),
        },
    };
    (level, text)
}

/// One of the rare words of `RARE_WORDS`, each in one entry of 20,000.
pub(crate) fn rare_message(rng: &mut StdRng) -> (&'static str, String) {
    let n = rng.gen_range(1_000..99_999);
    match rng.gen_range(0..RARE_WORDS.len()) {
        0 => (
            "error",
            format!(
                "deadlock detected in the local store after {} ms, rolling back transaction {n}",
                rng.gen_range(100..9000)
            ),
        ),
        1 => (
            "error",
            format!(
                "checksum mismatch on attachment {}: expected {} got {}",
                hex8(rng),
                hex8(rng),
                hex8(rng)
            ),
        ),
        2 => (
            "warn",
            format!(
                "certificate of api.example.com expires in {} days (serial {})",
                rng.gen_range(1..30),
                hex8(rng)
            ),
        ),
        _ => (
            "error",
            format!(
                "quota exceeded for tenant {n}: {} of 5000 uploads used this month",
                rng.gen_range(5000..5200)
            ),
        ),
    }
}
