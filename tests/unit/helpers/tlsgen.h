/* Real TLS byte streams for tests, made by OpenSSL inside this process.
 *
 * A client and a server SSL object talk through a BIO pair; every write
 * either side makes towards the other is captured, so decoder tests and
 * fuzz corpora are fed what a real peer sends, not bytes built by hand.
 * The certificate chain is made in memory once per process:
 *
 *   CN=The Roots Authority                       (root, self-signed)
 *   `- CN=K-Dot Certificate Authority            (intermediate)
 *      |- CN=localhost, SAN DNS:localhost        (server)
 *      `- O=Example, CN=tlstrace client          (client)
 *
 * All EC P-256, ECDSA-SHA256, valid 2026-01-01 to 2036-01-01, serials
 * 0x1001..0x1004 in that order.  Randoms, key shares and signatures still
 * differ from run to run: compare structure, not bytes.
 *
 * This header does not include OpenSSL's, so that a test can use it next
 * to the decoder's own names without clashes.
 */
#ifndef TLSGEN_H
#define TLSGEN_H

#include <stddef.h>
#include <stdint.h>

/* Same values as OpenSSL's TLS1_VERSION ... TLS1_3_VERSION. */
#define TLSGEN_TLS10 0x0301
#define TLSGEN_TLS11 0x0302
#define TLSGEN_TLS12 0x0303
#define TLSGEN_TLS13 0x0304

enum tlsgen_cert {
	TLSGEN_CERT_ROOT,
	TLSGEN_CERT_INTER,
	TLSGEN_CERT_SERVER,
	TLSGEN_CERT_CLIENT,
	TLSGEN_NCERTS
};

/* What the server puts in its CertificateRequest. */
enum tlsgen_ca_names {
	/* No list configured: TLS 1.2 sends an empty DN list, TLS 1.3
	 * leaves the certificate_authorities extension out. */
	TLSGEN_CA_NONE = 0,
	/* [intermediate, root], in that order. */
	TLSGEN_CA_LIST = 1,
	/* The list configured but SSL_OP_DISABLE_TLSEXT_CA_NAMES set, as
	 * `s_server -CAfile cas.pem -no_ca_names`: TLS 1.2 sends an empty
	 * DN list, TLS 1.3 an empty certificate_authorities extension. */
	TLSGEN_CA_DISABLED = 2,
};

/* The server's key: its certificate is CN=localhost by the intermediate
 * whatever the key (the RSA one also for key encipherment); the RSA and
 * DSA ones (DSA with 1024-bit parameters) are made on first use. */
enum tlsgen_key {
	TLSGEN_KEY_EC = 0,
	TLSGEN_KEY_RSA,
	TLSGEN_KEY_DSA,
};

struct tlsgen_opts {
	int version;		   /* TLSGEN_TLS10 ... TLSGEN_TLS13 (min = max;
				 * before TLS 1.2 the cipher lists need
				 * "@SECLEVEL=0"); 0 lets OpenSSL pick */
	int server_key;		   /* enum tlsgen_key */
	int no_etm;		   /* the client does not offer
				 * encrypt_then_mac (SSL_OP_NO_ENCRYPT_THEN_MAC,
				 * as `s_client -no_etm`) */
	int legacy;		   /* OpenSSL 3's legacy provider is loaded
				 * (with the default one) into the default
				 * library context, for SEED; once in, it
				 * stays for the process */
	int mtls;		   /* server requires a client certificate
				 * (VERIFY_PEER | FAIL_IF_NO_PEER_CERT) */
	int client_sends_cert;	   /* client has a certificate to send */
	int ca_names;		   /* enum tlsgen_ca_names */
	const char *sni;	   /* client SNI, or NULL for none */
	const char *alpn;	   /* "h2,http/1.1", or NULL for none */
	const char *server_groups; /* e.g. "P-256"; NULL = default */
	const char *client_groups; /* e.g. "X25519:P-256" (HRR) */
	const char *cipher;	   /* TLS 1.2 cipher list, both sides */
	const char *ciphersuites;  /* TLS 1.3 suites, both sides */
	int renegotiate;	   /* TLS 1.2: server renegotiates after the
				 * first application-data exchange, with a
				 * full handshake and a CertificateRequest */
	int client_refuses_reneg;  /* client has SSL_OP_NO_RENEGOTIATION: it
				   * answers with a no_renegotiation warning
				   * and OpenSSL's server ends with a fatal
				   * handshake_failure */
	int server_resets_on_refusal; /* as IIS: the server never reads the
				       * client's answer to its HelloRequest;
				       * the capture ends with the client's
				       * alert (no close_notify either) */
	int app_bytes;		      /* application data each side writes after
				 * the handshake (client first), and again
				 * after an accepted renegotiation */
	int close_notify; /* both sides SSL_shutdown at the end, client
				 * first (not after a refusal: a side that
				 * failed sends none) */
	int resume;	  /* the captured handshake resumes a session
				 * of an earlier, uncaptured one between the
				 * same two contexts (abbreviated handshake) */
	int early_data;	  /* with resume, TLS 1.3: bytes of 0-RTT data the
			   * client writes with its ClientHello (in one
			   * SSL_write_early_data call; the client's
			   * records then carry at most 512 bytes) */
	int early_reject; /* the server turns the early data down (its
			   * allow-early-data callback says no): it skips
			   * those records, the client sends no
			   * EndOfEarlyData */
};

/* Option sets several tests start from (struct tlsgen_opts o =
 * TLSGEN_..._OPTS;). */
/* TLS 1.2 with client authentication: the server requires a certificate
 * and sends its CA list, the client sends one; SNI localhost, 100 bytes
 * of application data each way, close_notify at the end. */
#define TLSGEN_MTLS12_OPTS                                                     \
	{                                                                      \
		.version = TLSGEN_TLS12, .mtls = 1, .client_sends_cert = 1,    \
		.ca_names = TLSGEN_CA_LIST, .sni = "localhost",                \
		.app_bytes = 100, .close_notify = 1                            \
	}
/* The IIS-style refused renegotiation over TLS 1.2: after 64 bytes of
 * application data each way the server asks for a renegotiation with a
 * HelloRequest, the client (a certificate to send, the server's CA list
 * configured) refuses, and the server resets without reading the
 * refusal. */
#define TLSGEN_IIS_REFUSAL_OPTS                                                \
	{                                                                      \
		.version = TLSGEN_TLS12, .client_sends_cert = 1,               \
		.ca_names = TLSGEN_CA_LIST, .renegotiate = 1, .app_bytes = 64, \
		.client_refuses_reneg = 1, .server_resets_on_refusal = 1       \
	}

/* Everything one side wrote towards the other, in order. */
struct tlsgen_stream {
	uint8_t *data;
	size_t len;
	size_t *chunk_ends; /* end offset of each write() the side made */
	size_t nchunks;
};

/* One write, in the order the writes happened across both directions:
 * replaying the steps in order feeds a decoder as a real exchange would. */
struct tlsgen_step {
	int from_server; /* 0: in c2s, 1: in s2c */
	size_t off, len; /* within that stream */
};

/* A record layer payload as OpenSSL's message callback saw it on the
 * sending side, before encryption: handshake messages whole (4-byte
 * header + body), alerts (2 bytes), change_cipher_spec (1 byte).  In TLS
 * 1.3 this is the plaintext of what the wire carries encrypted. */
struct tlsgen_msg {
	int from_server;
	uint8_t content_type; /* 20, 21 or 22 */
	size_t off, len;      /* within tlsgen_result.plain */
};

struct tlsgen_result {
	struct tlsgen_stream c2s, s2c;
	struct tlsgen_step *steps;
	size_t nsteps;

	uint8_t *plain; /* struct tlsgen_msg bytes, concatenated */
	size_t plain_len;
	struct tlsgen_msg *msgs;
	size_t nmsgs;

	char *keylog; /* NSS key log text, from the client */
	size_t keylog_len;

	/* Arrays indexed like tlsgen_step.from_server: [0] client, [1] server. */
	int handshakes[2];   /* handshakes the side completed (2 after an
				 * accepted renegotiation) */
	int failed[2];	     /* the side stopped on a fatal error */
	char reason[2][128]; /* OpenSSL's reason for that error */
	long verify[2];	     /* SSL_get_verify_result: 0 when the peer's
				 * chain verified (checked as of 2030) */
	size_t hs_end[2];    /* c2s and s2c lengths when both sides had
				 * finished the first handshake */

	int version;	   /* negotiated, e.g. TLSGEN_TLS12; 0 if none */
	int resumed;	   /* the client resumed a session */
	int early_status;  /* SSL_get_early_data_status of the client:
			    * 0 not sent, 1 rejected, 2 accepted */
	size_t early_read; /* 0-RTT bytes the server read */
	char cipher[64];   /* IANA name of the negotiated suite */
	char alpn[32];	   /* selected protocol, "" if none */
	int peer_ca_count; /* CA names the client received in a
				 * CertificateRequest; -1 when none came or
				 * TLS 1.3 sent no certificate_authorities */

	char error[256]; /* why tlsgen_run() returned -1 */
};

/* Runs one connection as *o asks.  Returns 0 when it went as asked: the
 * handshake completed, or the refusal the options imply happened (mTLS
 * without a client certificate; a refused renegotiation).  Returns -1
 * otherwise, with r->error set; r holds what was captured either way and
 * must be released with tlsgen_free(). */
int tlsgen_run(const struct tlsgen_opts *o, struct tlsgen_result *r);
void tlsgen_free(struct tlsgen_result *r);

static inline const struct tlsgen_stream *
tlsgen_stream_of(const struct tlsgen_result *r, int from_server)
{
	return from_server ? &r->s2c : &r->c2s;
}

/* One TLS record in a captured stream. */
struct tlsgen_record {
	uint8_t type;
	uint16_t version;
	size_t off; /* of the 5-byte header */
	const uint8_t *body;
	size_t len;
};

/* Reads the record at *off and moves *off past it.  Returns 1 for a
 * record, 0 at the end of the stream, -1 when the rest is not a whole
 * record. */
int tlsgen_next_record(const struct tlsgen_stream *s, size_t *off,
		       struct tlsgen_record *rec);

/* The chain, DER encoded; the pointers stay valid until
 * tlsgen_cleanup().  Return 0, or -1 if the chain could not be made. */
int tlsgen_cert_der(enum tlsgen_cert which, const uint8_t **der, size_t *len);
int tlsgen_subject_der(enum tlsgen_cert which, const uint8_t **der,
		       size_t *len);

/* Writes root.pem, inter.pem, cas.pem (intermediate then root),
 * server.pem, server.key, client.pem, client.key into dir (which must
 * exist).  The .pem files of leaf certificates hold the leaf only. */
int tlsgen_write_pem(const char *dir);

/* Frees the chain (it is made again on next use); for leak checkers. */
void tlsgen_cleanup(void);

#endif
