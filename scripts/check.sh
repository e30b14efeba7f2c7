#!/usr/bin/env bash
# Runs every test that `make check` built and prints one closing line:
# "N passed, M failed, K skipped".  Unit tests (cmocka) count their test
# cases, plain and under ASan+UBSan; the traced stress run under
# ThreadSanitizer counts one; each fuzz target's smoke run counts one; the
# integration scripts print TAP lines ("ok - name" / "not ok - name") and
# count one per line.  A check that could not be made here (an optional
# tool missing: "ok - name # SKIP why", or a skipped cmocka case) counts
# as skipped, not as passed, and is listed.  Exits non-zero when anything
# failed; skips alone do not fail the run.
set -u
cd "$(dirname "$0")/.."
B=build
LOGDIR=$B/test-logs
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
PASS=0
FAIL=0
SKIP=0
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
	local p f s
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0}
	f=${f:-0}
	s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or sanitizer report before the summary
	fi
	PASS=$((PASS + p))
	SKIP=$((SKIP + s))
	[ "$f" -gt 0 ] && note_fail "$f" "$label"
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$label" "$p" "$f" "$s"
	# (cmocka names a skipped case when it runs and again at the end)
	[ "$s" -gt 0 ] && grep '^\[  SKIPPED \] [^0-9]' "$log" | awk '!seen[$0]++ { print "    " $0 }'
	[ "$f" -gt 0 ] && tail -30 "$log"
}

# One item from a command: passed when it exits 0; else its log's last
# 30 lines are shown.
run_item() { # label command...
	local label=$1
	shift
	local log="$LOGDIR/$label.log"
	if "$@" >"$log" 2>&1; then
		PASS=$((PASS + 1))
		printf '%-40s %3d passed, %d failed, %d skipped\n' "$label" 1 0 0
	else
		note_fail 1 "$label"
		printf '%-40s %3d passed, %d failed, %d skipped\n' "$label" 0 1 0
		tail -30 "$log"
	fi
}

# The decoder's layers (scripts/layers.py, from the objects in build/obj).
# DEC_LAYERS comes from the Makefile (make check passes it); run alone,
# this script reads it there.
DEC_LAYERS=${DEC_LAYERS:-$(sed -n 's/^DEC_LAYERS[[:space:]]*:=[[:space:]]*//p' Makefile)}
run_item layers python3 scripts/layers.py --layers "$DEC_LAYERS" --objdir $B/obj
# Formatting (scripts/format.sh --check: clang-format --dry-run -Werror
# with .clang-format).
run_item format bash scripts/format.sh --check

# Every JSON log line the tests read (the unit tests' event logs too) is
# collected for test_docs.py, which runs last and checks that
# docs/log-format.md names nothing they did not produce.
export TLSTRACE_DOCCHECK_DIR=$PWD/$LOGDIR/doccheck
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

# The stress tool (tests/tools/stress.c: TLS client and server processes,
# duplex I/O through every read/write call, a signal every millisecond)
# built with ThreadSanitizer and traced by the library built with it.
# One item: it passes when every connection is verified on both sides and
# neither process got a ThreadSanitizer report (halt_on_error: the first
# one ends that process).  tests/tsan.supp may only hold reports that lie
# entirely inside OpenSSL.
TSAN_STRESS_ARGS=${TSAN_STRESS_ARGS:--t 4 -n 25 -b 65536}
if [ -x $B/tsan/stress ] && [ -f $B/tsan/libtlstrace.so ]; then
	log="$LOGDIR/tsan-stress.log"
	scratch=$(mktemp -d)
	start=$SECONDS
	# env after timeout: the TSan library is preloaded into the TSan
	# program only, not into timeout(1).  Output through a pipe: cat ends
	# when both processes have (the server may outlive a client that
	# ThreadSanitizer stopped).
	# shellcheck disable=SC2086
	timeout 600 env LD_PRELOAD="$PWD/$B/tsan/libtlstrace.so" \
		TSAN_OPTIONS="halt_on_error=1:suppressions=$PWD/tests/tsan.supp:log_path=$scratch/tsan" \
		TLSTRACE_FORMAT=json TLSTRACE_LOG="$scratch/trace-%p.jsonl" \
		$B/tsan/stress $TSAN_STRESS_ARGS 2>&1 | cat >"$log"
	rc=${PIPESTATUS[0]}
	secs=$((SECONDS - start))
	reports=$(cat "$scratch"/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer')
	for f in "$scratch"/tsan.*; do
		[ -f "$f" ] && { echo "== ThreadSanitizer log of pid ${f##*.}"; cat "$f"; } >>"$log"
	done
	final=$(grep -E '^stress: [0-9]+ connections' "$log" | tail -1)
	conns=$(sed -n 's/^stress: \([0-9]*\) connections, \([0-9]*\) verified.*errors=\([0-9]*\)$/\1 \2 \3/p' <<<"$final")
	read -r n v e <<<"${conns:-0 -1 -1}"
	if [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ] && [ "$n" -gt 0 ] && [ "$n" -eq "$v" ] && [ "$e" -eq 0 ]; then
		PASS=$((PASS + 1))
		printf '%-40s %s\n' "tsan/stress" "ok ($n connections verified, no report, ${secs} s)"
	else
		note_fail 1 "tsan/stress"
		printf '%-40s %s\n' "tsan/stress" "FAILED (exit $rc, $reports ThreadSanitizer reports, ${final:-no summary line})"
		grep -E '^stress: ' "$log" | head -20
		# the first report of each process, top frames
		for f in "$scratch"/tsan.*; do
			[ -f "$f" ] && sed -n '/^WARNING: ThreadSanitizer/,/^SUMMARY/p' "$f" |
				grep -E '^(WARNING|SUMMARY)|^  [A-Z]|^    #[0-3] ' | head -24
		done
	fi
	rm -rf "$scratch"
fi

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

for t in $(printf '%s\n' tests/integration/test_* | grep -v '/test_docs\.py$') tests/integration/test_docs.py; do
	[ -f "$t" ] || continue
	name=$(basename "$t")
	log="$LOGDIR/integration-$name.log"
	case "$t" in
	*.sh) timeout 900 bash "$t" >"$log" 2>&1 ;;
	*.py) timeout 900 python3 "$t" >"$log" 2>&1 ;;
	*) continue ;;
	esac
	rc=$?
	# TAP: "ok - name # SKIP why" is a skip, not a pass
	s=$(grep -ciE '^ok .*# skip' "$log")
	p=$(($(grep -c '^ok ' "$log") - s))
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	PASS=$((PASS + p))
	SKIP=$((SKIP + s))
	[ "$f" -gt 0 ] && note_fail "$f" "integration/$name"
	printf '%-40s %3d passed, %d failed, %d skipped\n' "integration/$name" "$p" "$f" "$s"
	[ "$s" -gt 0 ] && grep -iE '^ok .*# skip' "$log" | sed 's/^/    /'
	[ "$f" -gt 0 ] && grep -A12 '^not ok ' "$log" | head -60
	[ "$f" -gt 0 ] && [ "$rc" -ne 0 ] && tail -20 "$log"
done

if [ "${#FAILED_NAMES[@]}" -gt 0 ]; then
	echo "failed: ${FAILED_NAMES[*]} (logs in $LOGDIR)"
fi
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
