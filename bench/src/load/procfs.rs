//! What `/proc` tells about the server and the load generator: memory,
//! CPU time and the open files limit.

use std::time::Instant;

/// `/proc/<pid>` or `/proc/self`.
fn dir(pid: Option<u32>) -> String {
    pid.map_or_else(|| "/proc/self".into(), |pid| format!("/proc/{pid}"))
}

/// The soft limit on open files of a process (`None`: this one).
pub(crate) fn file_limit(pid: Option<u32>) -> Result<usize, String> {
    let path = format!("{}/limits", dir(pid));
    let limits = std::fs::read_to_string(&path).map_err(|err| format!("{path}: {err}"))?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .ok_or_else(|| format!("{path}: no open files limit"))?;
    match line.split_whitespace().nth(3) {
        Some("unlimited") => Ok(usize::MAX),
        Some(soft) => soft.parse().map_err(|_| format!("{path}: {line}")),
        None => Err(format!("{path}: {line}")),
    }
}

/// A process's resident memory in KiB (`VmRSS` of `/proc/<pid>/status`).
pub(crate) fn rss_kib(pid: u32) -> Result<u64, String> {
    status_kib(pid, "VmRSS")
}

/// A process's largest resident memory since it started, in KiB
/// (`VmHWM` of `/proc/<pid>/status`).
pub(crate) fn peak_rss_kib(pid: u32) -> Result<u64, String> {
    status_kib(pid, "VmHWM")
}

/// A `kB` field of `/proc/<pid>/status`.
fn status_kib(pid: u32, field: &str) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|err| format!("{path}: {err}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("{path}: no {field}"))
}

/// CPU time (user + system) of a process in seconds; `None` when unknown.
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("{}/stat", dir(pid))).ok()?;
    // Fields after the command name, which ends with the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports these in USER_HZ, 100 on Linux.
    Some(ticks as f64 / 100.0)
}

/// CPU use of the server and of the load generator over an interval.
pub(crate) struct CpuMeter {
    pid: Option<u32>,
    at: Instant,
    server: Option<f64>,
    load: Option<f64>,
}

impl CpuMeter {
    /// Starts measuring.
    pub(crate) fn start(pid: Option<u32>) -> Self {
        Self {
            pid,
            at: Instant::now(),
            server: pid.and_then(|pid| cpu_seconds(Some(pid))),
            load: cpu_seconds(None),
        }
    }

    /// The share of one core each used since the start, in percent:
    /// `(server, load generator)`.
    pub(crate) fn stop(self) -> (Option<f64>, Option<f64>) {
        let wall = self.at.elapsed().as_secs_f64().max(1e-3);
        let server = self
            .pid
            .and_then(|pid| cpu_seconds(Some(pid)))
            .zip(self.server)
            .map(|(end, start)| 100.0 * (end - start) / wall);
        let load = cpu_seconds(None)
            .zip(self.load)
            .map(|(end, start)| 100.0 * (end - start) / wall);
        (server, load)
    }

    /// Stops and adds `server_cpu_pct` and `load_cpu_pct` to `metrics`.
    pub(crate) fn record(self, metrics: &mut serde_json::Map<String, serde_json::Value>) {
        let (server, load) = self.stop();
        if let Some(server) = server {
            metrics.insert("server_cpu_pct".into(), server.into());
        }
        if let Some(load) = load {
            metrics.insert("load_cpu_pct".into(), load.into());
        }
    }
}
