# caddy.Dockerfile: the compose stack's Caddy, from Debian 12's caddy
# package: the same Caddy `make run` and the tests use, so one Caddyfile
# serves all three. (Upstream Caddy 2.7 and later renamed the request-body
# buffering options the Caddyfile uses, so the official caddy:2 image would
# refuse it.) Same paths and command as the official image: the Caddyfile
# at /etc/caddy/Caddyfile, state under /data and /config.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends caddy ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data /config
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
EXPOSE 80 443
WORKDIR /srv
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
