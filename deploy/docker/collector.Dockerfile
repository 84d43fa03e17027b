# syntax=docker/dockerfile:1
# The sysmonstm collector in a container, watching the host it runs on: docker-compose.yml mounts the
# host's /proc, /sys and / read-only under /host and sets HOST_PROC, HOST_SYS and HOST_ROOT, with the
# host PID and network namespaces (process count, mounts and network rates of the host, not of this
# container). Build from the repository root:
#   docker build -f deploy/docker/collector.Dockerfile -t sysmonstm-collector .

# ---- source: only what the collector runs (no hub, no dashboard, no tests) ---------------------------
FROM node:22-alpine AS source
WORKDIR /src
COPY package.json package-lock.json ./
COPY bin ./bin
COPY proto ./proto
COPY collector ./collector
COPY scripts ./scripts

# ---- build: the collector bundle dist/collector.mjs (esbuild is a dev dependency, so it stays here) ---
# bin/sysmonstm.js runs the bundle (a much smaller process than the TypeScript sources) because the
# image holds no hub sources, as an installed package (bin/entry-points.js).
FROM node:22-alpine AS build
WORKDIR /src
COPY --from=source /src ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run build:collector

# ---- runtime --------------------------------------------------------------------------------------
FROM node:22-alpine AS runtime
RUN apk add --no-cache tini \
  && mkdir -p /data \
  && chown node:node /data
WORKDIR /app
ENV NODE_ENV=production
COPY --from=source /src/package.json /src/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=source /src/bin ./bin
COPY --from=source /src/proto ./proto
COPY --from=source /src/collector ./collector
COPY --from=build /src/dist ./dist

USER node
ENV DATA_DIR=/data \
    HOST_PROC=/host/proc \
    HOST_SYS=/host/sys \
    HOST_ROOT=/host/root
VOLUME ["/data"]
# Healthy while reports are being produced: the sequence file in DATA_DIR is rewritten (at most once a
# second) as long as the collector samples, whether or not the hub is reachable (reports are then
# kept in the spool). With COLLECTION_INTERVAL above 2 minutes, widen -mmin.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD find "${DATA_DIR}" -maxdepth 1 -name 'collector-seq-*.json' -mmin -2 | grep -q . || exit 1
ENTRYPOINT ["/sbin/tini", "--", "node", "bin/sysmonstm.js"]
CMD ["collector"]
