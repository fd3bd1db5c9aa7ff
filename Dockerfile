# syntax=docker/dockerfile:1
# The headroom exporter image: `docker build -t headroom .` (the local stack builds it: make up).

# Compile the TypeScript with every dependency (their install scripts are not needed to compile: sqlite3's
# native build happens once, in the next stage). No source maps in the image.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY exporter ./exporter
COPY alerting-rules ./alerting-rules
COPY dashboards ./dashboards
RUN npx tsc -p tsconfig.json --sourceMap false

# Production dependencies only (sqlite3 and pg included; no TypeScript, no test tools), without what
# only a build, an editor or a package's own tests read: sqlite3's sources and build tree (its binary stays),
# tests and examples, type declarations, TypeScript sources, source maps and documents.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
  && cd node_modules \
  && find sqlite3/build -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} + \
  && find sqlite3/build/Release -mindepth 1 ! -name node_sqlite3.node -exec rm -rf {} + \
  && rm -rf sqlite3/deps sqlite3/src zod/src \
  && find . -mindepth 2 -maxdepth 3 -type d \( -name test -o -name tests -o -name __tests__ -o -name example -o -name examples \) -prune -exec rm -rf {} + \
  && find . -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' -o -name '*.markdown' -o -name '*.gyp' -o -name '*.gypi' -o -name '*.c' -o -name '*.cc' -o -name '*.h' \) -delete

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/exporter ./dist/exporter
COPY --from=build /app/dist/alerting-rules ./dist/alerting-rules
COPY --from=build /app/dist/dashboards ./dist/dashboards
COPY package.json ./
# The statistics database lives here; a named volume mounted on it inherits this owner.
RUN mkdir -p /var/lib/headroom && chown node:node /var/lib/headroom
ENV HEADROOM_DATA_DIR=/var/lib/headroom
# uid 1000, the same as the demo service, so a sidecar in its PID namespace may read /proc/1/root.
USER node
EXPOSE 9477
HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9477/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The same entry point as `make run`.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--optimize-for-size", "--no-turbofan", "--no-sparkplug", "dist/exporter/src/cli.js"]
CMD ["--web.listen-address=0.0.0.0:9477"]
