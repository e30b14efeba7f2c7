#!/usr/bin/env bash
# Runs every fuzz target `make fuzz-build` built, FUZZ_SECONDS each (first
# argument, default 60), FUZZ_JOBS at a time (second argument, default 1:
# one after the other), and prints one line per target, in the targets'
# order: runs, executions per second, coverage, crashes.  FUZZ_TARGETS
# (names, space-separated) runs only those.  Exits non-zero when any
# target crashed (or failed to run).
#
# Each target starts from its committed corpus, tests/fuzz/corpus/NAME,
# which is only read: new inputs go to build/fuzz-scratch/NAME (emptied
# first; merge the useful ones by hand with -merge=1 if wanted).  A
# crashing input is kept as build/fuzz-artifacts/NAME-crash-<sha1> and its
# sanitizer report is shown; the full log is build/fuzz-logs/NAME.log.
set -u
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-${FUZZ_SECONDS:-60}}
JOBS=${2:-${FUZZ_JOBS:-1}}
case $SECONDS_EACH:$JOBS in
*[!0-9:]* | :* | *: | *:0)
	echo "usage: $0 [SECONDS [JOBS]]" >&2
	exit 2
	;;
esac
B=build
LOGS=$B/fuzz-logs
ART=$B/fuzz-artifacts
SCRATCH=$B/fuzz-scratch
mkdir -p "$LOGS" "$ART" "$SCRATCH"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

shopt -s nullglob
bins=($B/fuzz/fuzz_*)
# FUZZ_TARGETS: only these (names, space-separated)
if [ -n "${FUZZ_TARGETS:-}" ]; then
	bins=()
	for t in $FUZZ_TARGETS; do
		bins+=("$B/fuzz/$t")
	done
fi
if [ "${#bins[@]}" -eq 0 ]; then
	echo "fuzz.sh: no targets in $B/fuzz (run make fuzz-build)" >&2
	exit 2
fi

# One target: its run, then its report line (and what went wrong) in
# $LOGS/NAME.report, written whole at the end.
run_one() {
	local bin=$1 name corpus scratch log rc runs eps cov ft arts crashes
	name=$(basename "$bin")
	corpus=tests/fuzz/corpus/$name
	scratch=$SCRATCH/$name
	log=$LOGS/$name.log
	rm -rf "$scratch"
	mkdir -p "$scratch"
	rm -f "$ART/$name"-*
	local dirs=("$scratch")
	[ -d "$corpus" ] && dirs+=("$corpus")
	timeout $((SECONDS_EACH + 120)) "$bin" -max_total_time="$SECONDS_EACH" \
		-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$ART/$name-" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	arts=("$ART/$name"-*)
	crashes=${#arts[@]}
	if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
		crashes=1 # died without leaving an input (e.g. timeout(1))
	fi
	{
		printf '%-28s runs=%-10s exec/s=%-7s cov=%-6s ft=%-7s crashes=%d\n' \
			"$name" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$crashes"
		if [ "$crashes" -gt 0 ]; then
			for a in "${arts[@]}"; do
				echo "  reproducer: $a (run: $bin $a)"
			done
			# what went wrong, then the first frames in our own code
			grep -E '^==[0-9]+==ERROR|^fuzz invariant|runtime error|^SUMMARY' \
				"$log" | head -4 | sed 's/^/  /'
			grep -E '^ +#[0-9]+ .* in .*(decoder|shim|tests)/' "$log" |
				head -8 | sed 's/ (.*BuildId.*)//; s/^ */    /'
			echo "  log: $log"
		fi
	} >"$LOGS/$name.report.tmp"
	mv "$LOGS/$name.report.tmp" "$LOGS/$name.report"
}

# At most JOBS targets at once.  Each report is printed as soon as it and
# those of the targets before it are done, so in the targets' order; a
# target failed when its report counts a crash.
pids=()
names=()
failed=()
next=0
reports() { # "all": wait for the rest
	while [ "$next" -lt "${#pids[@]}" ]; do
		if [ "${1:-}" != all ] && kill -0 "${pids[$next]}" 2>/dev/null &&
			! grep -q . "$LOGS/${names[$next]}.report" 2>/dev/null; then
			break
		fi
		wait "${pids[$next]}" 2>/dev/null
		cat "$LOGS/${names[$next]}.report"
		grep -q ' crashes=0$' "$LOGS/${names[$next]}.report" ||
			failed+=("${names[$next]}")
		next=$((next + 1))
	done
}
for bin in "${bins[@]}"; do
	[ -x "$bin" ] || continue
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n
		reports
	done
	rm -f "$LOGS/$(basename "$bin").report"
	run_one "$bin" &
	pids+=("$!")
	names+=("$(basename "$bin")")
done
reports all

if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: crashes in ${failed[*]}"
	exit 1
fi
echo "fuzz: no crashes (${#bins[@]} targets, ${SECONDS_EACH}s each, $JOBS at a time)"
