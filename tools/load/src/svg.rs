//! The latency percentile distribution as an SVG picture, drawn as
//! HdrHistogram's plotter draws it: the x axis is 1/(1-percentile) on a log
//! scale (so 90 %, 99 %, 99.9 % … are equally spaced), latency on y, the
//! corrected curve beside the uncorrected. Plain SVG text, no dependency.

use std::fmt::Write;

use stagger::load::hdrhistogram::Histogram;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 480.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

/// The picture of `corrected` and `uncorrected` (microseconds), titled.
pub fn percentile_plot(
    title: &str,
    corrected: &Histogram<u64>,
    uncorrected: &Histogram<u64>,
) -> String {
    // As far right as the data says anything: 1/(1-p) up to the count.
    let count = corrected.len().max(uncorrected.len()).max(10);
    let decades = ((count as f64).log10().ceil()).clamp(1.0, 7.0);
    let max_us = corrected.max().max(uncorrected.max()).max(1) as f64;
    let y_top = nice_ceiling(max_us / 1e3 * 1.05);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |decade: f64| LEFT + decade / decades * plot_w;
    let y = |ms: f64| TOP + plot_h - ms / y_top * plot_h;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    // Grid and labels: x at 0 %, 90 %, 99 % …, y at five steps.
    for d in 0..=decades as u32 {
        let px = x(d as f64);
        // 0%, 90%, 99%, 99.9%…: written out, not computed in floats.
        let label = match d {
            0 => "0%".to_owned(),
            1 => "90%".to_owned(),
            d => format!("99.{}%", "9".repeat(d as usize - 2)).replace(".%", "%"),
        };
        let _ = writeln!(
            svg,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#ddd"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0
        );
    }
    for step in 0..=5 {
        let ms = y_top * step as f64 / 5.0;
        let py = y(ms);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            py + 4.0,
            trim(ms)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 14.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">latency (ms)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    // The curves, sampled at 50 points a decade.
    for (h, colour, name, row) in [
        (corrected, "#d62728", "corrected (from intended)", 0),
        (uncorrected, "#1f77b4", "uncorrected (from sent)", 1),
    ] {
        if h.is_empty() {
            continue;
        }
        let mut points = String::new();
        let steps = (decades * 50.0) as u32;
        for i in 0..=steps {
            let decade = decades * i as f64 / steps as f64;
            let quantile = (1.0 - 10f64.powf(-decade)).clamp(0.0, 1.0);
            let ms = h.value_at_quantile(quantile) as f64 / 1e3;
            let _ = write!(points, "{:.1},{:.1} ", x(decade), y(ms));
        }
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.trim_end()
        );
        let ly = TOP + 16.0 + 18.0 * row as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
            LEFT + 12.0,
            LEFT + 36.0,
            LEFT + 42.0,
            ly + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="black"/>"#
    );
    svg.push_str("</svg>\n");
    svg
}

/// The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above
/// `v`: an axis top the data nearly fills.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let base = 10f64.powf(v.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * base)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * base)
}

fn trim(ms: f64) -> String {
    let s = format!("{ms:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_curves() {
        let mut c = Histogram::<u64>::new(3).unwrap();
        let mut u = Histogram::<u64>::new(3).unwrap();
        for i in 1..=1000u64 {
            c.record(i * 100).unwrap();
            u.record(i * 10).unwrap();
        }
        let svg = percentile_plot("a <title>", &c, &u);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">99.9%<"), "{svg}");
        assert!(svg.contains(">90%<"));
        assert!(svg.contains("a &lt;title&gt;"));
        assert_eq!(nice_ceiling(105.0), 120.0);
        assert_eq!(nice_ceiling(213.0), 250.0);
        assert!((nice_ceiling(0.35) - 0.4).abs() < 1e-12);
    }

    #[test]
    fn empty_histograms_draw_axes_only() {
        let h = Histogram::<u64>::new(3).unwrap();
        let svg = percentile_plot("empty", &h, &h);
        assert_eq!(svg.matches("<polyline").count(), 0);
    }
}
