#!/usr/bin/env python3
"""Offline checks for k8s/: schema validation and cross-references.

Usage: k8s_check.py --k8s-dir k8s --schemas ../shared/schemas --spin-toml spin.toml

Renders each kustomization (the base, every overlay, and the base plus each
kustomize Component) with a small renderer that understands only what k8s/
uses (resources, components, namespace, images + configurations, inline
JSON6902 patches with a target, secret/configMap generators without name
hashes) and refuses anything else, so what is checked is what
`kubectl apply -k` would send. Then every object is validated against the
JSON schemas in shared/schemas (Kubernetes 1.30 strict kinds, SpinKube CRDs),
falling back to kubernetes-validate's offline 1.30 strict schemas for other
built-in kinds, and the references between objects are checked.
Exit status 1 on any finding; each finding is printed on its own line.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import yaml

ERRORS: list[str] = []


def err(where: str, msg: str) -> None:
    ERRORS.append(f"{where}: {msg}")


# --------------------------------------------------------------------------- schemas
class Schemas:
    def __init__(self, root: Path):
        self.by_gvk: dict[tuple[str, str, str], dict] = {}
        for f in sorted(root.glob("*/*.json")):
            schema = json.loads(f.read_text())
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                self.by_gvk[(gvk["group"], gvk["version"], gvk["kind"])] = schema
        if not self.by_gvk:
            raise SystemExit(f"no JSON schemas found under {root}")
        self.validators: dict[tuple[str, str, str], jsonschema.protocols.Validator] = {}

    def validate(self, where: str, doc: dict) -> None:
        api = doc.get("apiVersion")
        kind = doc.get("kind")
        if not isinstance(api, str) or not isinstance(kind, str):
            err(where, "apiVersion and kind are required strings")
            return
        group, _, version = api.rpartition("/")
        key = (group, version, kind)
        schema = self.by_gvk.get(key)
        if schema is not None:
            v = self.validators.get(key)
            if v is None:
                cls = jsonschema.validators.validator_for(schema)
                v = self.validators[key] = cls(schema)
            for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                path = "/".join(str(p) for p in e.absolute_path) or "(root)"
                err(where, f"schema ({api} {kind}) at {path}: {e.message[:300]}")
            return
        try:
            import kubernetes_validate  # offline schemas for every built-in kind
        except ImportError:
            err(where, f"no schema for {api} {kind} in shared/schemas and kubernetes-validate is not installed")
            return
        try:
            kubernetes_validate.validate(doc, "1.30.0", strict=True)
        except kubernetes_validate.utils.SchemaNotFoundError:
            err(where, f"no schema for {api} {kind} (not in shared/schemas, not a Kubernetes 1.30 kind)")
        except kubernetes_validate.utils.ValidationError as e:
            path = "/".join(str(p) for p in e.absolute_path) or "(root)"
            err(where, f"schema ({api} {kind}, kubernetes-validate 1.30) at {path}: {e.message[:300]}")


# --------------------------------------------------------------------------- renderer
KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "components", "namespace", "images",
                      "configurations", "patches", "secretGenerator", "configMapGenerator",
                      "generatorOptions"}


YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PARSED: dict[Path, list] = {}


def load_yaml_docs(path: Path) -> list[dict]:
    """Parsed documents of a file (parsed once; each call gets its own copy)."""
    key = path.resolve()
    if key not in _PARSED:
        try:
            _PARSED[key] = [d for d in yaml.load_all(path.read_text(), Loader=YAML_LOADER) if d is not None]
        except yaml.YAMLError as e:
            err(str(path), f"YAML error: {e}")
            _PARSED[key] = []
    docs = copy.deepcopy(_PARSED[key])
    for d in docs:
        if not isinstance(d, dict):
            err(str(path), "a document is not a mapping")
    return [d for d in docs if isinstance(d, dict)]


def json_pointer_parts(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"bad JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def apply_json6902(doc: dict, ops: list[dict], where: str) -> None:
    for op in ops:
        kind = op.get("op")
        try:
            parts = json_pointer_parts(op["path"])
            parent = doc
            for p in parts[:-1]:
                parent = parent[int(p)] if isinstance(parent, list) else parent[p]
            last = parts[-1]
            if isinstance(parent, list):
                idx = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(idx, copy.deepcopy(op["value"]))
                elif kind == "replace":
                    parent[idx] = copy.deepcopy(op["value"])
                elif kind == "remove":
                    del parent[idx]
                else:
                    raise ValueError(f"unsupported op {kind!r}")
            else:
                if kind in ("replace", "remove") and last not in parent:
                    raise KeyError(last)
                if kind in ("add", "replace"):
                    parent[last] = copy.deepcopy(op["value"])
                elif kind == "remove":
                    del parent[last]
                else:
                    raise ValueError(f"unsupported op {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            err(where, f"patch {op!r} does not apply: {e!r}")


def render(kdir: Path, stack: tuple[Path, ...] = ()) -> tuple[list[tuple[str, dict]], list[dict]]:
    """Returns ([(origin, doc)], image_field_specs)."""
    kdir = kdir.resolve()
    if kdir in stack:
        err(str(kdir), "kustomization cycle")
        return [], []
    kfile = kdir / "kustomization.yaml"
    if not kfile.is_file():
        err(str(kdir), "no kustomization.yaml")
        return [], []
    where = str(kfile)
    k = (load_yaml_docs(kfile) or [{}])[0]
    unknown = set(k) - KUSTOMIZATION_KEYS
    if unknown:
        err(where, f"fields this checker cannot render: {sorted(unknown)}")
    is_component = k.get("kind") == "Component"
    out: list[tuple[str, dict]] = []
    field_specs: list[dict] = []

    def add_dir_or_file(entry: str, as_component: bool) -> None:
        p = kdir / entry
        if p.is_dir():
            sub_docs, sub_specs = render(p, stack + (kdir,))
            sub_k = (load_yaml_docs(p / "kustomization.yaml") or [{}])[0] if (p / "kustomization.yaml").is_file() else {}
            if as_component and sub_k.get("kind") != "Component":
                err(where, f"components entry {entry} is not a kind: Component")
            if not as_component and sub_k.get("kind") == "Component":
                err(where, f"resources entry {entry} is a Component (list it under components)")
            out.extend(sub_docs)
            field_specs.extend(sub_specs)
        elif p.is_file() and not as_component:
            for d in load_yaml_docs(p):
                out.append((str(p), d))
        else:
            err(where, f"{entry} does not exist")

    for entry in k.get("resources", []) or []:
        add_dir_or_file(entry, False)
    for entry in k.get("components", []) or []:
        add_dir_or_file(entry, True)

    for conf in k.get("configurations", []) or []:
        cp = kdir / conf
        if not cp.is_file():
            err(where, f"configurations entry {conf} does not exist")
            continue
        c = (load_yaml_docs(cp) or [{}])[0]
        if set(c) - {"images"}:
            err(str(cp), f"unsupported transformer configuration {sorted(set(c) - {'images'})}")
        field_specs.extend(c.get("images", []) or [])

    opts = k.get("generatorOptions") or {}
    gens = [("Secret", g) for g in k.get("secretGenerator", []) or []] + \
           [("ConfigMap", g) for g in k.get("configMapGenerator", []) or []]
    if gens and opts.get("disableNameSuffixHash") is not True:
        err(where, "generators need generatorOptions.disableNameSuffixHash: true (SpinApp refers to them by name)")
    for kind, g in gens:
        data: dict[str, str] = {}
        for f in g.get("files", []) or []:
            key, _, rel = f.partition("=") if "=" in f else (Path(f).name, "", f)
            fp = (kdir / rel).resolve()
            if not fp.is_file():
                err(where, f"{kind} generator {g.get('name')}: file {rel} does not exist")
                continue
            if kdir not in fp.parents:
                err(where, f"{kind} generator {g.get('name')}: {rel} is outside the kustomization root (kustomize refuses it)")
            data[key] = fp.read_text()
        for lit in g.get("literals", []) or []:
            key, _, val = lit.partition("=")
            data[key] = val
        doc = {"apiVersion": "v1", "kind": kind, "metadata": {"name": g.get("name")}}
        if kind == "Secret":
            doc["type"] = g.get("type", "Opaque")
            doc["stringData"] = data  # kustomize base64-encodes into data; same keys
        else:
            doc["data"] = data
        out.append((f"{where} ({kind.lower()}Generator {g.get('name')})", doc))

    for i, p in enumerate(k.get("patches", []) or []):
        pw = f"{where} patches[{i}]"
        target = p.get("target") or {}
        if set(p) - {"target", "patch"} or not target or "patch" not in p:
            err(pw, "only inline JSON6902 patches with a target are supported")
            continue
        ops = yaml.safe_load(p["patch"])
        if not isinstance(ops, list):
            err(pw, "patch is not a JSON6902 list of operations")
            continue
        hits = [d for _, d in out
                if d.get("kind") == target.get("kind")
                and (d.get("metadata") or {}).get("name") == target.get("name")]
        if not hits:
            err(pw, f"target {target} matches no resource")
        for d in hits:
            apply_json6902(d, ops, pw)

    images = k.get("images", []) or []
    if images:
        specs = [{"path": "spec/template/spec/containers", "kind": None},
                 {"path": "spec/template/spec/initContainers", "kind": None},
                 {"path": "spec/jobTemplate/spec/template/spec/containers", "kind": None}] + field_specs
        for _, d in out:
            for spec in specs:
                if spec.get("kind") not in (None, d.get("kind")):
                    continue
                apply_images(d, spec["path"].split("/"), images)

    ns = k.get("namespace")
    if ns and not is_component:
        for _, d in out:
            d.setdefault("metadata", {})["namespace"] = ns
    return out, field_specs


def apply_images(node, parts: list[str], images: list[dict]) -> None:
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if not isinstance(node, dict) or head not in node:
        return
    if not rest:
        val = node[head]
        if isinstance(val, str):
            node[head] = retag(val, images)
        elif isinstance(val, list):
            for c in val:
                if isinstance(c, dict) and isinstance(c.get("image"), str):
                    c["image"] = retag(c["image"], images)
        return
    apply_images(node[head], rest, images)


def retag(ref: str, images: list[dict]) -> str:
    name, tag = (ref.rsplit(":", 1) + [""])[:2] if ":" in ref.rsplit("/", 1)[-1] else (ref, "")
    for im in images:
        if im.get("name") == name:
            new_name = im.get("newName", name)
            new_tag = im.get("newTag", tag)
            return f"{new_name}:{new_tag}" if new_tag else new_name
    return ref


# --------------------------------------------------------------------------- cross-references
def name_of(d: dict) -> str:
    return (d.get("metadata") or {}).get("name", "")


def pod_specs(d: dict):
    kind = d.get("kind")
    spec = d.get("spec") or {}
    if kind in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        yield (spec.get("template") or {}).get("metadata", {}).get("labels", {}), (spec.get("template") or {}).get("spec") or {}
    elif kind == "CronJob":
        t = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        yield t.get("metadata", {}).get("labels", {}), t.get("spec") or {}


def secret_keys(d: dict) -> set[str]:
    return set((d.get("data") or {}).keys()) | set((d.get("stringData") or {}).keys())


def check_refs(label: str, objs: list[tuple[str, dict]], spin_vars: set[str], extra_secrets: list[dict],
               strict_values: bool) -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    for where, d in objs:
        kname = (d.get("kind", "?"), name_of(d))
        if kname[1] in by_kind.setdefault(kname[0], {}):
            err(label, f"duplicate {kname[0]}/{kname[1]} ({where})")
        by_kind[kname[0]][kname[1]] = d
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

    def check_secret_ref(where: str, ref: dict) -> None:
        s = secrets.get(ref.get("name"))
        if s is None:
            if not ref.get("optional"):
                err(where, f"Secret {ref.get('name')!r} does not exist")
        elif ref.get("key") not in secret_keys(s) and not ref.get("optional"):
            err(where, f"Secret {ref.get('name')!r} has no key {ref.get('key')!r} (keys: {sorted(secret_keys(s))})")

    def check_cm_ref(where: str, ref: dict) -> None:
        c = configmaps.get(ref.get("name"))
        if c is None:
            if not ref.get("optional"):
                err(where, f"ConfigMap {ref.get('name')!r} does not exist")
        elif ref.get("key") not in (c.get("data") or {}) and not ref.get("optional"):
            err(where, f"ConfigMap {ref.get('name')!r} has no key {ref.get('key')!r}")

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
            s = secrets[sname]
            if secret_keys(s) != {"runtime-config.toml"}:
                err(w, f"Secret {sname!r} must have exactly the key runtime-config.toml, has {sorted(secret_keys(s))}")
            else:
                text = (s.get("stringData") or {}).get("runtime-config.toml")
                if text is not None:
                    try:
                        conf = tomllib.loads(text)
                    except tomllib.TOMLDecodeError as e:
                        err(w, f"runtime-config.toml does not parse: {e}")
                        conf = {}
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
        targets = {m.get("resource", {}).get("name"): m.get("resource", {}).get("target", {}).get("averageUtilization")
                   for m in spec.get("metrics", []) if m.get("type") == "Resource"}
        if strict_values and (lo, hi, targets) != (3, 10, {"cpu": 70, "memory": 80}):
            err(w, f"want 3..10 replicas, CPU 70 %, memory 80 %; got {lo}..{hi} {targets}")

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
        tls_hosts = {h for t in spec.get("tls", []) for h in t.get("hosts", []) if t.get("secretName")}
        for rule in spec.get("rules", []):
            if rule.get("host") not in tls_hosts:
                err(w, f"host {rule.get('host')!r} has no TLS entry with a secretName")
            for p in (rule.get("http") or {}).get("paths", []):
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

    # ---- workloads: env, volumes
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
                    if "secret" in v and v["secret"].get("secretName") not in secrets:
                        err(vw, f"Secret {v['secret'].get('secretName')!r} does not exist")
                    if "persistentVolumeClaim" in v and v["persistentVolumeClaim"].get("claimName") not in pvcs:
                        err(vw, f"PersistentVolumeClaim {v['persistentVolumeClaim'].get('claimName')!r} does not exist")

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k8s-dir", type=Path, required=True)
    ap.add_argument("--schemas", type=Path, required=True)
    ap.add_argument("--spin-toml", type=Path, required=True)
    ap.add_argument("--backup-script", type=Path, help="scripts/backup.sh; k8s/backup/backup.sh must equal it")
    args = ap.parse_args()

    if not args.schemas.is_dir():
        print(f"FAIL: schema folder {args.schemas} is missing (expected shared/schemas next to the repository)")
        return 1
    schemas = Schemas(args.schemas)
    spin_vars = set((tomllib.loads(args.spin_toml.read_text()).get("variables") or {}).keys())
    k8s = args.k8s_dir

    # The Secret template: valid, placeholders only, not applied by kustomize.
    template = k8s / "secret.template.yaml"
    extra_secrets = load_yaml_docs(template) if template.is_file() else []
    if not extra_secrets:
        err(str(template), "missing: the Secret template documents the keys the manifests read")
    for d in extra_secrets:
        schemas.validate(str(template), d)
        for key, val in ((d.get("stringData") or {}) | (d.get("data") or {})).items():
            if "CHANGE_ME" not in str(val):
                err(str(template), f"key {key} holds a value that is not a CHANGE_ME placeholder")

    builds: list[tuple[str, Path, list[Path], bool]] = [("base", k8s, [], True)]
    for ov in sorted((k8s / "overlays").glob("*/kustomization.yaml")):
        builds.append((f"overlay {ov.parent.name}", ov.parent, [], False))
    components = [c.parent for c in sorted(k8s.glob("*/kustomization.yaml"))
                  if (load_yaml_docs(c) or [{}])[0].get("kind") == "Component"]
    for c in components:
        builds.append((f"base + component {c.name}", k8s, [c], True))

    listed: set[Path] = set()
    count = 0
    for label, kdir, comps, strict in builds:
        objs, _ = render(kdir)
        for c in comps:
            cobjs, _ = render(c)
            objs = objs + cobjs
        for where, d in objs:
            listed.add(Path(where.split(" (")[0]).resolve())
            schemas.validate(f"{label}: {where} {d.get('kind')}/{name_of(d)}", d)
            count += 1
        try:
            check_refs(label, objs, spin_vars, extra_secrets, strict)
        except (AttributeError, TypeError, KeyError, IndexError) as e:
            err(label, f"cross-references not checkable, malformed manifests (see the schema errors): {e!r}")

    # Every manifest in k8s/ is part of some build (or is the template / a config file).
    for f in sorted(k8s.rglob("*.yaml")):
        if f.name in ("kustomization.yaml", "kustomizeconfig.yaml", "secret.template.yaml"):
            continue
        if f.resolve() not in listed:
            err(str(f), "not referenced by any kustomization (would never be applied)")

    if args.backup_script:
        copy_in_k8s = k8s / "backup" / "backup.sh"
        if not copy_in_k8s.is_file() or copy_in_k8s.read_bytes() != args.backup_script.read_bytes():
            err(str(copy_in_k8s), f"differs from {args.backup_script}: run cp {args.backup_script} {copy_in_k8s}")

    for e in ERRORS:
        print(f"ERROR {e}")
    print(f"{count} objects in {len(builds)} builds checked, {len(ERRORS)} problem(s)")
    return 1 if ERRORS else 0


if __name__ == "__main__":
    sys.exit(main())
