# bench.mk: `make bench` measures every endpoint against the CGI floor (issue 7; see bench/README.md).
#
#   make bench                 the whole run (about 6 minutes): prints the table,
#                              writes it to bench/results/<time>/ (latest: bench/results/latest)
#   make bench BENCH_ROUNDS=1 BENCH_DURATION=2     a quick look
#   make bench BENCH_ONLY="me conv50"              only these wrk rows (plus the floor)
#   make bench-tools           build the bench's own programs into $(BUILD)/bench
#
# wrk and hyperfine come from Debian (AIFACADE_DEPS=bench tools/install-deps.sh).

.PHONY: bench bench-tools deps-bench

BENCH_BIN = $(BUILD)/bench
BENCH_TOOLS = $(BENCH_BIN)/cgirun $(BENCH_BIN)/fakeprov $(BENCH_BIN)/floor-dyn $(BENCH_BIN)/floor-static \
              $(BENCH_BIN)/me-staticpie $(BENCH_BIN)/conversations-staticpie \
              $(BENCH_BIN)/me-scgi $(BENCH_BIN)/conversations-scgi
# The bench's helpers are not endpoints: plain flags, warnings still fatal.
BENCH_CFLAGS = -std=c11 -O2 -g -Wall -Wextra -Werror

deps-bench:
	@AIFACADE_DEPS="bench $(AIFACADE_DEPS)" tools/install-deps.sh

# The floor is linked the way the endpoints are (PIE, full RELRO, the same
# LDFLAGS), once against the shared libc and once fully static.
$(BENCH_BIN)/floor-dyn: bench/floor.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -fPIE $(LDFLAGS) -o $@ $<

$(BENCH_BIN)/floor-static: bench/floor.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BENCH_CFLAGS) -fPIE -static-pie -Wl,-z,relro,-z,now -o $@ $<

$(BENCH_BIN)/cgirun: bench/cgirun.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BENCH_BIN)/fakeprov: bench/fakeprov.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -pthread -o $@ $<

# The same endpoints linked fully static (libc too), for the table's
# "proposed" rows: what dropping the dynamic loader would save each run.
$(BENCH_BIN)/%-staticpie: cgi-bin/%.c $(LIB)
	@mkdir -p $(BENCH_BIN)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -MF $(BENCH_BIN)/obj/$*.d -c $< -o $(BENCH_BIN)/obj/$*.o
	@# glibc warns that SQLite's (unused) extension loader needs dlopen; that is all it says.
	$(CC) -static-pie -Wl,-z,relro,-z,now -o $@ $(BENCH_BIN)/obj/$*.o $(LIB) \
	  -lcmark-gfm-extensions -lcmark-gfm -lsqlite3 -ljson-c -lsodium -lm -lpthread -ldl 2>$@.log || \
	  { cat $@.log; exit 1; }
	@grep -v -e "Using 'dlopen' in statically linked" -e 'in function .unixDlOpen' $@.log || true
	@rm -f $@.log

# The same endpoints able to run as SCGI servers like chat (bench/scgi_main.c),
# linked exactly as the Makefile links them, for the table's other proposed rows.
$(BENCH_BIN)/%-scgi: cgi-bin/%.c bench/scgi_main.c $(LIB)
	@mkdir -p $(BENCH_BIN)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -Dapp_run=bench_app_run -MF $(BENCH_BIN)/obj/$*-scgi.d -c $< -o $(BENCH_BIN)/obj/$*-scgi.o
	$(CC) $(CPPFLAGS) $(CFLAGS) -MF $(BENCH_BIN)/obj/scgi_main-$*.d -c bench/scgi_main.c -o $(BENCH_BIN)/obj/scgi_main-$*.o
	$(CC) $(LDFLAGS) -o $@ $(BENCH_BIN)/obj/$*-scgi.o $(BENCH_BIN)/obj/scgi_main-$*.o $(LIB) $(STATIC_LIBS)

bench-tools: $(BENCH_TOOLS)

bench: deps deps-bench all $(BENCH_TOOLS)
	bench/run.sh $(BUILD)
