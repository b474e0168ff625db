//! Bar charts as SVG, drawn on the server so they need no script: a y axis
//! with round steps, a label under every few bars, a `<title>` on each bar
//! (the browser's tooltip) and colours from the stylesheet, so light and dark
//! mode both apply. The page puts each chart's numbers in a table beside it.

use std::fmt::Write;

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 210.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;
/// Labels under the x axis at most.
const X_LABELS: usize = 8;
/// Bars drawn at most (a window of 731 days by day); the page's table is
/// bounded the same way.
pub const BARS_MAX: usize = 731;

/// One bar: its short label under the axis, its tooltip, its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub tooltip: String,
    pub value: i64,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `max`.
pub fn round_up(max: i64) -> i64 {
    let mut step = 1_i64;
    loop {
        for factor in [1, 2, 5] {
            let candidate = step.saturating_mul(factor);
            if candidate >= max {
                return candidate;
            }
        }
        if step > i64::MAX / 10 {
            return i64::MAX;
        }
        step *= 10;
    }
}

/// `1200` as `1.2k`, `3000000` as `3M`, for the axis.
fn short(value: i64) -> String {
    let trim = |v: f64, unit: &str| {
        let text = format!("{v:.1}");
        format!("{}{unit}", text.trim_end_matches(".0"))
    };
    match value {
        v if v >= 1_000_000 => trim(v as f64 / 1_000_000.0, "M"),
        v if v >= 1_000 => trim(v as f64 / 1_000.0, "k"),
        v => v.to_string(),
    }
}

/// The chart `title` of `bars` as an SVG element labelled by `id`.
pub fn bars(id: &str, title: &str, bars: &[Bar]) -> String {
    let bars = &bars[..bars.len().min(BARS_MAX)];
    // Four steps of a round size up to the highest bar.
    let highest = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let step = round_up((highest + 3) / 4);
    let max = step.saturating_mul(4);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let id = escape(id);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" id="{id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
    for tick in 0..=4 {
        let value = step * tick;
        let y = TOP + plot_h - plot_h * (value as f64 / max as f64);
        let _ = write!(
            svg,
            r#"<line class="chart-grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="chart-label" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            short(value)
        );
    }
    let _ = write!(
        svg,
        r#"<line class="chart-axis" x1="{LEFT}" x2="{}" y1="{:.1}" y2="{:.1}"/>"#,
        WIDTH - RIGHT,
        TOP + plot_h,
        TOP + plot_h
    );
    if !bars.is_empty() {
        let slot = plot_w / bars.len() as f64;
        let width = (slot * 0.72).max(1.0);
        let every = bars.len().div_ceil(X_LABELS).max(1);
        for (i, bar) in bars.iter().enumerate() {
            let h = plot_h * (bar.value.max(0) as f64 / max as f64);
            let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
            let y = TOP + plot_h - h;
            // A zero keeps a sliver, so its tooltip can still be found.
            let _ = write!(
                svg,
                r#"<rect class="chart-bar" x="{x:.1}" y="{:.1}" width="{width:.1}" height="{:.1}"><title>{}</title></rect>"#,
                y.min(TOP + plot_h - 1.0),
                h.max(1.0),
                escape(&bar.tooltip)
            );
            if i % every == 0 {
                let _ = write!(
                    svg,
                    r#"<text class="chart-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                    LEFT + slot * i as f64 + slot / 2.0,
                    HEIGHT - 10.0,
                    escape(&bar.label)
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: i64) -> Bar {
        Bar {
            label: label.into(),
            tooltip: format!("{label}: {value}"),
            value,
        }
    }

    #[test]
    fn axes_step_in_round_numbers() {
        assert_eq!(round_up(4), 5);
        assert_eq!(round_up(7), 10);
        assert_eq!(round_up(11), 20);
        assert_eq!(round_up(1234), 2000);
        assert_eq!(short(1500), "1.5k");
        assert_eq!(short(2_000_000), "2M");
        let svg = bars("c", "x", &[bar("a", 13)]);
        assert!(
            svg.contains(">20</text>") && svg.contains(">15</text>"),
            "{svg}"
        );
    }

    #[test]
    fn every_bar_has_its_tooltip_and_labels_are_thinned() {
        let data: Vec<Bar> = (0..30).map(|i| bar(&format!("d{i}"), i)).collect();
        let svg = bars("c", "Sign-ins", &data);
        assert_eq!(svg.matches("<rect").count(), 30);
        assert!(svg.contains("<title>d29: 29</title>"));
        let labels = svg.matches(r#"text-anchor="middle""#).count();
        assert!(labels <= X_LABELS, "{labels} labels");
        assert!(svg.contains(r#"<title id="c-title">Sign-ins</title>"#));
    }

    #[test]
    fn text_is_escaped() {
        let svg = bars("c", "<b>", &[bar("<i>", 1)]);
        assert!(!svg.contains("<b>") && !svg.contains("<i>"));
        assert!(svg.contains("&lt;b&gt;"));
    }

    #[test]
    fn an_empty_window_draws_axes_only() {
        let svg = bars("c", "Opens", &[]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 0);
    }
}
