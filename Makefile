# headroom: `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_MODULES := node_modules/.package-lock.json
BUILD_STAMP := dist/.built
SOURCES := $(shell find exporter dashboards alerting-rules test bench -name '*.ts' 2>/dev/null) tsconfig.json
ARGS ?=

.PHONY: help run test build install system-deps generate generate-rules

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F ':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

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

.PHONY: soak
soak: build ## Ten-minute soak: scrapes every 100 ms and writes; RSS and fd figures (ARGS="--duration=20m --warmup=2m")
	node scripts/soak.mjs $(ARGS)

.PHONY: bench
bench: build ## Benchmark against node_exporter and process-exporter, as root (QUICK=1: about a minute)
	QUICK=$(QUICK) node dist/bench/run.js

# The local stack (compose/docker-compose.yml). Its sizes, first found wins: the environment or make's
# command line (MEMORY_LIMIT=3072M), then $(ENV_FILE) (written by make tune), then SIZE, then medium.
COMPOSE ?= docker compose
SIZE ?=
ENV_FILE ?= .env
STACK = $(COMPOSE) -p headroom -f compose/docker-compose.yml $(if $(wildcard $(ENV_FILE)),--env-file $(ENV_FILE))

.PHONY: up down logs ps generate-compose

up: build ## Start the local stack on 127.0.0.1 (SIZE=small|medium|large; .env from make tune overrides it)
	@sizes="$$(node compose/stack-env.mjs --size='$(SIZE)' --env-path='$(ENV_FILE)')" && echo "sizes:" $$sizes && env $$sizes $(STACK) up -d --build

down: ## Stop the local stack, keeping its volumes (ARGS=-v removes them)
	$(STACK) down $(ARGS)

logs: ## Follow the local stack's logs (ARGS=SERVICE for one)
	$(STACK) logs -f $(ARGS)

ps: ## List the local stack's containers and their health
	$(STACK) ps

generate: generate-compose
generate-compose: build ## Regenerate compose/alertmanager.yml (the stack's mail catcher and SMS stand-in) with alerting-rules/generate.ts
	set -a && . compose/alertmanager-site.env && set +a && node dist/alerting-rules/generate.js --alertmanager-site-from-env --out=compose/alertmanager.yml

# Dashboards and the deployment-size recommender (dashboards/, exporter/src/recommend/).
generate: generate-dashboards
generate-dashboards: build ## Regenerate dashboards/json/, the Grafana provisioning files and alerting-rules/recommendation.rules.yml
	node dist/dashboards/generate.js

PROMETHEUS_URL ?= http://127.0.0.1:9090
.PHONY: tune generate-dashboards
tune: build ## Recommend a deployment size from Prometheus history and write it to $(ENV_FILE) (ARGS="--window=14d ...")
	node dist/exporter/src/cli.js recommend --prometheus.url=$(PROMETHEUS_URL) --write-env=$(ENV_FILE) $(ARGS)

.PHONY: lint
lint: build ## Type-check, check that generated files are current, lint the rules and Alertmanager configurations
	npx tsc -p tsconfig.json --noEmit
	node dist/alerting-rules/generate.js --check
	promtool check rules alerting-rules/*.rules.yml
	amtool check-config alerting-rules/alertmanager.yml compose/alertmanager.yml
