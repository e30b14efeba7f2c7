/*
 * bench_tls: TLS workloads between two OpenSSL processes, for measuring
 * what the LD_PRELOAD shim adds to traffic it traces (and decrypts).
 *
 *   bench_tls [OPTIONS] bulk MB   one connection; the client sends MB MiB in
 *                                 16 KiB SSL_write calls, the server reads
 *                                 them all and answers one byte
 *   bench_tls [OPTIONS] hs N      N sequential full handshakes, each:
 *                                 connect, SSL_connect, 1 byte each way,
 *                                 SSL_shutdown, close
 *   bench_tls [OPTIONS] idle N    the server (this process) accepts and
 *                                 handshakes N connections one after the
 *                                 other and keeps them all open, then
 *                                 reports its own memory with none and
 *                                 with N held
 *
 * OPTIONS:
 *   -v 1.3   TLS 1.3 with TLS_AES_128_GCM_SHA256 (the default)
 *   -v 1.2   TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256
 *   -m       mutual TLS: the server asks for a client certificate naming
 *            two acceptable CAs, the client sends one and the server
 *            requires and verifies it (bulk and hs only)
 *
 * Prints one line which scripts/bench.py reads, fields KEY=VALUE:
 *   bulk ns_per_mib=X mib_per_s=Y
 *   hs ns_per_handshake=X handshakes_per_s=Y connections=C
 *   idle held=N limited=0|1 rss_base=B rss_held=B priv_base=B priv_held=B
 *        rss_per_conn=X priv_per_conn=X
 * (C counts the untimed warm-up handshakes too, all in bytes for idle).
 *
 * The process makes its certificates in memory (EC P-256): two self-signed
 * CAs, "bench CA one" and "bench CA two", and from CA one a server
 * certificate for CN=127.0.0.1 and a client certificate. It listens on
 * 127.0.0.1 with an ephemeral port. For bulk and hs it forks: the child is
 * the server, the parent the client, which times the workload and waits
 * for the child. With LD_PRELOAD set both processes carry the shim: the
 * child is a fork, not an exec. The client verifies the server against CA
 * one. No session is resumed (no tickets, no session cache on either
 * side), so each handshake is a full one.
 *
 * bulk times from the first SSL_write to the arrival of the answer
 * (CLOCK_MONOTONIC), so it covers the server reading everything. hs times
 * the N handshakes after N/10 (at least 1) untimed ones, and X is the total
 * over N.
 *
 * idle measures what holding idle connections costs the server, so only
 * the server may carry the shim: its client is this program exec'd again
 * (an internal `idle-client PORT N` mode) with LD_PRELOAD removed from its
 * environment, which a fork alone would keep. Both sides raise
 * RLIMIT_NOFILE to fit N; where it cannot be raised that far, N shrinks to
 * what fits and limited=1 says so. Both set SSL_MODE_RELEASE_BUFFERS, as
 * servers that hold many connections do (nginx), so that an idle
 * connection keeps no record buffers. The baseline is taken after 16
 * connections were handshaken and closed, so that what the first
 * connection initialises once (in OpenSSL and in the shim) is not counted
 * per connection. Memory comes from /proc/self/smaps_rollup: Rss, and
 * Private_Clean + Private_Dirty.
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
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define WRITE_LEN    (16 * 1024)
#define MIB	     (1024 * 1024)
#define TIME_LIMIT   120
#define IDLE_LIMIT   600
#define CIPHERSUITE  "TLS_AES_128_GCM_SHA256"
#define CIPHER_TLS12 "ECDHE-ECDSA-AES128-GCM-SHA256"
#define REPLY	     'k'
#define IDLE_WARM    16
#define IDLE_THREADS 2
/* Descriptors besides the connections: stdio, the listener, libraries. */
#define FD_SPARE 64

enum mode { MODE_BULK, MODE_HS, MODE_IDLE, MODE_IDLE_CLIENT };

/* What the options chose. */
static int tls_version = TLS1_3_VERSION;
static int mutual;

/* The certificates: CA one signs the server and the client. */
struct pki {
	EVP_PKEY *ca_key;
	X509 *ca, *ca2;
	EVP_PKEY *srv_key, *cli_key;
	X509 *srv, *cli;
};

/* The server's pid in the client, 0 in the server. */
static pid_t peer_pid;

/* A failure ends and reaps the forked peer, if any, before exiting. */
__attribute__((noreturn)) static void fail(void)
{
	if (peer_pid > 0) {
		kill(peer_pid, SIGTERM);
		waitpid(peer_pid, NULL, 0);
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

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext || !X509_add_ext(x, ext, -1))
		die_ssl("adding an extension");
	X509_EXTENSION_free(ext);
}

/*
 * A v3 certificate for CN=cn, valid from an hour ago for a day, signed by
 * issuer's key (its own when issuer is NULL, then a CA).
 */
static X509 *make_cert(const char *cn, long serial, EVP_PKEY *key, X509 *issuer,
		       EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (!x)
		die_ssl("X509_new");
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
					    : name))
		die_ssl("making a certificate");
	if (issuer) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
	} else {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	}
	if (!X509_sign(x, issuer ? issuer_key : key, EVP_sha256()))
		die_ssl("signing a certificate");
	return x;
}

static EVP_PKEY *make_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (!k)
		die_ssl("EVP_EC_gen");
	return k;
}

static void make_pki(struct pki *p)
{
	EVP_PKEY *ca2_key = make_key();

	p->ca_key = make_key();
	p->ca = make_cert("bench CA one", 1, p->ca_key, NULL, NULL);
	p->ca2 = make_cert("bench CA two", 2, ca2_key, NULL, NULL);
	EVP_PKEY_free(ca2_key);
	p->srv_key = make_key();
	p->srv = make_cert("127.0.0.1", 3, p->srv_key, p->ca, p->ca_key);
	p->cli_key = make_key();
	p->cli = make_cert("bench client", 4, p->cli_key, p->ca, p->ca_key);
}

static void free_pki(struct pki *p)
{
	X509_free(p->ca);
	X509_free(p->ca2);
	X509_free(p->srv);
	X509_free(p->cli);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->srv_key);
	EVP_PKEY_free(p->cli_key);
}

static void keylog_noop(const SSL *ssl, const char *line)
{
	(void)ssl;
	(void)line;
}

/* One protocol version, one cipher suite, and nothing that would let a
 * later connection resume an earlier one. */
static SSL_CTX *make_ctx(const SSL_METHOD *method)
{
	SSL_CTX *ctx = SSL_CTX_new(method);
	const char *noop = getenv("BENCH_TLS_KEYLOG_NOOP");

	if (!ctx)
		die_ssl("SSL_CTX_new");
	if (!SSL_CTX_set_min_proto_version(ctx, tls_version) ||
	    !SSL_CTX_set_max_proto_version(ctx, tls_version))
		die_ssl("setting the protocol version");
	if (tls_version == TLS1_3_VERSION) {
		if (!SSL_CTX_set_ciphersuites(ctx, CIPHERSUITE))
			die_ssl("SSL_CTX_set_ciphersuites");
	} else if (!SSL_CTX_set_cipher_list(ctx, CIPHER_TLS12)) {
		die_ssl("SSL_CTX_set_cipher_list");
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* In TLS 1.3, SSL_OP_NO_TICKET alone still sends stateful tickets. */
	if (!SSL_CTX_set_num_tickets(ctx, 0))
		die_ssl("SSL_CTX_set_num_tickets");
	if (noop && strcmp(noop, "1") == 0)
		SSL_CTX_set_keylog_callback(ctx, keylog_noop);
	return ctx;
}

static SSL_CTX *server_ctx(const struct pki *p)
{
	SSL_CTX *ctx = make_ctx(TLS_server_method());
	STACK_OF(X509_NAME) * names;

	if (SSL_CTX_use_certificate(ctx, p->srv) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, p->srv_key) != 1)
		die_ssl("server: loading the certificate");
	if (!mutual)
		return ctx;
	/* Acceptable CAs: both names, in the CertificateRequest (TLS 1.2)
	 * or its certificate_authorities extension (TLS 1.3). */
	names = sk_X509_NAME_new_null();
	if (!names ||
	    !sk_X509_NAME_push(names,
			       X509_NAME_dup(X509_get_subject_name(p->ca))) ||
	    !sk_X509_NAME_push(names,
			       X509_NAME_dup(X509_get_subject_name(p->ca2))))
		die_ssl("server: the CA names");
	SSL_CTX_set_client_CA_list(ctx, names);
	if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), p->ca) != 1)
		die_ssl("server: trusting CA one");
	SSL_CTX_set_verify(
		ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
}

static SSL_CTX *client_ctx(const struct pki *p, int verify)
{
	SSL_CTX *ctx = make_ctx(TLS_client_method());

	if (verify) {
		if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), p->ca) !=
		    1)
			die_ssl("client: trusting CA one");
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	if (mutual && (SSL_CTX_use_certificate(ctx, p->cli) != 1 ||
		       SSL_CTX_use_PrivateKey(ctx, p->cli_key) != 1))
		die_ssl("client: loading the certificate");
	return ctx;
}

static void nodelay(int fd)
{
	int one = 1;

	/* Without it Nagle would hold back the 1-byte messages for an ACK. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		die("setsockopt TCP_NODELAY");
}

static void loopback(struct sockaddr_in *sa, unsigned port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa->sin_port = htons((uint16_t)port);
}

static int listen_loopback(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int lfd;

	loopback(sa, 0);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	if (bind(lfd, (struct sockaddr *)sa, sizeof(*sa)) != 0)
		die("bind");
	if (listen(lfd, 128) != 0)
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

/* Closes without a close_notify: what an idle connection's end needs. */
static void drop(SSL *ssl)
{
	int fd = SSL_get_fd(ssl);

	SSL_free(ssl);
	close(fd);
}

/*
 * Waits for the client's close_notify, answers it (the client may have
 * closed its socket by then, which is not an error here) and closes.
 */
static void server_close(SSL *ssl)
{
	char c;

	if (SSL_read(ssl, &c, 1) > 0) {
		fprintf(stderr,
			"bench_tls: server: data after the last message\n");
		exit(1);
	}
	if (SSL_get_error(ssl, 0) != SSL_ERROR_ZERO_RETURN)
		die_ssl("server: waiting for close_notify");
	SSL_shutdown(ssl);
	ERR_clear_error();
	drop(ssl);
}

static void server_reply(SSL *ssl)
{
	char c = REPLY;

	if (SSL_write(ssl, &c, 1) != 1)
		die_ssl("server: SSL_write");
}

__attribute__((noreturn)) static void server(int lfd, const struct pki *p,
					     int bulk, unsigned long count)
{
	SSL_CTX *ctx = server_ctx(p);
	SSL *ssl;
	unsigned long i;

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
	if (SSL_shutdown(ssl) < 0)
		die_ssl("client: SSL_shutdown");
	drop(ssl);
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

/*
 * Raises RLIMIT_NOFILE to fit n connections and returns how many fit:
 * n, or fewer when neither limit can be raised that far.
 */
static unsigned long fit_fds(unsigned long n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)n + FD_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit");
	if (rl.rlim_cur >= want)
		return n;
	if (rl.rlim_max < want) {
		struct rlimit up = {want, want};

		/* Root may raise the hard limit (up to fs.nr_open). */
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return n;
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("setrlimit");
	if (rl.rlim_cur >= want)
		return n;
	return rl.rlim_cur > FD_SPARE ? rl.rlim_cur - FD_SPARE : 0;
}

/* /proc/self/smaps_rollup: Rss and Private_Clean + Private_Dirty, bytes. */
static void memory(unsigned long long *rss, unsigned long long *priv)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	unsigned long long kb;
	int seen = 0;

	if (!f)
		die("/proc/self/smaps_rollup");
	*rss = *priv = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %llu kB", &kb) == 1) {
			*rss = kb * 1024;
			seen |= 1;
		} else if (sscanf(line, "Private_Clean: %llu kB", &kb) == 1 ||
			   sscanf(line, "Private_Dirty: %llu kB", &kb) == 1) {
			*priv += kb * 1024;
			seen |= 2;
		}
	}
	fclose(f);
	if (seen != 3) {
		fprintf(stderr, "bench_tls: no Rss or Private_* in "
				"/proc/self/smaps_rollup\n");
		fail();
	}
}

/* One of the idle client's threads: its share of the connections. */
struct idle_share {
	SSL_CTX *ctx;
	const struct sockaddr_in *sa;
	unsigned long n;
	pthread_t thread;
};

static void *idle_connect(void *arg)
{
	struct idle_share *sh = arg;
	unsigned long i;

	for (i = 0; i < sh->n; i++)
		client_connect(sh->ctx, sh->sa);
	return NULL;
}

/*
 * The idle client, exec'd by the server without LD_PRELOAD: makes
 * IDLE_WARM connections and closes them, then n and keeps them until its
 * stdin (a pipe from the server) ends. The n come from IDLE_THREADS
 * threads: while the server handshakes one connection, the next client
 * hello is already being made, so the run takes the server's time, not
 * the sum of both ends' (the server still takes them one at a time).
 */
static int idle_client(const struct pki *p, unsigned port, unsigned long n)
{
	struct idle_share sh[IDLE_THREADS];
	SSL_CTX *ctx = client_ctx(p, 0);
	struct sockaddr_in sa;
	unsigned long i;
	char c;
	int t, err;

	if (fit_fds(n) < n) {
		fprintf(stderr, "bench_tls: idle client: RLIMIT_NOFILE "
				"too low\n");
		return 1;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	loopback(&sa, port);
	for (i = 0; i < IDLE_WARM; i++)
		drop(client_connect(ctx, &sa));
	for (t = 0; t < IDLE_THREADS; t++) {
		sh[t].ctx = ctx;
		sh[t].sa = &sa;
		sh[t].n = n / IDLE_THREADS + (t < (int)(n % IDLE_THREADS));
		err = pthread_create(&sh[t].thread, NULL, idle_connect, &sh[t]);
		if (err) {
			errno = err;
			die("pthread_create");
		}
	}
	for (t = 0; t < IDLE_THREADS; t++)
		pthread_join(sh[t].thread, NULL);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

static void idle_server(const struct pki *p, const char *self, unsigned long n)
{
	unsigned long want = n, i;
	unsigned long long rss0, priv0, rss1, priv1;
	char port[16], count[32];
	struct sockaddr_in sa;
	SSL_CTX *ctx;
	SSL **held;
	int lfd, status, stop[2];
	pid_t pid;

	n = fit_fds(n);
	if (n == 0) {
		fprintf(stderr, "bench_tls: idle: RLIMIT_NOFILE too low\n");
		exit(1);
	}
	held = calloc(n, sizeof(*held));
	if (!held)
		die("calloc");
	ctx = server_ctx(p);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	lfd = listen_loopback(&sa);
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	snprintf(count, sizeof(count), "%lu", n);

	if (pipe(stop) != 0)
		die("pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char *argv[] = {"bench_tls",
				"-v",
				tls_version == TLS1_2_VERSION ? "1.2" : "1.3",
				"idle-client",
				port,
				count,
				NULL};

		if (dup2(stop[0], 0) < 0)
			_exit(127);
		close(stop[0]);
		close(stop[1]);
		close(lfd);
		unsetenv("LD_PRELOAD");
		execv(self, argv);
		perror("execv");
		_exit(127);
	}
	peer_pid = pid;
	close(stop[0]);

	for (i = 0; i < IDLE_WARM; i++)
		drop(server_accept(ctx, lfd));
	memory(&rss0, &priv0);
	for (i = 0; i < n; i++)
		held[i] = server_accept(ctx, lfd);
	memory(&rss1, &priv1);

	close(stop[1]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	peer_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr,
			"bench_tls: idle client exited with status %#x\n",
			status);
		exit(1);
	}
	printf("idle held=%lu limited=%d rss_base=%llu rss_held=%llu "
	       "priv_base=%llu priv_held=%llu rss_per_conn=%.1f "
	       "priv_per_conn=%.1f\n",
	       n, n < want, rss0, rss1, priv0, priv1,
	       ((double)rss1 - (double)rss0) / (double)n,
	       ((double)priv1 - (double)priv0) / (double)n);
	for (i = 0; i < n; i++)
		drop(held[i]);
	free(held);
	close(lfd);
	SSL_CTX_free(ctx);
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_tls [-v 1.2|1.3] [-m] bulk MB|hs N|"
			"idle N\n");
	return 2;
}

static int parse_count(const char *s, unsigned long max, unsigned long *n)
{
	char *end;

	errno = 0;
	*n = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && end != s && *n > 0 && *n <= max;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	unsigned long n, warm = 0, port = 0;
	enum mode mode;
	struct pki p;
	SSL_CTX *ctx;
	double ns;
	int opt, lfd, status;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+v:m")) != -1) {
		switch (opt) {
		case 'v':
			if (strcmp(optarg, "1.2") == 0)
				tls_version = TLS1_2_VERSION;
			else if (strcmp(optarg, "1.3") == 0)
				tls_version = TLS1_3_VERSION;
			else
				return usage();
			break;
		case 'm':
			mutual = 1;
			break;
		default:
			return usage();
		}
	}
	argv += optind;
	argc -= optind;
	if (argc == 3 && strcmp(argv[0], "idle-client") == 0) {
		mode = MODE_IDLE_CLIENT;
		if (!parse_count(argv[1], 65535, &port))
			return usage();
		argv++;
		argc--;
	} else if (argc != 2) {
		return usage();
	} else if (strcmp(argv[0], "bulk") == 0) {
		mode = MODE_BULK;
	} else if (strcmp(argv[0], "hs") == 0) {
		mode = MODE_HS;
	} else if (strcmp(argv[0], "idle") == 0) {
		mode = MODE_IDLE;
	} else {
		return usage();
	}
	if (!parse_count(argv[1], 1000000, &n))
		return usage();
	/* The idle client makes a CA of its own: the server would refuse
	 * its certificate. */
	if (mutual && (mode == MODE_IDLE || mode == MODE_IDLE_CLIENT))
		return usage();
	if (mode == MODE_HS)
		warm = n / 10 > 0 ? n / 10 : 1;

	/* A peer that has gone away is reported by the call that failed. */
	signal(SIGPIPE, SIG_IGN);

	/* The idle client makes its own and verifies nothing with it. */
	make_pki(&p);

	if (mode == MODE_IDLE_CLIENT) {
		alarm(IDLE_LIMIT);
		return idle_client(&p, (unsigned)port, n);
	}
	if (mode == MODE_IDLE) {
		alarm(IDLE_LIMIT);
		idle_server(&p, "/proc/self/exe", n);
		free_pki(&p);
		return 0;
	}

	lfd = listen_loopback(&sa);

	/* Stdio holds nothing yet, so the child cannot repeat any output. */
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	/* Pending alarms are not inherited: each process sets its own. */
	alarm(TIME_LIMIT);
	if (pid == 0)
		server(lfd, &p, mode == MODE_BULK, n + warm);
	peer_pid = pid;
	close(lfd);

	ctx = client_ctx(&p, 1);
	ns = mode == MODE_BULK ? run_bulk(ctx, &sa, n)
			       : run_hs(ctx, &sa, warm, n);

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	peer_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_tls: server exited with status %#x\n",
			status);
		return 1;
	}

	if (mode == MODE_BULK)
		printf("bulk ns_per_mib=%.1f mib_per_s=%.1f\n", ns / (double)n,
		       (double)n * 1e9 / ns);
	else
		printf("hs ns_per_handshake=%.1f handshakes_per_s=%.1f "
		       "connections=%lu\n",
		       ns / (double)n, (double)n * 1e9 / ns, n + warm);

	SSL_CTX_free(ctx);
	free_pki(&p);
	return 0;
}
