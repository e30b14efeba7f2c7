/* Handshake message parsers, one file per family (hello.c, cert.c,
 * misc.c), extension blocks in ext.c.
 *
 * Each parser takes one whole handshake message without its 4-byte
 * header and works in two steps.  First it reads and checks the whole
 * body into a small struct of its own (the fields its event shows, the
 * facts the connection keeps), touching nothing: a malformed body is
 * TT_DECODE with no state changed and nothing emitted.  Then, and only
 * then, it updates the connection's facts (directly, or through the
 * session layer) and emits its event from that struct.  The log level
 * decides only how much of the event is built (a list nobody will see is
 * not rendered), never the result or what the connection learns: a
 * message is accepted or refused the same way at every level.
 */
#ifndef TT_MSG_H
#define TT_MSG_H

#include "conn.h"

typedef tt_rc (*tt_hs_parser)(struct tt_conn *c, enum tt_dir dir,
			      const uint8_t *body, size_t len,
			      const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_client_hello(struct tt_conn *c, enum tt_dir dir,
				     const uint8_t *body, size_t len,
				     const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_server_hello(struct tt_conn *c, enum tt_dir dir,
				     const uint8_t *body, size_t len,
				     const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_encrypted_extensions(struct tt_conn *c, enum tt_dir dir,
					     const uint8_t *body, size_t len,
					     const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_certificate(struct tt_conn *c, enum tt_dir dir,
				    const uint8_t *body, size_t len,
				    const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_certificate_request(struct tt_conn *c, enum tt_dir dir,
					    const uint8_t *body, size_t len,
					    const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_server_key_exchange(struct tt_conn *c, enum tt_dir dir,
					    const uint8_t *body, size_t len,
					    const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_new_session_ticket(struct tt_conn *c, enum tt_dir dir,
					   const uint8_t *body, size_t len,
					   const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_certificate_verify(struct tt_conn *c, enum tt_dir dir,
					   const uint8_t *body, size_t len,
					   const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_end_of_early_data(struct tt_conn *c, enum tt_dir dir,
					  const uint8_t *body, size_t len,
					  const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_key_update(struct tt_conn *c, enum tt_dir dir,
				   const uint8_t *body, size_t len,
				   const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_finished(struct tt_conn *c, enum tt_dir dir,
				 const uint8_t *body, size_t len,
				 const struct tt_emit *em);
/* The SSL 2.0-framed hellos: the body after msg_type.  A CLIENT-HELLO
 * of version 3.x is the SSLv2-compatible ClientHello of SSL 3.0 and TLS
 * (a client_hello event); of version 0x0002, SSL 2.0's own (an
 * ssl2_client_hello event, the connection's version then SSL 2.0, as
 * after an SSL 2.0 SERVER-HELLO). */
TT_MUST_USE tt_rc tt_hs_ssl2_client_hello(struct tt_conn *c, enum tt_dir dir,
					  const uint8_t *body, size_t len,
					  const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_ssl2_server_hello(struct tt_conn *c, enum tt_dir dir,
					  const uint8_t *body, size_t len,
					  const struct tt_emit *em);
/* Any other message: its name and length. */
TT_MUST_USE tt_rc tt_hs_generic(struct tt_conn *c, enum tt_dir dir,
				uint8_t type, const uint8_t *body, size_t len,
				const struct tt_emit *em);

/* Extension blocks (RFC 8446 4.2), split into their extensions in the
 * order sent, a type seen twice or more than max extensions being
 * malformed.  Each type is then in the block at most once, so a parser
 * keeps what it read of an extension in a field of its own and emits the
 * fields in the order of type[]. */
#define TT_EXT_MAX 128
struct tt_exts {
	size_t n;
	uint16_t type[TT_EXT_MAX];
	struct tt_cur data[TT_EXT_MAX];
};
TT_MUST_USE tt_rc tt_ext_split(struct tt_cur block, size_t max,
			       struct tt_exts *out);
/* Whether the block has an extension of that type. */
bool tt_ext_has(const struct tt_exts *x, uint16_t type);
/* The names of the extensions, in the order sent, as one list field. */
void tt_ev_ext_names(struct tt_event *ev, enum tt_level l,
		     const struct tt_exts *x);

/* A list field of 16-bit registry values, each by its label. */
void tt_ev_list_u16(struct tt_event *ev, const char *key, enum tt_level l,
		    struct tt_cur v, const char *(*label)(uint16_t, char *));

#endif
