# The sysmonstm hub: ingest (gRPC :50051), REST/WS API and dashboard (:8000), history, edge forwarder.
# Build from the repository root:  docker build -f deploy/docker/hub.Dockerfile -t sysmonstm-hub .
# Node 22 runs the TypeScript sources directly (type stripping), so only the dashboard is built.
# Build arguments: NODE_IMAGE, any Debian bookworm image with Node 22 and npm (Docker Hub's by default;
# deploy/docker/node.Dockerfile makes one without Docker Hub); PG_CLIENT_MAJOR, the pg_dump version;
# BUILD_CA_CERTS, CA certificates (PEM) of a TLS-inspecting proxy, trusted by npm during the build only.
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: the dashboard assets (esbuild is a dev dependency, so it stays in this stage) ----------
FROM ${NODE_IMAGE} AS build
ARG BUILD_CA_CERTS=
WORKDIR /src
COPY package.json package-lock.json ./
RUN if [ -n "${BUILD_CA_CERTS}" ]; then printf '%s\n' "${BUILD_CA_CERTS}" > /tmp/build-ca.pem; export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; fi; \
  npm ci --ignore-scripts --no-audit --no-fund && rm -f /tmp/build-ca.pem
COPY proto ./proto
COPY web ./web
RUN npm run build:web

# ---- runtime: production dependencies, the sources, the built dashboard, pg_dump for backups -------
FROM ${NODE_IMAGE} AS runtime
ARG BUILD_CA_CERTS=
# The same first steps, word for word, in hub.Dockerfile and collector.Dockerfile: the build cache
# shares them (one `npm ci --omit=dev` for both images).
RUN set -eu; \
  export DEBIAN_FRONTEND=noninteractive; \
  apt-get update -qq; \
  apt-get install -y -qq --no-install-recommends ca-certificates tini >/dev/null; \
  rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN if [ -n "${BUILD_CA_CERTS}" ]; then printf '%s\n' "${BUILD_CA_CERTS}" > /tmp/build-ca.pem; export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; fi; \
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force && rm -f /tmp/build-ca.pem
# pg_dump must be at least the server's major version (docker-compose.yml runs PostgreSQL 16, which
# comes from apt.postgresql.org; a major that Debian has, such as 15, comes from Debian itself);
# tini forwards SIGTERM so the hub flushes history and closes cleanly.
ARG PG_CLIENT_MAJOR=16
RUN set -eu; \
  export DEBIAN_FRONTEND=noninteractive; \
  apt-get update -qq; \
  if ! apt-cache show "postgresql-client-${PG_CLIENT_MAJOR}" >/dev/null 2>&1; then \
    apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null; \
    /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y >/dev/null; \
  fi; \
  apt-get install -y -qq --no-install-recommends "postgresql-client-${PG_CLIENT_MAJOR}" >/dev/null; \
  rm -rf /var/lib/apt/lists/*; \
  pg_dump --version | grep -q " ${PG_CLIENT_MAJOR}\."; \
  mkdir -p /data /backups; \
  chown node:node /data /backups
COPY bin ./bin
COPY proto ./proto
COPY schema ./schema
COPY hub ./hub
COPY collector ./collector
COPY --from=build /src/web/dist ./web/dist

USER node
# Inside the container the hub listens on every interface; docker-compose.yml decides what is published.
ENV HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8000 \
    GRPC_HOST=0.0.0.0 \
    GRPC_PORT=50051 \
    DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000 50051
# /ready answers 200 once history and state answer (503 before). Node's fetch: no curl/wget needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:${HTTP_PORT}/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/sysmonstm.js"]
CMD ["hub"]
