#!/usr/bin/env bash
# Install the Debian 12 packages tlstrace builds and tests with.
# Fast and silent when everything is there (make check runs it each time):
# one dpkg-query per package, apt only for what is missing.
set -euo pipefail

packages=(
	build-essential
	clang
	libclang-rt-14-dev	# libFuzzer runtime: clang 14 does not pull it in
	clang-format	# make format, and its check in make check
	libssl-dev
	zlib1g-dev	# zlib.h (shim/zlib.c's declarations), -lz for the unit tests
	libcmocka-dev
	openssl
	curl
	python3
	gnutls-bin
	libgnutls28-dev	# gnutls.h: shim/gnutls.c's declarations, a GnuTLS test program
	libmbedtls-dev	# mbedtls/ssl.h: shim/mbedtls.c's declarations, an mbedTLS test program
	libnss3-dev	# ssl.h, sslexp.h (NSS): shim/nss.c's declarations
	wget		# a GnuTLS client (key capture)
	lighttpd	# one server, five TLS libraries (key capture)
	lighttpd-mod-openssl
	lighttpd-mod-gnutls
	lighttpd-mod-nss
	lighttpd-mod-mbedtls
	lighttpd-mod-wolfssl
	ca-certificates
	tshark
	iproute2
	strace		# make bench (its columns), test_batch (the log writes of a traced process)
	procps
	psmisc
	nginx		# real servers under load (integration)
	apache2
	apache2-utils	# ab
	golang-go	# a Go binary for the launcher's warning and tlstrace -p's refusal
	musl-tools	# a program on another C library: tlstrace -p refuses it
	postgresql-15	# STARTTLS integration: a real server (SSLRequest)
	postgresql-client-15	# psql
)

missing=()
for pkg in "${packages[@]}"; do
	# "install ok installed" or "hold ok installed"; anything else
	# (absent, config-files, half-configured) needs an install.
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case $status in
	*" ok installed") ;;
	*) missing+=("$pkg") ;;
	esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "deps: missing ${missing[*]}, and not root and no sudo to install them" >&2
		exit 1
	fi
	as_root=(sudo)
fi

# apt's own chatter goes to a log shown only if a step fails, so that a
# CI log has one line per action.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		echo "deps: failed: $*" >&2
		exit 1
	fi
}

echo "deps: missing: ${missing[*]}"
echo "deps: apt-get update"
run ${as_root[@]+"${as_root[@]}"} apt-get update -q
for pkg in "${missing[@]}"; do
	if [ "$pkg" = tshark ]; then
		# wireshark-common asks whether dumpcap should be setuid;
		# answer it up front (no) rather than trust the frontend.
		echo "deps: preseed wireshark-common/install-setuid=false"
		echo 'wireshark-common wireshark-common/install-setuid boolean false' |
			run ${as_root[@]+"${as_root[@]}"} debconf-set-selections
	fi
done
echo "deps: apt-get install ${missing[*]}"
run ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}"
