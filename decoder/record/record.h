/* The decoder's entry points, the record layer: framing of both
 * directions, the records waiting (for keys, or for the other
 * direction's bytes) and their draining in wire order, decryption as a
 * service, and the end of a connection.  The shim uses this header (and
 * conn.h's state) only.
 */
#ifndef TT_RECORD_H
#define TT_RECORD_H

#include "conn.h"
#include "session.h"
#include "starttls.h"

void tt_conn_init(struct tt_conn *c);
/* c joins a stream already under way (the process was attached after
 * some of its bytes moved): call after tt_conn_init, before any feed.
 * role: this process's side when the caller knows it (TT_ROLE_CLIENT /
 * TT_ROLE_SERVER; the shim guesses it from the socket), or
 * TT_ROLE_UNKNOWN. */
void tt_conn_midstream(struct tt_conn *c, enum tt_role role);
/* Frees buffers and wipes secrets; the connection may be fed again
 * after. */
void tt_conn_release(struct tt_conn *c);

/* Feeds bytes that crossed the socket in direction dir.  Events go to
 * em.  Returns TT_OK, or TT_DECODE once the direction stopped decoding
 * (it then ignores further bytes; a decode_error event said why), or
 * TT_GONE when em->same_stream said the bytes were not this stream's
 * (nothing said, not counted), or TT_PLAIN once a connection followed
 * for its STARTTLS turned out not to be TLS (nothing more is decoded in
 * either direction; the caller stops feeding it). */
tt_rc tt_conn_feed(struct tt_conn *c, enum tt_dir dir, const uint8_t *p,
		   size_t n, const struct tt_emit *em);

/* Whether records wait, in either direction. */
static inline bool tt_conn_waiting(const struct tt_conn *c)
{
	return c->d[0].q || c->d[1].q;
}
/* Decodes what waits, in wire order, as far as keys allow: called when
 * keys may have come. */
void tt_conn_drain(struct tt_conn *c, const struct tt_emit *em);
/* Keys will not come for what waits for them: each direction that waits
 * stops waiting (the summary says keys missing), and its records are
 * reported as ciphertext, in wire order. */
void tt_conn_keys_gone(struct tt_conn *c, const struct tt_emit *em);

/* Whether the first bytes of a stream can start a TLS record (a prefix
 * of a handshake or alert record header, or an SSLv2-compatible
 * ClientHello).  n may be less than 5. */
bool tt_looks_like_tls(const uint8_t *p, size_t n);

/* What the first bytes of a stream (up to TT_STLS_HEAD of them, in
 * either direction) start: TLS, a cleartext protocol that can upgrade to
 * it (TT_FIRST_FOLLOW with *g, or TT_FIRST_MORE when too few bytes tell
 * which), or neither. */
enum tt_first tt_conn_first(const uint8_t *p, size_t n,
			    struct tt_first_guess *g);
/* A new connection whose first bytes, in dir, were what
 * (TT_FIRST_FOLLOW, TT_FIRST_MORE) is followed as cleartext until it
 * upgrades; false when that cannot be (out of memory). */
bool tt_conn_follow(struct tt_conn *c, enum tt_dir dir, enum tt_first what,
		    const struct tt_first_guess *g);

/* Stops decoding dir for good: what waits for keys is reported first
 * (as ciphertext), then the decode_error saying what and why. */
void tt_conn_stop(struct tt_conn *c, enum tt_dir dir, const char *what,
		  const char *detail, const struct tt_emit *em);

/* Bytes of dir moved where the caller could not see them (splice,
 * sendfile, kernel TLS...): one io_bypass event naming call and saying
 * message (static strings), with the count when known (bytes > 0); the
 * direction is not decoded any more.  Once per direction. */
void tt_conn_bypass(struct tt_conn *c, enum tt_dir dir, const char *call,
		    long long bytes, const char *message,
		    const struct tt_emit *em);

/* The connection ended (or one step of its end: a FIN, then the close).
 * Records still waiting, in both directions (even at a step that ends
 * one), are reported first, in wire order, as ciphertext when their keys
 * did not come; then connection_closed / connection_reset once, the
 * diagnosis that explains it, and at close or exit the summary. */
void tt_conn_end(struct tt_conn *c, const struct tt_end_info *ei,
		 const struct tt_emit *em);

#endif
