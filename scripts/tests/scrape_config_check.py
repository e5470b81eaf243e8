#!/usr/bin/env python3
"""The example scrape config against the SpinApp it scrapes: one target per app pod.

Usage: scrape_config_check.py PROMETHEUS_YML SPINAPP_YAML [--promtool]

/metrics reports the counters of the pod that answers (each replica keeps its own,
in memory), so job `car-api` must discover pods (kubernetes_sd_configs, role pod)
and its relabel_configs must turn every running car-api pod into exactly one
target at the port and path of the SpinApp's prometheus.io/* podAnnotations,
with `namespace` and `pod` labels, and drop every other pod. This runs those
relabel rules (keep, drop, replace, labelmap, labeldrop, labelkeep: Prometheus'
semantics, anchored regexes) on pods the way the Kubernetes discovery reports
them: the operator's pod (labels core.spinkube.dev/app-name, container port
http-app 80), a Pending one, Redis, another SpinApp, a pod without the annotation.

--promtool: also `promtool check config`. Debian's promtool (the one apt installs)
is built without Kubernetes discovery ("field kubernetes_sd_configs not found"); then the
file is checked a second time with each kubernetes_sd_configs replaced by a static
target, so everything else (relabel regexes, actions, the other jobs) is still
checked by promtool, and the discovery block itself is checked here.
Exit 1 on any finding.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

PROBLEMS: list[str] = []
JOB = "car-api"
APP = "car-api"


def problem(msg: str) -> None:
    PROBLEMS.append(msg)


def prom_replacement(rep: str) -> str:
    """Prometheus' $1 / ${1} / $name into Python's \\g<1> (a literal $$ stays $)."""
    rep = rep.replace("\\", "\\\\")
    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)",
                  lambda m: "$" if m.group(0) == "$$" else f"\\g<{m.group(1) or m.group(2)}>", rep)


def relabel(labels: dict[str, str], rules: list[dict]) -> dict[str, str] | None:
    """Prometheus relabeling (the subset of actions a scrape job uses); None = dropped."""
    labels = dict(labels)
    for i, r in enumerate(rules):
        action = r.get("action", "replace").lower()
        regex = re.compile(f"(?:{r.get('regex', '(.*)')})\\Z", re.S)
        value = r.get("separator", ";").join(labels.get(s, "") for s in r.get("source_labels", []))
        m = regex.match(value)
        if action == "keep":
            if not m:
                return None
        elif action == "drop":
            if m:
                return None
        elif action == "replace":
            if not m:
                continue
            target = r.get("target_label")
            if not target:
                problem(f"relabel_configs[{i}]: replace without target_label")
                continue
            new = m.expand(prom_replacement(str(r.get("replacement", "$1"))))
            if new:
                labels[target] = new
            else:
                labels.pop(target, None)
        elif action == "labelmap":
            for k in list(labels):
                mk = regex.match(k)
                if mk:
                    labels[mk.expand(prom_replacement(str(r.get("replacement", "$1"))))] = labels[k]
        elif action == "labeldrop":
            labels = {k: v for k, v in labels.items() if not regex.match(k)}
        elif action == "labelkeep":
            labels = {k: v for k, v in labels.items() if regex.match(k)}
        else:
            problem(f"relabel_configs[{i}]: action {action!r} is not simulated here")
    return labels


def sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def pod_targets(name: str, ns: str, ip: str, phase: str, labels: dict, annotations: dict,
                ports: list[tuple[str, int]]) -> list[dict[str, str]]:
    """The targets Kubernetes pod discovery reports for a pod: one per container port."""
    meta = {"__meta_kubernetes_namespace": ns, "__meta_kubernetes_pod_name": name,
            "__meta_kubernetes_pod_ip": ip, "__meta_kubernetes_pod_phase": phase,
            "__meta_kubernetes_pod_ready": "true" if phase == "Running" else "false"}
    for k, v in labels.items():
        meta[f"__meta_kubernetes_pod_label_{sanitize(k)}"] = v
        meta[f"__meta_kubernetes_pod_labelpresent_{sanitize(k)}"] = "true"
    for k, v in annotations.items():
        meta[f"__meta_kubernetes_pod_annotation_{sanitize(k)}"] = v
        meta[f"__meta_kubernetes_pod_annotationpresent_{sanitize(k)}"] = "true"
    out = []
    for pname, port in ports:
        t = dict(meta)
        t.update({"__address__": f"{ip}:{port}", "__meta_kubernetes_pod_container_port_name": pname,
                  "__meta_kubernetes_pod_container_port_number": str(port),
                  "__meta_kubernetes_pod_container_port_protocol": "TCP",
                  "__meta_kubernetes_pod_container_name": name.rsplit("-", 2)[0]})
        out.append(t)
    return out


def check_job(job: dict, pod_annotations: dict, namespace: str) -> None:
    sds = job.get("kubernetes_sd_configs") or []
    if job.get("static_configs") or not sds:
        problem(f"job {JOB}: must discover pods (kubernetes_sd_configs role pod), not static targets: "
                "/metrics holds the answering pod's own counters, every pod must be scraped")
    for i, sd in enumerate(sds):
        if not isinstance(sd, dict) or sd.get("role") != "pod":
            problem(f"job {JOB}: kubernetes_sd_configs[{i}] role is {sd.get('role') if isinstance(sd, dict) else sd!r}, want pod")
            continue
        unknown = set(sd) - {"role", "namespaces", "selectors", "api_server", "kubeconfig_file",
                             "attach_metadata", "follow_redirects", "enable_http2", "tls_config",
                             "authorization", "basic_auth", "oauth2", "proxy_url", "bearer_token_file"}
        if unknown:
            problem(f"job {JOB}: kubernetes_sd_configs[{i}] unknown keys {sorted(unknown)}")
        names = (sd.get("namespaces") or {}).get("names")
        if names is not None and namespace not in names:
            problem(f"job {JOB}: kubernetes_sd_configs[{i}] namespaces {names} miss {namespace!r}")
    rules = job.get("relabel_configs") or []
    path = job.get("metrics_path", "/metrics")

    def scrape(targets):
        out = []
        for t in targets:
            r = relabel(t, rules)
            if r is not None:
                out.append((r.get("__address__"), r.get("__metrics_path__", path), r))
        return out

    spin = {"core.spinkube.dev/app-name": APP, f"core.spinkube.dev/app.{APP}.status": "ready"}
    pods = {
        "car-api-7d9f-abcde": pod_targets("car-api-7d9f-abcde", namespace, "10.1.0.7", "Running", spin,
                                          pod_annotations, [("http-app", 80)]),
        "car-api-7d9f-fghij": pod_targets("car-api-7d9f-fghij", namespace, "10.1.0.8", "Running", spin,
                                          pod_annotations, [("http-app", 80)]),
    }
    port = str(pod_annotations.get("prometheus.io/port", ""))
    want_path = str(pod_annotations.get("prometheus.io/path", ""))
    for name, targets in pods.items():
        got = scrape(targets)
        ip = targets[0]["__meta_kubernetes_pod_ip"]
        if len(got) != 1:
            problem(f"pod {name}: {len(got)} targets, want exactly 1 (each replica scraped once)")
            continue
        addr, mpath, labels = got[0]
        if addr != f"{ip}:{port}":
            problem(f"pod {name}: target address {addr!r}, want {ip}:{port} (its prometheus.io/port)")
        if mpath != want_path:
            problem(f"pod {name}: metrics path {mpath!r}, want {want_path!r} (its prometheus.io/path)")
        for k, v in (("namespace", namespace), ("pod", name)):
            if labels.get(k) != v:
                problem(f"pod {name}: label {k}={labels.get(k)!r}, want {v!r} (alerts name the replica)")
    # A pod with two container ports is still one target.
    two = pod_targets("car-api-7d9f-klmno", namespace, "10.1.0.9", "Running", spin, pod_annotations,
                      [("http-app", 80), ("debug", 9090)])
    if len(scrape(two)) != 1:
        problem(f"a car-api pod with two container ports gives {len(scrape(two))} targets, want 1")
    others = {
        "a Pending car-api pod": pod_targets("car-api-7d9f-pend0", namespace, "10.1.0.10", "Pending", spin,
                                             pod_annotations, [("http-app", 80)]),
        "Redis": pod_targets("car-api-redis-5c4b-xyz12", namespace, "10.1.0.20", "Running",
                             {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": "redis"},
                             {"prometheus.io/scrape": "true"}, [("redis", 6379)]),
        "another SpinApp": pod_targets("other-app-1a2b-qrstu", namespace, "10.1.0.30", "Running",
                                       {"core.spinkube.dev/app-name": "other-app"}, pod_annotations,
                                       [("http-app", 80)]),
        "a car-api pod without prometheus.io/scrape": pod_targets(
            "car-api-7d9f-noann", namespace, "10.1.0.11", "Running", spin,
            {k: v for k, v in pod_annotations.items() if k != "prometheus.io/scrape"}, [("http-app", 80)]),
    }
    for what, targets in others.items():
        if scrape(targets):
            problem(f"{what} would be scraped as job {JOB} (its counters would be summed with the app's)")


def promtool(config: Path) -> None:
    out = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True, text=True)
    print(out.stdout + out.stderr, end="")
    if out.returncode == 0:
        return
    if "field kubernetes_sd_configs not found" not in out.stdout + out.stderr:
        problem("promtool check config failed")
        return
    # This promtool has no Kubernetes discovery: check the rest with a static target instead.
    doc = yaml.safe_load(config.read_text())
    for sc in doc.get("scrape_configs") or []:
        if sc.pop("kubernetes_sd_configs", None) is not None:
            sc.setdefault("static_configs", []).append({"targets": ["pod-ip.invalid:80"]})
    with tempfile.TemporaryDirectory() as d:
        copy = Path(d) / config.name
        for f in doc.get("rule_files") or []:  # relative rule files, as promtool resolves them
            src = config.parent / f
            if src.is_file():
                (Path(d) / f).parent.mkdir(parents=True, exist_ok=True)
                (Path(d) / f).write_text(src.read_text())
        copy.write_text(yaml.safe_dump(doc, sort_keys=False))
        print("promtool is built without Kubernetes discovery: checking again with "
              "kubernetes_sd_configs replaced by a static target (the discovery block is checked above)")
        out = subprocess.run(["promtool", "check", "config", str(copy)], capture_output=True, text=True)
        print(out.stdout + out.stderr, end="")
        if out.returncode != 0:
            problem("promtool check config failed (with the static stand-in)")


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        print(__doc__)
        return 2
    config, spinapp = Path(args[0]), Path(args[1])
    doc = yaml.safe_load(config.read_text()) or {}
    app = next((d for d in yaml.safe_load_all(spinapp.read_text()) if d and d.get("kind") == "SpinApp"), None)
    if app is None:
        problem(f"{spinapp}: no SpinApp")
        pod_annotations = {}
    else:
        pod_annotations = (app.get("spec") or {}).get("podAnnotations") or {}
    jobs = [j for j in doc.get("scrape_configs") or [] if j.get("job_name") == JOB]
    if len(jobs) != 1:
        problem(f"{config}: {len(jobs)} scrape jobs named {JOB!r}, want 1 (the alert rules select job={JOB!r})")
    else:
        check_job(jobs[0], pod_annotations, namespace="car-api")
    if "--promtool" in sys.argv:
        promtool(config)
    for p in PROBLEMS:
        print(f"ERROR {config}: {p}")
    print(f"scrape config: job {JOB} checked against {spinapp}, {len(PROBLEMS)} problem(s)")
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
