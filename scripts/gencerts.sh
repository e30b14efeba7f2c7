#!/usr/bin/env bash
# usage: gencerts.sh DIR
#
# The test PKI of the demo and the integration tests, made with the
# openssl CLI (3.0 on Debian 12) and checked by a real mTLS handshake:
#
#   root.pem/.key        CN=The Roots Authority            self-signed CA
#   inter.pem/.key       CN=K-Dot Certificate Authority    CA, by root
#   server.pem/.key      CN=localhost, SAN DNS:localhost,IP:127.0.0.1, by inter
#   server-chain.pem     server + inter
#   client.pem/.key      O=Example, CN=tlstrace client     by inter
#   client-chain.pem     client + inter
#   cas.pem              inter then root: the CA names a server given
#                        -CAfile cas.pem sends in its CertificateRequest, in
#                        that order
#
# EC P-256 keys (fast to make), 3650 days, keys 0600.  Idempotent: DIR/done
# marks a finished set; a set interrupted half-way is made again.
set -euo pipefail

dir=${1:?usage: gencerts.sh DIR}
mkdir -p "$dir"
cd "$dir"
[ -e ./done ] && exit 0

# Tests running in parallel may ask for the same DIR: one makes it, the
# others wait and find it done.
exec 9>.lock
flock 9
[ -e ./done ] && exit 0

tmp=$(mktemp -d)
srv_pid=
cleanup() {
	if [ -n "$srv_pid" ]; then
		kill "$srv_pid" 2>/dev/null || true
		wait "$srv_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "gencerts: $*" >&2
	for f in "$tmp"/*.log; do
		[ -e "$f" ] || continue
		echo "--- $f" >&2
		cat "$f" >&2
	done
	exit 1
}

# Our own config: nothing comes from the system openssl.cnf.
cat >gen.cnf <<'EOF'
[req]
distinguished_name = dn
[dn]

[root_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[inter_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

key() {
	(umask 077 &&
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$1.key" 2>"$tmp/genpkey.log") ||
		fail "genpkey $1"
	chmod 0600 "$1.key"
}

# sign NAME SUBJECT ISSUER EXT: NAME.pem for NAME.key, issued by ISSUER.
sign() {
	openssl req -new -config gen.cnf -key "$1.key" -subj "$2" \
		-out "$tmp/$1.csr" 2>"$tmp/req.log" || fail "req $1"
	openssl x509 -req -in "$tmp/$1.csr" -CA "$3.pem" -CAkey "$3.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 3650 -sha256 \
		-extfile gen.cnf -extensions "$4" -out "$1.pem" \
		2>"$tmp/x509.log" || fail "x509 $1"
}

key root
openssl req -x509 -new -config gen.cnf -key root.key \
	-subj '/CN=The Roots Authority' -days 3650 -sha256 \
	-set_serial "0x$(openssl rand -hex 8)" -extensions root_ext \
	-out root.pem 2>"$tmp/req.log" || fail "req root"
key inter
sign inter '/CN=K-Dot Certificate Authority' root inter_ext
key server
sign server '/CN=localhost' inter server_ext
key client
sign client '/O=Example/CN=tlstrace client' inter client_ext

cat server.pem inter.pem >server-chain.pem
cat client.pem inter.pem >client-chain.pem
cat inter.pem root.pem >cas.pem

out=$(openssl verify -CAfile root.pem -untrusted inter.pem server.pem client.pem 2>&1) ||
	fail "verify: $out"
[ "$out" = $'server.pem: OK\nclient.pem: OK' ] || fail "verify: $out"
openssl verify -purpose sslserver -CAfile root.pem -untrusted inter.pem server.pem >/dev/null 2>&1 ||
	fail "server.pem is not fit for serverAuth"
openssl verify -purpose sslclient -CAfile root.pem -untrusted inter.pem client.pem >/dev/null 2>&1 ||
	fail "client.pem is not fit for clientAuth"

# A real mutual-TLS 1.2 handshake, as the tests will make it.  -www: the
# server ignores its stdin (EOF would end the connection at once).
timeout 20 openssl s_server -accept 127.0.0.1:0 -tls1_2 -Verify 1 \
	-cert server.pem -key server.key -cert_chain inter.pem \
	-CAfile cas.pem -www -naccept 1 </dev/null >"$tmp/s_server.log" 2>&1 9>&- &
srv_pid=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/s_server.log")
	[ -n "$port" ] && break
	kill -0 "$srv_pid" 2>/dev/null || fail "s_server exited"
	sleep 0.05
done
[ -n "$port" ] || fail "s_server printed no ACCEPT line"

timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_2 \
	-cert client.pem -key client.key -CAfile root.pem \
	-servername localhost </dev/null >"$tmp/s_client.log" 2>&1 9>&- ||
	fail "s_client failed"
# -naccept 1: the server leaves after this connection; give it a moment
# to finish its log, then stop it whatever it is doing.
for _ in $(seq 100); do
	kill -0 "$srv_pid" 2>/dev/null || break
	sleep 0.05
done
kill "$srv_pid" 2>/dev/null || true
wait "$srv_pid" 2>/dev/null || true
srv_pid=

# The CA names s_client lists, and nothing else (the chain it prints
# names the same CAs).
names=$(awk '/^Acceptable client certificate CA names/ { f = 1; next }
	f && /^CN = / { print; next } { f = 0 }' "$tmp/s_client.log")
[ "$names" = $'CN = K-Dot Certificate Authority\nCN = The Roots Authority' ] ||
	fail "s_client saw CA names '$names', want K-Dot then The Roots"
grep -q '^ *Verify return code: 0 (ok)' "$tmp/s_client.log" ||
	fail "s_client did not verify the server"
grep -q '^depth=0 O = Example, CN = tlstrace client$' "$tmp/s_server.log" ||
	fail "s_server did not verify the client certificate"

rm -f gen.cnf
touch ./done
