/* A TLS 1.2 server that renegotiates the way IIS does for conditional
 * client-certificate authentication, for tests and the demo.
 *
 *   iis_server -cert F -key F [-chain F] -CAfile F [-cipher LIST]
 *              [-naccept N] [-no_reset]
 *
 * It listens on 127.0.0.1:0 and prints "ACCEPT 127.0.0.1:PORT".  For each
 * connection: the handshake (no client certificate asked), then it reads
 * the HTTP request and asks to renegotiate (HelloRequest) with
 * SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT and no resumption, so
 * the new handshake carries a CertificateRequest naming the CAs of
 * -CAfile.  If the client answers with an alert record (its refusal), the
 * server resets the TCP connection (SO_LINGER {1, 0}) before reading it,
 * as IIS does; with -no_reset it lets OpenSSL read it instead.  If the
 * client renegotiates, the server answers the request with the client
 * certificate's subject and closes properly.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int accept_all(int ok, X509_STORE_CTX *ctx)
{
	(void)ctx;
	return ok;
}

static const char *arg(int argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static int flag(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

static int read_request(SSL *ssl)
{
	char buf[4096];
	size_t have = 0;
	while (have < sizeof(buf) - 1) {
		int n = SSL_read(ssl, buf + have,
				 (int)(sizeof(buf) - 1 - have));
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return 0;
	}
	return 0;
}

static void serve(SSL_CTX *ctx, int fd, int reset)
{
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1 || read_request(ssl) != 0) {
		fprintf(stderr, "iis_server: handshake or request failed\n");
		goto out;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
		       accept_all);
	if (SSL_renegotiate(ssl) != 1 || SSL_do_handshake(ssl) != 1) {
		fprintf(stderr, "iis_server: could not send HelloRequest\n");
		goto out;
	}
	printf("HELLO_REQUEST sent\n");
	fflush(stdout);
	unsigned char h[5];
	ssize_t n = recv(fd, h, sizeof(h), MSG_PEEK | MSG_WAITALL);
	if (n == 5 && h[0] == 21 && reset) {
		struct linger lg = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		printf("REFUSED: resetting\n");
		fflush(stdout);
		SSL_free(ssl);
		close(fd);
		return;
	}
	/* The client's new handshake is processed inside SSL_read; no
	 * application data follows it, so read without blocking until the
	 * renegotiation is no longer pending. */
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		char c;
		int r = SSL_read(ssl, &c, 1);
		int err = SSL_get_error(ssl, r);
		if (r <= 0 && err == SSL_ERROR_WANT_READ) {
			if (!SSL_renegotiate_pending(ssl))
				break;
			struct pollfd p = {fd, POLLIN, 0};
			if (poll(&p, 1, 10000) <= 0)
				break;
			continue;
		}
		if (r <= 0) {
			printf("RENEGOTIATION failed\n");
			fflush(stdout);
			goto out;
		}
	}
	fcntl(fd, F_SETFL, fl);
	X509 *peer = SSL_get1_peer_certificate(ssl);
	char subject[512] = "(none)";
	if (peer) {
		X509_NAME_oneline(X509_get_subject_name(peer), subject,
				  sizeof(subject));
		X509_free(peer);
	}
	printf("RENEGOTIATED client %s\n", subject);
	fflush(stdout);
	char resp[1024];
	int len = snprintf(resp, sizeof(resp),
			   "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
			   "hello %s\n",
			   subject);
	SSL_write(ssl, resp, len);
	SSL_shutdown(ssl);
out:
	ERR_print_errors_fp(stderr);
	SSL_free(ssl);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *cert = arg(argc, argv, "-cert");
	const char *key = arg(argc, argv, "-key");
	const char *chain = arg(argc, argv, "-chain");
	const char *cafile = arg(argc, argv, "-CAfile");
	const char *cipher = arg(argc, argv, "-cipher");
	const char *naccept = arg(argc, argv, "-naccept");
	int reset = !flag(argc, argv, "-no_reset");
	if (!cert || !key || !cafile) {
		fprintf(stderr, "usage: iis_server -cert F -key F [-chain F] "
				"-CAfile F [-cipher LIST] [-naccept N] "
				"[-no_reset]\n");
		return 2;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION |
					 SSL_OP_NO_TICKET);
	if (SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	if (chain) {
		FILE *f = fopen(chain, "r");
		X509 *x;
		while (f && (x = PEM_read_X509(f, NULL, NULL, NULL)))
			SSL_CTX_add0_chain_cert(ctx, x);
		if (f)
			fclose(f);
	}
	SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(cafile));
	if (cipher && SSL_CTX_set_cipher_list(ctx, cipher) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(ls, 16) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
		perror("iis_server: listen");
		return 1;
	}
	printf("ACCEPT 127.0.0.1:%u\n", ntohs(sa.sin_port));
	fflush(stdout);
	long count = naccept ? atol(naccept) : -1;
	while (count != 0) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		serve(ctx, fd, reset);
		if (count > 0)
			count--;
	}
	close(ls);
	SSL_CTX_free(ctx);
	return 0;
}
