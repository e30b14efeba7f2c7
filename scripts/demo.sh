#!/usr/bin/env bash
# make demo: real local mTLS and renegotiation exchanges traced by
# tlstrace.
#
# A test PKI (root "The Roots Authority", intermediate "K-Dot Certificate
# Authority", server and client certificates from the intermediate), an
# openssl s_server asking for a client certificate with both CAs as
# acceptable issuers, and openssl s_client under tlstrace: once with the
# CA names sent, once with -no_ca_names; then in TLS 1.3, where the
# CertificateRequest is encrypted and tlstrace decrypts it with the keys it
# captures inside s_client.  Then the IIS incident: a server
# (tests/tools/iis_server) that renegotiates after the request to ask for
# a client certificate and resets the connection when the client refuses,
# against `openssl s_client -no_renegotiation`.  Every process started
# here is stopped by pid; each step is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
CERTS=$B/certs
bash scripts/gencerts.sh "$CERTS" >/dev/null
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

start_server() { # extra s_server args...
	local out=$work/server.out
	: >"$out"
	openssl s_server -accept 127.0.0.1:0 "${VERSION:--tls1_2}" -Verify 1 \
		-cert "$CERTS/server.pem" -key "$CERTS/server.key" \
		-cert_chain "$CERTS/inter.pem" -CAfile "$CERTS/cas.pem" \
		-www -naccept 1 "$@" </dev/null >"$out" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
		[ -n "$port" ] && return 0
		sleep 0.05
	done
	echo "demo: s_server did not start" >&2
	cat "$out" >&2
	exit 1
}

trace_client() { # title
	local log=$work/trace.log
	rm -f "$log"
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 $B/tlstrace -o "$log" -- \
		openssl s_client -connect "127.0.0.1:$port" "${VERSION:--tls1_2}" \
		-cert "$CERTS/client.pem" -key "$CERTS/client.key" \
		-CAfile "$CERTS/root.pem" -servername localhost \
		>/dev/null 2>&1 || true
	echo
	echo "== $1"
	echo "   \$ tlstrace -- openssl s_client -connect 127.0.0.1:$port ${VERSION:--tls1_2} -cert client.pem ..."
	echo
	cat "$log"
}

start_server
trace_client "TLS 1.2 mTLS: the server asks for a client certificate and names the CAs it accepts"
start_server -no_ca_names
trace_client "The same server with -no_ca_names: the CertificateRequest carries no CA names"

VERSION=-tls1_3 start_server
VERSION=-tls1_3 trace_client "TLS 1.3 mTLS: the CertificateRequest is encrypted; tlstrace decrypts it with keys captured inside s_client"

# The IIS incident.
out=$work/iis.out
: >"$out"
$B/tools/iis_server -cert "$CERTS/server.pem" -key "$CERTS/server.key" \
	-chain "$CERTS/inter.pem" -CAfile "$CERTS/cas.pem" -naccept 1 \
	</dev/null >"$out" 2>&1 &
pids+=($!)
port=
for _ in $(seq 100); do
	port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
	[ -n "$port" ] && break
	sleep 0.05
done
[ -n "$port" ] || { echo "demo: iis_server did not start" >&2; exit 1; }
log=$work/iis.log
# s_client ends at EOF on stdin: keep it open while the exchange runs
{ printf 'GET / HTTP/1.0\r\n\r\n'; sleep 3; } | timeout 20 $B/tlstrace -o "$log" -- \
	openssl s_client -connect "127.0.0.1:$port" -tls1_2 -no_renegotiation \
	-CAfile "$CERTS/root.pem" -servername localhost >/dev/null 2>&1 || true
echo
echo "== The IIS incident: renegotiation asked after the request, refused by the client, connection reset (decrypted)"
echo "   \$ tlstrace -- openssl s_client -connect 127.0.0.1:$port -tls1_2 -no_renegotiation ..."
echo
cat "$log"
echo
echo "JSON Lines: tlstrace -f json -o trace.jsonl -- COMMAND"
