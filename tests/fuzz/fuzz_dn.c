/* libFuzzer target for decoder/base/der.c: the input is tried as a DER Name
 * (rendered into outputs of several sizes, tiny ones included) and as a
 * DER certificate (whose issuer and subject are then rendered).  Every
 * output must be NUL-terminated valid UTF-8 of the length reported, and a
 * cut output a prefix of the whole one; anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dn.h"
#include "x509.h"
#include "utf8check.h"

#define FULL 65536

static int utf8_ok(const char *s, size_t n)
{
	return utf8_strict_ok(s, n);
}

static void check_out(const char *out, size_t cap, size_t len)
{
	if (cap == 0) {
		if (len != 0)
			abort();
		return;
	}
	if (len >= cap || out[len] != '\0' || strlen(out) != len ||
	    !utf8_ok(out, len))
		abort();
}

/* Renders one Name at every cap in caps[] and checks the results against
 * the uncut rendering. */
static void render_all(const uint8_t *der, size_t n)
{
	static char full[FULL];
	static const size_t caps[] = {0, 1, 2,	3,  4,	 5,
				      7, 8, 13, 32, 100, 4096};
	size_t flen = 0;
	tt_rc frc = tt_dn_render(der, n, full, sizeof(full), &flen);

	check_out(full, sizeof(full), flen);
	if (frc == TT_DECODE && flen != 0)
		abort();
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		size_t cap = caps[i], len = (size_t)-1;
		/* Exact-size buffers, so ASan sees a write past cap. */
		char *out = malloc(cap ? cap : 1);
		if (!out)
			abort();
		tt_rc rc = tt_dn_render(der, n, cap ? out : NULL, cap, &len);
		check_out(out, cap, len);
		if (frc == TT_DECODE) {
			if (rc != TT_DECODE)
				abort();
		} else if (cap > flen) {
			if (rc != frc || len != flen || memcmp(out, full, len))
				abort();
		} else {
			if (rc != TT_TOO_BIG || (cap && memcmp(out, full, len)))
				abort();
		}
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_x509 x;

	render_all(data, size);

	tt_rc rc = tt_x509_parse(data, size, &x);
	if (rc == TT_OK) {
		if (strlen(x.not_before) != 20 || strlen(x.not_after) != 20)
			abort();
		/* A certificate's names were checked while it was parsed. */
		char out[4096];
		size_t len;
		if (tt_dn_render(x.subject, x.subject_len, out, sizeof(out),
				 &len) == TT_DECODE ||
		    tt_dn_render(x.issuer, x.issuer_len, out, sizeof(out),
				 &len) == TT_DECODE)
			abort();
		render_all(x.subject, x.subject_len);
		render_all(x.issuer, x.issuer_len);
	} else if (rc != TT_DECODE || x.subject || x.issuer || x.not_after[0] ||
		   x.not_before[0]) {
		abort();
	}
	return 0;
}
