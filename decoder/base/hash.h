/* MD5 (RFC 1321) and SHA-256 (FIPS 180-2), for the TLS fingerprints
 * (JA3 is an MD5, JA4 a truncated SHA-256).
 *
 * Our own, small and pure: the fingerprints are computed on the hot path
 * of every ClientHello that is logged, and libcrypto is a guest loaded
 * only for decryption (docs/architecture.md), so the decoder does not
 * reach for it here.  Neither digest is used for anything secret.
 *
 * Each has a one-shot function over a buffer and an incremental form
 * (init, any number of updates, final) for text that is hashed as it is
 * produced, never held whole.
 */
#ifndef TT_HASH_H
#define TT_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TT_MD5_LEN    16
#define TT_SHA256_LEN 32

struct tt_md5 {
	uint32_t h[4];
	uint64_t len; /* bytes hashed so far */
	uint8_t buf[64];
};

struct tt_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
};

void tt_md5_init(struct tt_md5 *c);
void tt_md5_update(struct tt_md5 *c, const void *p, size_t n);
void tt_md5_final(struct tt_md5 *c, uint8_t out[TT_MD5_LEN]);
void tt_md5(const void *p, size_t n, uint8_t out[TT_MD5_LEN]);

void tt_sha256_init(struct tt_sha256 *c);
void tt_sha256_update(struct tt_sha256 *c, const void *p, size_t n);
void tt_sha256_final(struct tt_sha256 *c, uint8_t out[TT_SHA256_LEN]);
void tt_sha256(const void *p, size_t n, uint8_t out[TT_SHA256_LEN]);

/* The n bytes of b as lower-case hex into out (2n + 1 bytes, with the
 * NUL); returns out. */
char *tt_hex_lower(const uint8_t *b, size_t n, char *out);

#endif
