#!/usr/bin/python3
"""report.py: the results table, the targets check and the plot, from scatter-bench's JSON.

    report.py --results results.jsonl --meta meta.json --svg plot.svg --readme README.md

Rewrites README.md between `<!-- results:begin -->` and `<!-- results:end -->` and writes the
SVG by hand (standard library only: no plotting package to install).
"""
import argparse
import json
import math
from xml.sax.saxutils import escape

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
# Issue 5's targets.
CPU10_US = 200.0
OVERHEAD_P50_US, OVERHEAD_P99_US = 500.0, 2000.0
FANOUT_RATIO = 1.3
# Issue 4's hedging target: p99 well under the 200 ms straggler, hedges under 5% of legs.
HEDGE_P99_US, HEDGE_PCT = 100000.0, 5.0


def ms(us):
    return "" if us is None else f"{us / 1000:.2f}"


def num(v, fmt="{:.1f}"):
    return "" if v is None else fmt.format(v)


def floors(r):
    """The two floors of a line: {"fanout": (p50, p99, overhead p50, overhead p99) or None,
    "single": the same for the single-shard floor, or None}. Lines from before the fan-out floor
    carried only the single-shard one, under floor_* and overhead_*."""
    def four(prefix, over):
        v = (r.get(f"{prefix}_p50_us"), r.get(f"{prefix}_p99_us"), r.get(f"{over}_p50_us"),
             r.get(f"{over}_p99_us"))
        return None if v[0] is None or v[2] is None else v
    if "floor_single_p50_us" in r:
        return {"fanout": four("floor", "overhead"),
                "single": four("floor_single", "overhead_single")}
    return {"fanout": None, "single": four("floor", "overhead")}


def table(rows):
    head = ("| scenario | load | legs | calls | qps | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms "
            "| errors | partial | agg CPU us/call | us/leg "
            "| floor p50 / p99 ms (fan-out direct) | overhead p50 / p99 ms "
            "| single-shard floor p50 ms | overhead over it p50 ms "
            "| slowest leg p50 ms | beyond slowest leg p50 / p99 ms "
            "| agg RSS KiB/call in flight |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        load = (f"closed C={r['concurrency']}" if r["loop"] == "closed"
                else f"open {r['rate']:.0f}/s")
        fl = floors(r)
        fan, single = fl["fanout"], fl["single"]
        floor = f"{ms(fan[0])} / {ms(fan[1])}" if fan else ""
        over = f"{ms(fan[2])} / {ms(fan[3])}" if fan else ""
        single_floor = ms(single[0]) if single else ""
        single_over = ms(single[2]) if single else ""
        beyond = (f"{ms(r['beyond_slowest_leg_p50_us'])} / {ms(r['beyond_slowest_leg_p99_us'])}"
                  if "beyond_slowest_leg_p50_us" in r else "")
        out.append(
            f"| {r['scenario']} | {load} | {r['legs']} | {r['calls']} | {r['qps']:.0f} "
            f"| {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} "
            f"| {ms(r['p999_us'])} | {ms(r['max_us'])} | {r['errors']} | {r['partial']} "
            f"| {num(r.get('agg_cpu_us_per_call'), '{:.0f}')} "
            f"| {num(r.get('agg_cpu_us_per_leg'))} | {floor} | {over} "
            f"| {single_floor} | {single_over} "
            f"| {ms(r.get('slowest_leg_p50_us'))} | {beyond} "
            f"| {num(r.get('agg_rss_kb_per_call_in_flight'), '{:.0f}')} |")
    return "\n".join(out)


def verdict(ok):
    return "**met**" if ok else "**missed**"


def targets(by):
    out = []
    r = by.get("cpu10")
    if r and r.get("agg_cpu_us_per_call") is not None:
        v = r["agg_cpu_us_per_call"]
        out.append(f"- cpu10: {v:.0f} us of aggregator CPU per aggregate call, target <= "
                   f"{CPU10_US:.0f} us: {verdict(v <= CPU10_US)} "
                   f"({(v - CPU10_US) / CPU10_US * 100:+.0f}%; grpc-go 346 us, C++ 357 us).")
        agg, load = r.get("agg_cpu_cores"), r.get("load_core_busy")
        if agg is not None and load is not None:
            # The core that saturates first is what limits the throughput.
            limit = "the shards and the generator" if load >= agg else "the aggregator"
            out.append(f"- cpu10 throughput {r['qps']:.0f} calls/s: the aggregator used "
                       f"{agg:.2f} of its core, CPU 0 (shards + generator) was {load:.0%} "
                       f"busy: limited by {limit}.")
    for name in ("table-4x100", "table-10x50", "table-mixed"):
        r = by.get(name)
        if not r:
            continue
        fl = floors(r)
        fan, single = fl["fanout"], fl["single"]
        # Judged against the fan-out floor; a line from before it has only the single-shard one.
        judged, what = (fan, "the floor (every shard called directly at once)") if fan else (
            single, "the single-shard floor (no fan-out floor in this line)")
        if not judged:
            continue
        p50, p99 = judged[2], judged[3]
        line = (f"- {name}: overhead over {what} p50 {p50 / 1000:.2f} ms (target <= "
                f"{OVERHEAD_P50_US / 1000:.1f}: {verdict(p50 <= OVERHEAD_P50_US)}), p99 "
                f"{p99 / 1000:.2f} ms (target <= {OVERHEAD_P99_US / 1000:.0f}: "
                f"{verdict(p99 <= OVERHEAD_P99_US)})")
        if fan and single:
            line += (f"; over the slowest shard called alone: p50 {single[2] / 1000:.2f} ms, "
                     f"p99 {single[3] / 1000:.2f} ms")
        out.append(line + ".")
    a, b = by.get("fanout-10"), by.get("fanout-1000")
    if a and b and a.get("agg_cpu_us_per_leg") and b.get("agg_cpu_us_per_leg"):
        ratio = b["agg_cpu_us_per_leg"] / a["agg_cpu_us_per_leg"]
        out.append(f"- fanout-1000 CPU per leg {b['agg_cpu_us_per_leg']:.1f} us vs fanout-10 "
                   f"{a['agg_cpu_us_per_leg']:.1f} us: {ratio:.2f}x, target <= "
                   f"{FANOUT_RATIO}x: {verdict(ratio <= FANOUT_RATIO)}.")
    off, on = by.get("hedge10-off"), by.get("hedge10-on")
    if off and on and on.get("agg_legs"):
        p99, pct = on["p99_us"], 100.0 * on["hedges_sent"] / on["agg_legs"]
        out.append(f"- hedge10 (issue 4): p99 {off['p99_us'] / 1000:.1f} ms without hedging, "
                   f"{p99 / 1000:.1f} ms with (target well under the 200 ms straggler, here <= "
                   f"{HEDGE_P99_US / 1000:.0f}: {verdict(p99 <= HEDGE_P99_US)}); hedges "
                   f"{on['hedges_sent']} = {pct:.2f}% of legs (target < {HEDGE_PCT:.0f}%: "
                   f"{verdict(pct < HEDGE_PCT)}), {on['hedges_won']} won.")
    return "\n".join(out)


def svg(rows, path):
    """Two log-scale panels: latency percentiles per scenario, aggregator CPU per call."""
    W, H, top, left, panel_h, gap = 980, 640, 40, 70, 220, 110
    names = [r["scenario"] for r in rows]
    n = max(len(rows), 1)
    step = (W - left - 30) / n
    pcts = [("p50_us", "p50", "#1b9e77"), ("p90_us", "p90", "#7570b3"),
            ("p99_us", "p99", "#d95f02"), ("p999_us", "p99.9", "#e7298a"),
            ("max_us", "max", "#666666")]
    el = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
          f'font-family="sans-serif" font-size="11">',
          f'<rect width="{W}" height="{H}" fill="white"/>']

    def axis(y0, lo, hi, unit, title):
        """A log axis from lo to hi (powers of ten) over panel_h; returns value -> y."""
        a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        b = max(b, a + 1)

        def y(v):
            v = max(v, 10 ** a)
            return y0 + panel_h - (math.log10(v) - a) / (b - a) * panel_h
        el.append(f'<text x="{left}" y="{y0 - 12}" font-size="13" font-weight="bold">'
                  f'{escape(title)}</text>')
        for e in range(a, b + 1):
            yy = y(10 ** e)
            el.append(f'<line x1="{left}" x2="{W - 30}" y1="{yy:.1f}" y2="{yy:.1f}" '
                      f'stroke="#ddd"/>')
            el.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">'
                      f'{10 ** e:g} {unit}</text>')
        el.append(f'<line x1="{left}" x2="{left}" y1="{y0}" y2="{y0 + panel_h}" '
                  f'stroke="black"/>')
        return y

    def labels(y_base):
        for i, name in enumerate(names):
            x = left + step * (i + 0.5)
            el.append(f'<text x="{x:.1f}" y="{y_base + 14}" text-anchor="middle">'
                      f'{escape(name)}</text>')

    # Panel 1: latency percentiles, ms.
    vals = [r[k] / 1000 for r in rows for k, _, _ in pcts if r.get(k)]
    y0 = top
    y = axis(y0, min(vals or [0.1]), max(vals or [1]), "ms",
             "Latency percentiles per scenario (log scale)")
    for i, r in enumerate(rows):
        for j, (k, _, color) in enumerate(pcts):
            if not r.get(k):
                continue
            x = left + step * i + step * (0.2 + 0.6 * j / (len(pcts) - 1))
            el.append(f'<circle cx="{x:.1f}" cy="{y(r[k] / 1000):.1f}" r="4" '
                      f'fill="{color}"><title>{escape(r["scenario"])} {k}: '
                      f'{r[k] / 1000:.2f} ms</title></circle>')
        fl = floors(r)
        for f, color, dash, what in ((fl["single"], "#999999", "1,2", "single-shard floor"),
                                     (fl["fanout"], "black", "3,2", "floor (fan-out direct)")):
            if not f:
                continue
            x, yy = left + step * i + step * 0.1, y(f[0] / 1000)
            el.append(f'<line x1="{x:.1f}" x2="{x + step * 0.8:.1f}" y1="{yy:.1f}" '
                      f'y2="{yy:.1f}" stroke="{color}" stroke-dasharray="{dash}">'
                      f'<title>{escape(r["scenario"])} {what} p50: {f[0] / 1000:.2f} ms'
                      f'</title></line>')
    labels(y0 + panel_h)
    lx = left
    for _, label, color in pcts:
        el.append(f'<circle cx="{lx + 5}" cy="{y0 + panel_h + 32}" r="4" fill="{color}"/>'
                  f'<text x="{lx + 13}" y="{y0 + panel_h + 36}">{label}</text>')
        lx += 60
    el.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{y0 + panel_h + 32}" '
              f'y2="{y0 + panel_h + 32}" stroke="black" stroke-dasharray="3,2"/>'
              f'<text x="{lx + 30}" y="{y0 + panel_h + 36}">floor p50 (all shards at once, '
              f'direct)</text>')
    lx += 280
    el.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{y0 + panel_h + 32}" '
              f'y2="{y0 + panel_h + 32}" stroke="#999999" stroke-dasharray="1,2"/>'
              f'<text x="{lx + 30}" y="{y0 + panel_h + 36}">single-shard floor p50</text>')

    # Panel 2: aggregator CPU per aggregate call, us, with per-leg cost as a label.
    cpu = [(i, r) for i, r in enumerate(rows) if r.get("agg_cpu_us_per_call")]
    y0 = top + panel_h + gap
    y = axis(y0, min([r["agg_cpu_us_per_call"] for _, r in cpu] or [10]),
             max([r["agg_cpu_us_per_call"] for _, r in cpu] or [100]), "us",
             "Aggregator CPU per aggregate call (log scale; label: per leg)")
    for i, r in cpu:
        x = left + step * i + step * 0.25
        v = r["agg_cpu_us_per_call"]
        el.append(f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{step * 0.5:.1f}" '
                  f'height="{y0 + panel_h - y(v):.1f}" fill="#4e79a7"><title>'
                  f'{escape(r["scenario"])}: {v:.0f} us per call</title></rect>')
        el.append(f'<text x="{x + step * 0.25:.1f}" y="{y(v) - 4:.1f}" '
                  f'text-anchor="middle">{v:.0f} ({r.get("agg_cpu_us_per_leg") or 0:.1f}/leg)'
                  f'</text>')
    ty = y(CPU10_US)
    el.append(f'<line x1="{left}" x2="{W - 30}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#c00" '
              f'stroke-dasharray="5,3"/><text x="{W - 32}" y="{ty - 4:.1f}" '
              f'text-anchor="end" fill="#c00">cpu10 target 200 us</text>')
    labels(y0 + panel_h)
    el.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(el) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--svg", required=True)
    ap.add_argument("--readme", required=True)
    a = ap.parse_args()
    with open(a.results) as f:
        rows = [json.loads(l) for l in f if l.strip()]
    with open(a.meta) as f:
        meta = json.load(f)
    by = {r["scenario"]: r for r in rows}
    svg(rows, a.svg)
    body = "\n".join([
        BEGIN,
        f"Measured {meta['date']} on {meta['nproc']} cores ({meta['cpu']}), Linux "
        f"{meta['kernel']}, gRPC core {meta['grpc_core']}, commit {meta['commit']}; machine "
        f"{meta.get('busy_before_pct', '?')}% busy in the 2 s before the run (load average "
        f"before {meta['load_before']}, after {meta['load_after']}: the after figure counts the "
        f"benchmark's own processes). Command: "
        f"`{meta['command']}`.",
        "",
        table(rows),
        "",
        "Targets (issue 5):",
        "",
        targets(by),
        "",
        "![latency percentiles and aggregator CPU per call](results/plot.svg)",
        END,
    ])
    with open(a.readme) as f:
        text = f.read()
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + body + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    with open(a.readme, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
