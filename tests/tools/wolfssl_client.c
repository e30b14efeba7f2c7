/* A wolfSSL TLS 1.2 client, optionally with a session-key callback of
 * its own, or a TLS 1.3 one, optionally with an HKDF-Expand-Label
 * callback of its own, to show that tlstrace's (shim/wolfssl.c) leave
 * them as they were.
 *
 *   wolfssl_client PORT CERT KEY [own|none|tls13|tls13own]
 *
 * own: sets a session-key callback on its context (wolfSSL makes the keys
 * itself: it returns PROTOCOLCB_UNAVAILABLE) with an argument of its own
 * on the connection.  tls13: as none, but TLS 1.3.  tls13own: as tls13,
 * with an HKDF-Expand-Label callback on its context that makes every
 * output itself (with wc_Tls13_HKDF_Expand_Label).  Connects to
 * 127.0.0.1:PORT (the server is not verified), presents CERT and KEY
 * when asked, sends an HTTP request, reads to the end and sends
 * close_notify.  Prints one line:
 *
 *   session_key calls=N hkdf calls=M arg=intact|changed response=yes|no
 *
 * Exit status 0 when the exchange went through.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/kdf.h>

static int calls, bad_arg, hkdf_calls;
static int token;

static int on_session_key(WOLFSSL *ssl, void *arg)
{
	(void)ssl;
	if (arg != &token)
		bad_arg++;
	calls++;
	return PROTOCOLCB_UNAVAILABLE;
}

static int on_hkdf(byte *okm, word32 okm_len, const byte *prk, word32 prk_len,
		   const byte *protocol, word32 protocol_len, const byte *label,
		   word32 label_len, const byte *info, word32 info_len,
		   int digest, int side)
{
	(void)side;
	hkdf_calls++;
	return wc_Tls13_HKDF_Expand_Label(okm, okm_len, prk, prk_len, protocol,
					  protocol_len, label, label_len, info,
					  info_len, digest);
}

int main(int argc, char **argv)
{
	const char *mode = argc == 5 ? argv[4] : "none";
	if ((argc != 4 && argc != 5) ||
	    (strcmp(mode, "own") && strcmp(mode, "none") &&
	     strcmp(mode, "tls13") && strcmp(mode, "tls13own"))) {
		fprintf(stderr, "usage: wolfssl_client PORT CERT KEY "
				"[own|none|tls13|tls13own]\n");
		return 2;
	}
	bool tls13 = strncmp(mode, "tls13", 5) == 0;
	wolfSSL_Init();
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(tls13 ? wolfTLSv1_3_client_method()
						 : wolfTLSv1_2_client_method());
	if (!ctx ||
	    wolfSSL_CTX_use_certificate_file(
		    ctx, argv[2], WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_file(
		    ctx, argv[3], WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "context setup failed\n");
		return 1;
	}
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	if (strcmp(mode, "own") == 0)
		wolfSSL_CTX_SetGenSessionKeyCb(ctx, on_session_key);
	if (strcmp(mode, "tls13own") == 0)
		wolfSSL_CTX_SetHKDFExpandLabelCb(ctx, on_hkdf);

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(argv[1])),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("connect");
		return 1;
	}
	WOLFSSL *ssl = wolfSSL_new(ctx);
	if (!ssl || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "connection setup failed\n");
		return 1;
	}
	wolfSSL_SetGenSessionKeyCtx(ssl, &token);
	if (wolfSSL_connect(ssl) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "handshake: %d\n", wolfSSL_get_error(ssl, 0));
		return 1;
	}
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	if (wolfSSL_write(ssl, req, (int)strlen(req)) != (int)strlen(req)) {
		fprintf(stderr, "write: %d\n", wolfSSL_get_error(ssl, 0));
		return 1;
	}
	char buf[4096];
	size_t got = 0;
	int n;
	while ((n = wolfSSL_read(ssl, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	wolfSSL_shutdown(ssl);
	printf("session_key calls=%d hkdf calls=%d arg=%s response=%s\n", calls,
	       hkdf_calls, bad_arg ? "changed" : "intact", got ? "yes" : "no");
	wolfSSL_free(ssl);
	close(fd);
	wolfSSL_CTX_free(ctx);
	wolfSSL_Cleanup();
	return got ? 0 : 1;
}
