//! The load generator: one scenario against one server per run, a JSON
//! line of results on standard output.
//!
//! ```text
//! bench-load run --addr 127.0.0.1:4000 --server zocket --pid 1234 --scenario a
//! bench-load table results.jsonl
//! ```
//!
//! The `hostile` scenario prints a line per part it runs.
//!
//! It runs on one thread (pin it to a core of its own), connects only to
//! the address given, which must be on 127.0.0.0/8, from source addresses
//! 127.0.0.2 to 127.0.0.17 so that tens of thousands of connections do
//! not run out of ephemeral ports, and bounds every wait with a timeout.

mod calls;
mod client;
mod conns;
mod crossnode;
mod fanout;
mod hostile;
mod lean;
mod procfs;
mod stats;
mod streams;

use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// What one run measures, with its settings.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The server under test.
    addr: SocketAddr,
    /// Its second node (scenario x).
    addr2: Option<SocketAddr>,
    /// The server's name in the results (`zocket`, `raw`).
    server: String,
    /// The server's process id, for its memory.
    pid: Option<u32>,
    /// `a`, `b`, `c`, `d`, `e` or `hostile`.
    scenario: String,
    /// The part of `hostile` to run (all when absent).
    part: Option<String>,
    /// The server's header timeout in seconds, which `hostile` waits past.
    header_timeout: f64,
    /// Connections (scenario default when absent).
    conns: Option<usize>,
    /// Measured time of the call scenarios.
    seconds: f64,
    /// Events published in the fan-out scenario.
    events: Option<usize>,
    /// Calls in flight per connection in scenario b (default 8).
    in_flight: Option<usize>,
    /// The scenario's name in the results, when not its usual one.
    label: Option<String>,
}

const USAGE: &str = "usage:
  bench-load run --addr 127.0.0.1:PORT [--addr2 127.0.0.1:PORT] --server NAME
                 --scenario a|ac|b|c|d|e|s1|s64|x|hostile
                 [--pid PID] [--conns N] [--seconds S] [--events N] [--in-flight N]
                 [--part slowloris|rooms|replies] [--header-timeout S]
                 [--label NAME]
  bench-load table FILE...
  bench-load scale FILE... [--svg OUT.svg]   (the results of SCENARIOS=scale)

scenarios:
  a  calls, 64 connections, 1 call in flight each
  ac a on math.addChecked, whose input declares ranges (zocket only)
  b  calls, 64 connections, 8 calls in flight each (pipelined; --in-flight)
  c  fan-out: 1000 members of one room, one publisher (--events, default 1000)
  d  memory per idle connection (--conns, default 10000; needs --pid)
  e  10000 connections in a burst, one call each right after __ready
  s1   one stream of 200000 items (--events), each checked and timed
       (zocket's stream.count with a window of 256, or jsonrpsee's
       subscription stream.count)
  s64  64 streams of 5000 items (--events) on 64 connections at once
  x    fan-out across two nodes on one Redis (--addr2, the second node):
       1000 members (--conns), half on each node, a publisher on the
       first (zocket, or socketioxide with its Redis adapter); with
       --addr2 equal to --addr, fan-out on one node (reported as x1)
  hostile  server RSS per attacking connection (needs --pid); its parts,
     one result line each, all three in turn unless --part picks one:
     slowloris  --conns (default 2000) partial HTTP request heads, held
                until the server closes them (waits --header-timeout,
                default 10, plus 5 s); a legitimate client calls meanwhile
     rooms      --conns (default 100) connections, each joining 5000
                distinct rooms with 200-byte names
     replies    --conns (default 100) connections, each making 64 calls
                with 40 KiB replies (math.blob) and reading them

--label names the scenario in the results (scenario pair of bench/run.sh:
a-pair, c-pair). With --pid, the call and fan-out scenarios also report
calls_per_cpu_s or deliveries_per_cpu_s: the figure per second of the
server's CPU time.";

/// The entry point of `bench-load`.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => parse(&args[1..]).and_then(run),
        Some("table") if args.len() > 1 => crate::report::print_table(&args[1..]),
        Some("scale") if args.len() > 1 => scale(&args[1..]),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench-load: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `bench-load scale FILE... [--svg OUT]`.
fn scale(args: &[String]) -> Result<(), String> {
    let mut files = args.to_vec();
    let svg = match files.iter().position(|arg| arg == "--svg") {
        Some(at) if at + 1 < files.len() => {
            let path = files.remove(at + 1);
            files.remove(at);
            Some(path)
        }
        Some(_) => return Err("--svg needs a file name".into()),
        None => None,
    };
    crate::scale::print_scale(&files, svg.as_deref())
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut addr = None;
    let mut options = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        addr2: None,
        server: String::new(),
        pid: None,
        scenario: String::new(),
        part: None,
        header_timeout: 10.0,
        conns: None,
        seconds: 5.0,
        events: None,
        in_flight: None,
        label: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |what: &str| format!("{flag}: expected {what}, got {value:?}");
        match flag.as_str() {
            "--addr" => addr = Some(value.parse::<SocketAddr>().map_err(|_| bad("ip:port"))?),
            "--addr2" => {
                let addr2 = value.parse::<SocketAddr>().map_err(|_| bad("ip:port"))?;
                if !addr2.ip().is_loopback() {
                    return Err(format!(
                        "--addr2 must be on 127.0.0.0/8, got {}",
                        addr2.ip()
                    ));
                }
                options.addr2 = Some(addr2);
            }
            "--server" => options.server = value.clone(),
            "--pid" => options.pid = Some(value.parse().map_err(|_| bad("a process id"))?),
            "--scenario" => options.scenario = value.clone(),
            "--conns" => options.conns = Some(value.parse().map_err(|_| bad("a count"))?),
            "--seconds" => options.seconds = value.parse().map_err(|_| bad("seconds"))?,
            "--events" => options.events = Some(value.parse().map_err(|_| bad("a count"))?),
            "--in-flight" => {
                let n: usize = value.parse().map_err(|_| bad("a count"))?;
                if !(1..=1024).contains(&n) {
                    return Err("--in-flight must be from 1 to 1024".into());
                }
                options.in_flight = Some(n);
            }
            "--part" => options.part = Some(value.clone()),
            "--label" => options.label = Some(value.clone()),
            "--header-timeout" => {
                options.header_timeout = value.parse().map_err(|_| bad("seconds"))?;
            }
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    options.addr = addr.ok_or_else(|| format!("--addr is required\n{USAGE}"))?;
    match options.addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_loopback() => {}
        other => return Err(format!("--addr must be on 127.0.0.0/8, got {other}")),
    }
    if options.server.is_empty() || options.scenario.is_empty() {
        return Err(format!("--server and --scenario are required\n{USAGE}"));
    }
    if !(0.5..=120.0).contains(&options.seconds) {
        return Err("--seconds must be from 0.5 to 120".into());
    }
    if !(0.1..=60.0).contains(&options.header_timeout) {
        return Err("--header-timeout must be from 0.1 to 60".into());
    }
    Ok(options)
}

/// Hard limit on one scenario, whatever happens.
const SCENARIO_LIMIT: Duration = Duration::from_secs(300);

fn run(options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("runtime: {err}"))?;
    let scenario = options.scenario.clone();
    let results = runtime.block_on(async {
        let one = |metrics: Result<Map<String, Value>, String>| {
            metrics.map(|metrics| vec![(label(&options), metrics)])
        };
        let work = async {
            match scenario.as_str() {
                "a" => one(calls::run(&options, 64, 1, crate::wire::ADD).await),
                "ac" => one(calls::run(&options, 64, 1, crate::wire::ADD_CHECKED).await),
                "b" => {
                    let in_flight = options.in_flight.unwrap_or(8);
                    one(calls::run(&options, 64, in_flight, crate::wire::ADD).await)
                }
                "c" => one(fanout::run(&options).await),
                "d" => one(conns::idle(&options).await),
                "e" => one(conns::burst(&options).await),
                "hostile" => hostile::run(&options).await,
                "s1" => one(streams::run(&options, 1).await),
                "x" => one(crossnode::run(&options).await),
                "s64" => one(streams::run(&options, 64).await),
                other => Err(format!("unknown scenario {other:?}\n{USAGE}")),
            }
        };
        tokio::time::timeout(SCENARIO_LIMIT, work)
            .await
            .map_err(|_| format!("scenario {scenario} passed {SCENARIO_LIMIT:?}"))?
    })?;
    for (label, mut metrics) in results {
        per_cpu_second(&mut metrics);
        let mut line = Map::new();
        line.insert("server".into(), Value::from(options.server.clone()));
        line.insert("scenario".into(), Value::from(label));
        line.insert("metrics".into(), Value::Object(metrics));
        println!("{}", Value::Object(line));
    }
    // Thousands of sockets close faster with the process than one by one.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

/// Adds `calls_per_cpu_s` or `deliveries_per_cpu_s`: the rate divided
/// by the share of a core the server used. When two servers share one
/// core (scenario pair), this, not the rate, says which does more per
/// unit of work.
fn per_cpu_second(metrics: &mut Map<String, Value>) {
    let Some(cpu) = metrics.get("server_cpu_pct").and_then(Value::as_f64) else {
        return;
    };
    for (rate, per_cpu) in [
        ("calls_per_s", "calls_per_cpu_s"),
        ("deliveries_per_s", "deliveries_per_cpu_s"),
    ] {
        if let Some(rate) = metrics.get(rate).and_then(Value::as_f64)
            && cpu > 0.0
        {
            metrics.insert(per_cpu.into(), Value::from(rate * 100.0 / cpu));
        }
    }
}

/// The scenario's name in the results: `d` carries its connection count;
/// `--label` overrides it.
fn label(options: &Options) -> String {
    if let Some(label) = &options.label {
        return label.clone();
    }
    match (options.scenario.as_str(), options.conns) {
        ("d", Some(n)) if n % 1000 == 0 => format!("d{}k", n / 1000),
        ("d", Some(n)) => format!("d{n}"),
        ("d", None) => "d10k".into(),
        // The sweep of calls in flight (bench/scaling.sh): `b16x64`.
        ("b", conns) if options.in_flight.is_some() => format!(
            "b{}x{}",
            conns.unwrap_or(64),
            options.in_flight.unwrap_or(8)
        ),
        ("a" | "b", Some(n)) if n != 64 => format!("{}{n}", options.scenario),
        // The sweep of members: `c10`, `c10000`.
        ("c", Some(n)) if n != 1000 => format!("c{n}"),
        // Both "nodes" one server: fan-out on one node.
        ("x", _) if options.addr2 == Some(options.addr) => "x1".into(),
        (other, _) => other.into(),
    }
}
