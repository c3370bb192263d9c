# AIFacade: `make run` serves the app, `make test` proves it. See README.md.
.SUFFIXES:
SHELL = /bin/bash

BUILD ?= build
CC ?= cc
OPT ?= -O2 -g
SAN ?=
WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wpointer-arith -Wcast-qual -Wstrict-prototypes \
       -Wmissing-prototypes -Wvla
# libpq's header (common/pq.c and store_pg.c); the library itself is loaded
# at run time, never linked (common/pq.h).
PG_CPPFLAGS = -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
CPPFLAGS += -Icommon $(PG_CPPFLAGS) -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -D_FORTIFY_SOURCE=2
CFLAGS += -std=c11 $(OPT) $(WARN) $(SAN) -fstack-protector-strong -fPIE -MMD -MP
LDFLAGS += $(SAN) -pie -Wl,-z,relro,-z,now -Wl,--as-needed
# Linked statically: each CGI run then maps only libc and friends (SPEC §1).
STATIC_LIBS = -Wl,-Bstatic -lcmark-gfm-extensions -lcmark-gfm -lsqlite3 -ljson-c -lsodium -Wl,-Bdynamic \
              -lm -lpthread -ldl
# Only the endpoint that talks to the provider pays for libcurl's 38 shared objects.
CURL_LIBS = -lcurl

ENDPOINTS = register login logout me health notfound conversations chat clear search export import messages \
            admin_users admin_reset admin_invites admin_audit account account_password account_sessions \
            account_tokens password_reset gateway_chat gateway_models
TOOLS = aifacadectl
UNIT_TESTS = $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

# No program links libpq: common/pq.c loads it with dlopen() when DATABASE
# names PostgreSQL (pq.h says why).
COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIB = $(BUILD)/libaifacade.a
CGI_BINS = $(ENDPOINTS:%=$(BUILD)/cgi-bin/%)
TOOL_BINS = $(TOOLS:%=$(BUILD)/tools/%)
UNIT_BINS = $(UNIT_TESTS:%=$(BUILD)/tests/%)

.PHONY: all deps deps-test vendor run test test-unit test-bats test-load test-pg lint clean help
all: $(CGI_BINS) $(TOOL_BINS)

help:
	@echo "make run        install what is missing, build, serve https://localhost:\$${HTTPS_PORT:-8443}"
	@echo "make test       install what is missing, build, run every test on a throw-away stack"
	@echo "make all        build the CGI programs into $(BUILD)/cgi-bin and the admin command"
	@echo "make test-unit  C unit tests only;  make test-bats  the HTTP suites only"
	@echo "make test-load  many users at once (tests/load.bats);  make test-cd  deploys over SSH (installs sshd)"
	@echo "make test-pg    only the HTTP suites on PostgreSQL (make test runs them too)"
	@echo "make soak       a persistent server of each endpoint under ASan, 10,000 requests"
	@echo "make lint       cppcheck, shellcheck and the output-escaping check"
	@echo "make deps       install the Debian packages the build, run and tests need"
	@echo "make vendor     npm ci the pinned highlight.js and KaTeX into www/vendor/ (run and test do it)"
	@echo "make test-asan  the suites against an ASan+UBSan build;  make test-valgrind[-quick]  under valgrind"
	@echo "make fuzz       libFuzzer targets, 20 s each;  make fuzz-long  300 s each"
	@echo "make bench      benchmarks against bench/README.md's targets, both modes (about 12 min)"
	@echo "make deploy DEST=dir | rollback | deploy-endpoint NAME=x | deploy-status   releases (README)"
	@echo "make ops-check  Docker, compose, workflow and deploy files;  make compose-init  first Docker start"
	@echo "make test-docker  build the image, start the Docker stack, run the suites against the containers"
	@echo "make test-cluster the cluster phases of test-docker alone (web node killed, failover; tests/cluster.bats)"

deps:
	@tools/install-deps.sh

# The browser tests need Debian's chromium and node; `make run` does not.
deps-test:
	@AIFACADE_DEPS="browser $(AIFACADE_DEPS)" tools/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@


$(LIB): $(COMMON_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/cgi-bin/%: $(BUILD)/obj/cgi-bin/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@.tmp $< $(LIB) $(EXTRA_LIBS) $(STATIC_LIBS)
	mv -f $@.tmp $@

$(BUILD)/cgi-bin/chat: EXTRA_LIBS = $(CURL_LIBS)
$(BUILD)/cgi-bin/gateway_chat: EXTRA_LIBS = $(CURL_LIBS)

$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(STATIC_LIBS)

# Keep the objects that pattern chains would delete as intermediate, so that
# a second `make test` relinks nothing.
.SECONDARY:

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(CURL_LIBS) $(STATIC_LIBS)

# highlight.js and KaTeX, pinned in tools/vendor/package-lock.json, into the
# git-ignored www/vendor/ (the chat page loads them only when an answer needs them).
vendor:
	@tools/vendor.sh

run: deps all vendor
	tools/serve.sh

test: deps-test all vendor $(UNIT_BINS)
	tests/run.sh

test-unit: all $(UNIT_BINS)
	tests/run.sh unit

test-bats: all
	tests/run.sh bats

# The suites that reach the store through HTTP, against stacks on a
# throw-away PostgreSQL cluster (tests/run.sh, PG_SUITES): the PostgreSQL
# half of make test, alone.
test-pg: deps all
	tests/run.sh pg

# Many users prompting at once through Caddy (tests/load.bats); .ci/run
# runs it after make test, and make test-docker against the containers.
test-load: all
	tests/run.sh bats tests/load.bats

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Icommon common cgi-bin tools tests/unit
	shellcheck -x tools/*.sh tools/docker/*.sh tests/*.sh tests/*.bash tests/e2e/*.sh tests/hardening/*.sh bench/*.sh .ci/run
	tools/check-output.sh

clean:
	rm -rf build build-*

# Further targets (deploy, sanitizers, fuzzing, benchmarks) live in mk/*.mk.
-include mk/*.mk

-include $(COMMON_OBJ:.o=.d) $(BUILD)/obj/cgi-bin/*.d $(BUILD)/obj/tools/*.d $(BUILD)/obj/tests/unit/*.d
