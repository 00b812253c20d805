//! The table of results: absolute figures of both servers, zocket/raw
//! ratios, and each target of the issue met or missed.
//!
//! Results are JSON lines from `bench-load run`; when a scenario ran
//! several times, the table shows the median of each figure, and the
//! median of the round-by-round ratios.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What a figure must satisfy.
#[derive(Clone, Copy)]
enum Target {
    /// No target: context for the other figures.
    None,
    /// zocket/raw at least this.
    RatioAtLeast(f64),
    /// zocket's p99 at most this many times its p50 (same scenario).
    TailAtMost(f64),
    /// zocket's figure at most this.
    AtMost(f64),
    /// Every member got every event in order (zocket's figure equals the
    /// scenario's `members`).
    AllMembers,
    /// zocket's figure equals this.
    Exactly(f64),
    /// zocket's figure equals the scenario's figure of this name: every
    /// one of them.
    AllOf(&'static str),
}

/// One row: scenario, metric key, what it is.
const ROWS: &[(&str, &str, &str, Target)] = &[
    (
        "a",
        "calls_per_s",
        "(a) 64 conns x 1 in flight: calls/s",
        Target::RatioAtLeast(0.90),
    ),
    ("a", "p50_us", "(a) latency p50 (µs)", Target::None),
    (
        "a",
        "p99_us",
        "(a) latency p99 (µs)",
        Target::TailAtMost(3.0),
    ),
    ("a", "p999_us", "(a) latency p999 (µs)", Target::None),
    (
        "ir",
        "instructions_per_call",
        "(a) user-space instructions per call (callgrind)",
        Target::None,
    ),
    (
        "a",
        "server_cpu_pct",
        "(a) server CPU, % of its core",
        Target::None,
    ),
    (
        "a",
        "load_cpu_pct",
        "(a) load generator CPU, % of its core",
        Target::None,
    ),
    (
        "a-pair",
        "calls_per_cpu_s",
        "(a) head to head on one core: calls per server CPU-second",
        Target::RatioAtLeast(0.90),
    ),
    (
        "a-pair",
        "calls_per_s",
        "(a) head to head: calls/s",
        Target::None,
    ),
    (
        "a-pair",
        "server_cpu_pct",
        "(a) head to head: server CPU, % of the shared core",
        Target::None,
    ),
    (
        "a-pair",
        "load_cpu_pct",
        "(a) head to head: load generator CPU, % of the shared core",
        Target::None,
    ),
    (
        "b",
        "calls_per_s",
        "(b) 64 conns x 8 pipelined: calls/s",
        Target::RatioAtLeast(0.65),
    ),
    ("b", "p50_us", "(b) latency p50 (µs)", Target::None),
    (
        "b",
        "p99_us",
        "(b) latency p99 (µs)",
        Target::TailAtMost(3.0),
    ),
    ("b", "p999_us", "(b) latency p999 (µs)", Target::None),
    (
        "b",
        "server_cpu_pct",
        "(b) server CPU, % of its core",
        Target::None,
    ),
    (
        "b",
        "load_cpu_pct",
        "(b) load generator CPU, % of its core",
        Target::None,
    ),
    (
        "a256",
        "calls_per_s",
        "(a256) 256 conns x 1 in flight: calls/s",
        Target::None,
    ),
    ("a256", "p50_us", "(a256) latency p50 (µs)", Target::None),
    (
        "a256",
        "p99_us",
        "(a256) latency p99 (µs)",
        Target::TailAtMost(3.0),
    ),
    (
        "b256",
        "calls_per_s",
        "(b256) 256 conns x 8 pipelined: calls/s",
        Target::None,
    ),
    ("b256", "p50_us", "(b256) latency p50 (µs)", Target::None),
    (
        "b256",
        "p99_us",
        "(b256) latency p99 (µs)",
        Target::TailAtMost(3.0),
    ),
    (
        "a1000",
        "calls_per_s",
        "(a1000) 1000 conns x 1 in flight: calls/s",
        Target::None,
    ),
    ("a1000", "p50_us", "(a1000) latency p50 (µs)", Target::None),
    (
        "a1000",
        "p99_us",
        "(a1000) latency p99 (µs)",
        Target::TailAtMost(3.0),
    ),
    (
        "b1000",
        "calls_per_s",
        "(b1000) 1000 conns x 8 pipelined: calls/s",
        Target::None,
    ),
    ("b1000", "p50_us", "(b1000) latency p50 (µs)", Target::None),
    (
        "b1000",
        "p99_us",
        "(b1000) latency p99 (µs)",
        Target::TailAtMost(3.0),
    ),
    (
        "c",
        "deliveries_per_s",
        "(c) fan-out 1000 members: deliveries/s",
        Target::RatioAtLeast(0.80),
    ),
    ("c", "p50_us", "(c) delivery latency p50 (µs)", Target::None),
    ("c", "p99_us", "(c) delivery latency p99 (µs)", Target::None),
    (
        "c",
        "server_cpu_pct",
        "(c) server CPU, % of its core",
        Target::None,
    ),
    (
        "c",
        "load_cpu_pct",
        "(c) load generator CPU, % of its core",
        Target::None,
    ),
    (
        "c",
        "members_complete_in_order",
        "(c) members with every event in order",
        Target::AllMembers,
    ),
    (
        "c-pair",
        "deliveries_per_cpu_s",
        "(c) head to head on one core: deliveries per server CPU-second",
        Target::RatioAtLeast(0.80),
    ),
    (
        "c-pair",
        "deliveries_per_s",
        "(c) head to head: deliveries/s",
        Target::None,
    ),
    (
        "c-pair",
        "server_cpu_pct",
        "(c) head to head: server CPU, % of the shared core",
        Target::None,
    ),
    (
        "c-pair",
        "members_complete_in_order",
        "(c) head to head: members with every event in order",
        Target::AllMembers,
    ),
    (
        "d10k",
        "kib_per_conn",
        "(d) 10k idle: server RSS KiB per conn",
        Target::AtMost(8.0),
    ),
    (
        "d50k",
        "kib_per_conn",
        "(d) 50k idle: server RSS KiB per conn",
        Target::AtMost(8.0),
    ),
    (
        "e",
        "conns_per_s",
        "(e) 10k burst: connections/s",
        Target::None,
    ),
    ("e", "p50_ms", "(e) connect to reply p50 (ms)", Target::None),
    ("e", "p99_ms", "(e) connect to reply p99 (ms)", Target::None),
    (
        "e",
        "lost",
        "(e) connections lost (of 10k)",
        Target::AtMost(0.0),
    ),
    (
        "hostile-slowloris",
        "conns",
        "(h1) slowloris: connections with a partial request head",
        Target::None,
    ),
    (
        "hostile-slowloris",
        "kib_per_conn",
        "(h1) server RSS KiB per slowloris conn, while open",
        Target::None,
    ),
    (
        "hostile-slowloris",
        "legit_connect_ms",
        "(h1) meanwhile, a legitimate client: connect to __ready (ms)",
        Target::None,
    ),
    (
        "hostile-slowloris",
        "legit_call_p50_us",
        "(h1) meanwhile, its math.add p50 (µs)",
        Target::None,
    ),
    (
        "hostile-slowloris",
        "legit_call_p99_us",
        "(h1) meanwhile, its math.add p99 (µs)",
        Target::None,
    ),
    (
        "hostile-slowloris",
        "closed_by_server",
        "(h1) slowloris conns closed by the server",
        Target::AllOf("conns"),
    ),
    (
        "hostile-slowloris",
        "last_close_s",
        "(h1) last close, s after its partial head",
        Target::None,
    ),
    (
        "hostile-slowloris",
        "rss_open_kib",
        "(h1) server RSS while open (KiB)",
        Target::None,
    ),
    (
        "hostile-slowloris",
        "rss_after_kib",
        "(h1) server RSS after the closes (KiB)",
        Target::None,
    ),
    (
        "hostile-slowloris",
        "second_wave_kib_per_conn",
        "(h1) then a second wave: RSS growth KiB per conn",
        Target::None,
    ),
    (
        "hostile-rooms",
        "accepted_per_conn_min",
        "(h2) room flood: joins accepted per conn, fewest (of 5000)",
        Target::Exactly(1000.0),
    ),
    (
        "hostile-rooms",
        "accepted_per_conn_max",
        "(h2) joins accepted per conn, most",
        Target::Exactly(1000.0),
    ),
    (
        "hostile-rooms",
        "limit_exceeded",
        "(h2) joins refused with LIMIT_EXCEEDED (all conns)",
        Target::None,
    ),
    (
        "hostile-rooms",
        "other_replies",
        "(h2) other replies to joins",
        Target::AtMost(0.0),
    ),
    (
        "hostile-rooms",
        "kib_per_conn",
        "(h2) server RSS KiB per flooding conn (conn + rooms)",
        Target::None,
    ),
    (
        "hostile-rooms",
        "peak_kib_per_conn",
        "(h2) server peak RSS KiB per flooding conn",
        Target::None,
    ),
    ("hostile-rooms", "joins_per_s", "(h2) joins/s", Target::None),
    (
        "hostile-rooms",
        "server_cpu_pct",
        "(h2) server CPU, % of its core",
        Target::None,
    ),
    (
        "hostile-rooms",
        "load_cpu_pct",
        "(h2) load generator CPU, % of its core",
        Target::None,
    ),
    (
        "hostile-replies",
        "replies_kib_per_conn",
        "(h3) reply flood: reply KiB per conn (64 x 40 KiB)",
        Target::None,
    ),
    (
        "hostile-replies",
        "kib_per_conn",
        "(h3) server RSS KiB per conn after the calls",
        Target::None,
    ),
    (
        "hostile-replies",
        "peak_kib_per_conn",
        "(h3) server peak RSS KiB per conn",
        Target::None,
    ),
    (
        "hostile-replies",
        "second_round_kib_per_conn",
        "(h3) 64 more calls per conn: RSS growth KiB per conn",
        Target::None,
    ),
    (
        "hostile-replies",
        "replies_per_s",
        "(h3) replies/s",
        Target::None,
    ),
    (
        "hostile-replies",
        "server_cpu_pct",
        "(h3) server CPU, % of its core",
        Target::None,
    ),
    (
        "hostile-replies",
        "load_cpu_pct",
        "(h3) load generator CPU, % of its core",
        Target::None,
    ),
];

/// server → scenario → metric → values, one per run.
pub(crate) type Results = BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<f64>>>>;

pub(crate) fn load(files: &[String]) -> Result<Results, String> {
    let mut results = Results::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|err| format!("{file}: {err}"))?;
        for line in text.lines().filter(|line| line.starts_with('{')) {
            let value: Value =
                serde_json::from_str(line).map_err(|err| format!("{file}: {err}: {line}"))?;
            let (Some(server), Some(scenario), Some(metrics)) = (
                value["server"].as_str(),
                value["scenario"].as_str(),
                value["metrics"].as_object(),
            ) else {
                return Err(format!("{file}: not a result line: {line}"));
            };
            let by_metric = results
                .entry(server.into())
                .or_default()
                .entry(scenario.into())
                .or_default();
            for (metric, figure) in metrics {
                if let Some(figure) = figure.as_f64() {
                    by_metric.entry(metric.clone()).or_default().push(figure);
                }
            }
        }
    }
    Ok(results)
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

pub(crate) fn figure(results: &Results, server: &str, scenario: &str, metric: &str) -> Option<f64> {
    median(results.get(server)?.get(scenario)?.get(metric)?)
}

/// zocket's figure over the baseline's: the median of the round-by-round
/// ratios when both ran the same rounds, else the ratio of the medians.
/// Rounds run the two next to each other (in a head-to-head scenario such
/// as `a-pair`, at the same time), so each round's ratio cancels much of
/// what the machine did to both; a ratio of the two medians would not.
fn ratio(results: &Results, scenario: &str, metric: &str, baseline: &str) -> Option<f64> {
    let values = |server: &str| results.get(server)?.get(scenario)?.get(metric);
    let (z, base) = (values("zocket")?, values(baseline)?);
    if z.len() != base.len() {
        return match (median(z), median(base)) {
            (Some(z), Some(base)) if base != 0.0 => Some(z / base),
            _ => None,
        };
    }
    let ratios: Vec<f64> = z
        .iter()
        .zip(base)
        .filter(|(_, base)| **base != 0.0)
        .map(|(z, base)| z / base)
        .collect();
    median(&ratios)
}

fn runs(results: &Results, server: &str, scenario: &str) -> usize {
    results
        .get(server)
        .and_then(|s| s.get(scenario))
        .and_then(|m| m.values().map(Vec::len).max())
        .unwrap_or(0)
}

pub(crate) fn show(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(v) if v.abs() >= 1000.0 => {
            let digits = format!("{:.0}", v);
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 && c.is_ascii_digit() {
                    out.push(',');
                }
                out.push(c);
            }
            out
        }
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// The table as Markdown.
fn table(results: &Results) -> String {
    let mut out = String::new();
    // The baseline: the minimal server when it ran, else the
    // zocket-shaped raw one.
    let _ = writeln!(
        out,
        "| figure | zocket | minimal | raw (zocket-shaped) | jsonrpsee | socketioxide | zocket/baseline | target | verdict |"
    );
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    );
    for &(scenario, metric, label, target) in ROWS {
        let z = figure(results, "zocket", scenario, metric);
        let m = figure(results, "minimal", scenario, metric);
        let r = figure(results, "raw", scenario, metric);
        let j = figure(results, "jsonrpsee", scenario, metric);
        let s = figure(results, "socketioxide", scenario, metric);
        let skipped = figure(results, "zocket", scenario, "skipped_file_limit");
        if z.is_none() && r.is_none() && m.is_none() {
            let why = match skipped {
                Some(limit) => format!("skipped: open files limit {}", show(Some(limit))),
                None => "not run".into(),
            };
            let _ = writeln!(
                out,
                "| {label} | - | - | - | - | - | - | {} | {why} |",
                target_text(target)
            );
            continue;
        }
        let baseline = if m.is_some() { "minimal" } else { "raw" };
        let ratio = ratio(results, scenario, metric, baseline);
        let verdict = match target {
            Target::None => String::new(),
            Target::RatioAtLeast(min) => met(ratio.map(|ratio| ratio >= min)),
            Target::TailAtMost(times) => {
                let p50 = figure(results, "zocket", scenario, "p50_us");
                met(z.zip(p50).map(|(p99, p50)| p99 <= times * p50))
            }
            Target::AtMost(max) => met(z.map(|z| z <= max)),
            Target::AllMembers => {
                let members = figure(results, "zocket", scenario, "members");
                met(z.zip(members).map(|(z, members)| z == members))
            }
            Target::Exactly(want) => met(z.map(|z| z == want)),
            Target::AllOf(metric) => {
                let all = figure(results, "zocket", scenario, metric);
                met(z.zip(all).map(|(z, all)| z == all))
            }
        };
        let ratio_text = ratio.map_or("-".into(), |ratio| format!("{ratio:.2}"));
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} | {} | {ratio_text} | {} | {verdict} |",
            show(z),
            show(m),
            show(r),
            show(j),
            show(s),
            target_text(target)
        );
    }
    let rounds: Vec<String> = ROWS
        .iter()
        .map(|row| row.0)
        .fold(Vec::<&str>::new(), |mut seen, s| {
            if !seen.contains(&s) {
                seen.push(s);
            }
            seen
        })
        .into_iter()
        .map(|s| {
            format!(
                "{s}: {}/{}/{}",
                runs(results, "zocket", s),
                runs(results, "minimal", s),
                runs(results, "raw", s)
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "\nRuns per scenario (zocket/minimal/raw; medians shown, and ratios the median of the rounds' ratios): {}",
        rounds.join(", ")
    );
    out
}

fn target_text(target: Target) -> String {
    match target {
        Target::None => String::new(),
        Target::RatioAtLeast(min) => format!("ratio ≥ {min:.2}"),
        Target::TailAtMost(times) => format!("zocket p99 ≤ {times} × p50"),
        Target::AtMost(0.0) => "zero".into(),
        Target::AtMost(max) => format!("zocket ≤ {max}"),
        Target::AllMembers => "all, in order".into(),
        Target::Exactly(want) => format!("zocket = {}", show(Some(want))),
        Target::AllOf(_) => "all".into(),
    }
}

fn met(ok: Option<bool>) -> String {
    match ok {
        Some(true) => "met".into(),
        Some(false) => "**missed**".into(),
        None => "unknown".into(),
    }
}

/// The stream rows: zocket's streams beside jsonrpsee's subscriptions.
const STREAM_ROWS: &[(&str, &str, &str)] = &[
    ("s1", "items_per_s", "(s1) 1 stream: items/s"),
    ("s1", "p50_us", "(s1) item latency p50 (µs)"),
    ("s1", "p99_us", "(s1) item latency p99 (µs)"),
    ("s1", "server_cpu_pct", "(s1) server CPU, % of its core"),
    (
        "s1",
        "load_cpu_pct",
        "(s1) load generator CPU, % of its core",
    ),
    ("s64", "items_per_s", "(s64) 64 streams at once: items/s"),
    ("s64", "p50_us", "(s64) item latency p50 (µs)"),
    ("s64", "p99_us", "(s64) item latency p99 (µs)"),
    ("s64", "server_cpu_pct", "(s64) server CPU, % of its core"),
    (
        "s64",
        "load_cpu_pct",
        "(s64) load generator CPU, % of its core",
    ),
];

/// The fan-out rows beside socketioxide: across two nodes on Redis (x),
/// and on one node (x1).
const CROSS_NODE_ROWS: &[(&str, &str, &str)] = &[
    (
        "x",
        "deliveries_per_s",
        "(x) 1000 members on 2 nodes: deliveries/s",
    ),
    ("x", "p50_us", "(x) delivery latency p50 (µs)"),
    ("x", "p99_us", "(x) delivery latency p99 (µs)"),
    (
        "x",
        "members_complete_in_order",
        "(x) members with every event in order",
    ),
    ("x", "load_cpu_pct", "(x) load generator CPU, % of its core"),
    (
        "x1",
        "deliveries_per_s",
        "(x1) 1000 members on 1 node: deliveries/s",
    ),
    ("x1", "p50_us", "(x1) delivery latency p50 (µs)"),
    ("x1", "p99_us", "(x1) delivery latency p99 (µs)"),
    (
        "x1",
        "members_complete_in_order",
        "(x1) members with every event in order",
    ),
    ("x1", "server_cpu_pct", "(x1) server CPU, % of its core"),
    (
        "x1",
        "load_cpu_pct",
        "(x1) load generator CPU, % of its core",
    ),
];

/// A table of zocket beside `peer` on `rows`, when any of them ran.
fn peer_table(results: &Results, peer: &str, rows: &[(&str, &str, &str)]) -> Option<String> {
    let scenarios: Vec<&str> = rows.iter().fold(Vec::new(), |mut seen, row| {
        if !seen.contains(&row.0) {
            seen.push(row.0);
        }
        seen
    });
    let ran = |server: &str| scenarios.iter().any(|s| runs(results, server, s) > 0);
    if !ran("zocket") && !ran(peer) {
        return None;
    }
    let mut out = String::new();
    let _ = writeln!(out, "| figure | zocket | {peer} | zocket/{peer} |");
    let _ = writeln!(out, "| --- | ---: | ---: | ---: |");
    for &(scenario, metric, label) in rows {
        let z = figure(results, "zocket", scenario, metric);
        let p = figure(results, peer, scenario, metric);
        let ratio = ratio(results, scenario, metric, peer)
            .map_or_else(|| "-".into(), |ratio| format!("{ratio:.2}"));
        let _ = writeln!(out, "| {label} | {} | {} | {ratio} |", show(z), show(p));
    }
    let counts: Vec<String> = scenarios
        .iter()
        .map(|s| {
            format!(
                "{s}: {}/{}",
                runs(results, "zocket", s),
                runs(results, peer, s)
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "\nRuns per scenario (zocket/{peer}; medians shown, and ratios the median of the rounds' ratios): {}.",
        counts.join(", ")
    );
    Some(out)
}

/// Prints the tables of the results in `files`.
pub fn print_table(files: &[String]) -> Result<(), String> {
    let results = load(files)?;
    let calls_ran = ["zocket", "minimal", "raw"].iter().any(|server| {
        results
            .get(*server)
            .is_some_and(|s| s.keys().any(|k| !k.starts_with('s') && !k.starts_with('x')))
    });
    if calls_ran {
        print!("{}", table(&results));
    }
    let mut printed = calls_ran;
    for (peer, rows) in [
        ("jsonrpsee", STREAM_ROWS),
        ("socketioxide", CROSS_NODE_ROWS),
    ] {
        if let Some(table) = peer_table(&results, peer, rows) {
            if printed {
                println!();
            }
            print!("{table}");
            printed = true;
        }
    }
    Ok(())
}
