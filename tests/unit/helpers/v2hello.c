/* A TLS 1.2 exchange after an SSLv2-compatible ClientHello: see
 * v2hello.h.  The server is OpenSSL behind two memory BIOs; the client
 * side is written out here (RFC 5246 5, 6.3, 7.4.7.1, 7.4.9, 8.1, E.2;
 * RFC 5288 3).
 */
#include "v2hello.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define SUITE 0x009c /* TLS_RSA_WITH_AES_128_GCM_SHA256 */

struct run {
	struct tlsgen_result *r;
	SSL *ssl;
	BIO *in, *out; /* the server's read and write BIOs */
	uint8_t *transcript;
	size_t tlen, tcap;
	uint8_t crandom[32], srandom[32], ms[48];
	uint8_t ckey[16], civ[4];
	uint64_t seq;
	int oom;
};

static void fail_msg(struct run *run, const char *fmt, ...)
{
	if (run->r->error[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(run->r->error, sizeof(run->r->error), fmt, ap);
	va_end(ap);
	unsigned long e = ERR_peek_error();
	if (e) {
		size_t n = strlen(run->r->error);
		snprintf(run->r->error + n, sizeof(run->r->error) - n, ": %s",
			 ERR_reason_error_string(e));
	}
}

static void append(struct run *run, uint8_t **buf, size_t *len, size_t *cap,
		   const uint8_t *p, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 1024;
		while (c < *len + n)
			c *= 2;
		uint8_t *nb = realloc(*buf, c);
		if (!nb) {
			run->oom = 1;
			return;
		}
		*buf = nb;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
}

static void transcript_add(struct run *run, const uint8_t *p, size_t n)
{
	append(run, &run->transcript, &run->tlen, &run->tcap, p, n);
}

/* One write of one side, captured as tlsgen captures them. */
static void capture(struct run *run, int from_server, const uint8_t *p,
		    size_t n)
{
	struct tlsgen_result *r = run->r;
	struct tlsgen_stream *st = from_server ? &r->s2c : &r->c2s;
	size_t off = st->len, cap = off, scap = r->nsteps;
	append(run, &st->data, &st->len, &cap, p, n);
	uint8_t *ends = (uint8_t *)st->chunk_ends;
	size_t elen = st->nchunks * sizeof(size_t), ecap = elen;
	size_t end = st->len;
	append(run, &ends, &elen, &ecap, (const uint8_t *)&end, sizeof(end));
	st->chunk_ends = (size_t *)ends;
	st->nchunks = elen / sizeof(size_t);
	struct tlsgen_step s = {.from_server = from_server,
				.off = off,
				.len = n};
	uint8_t *steps = (uint8_t *)r->steps;
	size_t slen = r->nsteps * sizeof(s);
	scap *= sizeof(s);
	append(run, &steps, &slen, &scap, (const uint8_t *)&s, sizeof(s));
	r->steps = (struct tlsgen_step *)steps;
	r->nsteps = slen / sizeof(s);
}

/* The client's bytes, to the server. */
static void client_write(struct run *run, const uint8_t *p, size_t n)
{
	capture(run, 0, p, n);
	if (BIO_write(run->in, p, (int)n) != (int)n)
		fail_msg(run, "BIO_write");
}

/* What the server wrote since last time, as one write. */
static void server_flush(struct run *run)
{
	uint8_t buf[16384];
	uint8_t *all = NULL;
	size_t len = 0, cap = 0;
	int n;
	while ((n = BIO_read(run->out, buf, sizeof(buf))) > 0)
		append(run, &all, &len, &cap, buf, (size_t)n);
	if (len)
		capture(run, 1, all, len);
	free(all);
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	struct run *run = SSL_get_app_data(ssl);
	size_t cap = run->r->keylog_len;
	uint8_t *k = (uint8_t *)run->r->keylog;
	append(run, &k, &run->r->keylog_len, &cap, (const uint8_t *)line,
	       strlen(line));
	append(run, &k, &run->r->keylog_len, &cap, (const uint8_t *)"\n", 1);
	run->r->keylog = (char *)k;
}

/* The TLS 1.2 PRF with SHA-256: P_SHA256(secret, label + s1 + s2). */
static int prf(const uint8_t *secret, size_t slen, const char *label,
	       const uint8_t *s1, size_t n1, const uint8_t *s2, size_t n2,
	       uint8_t *out, size_t olen)
{
	uint8_t seed[128];
	size_t ll = strlen(label);
	if (ll + n1 + n2 > sizeof(seed))
		return 0;
	memcpy(seed, label, ll);
	memcpy(seed + ll, s1, n1);
	if (n2)
		memcpy(seed + ll + n1, s2, n2);
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
						  (void *)secret, slen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed,
						  ll + n1 + n2),
		OSSL_PARAM_construct_end(),
	};
	int ok = kctx && EVP_KDF_derive(kctx, out, olen, p) == 1;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok;
}

/* One record the client sends after its ChangeCipherSpec, into out
 * (5 + 8 + n + 16 bytes): AES-128-GCM with the sequence number as the
 * 8-byte explicit nonce (RFC 5288 3).  Returns its length, or 0. */
static size_t seal(struct run *run, uint8_t type, const uint8_t *p, size_t n,
		   uint8_t *out)
{
	uint8_t nonce[12], aad[13];
	memcpy(nonce, run->civ, 4);
	for (int i = 0; i < 8; i++) {
		nonce[4 + i] = (uint8_t)(run->seq >> (56 - 8 * i));
		aad[i] = nonce[4 + i];
	}
	aad[8] = type;
	aad[9] = 3;
	aad[10] = 3;
	aad[11] = (uint8_t)(n >> 8);
	aad[12] = (uint8_t)n;
	size_t clen = 8 + n + 16;
	out[0] = type;
	out[1] = 3;
	out[2] = 3;
	out[3] = (uint8_t)(clen >> 8);
	out[4] = (uint8_t)clen;
	memcpy(out + 5, nonce + 4, 8);
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	int len = 0;
	int ok = cx &&
		 EVP_EncryptInit_ex(cx, EVP_aes_128_gcm(), NULL, run->ckey,
				    nonce) == 1 &&
		 EVP_EncryptUpdate(cx, NULL, &len, aad, 13) == 1 &&
		 EVP_EncryptUpdate(cx, out + 13, &len, p, (int)n) == 1 &&
		 EVP_EncryptFinal_ex(cx, out + 13 + len, &len) == 1 &&
		 EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, 16,
				     out + 13 + n) == 1;
	EVP_CIPHER_CTX_free(cx);
	if (!ok) {
		fail_msg(run, "AES-GCM");
		return 0;
	}
	run->seq++;
	return 5 + clen;
}

/* A sealed record of at most 256 bytes as one write of the client. */
static void client_sealed(struct run *run, uint8_t type, const uint8_t *p,
			  size_t n)
{
	uint8_t rec[5 + 8 + 256 + 16];
	size_t len = n <= 256 ? seal(run, type, p, n, rec) : 0;
	if (len)
		client_write(run, rec, len);
	else
		fail_msg(run, "record not sealed");
}

/* The SSLv2-compatible ClientHello; its message (from msg_type on)
 * starts the transcript (RFC 5246 E.2). */
static void client_hello(struct run *run, size_t chal_len)
{
	static const uint8_t specs[] = {
		0x00, 0x00, 0x9c, /* TLS_RSA_WITH_AES_128_GCM_SHA256 */
		0x01, 0x00, 0x80, /* SSL_CK_RC4_128_WITH_MD5 */
		0x07, 0x00, 0xc0, /* SSL_CK_DES_192_EDE3_CBC_WITH_MD5 */
		0x00, 0x00, 0xff, /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV */
	};
	uint8_t msg[9 + sizeof(specs) + 32], rec[2 + sizeof(msg)];
	uint8_t chal[32];
	if (RAND_bytes(chal, (int)chal_len) != 1) {
		fail_msg(run, "RAND_bytes");
		return;
	}
	size_t n = 0;
	msg[n++] = 1; /* client_hello */
	msg[n++] = 3;
	msg[n++] = 3; /* TLS 1.2 */
	msg[n++] = 0;
	msg[n++] = sizeof(specs);
	msg[n++] = 0;
	msg[n++] = 0; /* no session id */
	msg[n++] = 0;
	msg[n++] = (uint8_t)chal_len;
	memcpy(msg + n, specs, sizeof(specs));
	n += sizeof(specs);
	memcpy(msg + n, chal, chal_len);
	n += chal_len;
	rec[0] = (uint8_t)(0x80 | n >> 8);
	rec[1] = (uint8_t)n;
	memcpy(rec + 2, msg, n);
	memset(run->crandom, 0, 32);
	memcpy(run->crandom + 32 - chal_len, chal, chal_len);
	transcript_add(run, msg, n);
	client_write(run, rec, 2 + n);
}

/* Reads the server's first flight (the s2c stream so far): the
 * ServerHello's random and suite, the key of the Certificate's leaf. */
static EVP_PKEY *server_flight(struct run *run)
{
	const struct tlsgen_stream *st = &run->r->s2c;
	uint8_t *hs = NULL;
	size_t hlen = 0, hcap = 0, off = 0;
	struct tlsgen_record rec;
	int rc;
	while ((rc = tlsgen_next_record(st, &off, &rec)) == 1) {
		if (rec.type != 22) {
			fail_msg(run, "server sent record type %u", rec.type);
			free(hs);
			return NULL;
		}
		append(run, &hs, &hlen, &hcap, rec.body, rec.len);
	}
	int done = 0;
	EVP_PKEY *key = NULL;
	for (size_t o = 0; rc == 0 && o + 4 <= hlen;) {
		uint8_t type = hs[o];
		size_t len = (size_t)hs[o + 1] << 16 | (size_t)hs[o + 2] << 8 |
			     hs[o + 3];
		const uint8_t *b = hs + o + 4;
		if (o + 4 + len > hlen)
			break;
		transcript_add(run, hs + o, 4 + len);
		if (type == 2 && len >= 38) { /* server_hello */
			memcpy(run->srandom, b + 2, 32);
			size_t sid = b[34];
			if (35 + sid + 2 > len ||
			    (b[35 + sid] << 8 | b[36 + sid]) != SUITE) {
				fail_msg(run, "unexpected ServerHello");
				break;
			}
		} else if (type == 11 && len > 6 && !key) { /* certificate */
			const uint8_t *der = b + 6;
			size_t n = (size_t)b[3] << 16 | (size_t)b[4] << 8 |
				   b[5];
			X509 *x = n <= len - 6 ? d2i_X509(NULL, &der, (long)n)
					       : NULL;
			key = x ? X509_get_pubkey(x) : NULL;
			X509_free(x);
		} else if (type == 14) {
			done = 1;
		}
		o += 4 + len;
	}
	free(hs);
	if (!done || !key) {
		fail_msg(run, "incomplete server flight");
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* ClientKeyExchange (the premaster secret encrypted to the server's RSA
 * key), ChangeCipherSpec and the encrypted Finished, in one write. */
static int client_finish(struct run *run)
{
	EVP_PKEY *key = server_flight(run);
	if (!key)
		return 0;
	/* RFC 5246 7.4.7.1: client_version, then 46 random bytes */
	uint8_t pms[48] = {3, 3};
	uint8_t enc[512];
	size_t elen = sizeof(enc);
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new(key, NULL);
	int ok = RAND_bytes(pms + 2, 46) == 1 && kc &&
		 EVP_PKEY_encrypt_init(kc) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(kc, RSA_PKCS1_PADDING) == 1 &&
		 EVP_PKEY_encrypt(kc, enc, &elen, pms, sizeof(pms)) == 1;
	EVP_PKEY_CTX_free(kc);
	EVP_PKEY_free(key);
	if (!ok) {
		fail_msg(run, "RSA encryption");
		return 0;
	}
	ok = prf(pms, sizeof(pms), "master secret", run->crandom, 32,
		 run->srandom, 32, run->ms, 48);
	OPENSSL_cleanse(pms, sizeof(pms));
	uint8_t kb[40];
	if (!ok || !prf(run->ms, 48, "key expansion", run->srandom, 32,
			run->crandom, 32, kb, sizeof(kb))) {
		fail_msg(run, "PRF");
		return 0;
	}
	memcpy(run->ckey, kb, 16);
	memcpy(run->civ, kb + 32, 4);

	uint8_t cke[4 + 2 + sizeof(enc)];
	size_t cl = 2 + elen;
	cke[0] = 16; /* client_key_exchange */
	cke[1] = 0;
	cke[2] = (uint8_t)(cl >> 8);
	cke[3] = (uint8_t)cl;
	cke[4] = (uint8_t)(elen >> 8);
	cke[5] = (uint8_t)elen;
	memcpy(cke + 6, enc, elen);
	transcript_add(run, cke, 4 + cl);

	uint8_t hash[32], fin[4 + 12] = {20, 0, 0, 12};
	if (run->oom ||
	    !EVP_Digest(run->transcript, run->tlen, hash, NULL, EVP_sha256(),
			NULL) ||
	    !prf(run->ms, 48, "client finished", hash, 32, NULL, 0, fin + 4,
		 12)) {
		fail_msg(run, "Finished");
		return 0;
	}
	/* one write, as a TLS library's buffering sends a flight */
	uint8_t flight[5 + sizeof(cke) + 6 + 5 + 8 + sizeof(fin) + 16];
	size_t n = 0;
	flight[n++] = 22;
	flight[n++] = 3;
	flight[n++] = 3;
	flight[n++] = (uint8_t)((4 + cl) >> 8);
	flight[n++] = (uint8_t)(4 + cl);
	memcpy(flight + n, cke, 4 + cl);
	n += 4 + cl;
	static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
	memcpy(flight + n, ccs, sizeof(ccs));
	n += sizeof(ccs);
	run->seq = 0;
	size_t sl = seal(run, 22, fin, sizeof(fin), flight + n);
	if (!sl)
		return 0;
	client_write(run, flight, n + sl);
	return 1;
}

/* An RSA key and a self-signed certificate for it, CN=localhost: the
 * tlsgen chain is EC, and an OpenSSL 3 server picks no ECDHE suite for a
 * client that sent no supported_groups (a hello in this form has no
 * extensions), so the suite is RSA key exchange. */
static int rsa_identity(X509 **cert, EVP_PKEY **key)
{
	*key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	*cert = X509_new();
	X509_NAME *name = X509_NAME_new();
	int ok = *key && *cert && name && X509_set_version(*cert, 2) &&
		 ASN1_INTEGER_set(X509_get_serialNumber(*cert), 0x2001) &&
		 X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					    (const unsigned char *)"localhost",
					    -1, -1, 0) &&
		 X509_set_subject_name(*cert, name) &&
		 X509_set_issuer_name(*cert, name) &&
		 ASN1_TIME_set_string(X509_getm_notBefore(*cert),
				      "20260101000000Z") &&
		 ASN1_TIME_set_string(X509_getm_notAfter(*cert),
				      "20360101000000Z") &&
		 X509_set_pubkey(*cert, *key) &&
		 X509_sign(*cert, *key, EVP_sha256()) > 0;
	X509_NAME_free(name);
	return ok;
}

static SSL_CTX *server_ctx(struct run *run)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	SSL_CTX *ctx = NULL;
	int ok = rsa_identity(&cert, &key) &&
		 (ctx = SSL_CTX_new(TLS_server_method())) != NULL &&
		 SSL_CTX_use_certificate(ctx, cert) &&
		 SSL_CTX_use_PrivateKey(ctx, key) &&
		 /* TLS 1.2 at most: a hello in this form cannot offer 1.3 */
		 SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) &&
		 /* security level 0: without signature_algorithms (no
		  * extensions here) TLS 1.2 falls back to SHA-1 for the
		  * certificate (RFC 5246 7.4.1.4.1), which OpenSSL 3 refuses
		  * from level 1 on */
		 SSL_CTX_set_cipher_list(ctx, "AES128-GCM-SHA256:@SECLEVEL=0");
	X509_free(cert);
	EVP_PKEY_free(key);
	if (!ok) {
		fail_msg(run, "server context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_keylog_callback(ctx, keylog_cb);
	return ctx;
}

int v2hello_run(const struct v2hello_opts *o, struct tlsgen_result *r)
{
	memset(r, 0, sizeof(*r));
	struct run run = {.r = r};
	if (o->chal_len < 16 || o->chal_len > 32 || o->app_bytes > 200) {
		fail_msg(&run, "bad options");
		return -1;
	}
	SSL_CTX *ctx = server_ctx(&run);
	if (!ctx)
		return -1;
	run.ssl = SSL_new(ctx);
	run.in = BIO_new(BIO_s_mem());
	run.out = BIO_new(BIO_s_mem());
	int rc = -1;
	if (!run.ssl || !run.in || !run.out) {
		BIO_free(run.in);
		BIO_free(run.out);
		fail_msg(&run, "SSL_new");
		goto out;
	}
	SSL_set_bio(run.ssl, run.in, run.out);
	SSL_set_app_data(run.ssl, &run);
	SSL_set_accept_state(run.ssl);

	client_hello(&run, o->chal_len);
	if (SSL_do_handshake(run.ssl) == 1) {
		fail_msg(&run, "handshake done after the hello");
		goto out;
	}
	server_flush(&run);
	if (!client_finish(&run))
		goto out;
	if (SSL_do_handshake(run.ssl) != 1) {
		fail_msg(&run, "server handshake");
		goto out;
	}
	server_flush(&run);
	r->hs_end[0] = r->c2s.len;
	r->hs_end[1] = r->s2c.len;
	r->handshakes[0] = r->handshakes[1] = 1;

	uint8_t ms[48];
	if (SSL_SESSION_get_master_key(SSL_get_session(run.ssl), ms, 48) !=
		    48 ||
	    memcmp(ms, run.ms, 48) != 0) {
		fail_msg(&run, "master secrets differ");
		goto out;
	}
	if (o->app_bytes) {
		uint8_t data[200], got[200];
		memset(data, 'a', o->app_bytes);
		client_sealed(&run, 23, data, o->app_bytes);
		if (SSL_read(run.ssl, got, sizeof(got)) != (int)o->app_bytes) {
			fail_msg(&run, "server read");
			goto out;
		}
	}
	static const uint8_t close_notify[] = {1, 0};
	client_sealed(&run, 21, close_notify, sizeof(close_notify));
	uint8_t b[16];
	if (SSL_read(run.ssl, b, sizeof(b)) != 0 ||
	    SSL_get_error(run.ssl, 0) != SSL_ERROR_ZERO_RETURN) {
		fail_msg(&run, "server did not see close_notify");
		goto out;
	}
	if (SSL_shutdown(run.ssl) < 0) {
		fail_msg(&run, "SSL_shutdown");
		goto out;
	}
	server_flush(&run);
	if (run.oom) {
		fail_msg(&run, "out of memory");
		goto out;
	}
	r->version = TLSGEN_TLS12;
	snprintf(r->cipher, sizeof(r->cipher), "%s",
		 "TLS_RSA_WITH_AES_128_GCM_SHA256");
	rc = 0;
out:
	SSL_free(run.ssl);
	SSL_CTX_free(ctx);
	free(run.transcript);
	OPENSSL_cleanse(run.ms, sizeof(run.ms));
	ERR_clear_error();
	return rc;
}
