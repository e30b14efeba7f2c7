/* Handshake message parsers, one file per family (hello.c, cert.c,
 * misc.c), extension blocks in ext.c.
 *
 * Each parser takes one whole handshake message without its 4-byte
 * header, updates the connection's facts (directly, or through the
 * session layer) and emits its event; TT_DECODE when the body is
 * malformed (nothing emitted then).
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
TT_MUST_USE tt_rc tt_hs_encrypted_extensions(struct tt_conn *c,
					     enum tt_dir dir,
					     const uint8_t *body, size_t len,
					     const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_certificate(struct tt_conn *c, enum tt_dir dir,
				    const uint8_t *body, size_t len,
				    const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_certificate_request(struct tt_conn *c,
					    enum tt_dir dir,
					    const uint8_t *body, size_t len,
					    const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_server_key_exchange(struct tt_conn *c,
					    enum tt_dir dir,
					    const uint8_t *body, size_t len,
					    const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_new_session_ticket(struct tt_conn *c, enum tt_dir dir,
					   const uint8_t *body, size_t len,
					   const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_certificate_verify(struct tt_conn *c, enum tt_dir dir,
					   const uint8_t *body, size_t len,
					   const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_key_update(struct tt_conn *c, enum tt_dir dir,
				   const uint8_t *body, size_t len,
				   const struct tt_emit *em);
TT_MUST_USE tt_rc tt_hs_finished(struct tt_conn *c, enum tt_dir dir,
				 const uint8_t *body, size_t len,
				 const struct tt_emit *em);
/* Any other message: its name and length. */
TT_MUST_USE tt_rc tt_hs_generic(struct tt_conn *c, enum tt_dir dir,
				uint8_t type, const uint8_t *body, size_t len,
				const struct tt_emit *em);

/* Extension blocks (RFC 8446 4.2): walked one extension at a time, a
 * type seen twice or more than max types being malformed. */
#define TT_EXT_MAX 128
struct tt_ext_walk {
	struct tt_cur all;
	size_t max;
	size_t nseen;
	uint16_t seen[TT_EXT_MAX];
};
TT_MUST_USE tt_rc tt_ext_next(struct tt_ext_walk *w, uint16_t *type,
			      struct tt_cur *data);

/* A list field of 16-bit registry values, each by its label. */
void tt_ev_list_u16(struct tt_event *ev, const char *key, enum tt_level l,
		    struct tt_cur v, const char *(*label)(uint16_t, char *));

#endif
