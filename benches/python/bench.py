#!/usr/bin/env python3
"""The Python asyncio reference for stagger's benchmarks.

Measures the exercise's own wait_n and task_wait_n (this folder's files) in
the cells the Rust benches measure: per-waiter time at max_delay = 0 for
several n, and the peak memory per waiter. Each cell runs in a fresh child
process so that its peak RSS (ru_maxrss) is its own.

    python3 benches/python/bench.py [--n 100 10000 100000 1000000] [--runs 3]

Prints one JSON object per cell on stdout.
"""
import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def run_cell(func: str, n: int, max_delay: float) -> dict:
    """Run one cell in this process and report time and memory."""
    fn = {
        'wait_n': __import__('1-concurrent_coroutines').wait_n,
        'task_wait_n': __import__('4-tasks').task_wait_n,
    }[func]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    delays = asyncio.run(fn(n, max_delay))
    elapsed = time.perf_counter() - start
    assert len(delays) == n and delays == sorted(delays)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    longest = delays[-1] if delays else 0.0
    return {'elapsed_s': elapsed, 'longest_s': longest,
            'peak_bytes': peak_kib * 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--n', type=int, nargs='+',
                        default=[100, 10_000, 100_000, 1_000_000])
    parser.add_argument('--max-delay', type=float, default=0.0)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--cell', help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.cell:
        print(json.dumps(run_cell(args.cell, args.n[0], args.max_delay)))
        return

    for n in args.n:
        for func in ('wait_n', 'task_wait_n'):
            samples = []
            for _ in range(args.runs):
                out = subprocess.run(
                    [sys.executable, __file__, '--cell', func, '--n', str(n),
                     '--max-delay', str(args.max_delay)],
                    check=True, capture_output=True, text=True).stdout
                samples.append(json.loads(out))
            elapsed = statistics.median(s['elapsed_s'] for s in samples)
            lateness = statistics.median(
                s['elapsed_s'] - s['longest_s'] for s in samples)
            peak = statistics.median(s['peak_bytes'] for s in samples)
            print(json.dumps({
                'backend': 'python-asyncio', 'function': func, 'n': n,
                'max_delay_s': args.max_delay, 'runs': args.runs,
                'median_s': elapsed, 'per_waiter_ns': elapsed / n * 1e9,
                'lateness_s': lateness, 'peak_bytes_per_waiter': peak / n,
                'python': sys.version.split()[0],
            }), flush=True)


if __name__ == '__main__':
    main()
