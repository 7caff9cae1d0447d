#!/bin/sh
# Fuzzes each harness in fuzz/ with libFuzzer (clang 14, AddressSanitizer
# and UndefinedBehaviorSanitizer) for FUZZ_SECONDS (default 60) seconds.
# The library is built with clang into build-fuzz/; each target starts from
# its seed corpus (fuzz/corpus/<target>/, read only) and grows a working
# corpus in build-fuzz/corpus/<target>/.  Prints the executions per target;
# a crash leaves its input in build-fuzz/ and fails the script.  With
# FUZZ_RUNS=N a target stops after N executions (or FUZZ_SECONDS, first).
#   make fuzz FUZZ_SECONDS=600      or      FUZZ_JOBS=2 ./scripts/fuzz.sh [target ...]
#   FUZZ_RUNS=1000000 FUZZ_SECONDS=3600 ./scripts/fuzz.sh idx
set -eu
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
runs=${FUZZ_RUNS:+-runs=$FUZZ_RUNS}
B=build-fuzz
SAN="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
make -s CC=clang BUILD=$B OPT=-O1 SAN="$SAN" $B/libtunelab.a -j"$jobs" >&2
# the Makefile passes its flags (`make fuzz`); run alone, the same defaults
M=$(cc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
cppflags=${FUZZ_CPPFLAGS:-"-I. -I/usr/include/$M/openblas-openmp -I/usr/include/stb -D_GNU_SOURCE"}
libs=${FUZZ_LDLIBS:-"-L/usr/lib/$M/openblas-openmp -Wl,-rpath,/usr/lib/$M/openblas-openmp -lopenblas -lnlopt -lsqlite3 -linih -lcjson -lz -lm -lpthread"}
targets=${*:-$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||')}
mkdir -p $B/fuzz
for t in $targets; do
    # shellcheck disable=SC2086
    clang $cppflags -g -O1 -fopenmp -fsanitize=address,undefined,fuzzer -fno-omit-frame-pointer \
        -o $B/fuzz/fuzz_$t fuzz/fuzz_$t.c $B/libtunelab.a $libs
done
status=0
run() {
    t=$1
    mkdir -p $B/corpus/$t $B/crashes/$t
    # shellcheck disable=SC2086
    if ! $B/fuzz/fuzz_$t $runs -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix=$B/crashes/$t/ $B/corpus/$t fuzz/corpus/$t >$B/fuzz_$t.log 2>&1; then
        echo "fuzz: $t: CRASH (see $B/fuzz_$t.log and $B/crashes/$t/)"
        return 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' $B/fuzz_$t.log)
    cov=$(grep -o 'cov: [0-9]*' $B/fuzz_$t.log | tail -1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $B/fuzz_$t.log)
    echo "fuzz: $t: $execs executions in ${took:-$secs}s, $cov, no crash"
}
# $jobs targets at a time, in batches
pids=""
n=0
for t in $targets; do
    run "$t" &
    pids="$pids $!"
    n=$((n + 1))
    if [ "$n" -ge "$jobs" ]; then
        for p in $pids; do wait "$p" || status=1; done
        pids=""
        n=0
    fi
done
for p in $pids; do wait "$p" || status=1; done
exit $status
