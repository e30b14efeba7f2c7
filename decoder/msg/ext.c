/* Extension blocks and 16-bit registry lists, shared by the parsers. */
#include "msg.h"
#include "names.h"

tt_rc tt_ext_split(struct tt_cur block, size_t max, struct tt_exts *out)
{
	out->n = 0;
	while (tt_cur_left(&block)) {
		uint16_t type;
		struct tt_cur data;
		TRY(tt_u16(&block, &type));
		TRY(tt_sub16(&block, &data));
		for (size_t i = 0; i < out->n; i++)
			ENSURE(out->type[i] != type, TT_DECODE);
		ENSURE(out->n < max && out->n < TT_EXT_MAX, TT_DECODE);
		out->type[out->n] = type;
		out->data[out->n] = data;
		out->n++;
	}
	return TT_OK;
}

bool tt_ext_has(const struct tt_exts *x, uint16_t type)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->type[i] == type)
			return true;
	return false;
}

void tt_ev_ext_names(struct tt_event *ev, enum tt_level l,
		     const struct tt_exts *x)
{
	if (!ev || (uint8_t)l > ev->max)
		return; /* not shown: not rendered */
	char b[TT_NAMEBUF];
	tt_ev_list_begin(ev, "extensions", l);
	for (size_t i = 0; i < x->n; i++)
		tt_ev_list_add(ev, tt_label_extension(x->type[i], b));
	tt_ev_list_end(ev);
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
