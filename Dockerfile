# Dockerfile: AIFacade's web container: lighttpd serving www/ and the CGI programs.
# Two stages: the build runs the same `make all` as CI; the runtime image holds
# only lighttpd, the programs and the shared libraries they link (libcurl for
# chat; libpq, loaded only when DATABASE is PostgreSQL, common/pq.h; SQLite,
# json-c, libsodium and cmark-gfm are linked statically).
# Caddy (TLS) runs beside it: see docker-compose.yml.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config \
      libsqlite3-dev libjson-c-dev libcmark-gfm-dev libcmark-gfm-extensions-dev libsodium-dev \
      libcurl4-openssl-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY mk/ mk/
COPY common/ common/
COPY cgi-bin/ cgi-bin/
COPY tools/ tools/
RUN make all

FROM debian:bookworm-slim
# curl is the health check's client; it brings nothing libcurl4 does not.
RUN apt-get update \
 && apt-get install -y --no-install-recommends lighttpd lighttpd-mod-deflate libcurl4 libpq5 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin aifacade
WORKDIR /app
COPY --from=build /src/build/cgi-bin/ /app/build/cgi-bin/
COPY --from=build /src/build/tools/aifacadectl /app/build/tools/aifacadectl
COPY www/ /app/www/
COPY lighttpd.conf /app/lighttpd.conf
COPY tools/cgi-env.sh tools/container-start.sh /app/tools/
# The version last: a new one rebuilds only the layers from here on.
ARG AIFACADE_VERSION=dev
LABEL org.opencontainers.image.title="AIFacade web" \
      org.opencontainers.image.version="${AIFACADE_VERSION}"
# The programs are root's and read-only; only instance/ (a volume) is written
# (docker-compose.yml also makes the root filesystem read-only).
RUN install -d -m 0700 -o aifacade -g aifacade /app/instance \
 && ln -s /app/build/tools/aifacadectl /usr/local/bin/aifacadectl \
 && echo "${AIFACADE_VERSION}" >/app/VERSION
# What lighttpd.conf and the programs read; the database is on the volume.
# AIFACADE_ACCESSLOG=-: access lines to stdout through a FIFO (see container-start.sh).
ENV AIFACADE_ROOT=/app \
    AIFACADE_INSTANCE=/app/instance \
    DATABASE=/app/instance/aifacade.db \
    AIFACADE_CGI_DIR=/app/build/cgi-bin \
    AIFACADE_BIND=0.0.0.0 \
    HTTP_PORT=8080 \
    AIFACADE_MAX_CONNS=256 \
    AIFACADE_ACCESSLOG=-
VOLUME ["/app/instance"]
USER aifacade
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD curl -fsS --max-time 4 -o /dev/null "http://127.0.0.1:${HTTP_PORT}/api/health" || exit 1
# SIGTERM: lighttpd stops at once and its CGI programs record interrupted answers.
CMD ["/app/tools/container-start.sh"]
