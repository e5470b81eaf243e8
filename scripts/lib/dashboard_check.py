#!/usr/bin/env python3
"""Checks the Grafana dashboard: JSON shape, unique panel ids, queries only on
known metrics, and every PromQL query parsed by `promtool check rules` (the
queries are written, with Grafana's variables substituted, into a throwaway
rules file). Usage: dashboard_check.py DASHBOARD.json"""
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

KNOWN_METRICS = {
    # the app's /metrics (API.md)
    "http_requests_total", "http_request_duration_seconds_bucket",
    "http_request_duration_seconds_sum", "http_request_duration_seconds_count",
    "database_queries_total",
    # kube-state-metrics and cAdvisor
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_spec_min_replicas",
    "kube_pod_container_resource_limits", "container_memory_working_set_bytes",
}
PROMQL_WORDS = {"sum", "rate", "by", "without", "histogram_quantile", "max", "min", "avg",
                "count", "le", "irate", "increase", "on", "ignoring", "and", "or", "unless",
                "label_values", "abs", "clamp_min", "topk", "bottomk"}


def main() -> int:
    path = Path(sys.argv[1])
    problems = []
    try:
        dash = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        print(f"{path}: not JSON: {e}")
        return 1
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        if key not in dash:
            problems.append(f"missing top-level key {key!r}")
    ids = [p.get("id") for p in dash.get("panels", [])]
    if len(ids) != len(set(ids)):
        problems.append(f"panel ids are not unique: {ids}")
    exprs = []
    for p in dash.get("panels", []):
        if not p.get("targets"):
            problems.append(f"panel {p.get('title')!r} has no queries")
        for t in p.get("targets", []):
            e = t.get("expr", "")
            if not e:
                problems.append(f"panel {p.get('title')!r} has an empty query")
            exprs.append((p.get("title"), e))
    variables = {v.get("name") for v in dash.get("templating", {}).get("list", [])}
    for title, e in exprs:
        for var in re.findall(r"\$(\w+)", e):
            if var not in variables and not var.startswith("__"):
                problems.append(f"panel {title!r} uses ${var}, which is not a dashboard variable")
        for name in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[)", e):
            if name not in KNOWN_METRICS and name not in PROMQL_WORDS:
                problems.append(f"panel {title!r} queries unknown metric {name!r}")
    # Let promtool parse every query.
    subst = lambda e: (e.replace("$__rate_interval", "5m").replace("$__interval", "1m")
                       .replace('=~"$route"', '=~".*"').replace("$job", "car-api")
                       .replace("$namespace", "car-api"))
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": subst(e)} for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(rules, f)
    out = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
    Path(f.name).unlink()
    if out.returncode != 0:
        problems.append("promtool cannot parse a query:\n" + out.stdout + out.stderr)
    for p in problems:
        print(f"{path}: {p}")
    print(f"{path}: {len(dash.get('panels', []))} panels, {len(exprs)} queries, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
