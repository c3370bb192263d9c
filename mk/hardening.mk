# hardening.mk: fuzzing, sanitizer and valgrind runs (issue 6; see SECURITY.md).
#
#   make fuzz                  every fuzz/fuzz_*.c target for FUZZ_SECONDS (20) each
#   make fuzz-long             the same for 300 s each (FUZZ_SECONDS=600 for longer)
#   make fuzz-build            build the libFuzzer targets into $(FUZZ_BUILD)
#   make test-asan             the bats suites against CGI programs built with ASan+UBSan
#   make soak                  persistent servers: 10,000 requests under ASan+LSan, RSS over 100,000
#   make test-valgrind         every route's CGI program run directly under valgrind
#   make test-valgrind-quick   a dozen requests under valgrind (fits in make test)
#   make test-hardening        tests/faults.bats and tests/load.bats only

.PHONY: deps-fuzz fuzz fuzz-long fuzz-build asan-build test-asan soak test-valgrind test-valgrind-quick test-hardening

FUZZ_BUILD ?= build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 20
ASAN_BUILD ?= build-asan
# clang warns on vasprintf(fmt) in log.c, which gcc's -Wformat=2 accepts.
FUZZ_CFLAGS = -std=c11 -O1 -g $(WARN) -Wno-format-nonliteral -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS = $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)
FUZZ_OBJ = $(COMMON_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIB = $(FUZZ_BUILD)/libaifacade.a

deps-fuzz:
	@AIFACADE_DEPS="fuzz $(AIFACADE_DEPS)" tools/install-deps.sh

$(FUZZ_BUILD)/obj/%.o: %.c | deps-fuzz
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_LIB)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(STATIC_LIBS) $(CURL_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@tests/hardening/fuzz-run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Five minutes per target unless FUZZ_SECONDS says otherwise on the command line.
fuzz-long:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(if $(filter command line,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),300)

# The sanitizer tree is a second build of everything with ASan and UBSan.
asan-build:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CC=gcc \
	  SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	  OPT='-O1 -g' all $(UNIT_TESTS:%=$(ASAN_BUILD)/tests/%)

test-asan: deps asan-build
	@tests/hardening/asan-run.sh $(ASAN_BUILD)

# A persistent server of each endpoint under ASan+LSan for SOAK_N (10,000)
# mixed requests, then its RSS after 1,000 and SOAK_LONG (100,000) requests
# (tests/hardening/soak.sh; README, "Tests").
soak: deps asan-build all
	@tests/hardening/soak.sh $(ASAN_BUILD) $(BUILD)

test-valgrind: deps all
	@tests/hardening/valgrind-run.sh $(BUILD) full

test-valgrind-quick: deps all
	@tests/hardening/valgrind-run.sh $(BUILD) quick

test-hardening: deps all
	@tests/run.sh bats tests/faults.bats tests/load.bats

-include $(FUZZ_OBJ:.o=.d)
