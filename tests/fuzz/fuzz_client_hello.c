/* libFuzzer target for the ClientHello parser (decoder/msg/hello.c).
 *
 * Input: one ClientHello body, without its 4-byte handshake header.  It
 * is parsed for every version preset (none, TLS 1.0, 1.2, 1.3), both
 * directions and each role (tests/fuzz/common.h says what is checked);
 * the SNI kept on the connection must be valid UTF-8 of its length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

FZ_NOCOV static void check_sni(const struct tt_conn *c)
{
	const char *s = c->sni ? c->sni : "";
	size_t n = strnlen(s, TT_SNI_MAX + 1);
	if (n > TT_SNI_MAX || n != c->sni_len || (c->sni && n == 0) ||
	    !fz_utf8_ok(s, n))
		fz_fail("client_hello: sni of %zu bytes, sni_len %u", n,
			c->sni_len);
	if (c->role == TT_ROLE_UNKNOWN && n)
		fz_fail("client_hello: sni kept but no role learnt");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parser(tt_hs_client_hello, "client_hello", data, size, check_sni);
	return 0;
}
