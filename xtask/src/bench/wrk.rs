//! Running `wrk` and reading the figures out of its report.

use std::{path::Path, process::Command};

use anyhow::{bail, Context, Result};

/// The figures of one wrk run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub requests_per_sec: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Responses other than 2xx/3xx plus connect, read and write errors.
    pub errors: u64,
    pub timeouts: u64,
}

/// Runs wrk against `url` for `duration_secs` with `connections` connections (one thread for
/// one connection, two otherwise), with `script` (Lua) shaping the requests if given.
pub fn run(
    url: &str,
    connections: u32,
    duration_secs: u64,
    script: Option<&Path>,
) -> Result<Figures> {
    let threads = connections.min(2);
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{duration_secs}s"))
        .args(["--latency", "--timeout", "2s"]);
    if let Some(script) = script {
        cmd.arg("-s").arg(script);
    }
    cmd.arg(url);
    let output = cmd.output().context("could not run wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}):\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&stdout).with_context(|| format!("could not read wrk's report:\n{stdout}"))
}

/// Reads wrk's `--latency` report.
pub fn parse(report: &str) -> Result<Figures> {
    let mut requests_per_sec = None;
    let mut figures = Figures {
        requests_per_sec: 0.0,
        p50_ms: None,
        p99_ms: None,
        errors: 0,
        timeouts: 0,
    };
    for line in report.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("Requests/sec:") {
            requests_per_sec = Some(value.trim().parse::<f64>().context("bad Requests/sec")?);
        } else if let Some(value) = line.strip_prefix("Non-2xx or 3xx responses:") {
            figures.errors += value.trim().parse::<u64>().context("bad Non-2xx count")?;
        } else if let Some(counts) = line.strip_prefix("Socket errors:") {
            // `connect 0, read 0, write 0, timeout 2`
            for count in counts.split(',') {
                let (kind, n) = count
                    .trim()
                    .split_once(' ')
                    .context("bad socket error count")?;
                let n = n.trim().parse::<u64>().context("bad socket error count")?;
                match kind {
                    "timeout" => figures.timeouts += n,
                    _ => figures.errors += n,
                }
            }
        } else if let Some((percentile, value)) = line.split_once(char::is_whitespace) {
            // Latency Distribution lines: `50%  250.00us`.
            match percentile {
                "50%" => figures.p50_ms = Some(millis(value.trim())?),
                "99%" => figures.p99_ms = Some(millis(value.trim())?),
                _ => {}
            }
        }
    }
    figures.requests_per_sec = requests_per_sec.context("no Requests/sec line")?;
    Ok(figures)
}

/// wrk's durations (`250.00us`, `1.20ms`, `2.00s`, `1.00m`) in milliseconds.
fn millis(value: &str) -> Result<f64> {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("no unit in `{value}`"))?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("bad duration `{value}`"))?;
    let scale = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => bail!("unknown unit in `{value}`"),
    };
    Ok(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
Running 10s test @ http://127.0.0.1:3000/visits/324?startDate=20171014
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us    0.89ms  12.92ms   93.69%
    Req/Sec    56.20k     8.07k   62.00k    86.54%
  Latency Distribution
     50%  250.00us
     75%  491.00us
     90%  700.00us
     99%    1.80s
  22464657 requests in 10.10s, 17.76GB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec: 2224311.91
Transfer/sec:      1.76GB
";

    #[test]
    fn reads_throughput_latency_errors_and_timeouts() {
        assert_eq!(
            parse(REPORT).unwrap(),
            Figures {
                requests_per_sec: 2224311.91,
                p50_ms: Some(0.25),
                p99_ms: Some(1800.0),
                errors: 11,
                timeouts: 4
            }
        );
    }

    #[test]
    fn a_clean_run_has_no_errors() {
        let clean: String = REPORT
            .lines()
            .filter(|l| !l.contains("errors") && !l.contains("Non-2xx"))
            .map(|l| format!("{l}\n"))
            .collect();
        let figures = parse(&clean).unwrap();
        assert_eq!((figures.errors, figures.timeouts), (0, 0));
    }
}
