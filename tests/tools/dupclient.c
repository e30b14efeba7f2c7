/* A TLS client that moves its connection to another descriptor in the
 * middle of the exchange, the way a daemon renumbers its sockets: the
 * new number is made with dup2/dup3/fcntl/dup, the old one closed, and
 * OpenSSL's socket BIO pointed at the new one (the SSL and its session
 * stay as they are).
 *
 *   dupclient PORT PATH MODE [PART]
 *
 * MODE is none (no move: the control), dup2, dup3 (both onto fd+10),
 * fcntl (F_DUPFD_CLOEXEC from fd+10) or dup (the lowest free number).
 * Connects to 127.0.0.1:PORT, handshakes, sends "GET /PATH HTTP/1.0",
 * reads PART bytes (default 65536) of the answer, moves, reads the rest
 * up to the peer's close_notify, answers it with its own and closes.
 * Prints one line:
 *   oldfd=N newfd=M before=B total=T zero_return=0|1 shutdown=R status=LINE
 * Exit status 0 when the whole answer arrived and ended in close_notify.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int move_fd(int fd, const char *mode)
{
	if (strcmp(mode, "none") == 0)
		return fd;
	if (strcmp(mode, "dup2") == 0)
		return dup2(fd, fd + 10);
	if (strcmp(mode, "dup3") == 0)
		return dup3(fd, fd + 10, O_CLOEXEC);
	if (strcmp(mode, "fcntl") == 0)
		return fcntl(fd, F_DUPFD_CLOEXEC, fd + 10);
	if (strcmp(mode, "dup") == 0)
		return dup(fd);
	return -1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: dupclient PORT PATH MODE [PART]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	const char *mode = argv[3];
	long part = argc > 4 ? atol(argv[4]) : 65536;

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return 1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	int fd = connect_to(port);
	if (fd < 0) {
		perror("connect");
		return 1;
	}
	SSL *ssl = SSL_new(ctx);
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	char req[512];
	int rl =
		snprintf(req, sizeof(req), "GET /%s HTTP/1.0\r\n\r\n", argv[2]);
	if (rl <= 0 || (size_t)rl >= sizeof(req) ||
	    SSL_write(ssl, req, rl) != rl) {
		ERR_print_errors_fp(stderr);
		return 1;
	}

	static char buf[16384];
	char status[128] = "";
	long total = 0, before = -1;
	int newfd = fd, zero = 0;
	for (;;) {
		if (before < 0 && total >= part) {
			before = total;
			newfd = move_fd(fd, mode);
			if (newfd < 0) {
				perror("move");
				return 1;
			}
			if (newfd != fd) {
				close(fd);
				BIO_set_fd(SSL_get_rbio(ssl), newfd,
					   BIO_NOCLOSE);
			}
		}
		long want = sizeof(buf);
		if (before < 0 && part - total < want)
			want = part - total;
		int n = SSL_read(ssl, buf, (int)want);
		if (n <= 0) {
			zero = SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN;
			break;
		}
		if (total == 0) {
			size_t l = strcspn(buf, "\r\n");
			if (l >= sizeof(status))
				l = sizeof(status) - 1;
			if (l > (size_t)n)
				l = (size_t)n;
			memcpy(status, buf, l);
			status[l] = 0;
		}
		total += n;
	}
	int sd = SSL_shutdown(ssl);
	printf("oldfd=%d newfd=%d bio_fd=%d before=%ld total=%ld zero_return=%d "
	       "shutdown=%d status=%s\n",
	       fd, newfd, SSL_get_fd(ssl), before, total, zero, sd, status);
	fflush(stdout);
	SSL_free(ssl);
	close(newfd);
	SSL_CTX_free(ctx);
	return zero && sd == 1 && before >= 0 ? 0 : 1;
}
