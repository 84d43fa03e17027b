# syntax=docker/dockerfile:1
# The sysmonstm hub: ingest (gRPC :50051), REST/WS API and dashboard (:8000), history, edge forwarder.
# Build from the repository root:  docker build -f deploy/docker/hub.Dockerfile -t sysmonstm-hub .
# Node 22 runs the TypeScript sources directly (type stripping), so only the dashboard is built.

# ---- build: the dashboard assets (esbuild is a dev dependency, so it stays in this stage) ----------
FROM node:22-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY proto ./proto
COPY web ./web
RUN npm run build:web

# ---- runtime: production dependencies, the sources, the built dashboard, pg_dump for backups -------
FROM node:22-alpine AS runtime
# pg_dump must be at least the server's major version (docker-compose.yml runs PostgreSQL 16);
# tini forwards SIGTERM so the hub flushes history and closes cleanly.
ARG PG_CLIENT_PACKAGE=postgresql16-client
RUN apk add --no-cache "${PG_CLIENT_PACKAGE}" tini \
  && mkdir -p /data /backups \
  && chown node:node /data /backups
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
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
# /ready answers 200 once history and state answer (503 before).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD wget -q -O /dev/null "http://127.0.0.1:${HTTP_PORT}/ready" || exit 1
ENTRYPOINT ["/sbin/tini", "--", "node", "bin/sysmonstm.js"]
CMD ["hub"]
