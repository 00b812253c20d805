//! How cost grows with the work: the results of `SCENARIOS=scale` (calls
//! in flight on 16 connections, members of one room) as a Markdown table
//! and an SVG plot, zocket beside the minimal server (medians of the runs).
//!
//! ```text
//! bench-load scale results.jsonl [--svg bench/scaling.svg]
//! ```

use crate::report::{Results, figure, load, show};
use std::fmt::Write;

/// One panel: its title, the x axis, the points' scenarios and the figure.
struct Panel {
    title: &'static str,
    x_label: &'static str,
    points: &'static [(u32, &'static str)],
    metric: &'static str,
    y_label: &'static str,
}

const PANELS: [Panel; 2] = [
    Panel {
        title: "Calls in flight (16 connections)",
        x_label: "calls in flight per connection",
        points: &[(1, "b16x1"), (8, "b16x8"), (64, "b16x64"), (256, "b16x256")],
        metric: "calls_per_s",
        y_label: "calls/s",
    },
    Panel {
        title: "Members of one room (one publisher)",
        x_label: "members",
        points: &[(10, "c10"), (100, "c100"), (1000, "c"), (10000, "c10000")],
        metric: "deliveries_per_s",
        y_label: "deliveries/s",
    },
];

/// The servers compared, and their colours in the plot.
const SERVERS: [(&str, &str); 2] = [("zocket", "#1f6feb"), ("minimal", "#d1242f")];

/// Prints the table of the sweep in `files`; writes the plot to `svg`.
pub fn print_scale(files: &[String], svg: Option<&str>) -> Result<(), String> {
    let results = load(files)?;
    let mut out = String::new();
    for panel in &PANELS {
        let _ = writeln!(
            out,
            "| {} | zocket {} | p50 / p99 (µs) | minimal {} | p50 / p99 (µs) | server CPU % (zocket / minimal) |",
            panel.x_label, panel.y_label, panel.y_label
        );
        out.push_str("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (x, scenario) in panel.points {
            let cell =
                |server: &str, metric: &str| show(figure(&results, server, scenario, metric));
            let _ = writeln!(
                out,
                "| {x} | {} | {} / {} | {} | {} / {} | {} / {} |",
                cell("zocket", panel.metric),
                cell("zocket", "p50_us"),
                cell("zocket", "p99_us"),
                cell("minimal", panel.metric),
                cell("minimal", "p50_us"),
                cell("minimal", "p99_us"),
                cell("zocket", "server_cpu_pct"),
                cell("minimal", "server_cpu_pct"),
            );
        }
        out.push('\n');
    }
    print!("{out}");
    if let Some(path) = svg {
        std::fs::write(path, plot(&results)).map_err(|err| format!("{path}: {err}"))?;
    }
    Ok(())
}

/// Both panels side by side: throughput against the work, x logarithmic.
fn plot(results: &Results) -> String {
    const PANEL_W: f64 = 380.0;
    const H: f64 = 300.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = 50.0;
    let width = PANEL_W * PANELS.len() as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{H}" viewBox="0 0 {width} {H}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="{width}" height="{H}" fill="white"/>"#);
    for (i, panel) in PANELS.iter().enumerate() {
        let x0 = PANEL_W * i as f64 + LEFT;
        let x1 = PANEL_W * (i + 1) as f64 - RIGHT;
        let (y0, y1) = (H - BOTTOM, TOP);
        let values: Vec<f64> = SERVERS
            .iter()
            .flat_map(|(server, _)| {
                panel
                    .points
                    .iter()
                    .filter_map(|(_, scenario)| figure(results, server, scenario, panel.metric))
            })
            .collect();
        let top = nice_ceiling(values.iter().copied().fold(0.0, f64::max));
        let (first, last) = (
            f64::from(panel.points[0].0).log10(),
            f64::from(panel.points[panel.points.len() - 1].0).log10(),
        );
        let px = |x: u32| x0 + (f64::from(x).log10() - first) / (last - first) * (x1 - x0);
        let py = |y: f64| y0 - y / top * (y0 - y1);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="20" text-anchor="middle" font-size="13" font-weight="bold">{}</text>"#,
            (x0 + x1) / 2.0,
            panel.title
        );
        // Axes, ticks and grid.
        let _ = writeln!(
            svg,
            r##"<path d="M{x0} {y1} V{y0} H{x1}" fill="none" stroke="#333"/>"##
        );
        for k in 0..=4 {
            let value = top * f64::from(k) / 4.0;
            let y = py(value);
            let _ = writeln!(
                svg,
                r##"<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
                x0 - 6.0,
                y + 4.0,
                short(value)
            );
        }
        for (x, _) in panel.points {
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle">{x}</text>"#,
                px(*x),
                y0 + 16.0
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            (x0 + x1) / 2.0,
            y0 + 36.0,
            panel.x_label
        );
        let _ = writeln!(
            svg,
            r#"<text transform="translate({} {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            x0 - 52.0,
            (y0 + y1) / 2.0,
            panel.y_label
        );
        // One line per server, and the legend.
        for (k, (server, colour)) in SERVERS.iter().enumerate() {
            let points: Vec<(f64, f64)> = panel
                .points
                .iter()
                .filter_map(|(x, scenario)| {
                    figure(results, server, scenario, panel.metric).map(|y| (px(*x), py(y)))
                })
                .collect();
            let path: Vec<String> = points
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                path.join(" ")
            );
            for (x, y) in &points {
                let _ = writeln!(
                    svg,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"/>"#
                );
            }
            let ly = y1 + 14.0 * k as f64;
            let _ = writeln!(
                svg,
                r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{server}</text>"#,
                x1 - 90.0,
                x1 - 70.0,
                x1 - 64.0,
                ly + 4.0
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// The smallest of 1, 2, 2.5 or 5 times a power of ten at or above `max`.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|value| *value >= max)
        .unwrap_or(10.0 * power)
}

/// `1.2M`, `250k`, `0`.
fn short(value: f64) -> String {
    if value >= 1e6 {
        format!("{}M", trim(value / 1e6))
    } else if value >= 1e3 {
        format!("{}k", trim(value / 1e3))
    } else {
        trim(value)
    }
}

fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::{nice_ceiling, short};

    #[test]
    fn axes_end_on_round_figures() {
        assert_eq!(nice_ceiling(1_140_000.0), 2_000_000.0);
        assert_eq!(nice_ceiling(180_000.0), 200_000.0);
        assert_eq!(nice_ceiling(2_100.0), 2_500.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(short(1_500_000.0), "1.5M");
        assert_eq!(short(250_000.0), "250k");
        assert_eq!(short(0.0), "0");
    }
}
