/* Handshake reassembly: messages cut across records, or many in one
 * record, handed whole to their parser through a dispatch table. */
#ifndef TT_HANDSHAKE_H
#define TT_HANDSHAKE_H

#include "conn.h"

/* Plaintext handshake bytes of one whole record. */
void tt_hs_feed(struct tt_conn *c, enum tt_dir dir, const uint8_t *p, size_t n,
		const struct tt_emit *em);

#endif
