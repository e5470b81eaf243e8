#!/usr/bin/env bash
# Proves the checks catch mistakes: each case breaks a copy of a real file and
# asserts that the very check scripts/check-deploy.sh runs now FAILS (and, for
# the manifests, with the expected message). The untouched copies must pass,
# so a failure is caused by the breakage. Run: scripts/tests/test-negative.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../lib/checks.sh
source "$REPO_ROOT/scripts/lib/checks.sh"
export PATH="$PATH:/usr/sbin"

SCHEMAS="$SCHEMAS_DIR"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# expect_fail WHAT EXPECTED_TEXT CMD...: CMD must fail and print EXPECTED_TEXT.
expect_fail() {
  local what="$1" text="$2" out rc=0
  shift 2
  out="$("$@" 2>&1)" || rc=$?
  if [[ $rc -eq 0 ]]; then
    fail "$what: the check PASSED on a broken copy"
  elif [[ -n "$text" ]] && ! grep -qF -- "$text" <<<"$out"; then
    fail "$what: failed, but without '$text':"; tail -n 15 <<<"$out" | sed 's/^/      /'
  else
    pass "$what: caught ($(grep -F -m1 -- "${text:-}" <<<"$out" | cut -c1-150))"
  fi
}

expect_pass() {
  local what="$1" out
  shift
  if out="$("$@" 2>&1)"; then pass "$what"; else fail "$what"; tail -n 20 <<<"$out" | sed 's/^/      /'; fi
}

# yedit FILE PYTHON: edit the YAML documents of FILE; `docs` is the list.
yedit() {
  "$PYTHON" - "$1" "$2" <<'PY'
import sys, yaml
path, code = sys.argv[1], sys.argv[2]
docs = list(yaml.safe_load_all(open(path)))
exec(code)
open(path, "w").write(yaml.safe_dump_all(docs, sort_keys=False))
PY
}

# fresh_k8s: a pristine copy of k8s/ in $WORK/k8s-N; echoes its path.
fresh_k8s() {
  local d
  d="$(mktemp -d "$WORK/k8s.XXXXXX")"
  cp -R "$REPO_ROOT/k8s/." "$d/"
  echo "$d"
}

echo "== manifests (kubectl kustomize + schemas + cross-references)"
S="$REPO_ROOT/spin.toml"
expect_pass "pristine copy of k8s/ passes" check_k8s "$(fresh_k8s)" "$S" "$SCHEMAS"

# Overlays that kustomize cannot build, or builds it renders wrong.
d="$(fresh_k8s)"; printf 'resources:\n  - base\n' >"$d/kustomization.yaml"; sed -i 's#- ../../base$#- ../..#' "$d/overlays/staging/kustomization.yaml"
expect_fail "overlay inside the base it includes (the old layout)" "cycle detected" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; sed -i 's#- ../../base$#- ../../no-such-base#' "$d/overlays/production/kustomization.yaml"
expect_fail "overlay naming a base that does not exist" "kustomize cannot build" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; printf 'components:\n  - ../../components/no-such-component\n' >>"$d/overlays/production/kustomization.yaml"
expect_fail "overlay naming a component that does not exist" "kustomize cannot build" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; sed -i 's#path: /spec/minReplicas#path: /spec/minReplica#' "$d/overlays/staging/kustomization.yaml"
expect_fail "overlay patch on a misspelt field (kustomize adds it)" "minReplica" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; sed -i 's#path: /data/log_level#path: /data/loglevel#' "$d/overlays/staging/kustomization.yaml"
expect_fail "overlay patch on a misspelt ConfigMap key (kustomize adds it)" "key 'loglevel' is read by nothing" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; sed -i 's/value: 1$/value: 5/' "$d/overlays/staging/kustomization.yaml"
expect_fail "overlay patch making minReplicas > maxReplicas" "minReplicas 5 > maxReplicas 3" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; sed -i 's/name: car-api-config$/name: car-api-settings/' "$d/overlays/staging/kustomization.yaml"
expect_fail "overlay patch targeting nothing (kustomize says nothing)" "matches no object of the build" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; sed -i '/^namespace:/d' "$d/overlays/staging/kustomization.yaml"
expect_fail "overlay without a namespace" "sets no namespace" check_k8s "$d" "$S" "$SCHEMAS"

# Schemas (Kubernetes 1.30 strict, SpinKube CRDs) on the rendered objects.
d="$(fresh_k8s)"; yedit "$d/base/hpa.yaml" 'docs[0]["spec"]["minReplicas"] = "three"'
expect_fail "wrong type (HPA minReplicas: \"three\")" "at spec/minReplicas" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" 'del docs[0]["spec"]["image"]'
expect_fail "missing required field (SpinApp spec.image)" "'image' is a required property" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" 'docs[0]["spec"]["imagePullSecret"] = [{"name": "x"}]'
expect_fail "unknown field (SpinApp spec.imagePullSecret)" "imagePullSecret" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/ingress.yaml" 'docs[0]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].pop("port")'
expect_fail "missing required field (Ingress backend port)" "Ingress" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/redis.yaml" 'docs[0]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy_typo"] = "Always"'
expect_fail "unknown field (Deployment container)" "imagePullPolicy_typo" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/backup-cronjob.yaml" 'docs[1]["spec"]["accessModes"] = "ReadWriteOnce"'
expect_fail "wrong type (PersistentVolumeClaim accessModes)" "at spec/accessModes" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/networkpolicy.yaml" 'docs[0]["spec"]["ingress"][0]["ports"][0]["protocol_"] = "TCP"'
expect_fail "unknown field (NetworkPolicy port)" "protocol_" check_k8s "$d" "$S" "$SCHEMAS"

# The project's own rules.
d="$(fresh_k8s)"; yedit "$d/base/hpa.yaml" 'docs[0]["spec"]["scaleTargetRef"]["name"] = "car-api-v2"'
expect_fail "HPA targeting a wrong name" "scaleTargetRef" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/hpa.yaml" 'docs[0]["spec"]["scaleTargetRef"]["kind"] = "StatefulSet"'
expect_fail "HPA targeting a StatefulSet" "scaleTargetRef" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/hpa.yaml" 'docs[0]["spec"]["metrics"].append({"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}})'
expect_fail "HPA scaling on memory again" "CPU 70 % only" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" '[v for v in docs[0]["spec"]["variables"] if v["name"] == "jwt_secret_key"][0]["valueFrom"]["secretKeyRef"]["key"] = "jwt_secret"'
expect_fail "SpinApp variable reading a Secret key that does not exist" "has no key 'jwt_secret'" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" '[v for v in docs[0]["spec"]["variables"] if v["name"] == "log_level"][0]["valueFrom"]["configMapKeyRef"]["key"] = "loglevel"'
expect_fail "SpinApp variable reading a ConfigMap key that does not exist" "has no key 'loglevel'" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" '[v for v in docs[0]["spec"]["variables"] if v["name"] == "log_level"][0]["name"] = "loglevel"'
expect_fail "SpinApp variable not in spin.toml" "not a variable of spin.toml" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" 'v = [v for v in docs[0]["spec"]["variables"] if v["name"] == "jwt_secret_key"][0]; v.pop("valueFrom"); v["value"] = "literal"'
expect_fail "secret variable given as a literal" "must come from a Secret" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" 'docs[0]["spec"]["replicas"] = 3'
expect_fail "replicas set next to enableAutoscaling" "replicas must not be set" check_k8s "$d" "$S" "$SCHEMAS"
# /metrics holds each pod's own counters: every pod scraped, each once.
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" 'del docs[0]["spec"]["podAnnotations"]'
expect_fail "pods without the per-pod scrape annotations (the old scrape-the-Service-once setup)" "podAnnotations prometheus.io/scrape is None" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" 'docs[0]["spec"]["podAnnotations"]["prometheus.io/scrape"] = "false"'
expect_fail "pods opted out of scraping" "every pod must be scraped" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" 'docs[0]["spec"]["podAnnotations"]["prometheus.io/port"] = "3000"'
expect_fail "pod scrape annotation on a port the pod does not serve" "prometheus.io/port is '3000'" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp.yaml" 'docs[0]["spec"]["serviceAnnotations"] = {"prometheus.io/scrape": "true"}'
expect_fail "Service annotated for scraping too (every pod scraped twice)" "double counts in sum()" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/spinapp-executor.yaml" 'del docs[0]["metadata"]["labels"]["app.kubernetes.io/component"]'
expect_fail "executor without the label deploy.sh applies first" "component=executor" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/ingress.yaml" 'docs[0]["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/"'
expect_fail "Ingress routing / (and so /metrics) to the public" "routes /metrics to the public" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/ingress.yaml" 'docs[0]["spec"]["rules"][0]["http"]["paths"][2].update({"path": "/metrics", "pathType": "Exact"})'
expect_fail "Ingress routing /metrics exactly" "routes /metrics to the public" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/ingress.yaml" 'docs[0]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"] = 8080'
expect_fail "Ingress backend on a port the Service lacks" "listens on port 80" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/ingress.yaml" 'docs[0]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "car-api-svc"'
expect_fail "Ingress backend naming no Service" "neither a Service nor a SpinApp" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/base/migrate-job.yaml" 'docs[0]["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"] = "db-secrets"'
expect_fail "Job env from a Secret that does not exist" "Secret 'db-secrets' does not exist" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; sed -i 's#redis://car-api-redis:6379#redis://redis:6379#' "$d/base/runtime-config.toml"
expect_fail "runtime config pointing at a Redis Service that does not exist" "Redis host 'redis'" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; printf '[key_value_store.metrics]\ntype = "redis"\nurl = "redis://car-api-redis:6379"\n' >"$d/base/runtime-config.toml.new"
sed '/^\[key_value_store.metrics\]/,$d' "$d/base/runtime-config.toml" >>"$d/base/runtime-config.toml.new"; mv "$d/base/runtime-config.toml.new" "$d/base/runtime-config.toml"
expect_fail "metrics counters back in Redis while every pod is scraped (counted once per pod)" "key_value_store.metrics must be type spin" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; yedit "$d/components/pgbouncer/pgbouncer.yaml" 'docs[1]["spec"]["selector"]["app.kubernetes.io/component"] = "pgbouncr"'
expect_fail "component Service selecting no pods" "matches no workload" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; echo "# drift" >>"$d/base/backup/backup.sh"
expect_fail "CronJob's backup script differs from scripts/backup.sh" "differs from" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; sed -i 's/CHANGE_ME_AT_LEAST_32_RANDOM_BYTES/real-looking-secret-value-123456789012/' "$d/secret.template.yaml"
expect_fail "Secret template with a real-looking value" "not a CHANGE_ME placeholder" check_k8s "$d" "$S" "$SCHEMAS"
d="$(fresh_k8s)"; cp "$d/base/hpa.yaml" "$d/base/hpa-old.yaml"
expect_fail "manifest file no kustomization applies" "is in no build" check_k8s "$d" "$S" "$SCHEMAS"

expect_fail "vendored schemas absent" "schema folder not found" check_k8s "$(fresh_k8s)" "$S" "$WORK/no-schemas"

echo "== workflows (actionlint)"
mkdir -p "$WORK/wf"
cp "$REPO_ROOT/.github/workflows/ci.yml" "$WORK/wf/ci.yml"
expect_pass "pristine ci.yml passes actionlint" check_workflows "$WORK/wf"
sed -i 's/needs: \[build-push, verify-artifacts\]/needs: [build-push, no-such-job]/' "$WORK/wf/ci.yml" 2>/dev/null || true
cat >>"$WORK/wf/ci.yml" <<'YAML'
  broken:
    runs-on: ubuntu-24.04
    needs: no-such-job
    steps:
      - run: echo "${{ github.no_such_property }}"
YAML
expect_fail "workflow with an unknown job in needs and a bad expression" "no-such-job" check_workflows "$WORK/wf"

echo "== shell scripts (shellcheck)"
cp "$REPO_ROOT/scripts/backup.sh" "$WORK/backup.sh"
expect_pass "pristine backup.sh passes shellcheck" check_shell "$WORK/backup.sh"
# shellcheck disable=SC2016 # the $ are meant literally
sed -i 's|^mkdir -p "$BACKUP_DIR"$|mkdir -p $BACKUP_DIR; cd $BACKUP_DIR|' "$WORK/backup.sh"
expect_fail "script with unquoted variables and an unchecked cd" "SC2086" check_shell "$WORK/backup.sh"

echo "== alert rules (promtool)"
mkdir -p "$WORK/prom"
cp "$REPO_ROOT"/monitoring/prometheus/car-api-rules*.yml "$WORK/prom/"
expect_pass "pristine rules pass" check_rules "$WORK/prom/car-api-rules.yml" "$WORK/prom/car-api-rules.test.yml"
cp "$WORK/prom/car-api-rules.yml" "$WORK/prom/good.yml"
sed -i 's/expr: job:http_requests_5xx:ratio_rate5m > 0.05/expr: sum(rate(http_requests_total[5m]) > 0.05/' "$WORK/prom/car-api-rules.yml"
expect_fail "rule with a PromQL syntax error" "parse error" check_rules "$WORK/prom/car-api-rules.yml" "$WORK/prom/car-api-rules.test.yml"
cp "$WORK/prom/good.yml" "$WORK/prom/car-api-rules.yml"
sed -i 's/ratio_rate5m > 0.05/ratio_rate5m > 0.5/' "$WORK/prom/car-api-rules.yml"
expect_fail "rule whose threshold no longer fires in the unit test" "FAILED" check_rules "$WORK/prom/car-api-rules.yml" "$WORK/prom/car-api-rules.test.yml"
cp "$WORK/prom/good.yml" "$WORK/prom/car-api-rules.yml"
sed -i 's/absent(up{job="car-api"} == 1)/absent(up{job="car-api"})/' "$WORK/prom/car-api-rules.yml"
expect_fail "missing-scrape alert blind to a failing scrape (up == 0)" "FAILED" check_rules "$WORK/prom/car-api-rules.yml" "$WORK/prom/car-api-rules.test.yml"

cp "$WORK/prom/good.yml" "$WORK/prom/car-api-rules.yml"
sed -i 's/expr: up{job="car-api"} == 0$/expr: sum(up{job="car-api"}) == 0/' "$WORK/prom/car-api-rules.yml"
expect_fail "target-down alert blind to one pod of several failing" "FAILED" check_rules "$WORK/prom/car-api-rules.yml" "$WORK/prom/car-api-rules.test.yml"
cp "$WORK/prom/good.yml" "$WORK/prom/car-api-rules.yml"
sed -i 's/(login_throttle_unavailable_total{job="car-api"}\[5m\])) > 0$/(login_throttle_unavailable_total{job="car-api"}[5m])) > 10/' "$WORK/prom/car-api-rules.yml"
expect_fail "login-throttle alert that no longer fires on refused logins" "FAILED" check_rules "$WORK/prom/car-api-rules.yml" "$WORK/prom/car-api-rules.test.yml"
cp "$WORK/prom/good.yml" "$WORK/prom/car-api-rules.yml"
sed -i 's/expr: sum(increase(login_throttle_unavailable_total{job="car-api"}\[5m\])) > 0$/expr: sum(login_throttle_unavailable_total{job="car-api"}) > 0/' "$WORK/prom/car-api-rules.yml"
expect_fail "login-throttle alert on the raw counter (fires on old refusals)" "FAILED" check_rules "$WORK/prom/car-api-rules.yml" "$WORK/prom/car-api-rules.test.yml"

echo "== example scrape config (each car-api pod scraped once)"
SC="$REPO_ROOT/scripts/tests/scrape_config_check.py"
cp "$REPO_ROOT/monitoring/prometheus/prometheus.example.yml" "$WORK/prom/prometheus.example.yml"
expect_pass "pristine scrape config passes" "$PYTHON" "$SC" "$WORK/prom/prometheus.example.yml" "$REPO_ROOT/k8s/base/spinapp.yaml" --promtool
yedit "$WORK/prom/prometheus.example.yml" 'j = docs[0]["scrape_configs"][0]; j.pop("kubernetes_sd_configs"); j["relabel_configs"] = []; j["static_configs"] = [{"targets": ["car-api.car-api.svc:80"]}]'
expect_fail "scrape config back to the Service once (one random replica per scrape)" "must discover pods" "$PYTHON" "$SC" "$WORK/prom/prometheus.example.yml" "$REPO_ROOT/k8s/base/spinapp.yaml"
cp "$REPO_ROOT/monitoring/prometheus/prometheus.example.yml" "$WORK/prom/prometheus.example.yml"
sed -i '/__meta_kubernetes_pod_label_core_spinkube_dev_app_name\]/,+2d' "$WORK/prom/prometheus.example.yml"
expect_fail "scrape config keeping any annotated pod (other apps summed in)" "another SpinApp would be scraped" "$PYTHON" "$SC" "$WORK/prom/prometheus.example.yml" "$REPO_ROOT/k8s/base/spinapp.yaml"
cp "$REPO_ROOT/monitoring/prometheus/prometheus.example.yml" "$WORK/prom/prometheus.example.yml"
sed -i '/__meta_kubernetes_pod_container_port_name\]/,+2d' "$WORK/prom/prometheus.example.yml"
expect_fail "scrape config with one target per container port" "gives 2 targets" "$PYTHON" "$SC" "$WORK/prom/prometheus.example.yml" "$REPO_ROOT/k8s/base/spinapp.yaml"
cp "$REPO_ROOT/monitoring/prometheus/prometheus.example.yml" "$WORK/prom/prometheus.example.yml"
sed -i 's/action: keep/action: keepp/' "$WORK/prom/prometheus.example.yml"
expect_fail "scrape config promtool refuses (unknown relabel action)" "promtool check config failed" "$PYTHON" "$SC" "$WORK/prom/prometheus.example.yml" "$REPO_ROOT/k8s/base/spinapp.yaml" --promtool

echo "== dashboard"
cp "$REPO_ROOT/monitoring/grafana/car-api-dashboard.json" "$WORK/dash.json"
expect_pass "pristine dashboard passes" check_dashboard "$WORK/dash.json"
sed -i 's/database_queries_total/db_queries_total/' "$WORK/dash.json"
expect_fail "dashboard querying an unknown metric" "unknown metric 'db_queries_total'" check_dashboard "$WORK/dash.json"
cp "$REPO_ROOT/monitoring/grafana/car-api-dashboard.json" "$WORK/dash.json"
sed -i 's/histogram_quantile(0.95, sum by (le) (rate(/histogram_quantile(0.95, sum by (le) (rate((/' "$WORK/dash.json"
expect_fail "dashboard query with a PromQL syntax error" "promtool cannot parse" check_dashboard "$WORK/dash.json"

echo "== Dockerfile (hadolint)"
cp "$REPO_ROOT/migrator/Dockerfile" "$WORK/Dockerfile"
expect_pass "pristine Dockerfile passes" check_dockerfile "$WORK/Dockerfile"
printf 'FROM debian:latest\nRUN apt-get update && apt-get install curl\nUSER root\n' >"$WORK/Dockerfile"
expect_fail "Dockerfile with an untagged base and unpinned apt" "DL3007" check_dockerfile "$WORK/Dockerfile"

echo "== single-host stack (docker-compose config, nginx -t)"
cp -R "$REPO_ROOT/deploy" "$WORK/deploy"
mkdir -p "$WORK/scripts" && cp "$REPO_ROOT/scripts/backup.sh" "$WORK/scripts/"
expect_pass "pristine compose.yaml passes" check_compose "$WORK/deploy/compose.yaml" "$WORK/deploy/.env.example"
yedit "$WORK/deploy/compose.yaml" 'docs[0]["services"]["app"]["depends_on"]["migrator"] = {"condition": "service_completed_successfully"}'
expect_fail "compose depending on a service that does not exist" "migrator" check_compose "$WORK/deploy/compose.yaml" "$WORK/deploy/.env.example"
cp "$REPO_ROOT/deploy/compose.yaml" "$WORK/deploy/compose.yaml"
grep -v '^JWT_SECRET_KEY=' "$REPO_ROOT/deploy/.env.example" >"$WORK/deploy/.env.example"
expect_fail "compose without a required variable" "JWT_SECRET_KEY" check_compose "$WORK/deploy/compose.yaml" "$WORK/deploy/.env.example"
expect_pass "pristine nginx config passes" check_nginx "$WORK/deploy/nginx"
sed -i 's/limit_req zone=api burst=20 nodelay;/limit_req zone=apii burst=20 nodelay;/' "$WORK/deploy/nginx/nginx.conf"
expect_fail "nginx config using an undefined rate-limit zone" "apii" check_nginx "$WORK/deploy/nginx"

finish
