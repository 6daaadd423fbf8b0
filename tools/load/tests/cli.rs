//! The built binaries, run as a user runs them: bad input, an unreachable
//! host, a server that resets every connection, a run printing the table,
//! and one schedule split across processes that merges to the one-process
//! run. All traffic stays on 127.0.0.1; every child is bounded in time.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stagger::load::hdrhistogram::Histogram;
use stagger::load::hdrhistogram::serialization::Deserializer;
use stagger::load::hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

const LOAD: &str = env!("CARGO_BIN_EXE_stagger-load");
const SERVER: &str = env!("CARGO_BIN_EXE_stagger-load-server");

/// The server, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(SERVER)
            .args(["--exit-after", "60"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("the address line")
            .to_owned();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the tool to its end, at most `limit` long.
fn load(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(LOAD)
        .args(["--quiet"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stagger-load starts");
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("stagger-load {args:?} ran over {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A failure: a non-zero exit, a message, no panic.
fn assert_fails(output: &Output, code: i32, needle: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let quick = Duration::from_secs(20);
    assert_fails(
        &load(&["http://127.0.0.1:1/", "--rate", "0"], quick),
        2,
        "not positive",
    );
    assert_fails(
        &load(&["http://127.0.0.1:1/", "--rate", "NaN"], quick),
        2,
        "not a rate",
    );
    assert_fails(
        &load(&["http://127.0.0.1:1/", "--rate=-5"], quick),
        2,
        "not a rate",
    );
    assert_fails(
        &load(&["http://127.0.0.1:1/", "--stages", "0@10s"], quick),
        2,
        "the rate is 0",
    );
    assert_fails(
        &load(
            &["http://127.0.0.1:1/", "--rate", "10", "--duration", "0s"],
            quick,
        ),
        2,
        "above zero",
    );
    assert_fails(
        &load(
            &[
                "http://127.0.0.1:1/",
                "--rate",
                "10",
                "--segment",
                "2/2",
                "--start",
                "1",
            ],
            quick,
        ),
        2,
        "segment",
    );
    assert_fails(
        &load(
            &["http://127.0.0.1:1/", "--rate", "10", "--segment", "0/2"],
            quick,
        ),
        2,
        "--start",
    );
    assert_fails(&load(&["http://127.0.0.1:1/"], quick), 2, "--rate");
    // A start no clock can hold (it panicked converting it, once).
    let far = [
        "http://127.0.0.1:1/",
        "--rate",
        "10",
        "--start",
        "1e300",
        "--no-check",
    ];
    assert_fails(&load(&far, quick), 2, "too far off");
}

#[test]
fn bad_urls_and_unreachable_hosts_are_one_line_and_exit_1() {
    let quick = Duration::from_secs(20);
    assert_fails(
        &load(&["not a url", "--rate", "10"], quick),
        1,
        "is not a URL",
    );
    assert_fails(&load(&["127.0.0.1:8080/", "--rate", "10"], quick), 1, "");
    assert_fails(
        &load(&["ftp://127.0.0.1/", "--rate", "10"], quick),
        1,
        "only http",
    );
    assert_fails(
        &load(&["https://127.0.0.1/", "--rate", "10"], quick),
        1,
        "https is not supported",
    );
    // A port nothing listens on: bound, then freed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let output = load(&[&url, "--rate", "10", "--duration", "1s"], quick);
    assert_fails(&output, 1, "connection refused");
    assert_eq!(
        text(&output.stderr).lines().count(),
        1,
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_server_that_resets_every_connection_is_counted_by_kind() {
    let server = Server::start(&["--reset-connections"]);
    let quick = Duration::from_secs(30);
    let output = load(&[&server.url, "--rate", "10", "--duration", "1s"], quick);
    assert_fails(&output, 1, "cannot load");
    // Past the first check, every request fails and the report counts them.
    let output = load(
        &[
            &server.url,
            "--rate",
            "20",
            "--duration",
            "1s",
            "--no-check",
            "--json",
        ],
        quick,
    );
    assert_fails(&output, 1, "no request got a response");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the JSON report");
    let errors = report["errors"].as_object().expect("errors by kind");
    let failed: u64 = errors.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(failed, 20, "{errors:?}");
    assert_eq!(
        errors.get("connection reset").and_then(|n| n.as_u64()),
        Some(20),
        "{errors:?}"
    );
    assert_eq!(report["responses"], 0);
}

#[test]
fn a_run_prints_the_table_and_writes_its_files() {
    let server = Server::start(&["--hold-ms", "0"]);
    let dir = scratch("run");
    let (svg, log) = (dir.join("latency.svg"), dir.join("latency.hlog"));
    let output = load(
        &[
            &server.url,
            "--rate",
            "200",
            "--duration",
            "1s",
            "--max-in-flight",
            "50",
            "--warm",
            "8",
            "--svg",
            svg.to_str().unwrap(),
            "--hdr-log",
            log.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{}{}",
        stdout,
        text(&output.stderr)
    );
    assert!(
        stdout.contains("200 scheduled, 200 responses (200: 200), 0 errors"),
        "{stdout}"
    );
    for row in ["corrected", "uncorrected", "p50", "p99", "p99.9", "max"] {
        assert!(stdout.contains(row), "{row} not in {stdout}");
    }
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(picture.matches("<polyline").count(), 2);
    let (corrected, uncorrected) = read_log(&log);
    assert_eq!(corrected.len(), 200);
    assert_eq!(uncorrected.len(), 200);
    assert!(corrected.value_at_quantile(0.5) >= uncorrected.value_at_quantile(0.5));

    let output = load(
        &[
            &server.url,
            "--rate",
            "100",
            "--duration",
            "500ms",
            "--json",
            "--http2",
        ],
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the JSON report");
    assert_eq!(report["responses"], 50);
    assert!(report["corrected"]["p99_us"].as_u64().unwrap() > 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The split: two processes given the same start, seed and rate, each its
/// segment, send exactly the arrivals one process sends, and their merged
/// histograms agree with its percentiles within noise.
#[test]
fn two_processes_merge_to_the_one_process_run() {
    let server = Server::start(&["--hold-ms", "0"]);
    let dir = scratch("split");
    let common = [
        "--rate",
        "400",
        "--duration",
        "2s",
        "--poisson",
        "--seed",
        "7",
    ];
    let limit = Duration::from_secs(40);
    let start = || {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        format!("{:.3}", now + 1.5)
    };

    let one_arrivals = dir.join("one.arrivals");
    let one_log = dir.join("one.hlog");
    let at = start();
    let mut args = vec![
        server.url.as_str(),
        "--start",
        &at,
        "--arrivals",
        one_arrivals.to_str().unwrap(),
    ];
    args.extend(["--hdr-log", one_log.to_str().unwrap()]);
    args.extend(common);
    let output = load(&args, limit);
    assert!(output.status.success(), "{}", text(&output.stderr));

    let at = start();
    let paths: Vec<(PathBuf, PathBuf)> = (0..2)
        .map(|i| {
            (
                dir.join(format!("{i}.arrivals")),
                dir.join(format!("{i}.hlog")),
            )
        })
        .collect();
    let children: Vec<_> = paths
        .iter()
        .enumerate()
        .map(|(i, (arrivals, log))| {
            let segment = format!("{i}/2");
            let server = server.url.clone();
            let at = at.clone();
            let (arrivals, log) = (arrivals.clone(), log.clone());
            std::thread::spawn(move || {
                let mut args = vec![server.as_str(), "--start", &at, "--segment", &segment];
                args.extend([
                    "--arrivals",
                    arrivals.to_str().unwrap(),
                    "--hdr-log",
                    log.to_str().unwrap(),
                ]);
                args.extend(common);
                load(&args, limit)
            })
        })
        .collect();
    for child in children {
        let output = child.join().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    }

    // The arrivals: the union of the segments is the whole schedule,
    // instant for instant.
    let read = |path: &Path| -> Vec<u128> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect()
    };
    let one = read(&one_arrivals);
    let mut merged: Vec<u128> = paths.iter().flat_map(|(a, _)| read(a)).collect();
    merged.sort_unstable();
    assert!(one.len() > 600, "{} arrivals", one.len());
    assert_eq!(merged, one);

    // The histograms: the merged counts are the one run's, and so are its
    // percentiles within noise: a loopback server with a 1 ms wait, on a
    // machine that may be busy building (a loaded 2-core machine moved a
    // p90 from 8 ms to 44 ms between two runs), so the bound is wide; the
    // counts above are exact.
    let (one_c, _) = read_log(&one_log);
    let mut merged_c = Histogram::<u64>::new_from(&one_c);
    for (_, log) in &paths {
        merged_c.add(read_log(log).0).unwrap();
    }
    assert_eq!(merged_c.len(), one_c.len());
    for q in [0.5, 0.9] {
        let (a, b) = (
            one_c.value_at_quantile(q) as f64,
            merged_c.value_at_quantile(q) as f64,
        );
        assert!(
            (a - b).abs() <= 100_000.0,
            "p{q}: one process {a} µs, merged {b} µs"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `corrected` and `uncorrected` histograms of a log, its intervals
/// added up.
fn read_log(path: &Path) -> (Histogram<u64>, Histogram<u64>) {
    let bytes = std::fs::read(path).unwrap();
    let mut deserializer = Deserializer::new();
    let mut corrected = Histogram::<u64>::new(3).unwrap();
    let mut uncorrected = Histogram::<u64>::new(3).unwrap();
    let mut intervals = 0;
    for entry in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(interval) = entry.expect("a well-formed log") {
            let decoded = base64_decode(interval.encoded_histogram());
            let h: Histogram<u64> = deserializer.deserialize(&mut decoded.as_slice()).unwrap();
            match interval.tag().map(|t| t.as_str()) {
                Some("corrected") => corrected.add(h).unwrap(),
                Some("uncorrected") => uncorrected.add(h).unwrap(),
                other => panic!("unexpected tag {other:?}"),
            }
            intervals += 1;
        }
    }
    assert!(
        intervals >= 2,
        "{intervals} intervals in {}",
        path.display()
    );
    (corrected, uncorrected)
}

/// Standard base64, as the V2 log encodes histograms.
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stagger-load-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A cap below what the rate needs holds requests back: the report counts
/// them, and their latency counts from the intended instant (corrected
/// above uncorrected by the hold).
#[test]
fn a_cap_holds_requests_back_and_says_so() {
    let server = Server::start(&["--hold-ms", "0", "--wait-ms", "20"]);
    let output = load(
        &[
            &server.url,
            "--rate",
            "100",
            "--duration",
            "1s",
            "--max-in-flight",
            "1",
            "--json",
        ],
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the JSON report");
    assert_eq!(report["responses"], 100);
    // One at a time, 20 ms or more each, one every 10 ms: nearly all wait.
    assert!(report["held"]["count"].as_u64().unwrap() >= 90, "{report}");
    let corrected = report["corrected"]["p50_us"].as_u64().unwrap();
    let uncorrected = report["uncorrected"]["p50_us"].as_u64().unwrap();
    assert!(corrected > uncorrected + 100_000, "{report}");
}

/// A reader that goes away before the report (`stagger-load … | head -1`)
/// is no panic: the run ends as it would have.
#[test]
fn a_closed_stdout_is_no_panic() {
    let server = Server::start(&["--hold-ms", "0"]);
    let mut child = Command::new(LOAD)
        .args([&server.url, "--rate", "20", "--duration", "200ms", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stagger-load starts");
    drop(child.stdout.take()); // the reader is gone before the report
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "stagger-load ran over 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}
