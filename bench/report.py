#!/usr/bin/env python3
"""Turns the JSON lines of bench/run.sh into the table (stdout), bench/results/<date>.md
and bench/results/<date>.png (the ratios against their ceilings, with the targets).

    report.py RESULTS.jsonl [--dry-run] [--out DIR]
"""

import argparse
import datetime
import json
import os
import sys

SPIN_REFERENCE_S0 = 7500  # static component on Spin 4.0.2, same kind of 2-core machine (issue)

ap = argparse.ArgumentParser()
ap.add_argument("results")
ap.add_argument("--dry-run", action="store_true", help="print only; write nothing")
ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
args = ap.parse_args()


def sql_statements(name):
    """Statements in bench/sql/<name>.sql: lines that are neither comments nor pgbench
    meta-commands (each statement there is on one line)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", f"{name}.sql")
    try:
        with open(path) as f:
            return sum(1 for line in f if line.strip() and not line.lstrip().startswith(("--", "\\")))
    except OSError:
        return "?"

rows = [json.loads(line) for line in open(args.results) if line.strip()]
env = next((r for r in rows if r["kind"] == "env"), {})
env_end = next((r for r in rows if r["kind"] == "env_end"), {})
http = {(r["host"], r["scenario"]): r for r in rows if r["kind"] == "http"}
db = {r["scenario"]: r for r in rows if r["kind"] == "db"}
per_request = {(r["host"], r["scenario"]): r for r in rows if r["kind"] == "per_request"}
wasm = {r["component"]: r["bytes"] for r in rows if r["kind"] == "wasm"}
native = next((r for r in rows if r["kind"] == "argon2_native"), None)
logs = {r["host"]: r for r in rows if r["kind"] == "log"}
hosts = [h for h in ("devhost", "spin") if (h, "S0") in http]

nginx = http.get(("nginx", "HTTP"))
lines = []
out = lines.append


def rps(host, name):
    r = http.get((host, name))
    return r["rps"] if r else None


def pct(a, b):
    return 100.0 * a / b if a is not None and b else None


def fmt_pct(v):
    return "–" if v is None else f"{v:.1f} %"


def non2xx(r):
    return r["non2xx"] + r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]


checks = []  # (label, value %, target %, host) for the table of targets and the chart


def check(label, value, target, host=""):
    checks.append((label, value, target, host))


out(f"# make bench — {env.get('date', '?')}")
out("")
out(f"Commit `{env.get('commit', '?')}`, {env.get('cpus', '?')} CPUs, load average "
    f"{env.get('load_before', '?')} before / {env_end.get('load_after', '?')} after (1, 5, 15 min); "
    f"wrk {env.get('connections', 32)} connections (S4: 4), {env.get('warmup_s', '?')} s warm-up + "
    f"{env.get('duration_s', '?')} s each; key-value store: {env.get('kv', '?')}; database: {env.get('db', 'postgres')}; "
    f"{env.get('wrk', 'wrk')}, nginx {env.get('nginx', '?')}, PostgreSQL {env.get('postgres', '?')}. "
    f"Hosts: {', '.join(hosts) or 'none (dry run)'}"
    + ("" if "spin" in hosts else " (spin is not installed here)") + ".")
if env.get("note"):
    out("")
    out(f"Note: {env['note']}")
out("")
out("## Throughput and latency")
out("")
out("| host | scenario | req/s | p50 ms | p99 ms | non-2xx | % of S0 | % of HTTP ceiling | DB ceiling (pgbench tx/s) | % of DB ceiling |")
out("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
if nginx:
    out(f"| nginx | HTTP ceiling: static 200 | {nginx['rps']:,.0f} | {nginx['p50_ms']:.2f} | {nginx['p99_ms']:.2f} | "
        f"{non2xx(nginx)} | | 100 % | | |")
scenario_names = {
    "S0": "S0 host ceiling: static component",
    "S1": "S1 GET /health_check",
    "S2": "S2 GET /api/v1/cars/{id}",
    "S3": "S3 GET /api/v1/cars/?limit=20&fuel_type=flex",
    "S4": "S4 POST /api/v1/auth/token (4 conn.)",
    "S5": "S5 POST /api/v1/cars/",
}
for host in hosts:
    s0 = rps(host, "S0")
    for name in ("S0", "S1", "S2", "S3", "S4", "S5"):
        r = http.get((host, name))
        if not r:
            continue
        d = db.get(name)
        of_s0 = pct(r["rps"], s0) if name != "S0" else None
        of_db = pct(r["rps"], d["tps"]) if d else None
        out(f"| {host} | {scenario_names[name]} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{non2xx(r)} | {fmt_pct(of_s0) if of_s0 is not None else ''} | "
            f"{fmt_pct(pct(r['rps'], nginx['rps'])) if nginx else ''} | "
            f"{format(d['tps'], ',.0f') if d else ''} | {fmt_pct(of_db) if of_db is not None else ''} |")

    if nginx:
        check("S0 / HTTP ceiling", pct(s0, nginx["rps"]), 10, host)
    check("S1 / S0", pct(rps(host, "S1"), s0), 90, host)
    for name in ("S2", "S3"):
        check(f"{name} / S0", pct(rps(host, name), s0), 40, host)
        if name in db:
            check(f"{name} / DB ceiling", pct(rps(host, name), db[name]["tps"]), 15, host)
    check("S5 / S0", pct(rps(host, "S5"), s0), 30, host)

# Argon2: one verification natively vs inside the component (S4 at one connection,
# minus the pipeline cost seen by S1 at one connection).
argon = {}
if native:
    for host in hosts:
        s4 = http.get((host, "S4 c=1"))
        s1 = http.get((host, "S1 c=1"))
        if s4 and s1:
            component = s4["p50_ms"] - s1["p50_ms"]
            argon[host] = (component, s4["p50_ms"])
            check("Argon2: native / component", pct(native["verify_ms"], component), 100 / 3, host)

out("")
if db:
    out(f"DB ceilings: pgbench, {env.get('connections', 32)} clients, `-M prepared`, each transaction the statements one request of "
        "the scenario runs (`bench/sql/`), on the seeded data.")
    out("")
    out("| scenario | statements | pgbench tx/s | avg latency ms | failed |")
    out("|---|---:|---:|---:|---:|")
    for name, d in sorted(db.items()):
        out(f"| {name} | {sql_statements(name)} | {d['tps']:,.0f} | {d['latency_ms']:.2f} | {d['failed']} |")

out("")
out("## Targets")
out("")
out("| host | ratio | measured | target | |")
out("|---|---|---:|---:|---|")
for label, value, target, host in checks:
    ok = value is not None and value >= target
    out(f"| {host} | {label} | {fmt_pct(value)} | ≥ {target:.0f} % | {'met' if ok else '**missed**'} |")
for host in hosts:
    bad = sum(non2xx(r) for (h, _), r in http.items() if h == host)
    out(f"| {host} | non-2xx and socket errors, all scenarios | {bad} | 0 | {'met' if bad == 0 else '**missed**'} |")
if "devhost" in hosts:
    s0 = rps("devhost", "S0")
    if "spin" in hosts:
        spin = rps("spin", "S0")
        out(f"| devhost | S0 devhost / S0 spin (same run) | {fmt_pct(pct(s0, spin))} | ≥ 100 % | "
            f"{'met' if s0 >= spin else '**missed**'} |")
    else:
        out(f"| devhost | S0 devhost / Spin 4.0.2 reference {SPIN_REFERENCE_S0:,} req/s (not measured here) | "
            f"{fmt_pct(pct(s0, SPIN_REFERENCE_S0))} | ≥ 100 % | {'met' if s0 >= SPIN_REFERENCE_S0 else '**missed**'} |")

if "spin" in hosts:
    # The targets of real Spin, the host users run: ratios to Spin's own S0 in this run,
    # S2's absolute rate and tail, and how far devhost's figures stray from Spin's.
    out("")
    out("## Targets on real Spin")
    out("")
    out("| target | measured | |")
    out("|---|---:|---|")
    s0 = rps("spin", "S0")

    def verdict(ok):
        return "met" if ok else "**missed**"

    s1_share, s2_share = pct(rps("spin", "S1"), s0), pct(rps("spin", "S2"), s0)
    s2 = http.get(("spin", "S2"))
    if s1_share is not None:
        out(f"| S1 ≥ 60 % of Spin's S0 | {fmt_pct(s1_share)} | {verdict(s1_share >= 60)} |")
    if s2_share is not None:
        out(f"| S2 ≥ 25 % of Spin's S0 | {fmt_pct(s2_share)} | {verdict(s2_share >= 25)} |")
    if s2:
        out(f"| S2 ≥ 2,000 req/s | {s2['rps']:,.0f} | {verdict(s2['rps'] >= 2000)} |")
        out(f"| S2 p99 < 50 ms | {s2['p99_ms']:.1f} ms | {verdict(s2['p99_ms'] < 50)} |")
    if "devhost" in hosts:
        for name in ("S1", "S2"):
            d, s = rps("devhost", name), rps("spin", name)
            if d and s:
                out(f"| devhost within 2x of Spin on {name} | {d / s:.1f}x | {verdict(0.5 <= d / s <= 2)} |")

if native or argon:
    out("")
    out("## Argon2id (m = 19 MiB, t = 2, p = 1)")
    out("")
    if native:
        out(f"Native (`bench/argon2-native`, the app's `identity` crate, release): hash "
            f"{native['hash_ms']:.1f} ms, verify {native['verify_ms']:.1f} ms (median of {native['runs']}).")
    for host, (component, s4p50) in argon.items():
        out(f"In the component on {host}: login p50 at 1 connection {s4p50:.1f} ms − health p50 "
            f"{http[(host, 'S1 c=1')]['p50_ms']:.2f} ms ≈ {component:.1f} ms per verification "
            f"= {component / native['verify_ms']:.2f}x native.")

probes = [(h, n) for (h, n) in http if n.startswith("probe")]
if probes:
    out("")
    out("## Price of single host calls (probe paths of bench/static-component)")
    out("")
    out("Machine time per request at saturation is 1 / throughput; a call's price is the difference "
        "against S0, divided by the calls per request.")
    out("")
    out("| host | probe | req/s | p50 ms | µs of machine time per call |")
    out("|---|---|---:|---:|---:|")
    for host in hosts:
        s0 = rps(host, "S0")
        def extra(name, n, base=None):
            r = rps(host, name)
            b = base if base is not None else s0
            return (1e6 / r - 1e6 / b) / n if r and b else None
        for name, n, base, what in (
            ("probe vars n=10", 10, None, "variable read"),
            ("probe kv n=4", 4, None, "key-value increment"),
            ("probe pg n=1", 1, None, "PostgreSQL open (pool) + 1 query"),
            ("probe pg n=3", 2, rps(host, "probe pg n=1"), "each further query"),
        ):
            r = http.get((host, name))
            if r:
                e = extra(name, n, base)
                out(f"| {host} | {name} ({what}) | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
                    f"{'–' if e is None else f'{e:,.0f}'} |")

if per_request:
    out("")
    out("## Per request, from the app's own /metrics")
    out("")
    out("| host | scenario | requests | database statements | statements per request |")
    out("|---|---|---:|---:|---:|")
    for (host, name), r in sorted(per_request.items()):
        per = r["queries"] / r["requests"] if r["requests"] else 0
        out(f"| {host} | {name} | {r['requests']:,} | {r['queries']:,} | {per:.2f} |")
if wasm:
    out("")
    out("Wasm sizes (profile `wasm`): " + ", ".join(f"{k} {v / 1024:,.0f} KiB" for k, v in sorted(wasm.items())) + ".")
for host, r in logs.items():
    total = sum(p["requests"] for (h, _), p in per_request.items() if h == host)
    if total:
        out(f"Request log on {host}: {r['app_log_lines']:,} lines, {r['app_log_bytes'] / 1e6:,.1f} MB "
            f"(≈ {r['app_log_bytes'] / max(r['app_log_lines'], 1):.0f} bytes per line).")

text = "\n".join(lines) + "\n"
print(text)
if args.dry_run:
    sys.exit(0)

os.makedirs(args.out, exist_ok=True)
day = (env.get("date") or datetime.datetime.utcnow().isoformat())[:10]
md_path = os.path.join(args.out, f"{day}.md")
png_path = os.path.join(args.out, f"{day}.png")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

chart = [(f"{label}" + (f"  [{host}]" if len(hosts) > 1 else ""), value, target)
         for label, value, target, host in checks if value is not None]
fig, ax = plt.subplots(figsize=(10, 0.55 * len(chart) + 1.8), dpi=120)
y = list(range(len(chart)))[::-1]
for yi, (label, value, target) in zip(y, chart):
    colour = "#2e8b57" if value >= target else "#c0392b"
    ax.barh(yi, value, color=colour, height=0.6)
    ax.plot([target, target], [yi - 0.38, yi + 0.38], color="black", linewidth=2)
    ax.text(value + 1, yi, f"{value:.1f} %", va="center", fontsize=9)
ax.set_yticks(y)
ax.set_yticklabels([c[0] for c in chart])
ax.set_xlim(0, max(110, max(c[1] for c in chart) + 15) if chart else 110)
ax.set_xlabel("% of the ceiling (black tick = target; green = met, red = missed)")
ax.set_title(f"Car API on {', '.join(hosts)} — scenario / ceiling, {day} (load {env.get('load_before', '?')})",
             fontsize=10)
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()
fig.savefig(png_path)
with open(md_path, "w") as f:
    f.write(text)
    f.write(f"\n![ratios]({os.path.basename(png_path)})\n")
print(f"wrote {md_path} and {png_path}")
