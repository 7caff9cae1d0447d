#!/bin/sh
# scripts/kernel_matrix.sh: reruns the BLAS-sensitive tests under every
# OpenBLAS kernel family this CPU can execute (`make test` calls it before
# the whole suite), so that a developer on one kind of machine sees what
# the other kind would fail: Cooperlake where AVX-512 (F, BW, DQ, VL) and
# AVX512-BF16 exist, SkylakeX where AVX-512 does, Haswell and Zen where AVX2
# and FMA exist.  A family the CPU cannot execute
# (SkylakeX on AMD Zen 3) is named as not run, never skipped silently.
#
# The tests: blas/ (the bit-for-bit and tolerance promises across thread
# counts), kernels/ (the batch-split paths), ops/, mlp/, gpt/ (PyTorch parity included), optim/, train/ and
# the CLI's retrain check.
# Each family's run asserts (blas/kernel_family_is_the_one_asked_for) that
# OpenBLAS really loaded the family OPENBLAS_CORETYPE names.
#
# Usage: scripts/kernel_matrix.sh TEST_BINARY [criterion options]
# Exit status: 0 when every family passed, 1 when one failed, 2 on usage.
set -u
[ $# -ge 1 ] && [ -x "$1" ] || { echo "usage: scripts/kernel_matrix.sh TEST_BINARY [options]" >&2; exit 2; }
bin=$1
shift
FILTER='@(@(blas|kernels|ops|mlp|gpt|optim|train)/*|cli/retrain_*)'

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { case " $flags " in *" $1 "*) return 0 ;; esac; return 1; }
families=""
if has avx512f && has avx512bw && has avx512dq && has avx512vl; then
    # Cooperlake: SkylakeX's sgemm plus bf16 kernels, OpenBLAS's own pick
    # wherever AVX512-BF16 exists (AMD Zen 4 and 5 among them).
    if has avx512_bf16; then families="Cooperlake "; fi
    families="${families}SkylakeX"
fi
if has avx2 && has fma; then families="$families Haswell Zen"; fi
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -1)
not_run=""
case "$families" in *Cooperlake*) ;; *) not_run="Cooperlake (needs AVX-512 + BF16)" ;; esac
case "$families" in *SkylakeX*) ;; *) not_run="$not_run, SkylakeX (needs AVX-512)" ;; esac
case "$families" in *Haswell*) ;; *) not_run="$not_run, Haswell, Zen (need AVX2 + FMA)" ;; esac
not_run=${not_run#, }

families=${families# }
echo "kernel matrix on ${cpu:-an unknown CPU}: families ${families:-none}${not_run:+; not executable here: $not_run}"
failed=""
passed=0
for f in $families; do
    out=$(OPENBLAS_CORETYPE=$f "$bin" --filter "$FILTER" "$@" 2>&1)
    rc=$?
    line=$(printf '%s\n' "$out" | grep 'Synthesis' | tail -1 | sed 's/.*Synthesis: //')
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        echo "kernel matrix: OPENBLAS_CORETYPE=$f: $line"
    else
        failed="$failed $f"
        printf '%s\n' "$out" | grep -E 'FAIL|CRASH|\[----\].*:' | head -20
        echo "kernel matrix: OPENBLAS_CORETYPE=$f: FAILED ($line)"
    fi
done
echo "kernel matrix: $passed families passed${failed:+, failed:$failed}"
[ -z "$failed" ]
