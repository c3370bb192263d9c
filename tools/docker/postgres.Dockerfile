# postgres.Dockerfile: PostgreSQL 15 and PgBouncer from Debian 12's packages,
# for docker-compose.cluster.yml: the same image runs a database node
# (pg-node.sh: a primary, or a streaming standby of one) and a PgBouncer
# (pgbouncer-start.sh). Built on debian:bookworm-slim, so it builds where
# no image registry is reachable (tools/docker-test.sh makes the base with
# debootstrap) and on GitHub's runners alike, and its PostgreSQL is the
# same major version `make test` runs (tests/pg.sh).
FROM debian:bookworm-slim
# No "main" cluster from the package's post-install: pg-node.sh makes the
# only one, in the volume.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/no-main.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 pgbouncer \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -m 0700 -o postgres -g postgres /var/lib/postgresql/data /var/lib/pgbouncer-state
COPY pg-node.sh pgbouncer-start.sh bouncer-target.sh /usr/local/bin/
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data/pgdata
USER postgres
WORKDIR /var/lib/postgresql
EXPOSE 5432 6432
CMD ["pg-node.sh"]
