#!/usr/bin/env bash
# Runs every test that `make check` built and prints one closing line:
# "N passed, M failed".  Unit tests (cmocka) count their test cases, plain
# and under ASan+UBSan; each fuzz target's smoke run counts one; the
# integration scripts print TAP lines ("ok - name" / "not ok - name") and
# count one per line.  Exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."
B=build
LOGDIR=$B/test-logs
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
PASS=0
FAIL=0
FAILED_NAMES=()
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-5}

note_fail() {
	FAIL=$((FAIL + $1))
	FAILED_NAMES+=("$2")
}

run_cmocka() { # label binary
	local label=$1 bin=$2
	local log="$LOGDIR/${label//\//-}.log"
	timeout 600 "$bin" >"$log" 2>&1
	local rc=$?
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or sanitizer report before the summary
	fi
	PASS=$((PASS + p))
	[ "$f" -gt 0 ] && note_fail "$f" "$label"
	printf '%-40s %3d passed, %d failed\n' "$label" "$p" "$f"
	[ "$f" -gt 0 ] && tail -30 "$log"
}

for bin in $B/unit/test_*; do
	[ -x "$bin" ] && run_cmocka "unit/$(basename "$bin")" "$bin"
done
# The crypto binding once more on its libcrypto path for single AES blocks
# (the AES-NI path is taken where the CPU has it).
[ -x $B/unit/test_shimcrypto ] &&
	TLSTRACE_NO_AESNI=1 run_cmocka "unit/test_shimcrypto (no AES-NI)" $B/unit/test_shimcrypto
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for bin in $B/asan/test_*; do
	[ -x "$bin" ] && run_cmocka "asan/$(basename "$bin")" "$bin"
done

for bin in $B/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	corpus=tests/fuzz/corpus/$name
	scratch=$(mktemp -d)
	log="$LOGDIR/fuzz-$name.log"
	if timeout $((FUZZ_SMOKE_SECONDS + 60)) "$bin" -max_total_time="$FUZZ_SMOKE_SECONDS" \
		-rss_limit_mb=2048 -timeout=10 -artifact_prefix="$LOGDIR/" "$scratch" "$corpus" >"$log" 2>&1; then
		PASS=$((PASS + 1))
		printf '%-40s %s\n' "fuzz/$name" "ok ($(grep -o 'Done [0-9]* runs' "$log" | tail -1))"
	else
		note_fail 1 "fuzz/$name"
		printf '%-40s %s\n' "fuzz/$name" "FAILED"
		tail -40 "$log"
	fi
	rm -rf "$scratch"
done

for t in tests/integration/test_*; do
	[ -f "$t" ] || continue
	name=$(basename "$t")
	log="$LOGDIR/integration-$name.log"
	case "$t" in
	*.sh) timeout 900 bash "$t" >"$log" 2>&1 ;;
	*.py) timeout 900 python3 "$t" >"$log" 2>&1 ;;
	*) continue ;;
	esac
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	PASS=$((PASS + p))
	[ "$f" -gt 0 ] && note_fail "$f" "integration/$name"
	printf '%-40s %3d passed, %d failed\n' "integration/$name" "$p" "$f"
	[ "$f" -gt 0 ] && grep -A12 '^not ok ' "$log" | head -60
	[ "$f" -gt 0 ] && [ "$rc" -ne 0 ] && tail -20 "$log"
done

if [ "${#FAILED_NAMES[@]}" -gt 0 ]; then
	echo "failed: ${FAILED_NAMES[*]} (logs in $LOGDIR)"
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
