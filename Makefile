# headroom: `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_MODULES := node_modules/.package-lock.json
BUILD_STAMP := dist/.built
SOURCES := $(shell find exporter dashboards alerting-rules test bench -name '*.ts' 2>/dev/null) tsconfig.json
ARGS ?=

.PHONY: help run test build install system-deps generate generate-rules

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_MODULES) ## Install the npm dependencies

$(BUILD_STAMP): $(NODE_MODULES) $(SOURCES)
	npx tsc -p tsconfig.json
	@touch $@

build: $(BUILD_STAMP) ## Compile the TypeScript

system-deps: ## Install the Debian packages the tests use (Prometheus, Alertmanager, PostgreSQL, ...)
	bash scripts/install-system-deps.sh

run: build ## Build and start the exporter on 127.0.0.1:9477 (ARGS="--flag=value ...")
	node dist/exporter/src/cli.js $(ARGS)

generate: generate-rules ## Regenerate the committed generated files (alert rules, Alertmanager config, ...)

generate-rules: build ## Regenerate alerting-rules/headroom.rules.yml and alertmanager.yml from exporter/src/thresholds.ts
	node dist/alerting-rules/generate.js

test: system-deps build ## Install what the tests need and run every test suite
	node scripts/run-tests.mjs
