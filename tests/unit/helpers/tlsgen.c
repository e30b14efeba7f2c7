/* Real TLS byte streams for tests: see tlsgen.h.
 *
 * Capture happens in a BIO callback on each end of the BIO pair, at the
 * moment OpenSSL writes, so chunk boundaries are OpenSSL's own write()
 * calls over a socket (a handshake flight goes out through its buffering
 * BIO in one write, application data one record per write), and the step
 * order is the real order of the exchange, independent of how this file
 * schedules the two sides.
 */
#include "tlsgen.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ------------------------------------------------------------------ */
/* The certificate chain                                               */

/* After the chain of tlsgen.h, made only when a run asks for them: the
 * server's certificate again with an RSA key and with a DSA key. */
enum { CERT_SERVER_RSA = TLSGEN_NCERTS, CERT_SERVER_DSA, ALL_CERTS };

struct chain {
	int made;
	int alt_made[ALL_CERTS]; /* for the server's other keys */
	X509 *cert[ALL_CERTS];
	EVP_PKEY *key[ALL_CERTS];
	unsigned char *der[ALL_CERTS];
	int der_len[ALL_CERTS];
	unsigned char *subj[ALL_CERTS];
	int subj_len[ALL_CERTS];
};

static struct chain chain;
static pthread_mutex_t chain_lock = PTHREAD_MUTEX_INITIALIZER;
/* the default and legacy providers, when a run asked for them */
static OSSL_PROVIDER *providers[2];

struct ext {
	int nid;
	const char *value;
};

static const struct ext root_ext[] = {
	{NID_basic_constraints, "critical,CA:TRUE"},
	{NID_key_usage, "critical,keyCertSign,cRLSign"},
	{NID_subject_key_identifier, "hash"},
	{0, NULL},
};

static const struct ext inter_ext[] = {
	{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
	{NID_key_usage, "critical,keyCertSign,cRLSign"},
	{NID_subject_key_identifier, "hash"},
	{NID_authority_key_identifier, "keyid:always"},
	{0, NULL},
};

static const struct ext server_ext[] = {
	{NID_basic_constraints, "critical,CA:FALSE"},
	{NID_key_usage, "critical,digitalSignature"},
	{NID_ext_key_usage, "serverAuth"},
	{NID_subject_alt_name, "DNS:localhost"},
	{NID_subject_key_identifier, "hash"},
	{NID_authority_key_identifier, "keyid:always"},
	{0, NULL},
};

/* RSA key exchange encrypts the premaster secret to the key. */
static const struct ext server_rsa_ext[] = {
	{NID_basic_constraints, "critical,CA:FALSE"},
	{NID_key_usage, "critical,digitalSignature,keyEncipherment"},
	{NID_ext_key_usage, "serverAuth"},
	{NID_subject_alt_name, "DNS:localhost"},
	{NID_subject_key_identifier, "hash"},
	{NID_authority_key_identifier, "keyid:always"},
	{0, NULL},
};

static const struct ext client_ext[] = {
	{NID_basic_constraints, "critical,CA:FALSE"},
	{NID_key_usage, "critical,digitalSignature"},
	{NID_ext_key_usage, "clientAuth"},
	{NID_subject_key_identifier, "hash"},
	{NID_authority_key_identifier, "keyid:always"},
	{0, NULL},
};

/* RDNs in DER order: "O", "Example", "CN", "tlstrace client" renders
 * as CN=tlstrace client,O=Example. */
static X509_NAME *make_name(const char *const *rdn)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL)
		return NULL;
	for (; rdn[0] != NULL; rdn += 2) {
		if (!X509_NAME_add_entry_by_txt(n, rdn[0], MBSTRING_UTF8,
						(const unsigned char *)rdn[1],
						-1, -1, 0)) {
			X509_NAME_free(n);
			return NULL;
		}
	}
	return n;
}

/* A DSA key: 2048-bit parameters take seconds to make, 1024 are enough
 * for a test (OpenSSL's security level 1 allows them). */
static EVP_PKEY *dsa_gen(void)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
	EVP_PKEY *params = NULL, *key = NULL;
	EVP_PKEY_CTX *kc = NULL;

	if (pc && EVP_PKEY_paramgen_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_dsa_paramgen_bits(pc, 1024) == 1 &&
	    EVP_PKEY_paramgen(pc, &params) == 1 &&
	    (kc = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL)) != NULL &&
	    EVP_PKEY_keygen_init(kc) == 1)
		(void)EVP_PKEY_keygen(kc, &key);
	EVP_PKEY_CTX_free(kc);
	EVP_PKEY_free(params);
	EVP_PKEY_CTX_free(pc);
	return key;
}

static EVP_PKEY *key_gen(int which)
{
	if (which == CERT_SERVER_RSA)
		return EVP_RSA_gen(2048);
	if (which == CERT_SERVER_DSA)
		return dsa_gen();
	return EVP_EC_gen("P-256");
}

/* issuer == -1: self-signed. */
static int make_cert(int which, int issuer, const char *const *rdn,
		     const struct ext *ext)
{
	X509 *x = X509_new();
	X509_NAME *name = make_name(rdn);
	EVP_PKEY *key = key_gen(which);
	X509 *ix;
	EVP_PKEY *ikey;
	X509V3_CTX v3;
	int ok = 0;

	if (x == NULL || name == NULL || key == NULL)
		goto out;
	ix = issuer < 0 ? x : chain.cert[issuer];
	ikey = issuer < 0 ? key : chain.key[issuer];
	/* Certificates pinned in time and serial so that DER walkers and
	 * their oracle see the same fields in every run. */
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1001 + which) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ix)) ||
	    /* The _X509 form picks UTCTime before 2050 as RFC 5280 wants,
	     * which is what real certificates carry. */
	    !ASN1_TIME_set_string_X509(X509_getm_notBefore(x),
				       "20260101000000Z") ||
	    !ASN1_TIME_set_string_X509(X509_getm_notAfter(x),
				       "20360101000000Z") ||
	    !X509_set_pubkey(x, key))
		goto out;
	X509V3_set_ctx(&v3, ix, x, NULL, NULL, 0);
	for (; ext->value != NULL; ext++) {
		X509_EXTENSION *e =
			X509V3_EXT_conf_nid(NULL, &v3, ext->nid, ext->value);

		if (e == NULL)
			goto out;
		ok = X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		if (!ok)
			goto out;
		ok = 0;
	}
	if (!X509_sign(x, ikey, EVP_sha256()))
		goto out;
	chain.der_len[which] = i2d_X509(x, &chain.der[which]);
	chain.subj_len[which] =
		i2d_X509_NAME(X509_get_subject_name(x), &chain.subj[which]);
	if (chain.der_len[which] <= 0 || chain.subj_len[which] <= 0)
		goto out;
	chain.cert[which] = x;
	chain.key[which] = key;
	x = NULL;
	key = NULL;
	ok = 1;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	X509_NAME_free(name);
	return ok;
}

static void chain_free_locked(void)
{
	for (int i = 0; i < ALL_CERTS; i++) {
		X509_free(chain.cert[i]);
		EVP_PKEY_free(chain.key[i]);
		OPENSSL_free(chain.der[i]);
		OPENSSL_free(chain.subj[i]);
	}
	memset(&chain, 0, sizeof(chain));
}

static int chain_get(void)
{
	static const char *const root_rdn[] = {"CN", "The Roots Authority",
					       NULL};
	static const char *const inter_rdn[] = {
		"CN", "K-Dot Certificate Authority", NULL};
	static const char *const server_rdn[] = {"CN", "localhost", NULL};
	static const char *const client_rdn[] = {"O", "Example", "CN",
						 "tlstrace client", NULL};
	int ok;

	pthread_mutex_lock(&chain_lock);
	if (!chain.made) {
		chain.made =
			make_cert(TLSGEN_CERT_ROOT, -1, root_rdn, root_ext) &&
			make_cert(TLSGEN_CERT_INTER, TLSGEN_CERT_ROOT,
				  inter_rdn, inter_ext) &&
			make_cert(TLSGEN_CERT_SERVER, TLSGEN_CERT_INTER,
				  server_rdn, server_ext) &&
			make_cert(TLSGEN_CERT_CLIENT, TLSGEN_CERT_INTER,
				  client_rdn, client_ext);
		if (!chain.made)
			chain_free_locked();
		ERR_clear_error();
	}
	ok = chain.made;
	pthread_mutex_unlock(&chain_lock);
	return ok ? 0 : -1;
}

/* The server's certificate with another key (CERT_SERVER_RSA or
 * CERT_SERVER_DSA), made on first use. */
static int alt_get(int which)
{
	static const char *const server_rdn[] = {"CN", "localhost", NULL};
	int ok;

	if (chain_get() != 0)
		return -1;
	pthread_mutex_lock(&chain_lock);
	if (!chain.alt_made[which])
		chain.alt_made[which] = make_cert(
			which, TLSGEN_CERT_INTER, server_rdn,
			which == CERT_SERVER_RSA ? server_rsa_ext : server_ext);
	ERR_clear_error();
	ok = chain.alt_made[which];
	pthread_mutex_unlock(&chain_lock);
	return ok ? 0 : -1;
}

void tlsgen_cleanup(void)
{
	pthread_mutex_lock(&chain_lock);
	chain_free_locked();
	for (int i = 1; i >= 0; i--)
		if (providers[i])
			OSSL_PROVIDER_unload(providers[i]);
	memset(providers, 0, sizeof(providers));
	pthread_mutex_unlock(&chain_lock);
}

int tlsgen_cert_der(enum tlsgen_cert which, const uint8_t **der, size_t *len)
{
	if ((unsigned)which >= TLSGEN_NCERTS || chain_get() != 0)
		return -1;
	*der = chain.der[which];
	*len = (size_t)chain.der_len[which];
	return 0;
}

int tlsgen_subject_der(enum tlsgen_cert which, const uint8_t **der, size_t *len)
{
	if ((unsigned)which >= TLSGEN_NCERTS || chain_get() != 0)
		return -1;
	*der = chain.subj[which];
	*len = (size_t)chain.subj_len[which];
	return 0;
}

static int write_pem_file(const char *dir, const char *file, int cert1,
			  int cert2, int key)
{
	char path[4096];
	FILE *f;
	int ok;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    (int)sizeof(path))
		return 0;
	f = fopen(path, "w");
	if (f == NULL)
		return 0;
	if (key >= 0)
		ok = PEM_write_PrivateKey(f, chain.key[key], NULL, NULL, 0,
					  NULL, NULL);
	else
		ok = PEM_write_X509(f, chain.cert[cert1]) &&
		     (cert2 < 0 || PEM_write_X509(f, chain.cert[cert2]));
	if (fclose(f) != 0)
		ok = 0;
	return ok;
}

int tlsgen_write_pem(const char *dir)
{
	int ok;

	if (chain_get() != 0)
		return -1;
	ok = write_pem_file(dir, "root.pem", TLSGEN_CERT_ROOT, -1, -1) &&
	     write_pem_file(dir, "inter.pem", TLSGEN_CERT_INTER, -1, -1) &&
	     write_pem_file(dir, "cas.pem", TLSGEN_CERT_INTER, TLSGEN_CERT_ROOT,
			    -1) &&
	     write_pem_file(dir, "server.pem", TLSGEN_CERT_SERVER, -1, -1) &&
	     write_pem_file(dir, "server.key", -1, -1, TLSGEN_CERT_SERVER) &&
	     write_pem_file(dir, "client.pem", TLSGEN_CERT_CLIENT, -1, -1) &&
	     write_pem_file(dir, "client.key", -1, -1, TLSGEN_CERT_CLIENT);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Capture                                                             */

struct side;

/* Capacities of the arrays in tlsgen_result, kept out of its API. */
struct caps {
	size_t data[2], chunks[2], steps, plain, msgs, keylog;
};

struct run {
	const struct tlsgen_opts *o;
	struct tlsgen_result *r;
	struct caps caps;
	int oom;
	struct side *sides[2];
};

struct side {
	struct run *run;
	int from_server;
	SSL *ssl;
	BIO *bio;    /* this side's end of the pair */
	int hs_done; /* first SSL_do_handshake returned 1 */
	int early;   /* 0-RTT still to write (client) or read (server) */
	int closing; /* SSL_shutdown until it returns 1 */
	int closed;
	int active;	    /* serviced in the drive loop */
	const uint8_t *out; /* application data still to write */
	size_t out_len, out_done;
	size_t in_got;		/* application data read */
	int eof;		/* close_notify read */
	int fin_sent, fin_recv; /* Finished messages */
};

/* Returns a, grown to hold need elements of size sz; on failure a as
 * it was, and *oom set (checked once per drive round). */
static void *grow(void *a, size_t *cap, size_t need, size_t sz, int *oom)
{
	size_t c = *cap ? *cap : 64;
	void *na;

	if (need <= *cap)
		return a;
	while (c < need)
		c *= 2;
	na = realloc(a, c * sz);
	if (na == NULL) {
		*oom = 1;
		return a;
	}
	*cap = c;
	return na;
}

#define GROW(run, arr, cap, need)                                              \
	((arr) = grow((arr), &(cap), (need), sizeof(*(arr)), &(run)->oom),     \
	 !(run)->oom)

static void capture(struct run *run, int from_server, const uint8_t *p,
		    size_t n)
{
	struct tlsgen_result *r = run->r;
	struct tlsgen_stream *s = from_server ? &r->s2c : &r->c2s;
	struct caps *c = &run->caps;

	if (n == 0)
		return;
	if (!GROW(run, s->data, c->data[from_server], s->len + n) ||
	    !GROW(run, s->chunk_ends, c->chunks[from_server], s->nchunks + 1) ||
	    !GROW(run, r->steps, c->steps, r->nsteps + 1))
		return;
	memcpy(s->data + s->len, p, n);
	r->steps[r->nsteps].from_server = from_server;
	r->steps[r->nsteps].off = s->len;
	r->steps[r->nsteps].len = n;
	r->nsteps++;
	s->len += n;
	s->chunk_ends[s->nchunks++] = s->len;
}

static long bio_cb(BIO *b, int oper, const char *argp, size_t len, int argi,
		   long argl, int ret, size_t *processed)
{
	struct side *sd = (struct side *)BIO_get_callback_arg(b);

	(void)len;
	(void)argi;
	(void)argl;
	if (oper == (BIO_CB_WRITE | BIO_CB_RETURN) && ret > 0 &&
	    processed != NULL && sd != NULL)
		capture(sd->run, sd->from_server, (const uint8_t *)argp,
			*processed);
	return ret;
}

static void msg_cb(int write_p, int version, int content_type, const void *buf,
		   size_t len, SSL *ssl, void *arg)
{
	struct side *sd = arg;
	struct run *run = sd->run;
	struct tlsgen_result *r = run->r;
	struct caps *c = &run->caps;
	struct tlsgen_msg *m;

	(void)version;
	(void)ssl;
	/* A handshake is complete on a side once it has sent and received
	 * a Finished.  (SSL_CB_HANDSHAKE_DONE is no such count: OpenSSL
	 * also signals it for a HelloRequest sent or refused.) */
	if (content_type == SSL3_RT_HANDSHAKE && len > 0 &&
	    ((const uint8_t *)buf)[0] == SSL3_MT_FINISHED) {
		if (write_p)
			sd->fin_sent++;
		else
			sd->fin_recv++;
		r->handshakes[sd->from_server] = sd->fin_sent < sd->fin_recv
							 ? sd->fin_sent
							 : sd->fin_recv;
	}
	/* Only what this side sends, so each message is kept once; record
	 * headers and TLS 1.3 inner content types come through here too. */
	if (!write_p || (content_type != SSL3_RT_CHANGE_CIPHER_SPEC &&
			 content_type != SSL3_RT_ALERT &&
			 content_type != SSL3_RT_HANDSHAKE))
		return;
	if (!GROW(run, r->plain, c->plain, r->plain_len + len) ||
	    !GROW(run, r->msgs, c->msgs, r->nmsgs + 1))
		return;
	m = &r->msgs[r->nmsgs++];
	m->from_server = sd->from_server;
	m->content_type = (uint8_t)content_type;
	m->off = r->plain_len;
	m->len = len;
	memcpy(r->plain + r->plain_len, buf, len);
	r->plain_len += len;
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	struct side *sd = SSL_get_app_data(ssl);
	if (sd == NULL)
		return; /* the uncaptured handshake of a resumption */
	struct run *run = sd->run;
	struct tlsgen_result *r = run->r;
	size_t n = strlen(line);

	/* +2: the newline and a terminating NUL. */
	if (!GROW(run, r->keylog, run->caps.keylog, r->keylog_len + n + 2))
		return;
	memcpy(r->keylog + r->keylog_len, line, n);
	r->keylog_len += n;
	r->keylog[r->keylog_len++] = '\n';
	r->keylog[r->keylog_len] = '\0';
}

/* OpenSSL 3's legacy provider (SEED, RC4, DES), with the default one,
 * into the default library context: once, until tlsgen_cleanup(). */
static int legacy_load(void)
{
	int ok;

	pthread_mutex_lock(&chain_lock);
	if (!providers[0]) {
		providers[0] = OSSL_PROVIDER_load(NULL, "default");
		providers[1] = OSSL_PROVIDER_load(NULL, "legacy");
		ERR_clear_error();
	}
	ok = providers[0] && providers[1];
	pthread_mutex_unlock(&chain_lock);
	return ok ? 0 : -1;
}

/* Tests ask for a chain that verifies, not for an expiry check. */
static int verify_accept(int preverify_ok, X509_STORE_CTX *x)
{
	(void)preverify_ok;
	(void)x;
	return 1;
}

static int alpn_select(SSL *ssl, const unsigned char **out,
		       unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	const unsigned char *mine = arg;
	unsigned char *sel;

	(void)ssl;
	/* The server supports the same list as the client and prefers its
	 * own order, as servers do. */
	if (SSL_select_next_proto(&sel, outlen, mine + 1, mine[0], in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* ------------------------------------------------------------------ */
/* Driving the two sides                                               */

__attribute__((format(printf, 2, 3))) static void
set_error(struct run *run, const char *fmt, ...)
{
	struct tlsgen_result *r = run->r;
	unsigned long e;
	va_list ap;
	size_t n;

	if (r->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	n = strlen(r->error);
	while ((e = ERR_get_error()) != 0 && n + 3 < sizeof(r->error)) {
		r->error[n++] = ';';
		r->error[n++] = ' ';
		ERR_error_string_n(e, r->error + n, sizeof(r->error) - n);
		n = strlen(r->error);
	}
}

/* A fatal error on one side.  The thread's error queue is emptied so
 * that SSL_get_error() on the other side does not read it as its own. */
static void side_fail(struct side *sd, int rc, const char *what)
{
	struct tlsgen_result *r = sd->run->r;
	unsigned long e = ERR_peek_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;

	r->failed[sd->from_server] = 1;
	if (r->reason[sd->from_server][0] == '\0')
		snprintf(r->reason[sd->from_server], sizeof(r->reason[0]),
			 "%s: %s (SSL_get_error %d)", what,
			 why ? why : "no reason", SSL_get_error(sd->ssl, rc));
	ERR_clear_error();
}

/* SSL_ERROR_WANT_*: not a failure, just nothing to do yet. */
static int want_more(struct side *sd, int rc)
{
	int e = SSL_get_error(sd->ssl, rc);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

static void service(struct side *sd)
{
	struct tlsgen_result *r = sd->run->r;
	uint8_t buf[16384];
	int rc;

	if (r->failed[sd->from_server] || sd->closed || !sd->active)
		return;
	if (sd->early && !sd->from_server) {
		size_t w;

		ERR_clear_error();
		rc = SSL_write_early_data(sd->ssl, sd->out, sd->out_len, &w);
		if (rc == 1) {
			sd->early = 0;
			sd->out_done = w;
		} else if (!want_more(sd, rc)) {
			side_fail(sd, rc, "write early data");
		}
		return;
	}
	while (sd->early && sd->from_server) {
		size_t n;

		ERR_clear_error();
		rc = SSL_read_early_data(sd->ssl, buf, sizeof(buf), &n);
		if (rc == SSL_READ_EARLY_DATA_SUCCESS) {
			r->early_read += n;
			continue;
		}
		if (rc == SSL_READ_EARLY_DATA_FINISH)
			sd->early = 0;
		else if (!want_more(sd, rc))
			side_fail(sd, rc, "read early data");
		if (sd->early)
			return;
	}
	if (!sd->hs_done) {
		ERR_clear_error();
		rc = SSL_do_handshake(sd->ssl);
		if (rc == 1)
			sd->hs_done = 1;
		else if (!want_more(sd, rc))
			side_fail(sd, rc, "handshake");
		if (!sd->hs_done)
			return;
	}
	if (sd->closing) {
		ERR_clear_error();
		rc = SSL_shutdown(sd->ssl);
		if (rc == 1)
			sd->closed = 1;
		else if (rc < 0 && !want_more(sd, rc))
			side_fail(sd, rc, "shutdown");
		return;
	}
	while (sd->out_done < sd->out_len) {
		size_t w;

		ERR_clear_error();
		/* On WANT_* the retry must pass the same buffer, which it
		 * does: out_done only moves on success. */
		rc = SSL_write_ex(sd->ssl, sd->out + sd->out_done,
				  sd->out_len - sd->out_done, &w);
		if (rc == 1) {
			sd->out_done += w;
			continue;
		}
		if (!want_more(sd, rc))
			side_fail(sd, rc, "write");
		if (r->failed[sd->from_server])
			return;
		break;
	}
	/* Always read: it is how a side processes whatever arrived, from
	 * session tickets and alerts to a HelloRequest. */
	for (;;) {
		size_t n;

		ERR_clear_error();
		rc = SSL_read_ex(sd->ssl, buf, sizeof(buf), &n);
		if (rc == 1) {
			sd->in_got += n;
			continue;
		}
		if (SSL_get_error(sd->ssl, rc) == SSL_ERROR_ZERO_RETURN)
			sd->eof = 1;
		else if (!want_more(sd, rc))
			side_fail(sd, rc, "read");
		break;
	}
}

static uint64_t bio_traffic(struct side *const *sd)
{
	return BIO_number_read(sd[0]->bio) + BIO_number_written(sd[0]->bio) +
	       BIO_number_read(sd[1]->bio) + BIO_number_written(sd[1]->bio);
}

/* Services both sides, client first, until a round moves no byte in or
 * out of either end: then all that was written has been read and nothing
 * more will happen without a new action. */
static int drive(struct run *run)
{
	struct side **sd = run->sides;
	struct tlsgen_result *r = run->r;

	for (int round = 0; round < 10000; round++) {
		uint64_t before = bio_traffic(sd);

		service(sd[0]);
		service(sd[1]);
		if (sd[0]->hs_done && sd[1]->hs_done && r->hs_end[0] == 0 &&
		    r->hs_end[1] == 0) {
			r->hs_end[0] = r->c2s.len;
			r->hs_end[1] = r->s2c.len;
		}
		if (run->oom) {
			set_error(run, "%s", "out of memory");
			return -1;
		}
		if (bio_traffic(sd) == before)
			return 0;
	}
	set_error(run, "%s", "the exchange did not settle");
	return -1;
}

/* Application data: a line of text repeated, easy to spot in a dump. */
static uint8_t *app_data(int from_server, size_t n)
{
	static const char cli[] = "tlstrace client data\n";
	static const char srv[] = "tlstrace server data\n";
	const char *pat = from_server ? srv : cli;
	size_t plen = sizeof(cli) - 1;
	uint8_t *p = malloc(n ? n : 1);

	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)pat[i % plen];
	return p;
}

/* The client writes, the server reads it all; then the other way. */
static int exchange(struct run *run, size_t n)
{
	struct side **sd = run->sides;
	struct tlsgen_result *r = run->r;
	uint8_t *data[2] = {app_data(0, n), app_data(1, n)};
	int rc = -1;

	if (data[0] == NULL || data[1] == NULL) {
		set_error(run, "%s", "out of memory");
		goto out;
	}
	for (int w = 0; w < 2; w++) {
		size_t got = sd[!w]->in_got;

		sd[w]->out = data[w];
		sd[w]->out_len = n;
		sd[w]->out_done = 0;
		if (drive(run) != 0)
			goto out;
		if (r->failed[0] || r->failed[1] || sd[!w]->in_got - got != n) {
			set_error(run, "%s application data not delivered",
				  w ? "server" : "client");
			goto out;
		}
		sd[w]->out = NULL;
		sd[w]->out_len = sd[w]->out_done = 0;
	}
	rc = 0;
out:
	free(data[0]);
	free(data[1]);
	return rc;
}

static int renegotiate(struct run *run)
{
	const struct tlsgen_opts *o = run->o;
	struct tlsgen_result *r = run->r;
	struct side **sd = run->sides;
	int mode = SSL_VERIFY_PEER;
	int rc;

	/* As `s_server` command R and IIS: the server asks for a client
	 * certificate this time; no resumption, so a full handshake. */
	if (o->mtls)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_set_verify(sd[1]->ssl, mode, verify_accept);
	ERR_clear_error();
	if (!SSL_renegotiate(sd[1]->ssl)) {
		set_error(run, "%s failed", "SSL_renegotiate");
		return -1;
	}
	/* Sends the HelloRequest and returns; the rest of the handshake
	 * happens inside SSL_read() on both sides. */
	rc = SSL_do_handshake(sd[1]->ssl);
	if (rc != 1 && !want_more(sd[1], rc)) {
		set_error(run, "%s failed", "SSL_do_handshake (HelloRequest)");
		return -1;
	}
	if (o->client_refuses_reneg && o->server_resets_on_refusal)
		sd[1]->active = 0;
	if (drive(run) != 0)
		return -1;
	if (o->client_refuses_reneg) {
		/* OpenSSL's server turns the warning into a fatal
		 * handshake_failure; the IIS stand-in just stops. */
		if (r->handshakes[0] != 1 ||
		    (!o->server_resets_on_refusal && !r->failed[1])) {
			set_error(run, "%s", "renegotiation was not refused");
			return -1;
		}
		return 0;
	}
	if (r->failed[0] || r->failed[1] || r->handshakes[0] != 2 ||
	    r->handshakes[1] != 2 || SSL_renegotiate_pending(sd[1]->ssl)) {
		set_error(run, "%s", "renegotiation did not complete");
		return -1;
	}
	if (o->app_bytes > 0)
		return exchange(run, (size_t)o->app_bytes);
	return 0;
}

static int shutdown_both(struct run *run)
{
	struct side **sd = run->sides;
	struct tlsgen_result *r = run->r;

	/* The client closes first, as an HTTP client does. */
	sd[0]->closing = 1;
	if (drive(run) != 0)
		return -1;
	sd[1]->closing = 1;
	if (drive(run) != 0)
		return -1;
	if (!sd[0]->closed || !sd[1]->closed || r->failed[0] || r->failed[1]) {
		set_error(run, "%s", "close_notify exchange did not complete");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Contexts                                                            */

static int alpn_wire(const char *list, unsigned char *out, size_t cap,
		     size_t *outlen)
{
	size_t n = 0;

	while (*list != '\0') {
		size_t l = strcspn(list, ",");

		if (l == 0 || l > 255 || n + 1 + l > cap)
			return 0;
		out[n++] = (unsigned char)l;
		memcpy(out + n, list, l);
		n += l;
		list += l;
		if (*list == ',')
			list++;
	}
	*outlen = n;
	return n > 0;
}

static int early_no(SSL *ssl, void *arg)
{
	(void)ssl;
	(void)arg;
	return 0;
}

static SSL_CTX *make_ctx(struct run *run, int server, unsigned char *alpn)
{
	const struct tlsgen_opts *o = run->o;
	int me = server ? TLSGEN_CERT_SERVER : TLSGEN_CERT_CLIENT;
	if (server && o->server_key == TLSGEN_KEY_RSA)
		me = CERT_SERVER_RSA;
	else if (server && o->server_key == TLSGEN_KEY_DSA)
		me = CERT_SERVER_DSA;
	const char *groups = server ? o->server_groups : o->client_groups;
	X509_VERIFY_PARAM *vp;
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL)
		return NULL;
	if (o->version != 0 &&
	    (!SSL_CTX_set_min_proto_version(ctx, o->version) ||
	     !SSL_CTX_set_max_proto_version(ctx, o->version)))
		goto fail;
	if (o->cipher != NULL && !SSL_CTX_set_cipher_list(ctx, o->cipher))
		goto fail;
	/* as `s_client -no_etm` */
	if (o->no_etm && !server)
		SSL_CTX_set_options(ctx, SSL_OP_NO_ENCRYPT_THEN_MAC);
	if (o->ciphersuites != NULL &&
	    !SSL_CTX_set_ciphersuites(ctx, o->ciphersuites))
		goto fail;
	if (groups != NULL && !SSL_CTX_set1_groups_list(ctx, groups))
		goto fail;
	if ((server || o->client_sends_cert) &&
	    (!SSL_CTX_use_certificate(ctx, chain.cert[me]) ||
	     !SSL_CTX_use_PrivateKey(ctx, chain.key[me]) ||
	     !SSL_CTX_add1_chain_cert(ctx, chain.cert[TLSGEN_CERT_INTER])))
		goto fail;
	if (!X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx),
				 chain.cert[TLSGEN_CERT_ROOT]))
		goto fail;
	/* Verify as of a fixed date inside the validity period, so that
	 * verify[] does not depend on the clock. */
	vp = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(vp, (time_t)1893456000); /* 2030-01-01 */
	if (server) {
		if (o->mtls)
			SSL_CTX_set_verify(
				ctx,
				SSL_VERIFY_PEER |
					SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				verify_accept);
		if (o->ca_names != TLSGEN_CA_NONE) {
			STACK_OF(X509_NAME) *sk = sk_X509_NAME_new_null();
			int ok = sk != NULL;

			for (int i = TLSGEN_CERT_INTER;
			     ok && i >= TLSGEN_CERT_ROOT; i--) {
				X509_NAME *n = X509_NAME_dup(
					X509_get_subject_name(chain.cert[i]));

				ok = n != NULL && sk_X509_NAME_push(sk, n);
				if (!ok)
					X509_NAME_free(n);
			}
			if (!ok) {
				sk_X509_NAME_pop_free(sk, X509_NAME_free);
				goto fail;
			}
			SSL_CTX_set_client_CA_list(ctx, sk);
		}
		/* a DSA key signs for DHE only: DH parameters as s_server
		 * has them */
		if (o->server_key == TLSGEN_KEY_DSA)
			SSL_CTX_set_dh_auto(ctx, 1);
		if (o->ca_names == TLSGEN_CA_DISABLED)
			SSL_CTX_set_options(ctx,
					    SSL_OP_DISABLE_TLSEXT_CA_NAMES);
		if (o->renegotiate)
			SSL_CTX_set_options(
				ctx,
				SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
		if (alpn != NULL)
			SSL_CTX_set_alpn_select_cb(ctx, alpn_select, alpn);
		if (o->early_data) {
			/* the tickets of the priming handshake allow 0-RTT */
			SSL_CTX_set_max_early_data(ctx, 16384);
			SSL_CTX_set_recv_max_early_data(ctx, 16384);
			if (o->early_reject)
				SSL_CTX_set_allow_early_data_cb(ctx, early_no,
								NULL);
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_accept);
		if (o->client_refuses_reneg)
			SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
		/* The client logs the secrets, as curl does with
		 * SSLKEYLOGFILE; the server would log the same ones. */
		SSL_CTX_set_keylog_callback(ctx, keylog_cb);
		/* early data in several records */
		if (o->early_data)
			SSL_CTX_set_max_send_fragment(ctx, 512);
		if (alpn != NULL &&
		    SSL_CTX_set_alpn_protos(ctx, alpn + 1, alpn[0]) != 0)
			goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* A full handshake between the two contexts, uncaptured, for a session
 * the captured one resumes.  NULL on failure. */
static SSL_SESSION *prime_session(SSL_CTX *const *ctx)
{
	SSL *ssl[2] = {SSL_new(ctx[0]), SSL_new(ctx[1])};
	BIO *b0 = NULL, *b1 = NULL;
	SSL_SESSION *sess = NULL;
	int done[2] = {0, 0};

	if (ssl[0] == NULL || ssl[1] == NULL ||
	    !BIO_new_bio_pair(&b0, 1 << 16, &b1, 1 << 16))
		goto out;
	SSL_set_bio(ssl[0], b0, b0);
	SSL_set_bio(ssl[1], b1, b1);
	SSL_set_connect_state(ssl[0]);
	SSL_set_accept_state(ssl[1]);
	for (int round = 0; round < 100 && !(done[0] && done[1]); round++)
		for (int i = 0; i < 2; i++)
			if (!done[i])
				done[i] = SSL_do_handshake(ssl[i]) == 1;
	if (!(done[0] && done[1]))
		goto out;
	/* TLS 1.3 tickets come after the handshake: the client reads them */
	unsigned char buf[64];
	(void)SSL_read(ssl[0], buf, sizeof(buf));
	sess = SSL_get1_session(ssl[0]);
	/* a session freed without a shutdown would leave the cache */
	for (int i = 0; i < 2; i++)
		SSL_set_shutdown(ssl[i],
				 SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
out:
	SSL_free(ssl[0]);
	SSL_free(ssl[1]);
	ERR_clear_error();
	return sess;
}

static void fill_outcome(struct run *run)
{
	struct tlsgen_result *r = run->r;
	SSL *c = run->sides[0]->ssl;
	SSL *s = run->sides[1]->ssl;
	const SSL_CIPHER *ci = SSL_get_current_cipher(c);
	const STACK_OF(X509_NAME) *cas = SSL_get0_peer_CA_list(c);
	const unsigned char *proto;
	unsigned int plen;

	/* Known once the client has read a ServerHello, even if the
	 * handshake then failed; before that it is TLS_ANY_VERSION. */
	r->version = SSL_version(c);
	r->resumed = SSL_session_reused(c);
	r->early_status = SSL_get_early_data_status(c);
	if (r->version < SSL3_VERSION || r->version > TLS1_3_VERSION)
		r->version = 0;
	if (ci != NULL && SSL_CIPHER_standard_name(ci) != NULL)
		snprintf(r->cipher, sizeof(r->cipher), "%s",
			 SSL_CIPHER_standard_name(ci));
	SSL_get0_alpn_selected(c, &proto, &plen);
	if (plen > 0 && plen < sizeof(r->alpn)) {
		memcpy(r->alpn, proto, plen);
		r->alpn[plen] = '\0';
	}
	r->peer_ca_count = cas != NULL ? sk_X509_NAME_num(cas) : -1;
	r->verify[0] = SSL_get_verify_result(c);
	r->verify[1] = SSL_get_verify_result(s);
}

int tlsgen_run(const struct tlsgen_opts *o, struct tlsgen_result *r)
{
	struct run st;
	struct run *run = &st;
	struct side side[2];
	unsigned char alpn[256];
	size_t alpn_len;
	SSL_CTX *ctx[2] = {NULL, NULL};
	BIO *bio[2] = {NULL, NULL};
	int expect_hs_fail = o->mtls && !o->client_sends_cert;
	uint8_t *early_buf = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	memset(&st, 0, sizeof(st));
	memset(side, 0, sizeof(side));
	r->peer_ca_count = -1;
	run->o = o;
	run->r = r;
	ERR_clear_error();

	if (o->renegotiate && o->version != TLSGEN_TLS12) {
		set_error(run, "%s", "renegotiate needs version TLS 1.2");
		return -1;
	}
	if (chain_get() != 0) {
		set_error(run, "%s", "cannot make the certificate chain");
		return -1;
	}
	if (o->server_key != TLSGEN_KEY_EC &&
	    alt_get(o->server_key == TLSGEN_KEY_RSA ? CERT_SERVER_RSA
						    : CERT_SERVER_DSA) != 0) {
		set_error(run, "%s", "cannot make the server's RSA or DSA key");
		return -1;
	}
	if (o->legacy && legacy_load() != 0) {
		set_error(run, "%s", "OpenSSL's legacy provider is not there");
		return -1;
	}
	if (o->alpn != NULL &&
	    !alpn_wire(o->alpn, alpn + 1, sizeof(alpn) - 1, &alpn_len)) {
		set_error(run, "bad ALPN list \"%s\"", o->alpn);
		return -1;
	}
	alpn[0] = (unsigned char)(o->alpn != NULL ? alpn_len : 0);

	for (int i = 0; i < 2; i++) {
		side[i].run = run;
		side[i].from_server = i;
		side[i].active = 1;
		run->sides[i] = &side[i];
		ctx[i] = make_ctx(run, i, o->alpn != NULL ? alpn : NULL);
		if (ctx[i] == NULL) {
			set_error(run, "cannot set up the %s context",
				  i ? "server" : "client");
			goto out;
		}
		side[i].ssl = SSL_new(ctx[i]);
		if (side[i].ssl == NULL) {
			set_error(run, "%s failed", "SSL_new");
			goto out;
		}
		SSL_set_app_data(side[i].ssl, &side[i]);
		SSL_set_msg_callback(side[i].ssl, msg_cb);
		SSL_set_msg_callback_arg(side[i].ssl, &side[i]);
	}
	if (o->resume) {
		SSL_SESSION *sess = prime_session(ctx);
		int ok = sess != NULL && SSL_set_session(side[0].ssl, sess);

		SSL_SESSION_free(sess);
		if (!ok) {
			set_error(run, "%s", "no session to resume");
			goto out;
		}
	}
	if (o->early_data) {
		if (!o->resume) {
			set_error(run, "%s", "early_data needs resume");
			goto out;
		}
		early_buf = app_data(0, (size_t)o->early_data);
		side[0].out = early_buf;
		side[0].out_len = (size_t)o->early_data;
		if (early_buf == NULL) {
			set_error(run, "%s", "out of memory");
			goto out;
		}
		side[0].early = side[1].early = 1;
	}
	SSL_set_connect_state(side[0].ssl);
	SSL_set_accept_state(side[1].ssl);
	if (o->sni != NULL && !SSL_set_tlsext_host_name(side[0].ssl, o->sni)) {
		set_error(run, "%s failed", "SSL_set_tlsext_host_name");
		goto out;
	}
	/* Room for any flight; a full pair only delays a writer anyway. */
	if (!BIO_new_bio_pair(&bio[0], 1 << 16, &bio[1], 1 << 16)) {
		set_error(run, "%s failed", "BIO_new_bio_pair");
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		BIO_set_callback_ex(bio[i], bio_cb);
		BIO_set_callback_arg(bio[i], (char *)&side[i]);
		side[i].bio = bio[i];
		SSL_set_bio(side[i].ssl, bio[i], bio[i]);
	}

	if (drive(run) != 0)
		goto out;
	side[0].out = NULL;
	side[0].out_len = side[0].out_done = 0;
	if (expect_hs_fail) {
		if (!r->failed[1]) {
			set_error(
				run, "%s",
				"server accepted a client without certificate");
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (r->failed[0] || r->failed[1] || !side[0].hs_done ||
	    !side[1].hs_done) {
		set_error(run, "handshake failed: %s",
			  r->reason[r->failed[0] ? 0 : 1]);
		goto out;
	}
	if (o->app_bytes > 0 && exchange(run, (size_t)o->app_bytes) != 0)
		goto out;
	if (o->renegotiate && renegotiate(run) != 0)
		goto out;
	if (o->close_notify && !r->failed[0] && !r->failed[1] &&
	    !(o->renegotiate && o->client_refuses_reneg) &&
	    shutdown_both(run) != 0)
		goto out;
	rc = 0;
out:
	if (side[0].ssl != NULL && side[1].ssl != NULL)
		fill_outcome(run);
	if (rc != 0 && r->error[0] == '\0')
		set_error(run, "%s", "failed");
	/* Each SSL owns its end of the pair.  The callbacks point into
	 * this frame: nothing captured while freeing is wanted. */
	for (int i = 0; i < 2; i++)
		if (bio[i] != NULL)
			BIO_set_callback_ex(bio[i], NULL);
	for (int i = 0; i < 2; i++) {
		SSL_free(side[i].ssl);
		SSL_CTX_free(ctx[i]);
	}
	free(early_buf);
	ERR_clear_error();
	return rc;
}

void tlsgen_free(struct tlsgen_result *r)
{
	free(r->c2s.data);
	free(r->c2s.chunk_ends);
	free(r->s2c.data);
	free(r->s2c.chunk_ends);
	free(r->steps);
	free(r->plain);
	free(r->msgs);
	free(r->keylog);
	memset(r, 0, sizeof(*r));
}

int tlsgen_next_record(const struct tlsgen_stream *s, size_t *off,
		       struct tlsgen_record *rec)
{
	size_t o = *off;
	size_t len;

	if (o >= s->len)
		return 0;
	if (s->len - o < 5)
		return -1;
	len = (size_t)s->data[o + 3] << 8 | s->data[o + 4];
	if (s->len - o - 5 < len)
		return -1;
	rec->type = s->data[o];
	rec->version = (uint16_t)(s->data[o + 1] << 8 | s->data[o + 2]);
	rec->off = o;
	rec->body = s->data + o + 5;
	rec->len = len;
	*off = o + 5 + len;
	return 1;
}
