# litepool — one SQLite pool core, bindings for C, Python and Node.
# `make help` lists the targets. `make test` and `make demo` work on a fresh
# machine with only cargo, python3, node and gcc: they install the rest.

SHELL := /bin/bash
PREFIX ?= /usr/local
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: help deps build lint test test-rust test-c test-python test-node test-examples test-readme package demo demo-core bench install header clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

deps: ## install system packages the build needs (libsqlite3-dev, pkg-config, valgrind)
	@bash scripts/deps.sh

build: deps ## build every crate (debug)
	$(CARGO) build --workspace

lint: deps ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: deps lint test-rust test-c test-python test-node test-examples test-readme package ## every suite: Rust, C, Python, Node, examples, README quick starts
	@echo "make test: all suites passed"

test-rust: deps ## Rust unit, integration and doc tests (and the core's tracing feature)
	$(CARGO) test --workspace
	$(CARGO) test -p litepool --features tracing --test tracing_spans

test-c: deps ## C ABI tests (warnings as errors, valgrind, ASan/UBSan)
	bash tests/c/run.sh

test-python: deps ## Python bindings: build into .venv, run pytest
	bash bindings-python/run-tests.sh

test-node: deps ## Node bindings: napi build, node --test
	bash bindings-node/run-tests.sh

test-examples: deps ## the quota-proxy service, its Python/C companions, the tenant service
	bash examples/run-tests.sh

test-readme: deps ## run every README block marked runnable (scripts/check-readme.py), after the documented builds
	bash scripts/test-readme.sh

package: deps ## build and check the crate, the wheel and the npm tarball (scripts/package.sh); publishes nothing
	bash scripts/package.sh

demo: deps ## the main job: quota-proxy and the 200-tenant service on litepool under load, pools visible
	bash scripts/demo.sh

demo-core: deps ## the Rust-only demo: a mixed workload through the pool, stats and metrics
	$(CARGO) run --release -p litepool --example demo

bench: deps ## run every benchmark and rewrite BENCHMARKS.md
	bash scripts/bench.sh

header: ## regenerate include/litepool.h with cbindgen
	bash scripts/gen-header.sh

install: deps ## install liblitepool.so.0.1.0 (SONAME .so.0, links), .a, litepool.h, litepool.pc under PREFIX (default /usr/local)
	bash scripts/install.sh "$(PREFIX)"

clean: ## remove build output
	$(CARGO) clean
	rm -rf .venv bindings-node/node_modules
