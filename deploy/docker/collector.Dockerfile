# The sysmonstm collector in a container, watching the host it runs on: docker-compose.yml mounts the
# host's /proc, /sys and / read-only under /host and sets HOST_PROC, HOST_SYS and HOST_ROOT, with the
# host PID and network namespaces (process count, mounts and network rates of the host, not of this
# container). Build from the repository root:
#   docker build -f deploy/docker/collector.Dockerfile -t sysmonstm-collector .
# Build arguments: NODE_IMAGE, any Debian bookworm image with Node 22 and npm (Docker Hub's by default;
# deploy/docker/node.Dockerfile makes one without Docker Hub); BUILD_CA_CERTS, CA certificates (PEM) of
# a TLS-inspecting proxy, trusted by npm during the build only.
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: the collector bundle dist/collector.mjs (esbuild is a dev dependency, so it stays here) ---
# bin/sysmonstm.js runs the bundle (a much smaller process than the TypeScript sources) because the
# image holds no hub sources, as an installed package (bin/entry-points.js). The first steps are those
# of hub.Dockerfile's build stage, word for word: the build cache holds one full `npm ci` for both.
FROM ${NODE_IMAGE} AS build
ARG BUILD_CA_CERTS=
WORKDIR /src
COPY package.json package-lock.json ./
RUN if [ -n "${BUILD_CA_CERTS}" ]; then printf '%s\n' "${BUILD_CA_CERTS}" > /tmp/build-ca.pem; export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; fi; \
  npm ci --ignore-scripts --no-audit --no-fund && rm -f /tmp/build-ca.pem
COPY bin ./bin
COPY proto ./proto
COPY collector ./collector
COPY scripts ./scripts
RUN npm run build:collector

# ---- runtime: production dependencies, the collector's sources and its bundle ------------------------
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
RUN mkdir -p /data && chown node:node /data
# With `pid: host` tini is not PID 1: as a subreaper it still reaps what it must.
ENV TINI_SUBREAPER=1
# Only what the collector runs (no hub, no dashboard, no tests).
COPY bin ./bin
COPY proto ./proto
COPY collector ./collector
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
# `sysmonstm collector` re-executes node (same pid, under tini) with the collector's Node/V8 options
# and its CommonJS entry (bin/collector-node-options.js, bin/collector.cjs).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/sysmonstm.js"]
CMD ["collector"]
