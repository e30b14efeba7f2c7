/* Extension blocks and 16-bit registry lists, shared by the parsers. */
#include "msg.h"
#include "names.h"

tt_rc tt_ext_next(struct tt_ext_walk *w, uint16_t *type, struct tt_cur *data)
{
	TRY(tt_u16(&w->all, type));
	TRY(tt_sub16(&w->all, data));
	for (size_t i = 0; i < w->nseen; i++)
		ENSURE(w->seen[i] != *type, TT_DECODE);
	ENSURE(w->nseen < w->max && w->nseen < TT_EXT_MAX, TT_DECODE);
	w->seen[w->nseen++] = *type;
	return TT_OK;
}

void tt_ev_list_u16(struct tt_event *ev, const char *key, enum tt_level l,
		    struct tt_cur v, const char *(*label)(uint16_t, char *))
{
	if (!ev || (uint8_t)l > ev->max)
		return; /* not shown: not walked */
	tt_ev_list_begin(ev, key, l);
	uint16_t x;
	char b[TT_NAMEBUF];
	while (tt_u16(&v, &x) == TT_OK)
		tt_ev_list_add(ev, label(x, b));
	tt_ev_list_end(ev);
}
