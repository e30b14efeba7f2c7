#!/usr/bin/env bash
# The tlstrace launcher: environment, library discovery, exit statuses,
# signal forwarding and death, job-control stops, what the child inherits.
#
#   TLSTRACE_BIN  launcher to test (default build/tlstrace)
#   TLSTRACE_LIB  library to preload (default build/libtlstrace.so; when
#                 missing, an empty stand-in is built: these checks are
#                 about the launcher, not the library)
#
# Prints `ok - NAME` / `not ok - NAME` per check; exits 1 if one failed.
# Every process started here is bounded in time and stopped by its pid.
#
# shellcheck disable=SC2016 # $$ and friends are for the child's shell
# shellcheck disable=SC2317 # functions called through trap, check, eval
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
abspath() { realpath -m -- "$1"; }
bin=$(abspath "${TLSTRACE_BIN:-$root/build/tlstrace}")
lib=${TLSTRACE_LIB:-$root/build/libtlstrace.so}

tmp=$(mktemp -d)
bg_pids=() # live background processes only: a reaped pid may be reused
cleanup() {
	local p
	for p in ${bg_pids[@]+"${bg_pids[@]}"}; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# A library that does nothing: for the checks that compare the child with
# an untraced run (fds, signal state), whatever the real library opens.
echo 'int tt_test_stub;' >"$tmp/stub.c"
cc -shared -fPIC -o "$tmp/stub.so" "$tmp/stub.c" || {
	echo "not ok - build a stand-in library"
	exit 1
}
if [ -e "$lib" ]; then
	lib=$(realpath -- "$lib")
else
	lib=$tmp/stub.so
fi
[ -x "$bin" ] || {
	echo "not ok - launcher $bin exists"
	exit 1
}

# Start from a known environment: nothing of the caller's tracing setup.
unset LD_PRELOAD TLSTRACE_LOG TLSTRACE_LEVEL TLSTRACE_FORMAT TLSTRACE_KEYLOG
unset TLSTRACE_KEYLOG_OUT TLSTRACE_DECRYPT TLSTRACE_EVENTS SSLKEYLOGFILE
export TLSTRACE_LIB=$lib
cd "$tmp" || exit 1

failed=0
n=0
ok() { n=$((n + 1)); echo "ok - $1"; }
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok - $1"
	shift
	local l
	for l in "$@"; do
		echo "#   $l"
	done
	# What the last command said, for the reader of a CI log.
	[ -s out ] && sed 's/^/#   stdout: /' out | head -20
	[ -s err ] && sed 's/^/#   stderr: /' err | head -20
	return 0
}
# check NAME CONDITION-COMMAND...: ok if the condition succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}

# t CMD...: run bounded; status in $rc, output in ./out and ./err.  The
# subshell keeps bash's own "Terminated" report out of the TAP stream.
t() {
	rc=0
	(timeout -k 2 20 "$@" >out 2>err </dev/null; exit $?) 2>/dev/null || rc=$?
}

# wait_gone PID SECS: wait for a background process to end, killing it
# if it overstays; its status in $rc (137 when it had to be killed).
wait_gone() {
	local pid=$1 i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	rc=0
	wait "$pid" || rc=$?
}

# child_of PID: the pid of PID's (single) child, waiting for it to exist.
child_of() {
	local i c
	for ((i = 0; i < 100; i++)); do
		c=$(pgrep -P "$1" | head -1)
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.05
	done
	return 1
}

# state PID: the one-letter state from /proc/PID/stat (T = stopped).
state() { sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null; }

# wait_state PID LETTER: poll for the state, up to 5 s.
wait_state() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(state "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# died_of SIG CMD...: CMD ends killed by signal number SIG.  A shell's 143
# could also be exit(143); python tells a real death by signal apart.
died_of() {
	timeout -k 2 20 python3 -c '
import subprocess, sys
r = subprocess.run(sys.argv[2:], timeout=10).returncode
sys.exit(0 if r == -int(sys.argv[1]) else 1)' "$@" >out 2>err </dev/null
}

# --- environment --------------------------------------------------------

t "$bin" -- sh -c 'echo $LD_PRELOAD $TLSTRACE_LEVEL; exit 3'
if [ "$rc" = 3 ] && [ "$(cat out)" = "$lib" ]; then
	ok "exit status and LD_PRELOAD pass through (exit 3)"
else
	not_ok "exit status and LD_PRELOAD pass through (exit 3)" "rc=$rc, want 3 and '$lib'"
fi

t env LD_PRELOAD="$tmp/stub.so $tmp/stub.so" "$bin" -- printenv LD_PRELOAD
check "LD_PRELOAD is prepended, old list kept verbatim" \
	test "$rc:$(cat out)" = "0:$lib:$tmp/stub.so $tmp/stub.so"

t "$bin" -l debug -f json -o x.log -k ./keys.txt -- env
grep -E '^TLSTRACE_(LOG|LEVEL|FORMAT|KEYLOG)=' out | sort >vars
printf '%s\n' "TLSTRACE_FORMAT=json" "TLSTRACE_KEYLOG=$tmp/keys.txt" \
	"TLSTRACE_LEVEL=debug" "TLSTRACE_LOG=$tmp/x.log" >want
if [ "$rc" = 0 ] && cmp -s vars want; then
	ok "-l -f -o -k set TLSTRACE_*, paths made absolute"
else
	not_ok "-l -f -o -k set TLSTRACE_*, paths made absolute" "got: $(tr '\n' ' ' <vars)" "want: $(tr '\n' ' ' <want)"
fi

t "$bin" -o 'logs/tls-%p.jsonl' -- printenv TLSTRACE_LOG
check "-o keeps %p for the library" test "$(cat out)" = "$tmp/logs/tls-%p.jsonl"

t "$bin" -o /var/tmp/a.log -- printenv TLSTRACE_LOG
check "-o keeps an absolute path as is" test "$(cat out)" = "/var/tmp/a.log"

t "$bin" -o stderr -- printenv TLSTRACE_LOG
check "-o stderr names the sink, not a file" test "$(cat out)" = stderr

t "$bin" -- printenv TLSTRACE_LEVEL
check "no -l: TLSTRACE_LEVEL left unset" test "$rc" = 1

t env TLSTRACE_LEVEL=warn "$bin" -- printenv TLSTRACE_LEVEL
check "no -l: TLSTRACE_LEVEL from the caller kept" test "$(cat out)" = warn

t "$bin" sh -c 'exit 4' -l bogus
check "options after COMMAND are COMMAND's" test "$rc" = 4

# --- usage --------------------------------------------------------------

t "$bin" -l bogus -- true
if [ "$rc" = 2 ] && grep -q -- '-l bogus' err && grep -q '^usage: tlstrace' err; then
	ok "-l bogus: exit 2, message and usage"
else
	not_ok "-l bogus: exit 2, message and usage" "rc=$rc"
fi

t "$bin" -f xml -- true
check "-f xml: exit 2" test "$rc" = 2

t "$bin"
check "no COMMAND: exit 2" test "$rc" = 2

t "$bin" -q true
check "unknown option: exit 2" test "$rc" = 2

t "$bin" -o
check "-o without FILE: exit 2" test "$rc" = 2

t "$bin" --help
check "--help: exit 0, usage on stdout" grep -q '^usage: tlstrace' out

t "$bin" --version
check "--version" grep -q '^tlstrace [0-9]' out

# --- -e EVENTS ------------------------------------------------------------

t "$bin" -e summary,diagnosis -- printenv TLSTRACE_EVENTS
check "-e sets TLSTRACE_EVENTS" test "$rc:$(cat out)" = "0:summary,diagnosis"

t "$bin" -e ' summary , ,diagnosis,' -- printenv TLSTRACE_EVENTS
check "-e: blanks and empty items accepted, the list passed as given" \
	test "$rc:$(cat out)" = "0: summary , ,diagnosis,"

t "$bin" -e certificate_request,alert,handshake,server_hello_done -- printenv TLSTRACE_EVENTS
check "-e: handshake message names" \
	test "$rc:$(cat out)" = "0:certificate_request,alert,handshake,server_hello_done"

t "$bin" -- printenv TLSTRACE_EVENTS
check "no -e: TLSTRACE_EVENTS left unset" test "$rc" = 1

t env TLSTRACE_EVENTS=summary "$bin" -- printenv TLSTRACE_EVENTS
check "no -e: TLSTRACE_EVENTS from the caller kept" test "$(cat out)" = summary

t "$bin" -e summary,bogus,Alert -- sh -c 'echo ran'
if [ "$rc" = 2 ] && [ ! -s out ] &&
	grep -q '^tlstrace: -e: unknown event names bogus, Alert; EVENTS is a comma list of: alert, certificate, .*, summary, supplemental_data$' err &&
	grep -q '^usage: tlstrace' err; then
	ok "-e with unknown names: exit 2, names them and the valid ones, COMMAND not run"
else
	not_ok "-e with unknown names: exit 2, names them and the valid ones, COMMAND not run" "rc=$rc"
fi

t "$bin" -e ' , ' -- sh -c 'echo ran'
if [ "$rc" = 2 ] && [ ! -s out ] && grep -qx "tlstrace: -e ' , ': EVENTS names no event" err; then
	ok "-e naming no event: exit 2"
else
	not_ok "-e naming no event: exit 2" "rc=$rc"
fi

t "$bin" -e
check "-e without EVENTS: exit 2" test "$rc" = 2

t "$bin" --help
if grep -q '^  -e EVENTS  write only these events' out && grep -q 'TLSTRACE_EVENTS' out &&
	grep -q '^             alert, certificate, certificate_request,' out &&
	grep -q 'summary, supplemental_data$' out; then
	ok "--help documents -e and lists the event names"
else
	not_ok "--help documents -e and lists the event names"
fi

# --- key logs: -w and -K ------------------------------------------------

t "$bin" -w rel.txt -- sh -c 'cd / && echo $TLSTRACE_KEYLOG_OUT'
check "-w sets TLSTRACE_KEYLOG_OUT, made absolute" \
	test "$rc:$(cat out)" = "0:$tmp/rel.txt"

t "$bin" -w 'keys-%p.txt' -- printenv TLSTRACE_KEYLOG_OUT
check "-w keeps %p for the library" test "$(cat out)" = "$tmp/keys-%p.txt"

t "$bin" -w /var/tmp/k.txt -- printenv TLSTRACE_KEYLOG_OUT
check "-w keeps an absolute path as is" test "$(cat out)" = /var/tmp/k.txt

t "$bin" -w '' -- true
check "-w with an empty FILE: exit 2" test "$rc" = 2

# What COMMAND sees under -K: both variables, the file, the modes; the
# paths go to ./kpaths for the checks made once COMMAND is gone.  A secret
# is appended, as a TLS library would.
cat >kprobe.sh <<'PROBE'
f=$SSLKEYLOGFILE
d=${f%/*}
printf '%s\n' "$f" "$d" >kpaths
[ -n "$f" ] && [ "$f" = "$TLSTRACE_KEYLOG" ] && echo same
[ -f "$f" ] && [ ! -L "$f" ] && [ ! -s "$f" ] && echo "empty file"
echo "file $(stat -c %a "$f") dir $(stat -c %a "$d")"
echo "name ${d##*/}"
echo 'CLIENT_RANDOM 00 11' >>"$f"
PROBE
# keys_gone: the file and the directory named in ./kpaths no longer exist.
keys_gone() {
	local f d
	{ read -r f && read -r d; } <kpaths || return 1
	[ -n "$f" ] && [ -n "$d" ] && [ ! -e "$f" ] && [ ! -e "$d" ]
}
mkdir ktmp

rm -f kpaths
t env TMPDIR="$tmp/ktmp" "$bin" -K -- sh -c '. ./kprobe.sh; exit 3'
check "-K: COMMAND's status comes back (exit 3)" test "$rc" = 3
check "-K: SSLKEYLOGFILE and TLSTRACE_KEYLOG name the same file" \
	grep -qx same out
check "-K: the key log exists, empty, a regular file" \
	grep -qx "empty file" out
check "-K: key log mode 600, its directory mode 700" \
	grep -qx "file 600 dir 700" out
check "-K: directory \$TMPDIR/tlstrace-keys.XXXXXX" \
	eval '[ "$(sed -n 2p kpaths)" = "$tmp/ktmp/$(sed -n "s/^name //p" out)" ] &&
	      grep -qE "^name tlstrace-keys\.[A-Za-z0-9]{6}$" out'
check "-K: key log and directory removed after exit 3" keys_gone
check "-K: nothing else left in \$TMPDIR, no -K message" \
	eval '[ -z "$(ls -A ktmp)" ] && ! grep -q "^tlstrace: " err'

rm -f kpaths
t env TMPDIR="$tmp/ktmp" "$bin" -K -- sh -c '. ./kprobe.sh; kill -TERM $$'
check "-K: COMMAND killed by SIGTERM: status 143" test "$rc" = 143
check "-K: key log and directory removed after COMMAND's SIGTERM" \
	eval 'grep -qx "file 600 dir 700" out && keys_gone'

# SIGTERM to the launcher: forwarded, and the key log still removed.
rm -f kpaths ready
TMPDIR="$tmp/ktmp" "$bin" -K -- sh -c \
	'. ./kprobe.sh; : >ready; while :; do sleep 0.05; done' \
	>out 2>err </dev/null &
lp=$!
bg_pids+=("$lp")
cp=$(child_of "$lp") && bg_pids+=("$cp")
for ((i = 0; i < 100; i++)); do [ -e ready ] && break; sleep 0.05; done
kill -TERM "$lp"
wait_gone "$lp" 10
if [ "$rc" = 143 ] && [ -e ready ] && keys_gone; then
	ok "-K: SIGTERM to the launcher: status 143, key log removed"
else
	not_ok "-K: SIGTERM to the launcher: status 143, key log removed" "rc=$rc"
fi
[ -n "$cp" ] && kill -0 "$cp" 2>/dev/null && kill -KILL "$cp"
bg_pids=()

rm -f kpaths
t env -u TMPDIR "$bin" -K -- sh -c '. ./kprobe.sh'
if [ "$rc" = 0 ] && grep -qx same out &&
	[[ $(head -1 kpaths) == /tmp/tlstrace-keys.??????/keylog ]] && keys_gone; then
	ok "-K without TMPDIR: in /tmp, removed after exit 0"
else
	not_ok "-K without TMPDIR: in /tmp, removed after exit 0" "rc=$rc" "paths: $(tr '\n' ' ' <kpaths)"
fi

t env TMPDIR="$tmp/ktmp" "$bin" -K -k keys.txt -- sh -c 'echo ran'
if [ "$rc" = 2 ] && [ ! -s out ] && grep -q -- '^tlstrace: -K and -k' err &&
	[ -z "$(ls -A ktmp)" ]; then
	ok "-K with -k: exit 2, COMMAND not run"
else
	not_ok "-K with -k: exit 2, COMMAND not run" "rc=$rc"
fi

t env TMPDIR="$tmp/no-such-dir" "$bin" -K -- sh -c 'echo ran'
if [ "$rc" = 125 ] && [ ! -s out ] && [ "$(wc -l <err)" = 1 ] &&
	grep -q '^tlstrace: -K: .*no-such-dir' err; then
	ok "-K cannot make its directory: one line, exit 125, COMMAND not run"
else
	not_ok "-K cannot make its directory: one line, exit 125, COMMAND not run" "rc=$rc"
fi

# --- the private key log by default; --no-keylog -----------------------

# What COMMAND sees of the key log, one fact a line: SSLKEYLOGFILE, the
# modes of the file and of its directory, how many TLSTRACE_KEYLOG there
# are and whether it names the same file.
kview='echo "$SSLKEYLOGFILE"; stat -c %a "$SSLKEYLOGFILE" "$(dirname "$SSLKEYLOGFILE")"; env | grep -c ^TLSTRACE_KEYLOG=; [ "$TLSTRACE_KEYLOG" = "$SSLKEYLOGFILE" ] && echo same'
# Whether COMMAND has each variable, and their values.
kvars='env | grep -c ^SSLKEYLOGFILE=; env | grep -c ^TLSTRACE_KEYLOG=; echo "$SSLKEYLOGFILE"; echo "$TLSTRACE_KEYLOG"'
mkdir dtmp
# dtmp_empty: nothing made, or nothing left, in the TMPDIR given.
dtmp_empty() { [ -z "$(ls -A dtmp)" ]; }

t env TMPDIR="$tmp/dtmp" "$bin" -- sh -c "$kview"
if [ "$rc" = 0 ] && [[ $(head -1 out) == "$tmp"/dtmp/tlstrace-keys.??????/keylog ]] &&
	[ "$(sed 1d out)" = "$(printf '600\n700\n1\nsame')" ] && [ ! -s err ]; then
	ok "default: a private key log in \$TMPDIR (600, directory 700), named in SSLKEYLOGFILE and TLSTRACE_KEYLOG"
else
	not_ok "default: a private key log in \$TMPDIR (600, directory 700), named in SSLKEYLOGFILE and TLSTRACE_KEYLOG" "rc=$rc"
fi
check "default: \$TMPDIR empty again after COMMAND's exit" dtmp_empty

rm -f kpaths
t env TMPDIR="$tmp/dtmp" "$bin" -- sh -c '. ./kprobe.sh; exit 5'
check "default: the key log as -K makes it, status 5, removed" \
	eval '[ "$rc" = 5 ] && grep -qx same out && grep -qx "empty file" out &&
	      grep -qx "file 600 dir 700" out && keys_gone && dtmp_empty'

for sig in TERM KILL; do
	rm -f kpaths
	num=$(kill -l "$sig")
	if TMPDIR="$tmp/dtmp" died_of "$num" "$bin" -- sh -c ". ./kprobe.sh; kill -$sig \$\$" &&
		grep -qx "file 600 dir 700" out && keys_gone && dtmp_empty; then
		ok "default: COMMAND killed by SIG$sig: tlstrace dies of it, the key log removed"
	else
		not_ok "default: COMMAND killed by SIG$sig: tlstrace dies of it, the key log removed" \
			"left in dtmp: $(find dtmp -mindepth 1 | tr '\n' ' ')"
	fi
done

# Kept small while COMMAND runs: past 8 MiB it is emptied within about a
# second (appending goes on at its new end); under the cap it is left.
t env TMPDIR="$tmp/dtmp" "$bin" -- sh -c '
	head -c 1048576 /dev/zero >>"$SSLKEYLOGFILE"; sleep 2.5; stat -c %s "$SSLKEYLOGFILE"
	head -c 9437184 /dev/zero >>"$SSLKEYLOGFILE"; sleep 2.5; stat -c %s "$SSLKEYLOGFILE"
	echo line >>"$SSLKEYLOGFILE"; stat -c %s "$SSLKEYLOGFILE"'
check "default: the key log kept under 8 MiB (1 MiB left, 10 MiB emptied, appends go on)" \
	eval '[ "$rc:$(cat out)" = "0:$(printf "1048576\n0\n5\n")" ] && dtmp_empty && [ ! -s err ]'

t env TMPDIR="$tmp/dtmp" "$bin" --no-keylog -- sh -c "$kvars"
check "--no-keylog: neither SSLKEYLOGFILE nor TLSTRACE_KEYLOG in COMMAND's environment" \
	test "$rc:$(cat out)" = "0:$(printf '0\n0\n\n')"
check "--no-keylog: no directory made in \$TMPDIR, nothing said" \
	eval 'dtmp_empty && [ ! -s err ]'

t env TMPDIR="$tmp/dtmp" SSLKEYLOGFILE=/some/abs/path "$bin" --no-keylog -- sh -c "$kvars"
check "--no-keylog: the caller's SSLKEYLOGFILE passed on untouched" \
	eval '[ "$rc:$(cat out)" = "0:$(printf "1\n0\n/some/abs/path\n")" ] && dtmp_empty'

t env TMPDIR="$tmp/dtmp" SSLKEYLOGFILE=/some/abs/path "$bin" -- sh -c "$kvars"
check "the caller's SSLKEYLOGFILE: passed on as it is, read by default, nothing made" \
	eval '[ "$rc:$(cat out)" = "0:$(printf "1\n0\n/some/abs/path\n")" ] && dtmp_empty &&
	      [ ! -s err ]'

t env TMPDIR="$tmp/dtmp" SSLKEYLOGFILE=rel/keys.txt "$bin" -- sh -c "$kvars"
check "the caller's relative SSLKEYLOGFILE: passed on as it is, TLSTRACE_KEYLOG made absolute" \
	eval '[ "$rc:$(cat out)" = "0:$(printf "1\n1\nrel/keys.txt\n%s" "$tmp/rel/keys.txt")" ] &&
	      dtmp_empty'

t env TMPDIR="$tmp/dtmp" TLSTRACE_KEYLOG=/some/keys "$bin" -- sh -c "$kvars"
check "the caller's TLSTRACE_KEYLOG: kept, nothing made" \
	eval '[ "$rc:$(cat out)" = "0:$(printf "0\n1\n\n/some/keys")" ] && dtmp_empty'

t env TMPDIR="$tmp/dtmp" "$bin" -k keys.txt -- sh -c "$kvars"
check "-k: TLSTRACE_KEYLOG made absolute, no SSLKEYLOGFILE, no directory made" \
	eval '[ "$rc:$(cat out)" = "0:$(printf "0\n1\n\n%s" "$tmp/keys.txt")" ] && dtmp_empty'

for off in off 0 no false; do
	t env TMPDIR="$tmp/dtmp" TLSTRACE_DECRYPT=$off "$bin" -- sh -c "$kvars"
	check "TLSTRACE_DECRYPT=$off: no key log made, none named" \
		eval '[ "$rc:$(cat out)" = "0:$(printf "0\n0\n\n")" ] && dtmp_empty'
done

rm -f kpaths
t env TMPDIR="$tmp/dtmp" TLSTRACE_DECRYPT=on "$bin" -- sh -c '. ./kprobe.sh'
check "TLSTRACE_DECRYPT=on: the key log made, then removed" \
	eval '[ "$rc" = 0 ] && grep -qx same out && keys_gone && dtmp_empty'

rm -f kpaths
t env TMPDIR="$tmp/dtmp" TLSTRACE_DECRYPT=off SSLKEYLOGFILE=/some/abs/path "$bin" -K -- \
	sh -c '. ./kprobe.sh'
check "-K: made whatever SSLKEYLOGFILE and TLSTRACE_DECRYPT say, then removed" \
	eval '[ "$rc" = 0 ] && grep -qx same out && grep -qx "file 600 dir 700" out &&
	      keys_gone && dtmp_empty'

for opts in "--no-keylog -K" "-K --no-keylog"; do
	# shellcheck disable=SC2086 # two options
	t env TMPDIR="$tmp/dtmp" "$bin" $opts -- sh -c 'echo ran'
	if [ "$rc" = 2 ] && [ ! -s out ] && dtmp_empty &&
		[ "$(grep -c '^tlstrace: ' err)" = 1 ] &&
		grep -qx 'tlstrace: -K and --no-keylog cannot be used together: one asks for the key log, the other turns it off' err &&
		grep -q '^usage: tlstrace' err; then
		ok "$opts: exit 2, one line, COMMAND not run"
	else
		not_ok "$opts: exit 2, one line, COMMAND not run" "rc=$rc"
	fi
done

t env TMPDIR="$tmp/no-such-dir" "$bin" -- sh -c "echo ran; $kvars"
if [ "$rc" = 0 ] && [ "$(cat out)" = "$(printf 'ran\n0\n0\n\n')" ] &&
	[ "$(cat err)" = "tlstrace: no private key log: cannot create a directory in $tmp/no-such-dir: No such file or directory; COMMAND runs without one" ]; then
	ok "default, \$TMPDIR missing: one line says why, COMMAND runs without a key log"
else
	not_ok "default, \$TMPDIR missing: one line says why, COMMAND runs without a key log" "rc=$rc"
fi

t "$bin" --help
if grep -q '^  -K         give COMMAND a private key log' out &&
	grep -q 'The default, unless -k is given,$' out &&
	grep -qx '  --no-keylog' out; then
	ok "--help: -K is the default, --no-keylog turns it off"
else
	not_ok "--help: -K is the default, --no-keylog turns it off"
fi

# --- library discovery --------------------------------------------------

mkdir -p build inst/bin inst/lib/tlstrace
cp "$bin" build/tlstrace
cp stub.so build/libtlstrace.so
cp "$bin" inst/bin/tlstrace
cp stub.so inst/lib/tlstrace/libtlstrace.so
t env -u TLSTRACE_LIB build/tlstrace -- printenv LD_PRELOAD
check "library found next to the executable" test "$(cat out)" = "$tmp/build/libtlstrace.so"
t env -u TLSTRACE_LIB inst/bin/tlstrace -- printenv LD_PRELOAD
check "library found in ../lib/tlstrace (installed layout)" \
	test "$(cat out)" = "$tmp/inst/lib/tlstrace/libtlstrace.so"
rm build/libtlstrace.so
t env -u TLSTRACE_LIB build/tlstrace -- true
if [ "$rc" = 125 ] && grep -q 'cannot find libtlstrace.so' err; then
	ok "no library: exit 125, clear message"
else
	not_ok "no library: exit 125, clear message" "rc=$rc"
fi
t env TLSTRACE_LIB="$tmp/nonexistent.so" "$bin" -- true
check "TLSTRACE_LIB missing: exit 125, named" \
	eval '[ "$rc" = 125 ] && grep -q TLSTRACE_LIB err'

# --- running COMMAND ----------------------------------------------------

t "$bin" nonexistent-cmd-tlstrace
if [ "$rc" = 127 ] && grep -q '^tlstrace: nonexistent-cmd-tlstrace: No such file or directory$' err; then
	ok "command not found: exit 127"
else
	not_ok "command not found: exit 127" "rc=$rc"
fi

printf '#!/bin/sh\n' >noexec
chmod 0644 noexec
t "$bin" ./noexec
check "command not executable: exit 126" test "$rc" = 126

# Same fds, signal mask and ignored signals as without the launcher (the
# stand-in library here: a real one may hold a log fd of its own).
# Each probe reads its own /proc entry: a shell's mask changes while it
# waits for its children.
exec 7</dev/null
probe() {
	(trap '' USR2; timeout 20 "$@" ls /proc/self/fd) </dev/null
	(trap '' USR2; timeout 20 "$@" grep -E '^Sig(Blk|Ign)' /proc/self/status) </dev/null
}
probe >want 2>&1
TLSTRACE_LIB=$tmp/stub.so probe "$bin" -- >out 2>err
exec 7<&-
if cmp -s out want; then
	ok "child inherits the same fds, mask and ignored signals"
else
	not_ok "child inherits the same fds, mask and ignored signals" "want: $(tr '\n' ' ' <want)"
fi

# --- signals ------------------------------------------------------------

t "$bin" -- sh -c 'kill -TERM $$'
check "child killed by SIGTERM: status 143" test "$rc" = 143

check "child killed by SIGTERM: launcher dies of SIGTERM too" \
	died_of 15 "$bin" -- sh -c 'kill -TERM $$'
# No core files in the test folder (the child would dump one).
check "child killed by SIGQUIT: launcher dies of SIGQUIT too" \
	eval '(ulimit -c 0; died_of 3 "$bin" -- sh -c "kill -QUIT \$\$")'

"$bin" -- sleep 30 >out 2>err </dev/null &
lp=$!
bg_pids+=("$lp")
cp=$(child_of "$lp") && bg_pids+=("$cp")
kill -TERM "$lp"
wait_gone "$lp" 10
if [ "$rc" = 143 ] && [ -n "$cp" ] && ! kill -0 "$cp" 2>/dev/null; then
	ok "SIGTERM to the launcher reaches the child; status 143"
else
	not_ok "SIGTERM to the launcher reaches the child; status 143" "rc=$rc child=$cp"
	[ -n "$cp" ] && kill -KILL "$cp" 2>/dev/null
fi
bg_pids=()

# A signal whose default would kill the launcher is only forwarded: the
# child handles it and its exit status comes back.
rm -f ready
"$bin" -- sh -c 'trap "exit 7" USR1; : >ready; while :; do sleep 0.05; done' \
	>out 2>err </dev/null &
lp=$!
bg_pids+=("$lp")
cp=$(child_of "$lp") && bg_pids+=("$cp")
for ((i = 0; i < 100; i++)); do [ -e ready ] && break; sleep 0.05; done
kill -USR1 "$lp"
wait_gone "$lp" 10
check "SIGUSR1 forwarded, launcher survives it, child's exit 7 returned" test "$rc" = 7
[ -n "$cp" ] && kill -0 "$cp" 2>/dev/null && kill -KILL "$cp"
bg_pids=()

# A signal the child sends to the launcher is not sent back to it.
t "$bin" -- sh -c 'trap "echo bounced" USR1; kill -USR1 $PPID; sleep 0.5; echo end'
check "signal from the child is not bounced back" test "$rc:$(cat out)" = "0:end"

# Job control: the launcher stops when the child stops, and a SIGCONT
# to the launcher wakes both.
"$bin" -- sleep 30 >out 2>err </dev/null &
lp=$!
bg_pids+=("$lp")
cp=$(child_of "$lp") && bg_pids+=("$cp")
kill -STOP "$cp"
if wait_state "$lp" T; then
	ok "child stopped: launcher stops too"
else
	not_ok "child stopped: launcher stops too" "launcher state $(state "$lp")"
fi
kill -CONT "$lp"
if wait_state "$cp" S && wait_state "$lp" S; then
	ok "SIGCONT to the launcher continues the child"
else
	not_ok "SIGCONT to the launcher continues the child" "states: launcher $(state "$lp") child $(state "$cp")"
fi
kill -TSTP "$lp"
if wait_state "$cp" T && wait_state "$lp" T; then
	ok "SIGTSTP to the launcher stops the child, then the launcher"
else
	not_ok "SIGTSTP to the launcher stops the child, then the launcher" "states: launcher $(state "$lp") child $(state "$cp")"
fi
kill -CONT "$lp"
wait_state "$cp" S
# Without job control, bash starts background commands with SIGINT
# ignored (as nohup does SIGHUP): the launcher must keep it ignored.
kill -INT "$lp"
sleep 0.2
check "SIGINT ignored on entry stays ignored" \
	eval 'kill -0 "$lp" && [ "$(state "$cp")" = S ]'
kill -TERM "$lp"
wait_gone "$lp" 10
check "stopped and continued job still ends by SIGTERM (143)" test "$rc" = 143
kill -0 "$cp" 2>/dev/null && kill -KILL "$cp"
bg_pids=()

# --- programs whose TLS cannot be seen ----------------------------------

# A statically linked COMMAND (no dynamic loader, so no LD_PRELOAD) or a
# Go one (crypto/tls over raw system calls, cgo or not) gets one warning
# on stderr, then runs as usual.  Every program here prints "<x> ran"
# and exits 3.
why_static="statically linked: tlstrace cannot be loaded into it, its TLS will not be seen"
why_go="a Go program: its TLS (Go's crypto/tls, raw syscalls) will not be seen"

# unseen NAME WARNING OUTPUT CMD...: CMD (the launcher and its arguments)
# writes exactly the line "tlstrace: WARNING" on stderr, or no tlstrace
# line at all when WARNING is empty, and nothing of tlstrace on stdout;
# the program ran (stdout OUTPUT) and its exit status 3 came back.
unseen() {
	local name=$1 want=$2 ran=$3 got lines label="no warning"
	shift 3
	[ -n "$want" ] && label="one warning, on stderr"
	t "$@"
	got=$(grep '^tlstrace: ' err)
	lines=$(grep -c '^tlstrace: ' err)
	if grep -q 'tlstrace' out; then
		not_ok "$name: $label" "tlstrace wrote on stdout"
	elif [ -z "$want" ] && [ "$lines" = 0 ]; then
		ok "$name: $label"
	elif [ -n "$want" ] && [ "$lines" = 1 ] && [ "$got" = "tlstrace: $want" ]; then
		ok "$name: $label"
	else
		not_ok "$name: $label" "$lines tlstrace lines on stderr" "want: ${want:-none}"
	fi
	check "$name: runs, its output and exit 3 come back" \
		test "$rc:$(cat out)" = "3:$ran"
}

printf '#include <stdio.h>\nint main(void) { puts("c ran"); return 3; }\n' >prog.c
mkdir -p cbin
if cc -o cbin/cdyn prog.c && cc -static -o cstatic prog.c; then
	unseen "static C program" "warning: ./cstatic is $why_static" "c ran" \
		"$bin" -- ./cstatic
	unseen "dynamic C program" "" "c ran" "$bin" -- ./cbin/cdyn
	unseen "dynamic C program found in PATH" "" "c ran" \
		env PATH="$tmp/cbin:$PATH" "$bin" -- cdyn
	cp cstatic "$tmp/cbin/cstatic2"
	unseen "static C program found in PATH: its path is named" \
		"warning: $tmp/cbin/cstatic2 is $why_static" "c ran" \
		env PATH="/nonexistent:$tmp/cbin:$PATH" "$bin" -- cstatic2
	# The dynamic loader run as COMMAND honours LD_PRELOAD itself.
	ldso=$(readelf -lW cbin/cdyn | sed -n 's/.*interpreter: \(.*\)]$/\1/p')
	unseen "dynamic loader as COMMAND ($ldso)" "" "c ran" \
		"$bin" -- "$ldso" ./cbin/cdyn
	# A name that would break the line is escaped.
	cp cstatic "$tmp/st"$'\n'"atic"
	unseen "static C program named with a newline" \
		"warning: ./st\\x0aatic is $why_static" "c ran" \
		"$bin" -- ./st$'\n'atic
	if cc -static-pie -o cstaticpie prog.c 2>/dev/null; then
		unseen "static-pie C program" \
			"warning: ./cstaticpie is $why_static" "c ran" \
			"$bin" -- ./cstaticpie
	fi
	printf '#!/bin/sh\necho sh ran\nexit 3\n' >script.sh
	chmod +x script.sh
	unseen "shell script (#!/bin/sh)" "" "sh ran" "$bin" -- ./script.sh
	printf '#!%s\n' "$tmp/cstatic" >static-script
	chmod +x static-script
	unseen "script run by a static interpreter" \
		"warning: ./static-script is run by $tmp/cstatic, which is $why_static" \
		"c ran" "$bin" -- ./static-script
else
	not_ok "static C program: cc -static builds it (libc6-dev)"
fi

# Executable garbage: not ELF, or ELF with nonsense headers.  The kernel
# refuses it (ENOEXEC), execvp hands it to /bin/sh, whose line 1 fails and
# line 2 runs.
python3 - <<'PY'
import struct
def elf64(etype, phoff, phnum, shoff, shnum, shstrndx):
    return (b'\x7fELF\x02\x01\x01' + bytes(9) +
            struct.pack('<HHIQQQIHHHHHH', etype, 62, 1, 0x401000, phoff,
                        shoff, 0, 64, 56, phnum, 64, shnum, shstrndx))
tail = b'\necho garbage ran; exit 3\n'
files = {
    'garbage-text': b'\x7fELF\x02\x01\x01' + b'A' * 120,
    'garbage-phnum': elf64(2, 2**64 - 2**16, 0xffff, 2**64 - 16, 0xffff, 0xfffe),
    'garbage-offsets': elf64(3, 0x7fffffff00, 1, 0x7fffffff00, 3, 2),
    'garbage-short': b'\x7fELF\x02\x01\x01\x00\x00',
}
for name, head in files.items():
    with open(name, 'wb') as f:
        f.write(head + tail)
PY
chmod +x garbage-*
for g in garbage-text garbage-phnum garbage-offsets garbage-short; do
	unseen "executable garbage ($g)" "" "garbage ran" "$bin" -- ./$g
done

# Go: one program using net/http and crypto/tls, built static
# (CGO_ENABLED=0) and with cgo (dynamically linked: it has PT_INTERP).
go_cases=("Go program, CGO_ENABLED=0" "Go program, cgo (dynamically linked)"
	"Go program found in PATH" "Go program without section headers or notes")
go_missing() {
	local c
	for c in "${go_cases[@]}"; do
		not_ok "$c: $1"
	done
}
# go_build CGO OUT: build ./gosrc offline, in a scratch Go environment.
go_build() {
	local s e
	s=$(date +%s.%N)
	(cd gosrc && env -u GOFLAGS -u GOROOT CGO_ENABLED="$1" GOPROXY=off \
		GOTOOLCHAIN=local GOCACHE="$tmp/go/cache" GOPATH="$tmp/go/path" \
		HOME="$tmp/go/home" timeout 600 go build -o "$2" . ) >gobuild.log 2>&1 || {
		sed 's/^/#   go build: /' gobuild.log | head -20
		return 1
	}
	e=$(date +%s.%N)
	echo "# go build CGO_ENABLED=$1: $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }') s"
}
if ! command -v go >/dev/null; then
	for c in "${go_cases[@]}"; do
		echo "ok - $c # SKIP go not found (scripts/deps.sh installs golang-go)"
	done
else
	mkdir -p gosrc go/home gobin
	printf 'module tlstracetest\n\ngo 1.19\n' >gosrc/go.mod
	cat >gosrc/main.go <<'GO'
package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
)

func main() {
	t := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	_ = &http.Client{Transport: t}
	fmt.Println("go ran")
	os.Exit(3)
}
GO
	if ! go_build 0 "$tmp/gostatic" || ! go_build 1 "$tmp/gocgo"; then
		go_missing "go build failed (see above)"
	else
		unseen "${go_cases[0]}" "warning: ./gostatic is $why_go" "go ran" \
			"$bin" -- ./gostatic
		if readelf -lW gocgo | grep -q 'INTERP'; then
			unseen "${go_cases[1]}" "warning: ./gocgo is $why_go" \
				"go ran" "$bin" -- ./gocgo
		else
			not_ok "${go_cases[1]}: the cgo build has no PT_INTERP (no C toolchain for cgo?)"
		fi
		cp gocgo gobin/gocgo2
		unseen "${go_cases[2]}" "warning: $tmp/gobin/gocgo2 is $why_go" \
			"go ran" env PATH="$tmp/gobin:$PATH" "$bin" -- gocgo2
		# No section headers and the Go note made PT_NULL: only the
		# build information at the start of the data segment is left.
		python3 - gostatic gobare <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
phoff, = struct.unpack_from('<Q', b, 32)
phentsize, phnum = struct.unpack_from('<HH', b, 54)
for i in range(phnum):
    if struct.unpack_from('<I', b, phoff + i * phentsize)[0] == 4:
        struct.pack_into('<I', b, phoff + i * phentsize, 0)
struct.pack_into('<Q', b, 40, 0)
struct.pack_into('<HHH', b, 58, 0, 0, 0)
open(sys.argv[2], 'wb').write(b)
PY
		chmod +x gobare
		if readelf -SW gobare 2>&1 | grep -q 'no sections' &&
			! readelf -nW gobare 2>&1 | grep -q 'Go'; then
			unseen "${go_cases[3]}" "warning: ./gobare is $why_go" \
				"go ran" "$bin" -- ./gobare
		else
			not_ok "${go_cases[3]}: could not strip gostatic"
		fi
	fi
fi

# Corrupted headers never crash the launcher nor make it read out of
# bounds: a launcher built with ASan and UBSan inspects mutants of the
# binaries above (headers, program and section headers, notes, section
# names, build information; truncations).  The mutants are mode 0644:
# inspected, never executed (exit 126).
: >out && : >err # not_ok shows them: nothing stale
fuzz_bin=$tmp/tlstrace-asan
if ! cc -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined \
	-fno-sanitize-recover=all -o "$fuzz_bin" "$root/shim/launcher.c" \
	"$root"/shim/launch_*.c 2>/dev/null; then
	echo "# no ASan here: the fuzzing below uses $bin"
	fuzz_bin=$bin
fi
seeds=()
for s in cstatic cbin/cdyn cstaticpie gostatic gocgo gobare; do
	[ -f "$s" ] && seeds+=("$s")
done
if timeout -k 5 600 env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	python3 - "$fuzz_bin" "${seeds[@]}" >fuzz.log 2>&1 <<'PY'
import os, random, struct, subprocess, sys

launcher, seeds = sys.argv[1], sys.argv[2:]
rnd = random.Random(13)
known = ('tlstrace: warning: ./m is ' + w for w in (
    "statically linked: tlstrace cannot be loaded into it, its TLS will not be seen",
    "a Go program: its TLS (Go's crypto/tls, raw syscalls) will not be seen"))
known = set(known) | {'tlstrace: ./m: Permission denied'}

def regions(b):
    """(offset, length) of the parts the launcher reads."""
    r = [(0, 64)]
    phoff, shoff = struct.unpack_from('<QQ', b, 32)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from('<HHHHH', b, 54)
    r.append((phoff, phentsize * phnum))
    for i in range(phnum):
        t, _, off, _, _, filesz = struct.unpack_from('<IIQQQQ', b, phoff + i * phentsize)
        if t in (2, 4, 1):
            r.append((off, min(filesz, 256)))
    if shoff and shnum:
        r.append((shoff, shentsize * shnum))
        if shstrndx < shnum:
            o, s = struct.unpack_from('<QQ', b, shoff + shstrndx * shentsize + 24)
            r.append((o, min(s, 512)))
    return [(o, l) for o, l in r if l > 0 and o + l <= len(b)]

def value(width, size):
    top = 2 ** (8 * width) - 1
    return rnd.choice([0, 1, 2, 3, 4, 8, 12, 14, 16, 56, 64, 0xffff, top,
                       top // 2, size - 1, size, size + 1,
                       rnd.randrange(size), rnd.randrange(top + 1)]) & top

failures, runs = 0, 0
for seed in seeds:
    data = open(seed, 'rb').read()
    reg = regions(data)
    for it in range(60):
        b = bytearray(data)
        for _ in range(rnd.randint(1, 6)):
            o, l = rnd.choice(reg)
            w = rnd.choice([1, 2, 4, 8])
            p = o + (rnd.randrange(l) & ~(w - 1))
            if p + w <= len(b):
                b[p:p + w] = value(w, len(b)).to_bytes(w, 'little')
        if it % 10 == 9:
            o, l = rnd.choice(reg)
            b = b[:max(4, o + rnd.randrange(l))]
        with open('m', 'wb') as f:
            f.write(b)
        os.chmod('m', 0o644)
        r = subprocess.run([launcher, '--', './m'], capture_output=True,
                           timeout=20, stdin=subprocess.DEVNULL)
        runs += 1
        err = r.stderr.decode('utf-8', 'replace').splitlines()
        bad = [l for l in err if l not in known] or \
            (len([l for l in err if 'warning' in l]) > 1 and ['two warnings'])
        if r.returncode != 126 or r.stdout or bad:
            failures += 1
            if failures <= 3:
                print('# %s mutant %d: exit %d, stderr: %s' %
                      (seed, it, r.returncode, err[:12]))
                open('fuzz-fail-%d' % failures, 'wb').write(b)
print('# %d mutants, %d failures' % (runs, failures))
sys.exit(failures != 0)
PY
then
	ok "corrupted ELF headers: no crash, no sanitizer report, exit 126 ($(tail -1 fuzz.log | sed 's/^# //'))"
else
	not_ok "corrupted ELF headers: no crash, no sanitizer report, exit 126" "$(head -30 fuzz.log)"
fi

echo "1..$n"
[ "$failed" = 0 ] || echo "# $failed of $n failed"
exit $((failed != 0))
