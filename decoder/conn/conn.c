/* Connection state: the role, the senders, decode errors and the one way
 * a direction stops.  Everything above reads and writes struct tt_conn;
 * only these functions act on it as a whole.
 */
#include <malloc.h>
#include <stdlib.h>

#include "conn.h"
#include "inflate.h"

void tt_conn_learn_role(struct tt_conn *c, enum tt_dir dir, enum tt_role sender)
{
	if (tt_conn_role(c) != TT_ROLE_UNKNOWN)
		return;
	enum tt_role other = sender == TT_ROLE_CLIENT ? TT_ROLE_SERVER
						      : TT_ROLE_CLIENT;
	uint8_t r = (uint8_t)(dir == TT_OUT ? sender : other);
	__atomic_store_n(&c->role, r, __ATOMIC_RELAXED);
}

void tt_emit_decode_error(const struct tt_emit *em, enum tt_dir dir,
			  const char *what, const char *detail)
{
	struct tt_event *ev = tt_ev_begin(em, "decode_error", TT_WARN, dir);
	tt_ev_str(ev, "error", TT_WARN, what);
	if (detail)
		tt_ev_str(ev, "detail", TT_WARN, detail);
	tt_ev_send(em, ev);
}

void tt_dir_zfree(struct tt_dirstate *d)
{
	if (!d->z)
		return;
	d->z->t->stream_free(d->z->t->ctx, d->z->s);
	free(d->z);
	d->z = NULL;
}

void tt_dir_stop(struct tt_conn *c, enum tt_dir dir, const char *what,
		 const char *detail, const struct tt_emit *em)
{
	struct tt_dirstate *d = &c->d[dir];
	if (!d->dead && what)
		tt_emit_decode_error(em, dir, what, detail);
	d->dead = true;
	tt_dir_zfree(d); /* nothing more goes through it */
	free(d->rbuf);
	free(d->hbuf);
	d->rbuf = d->hbuf = NULL;
	d->hlen = d->hcap = 0;
}

const char *tt_conn_keys_outcome(const struct tt_conn *c)
{
	if (c->dec_failed)
		return "failed";
	if (c->dec_nocrypto)
		return "no_libcrypto";
	if (c->keys_missing)
		return "missing";
	if (c->dec_unsupported)
		return "unsupported_suite";
	if (c->dec_draft)
		return "unsupported_version";
	if (c->dec_records)
		return "used";
	return NULL;
}

/* A block's cost: what malloc gave, and its header and alignment. */
static size_t block(const void *p)
{
	return p ? malloc_usable_size((void *)p) + 16 : 0;
}

size_t tt_conn_heap_bytes(const struct tt_conn *c)
{
	size_t n = block(c->sni) + block(c->ca_text) + block(c->msgs_more) +
		   block(c->alerts) + block(c->stls);
	for (int i = 0; i < 2; i++) {
		const struct tt_dirstate *d = &c->d[i];
		n += block(d->rbuf) + block(d->hbuf) + block(d->kd) +
		     block(d->q) + block(d->z);
	}
	return n;
}
