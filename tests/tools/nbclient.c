/* A non-blocking OpenSSL client that records what SSL_get_error() says
 * after every call, to show that tracing (and decrypting inside the same
 * process, in the same threads) changes nothing the host sees.
 *
 *   nbclient PORT CAFILE [CERT KEY]
 *
 * Connects to 127.0.0.1:PORT, handshakes, sends an HTTP request, reads to
 * the end.  Prints one line per phase: the phase, the distinct
 * SSL_get_error() values seen in order of first appearance, the last one,
 * and whether libcrypto's error queue was empty after every call that did
 * not fail with SSL_ERROR_SSL.  Exit status 0 when the exchange went
 * through.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct phase {
	const char *name;
	int seen[16];
	int nseen;
	int last;
	int calls;
	int queue_dirty;
};

static void note(struct phase *ph, int e)
{
	int i;
	ph->calls++;
	ph->last = e;
	for (i = 0; i < ph->nseen; i++)
		if (ph->seen[i] == e)
			break;
	if (i == ph->nseen && ph->nseen < 16)
		ph->seen[ph->nseen++] = e;
	if (e != SSL_ERROR_SSL && ERR_peek_error() != 0)
		ph->queue_dirty++;
}

static void print(const struct phase *ph)
{
	printf("%s:", ph->name);
	for (int i = 0; i < ph->nseen; i++)
		printf("%s%d", i ? "," : " seen=", ph->seen[i]);
	printf(" last=%d queue_clean=%d\n", ph->last, ph->queue_dirty == 0);
}

static int wait_io(int fd, int e)
{
	struct pollfd p = {fd, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 0};
	return poll(&p, 1, 10000) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: nbclient PORT CAFILE [CERT KEY]\n");
		return 2;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1)
		return 2;
	if (argc == 5 &&
	    (SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, argv[4], SSL_FILETYPE_PEM) != 1))
		return 2;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)atoi(argv[1]))};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
	    errno != EINPROGRESS)
		return 3;
	struct pollfd p = {fd, POLLOUT, 0};
	if (poll(&p, 1, 10000) != 1)
		return 3;

	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_set1_host(ssl, "localhost");

	struct phase hs = {.name = "connect"}, wr = {.name = "write"},
		     rd = {.name = "read"};
	int rc = 1;
	for (;;) {
		int r = SSL_connect(ssl);
		int e = SSL_get_error(ssl, r);
		note(&hs, e);
		if (r == 1)
			break;
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    wait_io(fd, e) != 0)
			goto out;
	}
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	for (;;) {
		int r = SSL_write(ssl, req, (int)strlen(req));
		int e = SSL_get_error(ssl, r);
		note(&wr, e);
		if (r > 0)
			break;
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    wait_io(fd, e) != 0)
			goto out;
	}
	size_t total = 0;
	for (;;) {
		char buf[4096];
		int r = SSL_read(ssl, buf, sizeof(buf));
		int e = SSL_get_error(ssl, r);
		if (r > 0) {
			total += (size_t)r;
			note(&rd, e);
			continue;
		}
		note(&rd, e);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_io(fd, e) != 0)
				goto out;
			continue;
		}
		break;
	}
	rc = total > 0 && (rd.last == SSL_ERROR_ZERO_RETURN ||
			   rd.last == SSL_ERROR_SYSCALL)
		     ? 0
		     : 1;
out:
	print(&hs);
	print(&wr);
	print(&rd);
	printf("bytes=%s\n", rc == 0 ? "some" : "none");
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	return rc;
}
