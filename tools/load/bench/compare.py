#!/usr/bin/env python3
"""stagger-load against oha and wrk, each measured against the server's witness.

    cargo build --release -p stagger-load
    cargo install --locked oha          # optional: skipped when missing
    apt-get install -y wrk              # optional: skipped when missing
    python3 tools/load/bench/compare.py [--rates 1000,5000,20000] [--duration 10]
        [--tools stagger,stagger-warm,oha,oha-c50,wrk] [--rounds 1]

For each rate and tool, a fresh stagger-load-server (127.0.0.1 only, a 1 ms
wait, responses held 200 ms of every 2 s, bounded by --exit-after) serves one
run (stagger-load as it starts, and with --warm as many connections as oha's
-c: 500 up to 5 000/s, 5 000 above; oha with --latency-correction, and at its
default -c 50; wrk closed loop, -t2 -c50); the client runs under /usr/bin/time (user + system CPU, peak RSS); the
server's /stats gives the witness (its own arrival-to-release times). The
table prints the rate kept (responses per second of the run's duration; for
wrk, of its own duration), p99 and p99.9 as each client reports them and
their distance from the witness, client CPU per request and peak memory, and
the load average before each run: the machine may be shared. Every run is
bounded in time; all traffic stays on loopback.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def target_dir():
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(meta.stdout)["target_directory"]


def start_server(bin_dir, limit):
    server = subprocess.Popen(
        [os.path.join(bin_dir, "stagger-load-server"), "--exit-after", str(limit)],
        stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline().strip()
    if not line.startswith("listening on "):
        server.kill()
        sys.exit(f"compare.py: the server said {line!r}")
    return server, line[len("listening on "):]


def stats(url):
    with urllib.request.urlopen(url + "/stats", timeout=10) as response:
        return json.load(response)


# What /usr/bin/time prints on the last line of stderr.
TIME_FORMAT = "TIME %U %S %M"


def timed(command, limit):
    """Runs `command`, at most `limit` seconds; its stdout, and its CPU seconds and peak KiB."""
    done = subprocess.run(["/usr/bin/time", "-f", TIME_FORMAT] + command,
                          capture_output=True, text=True, timeout=limit)
    last = [l for l in done.stderr.splitlines() if l.startswith("TIME ")]
    if done.returncode != 0 or not last:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    _, user, system, rss = last[-1].split()
    return done.stdout, float(user) + float(system), int(rss)


def run_stagger(bin_dir, url, rate, duration, limit, warm):
    out, cpu, rss = timed([os.path.join(bin_dir, "stagger-load"), url + "/", "--rate", str(rate),
                           "--duration", f"{duration}s", "--json", "--quiet", "--warm", str(warm)], limit)
    report = json.loads(out)
    c = report["corrected"]
    n = report["responses"] + sum(report["errors"].values())
    return dict(rate=report["responses"] / duration, n=n, p99=c["p99_us"] / 1e3, p999=c["p99.9_us"] / 1e3,
                errors=sum(report["errors"].values()), cpu=cpu, rss=rss)


def run_oha(url, rate, duration, limit, connections):
    out, cpu, rss = timed(["oha", url + "/", "-z", f"{duration}s", "-q", str(rate), "-c", str(connections),
                           "--latency-correction", "--no-tui", "--output-format", "json"], limit)
    report = json.loads(out)
    pct = report["latencyPercentiles"]
    n = sum(report.get("statusCodeDistribution", {}).values())
    errors = sum(report.get("errorDistribution", {}).values())
    return dict(rate=n / duration, n=n + errors, p99=pct["p99"] * 1e3,
                p999=pct["p99.9"] * 1e3, errors=errors, cpu=cpu, rss=rss)


WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("REQUESTS %d %d\\n", summary.requests, summary.duration))
  io.write(string.format("P99 %d\\nP999 %d\\n", latency:percentile(99), latency:percentile(99.9)))
  local e = summary.errors
  io.write(string.format("ERRORS %d\\n", e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def run_wrk(url, duration, limit, scratch):
    script = os.path.join(scratch, "wrk-report.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    out, cpu, rss = timed(["wrk", "-t2", "-c50", f"-d{duration}s", "-s", script, url + "/"], limit)
    n, micros = map(int, re.search(r"REQUESTS (\d+) (\d+)", out).groups())
    return dict(rate=n / (micros / 1e6), n=n, p99=int(re.search(r"P99 (\d+)", out).group(1)) / 1e3,
                p999=int(re.search(r"P999 (\d+)", out).group(1)) / 1e3,
                errors=int(re.search(r"ERRORS (\d+)", out).group(1)), cpu=cpu, rss=rss)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="1000,5000,20000")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--tools", default="stagger,stagger-warm,oha,oha-c50,wrk")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    bin_dir = os.path.join(target_dir(), "release")
    if not os.path.exists(os.path.join(bin_dir, "stagger-load")):
        sys.exit("compare.py: build first: cargo build --release -p stagger-load")
    tools = args.tools.split(",")
    for tool, exe in [("oha", "oha"), ("oha-c50", "oha"), ("wrk", "wrk")]:
        if tool in tools and shutil.which(exe) is None:
            print(f"compare.py: {exe} not found, skipping {tool}", file=sys.stderr)
            tools.remove(tool)
    limit = args.duration + 60
    scratch = os.path.join(target_dir(), "compare")
    os.makedirs(scratch, exist_ok=True)
    print("| rate | tool | load avg | rate kept | p99 (witness) | p99.9 (witness) | p99 − witness | p99.9 − witness | errors | CPU/request | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for _ in range(args.rounds):
        for rate in [int(r) for r in args.rates.split(",")]:
            for tool in tools:
                load = os.getloadavg()[0]
                server, url = start_server(bin_dir, limit + 30)
                try:
                    # Connections open before the run: as many as oha's -c.
                    connections = 500 if rate <= 5000 else 5000
                    if tool == "stagger":
                        r = run_stagger(bin_dir, url, rate, args.duration, limit, 0)
                    elif tool == "stagger-warm":
                        r = run_stagger(bin_dir, url, rate, args.duration, limit, connections)
                    elif tool == "oha":
                        r = run_oha(url, rate, args.duration, limit, connections)
                    elif tool == "oha-c50":
                        r = run_oha(url, rate, args.duration, limit, 50)
                    else:
                        r = run_wrk(url, args.duration, limit, scratch)
                    w = stats(url)
                except Exception as e:  # one failed run does not stop the table
                    print(f"| {rate} | {tool} | {load:.1f} | failed: {e} |||||||")
                    continue
                finally:
                    server.kill()
                    server.wait()
                wp99, wp999 = w["p99_us"] / 1e3, w["p99_9_us"] / 1e3
                print(f"| {rate} | {tool} | {load:.1f} | {r['rate']:.0f} | {r['p99']:.1f} ms ({wp99:.1f}) "
                      f"| {r['p999']:.1f} ms ({wp999:.1f}) | {r['p99'] - wp99:+.1f} ms | {r['p999'] - wp999:+.1f} ms "
                      f"| {r['errors']} | {r['cpu'] / max(r['n'], 1) * 1e6:.1f} µs | {r['rss'] / 1024:.0f} MB |",
                      flush=True)
                time.sleep(1)


if __name__ == "__main__":
    main()
