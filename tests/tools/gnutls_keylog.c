/* A GnuTLS client with a key-log function of its own, to show that
 * tlstrace's capture of GnuTLS secrets keeps it: it is called for every
 * secret, and the getter returns it.
 *
 *   gnutls_keylog [-f N] [-d] [-r] PORT CERT KEY
 *
 * Connects to 127.0.0.1:PORT with the client certificate CERT and its
 * KEY (the server's certificate is not verified), sets its function on
 * the session with gnutls_session_set_keylog_function, handshakes, sends
 * an HTTP request and reads to the end.  Its function appends each
 * secret to $SSLKEYLOGFILE, when set, as an NSS key log line.  -f N
 * first makes N other sessions that get the same function and stay until
 * the end (-d: that are deinitialized before the connection's session is
 * made).  -r sets the function through libgnutls's own entry point, found
 * with dlsym on the library's handle, where an interposer preloaded
 * before it is not seen: the session then has this function alone, and
 * its secrets are known only to the key log it writes.  Prints:
 *
 *   getter own              or "getter other": what
 *                           gnutls_session_get_keylog_function returned
 *   fill N getter_own M     with -f: of the N sessions, M returned it
 *   handshake ok TLS1.3     or "handshake failed: reason"
 *   called LABEL COUNT      one line per label, in the order first called
 *
 * Exit status 0 when the handshake went through.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#define MAX_LABELS 16

static struct {
	char label[64];
	int count;
} calls[MAX_LABELS];
static int ncalls;
static FILE *keylog;

static void write_line(gnutls_session_t s, const char *label,
		       const gnutls_datum_t *secret)
{
	gnutls_datum_t cr = {NULL, 0};
	gnutls_session_get_random(s, &cr, NULL);
	fprintf(keylog, "%s ", label);
	for (unsigned i = 0; i < cr.size; i++)
		fprintf(keylog, "%02x", cr.data[i]);
	fputc(' ', keylog);
	for (unsigned i = 0; i < secret->size; i++)
		fprintf(keylog, "%02x", secret->data[i]);
	fputc('\n', keylog);
	fflush(keylog);
}

static int own_keylog(gnutls_session_t s, const char *label,
		      const gnutls_datum_t *secret)
{
	if (keylog)
		write_line(s, label, secret);
	int i;
	for (i = 0; i < ncalls; i++)
		if (strcmp(calls[i].label, label) == 0)
			break;
	if (i == ncalls) {
		if (ncalls == MAX_LABELS)
			return 0;
		snprintf(calls[i].label, sizeof(calls[i].label), "%s", label);
		ncalls++;
	}
	calls[i].count++;
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: gnutls_keylog [-f N] [-d] [-r] PORT CERT KEY\n");
	return 2;
}

int main(int argc, char **argv)
{
	int fill = 0, drop = 0, real = 0, opt;
	while ((opt = getopt(argc, argv, "f:dr")) != -1) {
		if (opt == 'f')
			fill = atoi(optarg);
		else if (opt == 'd')
			drop = 1;
		else if (opt == 'r')
			real = 1;
		else
			return usage();
	}
	if (argc - optind != 3 || fill < 0)
		return usage();
	int port = atoi(argv[optind]);
	const char *certfile = argv[optind + 1], *keyfile = argv[optind + 2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *kl = getenv("SSLKEYLOGFILE");
	if (kl && *kl && !(keylog = fopen(kl, "a"))) {
		printf("cannot open %s\n", kl);
		return 1;
	}
	typeof(gnutls_session_set_keylog_function) *set_fn =
		gnutls_session_set_keylog_function;
	if (real) {
		void *h = dlopen("libgnutls.so.30", RTLD_NOLOAD | RTLD_LAZY);
		void *f = h ? dlsym(h, "gnutls_session_set_keylog_function")
			    : NULL;
		if (!f) {
			printf("libgnutls's own setter not found\n");
			return 1;
		}
		*(void **)&set_fn = f;
	}

	if (gnutls_global_init() < 0)
		return 1;
	gnutls_certificate_credentials_t cred;
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_key_file(cred, certfile, keyfile,
						 GNUTLS_X509_FMT_PEM) < 0) {
		printf("credentials failed\n");
		return 1;
	}

	gnutls_session_t *others = NULL;
	if (fill > 0) {
		others = calloc((size_t)fill, sizeof(*others));
		if (!others)
			return 1;
		int own = 0;
		for (int i = 0; i < fill; i++) {
			if (gnutls_init(&others[i], GNUTLS_CLIENT) < 0)
				return 1;
			gnutls_session_set_keylog_function(others[i],
							   own_keylog);
			own += gnutls_session_get_keylog_function(others[i]) ==
			       own_keylog;
		}
		printf("fill %d getter_own %d\n", fill, own);
		if (drop) {
			for (int i = 0; i < fill; i++)
				gnutls_deinit(others[i]);
			fill = 0;
		}
	}

	gnutls_session_t s;
	if (gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
	    gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0 ||
	    gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9) < 0)
		return 1;
	set_fn(s, own_keylog);
	printf("getter %s\n",
	       gnutls_session_get_keylog_function(s) == own_keylog ? "own"
								   : "other");

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((unsigned short)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("connect failed\n");
		return 1;
	}
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 10000);
	int ret;
	do
		ret = gnutls_handshake(s);
	while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0) {
		printf("handshake failed: %s\n", gnutls_strerror(ret));
	} else {
		printf("handshake ok %s\n",
		       gnutls_protocol_get_name(
			       gnutls_protocol_get_version(s)));
		static const char req[] = "GET / HTTP/1.0\r\n\r\n";
		gnutls_record_send(s, req, sizeof(req) - 1);
		char buf[4096];
		ssize_t n;
		while ((n = gnutls_record_recv(s, buf, sizeof(buf))) > 0 ||
		       n == GNUTLS_E_INTERRUPTED)
			;
		gnutls_bye(s, GNUTLS_SHUT_WR);
	}
	for (int i = 0; i < ncalls; i++)
		printf("called %s %d\n", calls[i].label, calls[i].count);
	gnutls_deinit(s);
	close(fd);
	for (int i = 0; i < fill; i++)
		gnutls_deinit(others[i]);
	free(others);
	gnutls_certificate_free_credentials(cred);
	gnutls_global_deinit();
	return ret < 0 ? 1 : 0;
}
