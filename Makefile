# headroom: `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_MODULES := node_modules/.package-lock.json
BUILD_STAMP := dist/.built
SOURCES := $(shell find exporter dashboards alerting-rules scripts test bench -name '*.ts' 2>/dev/null) tsconfig.json
ARGS ?=

# The local stack (compose/docker-compose.yml): headroom's services, watching every container of the engine.
# DEMO=1 (make demo) adds the demo service (compose/demo.yml). The demo's sizes, first found wins: the
# environment or make's command line (MEMORY_LIMIT=3072M), then $(ENV_FILE) (written by make tune), then
# SIZE, then medium. $(ENV_FILE) also holds the alerts' HEADROOM_ALERT_* variables (docs/alerts.md).
# COMPOSE_OVERRIDE: more compose files laid over it, in order (a site's own mounts, ports, ...).
COMPOSE ?= docker compose
COMPOSE_OVERRIDE ?=
SIZE ?=
ENV_FILE ?= .env
DEMO ?=
STACK = $(strip $(COMPOSE) -p headroom -f compose/docker-compose.yml -f compose/compose-only.yml $(if $(DEMO),-f compose/demo.yml -f compose/demo-compose-only.yml) $(foreach file,$(COMPOSE_OVERRIDE),-f $(file)) $(if $(wildcard $(ENV_FILE)),--env-file $(ENV_FILE)))
# The same stack on Docker Swarm: compose/swarm-stack.mjs merges the compose file, compose/swarm.yml, the
# demo's files when DEMO is set and COMPOSE_OVERRIDE, with the checkout's files as Swarm configs and
# secrets. HEADROOM_IMAGE: where the exporter's image is pushed and every node pulls it from
# (REGISTRY/headroom:TAG); unset, headroom:local, which only a single-node swarm has.
DOCKER ?= docker
HEADROOM_IMAGE ?=
STACK_SIZES = node compose/stack-env.mjs --size='$(SIZE)' --env-path='$(ENV_FILE)'
# The bearer token of automatic sizing's webhook (the exporter and Alertmanager mount it): made once per
# checkout, random, never committed.
AUTOSIZE_TOKEN := compose/autosize-token
# The stack's published addresses, as compose publishes them: PUBLISH_ADDRESS and *_PORT from the environment, else .env.
STACK_VARIABLE = $(or $($(1)),$(shell test -f .env && sed -n 's/^$(1)=//p' .env | tail -1),$(2))
PROMETHEUS_URL ?= http://$(call STACK_VARIABLE,PUBLISH_ADDRESS,127.0.0.1):$(call STACK_VARIABLE,PROMETHEUS_PORT,9090)
ALERTMANAGER_URL ?= http://$(call STACK_VARIABLE,PUBLISH_ADDRESS,127.0.0.1):$(call STACK_VARIABLE,ALERTMANAGER_PORT,9093)
# The compose service make tune sizes (SERVICE=NAME, of any compose project; COMPOSE_PROJECT=NAME where two
# projects have a service of that name) and the env file it writes (ENV_FILE=PATH, that project's).
SERVICE ?= demo
COMPOSE_PROJECT ?=
# The stack's Alertmanager configuration, rendered by make up from compose/alertmanager-site.env and $(ENV_FILE).
ALERTMANAGER_LOCAL := compose/alertmanager.local.yml
# The exporter's V8 flags (exporter/src/node-flags.ts; see docs/performance.md).
NODE_FLAGS := --max-semi-space-size=1 --optimize-for-size --no-turbofan --no-sparkplug

.PHONY: help install build run test test-unit system-deps generate lint clean bench bench-flags bench-docker bench-gate bench-ui soak up demo down logs ps swarm-up swarm-down tune test-alert

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_MODULES) ## Install the npm dependencies

# tsc writes files without the execute bit: the package's bin needs it (npx headroom, a Docker ENTRYPOINT).
$(BUILD_STAMP): $(NODE_MODULES) $(SOURCES)
	npx tsc -p tsconfig.json
	chmod +x dist/exporter/src/cli.js
	@touch $@

build: $(BUILD_STAMP) ## Compile the TypeScript

system-deps: ## Install the Debian packages the tests use (Prometheus, Alertmanager, PostgreSQL, ...)
	bash scripts/install-system-deps.sh

run: build ## Build and start the exporter on 127.0.0.1:9477 (ARGS="--flag=value ...")
	node $(NODE_FLAGS) dist/exporter/src/cli.js $(ARGS)

test: system-deps build ## Install what the tests need and run every test suite (what CI runs)
	node scripts/run-tests.mjs

test-unit: build ## The unit suites (test/unit/: no servers, no cgroups; under 30 s), for the edit-test loop
	node scripts/run-tests.mjs unit/

generate: build ## Write every generated file: alert rules, Alertmanager configurations, dashboards, provisioning
	node dist/scripts/generate.js

lint: build ## Type-check; check every generated file is current; promtool check and test the rules; amtool the configurations
	npx tsc -p tsconfig.json --noEmit
	node dist/scripts/generate.js --check
	promtool check rules alerting-rules/*.rules.yml
	promtool test rules alerting-rules/tests/*.test.yml
	amtool check-config alerting-rules/alertmanager.yml compose/alertmanager.yml

clean: ## Remove the build, the default SQLite data and benchmark scratch files
	rm -rf dist data bench/out bench/results.quick.json bench/results-docker.quick.json bench/results-flags.quick.json bench/results-ui.quick.json

bench: build ## Benchmark against node_exporter and process-exporter, as root (QUICK=1: about a minute)
	QUICK=$(QUICK) node dist/bench/run.js

bench-flags: build ## The sidecar's CPU per scrape (beside node_exporter's) and RSS under each V8 flag set, as root (QUICK=1: shorter)
	QUICK=$(QUICK) node dist/bench/v8-flags.js

bench-docker: build ## Host mode in a private Docker engine: 10, 50, 200 containers against docker stats and the API's, then churn (QUICK=1: shorter)
	QUICK=$(QUICK) node $(NODE_FLAGS) dist/bench/docker.js

bench-gate: build ## What headroom gate costs: a container's inspection straight to a private engine and through the gate (QUICK=1: fewer)
	QUICK=$(QUICK) node dist/bench/gate.js

bench-ui: build ## The page at 200 containers: a page view's bytes over the wire, CPU per refresh beside a scrape's, the history's bytes (QUICK=1: fewer samples)
	QUICK=$(QUICK) node $(NODE_FLAGS) dist/bench/ui.js

soak: build ## Ten-minute soak: scrapes every 100 ms and writes; RSS and fd figures (ARGS="--duration=20m --warmup=2m")
	node scripts/soak.mjs $(ARGS)

# The socket first (scripts/docker-socket.ts), then the alerts (scripts/stack-alerts.ts): either failing
# stops make up before anything starts.
up: build $(AUTOSIZE_TOKEN) ## Start the stack on 127.0.0.1 or PUBLISH_ADDRESS, watching every container of the engine (DEMO=1: with the demo)
	@socket="$$(node dist/scripts/docker-socket.js)" && echo "engine socket: $$socket" \
	  && alerts="$$(node dist/scripts/stack-alerts.js --env-path='$(ENV_FILE)' $(if $(DEMO),--demo) --out=$(ALERTMANAGER_LOCAL))" \
	  && echo "alerts: $(ALERTMANAGER_LOCAL) (amtool check-config: SUCCESS)" \
	  && sizes="$$($(STACK_SIZES))" && $(if $(DEMO),echo "demo sizes:" $$sizes &&) \
	  env DOCKER_SOCKET="$$socket" $$alerts $$sizes $(STACK) up -d --build --remove-orphans

demo: ## make up with the demo service, whose CPU and memory you push (SIZE=small|medium|large; .env from make tune overrides it)
	@$(MAKE) --no-print-directory up DEMO=1

$(AUTOSIZE_TOKEN):
	@node -e "process.stdout.write(require('node:crypto').randomBytes(24).toString('hex') + '\\n')" > $@.tmp && mv $@.tmp $@ && echo "wrote a new automatic sizing token to $@"

down: ## Stop the local stack, keeping its volumes (ARGS=-v removes them)
	$(STACK) down --remove-orphans $(ARGS)

logs: ## Follow the local stack's logs (ARGS=SERVICE for one)
	$(STACK) logs -f $(ARGS)

ps: ## List the local stack's containers and their health
	$(STACK) ps

swarm-up: build $(AUTOSIZE_TOKEN) ## Deploy the stack on this swarm as stack headroom, the exporter on every node (DEMO=1: with the demo; SIZE=...; HEADROOM_IMAGE=REGISTRY/headroom:TAG for many nodes)
	@alerts="$$(node dist/scripts/stack-alerts.js --env-path='$(ENV_FILE)' $(if $(DEMO),--demo) --out=$(ALERTMANAGER_LOCAL))" \
	  && echo "alerts: $(ALERTMANAGER_LOCAL) (amtool check-config: SUCCESS)" \
	  && sizes="$$($(STACK_SIZES))" && echo "sizes:" $$sizes && env $$sizes $(STACK) build exporter \
	  && if [ -n '$(HEADROOM_IMAGE)' ]; then $(DOCKER) tag headroom:local '$(HEADROOM_IMAGE)' && $(DOCKER) push '$(HEADROOM_IMAGE)'; fi \
	  && stack="$$(env $$alerts node compose/swarm-stack.mjs $(if $(DEMO),compose/demo.yml compose/demo-swarm.yml) $(COMPOSE_OVERRIDE))" \
	  && echo "$$stack" | env $$sizes $$alerts HEADROOM_IMAGE='$(HEADROOM_IMAGE)' $(DOCKER) stack deploy --prune --with-registry-auth -c - headroom

swarm-down: ## Remove the stack from the swarm and wait until its containers and network are gone (ARGS=-v: its volumes too)
	DOCKER='$(DOCKER)' bash compose/swarm-down.sh $(ARGS)

tune: build ## Size compose service SERVICE (any project's; COMPOSE_PROJECT=NAME) from Prometheus history into its ENV_FILE (ARGS="--window=14d ...")
	node dist/exporter/src/cli.js recommend --prometheus.url=$(PROMETHEUS_URL) --compose-service=$(SERVICE) $(if $(COMPOSE_PROJECT),--compose-project=$(COMPOSE_PROJECT)) --write-env=$(ENV_FILE) $(ARGS)

test-alert: build ## Post one synthetic alert to the stack's Alertmanager and say where it went (ALERTMANAGER_URL=...)
	node dist/scripts/test-alert.js --alertmanager.url=$(ALERTMANAGER_URL)
