#!/usr/bin/env python3
"""The manifests of k8s/ as kustomize renders them: schemas and the project's rules.

Usage: k8s_check.py --k8s-dir k8s --schemas scripts/schemas --spin-toml spin.toml
                    [--backup-script scripts/backup.sh] [--kustomize "kubectl kustomize"]

Every build is rendered by the real kustomize (`kubectl kustomize DIR`, or the
command given with --kustomize / $KUSTOMIZE): the base (k8s/base), every
overlay (k8s/overlays/*), and the base plus each Component (k8s/components/*).
A build kustomize refuses is a finding. Every rendered object is then
validated: built-in kinds against Kubernetes 1.30 strict schemas (the
v1.30.0-local-strict set shipped by the kubernetes-validate package), SpinApp
and SpinAppExecutor against the CRD schemas vendored in --schemas/spinkube
(see SOURCES.md there). Unknown fields are errors. Then the project's own
cross-reference rules run on each build (see check_refs).
Exit status 1 on any finding; each finding is printed on its own line.
"""
from __future__ import annotations

import argparse
import base64
import importlib.resources
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import yaml

ERRORS: list[str] = []
K8S_VERSION = "1.30.0"  # the cluster version the manifests are checked against


def err(where: str, msg: str) -> None:
    ERRORS.append(f"{where}: {msg}")


YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_docs(text: str, where: str) -> list[dict]:
    try:
        docs = [d for d in yaml.load_all(text, Loader=YAML_LOADER) if d is not None]
    except yaml.YAMLError as e:
        err(where, f"YAML error: {e}")
        return []
    for d in docs:
        if not isinstance(d, dict):
            err(where, "a document is not a mapping")
    return [d for d in docs if isinstance(d, dict)]


def load_file(path: Path) -> list[dict]:
    return load_docs(path.read_text(), str(path))


# --------------------------------------------------------------------------- schemas
class Schemas:
    """Built-in kinds from kubernetes-validate's offline 1.30 strict set; CRDs from files."""

    def __init__(self, crd_root: Path):
        self.crds: dict[tuple[str, str, str], dict] = {}
        for f in sorted(crd_root.glob("*/*.json")):
            schema = json.loads(f.read_text())
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                self.crds[(gvk["group"], gvk["version"], gvk["kind"])] = schema
        if not self.crds:
            raise SystemExit(f"FAIL: no CRD JSON schemas found under {crd_root}")
        try:
            import kubernetes_validate  # noqa: F401  (the package only ships data here)
        except ImportError:
            raise SystemExit("FAIL: kubernetes-validate is not installed (pip install kubernetes-validate)")
        self.k8s_dir = (importlib.resources.files("kubernetes_validate")
                        / "kubernetes-json-schema" / f"v{K8S_VERSION}-local-strict")
        if not self.k8s_dir.is_dir():
            raise SystemExit(f"FAIL: kubernetes-validate has no v{K8S_VERSION}-local-strict schemas")
        from referencing import Registry, Resource
        defs = json.loads((self.k8s_dir / "_definitions.json").read_text())
        self.registry = Resource.from_contents(defs) @ Registry()
        self.validators: dict[tuple[str, str, str], jsonschema.protocols.Validator | None] = {}

    def validator(self, group: str, version: str, kind: str):
        key = (group, version, kind)
        if key not in self.validators:
            schema = self.crds.get(key)
            if schema is not None:
                cls = jsonschema.validators.validator_for(schema)
                self.validators[key] = cls(schema)
            else:
                # kubernetes-validate's file naming: <kind>-<first label of group>-<version>.json
                prefix = (group.split(".")[0] + "-") if group else ""
                f = self.k8s_dir / f"{kind.lower()}-{prefix}{version}.json"
                if f.is_file():
                    schema = json.loads(f.read_text())
                    self.validators[key] = jsonschema.Draft202012Validator(schema, registry=self.registry)
                else:
                    self.validators[key] = None
        return self.validators[key]

    def validate(self, where: str, doc: dict) -> None:
        api, kind = doc.get("apiVersion"), doc.get("kind")
        if not isinstance(api, str) or not isinstance(kind, str):
            err(where, "apiVersion and kind are required strings")
            return
        group, _, version = api.rpartition("/")
        v = self.validator(group, version, kind)
        if v is None:
            err(where, f"no schema for {api} {kind} (neither a Kubernetes {K8S_VERSION} kind nor a vendored CRD)")
            return
        for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
            path = "/".join(str(p) for p in e.absolute_path) or "(root)"
            err(where, f"schema ({api} {kind}) at {path}: {e.message[:300]}")


# --------------------------------------------------------------------------- rendering
def kustomization(d: Path) -> dict:
    f = d / "kustomization.yaml"
    docs = load_file(f) if f.is_file() else []
    return docs[0] if docs else {}


def render(kustomize: list[str], kdir: Path, label: str) -> list[dict] | None:
    """`kubectl kustomize kdir`: the objects, or None (with a finding) when it fails."""
    try:
        out = subprocess.run(kustomize + [str(kdir)], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise SystemExit(f"FAIL: {kustomize[0]} not found (kubectl with kustomize v5 is needed)")
    if out.returncode != 0:
        # kubectl wraps kustomize's message in a log line: keep the message.
        msg = " ".join(out.stderr.split())
        m = re.search(r'err="(.*)"', msg)
        err(label, f"kustomize cannot build {kdir}: {(m.group(1) if m else msg)[-600:]}")
        return None
    return load_docs(out.stdout, f"{label} (rendered)")


def source_files(kustomize: list[str], tmp: Path, kdir: Path) -> set[Path]:
    """The files a build takes its objects from, as kustomize itself reports them
    (buildMetadata: originAnnotations, in a throwaway kustomization around kdir)."""
    d = Path(tempfile.mkdtemp(dir=tmp))
    (d / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(kdir, d)],
        "buildMetadata": ["originAnnotations"],
    }))
    out = subprocess.run(kustomize + [str(d)], capture_output=True, text=True, timeout=120)
    files: set[Path] = set()
    if out.returncode != 0:
        return files  # the build itself reports why
    for obj in load_docs(out.stdout, f"{kdir} (origins)"):
        origin = ((obj.get("metadata") or {}).get("annotations") or {}).get("config.kubernetes.io/origin")
        o = yaml.safe_load(origin) if origin else {}
        if isinstance(o, dict) and o.get("path"):
            files.add((d / o["path"]).resolve())
    return files


def with_component(tmp: Path, base: Path, component: Path) -> Path:
    """A throwaway kustomization: the base plus one Component (kustomize wants relative paths)."""
    d = Path(tempfile.mkdtemp(dir=tmp))
    (d / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(base, d)],
        "components": [os.path.relpath(component, d)],
    }))
    return d


# --------------------------------------------------------------------------- cross-references
def name_of(d: dict) -> str:
    return (d.get("metadata") or {}).get("name", "")


def labels_of(d: dict) -> dict:
    return (d.get("metadata") or {}).get("labels") or {}


def pod_specs(d: dict):
    kind = d.get("kind")
    spec = d.get("spec") or {}
    if kind in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        t = spec.get("template") or {}
        yield (t.get("metadata") or {}).get("labels") or {}, t.get("spec") or {}
    elif kind == "CronJob":
        t = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        yield (t.get("metadata") or {}).get("labels") or {}, t.get("spec") or {}


def secret_data(d: dict) -> dict[str, str | None]:
    """Secret keys with their text (None when not decodable)."""
    out: dict[str, str | None] = {}
    for k, v in (d.get("data") or {}).items():
        try:
            out[k] = base64.b64decode(str(v)).decode()
        except (ValueError, UnicodeDecodeError):
            out[k] = None
    for k, v in (d.get("stringData") or {}).items():
        out[k] = str(v)
    return out


def path_reaches(path: str, path_type: str, target: str) -> bool:
    """Would an Ingress path of this type route the request path `target`?"""
    if path_type == "Exact":
        return path == target
    # Prefix matches whole path elements; ImplementationSpecific is a prefix (or a
    # regex) for ingress-nginx: treated as a plain string prefix, the stricter reading.
    if path_type == "Prefix":
        p = path.rstrip("/")
        return p == "" or target == p or target.startswith(p + "/")
    return target.startswith(path)


# The pod annotations a kubernetes_sd `role: pod` job keys on: the operator's
# container port (`http-app`, 80) and the app's metrics path.
SCRAPE_ANNOTATIONS = {"prometheus.io/scrape": "true", "prometheus.io/port": "80", "prometheus.io/path": "/metrics"}


def check_refs(label: str, objs: list[dict], spin_vars: set[str], extra_secrets: list[dict],
               strict_values: bool, namespace: str | None) -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    for d in objs:
        kind, name = d.get("kind", "?"), name_of(d)
        if name in by_kind.setdefault(kind, {}):
            err(label, f"duplicate {kind}/{name}")
        by_kind[kind][name] = d
    secrets = dict(by_kind.get("Secret", {}))
    for s in extra_secrets:  # created out of band from the template
        secrets.setdefault(name_of(s), s)
    configmaps = by_kind.get("ConfigMap", {})
    services = dict(by_kind.get("Service", {}))
    spinapps = by_kind.get("SpinApp", {})
    executors = by_kind.get("SpinAppExecutor", {})
    hpas = by_kind.get("HorizontalPodAutoscaler", {})
    pvcs = by_kind.get("PersistentVolumeClaim", {})
    # Services the SpinKube operator creates: one per SpinApp, port 80.
    operator_services = {n: 80 for n in spinapps}
    configmap_keys_read: dict[str, set[str]] = {}

    # ---- one namespace per overlay, on every object (a Component added after the
    # overlay's namespace transformer would leave its objects in `default`)
    if namespace is not None:
        for d in objs:
            ns = (d.get("metadata") or {}).get("namespace")
            if ns != namespace:
                err(label, f"{d.get('kind')}/{name_of(d)} is in namespace {ns!r}, not {namespace!r}")

    def check_secret_ref(where: str, ref: dict) -> None:
        s = secrets.get(ref.get("name"))
        if s is None:
            if not ref.get("optional"):
                err(where, f"Secret {ref.get('name')!r} does not exist")
        elif ref.get("key") not in secret_data(s) and not ref.get("optional"):
            err(where, f"Secret {ref.get('name')!r} has no key {ref.get('key')!r} (keys: {sorted(secret_data(s))})")

    def check_cm_ref(where: str, ref: dict) -> None:
        c = configmaps.get(ref.get("name"))
        configmap_keys_read.setdefault(ref.get("name"), set()).add(ref.get("key"))
        if c is None:
            if not ref.get("optional"):
                err(where, f"ConfigMap {ref.get('name')!r} does not exist")
        elif ref.get("key") not in (c.get("data") or {}) and not ref.get("optional"):
            err(where, f"ConfigMap {ref.get('name')!r} has no key {ref.get('key')!r}")

    # ---- executors: scripts/deploy.sh applies them first, by this label
    for name, ex in executors.items():
        if labels_of(ex).get("app.kubernetes.io/component") != "executor":
            err(f"{label}: SpinAppExecutor/{name}",
                "needs label app.kubernetes.io/component=executor (deploy.sh applies executors "
                "first by it: the operator's webhook refuses a SpinApp whose executor does not exist yet)")
    for d in objs:
        if d.get("kind") != "SpinAppExecutor" and labels_of(d).get("app.kubernetes.io/component") == "executor":
            err(f"{label}: {d.get('kind')}/{name_of(d)}", "only SpinAppExecutors may carry app.kubernetes.io/component=executor")

    # ---- SpinApps
    for name, app in spinapps.items():
        w = f"{label}: SpinApp/{name}"
        spec = app.get("spec") or {}
        if spec.get("executor") not in executors:
            err(w, f"executor {spec.get('executor')!r} is not a SpinAppExecutor in this build")
        if spec.get("executor") != "containerd-shim-spin":
            err(w, "executor must be containerd-shim-spin")
        if spec.get("enableAutoscaling") is not True:
            err(w, "enableAutoscaling must be true (the HPA scales it)")
        if "replicas" in spec:
            err(w, "replicas must not be set when enableAutoscaling is true")
        targeting = [h for h in hpas.values()
                     if (h.get("spec") or {}).get("scaleTargetRef", {}) == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}]
        if not targeting:
            err(w, f"no HPA targets apps/v1 Deployment {name!r} (the Deployment the operator creates)")
        for probe in ("liveness", "readiness"):
            path = (((spec.get("checks") or {}).get(probe) or {}).get("httpGet") or {}).get("path")
            if path != "/health_check":
                err(w, f"checks.{probe}.httpGet.path is {path!r}, want /health_check")
        # /metrics reports the answering pod's own counters (in-memory key-value
        # store `metrics`): Prometheus must scrape every pod, and each pod once.
        pod_ann = spec.get("podAnnotations") or {}
        for key, want in SCRAPE_ANNOTATIONS.items():
            if str(pod_ann.get(key, "")) != want:
                err(w, f"podAnnotations {key} is {pod_ann.get(key)!r}, want {want!r}: /metrics holds each "
                       "pod's own counters, so every pod must be scraped (monitoring/prometheus/prometheus.example.yml)")
        if str((spec.get("serviceAnnotations") or {}).get("prometheus.io/scrape", "")).lower() == "true":
            err(w, "serviceAnnotations prometheus.io/scrape=true: an endpoints job would scrape every pod "
                   "a second time (double counts in sum()); the pods are scraped through podAnnotations")
        res = spec.get("resources") or {}
        if strict_values and (res.get("requests") != {"cpu": "100m", "memory": "128Mi"}
                              or res.get("limits") != {"cpu": "500m", "memory": "512Mi"}):
            err(w, f"resources must be requests 128Mi/100m, limits 512Mi/500m; got {res}")
        names = []
        for i, v in enumerate(spec.get("variables") or []):
            vw = f"{w} variables[{i}] {v.get('name')}"
            names.append(v.get("name"))
            if v.get("name") not in spin_vars:
                err(vw, f"not a variable of spin.toml (known: {sorted(spin_vars)})")
            vf = v.get("valueFrom") or {}
            if "value" in v or not (vf.get("secretKeyRef") or vf.get("configMapKeyRef")):
                err(vw, "must come from a Secret or a ConfigMap (valueFrom)")
            if v.get("name") in ("jwt_secret_key", "database_url") and not vf.get("secretKeyRef"):
                err(vw, "must come from a Secret")
            if vf.get("secretKeyRef"):
                check_secret_ref(vw, vf["secretKeyRef"])
            if vf.get("configMapKeyRef"):
                check_cm_ref(vw, vf["configMapKeyRef"])
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            err(w, f"variables bound twice: {sorted(dup)}")
        missing = spin_vars - set(names)
        if missing:
            err(w, f"spin.toml variables not bound: {sorted(missing)}")
        rc = spec.get("runtimeConfig") or {}
        sname = rc.get("loadFromSecret")
        if not sname:
            err(w, "runtimeConfig.loadFromSecret is not set")
        elif sname not in secrets:
            err(w, f"runtimeConfig Secret {sname!r} does not exist")
        else:
            data = secret_data(secrets[sname])
            if set(data) != {"runtime-config.toml"}:
                err(w, f"Secret {sname!r} must have exactly the key runtime-config.toml, has {sorted(data)}")
            elif data["runtime-config.toml"] is not None:
                try:
                    conf = tomllib.loads(data["runtime-config.toml"])
                except tomllib.TOMLDecodeError as e:
                    err(w, f"runtime-config.toml does not parse: {e}")
                    conf = {}
                mkv = (conf.get("key_value_store") or {}).get("metrics") or {}
                if mkv.get("type") != "spin":
                    err(w, f"runtime-config.toml: key_value_store.metrics must be type spin (each pod's own "
                           f"counters, which Prometheus scrapes per pod and sums), is {mkv.get('type')!r}")
                kv = (conf.get("key_value_store") or {}).get("default") or {}
                if kv.get("type") != "redis":
                    err(w, "runtime-config.toml: key_value_store.default must be type redis")
                else:
                    u = urlparse(kv.get("url", ""))
                    svc = services.get(u.hostname or "")
                    if svc is None:
                        err(w, f"runtime-config.toml: Redis host {u.hostname!r} is not a Service in this build")
                    elif (u.port or 6379) not in [p.get("port") for p in (svc.get("spec") or {}).get("ports", [])]:
                        err(w, f"runtime-config.toml: Service {u.hostname} has no port {u.port or 6379}")
        for ps in spec.get("imagePullSecrets") or []:
            if not ps.get("name"):
                err(w, "imagePullSecrets entry without a name")

    # ---- HPAs
    for name, h in hpas.items():
        w = f"{label}: HorizontalPodAutoscaler/{name}"
        spec = h.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        if ref.get("kind") != "Deployment" or ref.get("name") not in spinapps:
            err(w, f"scaleTargetRef {ref} is not the Deployment of a SpinApp in this build ({sorted(spinapps)})")
        if ref.get("apiVersion") != "apps/v1":
            err(w, "scaleTargetRef.apiVersion must be apps/v1")
        lo, hi = spec.get("minReplicas", 1), spec.get("maxReplicas", 0)
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            err(w, f"minReplicas {lo} > maxReplicas {hi}")
        targets = {(m.get("resource") or {}).get("name"): ((m.get("resource") or {}).get("target") or {}).get("averageUtilization")
                   for m in spec.get("metrics", []) if m.get("type") == "Resource"}
        if strict_values and (lo, hi, targets) != (3, 10, {"cpu": 70}):
            err(w, f"want 3..10 replicas on CPU 70 % only (docs/deployment.md); got {lo}..{hi} {targets}")

    # ---- Ingresses
    for name, ing in by_kind.get("Ingress", {}).items():
        w = f"{label}: Ingress/{name}"
        spec = ing.get("spec") or {}
        ann = (ing.get("metadata") or {}).get("annotations") or {}
        want = {"cert-manager.io/cluster-issuer": "letsencrypt-prod",
                "nginx.ingress.kubernetes.io/ssl-redirect": "true",
                "nginx.ingress.kubernetes.io/limit-rps": "10",
                "nginx.ingress.kubernetes.io/limit-burst-multiplier": "2"}
        for key, val in want.items():
            if ann.get(key) != val:
                err(w, f"annotation {key} is {ann.get(key)!r}, want {val!r}")
        if spec.get("defaultBackend"):
            err(w, "defaultBackend routes every path, /metrics included")
        tls_hosts = {h for t in spec.get("tls", []) for h in t.get("hosts", []) if t.get("secretName")}
        for rule in spec.get("rules", []):
            if rule.get("host") not in tls_hosts:
                err(w, f"host {rule.get('host')!r} has no TLS entry with a secretName")
            for p in (rule.get("http") or {}).get("paths", []):
                path, ptype = p.get("path", "/"), p.get("pathType", "ImplementationSpecific")
                if path_reaches(path, ptype, "/metrics"):
                    err(w, f"path {path!r} ({ptype}) routes /metrics to the public: "
                           "list the public routes only (API.md revision 2)")
                svc = ((p.get("backend") or {}).get("service") or {})
                sname, port = svc.get("name"), (svc.get("port") or {}).get("number")
                if sname in operator_services:
                    if port != 80:
                        err(w, f"backend {sname}:{port}: the operator's Service listens on port 80")
                elif sname in services:
                    ports = [x.get("port") for x in services[sname]["spec"].get("ports", [])]
                    if port not in ports:
                        err(w, f"backend {sname}:{port}: Service ports are {ports}")
                else:
                    err(w, f"backend Service {sname!r} is neither a Service nor a SpinApp in this build")
            for public in ("/api/v1/cars", "/health_check", "/health_check/detailed"):
                if not any(path_reaches(p.get("path", "/"), p.get("pathType", "ImplementationSpecific"), public)
                           for p in (rule.get("http") or {}).get("paths", [])):
                    err(w, f"host {rule.get('host')!r} does not route {public}")

    # ---- workloads: env, volumes, pull secrets
    for kind in ("Deployment", "Job", "CronJob", "StatefulSet", "DaemonSet"):
        for name, d in by_kind.get(kind, {}).items():
            for _, pod in pod_specs(d):
                for c in (pod.get("initContainers") or []) + (pod.get("containers") or []):
                    cw = f"{label}: {kind}/{name} container {c.get('name')}"
                    for e in c.get("env") or []:
                        vf = e.get("valueFrom") or {}
                        if vf.get("secretKeyRef"):
                            check_secret_ref(f"{cw} env {e.get('name')}", vf["secretKeyRef"])
                        if vf.get("configMapKeyRef"):
                            check_cm_ref(f"{cw} env {e.get('name')}", vf["configMapKeyRef"])
                    vols = {v.get("name") for v in pod.get("volumes") or []}
                    for m in c.get("volumeMounts") or []:
                        if m.get("name") not in vols:
                            err(cw, f"volumeMount {m.get('name')!r} has no volume")
                for v in pod.get("volumes") or []:
                    vw = f"{label}: {kind}/{name} volume {v.get('name')}"
                    if "configMap" in v and v["configMap"].get("name") not in configmaps:
                        err(vw, f"ConfigMap {v['configMap'].get('name')!r} does not exist")
                    if "configMap" in v:
                        configmap_keys_read.setdefault(v["configMap"].get("name"), set()).add("*")
                    if "secret" in v and v["secret"].get("secretName") not in secrets:
                        err(vw, f"Secret {v['secret'].get('secretName')!r} does not exist")
                    if "persistentVolumeClaim" in v and v["persistentVolumeClaim"].get("claimName") not in pvcs:
                        err(vw, f"PersistentVolumeClaim {v['persistentVolumeClaim'].get('claimName')!r} does not exist")

    # ---- every ConfigMap key is read by something (a patch that "replaces" a
    # misspelt key makes kustomize add it silently: the setting would be lost)
    for cname, c in configmaps.items():
        read = configmap_keys_read.get(cname, set())
        if "*" in read:
            continue
        for key in sorted(set((c.get("data") or {})) - read):
            err(f"{label}: ConfigMap/{cname}", f"key {key!r} is read by nothing in this build")

    # ---- Services select something, target ports exist
    workloads = [(k, n, d) for k in ("Deployment", "StatefulSet", "DaemonSet") for n, d in by_kind.get(k, {}).items()]
    for name, svc in services.items():
        w = f"{label}: Service/{name}"
        sel = (svc.get("spec") or {}).get("selector") or {}
        matches = [(k, n, d) for k, n, d in workloads
                   if all((next(pod_specs(d))[0] or {}).get(a) == b for a, b in sel.items())]
        if not sel or not matches:
            err(w, f"selector {sel} matches no workload in this build")
        for p in (svc.get("spec") or {}).get("ports", []):
            tp = p.get("targetPort")
            if isinstance(tp, str):
                named = {cp.get("name") for _, _, d in matches for _, pod in pod_specs(d)
                         for c in pod.get("containers", []) for cp in c.get("ports", [])}
                if tp not in named:
                    err(w, f"targetPort {tp!r} is not a named container port of the selected pods")


def check_patch_targets(label: str, kdir: Path, objs: list[dict]) -> None:
    """kustomize applies a patch whose target selects nothing without a word."""
    for i, p in enumerate(kustomization(kdir).get("patches") or []):
        t = p.get("target") or {}
        if not t:
            continue
        hits = [d for d in objs
                if (not t.get("kind") or d.get("kind") == t["kind"])
                and (not t.get("name") or name_of(d) == t["name"])]
        if not hits:
            err(f"{label}: {kdir / 'kustomization.yaml'} patches[{i}]", f"target {t} matches no object of the build")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k8s-dir", type=Path, required=True)
    ap.add_argument("--schemas", type=Path, required=True, help="folder with spinkube/*.json (CRD schemas)")
    ap.add_argument("--spin-toml", type=Path, required=True)
    ap.add_argument("--backup-script", type=Path, help="scripts/backup.sh; base/backup/backup.sh must equal it")
    ap.add_argument("--kustomize", default=os.environ.get("KUSTOMIZE", "kubectl kustomize"),
                    help="the renderer command, run as CMD DIR (default: kubectl kustomize)")
    args = ap.parse_args()

    if not (args.schemas / "spinkube").is_dir():
        print(f"FAIL: schema folder not found: {args.schemas}/spinkube (vendored CRD schemas)")
        return 1
    schemas = Schemas(args.schemas)
    kustomize = shlex.split(args.kustomize)
    spin_vars = set((tomllib.loads(args.spin_toml.read_text()).get("variables") or {}).keys())
    k8s = args.k8s_dir.resolve()
    base = k8s / "base"

    # The Secret template: valid, placeholders only, not applied by kustomize.
    template = k8s / "secret.template.yaml"
    extra_secrets = load_file(template) if template.is_file() else []
    if not extra_secrets:
        err(str(template), "missing: the Secret template documents the keys the manifests read")
    for d in extra_secrets:
        schemas.validate(str(template), d)
        for key, val in ((d.get("stringData") or {}) | (d.get("data") or {})).items():
            if "CHANGE_ME" not in str(val):
                err(str(template), f"key {key} holds a value that is not a CHANGE_ME placeholder")

    # (label, kustomization dir, strict values, expected namespace)
    builds: list[tuple[str, Path, bool, str | None]] = [("base", base, True, None)]
    if not (base / "kustomization.yaml").is_file():
        err(str(base), "no kustomization.yaml: the base lives in k8s/base")
    overlays = sorted(p.parent for p in (k8s / "overlays").glob("*/kustomization.yaml"))
    if not overlays:
        err(str(k8s / "overlays"), "no overlays")
    for ov in overlays:
        builds.append((f"overlay {ov.name}", ov, False, kustomization(ov).get("namespace")))
        if not kustomization(ov).get("namespace"):
            err(f"overlay {ov.name}", "sets no namespace")
    tmp = Path(tempfile.mkdtemp(prefix="k8s-check-"))
    try:
        for c in sorted(p.parent for p in (k8s / "components").glob("*/kustomization.yaml")):
            if kustomization(c).get("kind") != "Component":
                err(str(c), "a folder under components/ must hold a kind: Component")
                continue
            builds.append((f"base + component {c.name}", with_component(tmp, base, c), True, None))

        used: set[Path] = set()
        count = 0
        for label, kdir, strict, ns in builds:
            objs = render(kustomize, kdir, label)
            if objs is None:
                continue
            used |= source_files(kustomize, tmp, kdir)
            for d in objs:
                schemas.validate(f"{label}: {d.get('kind')}/{name_of(d)}", d)
                count += 1
            check_patch_targets(label, kdir, objs)
            try:
                check_refs(label, objs, spin_vars, extra_secrets, strict, ns)
            except (AttributeError, TypeError, KeyError, IndexError, StopIteration) as e:
                err(label, f"cross-references not checkable, malformed manifests (see the schema errors): {e!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # Every manifest under k8s/ ends up in some build (or is the template / kustomize's own files).
    for f in sorted(k8s.rglob("*.yaml")):
        if f.name in ("kustomization.yaml", "kustomizeconfig.yaml", "secret.template.yaml"):
            continue
        if f.resolve() not in used:
            err(str(f), "is in no build: no kustomization lists it (it would never be applied)")

    if args.backup_script:
        copy_in_k8s = base / "backup" / "backup.sh"
        if not copy_in_k8s.is_file() or copy_in_k8s.read_bytes() != args.backup_script.read_bytes():
            err(str(copy_in_k8s), f"differs from {args.backup_script}: run cp {args.backup_script} {copy_in_k8s}")

    for e in ERRORS:
        print(f"ERROR {e}")
    print(f"{count} rendered objects in {len(builds)} kustomize builds checked, {len(ERRORS)} problem(s)")
    return 1 if ERRORS else 0


if __name__ == "__main__":
    sys.exit(main())
