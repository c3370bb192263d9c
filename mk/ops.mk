# mk/ops.mk: deploy, roll back, prepare docker compose, and check the operations files.
#
#   make deploy DEST=/srv/aifacade              build, install a new release, switch to it atomically
#   make rollback DEST=/srv/aifacade            switch back to the previous release
#   make deploy-endpoint DEST=... NAME=chat     replace one endpoint program in the running release
#   make deploy-status DEST=...                 list the releases
#   make compose-init                           create .env, secrets/ and instance/ for docker compose
#   make ops-check                              lint and test the Docker, compose, CI and deploy files
#   make test-docker                            build the image, run the suites against the containers
#   make test-cluster                           the cluster phases of test-docker alone

OPS_SCRIPTS = tools/deploy.sh tools/container-start.sh tools/docker-test.sh tools/docker/*.sh
OPS_YAML = docker-compose.yml docker-compose.staging.yml docker-compose.test.yml docker-compose.cluster.yml docker-compose.cluster-test.yml .github/workflows/deploy.yml .yamllint
OPS_SUITES = tests/docker.bats tests/deploy.bats tests/admin.bats

.PHONY: deploy rollback deploy-endpoint deploy-status compose-init ops-check ops-lint test-docker test-cluster

ops-need-dest = @test -n "$(DEST)" || { echo "make $@: name the target directory, e.g. make $@ DEST=/srv/aifacade" >&2; exit 2; }

deploy: all
	$(ops-need-dest)
	tools/deploy.sh release "$(DEST)" "$(BUILD)"

rollback:
	$(ops-need-dest)
	tools/deploy.sh rollback "$(DEST)"

deploy-endpoint: all
	$(ops-need-dest)
	@test -n "$(NAME)" || { echo "make $@: name the endpoint, e.g. NAME=chat" >&2; exit 2; }
	AIFACADE_BUILD="$(BUILD)" tools/deploy.sh endpoint "$(DEST)" "$(NAME)"

deploy-status:
	$(ops-need-dest)
	@tools/deploy.sh status "$(DEST)"

# docker compose reads .env (env_file) and the secret files; it refuses to
# start without them. The secret is readable by the container's user
# (0644) inside a directory only you can enter (0700); an empty key file
# means the offline demo provider.
compose-init:
	@test -f .env || { cp .env.example .env && echo "compose-init: created .env from .env.example"; }
	@mkdir -p secrets instance && chmod 0700 secrets
	@test -f secrets/.gitignore || printf '*\n' >secrets/.gitignore
	@test -f secrets/deepseek_api_key || { : >secrets/deepseek_api_key && \
	  echo "compose-init: created an empty secrets/deepseek_api_key (offline demo); put the key in it to use DeepSeek"; }
	@chmod 0644 secrets/deepseek_api_key

ops-lint:
	@AIFACADE_DEPS="docker $(AIFACADE_DEPS)" tools/install-deps.sh
	shellcheck -x $(OPS_SCRIPTS)
	yamllint -s $(OPS_YAML)

ops-check: all ops-lint
	tests/run.sh bats $(OPS_SUITES)

# The Docker stack for real: installs the engine when missing, starts dockerd
# when none runs, makes the base images when no registry answers, builds,
# starts web + caddy + the fake provider and runs the suites against them,
# then the cluster (docker-compose.cluster.yml) and tests/cluster.bats
# (tools/docker-test.sh; the GitHub workflow runs the same script).
test-docker:
	tools/docker-test.sh

# The cluster phases alone (build, docker-compose.cluster.yml, tests/cluster.bats).
test-cluster:
	tools/docker-test.sh cluster

# ---- continuous deployment: deploy to a host over SSH, smoke test, automatic
# rollback (tools/deploy-remote.sh; README "Continuous deployment").
#   make deploy-remote                 DEPLOY_HOST=... (see the README): deploy this build to that host
#   make rollback-remote               switch that host back to its previous release
#   make smoke URL=https://host        smoke-test a running AIFacade (tools/smoke.sh)
#   make lint-workflows                the workflows against GitHub's schema (part of make lint)
#   make test-cd                       tests/cd.bats (.ci/run runs it after make test)
OPS_SCRIPTS += tools/deploy-remote.sh tools/smoke.sh tools/lint-workflows.sh
OPS_YAML += .github/workflows/deploy-host.yml
OPS_SUITES += tests/cd.bats

.PHONY: deploy-remote rollback-remote smoke lint-workflows deps-cd test-cd

deploy-remote: all
	tools/deploy-remote.sh deploy "$(BUILD)"

rollback-remote:
	tools/deploy-remote.sh rollback

smoke:
	tools/smoke.sh $(URL)

lint: lint-workflows
lint-workflows:
	tools/lint-workflows.sh

# Installs what the suite needs first, and then a missing tool fails the
# run rather than skipping it (CI would pass with nothing deployed).
deps-cd:
	@AIFACADE_DEPS="cd $(AIFACADE_DEPS)" tools/install-deps.sh

test-cd: deps-cd all
	AIFACADE_CD_REQUIRED=1 tests/run.sh bats tests/cd.bats
