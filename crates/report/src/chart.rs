//! Charts drawn on the server as SVG: no chart library, no script, nothing fetched. A chart is
//! an image with a title and a description (`role="img"`); the page puts the same figures in a
//! table beside it for screen readers and for copying.

use std::fmt::Write as _;

/// One series of values, one per category.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// Grouped bars: for each category (a month, say) one bar per series, with an optional
/// reference line (a 目安値) across the plot.
#[derive(Clone, Debug, PartialEq)]
pub struct BarChart {
    /// The chart's title, read out as the image's name.
    pub title: String,
    /// What the chart shows, in a sentence (the image's description).
    pub description: String,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// A horizontal line at a value, with its label.
    pub reference: Option<(String, f64)>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 44.0;
/// Colours that stay apart for the common colour-vision deficiencies (Okabe–Ito).
const COLOURS: [&str; 4] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"];

/// The chart as an `<svg>` element, its ids prefixed with `id`.
pub fn bars(chart: &BarChart, id: &str) -> String {
    let n = chart.categories.len().max(1);
    let top_value = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .chain(chart.reference.iter().map(|(_, v)| *v))
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    // Counts are whole: their grid never falls between two whole numbers.
    let whole = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter())
        .all(|v| v.fract() == 0.0);
    let (ceiling, step) = scale(top_value, whole);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y = |v: f64| TOP + plot_h - (v.max(0.0) / ceiling) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" id="{id}" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(&chart.title),
        escape(&chart.description)
    );
    // Grid lines and the values they stand for.
    let mut v = 0.0;
    while v <= ceiling + step / 2.0 {
        let at = y(v);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{at:.1}" x2="{}" y2="{at:.1}" stroke="#d0d4d9" stroke-width="1"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#333">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            at + 4.0,
            number(v)
        );
        v += step;
    }
    // The bars, grouped by category.
    let group = plot_w / n as f64;
    let k = chart.series.len().max(1) as f64;
    let bar = (group * 0.8 / k).min(28.0);
    let start = (group - bar * k) / 2.0;
    for c in 0..n {
        let x0 = LEFT + group * c as f64;
        for (s, series) in chart.series.iter().enumerate() {
            let value = series.values.get(c).copied().unwrap_or(0.0);
            let top = y(value);
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{top:.1}" width="{bar:.1}" height="{:.1}" fill="{}"><title>{} {}: {}</title></rect>"#,
                x0 + start + bar * s as f64,
                (TOP + plot_h - top).max(0.0),
                COLOURS[s % COLOURS.len()],
                escape(chart.categories.get(c).map(String::as_str).unwrap_or("")),
                escape(&series.name),
                number(value)
            );
        }
        if let Some(label) = chart.categories.get(c) {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#333">{}</text>"##,
                x0 + group / 2.0,
                TOP + plot_h + 16.0,
                escape(label)
            );
        }
    }
    if let Some((label, value)) = &chart.reference {
        let at = y(*value);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{at:.1}" x2="{}" y2="{at:.1}" stroke="#b00020" stroke-width="2" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#b00020">{} {}</text>"##,
            WIDTH - RIGHT,
            WIDTH - RIGHT,
            at - 4.0,
            escape(label),
            number(*value)
        );
    }
    // The legend, above the plot.
    let mut x = LEFT;
    for (s, series) in chart.series.iter().enumerate() {
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="8" width="12" height="12" fill="{}"/><text x="{:.1}" y="18" font-size="12" fill="#222">{}</text>"##,
            COLOURS[s % COLOURS.len()],
            x + 16.0,
            escape(&series.name)
        );
        x += 24.0 + 13.0 * series.name.chars().count() as f64;
    }
    svg.push_str("</svg>");
    svg
}

/// A ceiling above `top` on a round step (1, 2 or 5 times a power of ten, at least 1 for
/// `whole` numbers), with about four grid lines.
fn scale(top: f64, whole: bool) -> (f64, f64) {
    if top <= 0.0 {
        return (4.0, 1.0);
    }
    let rough = top / 4.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    let step = if whole || top >= 4.0 {
        step.max(1.0)
    } else {
        step
    };
    ((top / step).ceil() * step, step)
}

fn number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn chart() -> BarChart {
        BarChart {
            title: "月別の新規相談".into(),
            description: "4月 12件、5月 30件".into(),
            categories: vec!["4月".into(), "5月".into()],
            series: vec![
                Series {
                    name: "新規相談".into(),
                    values: vec![12.0, 30.0],
                },
                Series {
                    name: "プラン<作成>".into(),
                    values: vec![6.0, 0.0],
                },
            ],
            reference: Some(("目安値".into(), 24.0)),
        }
    }

    #[test]
    fn bars_are_as_tall_as_their_values_on_a_round_scale() {
        assert_eq!(scale(30.0, true), (30.0, 10.0));
        assert_eq!(scale(7.0, true), (8.0, 2.0));
        assert_eq!(scale(0.0, true), (4.0, 1.0));
        assert_eq!(scale(1234.0, true), (1500.0, 500.0));
        assert_eq!(scale(1.0, true), (1.0, 1.0));
        assert_eq!(scale(1.0, false), (1.0, 0.5));
        assert_eq!(scale(0.7, false), (0.8, 0.2));
        let svg = bars(&chart(), "c1");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img" aria-labelledby="c1-title c1-desc""#));
        assert!(svg.contains("<title id=\"c1-title\">月別の新規相談</title>"));
        // 30 on a scale to 30 fills the plot (222 high), 12 two fifths of it, 0 nothing.
        assert!(
            svg.contains(r##"height="222.0" fill="#0072B2"><title>5月 新規相談: 30</title>"##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"height="88.8" fill="#0072B2"><title>4月 新規相談: 12</title>"##),
            "{svg}"
        );
        assert!(
            svg.contains(
                r##"height="0.0" fill="#E69F00"><title>5月 プラン&lt;作成&gt;: 0</title>"##
            ),
            "{svg}"
        );
        // The reference line at 24 of 30.
        assert!(svg.contains("目安値 24"));
        assert!(!svg.contains("<作成>"), "text is escaped");
    }
}
