/* libFuzzer target for the CertificateRequest parser (decoder/msg/cert.c).
 *
 * Input: one CertificateRequest body, without its 4-byte handshake
 * header.  It is parsed for every version preset (none: TLS 1.2 form,
 * then the older one; TLS 1.0: no signature algorithms; TLS 1.2; TLS 1.3:
 * extensions), both directions and each role (tests/fuzz/common.h says
 * what is checked, the required certificate_request fields among it).
 */
#include <stdint.h>
#include <stdlib.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parser(tt_hs_certificate_request, "certificate_request", data, size,
		  NULL);
	return 0;
}
