#!/usr/bin/env python3
"""Plot and tabulate the wait_n bench against the hand-written baselines.

Reads the criterion results of the ``wait_n`` bench (the median point
estimate of every ``<criterion>/**/new/estimates.json`` whose sibling
``benchmark.json`` names a group ``wait_n/<backend>/<max_delay>``) and,
optionally, the JSON lines ``benches/python/bench.py`` prints. Then

- writes an SVG plot (default ``benches/overhead.svg``): the time per waiter
  against n, both on log scales, at max_delay = 10 ms (``--plot-max-ms``), one line per backend and
  contender: stagger wait_n, stagger task_wait_n, the best hand-written
  baseline of each backend, and Python asyncio's wait_n / task_wait_n;
- prints a Markdown table to stdout: every cell (backend, max_delay, n) with
  both stagger medians, the best hand-written median and its name, and the
  ratios stagger / best hand-written.

Standard library only.

    cargo bench --all-features --bench wait_n
    python3 benches/python/bench.py > target/python-bench.jsonl
    python3 benches/plot.py target/python-bench.jsonl > target/wait_n.md
"""
import argparse
import html
import json
import math
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STAGGER = ('stagger_wait_n', 'stagger_task_wait_n')
# Hand-written baselines that spawn one task per waiter, like task_wait_n.
SPAWNED_HANDS = ('hand_join_set', 'hand_spawned')
# Table and legend order; backends not listed here follow alphabetically.
BACKENDS = ('tokio-ct', 'tokio-mt2', 'async-std', 'smol', 'sim')
PYTHON = 'python-asyncio'
COLORS = {
    'tokio-ct': '#1f77b4', 'tokio-mt2': '#17becf', 'async-std': '#2ca02c',
    'smol': '#ff7f0e', 'sim': '#9467bd', PYTHON: '#d62728',
}
SPARE_COLORS = ('#8c564b', '#e377c2', '#7f7f7f', '#bcbd22')
DASHES = {'wait_n': None, 'task_wait_n': '7 4', 'hand': '2 3'}
MARKERS = {'wait_n': 'circle', 'task_wait_n': 'square', 'hand': 'diamond'}


def default_criterion_dir() -> str:
    """Where criterion writes: $CRITERION_HOME, else the target dir's."""
    if os.environ.get('CRITERION_HOME'):
        return os.environ['CRITERION_HOME']
    target = os.environ.get('CARGO_TARGET_DIR') or os.path.join(REPO, 'target')
    return os.path.join(target, 'criterion')


def delay_ms(label: str) -> float:
    """'10ms' -> 10.0; the group's max_delay label."""
    if not label.endswith('ms'):
        raise ValueError(label)
    return float(label[:-2])


def ms_label(ms: float) -> str:
    return f'{ms:g}ms'


def read_criterion(root: str) -> dict:
    """{(backend, max_delay_ms, n): {function_id: median_ns}}."""
    cells: dict = {}
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != 'new':
            continue
        if 'benchmark.json' not in files or 'estimates.json' not in files:
            continue
        with open(os.path.join(dirpath, 'benchmark.json')) as f:
            bench = json.load(f)
        parts = (bench.get('group_id') or '').split('/')
        if len(parts) != 3 or parts[0] != 'wait_n':
            continue  # another bench, or an older layout of this one
        try:
            max_ms = delay_ms(parts[2])
            n = int(bench['value_str'])
        except (KeyError, TypeError, ValueError):
            continue
        with open(os.path.join(dirpath, 'estimates.json')) as f:
            median = json.load(f)['median']['point_estimate']
        cells.setdefault((parts[1], max_ms, n), {})[bench['function_id']] = median
    return cells


def read_python(path: str) -> dict:
    """{(max_delay_ms, n): {function: median_ns}} from bench.py's lines."""
    cells: dict = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith('{'):
                continue
            row = json.loads(line)
            if 'function' not in row or 'median_s' not in row:
                continue
            key = (row.get('max_delay_s', 0.0) * 1e3, int(row['n']))
            cells.setdefault(key, {})[row['function']] = row['median_s'] * 1e9
    return cells


def best_hand(funcs: dict, only=None, work=False):
    """(name, median_ns) of the fastest hand-written baseline, or None:
    among the wait_n baselines, or with ``work`` the staggered-work ones
    (``hand_*_work``)."""
    hands = [(t, name) for name, t in funcs.items()
             if name.startswith('hand_') and name.endswith('_work') == work
             and (only is None or name in only)]
    if not hands:
        return None
    t, name = min(hands)
    return name, t


def backend_order(backend: str):
    if backend in BACKENDS:
        return (0, BACKENDS.index(backend), '')
    return (1, 0, backend)


def fmt_time(ns) -> str:
    if ns is None:
        return '—'
    for unit, scale in (('s', 1e9), ('ms', 1e6), ('µs', 1e3)):
        if ns >= scale:
            return f'{ns / scale:.3g} {unit}'
    return f'{ns:.3g} ns'


def fmt_ratio(num, den) -> str:
    if num is None or den is None:
        return '—'
    return f'{num / den:.2f}'


def table(cells: dict, python: dict) -> str:
    head = ['backend', 'max_delay', 'n', 'stagger wait_n',
            'stagger task_wait_n', 'best hand-written',
            'wait_n ÷ best', 'task_wait_n ÷ best',
            'task_wait_n ÷ best spawned']
    rows = []
    for (backend, max_ms, n) in sorted(
            cells, key=lambda k: (backend_order(k[0]), k[1], k[2])):
        funcs = cells[(backend, max_ms, n)]
        wait, task = (funcs.get(name) for name in STAGGER)
        best = best_hand(funcs)
        spawned = best_hand(funcs, SPAWNED_HANDS)
        rows.append([
            backend, ms_label(max_ms), f'{n:,}', fmt_time(wait),
            fmt_time(task),
            f'{fmt_time(best[1])} ({best[0]})' if best else '—',
            fmt_ratio(wait, best and best[1]),
            fmt_ratio(task, best and best[1]),
            (f'{fmt_ratio(task, spawned[1])} ({spawned[0]})'
             if spawned and task is not None else '—'),
        ])
    for (max_ms, n) in sorted(python):
        funcs = python[(max_ms, n)]
        rows.append([PYTHON, ms_label(max_ms), f'{n:,}',
                     fmt_time(funcs.get('wait_n')),
                     fmt_time(funcs.get('task_wait_n')),
                     '—', '—', '—', '—'])
    return markdown(head, rows, right={2, 3, 4, 6, 7})


def markdown(head: list, rows: list, right: set) -> str:
    """A Markdown table, columns padded; those in ``right`` right-aligned."""
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]

    def line(cols):
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cols, widths))]
        return '| ' + ' | '.join(cells) + ' |'

    rule = ['-' * (w - 1) + (':' if i in right else '-')
            for i, w in enumerate(widths)]
    out = [line(head), '| ' + ' | '.join(rule) + ' |']
    out += [line(r) for r in rows]
    return '\n'.join(out)


WORK = ('stagger_staggered', 'stagger_task_staggered')
# Hand-written staggered work that spawns a task per item.
SPAWNED_WORK = ('hand_join_set_work', 'hand_spawned_work')


def work_table(cells: dict) -> str:
    """staggered / task_staggered against the hand-written "sleep until
    start + delay, then work", inline (a FuturesUnordered) and spawned."""
    head = ['backend', 'max_delay', 'n', 'stagger staggered', 'hand inline',
            'staggered ÷ hand', 'stagger task_staggered', 'hand spawned',
            'task_staggered ÷ hand']
    rows = []
    for (backend, max_ms, n) in sorted(
            cells, key=lambda k: (backend_order(k[0]), k[1], k[2])):
        funcs = cells[(backend, max_ms, n)]
        inline, spawned = (funcs.get(name) for name in WORK)
        if inline is None and spawned is None:
            continue
        hand = funcs.get('hand_fu_work')
        hand_spawned = best_hand(funcs, SPAWNED_WORK, work=True)
        rows.append([
            backend, ms_label(max_ms), f'{n:,}', fmt_time(inline),
            fmt_time(hand), fmt_ratio(inline, hand), fmt_time(spawned),
            (f'{fmt_time(hand_spawned[1])} ({hand_spawned[0]})'
             if hand_spawned else '—'),
            fmt_ratio(spawned, hand_spawned and hand_spawned[1]),
        ])
    return markdown(head, rows, right={2, 3, 4, 5, 6, 8})


def series(cells: dict, python: dict, max_ms: float):
    """The plot's lines at ``max_ms``: (label, backend, style, points),
    points being (n, ns per waiter, tooltip)."""
    out = []
    backends = sorted({b for (b, m, _) in cells if m == max_ms},
                      key=backend_order)
    for backend in backends:
        ns = sorted(n for (b, m, n) in cells if b == backend and m == max_ms)
        lines = {'wait_n': [], 'task_wait_n': [], 'hand': []}
        for n in ns:
            funcs = cells[(backend, max_ms, n)]
            for style, name in zip(('wait_n', 'task_wait_n'), STAGGER):
                if name in funcs:
                    lines[style].append(
                        (n, funcs[name] / n, f'{backend} {name} n={n}'))
            best = best_hand(funcs)
            if best:
                lines['hand'].append(
                    (n, best[1] / n, f'{backend} {best[0]} n={n}'))
        labels = {'wait_n': 'stagger wait_n', 'task_wait_n':
                  'stagger task_wait_n', 'hand': 'best hand-written'}
        for style, points in lines.items():
            if points:
                out.append((f'{backend}: {labels[style]}', backend, style,
                            points))
    for func in ('wait_n', 'task_wait_n'):
        points = [(n, funcs[func] / n, f'{PYTHON} {func} n={n}')
                  for (m, n), funcs in sorted(python.items())
                  if m == max_ms and func in funcs]
        if points:
            out.append((f'Python asyncio: {func}', PYTHON, func, points))
    return out


def log_ticks(lo: float, hi: float):
    """Decades covering [lo, hi]."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if a == b:
        b += 1
    return a, b


def n_label(exp: int) -> str:
    v = 10 ** exp
    if v >= 1_000_000:
        return f'{v // 1_000_000:,}M'
    if v >= 1_000:
        return f'{v // 1_000:,}k'
    return str(v)


def ns_label(exp: int) -> str:
    v = 10.0 ** exp
    return f'{v:,.0f}' if v >= 1 else f'{v:g}'


def marker(shape: str, x: float, y: float, color: str, tip: str = '') -> str:
    title = f'<title>{html.escape(tip)}</title>' if tip else ''
    if shape == 'square':
        return (f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" '
                f'height="7" fill="{color}">{title}</rect>')
    if shape == 'diamond':
        pts = f'{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} ' \
              f'{x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}'
        return (f'<polygon points="{pts}" fill="white" stroke="{color}" '
                f'stroke-width="1.5">{title}</polygon>')
    return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
            f'{title}</circle>')


def svg(lines, max_ms: float) -> str:
    width, height = 1000, 620
    left, right, top, bottom = 90, 300, 50, 70
    pw, ph = width - left - right, height - top - bottom
    xs = [p[0] for _, _, _, pts in lines for p in pts]
    ys = [p[1] for _, _, _, pts in lines for p in pts]
    x0, x1 = log_ticks(min(xs), max(xs))
    y0, y1 = log_ticks(min(ys), max(ys))

    def px(n):
        return left + (math.log10(n) - x0) / (x1 - x0) * pw

    def py(v):
        return top + ph - (math.log10(v) - y0) / (y1 - y0) * ph

    e = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left + pw / 2}" y="28" text-anchor="middle" '
        f'font-size="16">wait_n: time per waiter at max_delay = {ms_label(max_ms)} '
        '(median time per call ÷ n)</text>',
    ]
    if any(backend.startswith('tokio') for _, backend, _, _ in lines):
        out.append(f'<text x="{left + pw / 2}" y="{top - 8}" '
                   'text-anchor="middle" fill="#555">tokio rounds every '
                   'deadline up to its 1 ms tick: at small n its lines show '
                   'that tick, not overhead</text>')
    # Grid: decades solid, 2..9 faint.
    for exp in range(x0, x1 + 1):
        for k in range(1, 10):
            v = k * 10 ** exp
            if v > 10 ** x1:
                break
            x = px(v)
            shade = '#bbb' if k == 1 else '#eee'
            out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" '
                       f'y2="{top + ph}" stroke="{shade}"/>')
        out.append(f'<text x="{px(10 ** exp):.1f}" y="{top + ph + 18}" '
                   f'text-anchor="middle">{n_label(exp)}</text>')
    for exp in range(y0, y1 + 1):
        for k in range(1, 10):
            v = k * 10.0 ** exp
            if v > 10.0 ** y1:
                break
            y = py(v)
            shade = '#bbb' if k == 1 else '#eee'
            out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" '
                       f'y2="{y:.1f}" stroke="{shade}"/>')
        out.append(f'<text x="{left - 8}" y="{py(10.0 ** exp) + 4:.1f}" '
                   f'text-anchor="end">{e(ns_label(exp))}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" '
               'fill="none" stroke="#333"/>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 25}" '
               'text-anchor="middle" font-size="14">n, waiters per call '
               '(log scale)</text>')
    out.append(f'<text x="22" y="{top + ph / 2}" text-anchor="middle" '
               f'font-size="14" transform="rotate(-90 22 {top + ph / 2})">'
               'per-waiter overhead, ns (log scale)</text>')

    spare = iter(SPARE_COLORS * 10)
    colors = dict(COLORS)
    for label, backend, style, points in lines:
        color = colors.setdefault(backend, next(spare))
        dash = DASHES[style]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ''
        path = ' '.join(f'{px(n):.1f},{py(v):.1f}' for n, v, _ in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                   f'stroke-width="2"{dash_attr}/>')
        for n, v, tip in points:
            out.append(marker(MARKERS[style], px(n), py(v), color,
                              f'{tip}: {fmt_time(v)} per waiter'))

    lx, ly = left + pw + 20, top + 10
    out.append(f'<text x="{lx}" y="{ly}" font-weight="bold">Legend</text>')
    for i, (label, backend, style, _) in enumerate(lines):
        y = ly + 20 + i * 18
        dash = DASHES[style]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ''
        out.append(f'<line x1="{lx}" y1="{y - 4}" x2="{lx + 30}" '
                   f'y2="{y - 4}" stroke="{colors[backend]}" '
                   f'stroke-width="2"{dash_attr}/>')
        out.append(marker(MARKERS[style], lx + 15, y - 4, colors[backend]))
        out.append(f'<text x="{lx + 38}" y="{y}">{e(label)}</text>')
    out.append('</svg>')
    return '\n'.join(out) + '\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('python', nargs='?',
                        help="JSON lines printed by benches/python/bench.py")
    parser.add_argument('--criterion', default=default_criterion_dir(),
                        help='criterion output directory '
                             '[default: %(default)s]')
    parser.add_argument('--svg', default=os.path.join(REPO, 'benches',
                                                      'overhead.svg'),
                        help='where to write the plot [default: %(default)s]')
    parser.add_argument('--plot-max-ms', type=float, default=10.0,
                        help='the max_delay the plot shows (stagger skips '
                             'the timer of a zero delay, so at 0 ms it '
                             'does no timer work) [default: %(default)s]')
    args = parser.parse_args()

    if not os.path.isdir(args.criterion):
        print(f'plot.py: no criterion output at {args.criterion}; run '
              '`cargo bench --all-features --bench wait_n` first',
              file=sys.stderr)
        return 1
    cells = read_criterion(args.criterion)
    python = read_python(args.python) if args.python else {}
    if not cells and not python:
        print(f'plot.py: no wait_n/<backend>/<max_delay> results under '
              f'{args.criterion}', file=sys.stderr)
        return 1

    print(table(cells, python))
    print()
    print(work_table(cells))
    lines = series(cells, python, args.plot_max_ms)
    if lines:
        with open(args.svg, 'w') as f:
            f.write(svg(lines, args.plot_max_ms))
        print(f'plot.py: wrote {args.svg}', file=sys.stderr)
    else:
        print(f'plot.py: no max_delay = {ms_label(args.plot_max_ms)} '
              'results; no plot', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
