/* A real TLS 1.2 exchange that starts with an SSLv2-compatible
 * ClientHello (RFC 5246 E.2), for tests.
 *
 * No client on the test machines sends that hello any more, but an
 * OpenSSL 3 server that allows TLS 1.2 still accepts it.  The server
 * here is OpenSSL (an RSA key and a self-signed CN=localhost certificate
 * made for the run: with no supported_groups, which this hello cannot
 * carry, OpenSSL picks no ECDHE suite, so the tlsgen EC chain cannot
 * serve); the client is the few steps of TLS 1.2 written out with
 * libcrypto, for one suite, TLS_RSA_WITH_AES_128_GCM_SHA256:
 *
 *   C: SSLv2-compatible ClientHello (version 3.3, challenge of chal_len
 *      bytes, cipher specs [0x00009c, SSL_CK_RC4_128_WITH_MD5,
 *      SSL_CK_DES_192_EDE3_CBC_WITH_MD5, 0x0000ff])
 *   S: ServerHello, Certificate, ServerHelloDone
 *   C: ClientKeyExchange, ChangeCipherSpec, Finished (AES-GCM)
 *   S: ChangeCipherSpec, Finished
 *   C: application data (app_bytes, if any), then close_notify
 *      (encrypted)
 *   S: close_notify (encrypted)
 *
 * The server must complete its handshake, read the application data and
 * the close_notify: what the client computed (the master secret from
 * the challenge padded to 32 bytes, the Finished over a transcript that
 * starts with the SSLv2-format hello) is checked by a real TLS stack.
 * The key log is the server's (CLIENT_RANDOM with the padded challenge),
 * as a server process with SSLKEYLOGFILE writes it.
 */
#ifndef V2HELLO_H
#define V2HELLO_H

#include <stddef.h>

#include "tlsgen.h"

struct v2hello_opts {
	size_t chal_len;  /* 16 to 32 */
	size_t app_bytes; /* client application data after the handshake */
};

/* Fills r (released with tlsgen_free) as tlsgen_run does: the two
 * streams, the order of the writes, the key log, the version and suite.
 * Returns 0 when the server completed the handshake and read the data
 * and the close_notify, else -1 with r->error set. */
int v2hello_run(const struct v2hello_opts *o, struct tlsgen_result *r);

#endif
