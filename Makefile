# Tessera: `make run` serves the app, `make test` runs every test. Both install what they need first.

SHELL := /bin/bash
.DEFAULT_GOAL := run

# CI keeps build output outside the clone, so repeated runs are incremental.
ifeq ($(CI),true)
CARGO_TARGET_DIR ?= $(HOME)/.cache/tessera/target
else
CARGO_TARGET_DIR ?= $(CURDIR)/target
endif
export CARGO_TARGET_DIR
# npm's wasm-opt (binaryen) first on PATH: cargo-leptos needs one for --release, and Debian's breaks hydration.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

BIN := $(CARGO_TARGET_DIR)/release/tessera
# What cargo-leptos sets when it compiles the server (see `cargo leptos build -vv`); `make bench` builds its
# examples with the same, so they reuse the release build instead of recompiling the server crate.
LEPTOS_BUILD_ENV := LEPTOS_OUTPUT_NAME=tessera LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
	LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=frontend LEPTOS_BIN_DIR=server \
	LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false
ADDR ?= 127.0.0.1:3000
DATABASE_URL ?= sqlite://data/tessera.db

.PHONY: run build test test-rust test-e2e test-api-schema test-soak soak fuzz lint setup setup-test screenshots bench clean

setup:
	@.ci/setup build

setup-test:
	@.ci/setup test

## build: the release binary, with the site (WASM, JS, CSS) embedded, each file also precompressed (brotli
## quality 11 and gzip) for the binary to serve. Precompressing also makes cargo-leptos compile the server only
## after the site is finished, so the binary embeds this build's site. `--split` cuts the signed-in pages out of
## the main WASM into modules of their own, fetched when first shown (a build without it does not load).
# The release build runs only when one of its sources changed since the binary was made: a second `make run`
# with nothing changed starts the server at once, instead of cargo-leptos regenerating the site (about a minute)
# and relinking the server.
SOURCES := $(shell find app frontend server style public -type f -not -path '*/tests/*' 2>/dev/null) \
	Cargo.toml Cargo.lock Leptos.toml rust-toolchain.toml .cargo/config.toml

build: setup $(BIN)
	@echo "built $(BIN)"

$(BIN): $(SOURCES)
	cargo leptos build --release --precompress --split
	@touch $@

## run: build, then serve on http://$(ADDR) with the database under ./data/.
run: build
	@mkdir -p data
	$(BIN) serve --addr $(ADDR) --database-url $(DATABASE_URL)

## test: lint, unit and integration tests, then the browser tests and the schema-driven API attack against the
## release binary.
test: setup-test lint test-rust build test-e2e test-api-schema test-soak

lint:
	cargo fmt --all -- --check
	cargo clippy --package app --package tessera --all-targets -- -D warnings
	cargo clippy --package frontend --target wasm32-unknown-unknown -- -D warnings

# The integration suite (server/tests/api) runs twice from the same code: on SQLite, then on a throw-away
# PostgreSQL cluster the tests start and stop themselves.
test-rust:
	cargo test --package app --package tessera
	TESSERA_TEST_BACKEND=postgres cargo test --package tessera --test api

# Every journey on SQLite, then the core ones (sign in, create, revoke, the CLI's account) on a throw-away
# PostgreSQL.
test-e2e:
	end2end/run.sh $(BIN)
	E2E_BACKEND=postgres end2end/run.sh $(BIN) sign_in create_token_with_mouse revoke_one_token passkeys

# The native API attacked from its OpenAPI document by schemathesis (bounded here; `make fuzz` runs more).
test-api-schema:
	scripts/schemathesis.sh $(BIN) 25

## fuzz: a minute of cargo fuzz on each parser (nightly toolchain; new inputs join fuzz/corpus/), then the
## schema-driven API attack with many more examples. Several minutes; not part of `make test`, which replays the
## stored corpus (app/tests/fuzz_corpus.rs) and runs the attack with fewer examples.
FUZZ_TARGETS := token_secret authorization allowlist expiry names privileges forwarded parameters
FUZZ_SECONDS ?= 60
fuzz: build setup-test
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	cd fuzz && for target in $(FUZZ_TARGETS); do \
		cargo +nightly fuzz run $$target corpus/$$target -- -max_total_time=$(FUZZ_SECONDS) -max_len=4096 || exit 1; \
	done
	scripts/schemathesis.sh $(BIN) 500

# Two minutes of mixed traffic: memory and descriptors flat, no failed request (`make soak` runs thirty).
test-soak:
	@dir=$$(mktemp -d -t tessera-soak-report.XXXXXX); scripts/soak.sh $(BIN) 120 "$$dir/SOAK.md"; \
	status=$$?; rm -rf "$$dir"; exit $$status

## soak: thirty minutes of mixed traffic against the release binary; writes bench/SOAK.md and its plot.
soak: build setup-test
	scripts/soak.sh $(BIN) 1800 bench/SOAK.md

## screenshots: refresh the README's screenshots from the last release build.
screenshots:
	@mkdir -p docs/screenshots
	TESSERA_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots end2end/run.sh $(BIN) 'readme_screenshots|two_factor_sign_in'

## bench: how fast tokens are verified: the release server with 100k tokens, loaded with wrk over loopback;
## writes bench/RESULTS.md (a few minutes; not part of `make test`).
bench: build
	@.ci/setup bench
	env $(LEPTOS_BUILD_ENV) cargo build --package=tessera --examples --no-default-features --release
	bench/run.sh $(BIN) $(CARGO_TARGET_DIR)/release/examples

clean:
	cargo clean
