/* An OpenSSL TLS client linked statically against libssl and libcrypto
 * (and dynamically against libc): the interposer's SSL_new never sees its
 * sessions, so its secrets can come only from a key log file, while its
 * socket reads and writes go through libc and are traced.
 *
 *   static_client PORT CERT KEY [-k] [-sleep MS] [-tls12]
 *
 * Connects to 127.0.0.1:PORT with the client certificate CERT and its KEY
 * (the server's certificate is not verified), handshakes, sends an HTTP
 * request, sleeps MS milliseconds (0 unless given), reads to the end,
 * sends close_notify and closes.  -k writes an NSS key log as OpenSSL
 * hands out each secret (SSL_CTX_set_keylog_callback): every line is
 * appended to $SSLKEYLOGFILE in one write(2), as the libraries that
 * write one do, and none when the variable is unset or empty, as they
 * do.  -tls12 caps the version at TLS 1.2.  Prints:
 *
 *   handshake ok TLSv1.3    or "handshake failed"
 *   response N              the bytes read after the request
 *   keylog lines N          with -k: the lines written
 *
 * Exit status 0 when the exchange went through.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static int keylog_fd = -1;
static int keylog_lines;

static void own_keylog(const SSL *ssl, const char *line)
{
	(void)ssl;
	char buf[512];
	size_t n = strlen(line);
	if (keylog_fd < 0 || n + 1 > sizeof(buf))
		return;
	memcpy(buf, line, n);
	buf[n++] = '\n';
	/* one write(2) per line: a reader never sees half of one */
	if (write(keylog_fd, buf, n) == (ssize_t)n)
		keylog_lines++;
}

static int usage(void)
{
	fprintf(stderr, "usage: static_client PORT CERT KEY [-k] "
			"[-sleep MS] [-tls12]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	int port = atoi(argv[1]);
	const char *certfile = argv[2], *keyfile = argv[3];
	int keylog = 0, tls12 = 0;
	long sleep_ms = 0;
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "-k") == 0)
			keylog = 1;
		else if (strcmp(argv[i], "-tls12") == 0)
			tls12 = 1;
		else if (strcmp(argv[i], "-sleep") == 0 && i + 1 < argc)
			sleep_ms = atol(argv[++i]);
		else
			return usage();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *kl = getenv("SSLKEYLOGFILE");
	if (keylog && kl && *kl) {
		keylog_fd = open(kl, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				 0600);
		if (keylog_fd < 0) {
			printf("cannot open %s\n", kl);
			return 1;
		}
	}

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, keyfile, SSL_FILETYPE_PEM) != 1) {
		printf("credentials failed\n");
		return 1;
	}
	if (tls12)
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	if (keylog)
		SSL_CTX_set_keylog_callback(ctx, own_keylog);

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((unsigned short)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {.tv_sec = 10};
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("connect failed\n");
		return 1;
	}
	SSL *ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, "localhost") != 1)
		return 1;
	int ret = 1;
	if (SSL_connect(ssl) != 1) {
		printf("handshake failed\n");
		ERR_print_errors_fp(stdout);
	} else {
		printf("handshake ok %s\n", SSL_get_version(ssl));
		static const char req[] = "GET / HTTP/1.0\r\n\r\n";
		if (SSL_write(ssl, req, sizeof(req) - 1) == sizeof(req) - 1) {
			struct timespec ts = {.tv_sec = sleep_ms / 1000,
					      .tv_nsec = sleep_ms % 1000 *
							 1000000};
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
			char buf[4096];
			long total = 0;
			int n;
			while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0)
				total += n;
			printf("response %ld\n", total);
			ret = total > 0 ? 0 : 1;
		}
		SSL_shutdown(ssl);
	}
	if (keylog)
		printf("keylog lines %d\n", keylog_lines);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	if (keylog_fd >= 0)
		close(keylog_fd);
	return ret;
}
