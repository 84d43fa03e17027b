# Test image: Debian's Redis 7 behaving like Docker Hub's redis image for what docker-compose.yml uses
# (`redis-server …` as the command, data in /data, reachable from other containers without a
# password, redis-cli for the health check). It stands in for the `redis` service in
# test/deploy/compose-run.test.ts, where no registry is reachable. Built from the Debian image the
# test makes with debootstrap.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN set -eu; \
  export DEBIAN_FRONTEND=noninteractive; \
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d; \
  apt-get update -qq; \
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null; \
  rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d; \
  mkdir -p /data; \
  chown redis:redis /data
# Like the official image: protected mode off (the container's network is the boundary), so other
# containers reach it without a password; the command's own options come after and win.
RUN printf '#!/bin/sh\nif [ "${1:-}" = redis-server ]; then shift; set -- redis-server --protected-mode no "$@"; fi\nexec "$@"\n' \
    > /usr/local/bin/redis-entrypoint.sh && chmod 755 /usr/local/bin/redis-entrypoint.sh
WORKDIR /data
USER redis
VOLUME ["/data"]
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entrypoint.sh"]
CMD ["redis-server"]
