# caddy-standin.Dockerfile: a stand-in for the official caddy:2 image, made
# from Debian's caddy package when no image registry can be reached
# (tools/docker-test.sh builds it as caddy:2 only when that image is absent
# and cannot be pulled). Same paths and command as the official image: the
# Caddyfile at /etc/caddy/Caddyfile, state under /data and /config.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends caddy ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data /config
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
EXPOSE 80 443
WORKDIR /srv
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
