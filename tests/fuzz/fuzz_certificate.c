/* libFuzzer target for the Certificate parser (decoder/msg/cert.c).
 *
 * Input: one Certificate body, without its 4-byte handshake header.  It
 * is parsed for every version preset (none, TLS 1.0, 1.2, 1.3: the last
 * reads the TLS 1.3 form), both directions and each role
 * (tests/fuzz/common.h says what is checked).
 */
#include <stdint.h>
#include <stdlib.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parser(tt_hs_certificate, "certificate", data, size, NULL);
	return 0;
}
