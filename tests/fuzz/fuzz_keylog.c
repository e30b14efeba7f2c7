/* libFuzzer target for decoder/base/keylog.c: the input is a key log file.
 * It is walked line by line with tt_keylog_next (from an exact-size copy,
 * so ASan sees any read past the end), and each line is checked:
 * - the line is one line: at least one byte, ending at its first newline
 *   or at the end of the input;
 * - tt_keylog_parse_line on the same bytes gives the same result;
 * - results are TT_OK, TT_DECODE or TT_UNSUPPORTED, with an all-zero
 *   entry unless an entry is returned;
 * - an entry has a known label and a 32- or 48-byte secret (48 for
 *   CLIENT_RANDOM), and written back out (upper-case hex, CRLF) it parses
 *   to the same entry.
 * Anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keylog.h"

static int entry_zero(const struct tt_keylog_entry *e)
{
	static const struct tt_keylog_entry z;
	return e->label == TT_KL_NONE && e->secret_len == 0 &&
	       memcmp(e->client_random, z.client_random,
		      sizeof(z.client_random)) == 0 &&
	       memcmp(e->secret, z.secret, sizeof(z.secret)) == 0;
}

static int entry_eq(const struct tt_keylog_entry *a,
		    const struct tt_keylog_entry *b)
{
	return a->label == b->label && a->secret_len == b->secret_len &&
	       memcmp(a->client_random, b->client_random,
		      sizeof(a->client_random)) == 0 &&
	       memcmp(a->secret, b->secret, sizeof(a->secret)) == 0;
}

static void check_result(tt_rc rc, const struct tt_keylog_entry *e)
{
	if (rc != TT_OK && rc != TT_DECODE && rc != TT_UNSUPPORTED)
		abort();
	if (rc != TT_OK || e->label == TT_KL_NONE) {
		if (!entry_zero(e))
			abort();
		return;
	}
	if (e->label <= TT_KL_NONE || e->label >= TT_KL_COUNT)
		abort();
	if (e->secret_len != 48 &&
	    (e->secret_len != 32 || e->label == TT_KL_CLIENT_RANDOM))
		abort();
}

static void round_trip(const struct tt_keylog_entry *e)
{
	char line[256];
	size_t n;
	int k = snprintf(line, sizeof(line), "%s ",
			 tt_keylog_label_name(e->label));
	struct tt_keylog_entry back;

	if (k <= 1 || (size_t)k >= sizeof(line) - 200)
		abort();
	n = (size_t)k;
	for (size_t i = 0; i < sizeof(e->client_random); i++)
		n += (size_t)snprintf(line + n, 3, "%02X", e->client_random[i]);
	line[n++] = ' ';
	for (size_t i = 0; i < e->secret_len; i++)
		n += (size_t)snprintf(line + n, 3, "%02X", e->secret[i]);
	memcpy(line + n, "\r\n", 2);
	n += 2;
	if (tt_keylog_parse_line(line, n, &back) != TT_OK ||
	    !entry_eq(&back, e))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	const char *p;
	size_t left = size;
	struct tt_keylog_entry e, again;
	tt_rc rc;

	if (!copy)
		abort();
	if (size)
		memcpy(copy, data, size);
	p = copy;

	/* the whole input as one line */
	rc = tt_keylog_parse_line(copy, size, &e);
	check_result(rc, &e);

	while (left) {
		size_t used = 0;
		const char *nl = memchr(p, '\n', left);

		rc = tt_keylog_next(p, left, &used, &e);
		if (used == 0 || used > left)
			abort();
		if (used != (nl ? (size_t)(nl - p) + 1 : left))
			abort();
		check_result(rc, &e);
		if (tt_keylog_parse_line(p, used, &again) != rc ||
		    !entry_eq(&again, &e))
			abort();
		if (rc == TT_OK && e.label != TT_KL_NONE)
			round_trip(&e);
		p += used;
		left -= used;
	}
	if (tt_keylog_next(p, 0, &left, &e) != TT_NEED_MORE || left != 0 ||
	    !entry_zero(&e))
		abort();
	free(copy);
	return 0;
}
