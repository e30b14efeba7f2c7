/* Many client SSL_CTX, each with the program's own key-log callback, to
 * show that an interposer keeping callbacks per context loses none of
 * them and that SSL_CTX_get_keylog_callback still returns the program's.
 *
 *   manyctx CERTCHAIN KEY [N]
 *
 * Makes N (default 1000) client contexts, all alive at once. The first
 * half get the callback before their SSL_new, the second half after it.
 * Then each client handshakes TLS 1.3 with one server context over an
 * in-memory BIO pair (no sockets). The callback finds its context's index
 * through SSL_get_SSL_CTX and ex_data this program allocated. Prints:
 *   callbacks C/N getter G/N lines L stray S handshakes H/N
 * C: contexts whose callback ran at least once; G: contexts for which
 * the getter returns the callback; L: callback calls in all; S: calls for
 * a context without our index; H: handshakes that completed.
 * Exit status 0 when everything is N (and S is 0). On stderr, which
 * object SSL_CTX_set_keylog_callback resolves to (libssl.so.3 untraced,
 * libtlstrace.so under LD_PRELOAD): "keylog setter in NAME".
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static int ex_index = -1;
static int *counts;
static long lines, stray;

static void keylog(const SSL *ssl, const char *line)
{
	(void)line;
	lines++;
	const int *ix = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index);
	if (ix)
		counts[*ix]++;
	else
		stray++;
}

/* Runs both ends of the handshake until both are done (bounded). */
static int handshake(SSL *c, SSL *s)
{
	BIO *bc, *bs;
	if (!BIO_new_bio_pair(&bc, 0, &bs, 0))
		return 0;
	SSL_set_bio(c, bc, bc);
	SSL_set_bio(s, bs, bs);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	int cdone = 0, sdone = 0;
	for (int i = 0; i < 100 && !(cdone && sdone); i++) {
		if (!cdone) {
			int r = SSL_do_handshake(c);
			if (r == 1)
				cdone = 1;
			else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
				return 0;
		}
		if (!sdone) {
			int r = SSL_do_handshake(s);
			if (r == 1)
				sdone = 1;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
				return 0;
		}
	}
	return cdone && sdone;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: manyctx CERTCHAIN KEY [N]\n");
		return 2;
	}
	int n = argc > 3 ? atoi(argv[3]) : 1000;
	if (n < 2)
		return 2;
	Dl_info di;
	void *setter = dlsym(RTLD_DEFAULT, "SSL_CTX_set_keylog_callback");
	const char *obj = setter && dladdr(setter, &di) && di.dli_fname
				  ? di.dli_fname
				  : "?";
	const char *slash = strrchr(obj, '/');
	fprintf(stderr, "keylog setter in %s\n", slash ? slash + 1 : obj);
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
	if (!sctx || SSL_CTX_use_certificate_chain_file(sctx, argv[1]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sctx, argv[2], SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
	SSL_CTX_set_num_tickets(sctx, 0);

	ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	SSL_CTX **ctx = calloc((size_t)n, sizeof(*ctx));
	SSL **ssl = calloc((size_t)n, sizeof(*ssl));
	int *ids = calloc((size_t)n, sizeof(*ids));
	counts = calloc((size_t)n, sizeof(*counts));
	if (ex_index < 0 || !ctx || !ssl || !ids || !counts)
		return 1;
	for (int i = 0; i < n; i++) {
		ids[i] = i;
		ctx[i] = SSL_CTX_new(TLS_client_method());
		if (!ctx[i])
			return 1;
		SSL_CTX_set_min_proto_version(ctx[i], TLS1_3_VERSION);
		SSL_CTX_set_verify(ctx[i], SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_ex_data(ctx[i], ex_index, &ids[i]);
		if (i < n / 2)
			SSL_CTX_set_keylog_callback(ctx[i], keylog);
	}
	for (int i = 0; i < n; i++)
		if (!(ssl[i] = SSL_new(ctx[i])))
			return 1;
	for (int i = n / 2; i < n; i++)
		SSL_CTX_set_keylog_callback(ctx[i], keylog);

	int done = 0;
	for (int i = 0; i < n; i++) {
		SSL *s = SSL_new(sctx);
		if (s && handshake(ssl[i], s))
			done++;
		SSL_free(s);
		SSL_free(ssl[i]);
		ssl[i] = NULL;
	}

	int called = 0, getter = 0;
	for (int i = 0; i < n; i++) {
		called += counts[i] > 0;
		getter += SSL_CTX_get_keylog_callback(ctx[i]) == keylog;
	}
	printf("callbacks %d/%d getter %d/%d lines %ld stray %ld handshakes %d/%d\n",
	       called, n, getter, n, lines, stray, done, n);
	for (int i = 0; i < n; i++)
		SSL_CTX_free(ctx[i]);
	SSL_CTX_free(sctx);
	free(ctx);
	free(ssl);
	free(ids);
	free(counts);
	return called == n && getter == n && done == n && stray == 0 ? 0 : 1;
}
