/* One TLS connection as seen from one process: two directions, each with
 * its own record and handshake reassembly, and what was negotiated.
 *
 * Threading: a direction's state is touched only by the thread feeding
 * that direction (the shim holds a per-direction lock).  Connection-wide
 * facts (role, version, cipher) are written by whichever direction
 * decodes them and read by the other with relaxed atomics: TLS orders
 * them (ServerHello before anything that depends on its version).
 */
#ifndef TT_CONN_H
#define TT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cursor.h"
#include "event.h"
#include "keylog.h"
#include "names.h" /* TT_V_TLS12 ... */

struct tt_inflate; /* inflate.h */
struct tt_queue;   /* record.c */
struct tt_seek;	   /* record.c */

/* TLSCiphertext.length may be up to 2^14 + 2048 (RFC 5246 6.2.3). */
#define TT_RECORD_MAX (16384 + 2048)
/* Largest handshake message reassembled: a certificate chain of many
 * large certificates fits; a longer claimed length is a decode error. */
#define TT_HS_MSG_MAX (256u * 1024u)
/* Certificates and CA names rendered per message (all are counted). */
#define TT_CERTS_RENDERED    16
#define TT_CA_NAMES_RENDERED 256
#define TT_SNI_MAX	     255
/* What a connection remembers for its summary and diagnoses. */
#define TT_MSG_LOG    64   /* handshake messages listed in the summary */
#define TT_MSG_INLINE 16   /* of them kept in struct tt_conn itself */
#define TT_ALERT_LOG  8	   /* alerts listed in the summary */
#define TT_CA_TEXT    1024 /* CA names kept for a diagnosis */

/* A direction's inflate stream (its epoch's), with the table that made
 * it. */
struct tt_zstream {
	const struct tt_inflate *t;
	void *s;
};

/* One direction.  Fields go widest first so that the struct has no
 * holes; the comment of each says which part of the decoder it is for. */
struct tt_dirstate {
	union {
		/* record layer: a copy of the body, only while a needed
		 * record is split */
		uint8_t *rbuf;
		/* or, while seek (a stream joined mid-way, no record framed
		 * yet), the search for its first record boundary past its
		 * first bytes: see struct tt_seek in record/record.c */
		struct tt_seek *sk;
	};
	/* handshake reassembly: only while a message is split */
	uint8_t *hbuf;
	/* decryption (decoder/decrypt): secrets and keys, only while
	 * decrypting */
	struct tt_kdir *kd;
	/* compression: only while inflating */
	struct tt_zstream *z;
	/* Records waiting (for keys, or for the other direction), whole
	 * and in order: see struct tt_queue in record/record.c.  NULL
	 * while none waits. */
	struct tt_queue *q;

	uint64_t decoded; /* decoded, or reported as ciphertext */
	uint64_t bytes;

	/* record layer: records completed (what is read of it is whether
	 * there was one) */
	uint32_t records;
	/* handshake reassembly */
	uint32_t hlen, hcap;
	uint32_t hskip; /* body bytes still to pass over of a message over
			 * TT_HS_MSG_MAX */
	uint32_t hs_msgs;
	/* record layer, a stream joined mid-way: the bytes passed over
	 * before the first record boundary (while seek: all so far) */
	uint32_t skipped;

	/* record layer: the record in progress's body length (at most
	 * TT_RECORD_MAX, or 2^15 - 1 SSL 2.0-framed) and the bytes of it
	 * seen so far */
	uint16_t rlen, rgot;
	/* struct tt_conn.sh_count at this direction's last ChangeCipherSpec
	 * (TLS <= 1.2) */
	uint16_t ccs_sh;

	/* record layer */
	uint8_t hdr[5];
	uint8_t hdr_have;
	uint8_t rtype;
	bool rskip; /* the record in progress is skipped, not decoded:
		     * decided once, when its header is complete */
	/* the record in progress is SSL 2.0-framed (a direction's first
	 * record can be): its message type, read after the 2-byte header;
	 * 0 otherwise */
	uint8_t v2_msg;
	uint8_t alert_part; /* first byte of an alert split across records */
	bool alert_have;
	bool ccs;	  /* ChangeCipherSpec sent in this direction (<= 1.2) */
	uint8_t null_mac; /* NULL cipher in force: MAC bytes per record */
	bool dead;	  /* stopped decoding; bytes pass through */
	/* an encrypted handshake record went by since the CCS */
	bool enc_hs_after_ccs;
	/* records no longer wait for the other direction (see
	 * ahead_of_other in record.c): set when waiting is given up */
	bool order_free;
	/* record layer, a stream joined mid-way: its first record
	 * boundary is not found yet (its bytes are scanned, not framed) */
	bool seek;
	/* joined after its handshake, the version unknown: an encrypted
	 * handshake or alert record went this way, which proves TLS 1.2 or
	 * older (TLS 1.3 sends every encrypted record as application
	 * data) */
	bool pre13_seen;

	/* decryption (decoder/decrypt) */
	uint8_t kstate;	 /* enum tt_kstate */
	uint8_t klabel;	 /* TLS 1.3: enum tt_keylog_label of this epoch */
	bool ksw_app;	 /* 1.3 Finished decrypted: next records use the
			  * application secret */
	bool ksw_update; /* KeyUpdate decrypted: next secret after this record */
	bool ksw_hs;	 /* EndOfEarlyData decrypted: the client's next
			  * records use its handshake secret */
	bool k_opened;	 /* a record opened with this epoch's keys */

	/* compression (RFC 3749) of this direction's epoch, TLS <= 1.2:
	 * set at its ChangeCipherSpec, with the new keys */
	uint8_t comp;	/* enum tt_compression in force */
	uint8_t zstate; /* enum tt_zstate */
};

/* A direction's decryption state. */
enum tt_early {
	TT_EARLY_NONE = 0,
	TT_EARLY_OFFERED,  /* the ClientHello has early_data */
	TT_EARLY_ACCEPTED, /* and the EncryptedExtensions too */
	TT_EARLY_REJECTED, /* EncryptedExtensions without it, or a HRR */
	TT_EARLY_ENDED,	   /* accepted, and EndOfEarlyData seen */
};

enum tt_kstate {
	TT_K_NONE = 0, /* nothing to decrypt yet, or no key source */
	TT_K_WAIT,     /* records are encrypted; their keys not here yet */
	TT_K_ON,       /* keys installed */
	TT_K_OFF,      /* not decrypting: suite, failure or keys missing */
};

/* Whether a direction's epoch is inflated (made on its first record). */
enum tt_zstate {
	TT_Z_NONE = 0, /* no stream yet */
	TT_Z_ON,       /* inflating: every record goes through the stream */
	TT_Z_OFF,      /* not inflated for the rest of the epoch */
};

/* Whether every record of dir's epoch must be read, application data
 * included: a DEFLATE window spans records, so a record left out puts
 * the stream out of step. */
static inline bool tt_dir_inflating(const struct tt_dirstate *d)
{
	return d->comp == TT_COMP_DEFLATE && d->zstate != TT_Z_OFF;
}

/* Where secrets come from (the shim's store, or a test).  The decoder
 * asks and never waits: a record whose keys are not here yet waits in the
 * direction's queue (bounded) and is decoded when they come. */
struct tt_keysrc {
	void *ctx;
	/* Copies the secret logged under label for this client random to
	 * out (TT_KEYLOG_SECRET_MAX bytes) and returns its length, or 0
	 * when it is not known (yet). */
	size_t (*get)(void *ctx, const uint8_t *client_random,
		      enum tt_keylog_label label, uint8_t *out);
	/* The crypto table, loaded on first use; NULL when unavailable, with
	 * *why saying why. */
	const struct tt_crypto *(*crypto)(void *ctx, const char **why);
	/* Whether keys can come at all in this process (a TLS library
	 * hooked, a key log to read); when not, encrypted records are
	 * reported as ciphertext at once. */
	bool (*expect)(void *ctx);
	/* The inflate table (decoder/base/inflate.h), loaded on first use,
	 * for a connection that negotiated DEFLATE; NULL when unavailable,
	 * with *why saying why.  May be NULL itself: nothing inflates. */
	const struct tt_inflate *(*inflate)(void *ctx, const char **why);
	/* What this process's TLS libraries cannot give (a text for the
	 * summary of a connection whose keys did not come), or NULL.  May
	 * be NULL itself. */
	const char *(*note)(void *ctx);
};

/* Bytes of records a direction holds while waiting for keys.  Past it,
 * later records are kept by their headers only (counted in order, so
 * that the records after them still decrypt, but not themselves
 * decrypted), up to TT_KEYQ_HDRS more bytes of headers; past that, the
 * direction stops waiting and reports what it holds as ciphertext. */
#define TT_KEYQ_MAX  (128u * 1024u)
#define TT_KEYQ_HDRS (64u * 1024u)

/* What became of inflating compressed records (struct tt_conn.infl). */
enum tt_infl {
	TT_INFL_USED = 1 << 0,	      /* records were inflated */
	TT_INFL_FAILED = 1 << 1,      /* a record did not inflate */
	TT_INFL_NO_ZLIB = 1 << 2,     /* no inflate table */
	TT_INFL_UNSUPPORTED = 1 << 3, /* a method other than DEFLATE */
	TT_INFL_INCOMPLETE = 1 << 4,  /* a record of the stream went unread */
};

/* Where the connection's handshakes stand. */
enum tt_phase {
	TT_PHASE_FIRST = 0, /* the first handshake is in progress */
	TT_PHASE_DONE,	    /* a handshake completed, none in progress */
	TT_PHASE_RENEG,	    /* a renegotiation handshake is in progress */
};

/* How the connection was first seen. */
enum tt_attach {
	TT_ATTACH_NONE = 0, /* from its first bytes */
	/* joined mid-stream (tt_conn_midstream), no record taken yet */
	TT_ATTACH_PENDING,
	/* joined mid-stream, its first record a hello in the clear: a new
	 * connection, decoded as any */
	TT_ATTACH_FRESH,
	/* joined mid-stream after its handshake: established, its
	 * handshake and keys unseen, its version unknown */
	TT_ATTACH_JOINED,
};

/* The last renegotiation's state. */
enum tt_reneg {
	TT_RENEG_NONE = 0,
	TT_RENEG_REQUESTED, /* HelloRequest sent, no answer yet */
	TT_RENEG_STARTED,
	TT_RENEG_COMPLETED,
	TT_RENEG_REFUSED,
	TT_RENEG_FAILED,
};

struct tt_alert_note {
	uint8_t dir, level, desc;
	bool inferred;
};

/* Fields go widest first so that the struct has no holes; those of one
 * part of the decoder keep together within each width. */
struct tt_conn {
	struct tt_dirstate d[2];

	/* the latest server name a ClientHello gave, sanitized (at most
	 * TT_SNI_MAX bytes), in a block of its size; NULL when none */
	char *sni;
	/* decryption: where keys come from (NULL: none) */
	const struct tt_keysrc *ks;
	/* the CA names of the latest CertificateRequest, for a diagnosis:
	 * a block of their size (at most TT_CA_TEXT), NULL when none */
	char *ca_text;
	/* the handshake messages of the summary's list past the first
	 * TT_MSG_INLINE (see msgs) */
	uint16_t *msgs_more;
	/* the alerts listed in the summary (nalerts of them, at most
	 * TT_ALERT_LOG), in a block made for the first; NULL before */
	struct tt_alert_note *alerts;
	const char *end_errname; /* static strings from the first end */
	const char *end_call;
	/* per direction: the call that moved bytes past the hooks (static
	 * string), NULL while every byte was seen */
	const char *bypass[2];
	/* STARTTLS (decoder/starttls): the follower of the cleartext
	 * protocol while some of it is still to come (NULL otherwise: it
	 * exists only from the first bytes to the upgrade); see starttls
	 * and plain below */
	struct tt_stls *stls;

	uint32_t rec_seq; /* records completed, both directions: wire order */
	/* 0-RTT (RFC 8446 4.2.10): the client's early data records seen
	 * (application data under its early secret, accepted or passed
	 * over by the server); see early below */
	uint32_t early_records;
	uint32_t dec_records; /* records decrypted */
	int32_t cr_ca_count;  /* CA names of the latest CertificateRequest */

	uint16_t version; /* negotiated, 0 until ServerHello */
	uint16_t cipher;
	uint16_t key_updates[2]; /* KeyUpdates per direction */
	uint16_t sh_count; /* ServerHellos decoded (not HelloRetryRequests) */
	uint16_t reneg_attempts;
	/* The handshake messages seen, for the summary (at most TT_MSG_LOG,
	 * nmsg of them): each type | dir << 8 | inferred << 9, the first
	 * TT_MSG_INLINE here, the others in msgs_more (TT_MSG_LOG -
	 * TT_MSG_INLINE of them, made for the first one): see tt_conn_msg. */
	uint16_t msgs[TT_MSG_INLINE];

	char alpn[32];			  /* the server's choice */
	uint8_t crandom[32], srandom[32]; /* of the latest hellos */

	uint8_t role; /* enum tt_role */
	uint8_t sni_len;
	bool hrr;
	uint8_t early; /* enum tt_early */

	/* decryption: what happened */
	bool keys_missing, dec_failed, dec_unsupported, dec_nocrypto;
	/* keys could come, but the version is a TLS 1.3 draft: not
	 * decrypted */
	bool dec_draft;

	/* compression (RFC 3749): the latest ServerHello's method, taken by
	 * each direction at its next ChangeCipherSpec; the methods the
	 * latest ClientHello offered (bit 0 null, 1 DEFLATE, 2 any other);
	 * the last method other than null a handshake chose, and what
	 * became of inflating (enum tt_infl bits), for the summary */
	uint8_t comp, ch_comp, comp_used, infl;

	/* handshakes and renegotiation (decoder/session.c) */
	uint8_t phase; /* enum tt_phase */
	bool fin[2];   /* Finished seen per direction, this handshake */
	uint8_t reneg; /* enum tt_reneg */
	uint8_t reneg_initiator;      /* enum tt_role */
	bool ch_seen, ch_ri, ch_scsv; /* secure renegotiation (RFC 5746) */
	bool sh_seen, sh_ri;
	/* encrypt_then_mac (RFC 7366) in the latest ClientHello and
	 * ServerHello: used from the CCS of their handshake (decrypt.c) */
	bool ch_etm, sh_etm;
	bool cr_seen;
	int8_t client_cert; /* -1 not seen, 0 empty, 1 sent */
	uint8_t nmsg;
	uint8_t nalerts;
	bool fatal[2];	      /* a fatal alert went in that direction */
	bool close_notify[2]; /* seen in clear */
	bool enc_alert[2];    /* an encrypted alert record was seen */
	bool appdata[2];
	bool ended; /* connection_closed or _reset written */
	bool peer_fin;
	uint8_t end_how; /* enum tt_end_how */
	bool diag_done;	 /* the end-of-connection diagnosis */

	/* STARTTLS: the protocol that upgraded (enum
	 * tt_starttls_protocol, 0 when none), and whether following ended
	 * without TLS: the connection is then not TLS at all, and every
	 * feed returns TT_PLAIN. */
	uint8_t starttls;
	bool plain;
	uint8_t attach; /* enum tt_attach */
};

static inline uint16_t tt_conn_version(const struct tt_conn *c)
{
	return __atomic_load_n(&c->version, __ATOMIC_RELAXED);
}
static inline uint8_t tt_conn_role(const struct tt_conn *c)
{
	return __atomic_load_n(&c->role, __ATOMIC_RELAXED);
}

/* Whether the connection is known to be TLS 1.2 or older: by its
 * version, or, joined after a handshake it did not see, by its records. */
static inline bool tt_conn_pre13(const struct tt_conn *c)
{
	uint16_t v = tt_conn_version(c);
	return v ? v < TT_V_TLS13
		 : c->d[TT_IN].pre13_seen || c->d[TT_OUT].pre13_seen;
}

/* Handshake message i (< c->nmsg) of the summary's list. */
static inline uint16_t tt_conn_msg(const struct tt_conn *c, unsigned i)
{
	return i < TT_MSG_INLINE ? c->msgs[i] : c->msgs_more[i - TT_MSG_INLINE];
}

/* A draft of TLS 1.3 (0x7f00 + the draft number, or one of Facebook's
 * two): read as TLS 1.3, never decrypted. */
static inline bool tt_version_draft13(uint16_t v)
{
	return (v >> 8) == 0x7f || v == TT_V_TLS13_DRAFT23_FB ||
	       v == TT_V_TLS13_DRAFT26_FB;
}

/* The role of the side that sent in direction dir. */
static inline enum tt_role tt_sender(const struct tt_conn *c, enum tt_dir dir)
{
	enum tt_role r = (enum tt_role)tt_conn_role(c);
	if (r == TT_ROLE_UNKNOWN)
		return r;
	if (dir == TT_OUT)
		return r;
	return r == TT_ROLE_CLIENT ? TT_ROLE_SERVER : TT_ROLE_CLIENT;
}

/* Sets the role from a message only the given side sends. */
void tt_conn_learn_role(struct tt_conn *c, enum tt_dir dir,
			enum tt_role sender);

/* A decode_error event (level warn). */
void tt_emit_decode_error(const struct tt_emit *em, enum tt_dir dir,
			  const char *what, const char *detail);

/* Frees dir's inflate stream, if it has one. */
void tt_dir_zfree(struct tt_dirstate *d);

/* The one way a direction stops decoding for good: a decode_error
 * saying what and why (unless the direction had already stopped), then
 * its reassembly buffers are freed and later bytes pass through.  What
 * waits for keys there is the record layer's to report first
 * (tt_conn_stop in record.h). */
void tt_dir_stop(struct tt_conn *c, enum tt_dir dir, const char *what,
		 const char *detail, const struct tt_emit *em);

/* Heap bytes c holds: every block the decoder allocated for it, each
 * counted as malloc_usable_size() plus 16 bytes of malloc's own (its chunk
 * header and alignment, on 64-bit glibc).  Blocks a table made for it (an
 * inflate stream, an RC4 state, the inside of a STARTTLS follower) are
 * not its to measure and are left out.  With sizeof(struct tt_conn), what
 * one traced connection costs the decoder. */
size_t tt_conn_heap_bytes(const struct tt_conn *c);

/* The summary's word on decryption, or NULL when nothing was to be
 * decrypted. */
const char *tt_conn_keys_outcome(const struct tt_conn *c);

#endif