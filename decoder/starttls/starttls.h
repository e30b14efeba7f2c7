/* STARTTLS: connections that begin in a cleartext protocol and upgrade
 * to TLS on the same socket (SMTP, LMTP, IMAP, POP3, FTP, NNTP,
 * ManageSieve, XMPP, LDAP, PostgreSQL, MySQL).
 *
 * The detector says from a socket's first bytes whether they start such
 * a protocol; the follower, a small state machine per direction, is then
 * fed the cleartext bytes in order until the client asks for TLS and the
 * server answers.  It writes one starttls event; from the next byte of
 * each direction the record layer decodes TLS as usual.  A protocol that
 * never upgrades (refused, the session went on, the cap reached, the
 * connection ended) ends following: the connection is then not TLS at
 * all (c->plain), and the caller passes it over.
 *
 * Bounded: one allocation per followed connection (struct tt_stls, with
 * a line buffer per direction), at most TT_STLS_CAP cleartext bytes per
 * direction, nothing per byte.  Used by the record layer only.
 */
#ifndef TT_STARTTLS_H
#define TT_STARTTLS_H

#include "conn.h"

/* Bytes of a socket's first call the detector is given. */
#define TT_STLS_HEAD 64
/* A line (an LDAP message, an XML tag) kept whole; a longer one is
 * judged by its first TT_STLS_LINE bytes. */
#define TT_STLS_LINE 512
/* Cleartext bytes followed per direction; past it, following stops. */
#define TT_STLS_CAP (16u * 1024u)
/* The request and reply texts of the starttls event, at most. */
#define TT_STLS_TEXT 120

/* A family the first bytes leave open, besides the protocols of
 * tables/starttls.def: a "220" greeting is SMTP's, LMTP's or FTP's, and
 * the client's first command settles which. */
#define TT_STLS_FAMILY_220 0x80

enum tt_first {
	TT_FIRST_NONE = 0, /* no protocol followed: not traced */
	TT_FIRST_TLS,	   /* a TLS record (or the start of one) */
	TT_FIRST_FOLLOW,   /* a protocol to follow (struct tt_first_guess) */
	TT_FIRST_MORE,	   /* the start of one, too short to say which:
			    * followed until it is decided */
};

struct tt_first_guess {
	uint8_t proto;	  /* TT_STARTTLS_* or TT_STLS_FAMILY_220 */
	bool from_server; /* a greeting (the server speaks first) */
};

/* What the first bytes of a stream (n <= TT_STLS_HEAD used) start,
 * among the cleartext protocols: TT_FIRST_FOLLOW with *g, TT_FIRST_MORE
 * or TT_FIRST_NONE (TLS itself is the record layer's to tell). */
enum tt_first tt_stls_detect(const uint8_t *p, size_t n,
			     struct tt_first_guess *g);
/* The same for a socket's first bytes, the shim's first call: one or two
 * bytes are no protocol unless a protocol other than MySQL starts so (a
 * MySQL greeting is told from its length, three bytes). */
enum tt_first tt_stls_detect_first(const uint8_t *p, size_t n,
				   struct tt_first_guess *g);

/* Starts following c, whose first bytes, in dir, were found to be what
 * (TT_FIRST_FOLLOW with g, or TT_FIRST_MORE).  The role follows from the
 * protocol.  False when the follower cannot be allocated. */
bool tt_stls_start(struct tt_conn *c, enum tt_dir dir, enum tt_first what,
		   const struct tt_first_guess *g);

/* Bytes of dir while c->stls is set.  Returns how many of them were
 * cleartext: the rest, from the first byte of TLS, is the record
 * layer's.  When following ends without TLS, every byte is taken and
 * c->plain is set; when both directions are TLS, c->stls is freed. */
size_t tt_stls_feed(struct tt_conn *c, enum tt_dir dir, const uint8_t *p,
		    size_t n, const struct tt_emit *em);

/* Whether dir of c is cleartext being followed (not TLS yet). */
bool tt_stls_following(const struct tt_conn *c, enum tt_dir dir);

/* Ends following for a reason outside the protocol (bytes not seen, the
 * connection's end): one debug line saying why (copied in), then c is
 * plain; unless the upgrade was accepted already (c->starttls), when
 * what is left is TLS's and c->stls is freed. */
void tt_stls_stop(struct tt_conn *c, const char *why, const struct tt_emit *em);

/* Frees the follower, if any. */
void tt_stls_release(struct tt_conn *c);

#endif
