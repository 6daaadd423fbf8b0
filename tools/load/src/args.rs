//! The command line: clap's derive, and the parsers of rates, durations,
//! stages and segments. `--help` is the manual.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use stagger::schedule::{Rate, Segment, Stage};

const AFTER_HELP: &str = "\
Rates: `1000` or `1000/s`, `60000/m`. Durations: `30s`, `500ms`, `2m`, `1h`, or plain seconds.

Stages (--stages): stages separated by commas, run one after the other:
  `R@D`      hold the rate R for the duration D, e.g. `1000/s@60s`
  `R0..R1@D` ramp linearly from R0 to R1 over D, e.g. `100/s..1000/s@30s`
A ramp may start or end at 0 (`0..500@10s`, `500..0@10s`). Arrival k is sent
where the integral of the rate reaches k: exact instants, no steps, no drift.
Example: `--stages 0..1000@30s,1000@60s,1000..0@10s`.

Latency: `corrected` counts from the instant each request was meant to be
sent (open loop, the wrk2 rule: a stall of the client, the cap or the server
shows in every request it delayed); `uncorrected` from the instant it was
sent, what a closed-loop tool reports.

Distributed runs: give every process the same URL, rate or stages, seed and
--start (Unix seconds, e.g. `$(( $(date +%s) + 10 ))`), and each its own
--segment i/n (0 <= i < n). Together they send exactly the one-process
schedule; merge their --hdr-log files with any HdrHistogram tool. In a
Kubernetes Indexed Job, `--segment env` reads i from JOB_COMPLETION_INDEX and
n from STAGGER_SEGMENTS (see stagger::schedule::Segment).

Runtime: tokio (--threads; `--threads 1` costs less CPU a request and keeps
bursts less well). No smol: see BENCHMARKS.md. The progress bar (live rate and p99 every 250 ms)
goes to stderr, hidden with -q or --json.

Exit status: 0 when the run finished and at least one request succeeded, 1
when the target could not be reached or every request failed, 2 for bad
arguments.";

/// An open-loop HTTP load generator on stagger: requests at a fixed rate or
/// in stages, latency corrected for coordinated omission beside the
/// uncorrected, HdrHistogram logs, runs split across processes.
#[derive(Parser, Debug)]
#[command(name = "stagger-load", version, after_help = AFTER_HELP)]
pub struct Args {
    /// The URL to request (http:// only).
    pub url: String,

    /// Requests per second, held for --duration.
    #[arg(long, value_parser = parse_rate, conflicts_with = "stages", required_unless_present = "stages")]
    pub rate: Option<Rate>,

    /// Rates that change over time (see below), instead of --rate.
    #[arg(long, value_parser = parse_stages)]
    pub stages: Option<Stages>,

    /// How long to send requests with --rate.
    #[arg(long, value_parser = parse_duration, default_value = "10s", conflicts_with = "stages")]
    pub duration: Duration,

    /// Poisson arrivals (drawn from --seed) instead of evenly spaced ones.
    #[arg(long)]
    pub poisson: bool,

    /// The seed of the Poisson arrivals.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// At most this many requests in flight; a request held back counts its
    /// latency from when it was meant to start.
    #[arg(long)]
    pub max_in_flight: Option<NonZeroUsize>,

    /// The HTTP method.
    #[arg(short = 'm', long, default_value = "GET", value_parser = parse_method)]
    pub method: hyper::Method,

    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_parser = parse_header)]
    pub headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,

    /// The request body.
    #[arg(short = 'd', long)]
    pub body: Option<String>,

    /// HTTP/2 (prior knowledge, cleartext) instead of HTTP/1.1 keep-alive.
    #[arg(long)]
    pub http2: bool,

    /// Open this many HTTP/1 connections before the run, idle in the pool,
    /// so that a burst (a stall's end) does not wait for new ones; more are
    /// opened whenever none is idle.
    #[arg(long, value_name = "N", default_value_t = 0, conflicts_with = "http2")]
    pub warm: usize,

    /// A request not answered within this long counts as a timeout error.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,

    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Write the corrected and uncorrected histograms to FILE as an
    /// HdrHistogram interval log (V2 compressed histograms tagged
    /// `corrected` and `uncorrected`, microseconds, an interval every 250 ms),
    /// which HdrHistogram's tools read and merge.
    #[arg(long, value_name = "FILE")]
    pub hdr_log: Option<PathBuf>,

    /// Write the latency percentile distribution to FILE as an SVG picture.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,

    /// Write each request's intended send instant to FILE, in nanoseconds
    /// from the start, one a line, in schedule order.
    #[arg(long, value_name = "FILE")]
    pub arrivals: Option<PathBuf>,

    /// Send only segment i of n of the schedule (`i/n`, 0 <= i < n), or
    /// `env`: i from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), n from
    /// STAGGER_SEGMENTS. Needs --start.
    #[arg(long, value_parser = parse_segment, requires = "start")]
    pub segment: Option<Segment>,

    /// Start at this wall-clock instant (Unix seconds, fractions allowed).
    #[arg(long, value_parser = parse_start)]
    pub start: Option<SystemTime>,

    /// Skip the first request, sent before the run and not counted, that
    /// checks the URL answers: with it, an unreachable target is one line of
    /// error; without, a report of errors by kind.
    #[arg(long)]
    pub no_check: bool,

    /// Tokio worker threads (1: tokio's current-thread runtime, everything
    /// on the main thread; default: one a CPU).
    #[arg(long)]
    pub threads: Option<NonZeroUsize>,

    /// No progress bar.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// The stages of `--stages`, in order (a newtype: clap reads a bare `Vec`
/// as a repeated argument).
#[derive(Debug, Clone, PartialEq)]
pub struct Stages(pub Vec<Stage>);

/// `1000`, `1000/s`, `60000/m`: a rate per second, any non-negative finite
/// number (zero is checked by the caller where it is not allowed).
fn per_sec(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("/s") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("/m") {
        (n, 1.0 / 60.0)
    } else if let Some(n) = s.strip_suffix("/h") {
        (n, 1.0 / 3600.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a rate (like `1000` or `1000/s`)"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!(
            "`{s}` is not a rate: it must be finite and not negative"
        ));
    }
    Ok(value * scale)
}

pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let value = per_sec(s)?;
    Rate::per_sec(value).map_err(|e| e.to_string())
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (like `30s` or `500ms`)"))?;
    let d = stagger::try_from_secs_f64(value * scale).map_err(|e| format!("`{s}`: {e}"))?;
    if d.is_zero() {
        return Err(format!("`{s}`: a duration must be above zero"));
    }
    Ok(d)
}

pub fn parse_stages(s: &str) -> Result<Stages, String> {
    let mut stages = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (rates, over) = part.split_once('@').ok_or_else(|| {
            format!("stage `{part}`: expected `RATE@DURATION` or `FROM..TO@DURATION`")
        })?;
        let over = parse_duration(over).map_err(|e| format!("stage `{part}`: {e}"))?;
        let (from, to) = match rates.split_once("..") {
            Some((from, to)) => (per_sec(from)?, per_sec(to)?),
            None => {
                let r = per_sec(rates)?;
                (r, r)
            }
        };
        if from == 0.0 && to == 0.0 {
            return Err(format!("stage `{part}`: the rate is 0 throughout"));
        }
        // As --rate: a rate whose period rounds to 0 ns is no rate.
        for rate in [from, to].into_iter().filter(|&r| r > 0.0) {
            Rate::per_sec(rate).map_err(|e| format!("stage `{part}`: {e}"))?;
        }
        stages.push(Stage::ramp(from, to, over).map_err(|e| format!("stage `{part}`: {e}"))?);
    }
    Ok(Stages(stages))
}

pub fn parse_segment(s: &str) -> Result<Segment, String> {
    if s == "env" {
        return Segment::from_env().map_err(|e| format!("--segment env: {e}"));
    }
    s.parse::<Segment>()
        .map_err(|e| format!("`{s}` is not a segment (`i/n` with 0 <= i < n): {e}"))
}

fn parse_start(s: &str) -> Result<SystemTime, String> {
    let bad = || format!("`{s}` is not a Unix time in seconds");
    let t: f64 = s.trim().parse().map_err(|_| bad())?;
    if !t.is_finite() || t < 0.0 {
        return Err(bad());
    }
    stagger::try_from_secs_f64(t)
        .ok()
        .and_then(|since| UNIX_EPOCH.checked_add(since))
        .ok_or_else(|| format!("`{s}`: a Unix time too far off for this system's clock"))
}

fn parse_method(s: &str) -> Result<hyper::Method, String> {
    hyper::Method::from_bytes(s.as_bytes()).map_err(|_| format!("`{s}` is not an HTTP method"))
}

fn parse_header(
    s: &str,
) -> Result<(hyper::header::HeaderName, hyper::header::HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("header `{s}`: expected `Name: value`"))?;
    let name = hyper::header::HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("header `{s}`: `{}` is not a header name", name.trim()))?;
    let value = hyper::header::HeaderValue::from_str(value.trim())
        .map_err(|_| format!("header `{s}`: the value is not valid in a header"))?;
    Ok((name, value))
}

impl Args {
    /// Parses the arguments and checks what clap cannot.
    pub fn parse_checked() -> Args {
        Args::parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn rates_and_durations() {
        assert_eq!(per_sec("1000/s"), Ok(1000.0));
        assert_eq!(per_sec("600/m"), Ok(10.0));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("NaN").is_err());
        assert!(parse_rate("-3").is_err());
        assert!(parse_rate("inf").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn stages() {
        let stages = parse_stages("0..1000/s@30s, 1000@1m,1000..0@10s").unwrap();
        assert_eq!(
            stages.0,
            vec![
                Stage::ramp(0.0, 1000.0, Duration::from_secs(30)).unwrap(),
                Stage::hold(1000.0, Duration::from_secs(60)).unwrap(),
                Stage::ramp(1000.0, 0.0, Duration::from_secs(10)).unwrap(),
            ]
        );
        assert!(parse_stages("0@10s").is_err());
        assert!(parse_stages("100").is_err());
        assert!(parse_stages("100@").is_err());
        assert!(parse_stages("NaN@1s").is_err());
        assert!(parse_stages("1e300@1s").is_err());
        assert!(parse_stages("0..1e300@1s").is_err());
    }

    #[test]
    fn starts() {
        assert_eq!(
            parse_start("1.5"),
            Ok(UNIX_EPOCH + Duration::from_millis(1500))
        );
        assert!(parse_start("-1").is_err());
        assert!(parse_start("NaN").is_err());
        assert!(parse_start("1e300").is_err());
        assert!(parse_start("tomorrow").is_err());
    }

    #[test]
    fn segments() {
        assert_eq!(parse_segment("1/4"), Ok(Segment::new(1, 4).unwrap()));
        assert!(parse_segment("4/4").is_err());
        assert!(parse_segment("0/0").is_err());
        assert!(parse_segment("a/b").is_err());
        // No index in this environment: the variable is named.
        if std::env::var_os("JOB_COMPLETION_INDEX").is_none() {
            let e = parse_segment("env").unwrap_err();
            assert!(e.contains("JOB_COMPLETION_INDEX"), "{e}");
        }
    }

    #[test]
    fn segment_needs_start_and_rate_conflicts_with_stages() {
        let parse = |args: &[&str]| {
            Args::try_parse_from(std::iter::once("stagger-load").chain(args.iter().copied()))
        };
        assert!(parse(&["http://127.0.0.1:1/", "--rate", "10"]).is_ok());
        assert!(parse(&["http://127.0.0.1:1/"]).is_err());
        assert!(parse(&["http://127.0.0.1:1/", "--rate", "10", "--segment", "0/2"]).is_err());
        assert!(
            parse(&[
                "http://127.0.0.1:1/",
                "--rate",
                "10",
                "--segment",
                "0/2",
                "--start",
                "1"
            ])
            .is_ok()
        );
        assert!(parse(&["http://127.0.0.1:1/", "--rate", "10", "--stages", "10@1s"]).is_err());
        assert!(parse(&["http://127.0.0.1:1/", "--stages", "10@1s"]).is_ok());
        assert!(parse(&["http://127.0.0.1:1/", "--rate", "10", "-H", "no colon"]).is_err());
    }
}
