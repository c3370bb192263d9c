# bench.mk: `make bench` measures every endpoint against the CGI floor (issue 7; see bench/README.md).
#
#   make bench                 the whole run, both modes, both databases (about 24 minutes): prints each
#                              mode's table, then both side by side (bench/both.sh), into
#                              bench/results/<time>/ (latest: bench/results/latest)
#   make bench BENCH_MODES=persistent                  one mode only
#   make bench BENCH_ROUNDS=1 BENCH_DURATION=2     a quick look
#   make bench BENCH_ONLY="me conv50"              only these wrk rows (plus the floor)
#   make bench-tools           build the bench's own programs into $(BUILD)/bench
#   make bench-writers         a burst of 150 writers, with and without the writers' queue
#
# wrk and hyperfine come from Debian (AIFACADE_DEPS=bench tools/install-deps.sh).

.PHONY: bench bench-tools deps-bench bench-writers

BENCH_BIN = $(BUILD)/bench
BENCH_TOOLS = $(BENCH_BIN)/cgirun $(BENCH_BIN)/fakeprov $(BENCH_BIN)/floor-dyn $(BENCH_BIN)/ttfd
# The bench's helpers are not endpoints: plain flags, warnings still fatal.
BENCH_CFLAGS = -std=c11 -O2 -g -Wall -Wextra -Werror

deps-bench:
	@AIFACADE_DEPS="bench $(AIFACADE_DEPS)" tools/install-deps.sh

# The floor is linked the way the endpoints are (PIE, full RELRO, the same
# LDFLAGS, libc shared). No fully static build: valgrind, which every CGI
# run must pass, cannot check a static glibc program (bench/README.md).
$(BENCH_BIN)/floor-dyn: bench/floor.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -fPIE $(LDFLAGS) -o $@ $<

$(BENCH_BIN)/cgirun: bench/cgirun.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BENCH_BIN)/fakeprov: bench/fakeprov.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -pthread -o $@ $<

bench-tools: $(BENCH_TOOLS)

bench: deps deps-bench all $(BENCH_TOOLS)
	bench/both.sh $(BUILD)

# ttfd: time to the first delta of a second prompt over TLS, connections kept or not (bench/ttfd.sh).
$(BENCH_BIN)/ttfd: $(BUILD)/obj/bench/ttfd.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) -lcurl $(STATIC_LIBS)

# mdworst: the Markdown renderer's worst inputs, bounded and raw (SECURITY.md).
$(BENCH_BIN)/mdworst: $(BUILD)/obj/bench/mdworst.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(STATIC_LIBS)

# writers: a burst of writers with and without the writers' queue (bench/README.md).
$(BENCH_BIN)/writers: $(BUILD)/obj/bench/writers.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(STATIC_LIBS)

bench-writers: all $(BENCH_BIN)/writers
	@d=$$(mktemp -d /tmp/aifacade-writers.XXXXXX); $(BENCH_BIN)/writers $${BENCH_WRITERS:-150} 20 "$$d"; rc=$$?; rm -rf "$$d"; exit $$rc
