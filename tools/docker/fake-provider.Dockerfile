# fake-provider.Dockerfile: the test suite's fake AI provider as a service of
# the Docker test stack (docker-compose.test.yml). Only Python is installed:
# tests/fake_provider.py is mounted read-only, so editing it needs no rebuild.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10002 --no-create-home --shell /usr/sbin/nologin fake
USER fake
EXPOSE 8099
CMD ["python3", "/fake/fake_provider.py", "--host", "0.0.0.0", "--port", "8099"]
