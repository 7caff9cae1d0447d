# tunelab: make | make test | make demo | make bench | make bench-hpo | make asan | make fuzz | make install
#
# Library sources live in util/ nn/ data/ hpo/ tune/ report/ and go into
# libtunelab.a; cli/ builds the `tunelab` command; every tests/test_*.c is linked into one
# Criterion runner, with the helpers in TEST_HELPERS.  Build outputs go to build/ (ignored by git).

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
ARCH    ?= -march=native
OPT     ?= -O3
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

# The OpenMP build of OpenBLAS, named explicitly so a pthreads OpenBLAS that
# an alternatives link might point to is never picked up.
BLAS_DIR := /usr/lib/$(MULTIARCH)/openblas-openmp
BLAS_INC := -I/usr/include/$(MULTIARCH)/openblas-openmp

CPPFLAGS += -I. $(BLAS_INC) -I/usr/include/stb -D_GNU_SOURCE
# -fno-math-errno lets sqrtf/expf loops vectorize; it is not fast-math (NaN and
# inf checks still work, which is how a diverged trial is caught).
CFLAGS   += -std=c11 $(OPT) $(ARCH) -g -fopenmp -Wall -Wextra -Wno-unused-parameter \
            -Wno-missing-field-initializers -fno-fast-math -fno-math-errno $(SAN)
# Open MPI (one binary: hpo/mpi_world.c loads libmpi with dlopen, only
# under mpirun, so a plain run starts as fast as without MPI).
MPI_CPPFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
CPPFLAGS += $(MPI_CPPFLAGS)
LDLIBS   += -ldl -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas -lnlopt -lsqlite3 -linih -lcjson -lmicrohttpd -lz -lm -lpthread
LDFLAGS  += -fopenmp $(SAN)

LIB_SRC  := $(sort $(wildcard util/*.c nn/*.c data/*.c hpo/*.c tune/*.c report/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
# Helpers the tests share that are not tests (nor library code).
TEST_HELPERS := tests/pbt_toy.c
TEST_SRC := $(sort $(wildcard tests/test_*.c)) $(TEST_HELPERS)
BENCH_SRC:= $(sort $(wildcard bench/*.c))
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
# libFuzzer harnesses (fuzz/fuzz_*.c); under gcc each links with a replay
# main that runs its seed corpus (fuzz/corpus/<target>/) once: part of `make test`.
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

LIB  := $(BUILD)/libtunelab.a
BIN  := tunelab
TESTBIN := $(BUILD)/tests/run_tests

.PHONY: all deps test demo bench bench-hpo asan fuzz fuzz-replay install clean check-tests parity-fixtures

all: $(BIN) $(LIB) $(EXAMPLE_BIN)

deps:
	@./scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# The dashboard's page (report/www/) is embedded in the binary: a generated
# header, build/gen/dashboard_www.h, that only report/dashboard.c includes.
WWW_SRC := $(sort $(wildcard report/www/*))
WWW_H   := $(BUILD)/gen/dashboard_www.h
$(WWW_H): $(WWW_SRC) scripts/embed_www.sh
	@mkdir -p $(dir $@)
	./scripts/embed_www.sh $@ $(WWW_SRC)
$(BUILD)/report/dashboard.o: $(WWW_H)
$(BUILD)/report/dashboard.o: CPPFLAGS += -I$(BUILD)/gen

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

# The suite also unit-tests the CLI's progress view (tests/test_run_view.c).
TEST_CLI_OBJ := $(BUILD)/cli/run_view.o $(BUILD)/cli/term.o
$(TESTBIN): $(TEST_OBJ) $(TEST_CLI_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(TEST_CLI_OBJ) $(LIB) $(LDLIBS) -lcriterion

$(BUILD)/examples/%: examples/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# The suite: unit tests, gradient checks, integration and end-to-end tests.
# Tests find the tunelab binary through TUNELAB_BIN.  First the BLAS-
# sensitive tests under every OpenBLAS kernel family the CPU can execute
# (scripts/kernel_matrix.sh), then the whole suite with OpenBLAS's own pick.
test: deps
	$(MAKE) $(BIN) $(TESTBIN) $(EXAMPLE_BIN) fuzz-replay
	TUNELAB_BIN=$(CURDIR)/$(BIN) OMP_WAIT_POLICY=PASSIVE \
	    ./scripts/kernel_matrix.sh ./$(TESTBIN) --jobs 2
	TUNELAB_BIN=$(CURDIR)/$(BIN) TUNELAB_EXAMPLES=$(CURDIR)/$(BUILD)/examples \
	    OMP_WAIT_POLICY=PASSIVE ./$(TESTBIN) --jobs 2 $(TEST_ARGS)

demo: deps
	$(MAKE) $(BIN)
	./scripts/demo.sh

# The peers (PyTorch 1.13, Optuna 3.1) come from Debian: deps.sh --bench.
bench:
	./scripts/deps.sh --bench
	$(MAKE) $(BIN) $(BENCH_BIN)
	./scripts/bench.sh

bench-hpo:
	./scripts/deps.sh --bench
	$(MAKE) $(BIN) $(BENCH_BIN)
	./scripts/bench_hpo.sh

# PyTorch's answers for the parity tests, stored for machines without torch
# (tests/data/parity_*; see scripts/torch_parity.py).
parity-fixtures:
	./scripts/deps.sh --bench
	$(MAKE) $(TESTBIN)
	TUNELAB_PARITY_UPDATE=1 ./$(TESTBIN) --filter '@(mlp|gpt)/torch_parity'

# Address and undefined-behaviour sanitizers over the whole suite.
asan: deps
	$(MAKE) BUILD=build-asan OPT="-O1" \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" BIN=build-asan/tunelab \
	    build-asan/tunelab build-asan/tests/run_tests build-asan/examples/tune_function
	TUNELAB_BIN=$(CURDIR)/build-asan/tunelab TUNELAB_EXAMPLES=$(CURDIR)/build-asan/examples \
	    ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    ./build-asan/tests/run_tests --jobs 2 $(TEST_ARGS)

$(BUILD)/fuzz/%: fuzz/%.c fuzz/replay_main.c fuzz/fuzz_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< fuzz/replay_main.c $(LIB) $(LDLIBS)

# Every seed of every target through its harness once (gcc; no clang needed).
fuzz-replay: $(FUZZ_REPLAY)
	@for t in $(FUZZ_REPLAY); do n=$${t##*/fuzz_}; printf '%-12s ' $$n; $$t fuzz/corpus/$$n || exit 1; done

# libFuzzer (clang 14) on each target for FUZZ_SECONDS: scripts/fuzz.sh.
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_CPPFLAGS="$(CPPFLAGS)" FUZZ_LDLIBS="$(LDLIBS)" ./scripts/fuzz.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/tunelab
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tunelab
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libtunelab.a
	for d in util nn data hpo tune report; do \
	    install -d $(DESTDIR)$(PREFIX)/include/tunelab/$$d; \
	    install -m 644 $$d/*.h $(DESTDIR)$(PREFIX)/include/tunelab/$$d/; done

clean:
	rm -rf $(BUILD) build-asan build-fuzz $(BIN)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
