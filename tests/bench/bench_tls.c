/*
 * bench_tls: TLS 1.3 workloads between two OpenSSL processes, for measuring
 * what the LD_PRELOAD shim adds to traffic it traces (and decrypts).
 *
 *   bench_tls bulk MB   one connection; the client sends MB MiB in 16 KiB
 *                       SSL_write calls, the server reads them all and
 *                       answers one byte
 *   bench_tls hs N      N sequential full handshakes, each: connect,
 *                       SSL_connect, 1 byte each way, SSL_shutdown, close
 *
 * Prints one line, `bulk ns_per_mib=X mib_per_s=Y` or
 * `hs ns_per_handshake=X handshakes_per_s=Y`, which scripts/bench.sh
 * compares between sides of the same run.
 *
 * The process makes an EC P-256 self-signed certificate in memory, listens
 * on 127.0.0.1 with an ephemeral port and forks: the child is the server,
 * the parent the client, which times the workload and waits for the child.
 * Both sides run TLS 1.3 only with TLS_AES_128_GCM_SHA256; the client
 * verifies the server against that certificate. With LD_PRELOAD set both
 * processes carry the shim: the child is a fork, not an exec.
 *
 * bulk times from the first SSL_write to the arrival of the answer
 * (CLOCK_MONOTONIC), so it covers the server reading everything. hs times
 * the N handshakes after N/10 (at least 1) untimed ones, and X is the total
 * over N: no session is resumed (no tickets, no session cache on either
 * side), so each one is a full handshake.
 *
 * With BENCH_TLS_KEYLOG_NOOP=1 both sides set a key-log callback that does
 * nothing: what OpenSSL itself spends formatting key log lines once any
 * callback is set, which the shim's key capture cannot avoid.
 */

/* As in bench_io: read() and write() must stay the symbols the shim
 * interposes. */
#undef _FORTIFY_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define WRITE_LEN   (16 * 1024)
#define MIB	    (1024 * 1024)
#define TIME_LIMIT  120
#define CIPHERSUITE "TLS_AES_128_GCM_SHA256"
#define REPLY	    'k'

/* The server's pid in the client, 0 in the server. */
static pid_t server_pid;

/* In the client, a failure ends and reaps the server before exiting. */
__attribute__((noreturn)) static void fail(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	exit(1);
}

__attribute__((noreturn)) static void die(const char *what)
{
	perror(what);
	fail();
}

__attribute__((noreturn)) static void die_ssl(const char *what)
{
	fprintf(stderr, "bench_tls: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	fail();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A v3 certificate for CN=127.0.0.1, valid from an hour ago for a day,
 * signed by its own key. */
static void make_cert(EVP_PKEY **pkey, X509 **cert)
{
	EVP_PKEY *k;
	X509 *x;
	X509_NAME *name;

	k = EVP_EC_gen("P-256");
	if (!k)
		die_ssl("EVP_EC_gen");
	x = X509_new();
	if (!x)
		die_ssl("X509_new");
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, k) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"127.0.0.1", -1,
					-1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_sign(x, k, EVP_sha256()))
		die_ssl("making the certificate");
	*pkey = k;
	*cert = x;
}

/* TLS 1.3 only, one cipher suite, and nothing that would let a later
 * connection resume an earlier one. */
static void keylog_noop(const SSL *ssl, const char *line)
{
	(void)ssl;
	(void)line;
}

static SSL_CTX *make_ctx(const SSL_METHOD *method)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (!ctx)
		die_ssl("SSL_CTX_new");
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, CIPHERSUITE))
		die_ssl("configuring TLS 1.3");
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* In TLS 1.3, SSL_OP_NO_TICKET alone still sends stateful tickets. */
	if (!SSL_CTX_set_num_tickets(ctx, 0))
		die_ssl("SSL_CTX_set_num_tickets");
	const char *noop = getenv("BENCH_TLS_KEYLOG_NOOP");
	if (noop && strcmp(noop, "1") == 0)
		SSL_CTX_set_keylog_callback(ctx, keylog_noop);
	return ctx;
}

static void nodelay(int fd)
{
	int one = 1;

	/* Without it Nagle would hold back the 1-byte messages for an ACK. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		die("setsockopt TCP_NODELAY");
}

static int listen_loopback(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int lfd;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa->sin_port = 0;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	if (bind(lfd, (struct sockaddr *)sa, sizeof(*sa)) != 0)
		die("bind");
	if (listen(lfd, 16) != 0)
		die("listen");
	if (getsockname(lfd, (struct sockaddr *)sa, &len) != 0)
		die("getsockname");
	return lfd;
}

static SSL *server_accept(SSL_CTX *ctx, int lfd)
{
	SSL *ssl;
	int fd;

	do
		fd = accept(lfd, NULL, NULL);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die("accept");
	nodelay(fd);
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd))
		die_ssl("SSL_new");
	if (SSL_accept(ssl) != 1)
		die_ssl("SSL_accept");
	return ssl;
}

/*
 * Waits for the client's close_notify, answers it (the client may have
 * closed its socket by then, which is not an error here) and closes.
 */
static void server_close(SSL *ssl)
{
	char c;
	int fd = SSL_get_fd(ssl);

	if (SSL_read(ssl, &c, 1) > 0) {
		fprintf(stderr,
			"bench_tls: server: data after the last message\n");
		exit(1);
	}
	if (SSL_get_error(ssl, 0) != SSL_ERROR_ZERO_RETURN)
		die_ssl("server: waiting for close_notify");
	SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
}

static void server_reply(SSL *ssl)
{
	char c = REPLY;

	if (SSL_write(ssl, &c, 1) != 1)
		die_ssl("server: SSL_write");
}

__attribute__((noreturn)) static void
server(int lfd, EVP_PKEY *pkey, X509 *cert, int bulk, unsigned long count)
{
	SSL_CTX *ctx = make_ctx(TLS_server_method());
	SSL *ssl;
	unsigned long i;

	if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pkey) != 1)
		die_ssl("server: loading the certificate");

	if (bulk) {
		static char buf[WRITE_LEN];
		uint64_t want = (uint64_t)count * MIB, got = 0;
		int n;

		ssl = server_accept(ctx, lfd);
		while (got < want) {
			n = SSL_read(ssl, buf, sizeof(buf));
			if (n <= 0)
				die_ssl("server: SSL_read");
			got += (uint64_t)n;
		}
		if (got != want) {
			fprintf(stderr,
				"bench_tls: server: %llu bytes, not %llu\n",
				(unsigned long long)got,
				(unsigned long long)want);
			exit(1);
		}
		server_reply(ssl);
		server_close(ssl);
	} else {
		for (i = 0; i < count; i++) {
			char c;

			ssl = server_accept(ctx, lfd);
			if (SSL_read(ssl, &c, 1) != 1)
				die_ssl("server: SSL_read");
			server_reply(ssl);
			server_close(ssl);
		}
	}
	close(lfd);
	SSL_CTX_free(ctx);
	exit(0);
}

static SSL *client_connect(SSL_CTX *ctx, const struct sockaddr_in *sa)
{
	SSL *ssl;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	nodelay(fd);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0)
		die("connect");
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd))
		die_ssl("SSL_new");
	if (SSL_connect(ssl) != 1)
		die_ssl("SSL_connect");
	return ssl;
}

static void client_await_reply(SSL *ssl)
{
	char c;

	if (SSL_read(ssl, &c, 1) != 1)
		die_ssl("client: SSL_read");
	if (c != REPLY) {
		fprintf(stderr, "bench_tls: wrong reply byte\n");
		fail();
	}
}

/* Sends close_notify and closes without waiting for the server's. */
static void client_close(SSL *ssl)
{
	int fd = SSL_get_fd(ssl);

	if (SSL_shutdown(ssl) < 0)
		die_ssl("client: SSL_shutdown");
	SSL_free(ssl);
	close(fd);
}

/* One connection of the hs workload. */
static void handshake(SSL_CTX *ctx, const struct sockaddr_in *sa)
{
	SSL *ssl = client_connect(ctx, sa);
	char c = 'h';

	if (SSL_write(ssl, &c, 1) != 1)
		die_ssl("client: SSL_write");
	client_await_reply(ssl);
	client_close(ssl);
}

static double run_bulk(SSL_CTX *ctx, const struct sockaddr_in *sa,
		       unsigned long mb)
{
	static char buf[WRITE_LEN];
	unsigned long i, writes = mb * (MIB / WRITE_LEN);
	uint64_t t0, t1;
	SSL *ssl;

	memset(buf, 'b', sizeof(buf));
	ssl = client_connect(ctx, sa);
	t0 = now_ns();
	for (i = 0; i < writes; i++) {
		if (SSL_write(ssl, buf, WRITE_LEN) != WRITE_LEN)
			die_ssl("client: SSL_write");
	}
	client_await_reply(ssl);
	t1 = now_ns();
	client_close(ssl);
	return (double)(t1 - t0);
}

static double run_hs(SSL_CTX *ctx, const struct sockaddr_in *sa,
		     unsigned long warm, unsigned long n)
{
	unsigned long i;
	uint64_t t0, t1;

	for (i = 0; i < warm; i++)
		handshake(ctx, sa);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		handshake(ctx, sa);
	t1 = now_ns();
	return (double)(t1 - t0);
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_tls bulk MB | bench_tls hs N\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	unsigned long n, warm = 0;
	EVP_PKEY *pkey;
	X509 *cert;
	SSL_CTX *ctx;
	double ns;
	char *end;
	int bulk, lfd, status;
	pid_t pid;

	if (argc != 3)
		return usage();
	if (strcmp(argv[1], "bulk") == 0)
		bulk = 1;
	else if (strcmp(argv[1], "hs") == 0)
		bulk = 0;
	else
		return usage();
	errno = 0;
	n = strtoul(argv[2], &end, 10);
	if (errno != 0 || *end != '\0' || end == argv[2] || n == 0 ||
	    n > 1000000)
		return usage();
	if (!bulk)
		warm = n / 10 > 0 ? n / 10 : 1;

	/* A peer that has gone away is reported by the call that failed. */
	signal(SIGPIPE, SIG_IGN);

	make_cert(&pkey, &cert);
	lfd = listen_loopback(&sa);

	/* Stdio holds nothing yet, so the child cannot repeat any output. */
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	/* Pending alarms are not inherited: each process sets its own. */
	alarm(TIME_LIMIT);
	if (pid == 0)
		server(lfd, pkey, cert, bulk, n + warm);
	server_pid = pid;
	close(lfd);

	ctx = make_ctx(TLS_client_method());
	if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), cert) != 1)
		die_ssl("client: trusting the certificate");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

	ns = bulk ? run_bulk(ctx, &sa, n) : run_hs(ctx, &sa, warm, n);

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	server_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_tls: server exited with status %#x\n",
			status);
		return 1;
	}

	if (bulk)
		printf("bulk ns_per_mib=%.1f mib_per_s=%.1f\n", ns / (double)n,
		       (double)n * 1e9 / ns);
	else
		printf("hs ns_per_handshake=%.1f handshakes_per_s=%.1f\n",
		       ns / (double)n, (double)n * 1e9 / ns);

	SSL_CTX_free(ctx);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return 0;
}
