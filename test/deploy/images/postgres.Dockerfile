# Test image: Debian's PostgreSQL 15 behaving like Docker Hub's postgres image for what
# docker-compose.yml uses (POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB on first start, data in
# /var/lib/postgresql/data, password auth from other containers, pg_isready). It stands in for the
# `timescaledb` service in test/deploy/compose-run.test.ts, where no registry is reachable: the hub
# then takes its plain-PostgreSQL path. Built from the Debian image the test makes with debootstrap.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN set -eu; \
  export DEBIAN_FRONTEND=noninteractive; \
  mkdir -p /etc/postgresql-common; \
  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf; \
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d; \
  apt-get update -qq; \
  apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null; \
  rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d; \
  mkdir -p /var/lib/postgresql/data /var/run/postgresql; \
  chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql; \
  chmod 700 /var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
