#!/usr/bin/env python3
"""Runs compose's check-secrets service the way its container would, without Docker.

Reads the output of `docker-compose config` (the stack resolved with an env file)
on stdin, then:
  1. wiring: the service check-secrets exists, and postgres, migrate and app
     depend on it with condition service_completed_successfully (exit 2 if not);
  2. builds the container's file system under WORKDIR from the service's bind
     mounts (host files copied to their container paths), and runs its entrypoint
     + command there, with exactly the service's environment (plus PATH), the
     container paths rewritten under WORKDIR;
  3. prints the check's output and exits with its status (0 accepted, 1 refused).

Usage: docker-compose ... config | compose_check_secrets.py WORKDIR
"""
import os
import shutil
import subprocess
import sys

import yaml

SERVICE = "check-secrets"
MUST_WAIT = ["postgres", "migrate", "app"]


def mounts(svc):
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            if v.get("type", "bind") == "bind":
                yield v["source"], v["target"]
        else:
            parts = v.split(":")
            if len(parts) >= 2 and parts[0].startswith(("/", ".")):
                yield parts[0], parts[1]


def environment(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def as_list(x):
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def main():
    workdir = os.path.abspath(sys.argv[1])
    cfg = yaml.safe_load(sys.stdin.read()) or {}
    services = cfg.get("services") or {}
    problems = []
    svc = services.get(SERVICE)
    if svc is None:
        problems.append(f"no service {SERVICE}")
    for name in MUST_WAIT:
        deps = (services.get(name) or {}).get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        cond = (deps.get(SERVICE) or {}).get("condition")
        if cond != "service_completed_successfully":
            problems.append(f"service {name} does not wait for {SERVICE} to complete successfully (condition: {cond})")
    entry = as_list((svc or {}).get("entrypoint")) + as_list((svc or {}).get("command"))
    if svc is not None and not entry:
        problems.append(f"service {SERVICE} has no entrypoint")
    if problems:
        for p in problems:
            print(f"WIRING: {p}")
        return 2

    targets = []
    for src, dst in mounts(svc):
        if not os.path.exists(src):
            print(f"WIRING: mount source {src} does not exist")
            return 2
        inside = workdir + dst
        os.makedirs(os.path.dirname(inside), exist_ok=True)
        if os.path.isdir(src):
            shutil.copytree(src, inside)
        else:
            shutil.copy2(src, inside)
        targets.append(dst)
    argv = [workdir + a if any(a == t or a.startswith(t + "/") for t in targets) else a for a in entry]
    env = environment(svc)
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    print(f"running {' '.join(entry)} with {', '.join(sorted(env))} and mounts {', '.join(targets)}")
    r = subprocess.run(argv, env=env, cwd=workdir, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
