# The two commands of this project:
#   make up    — build and serve the app (embedded SQLite, nothing to configure)
#   make test  — every test: units, migrator, devhost, end-to-end over HTTP on SQLite
#                and PostgreSQL, and the deployment checks
# Spin's own conventions apply: variables as SPIN_VARIABLE_<NAME>, the address as
# SPIN_HTTP_LISTEN_ADDR.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
COMPONENTS := health auth cars
WASM_BUILD := $(CARGO) build --target wasm32-wasip2 --profile wasm $(addprefix -p ,$(COMPONENTS))
SPIN_HTTP_LISTEN_ADDR ?= 127.0.0.1:3000
export SPIN_HTTP_LISTEN_ADDR
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
# Two tests at a time per test binary, whatever the core count: each end-to-end app pools
# up to 64 PostgreSQL connections, and the shared server allows 100.
export RUST_TEST_THREADS ?= 2

.PHONY: help wasm-target wasm-probe fuzz up build wasm native test test-rust check-deploy lint fmt clippy migrate soak bench clean

help:
	@echo "make up      build and serve on http://$(SPIN_HTTP_LISTEN_ADDR) (SQLite by default)"
	@echo "make test    run every test (needs PostgreSQL at TEST_DATABASE_URL)"
	@echo "make lint    cargo fmt --check and clippy -D warnings (native and wasm)"
	@echo "make soak    5-minute mixed load at 64 connections (PostgreSQL)"
	@echo "make bench   the benchmark of docs/performance.md"

# Installs the wasm target when missing (rustup is the only toolchain manager here).
wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

wasm: wasm-target
	$(WASM_BUILD)

native:
	$(CARGO) build --release -p devhost -p migrator

build: wasm native

# A local JWT secret, generated once into a git-ignored file when none is configured.
.secrets/jwt_secret_key:
	@mkdir -p .secrets && chmod 700 .secrets
	@head -c 48 /dev/urandom | base64 | tr -d '\n=+/' > $@ && chmod 600 $@
	@echo "generated a local JWT secret in $@"

# .spin/ holds the SQLite database and the key-value file (password hashes, personal
# data): created 0700, and everything in it 0600 (umask 077).
migrate: native
	umask 077; mkdir -p -m 700 .spin; chmod 700 .spin; \
	DATABASE_URL="$${SPIN_VARIABLE_DATABASE_URL:-sqlite://default}" $(TARGET_DIR)/release/migrator up

up: build .secrets/jwt_secret_key migrate
	@umask 077; mkdir -p -m 700 .spin; chmod 700 .spin; \
	export SPIN_VARIABLE_JWT_SECRET_KEY="$${SPIN_VARIABLE_JWT_SECRET_KEY:-$$(cat .secrets/jwt_secret_key)}"; \
	if [ "$${APP_RUNNER:-}" != devhost ] && command -v spin >/dev/null 2>&1; then \
	  echo "serving with spin"; \
	  exec spin up --runtime-config-file runtime-config.toml --listen "$(SPIN_HTTP_LISTEN_ADDR)"; \
	else \
	  echo "spin is not installed: serving with devhost"; \
	  exec $(TARGET_DIR)/release/devhost up --runtime-config-file runtime-config.toml --listen "$(SPIN_HTTP_LISTEN_ADDR)"; \
	fi

# Release profile throughout. `cargo test --workspace` also builds the devhost and
# migrator binaries (their own integration tests need them), with the same feature set
# as the tests, so wasmtime is compiled once; the end-to-end tests then run that devhost.
test: wasm wasm-probe test-rust fuzz check-deploy

wasm-probe: wasm-target
	$(CARGO) build --target wasm32-wasip2 --profile wasm -p devhost-probe

test-rust:
	$(CARGO) test --release --workspace $(addprefix --exclude ,$(COMPONENTS)) --exclude devhost-probe

# schemathesis over /openapi.json: >= 1,000 authenticated cases, no 5xx, no response
# that violates the document. Runs the devhost and migrator `test-rust` just built.
fuzz:
	FUZZ_SKIP_BUILD=1 bash scripts/fuzz.sh

check-deploy:
	bash scripts/check-deploy.sh

fmt:
	$(CARGO) fmt --all

lint: wasm-target
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --target wasm32-wasip2 $(addprefix -p ,$(COMPONENTS)) -p devhost-probe -- -D warnings

soak: build
	bash scripts/soak.sh

bench: build
	bash bench/run.sh

clean:
	$(CARGO) clean
	rm -rf .spin
