#!/usr/bin/env python3
"""Every Docker build of the repository keeps secrets and personal data out of its
context, and still gets the files it needs.

Builds are read from deploy/compose.yaml (services.*.build), the workflows
(docker/build-push-action steps) and `docker build` lines in scripts/*.sh. Every
Dockerfile tracked by git must appear in one of them. For each build, the ignore
file Docker uses (<Dockerfile>.dockerignore next to the Dockerfile when present,
else <context>/.dockerignore) is read and applied the way Docker applies it:

  - one pattern per line, `#` comments, `!` re-includes, leading `/` and `./`
    dropped, trailing `/` dropped (Go's filepath.Clean);
  - `*` and `?` stay inside one path segment, `[...]` is a class, `**` spans any
    number of segments (`**/x` also matches a top-level `x`);
  - a path is excluded when the last pattern matching it, or matching one of its
    parent folders, is not a `!` pattern.

Then SENSITIVE (relative to the context) must all be excluded, and every tracked
file in the context must be included, except ALLOWED_EXCLUDED.

With --cross-check, the same verdicts are asked of docker-py's own matcher
(docker.utils.build.exclude_paths, what docker-compose 1.x sends builds with) on
a scratch tree holding those paths, when the docker package is importable; any
disagreement is a failure.

Usage: dockerignore_check.py [--root DIR] [--tracked FILE] [--cross-check]
  --tracked: the list of tracked files, one per line (default: git ls-files in DIR)
"""
import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

# Paths that must never reach a builder (relative to the build context).
SENSITIVE = [
    ".env",
    "deploy/.env",
    ".env.local",
    "deploy/.env.production",
    ".secrets/jwt_secret_key",
    "deploy/certs/privkey.pem",
    "deploy/certs/fullchain.pem",
    "certs/server.pem",
    "tls/server.key",
    "deploy/nginx/private.key",
    "client.p12",
    "backups/car-api_20260101T021500Z.sql.gz",
    "deploy/backups/car-api_20260101T021500Z.sql.gz",
    "some/where/else/backups/notes.txt",
    "car-api.sql.gz",
    "var/car_api.dump",
    ".spin/sqlite_db.db",
    ".spin/sqlite_key_value.db",
    "migrator/.spin/sqlite_db.db",
    "data.db",
    "data.db-wal",
]

# Tracked files a build may go without.
ALLOWED_EXCLUDED = {"deploy/.env.example"}


def pattern_regex(pattern: str) -> re.Pattern:
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                if body.startswith("!") or body.startswith("^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def clean(pattern: str) -> str:
    parts = []
    for part in pattern.split("/"):
        if part in ("", "."):
            continue
        if part == ".." and parts:
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def load_rules(path: Path):
    rules = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:].strip()
        line = clean(line)
        if line:
            rules.append((negate, line, pattern_regex(line)))
    return rules


def excluded(rules, path: str) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    verdict = False
    for negate, _, rx in rules:
        if any(rx.match(p) for p in prefixes):
            verdict = not negate
    return verdict


def docker_py_excluded(ignore: Path, paths):
    """The set of PATHS docker-py's matcher excludes, or None without docker-py."""
    try:
        from docker.utils.build import exclude_paths
    except ImportError:
        return None
    patterns = [l.strip() for l in ignore.read_text().splitlines() if l.strip() and not l.strip().startswith("#")]
    with tempfile.TemporaryDirectory() as tmp:
        for p in paths:
            f = Path(tmp) / p
            f.parent.mkdir(parents=True, exist_ok=True)
            f.touch()
        kept = set(exclude_paths(tmp, patterns))
    return {p for p in paths if p not in kept}


def builds(root: Path):
    """(Dockerfile, context, where) of every build found, paths relative to root."""
    found = []
    compose = root / "deploy" / "compose.yaml"
    if compose.is_file():
        doc = yaml.safe_load(compose.read_text()) or {}
        for name, svc in (doc.get("services") or {}).items():
            b = (svc or {}).get("build")
            if b is None:
                continue
            if isinstance(b, str):
                b = {"context": b}
            ctx = (compose.parent / b.get("context", ".")).resolve()
            df = (ctx / b.get("dockerfile", "Dockerfile")).resolve()
            found.append((df, ctx, f"deploy/compose.yaml service {name}"))
    for wf in sorted((root / ".github" / "workflows").glob("*.y*ml")):
        doc = yaml.safe_load(wf.read_text()) or {}
        for job_name, job in (doc.get("jobs") or {}).items():
            for step in (job or {}).get("steps") or []:
                if not str(step.get("uses", "")).startswith("docker/build-push-action"):
                    continue
                w = step.get("with") or {}
                ctx = (root / str(w.get("context", "."))).resolve()
                df = (root / str(w["file"])).resolve() if "file" in w else ctx / "Dockerfile"
                found.append((df, ctx, f"{wf.relative_to(root)} job {job_name}"))
    rx = re.compile(r'docker build -f "\$REPO_ROOT/([^"]+)".*"\$REPO_ROOT(/[^"]*)?"\s*$')
    for sh in sorted((root / "scripts").glob("*.sh")):
        for line in sh.read_text().splitlines():
            m = rx.search(line)
            if m:
                found.append(((root / m.group(1)).resolve(), (root / (m.group(2) or "/").lstrip("/")).resolve(),
                              f"{sh.relative_to(root)}"))
    return found


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    ap.add_argument("--tracked", type=Path)
    ap.add_argument("--cross-check", action="store_true")
    args = ap.parse_args()
    root = args.root.resolve()
    if args.tracked:
        tracked = [l for l in args.tracked.read_text().splitlines() if l]
    else:
        tracked = subprocess.run(["git", "-C", str(root), "ls-files"], check=True,
                                 capture_output=True, text=True).stdout.splitlines()

    failures = 0

    def fail(msg):
        nonlocal failures
        failures += 1
        print(f"FAIL  {msg}")

    found = builds(root)
    dockerfiles = [t for t in tracked if re.search(r"dockerfile", Path(t).name, re.I)
                   and not Path(t).name.lower().endswith(".dockerignore")]
    built = {df for df, _, _ in found}
    for d in dockerfiles:
        if (root / d).resolve() not in built:
            fail(f"{d}: no build of it found (compose, workflows, scripts): its context is unchecked")
    if not found:
        fail("no Docker build found")

    places: dict[tuple[Path, Path], list[str]] = {}
    for df, ctx, where in found:
        places.setdefault((df, ctx), []).append(where)
    for (df, ctx), wheres in places.items():
        where = "; ".join(wheres)
        rel_df = df.relative_to(root) if df.is_relative_to(root) else df
        rel_ctx = ctx.relative_to(root) if ctx.is_relative_to(root) else ctx
        label = f"{rel_df} with context {rel_ctx or '.'} ({where})"
        specific = df.parent / (df.name + ".dockerignore")
        ignore = specific if specific.is_file() else ctx / ".dockerignore"
        if not ignore.is_file():
            fail(f"{label}: no {ignore.relative_to(root)}: the whole folder is sent to the builder")
            continue
        rules = load_rules(ignore)
        print(f"{label}: {ignore.relative_to(root)}, {len(rules)} rules")
        for p in SENSITIVE:
            if excluded(rules, p):
                print(f"ok    excluded: {p}")
            else:
                fail(f"{p} would be sent to the builder ({ignore.relative_to(root)}; build {label})")
        prefix = "" if ctx == root else str(ctx.relative_to(root)) + "/"
        in_ctx = [t[len(prefix):] for t in tracked if t.startswith(prefix)]
        dropped = sorted(t for t in in_ctx if excluded(rules, t))
        unexpected = [t for t in dropped if prefix + t not in ALLOWED_EXCLUDED]
        for t in unexpected:
            fail(f"tracked file {t} is excluded, the build may need it (build {label})")
        print(f"ok    {len(in_ctx) - len(dropped)} of {len(in_ctx)} tracked files sent; "
              f"excluded: {', '.join(dropped) or 'none'}")
        if args.cross_check:
            paths = sorted(set(SENSITIVE) | set(in_ctx))
            theirs = docker_py_excluded(ignore, paths)
            if theirs is None:
                print("note  docker-py is not importable: no cross-check")
            else:
                ours = {p for p in paths if excluded(rules, p)}
                for p in sorted(ours ^ theirs):
                    fail(f"{p}: this check says {'excluded' if p in ours else 'sent'}, docker-py says "
                         f"{'excluded' if p in theirs else 'sent'}")
                if ours == theirs:
                    print(f"ok    docker-py's matcher agrees on all {len(paths)} paths")

    if failures:
        print(f"{failures} failure(s)")
        return 1
    print("dockerignore: every build context keeps secrets, keys and backups out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
