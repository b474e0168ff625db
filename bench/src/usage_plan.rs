//! What the usage benchmark records: how many events each member has on each
//! of the 90 days, and the events themselves (a solution opened, then mostly
//! screens viewed in it, and some custom events of the app's own), the same
//! every time they are asked for, whether they go through HTTP or straight
//! into the store.

use crate::log_plan::rfc3339;
use muster_domain::usage::{Day, Kind};
use muster_domain::{OrgId, UserId};
use muster_store::usage::NewEvent;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Today and the 89 days before it.
pub(crate) const DAYS: usize = 90;
/// Events per call, the API's maximum.
pub(crate) const BATCH: usize = 1_000;
pub(crate) const DAY_MS: i64 = 86_400_000;
/// Today's events end this long before the plan's "now", so that none is
/// ahead of the server's clock.
const TODAY_MARGIN_MS: i64 = 120_000;

pub(crate) const SCREENS: [&str; 8] = [
    "Orders",
    "Order detail",
    "Inspection",
    "Checklist",
    "Map",
    "Photos",
    "Signature",
    "Settings",
];
/// The apps' own event names, the first ones the most frequent.
pub(crate) const CUSTOM: [&str; 12] = [
    "form.submitted",
    "photo.taken",
    "sync.completed",
    "order.accepted",
    "order.completed",
    "checklist.item_checked",
    "signature.captured",
    "barcode.scanned",
    "report.exported",
    "map.route_started",
    "search.performed",
    "help.opened",
];

/// One event of a member.
pub(crate) struct Ev {
    pub(crate) kind: Kind,
    pub(crate) name: Option<&'static str>,
    pub(crate) solution: Option<usize>,
    pub(crate) time_ms: i64,
    pub(crate) properties: Option<Value>,
}

impl Ev {
    /// The event as an app sends it.
    pub(crate) fn json(&self, solutions: &[String]) -> Value {
        let kind = self.name.unwrap_or(self.kind.as_str());
        let mut e = json!({"type": kind, "time": rfc3339(self.time_ms)});
        if let Some(s) = self.solution {
            e["solution_id"] = solutions[s].clone().into();
        }
        if let Some(p) = &self.properties {
            e["properties"] = p.clone();
        }
        e
    }

    /// The event as the server records it.
    pub(crate) fn row(&self, org_id: OrgId, user: UserId, solutions: &[String]) -> NewEvent {
        NewEvent {
            org_id,
            kind: self.kind,
            time: OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.time_ms) * 1_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            user_id: Some(user),
            solution_id: self.solution.map(|s| solutions[s].clone()),
            name: self.name.map(str::to_owned),
            count: 1,
            properties: self.properties.as_ref().map(Value::to_string),
        }
    }

    /// 0 solution opened, 1 screen viewed, 2 custom.
    pub(crate) fn slot(&self) -> usize {
        match self.kind {
            Kind::SolutionOpened => 0,
            Kind::ScreenViewed => 1,
            _ => 2,
        }
    }
}

/// Which member has how many events on which day, and when "now" is.
pub(crate) struct UsagePlan {
    pub(crate) events: usize,
    pub(crate) users: usize,
    pub(crate) first_day: Day,
    pub(crate) now_ms: i64,
    pub(crate) solutions: Vec<String>,
    /// Events of member `u` on day `d` (0 = `first_day`): `counts[u * DAYS + d]`.
    counts: Vec<u32>,
}

fn seed(u: usize, d: usize) -> u64 {
    0x0005_a6e0_0000_0000 ^ ((u as u64) << 8) ^ d as u64
}

impl UsagePlan {
    /// Each member has `events / users` events over the 90 days (so one
    /// member's 90 days are one call of 1,000 at 10,000,000 and 10,000): they
    /// are active on each day with a chance of their own (15–95%), and their
    /// events are spread over their active days unevenly.
    pub(crate) fn new(
        events: usize,
        users: usize,
        solutions: Vec<String>,
        now_ms: i64,
    ) -> UsagePlan {
        let now = OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let first_day = Day::of(now).plus(1 - DAYS as i64);
        let mut rng = StdRng::seed_from_u64(0x05a6e);
        let mut counts = vec![0u32; users * DAYS];
        for u in 0..users {
            let total = (events / users + usize::from(u < events % users)) as u64;
            let activity: f64 = rng.gen_range(0.15..0.95);
            let mut weights = [0f64; DAYS];
            for w in weights.iter_mut() {
                if rng.gen_bool(activity) {
                    *w = 0.2 + 3.0 * rng.gen::<f64>().powi(2);
                }
            }
            if weights.iter().all(|w| *w == 0.0) {
                weights[rng.gen_range(0..DAYS)] = 1.0;
            }
            // Largest remainder: the day counts add up to the total exactly.
            let sum: f64 = weights.iter().sum();
            let mut given = 0u64;
            let mut remainders: Vec<(f64, usize)> = Vec::with_capacity(DAYS);
            for (d, w) in weights.iter().enumerate() {
                let share = total as f64 * w / sum;
                let whole = share.floor() as u64;
                counts[u * DAYS + d] = whole as u32;
                given += whole;
                if *w > 0.0 {
                    remainders.push((share - whole as f64, d));
                }
            }
            remainders.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (_, d) in remainders.iter().cycle().take((total - given) as usize) {
                counts[u * DAYS + d] += 1;
            }
        }
        UsagePlan {
            events,
            users,
            first_day,
            now_ms,
            solutions,
            counts,
        }
    }

    pub(crate) fn today(&self) -> Day {
        self.first_day.plus(DAYS as i64 - 1)
    }

    pub(crate) fn count(&self, u: usize, d: usize) -> usize {
        self.counts[u * DAYS + d] as usize
    }

    pub(crate) fn day_events(&self, d: usize) -> usize {
        (0..self.users).map(|u| self.count(u, d)).sum()
    }

    /// The members active on day `d` (with at least one event).
    pub(crate) fn active(&self, d: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.users).filter(move |u| self.count(*u, d) > 0)
    }

    /// Distinct members active on days `from..=to` (indexes into the 90 days).
    pub(crate) fn distinct(&self, from: usize, to: usize) -> usize {
        (0..self.users)
            .filter(|u| (from..=to).any(|d| self.count(*u, d) > 0))
            .count()
    }

    /// The one to three solutions member `u` works in, the first ones of the
    /// list far more often.
    fn favourites(&self, u: usize) -> Vec<usize> {
        let mut rng = StdRng::seed_from_u64(seed(u, 999));
        let n = rng.gen_range(1..=3);
        let s = self.solutions.len();
        (0..n)
            .map(|_| ((s as f64) * rng.gen::<f64>().powf(1.8)) as usize % s.max(1))
            .collect()
    }

    /// Member `u`'s events of day `d`, in time order: a session starting
    /// between 05:00 and 17:00 UTC (today's are squeezed into the part of the
    /// day gone by); a solution opened first (and now and then another),
    /// then screens viewed in it (80%) and custom events (20%).
    pub(crate) fn day(&self, u: usize, d: usize) -> Vec<Ev> {
        let n = self.count(u, d);
        if n == 0 {
            return Vec::new();
        }
        let mut rng = StdRng::seed_from_u64(seed(u, d));
        let midnight = self.first_day.plus(d as i64).start().unix_timestamp() * 1000;
        let start = rng.gen_range(5 * 3_600_000..17 * 3_600_000i64);
        let span = (n as i64 * rng.gen_range(20_000..90_000i64)).min(DAY_MS - start - 1);
        let mut offsets: Vec<i64> = (0..n).map(|_| start + rng.gen_range(0..=span)).collect();
        offsets.sort_unstable();
        let today = d == DAYS - 1;
        let gone_by = (self.now_ms - TODAY_MARGIN_MS - midnight).max(1);
        let times = offsets.into_iter().map(|offset| {
            if today {
                midnight + (i128::from(offset) * i128::from(gone_by) / i128::from(DAY_MS)) as i64
            } else {
                midnight + offset
            }
        });
        self.events(&mut rng, u, times)
    }

    /// Call `k` of the fresh events: `n` events of member `u` in the ten
    /// minutes before `now_ms`, in time order, mixed as [`UsagePlan::day`]'s.
    pub(crate) fn fresh(&self, u: usize, k: usize, n: usize, now_ms: i64) -> Vec<Ev> {
        let mut rng = StdRng::seed_from_u64(seed(u, 10_000 + k));
        let mut times: Vec<i64> = (0..n)
            .map(|_| now_ms - rng.gen_range(60_000..600_000i64))
            .collect();
        times.sort_unstable();
        self.events(&mut rng, u, times.into_iter())
    }

    fn events(&self, rng: &mut StdRng, u: usize, times: impl Iterator<Item = i64>) -> Vec<Ev> {
        let favourites = self.favourites(u);
        let has_solutions = !self.solutions.is_empty();
        let mut current: Option<usize> = None;
        let mut out = Vec::new();
        for time_ms in times {
            let opens = has_solutions && (current.is_none() || rng.gen_bool(0.05));
            let ev = if opens {
                let s = favourites[rng.gen_range(0..favourites.len())];
                current = Some(s);
                Ev {
                    kind: Kind::SolutionOpened,
                    name: None,
                    solution: Some(s),
                    time_ms,
                    properties: None,
                }
            } else if rng.gen_bool(0.8) {
                let properties = rng
                    .gen_bool(0.6)
                    .then(|| json!({"screen": SCREENS[rng.gen_range(0..SCREENS.len())]}));
                Ev {
                    kind: Kind::ScreenViewed,
                    name: None,
                    solution: current,
                    time_ms,
                    properties,
                }
            } else {
                let i = ((CUSTOM.len() as f64) * rng.gen::<f64>().powi(2)) as usize;
                let properties = rng.gen_bool(0.5).then(|| match rng.gen_range(0..3) {
                    0 => json!({"items": rng.gen_range(1..40)}),
                    1 => json!({"form": "Daily inspection", "fields": rng.gen_range(3..60)}),
                    _ => json!({"duration_ms": rng.gen_range(50..20_000), "offline": rng.gen_bool(0.1)}),
                });
                Ev {
                    kind: Kind::Custom,
                    name: Some(CUSTOM[i.min(CUSTOM.len() - 1)]),
                    solution: if rng.gen_bool(0.9) { current } else { None },
                    time_ms,
                    properties,
                }
            };
            out.push(ev);
        }
        out
    }
}

/// What was generated, for the checks against what the server reads back.
#[derive(Default, Clone)]
pub(crate) struct Tally {
    /// Per day: solution opens, screen views, custom events.
    pub(crate) days: Vec<[u64; 3]>,
    /// The same per solution.
    pub(crate) solutions: Vec<[u64; 3]>,
    pub(crate) with_properties: u64,
    pub(crate) with_solution: u64,
}

impl Tally {
    pub(crate) fn new(solutions: usize) -> Tally {
        Tally {
            days: vec![[0; 3]; DAYS],
            solutions: vec![[0; 3]; solutions],
            ..Tally::default()
        }
    }

    pub(crate) fn add(&mut self, d: usize, ev: &Ev) {
        self.days[d][ev.slot()] += 1;
        if let Some(s) = ev.solution {
            self.solutions[s][ev.slot()] += 1;
            self.with_solution += 1;
        }
        self.with_properties += u64::from(ev.properties.is_some());
    }

    pub(crate) fn total(&self, slot: usize) -> u64 {
        self.days.iter().map(|d| d[slot]).sum()
    }
}
