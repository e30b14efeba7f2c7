/* Decryption, a service of the record layer: keys per direction and
 * epoch, taken from the connection's key source, and "open this record":
 * done (its plaintext handed back), wait (its keys are not here yet) or
 * none (report it as ciphertext).  It reads the connection's facts
 * (version, suite, randoms, role) and never calls the layers above: the
 * record layer decodes what it opened and then tells it whether the keys
 * switch (tt_dec_switch).
 */
#ifndef TT_DECRYPT_H
#define TT_DECRYPT_H

#include "conn.h"

/* What became of an encrypted record offered for decryption. */
enum tt_dec_result {
	TT_DEC_NONE = 0, /* not opened: report it as ciphertext */
	TT_DEC_OPENED,	 /* opened: the plaintext is in the struct tt_opened */
	TT_DEC_WAIT,	 /* its keys are not here yet: it waits */
	TT_DEC_EARLY,	 /* 0-RTT application data: counted in
			  * c->early_records, nothing to report */
};

/* A record's plaintext, valid until tt_dec_opened_free. */
struct tt_opened {
	uint8_t type; /* the inner content type */
	const uint8_t *p;
	uint32_t n;
	uint8_t *buf; /* what holds it, wiped and freed after */
	uint32_t cap;
};

/* Called when a record header is complete: whether the body of an
 * encrypted record of this type is needed (to decrypt it, or to find its
 * inner type), so that the record layer keeps it. */
bool tt_dec_need_body(struct tt_conn *c, enum tt_dir dir, uint8_t type);
/* Offers an encrypted record, whole (p NULL when its body was not kept).
 * Only TT_DEC_OPENED fills out. */
enum tt_dec_result tt_dec_open(struct tt_conn *c, enum tt_dir dir,
			       const uint8_t *hdr, const uint8_t *p, uint32_t n,
			       const struct tt_emit *em, struct tt_opened *out);
void tt_dec_opened_free(struct tt_opened *o);
/* After an opened record was decoded: a TLS 1.3 Finished or KeyUpdate in
 * it (c->d[dir].ksw_app, ksw_update) moves dir to its next secret. */
void tt_dec_switch(struct tt_conn *c, enum tt_dir dir,
		   const struct tt_emit *em);
/* ChangeCipherSpec in TLS <= 1.2: the direction's next records use the
 * keys of the handshake in progress. */
void tt_dec_ccs(struct tt_conn *c, enum tt_dir dir);
/* A connection joined after its handshake (the process attached later):
 * its secrets are found by a client random that went by unseen, so
 * neither direction is decrypted; the keys count as missing whenever
 * decryption is on. */
void tt_dec_unseen(struct tt_conn *c);
/* Stops waiting for keys in dir (they are counted as missing); records
 * offered after are not opened. */
void tt_dec_abandon(struct tt_conn *c, enum tt_dir dir);
/* Whether dir waits for keys. */
static inline bool tt_dec_waiting_keys(const struct tt_conn *c, enum tt_dir dir)
{
	return c->d[dir].kstate == TT_K_WAIT;
}
/* Wipes and frees a direction's secrets. */
void tt_dec_release(struct tt_conn *c, enum tt_dir dir);

#endif
