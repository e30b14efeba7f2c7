/* TLS secrets inside the traced process: captured from OpenSSL and
 * GnuTLS through their key-log callbacks (shim/ssl.c, shim/gnutls.c),
 * read from an NSS key log file as it grows (TLSTRACE_KEYLOG),
 * optionally exported (TLSTRACE_KEYLOG_OUT), and handed to the decoder as
 * its key source. */
#ifndef TT_KEYS_H
#define TT_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "conn.h"

/* tlstrace -p detached: secrets handed over from now on are dropped
 * (never kept, never exported). */
void tt_keys_stop(void);
/* Reads the configuration; loads nothing, opens nothing. */
void tt_keys_init(const struct tt_config *cfg);
/* Whether secrets are captured at all (decryption on). */
bool tt_keys_on(void);
/* One NSS key log line from the program's TLS library: stored, and
 * exported when it is new.  Anything else is ignored. */
void tt_keys_add_line(const char *line);
/* One secret from a TLS library's callback that hands it as bytes (not
 * as a key log line): label is its NSS key log label
 * ("CLIENT_HANDSHAKE_TRAFFIC_SECRET"...), cr the connection's client
 * random (32 bytes).  Stored and exported as a key log line would be;
 * a label we do not use or a length no suite has is ignored (false).
 * first: a secret already held under that label and client random stays
 * (for a secret whose connection was inferred, tt_trace_here_hello: one
 * label has one value per client random, so a different one belongs to
 * another connection). */
bool tt_keys_add_secret(const char *label, const uint8_t *cr,
			const uint8_t *secret, size_t len, bool first);
/* Our key-log callback is on some TLS library's context or session:
 * secrets will come, so records wait for them. */
void tt_keys_hooked(void);
/* A TLS library in this process cannot give some of its secrets: text
 * (a static string) says which, for the summary of a connection whose
 * keys did not come.  Each text is kept once. */
void tt_keys_note(const char *text);
/* Secrets can come only from the key log file: no TLS library in this
 * process has our callback.  Such a library writes a secret as it makes
 * it, inside the call that reads or writes the handshake, so a record
 * still waiting at the connection's next call will get none. */
bool tt_keys_file_only(void);
/* The key source for new connections, or NULL with decryption off. */
const struct tt_keysrc *tt_keys_source(void);
/* The labels of the secrets held for client random cr (bit l for enum
 * tt_keylog_label l). */
uint32_t tt_keys_held(const uint8_t *cr);
/* The NSS key log lines of the secrets held for client random cr
 * whose labels are not in *have (bit l for enum tt_keylog_label l),
 * appended to out as far as whole lines fit in cap bytes, their bits
 * added to *have; returns the bytes written (the caller wipes them). */
#define TT_KEYS_LINES_MAX (TT_KL_COUNT * 232)
size_t tt_keys_lines(const uint8_t *cr, uint32_t *have, char *out, size_t cap);
/* Wipes what is held for a client random (the connection ended). */
void tt_keys_forget(const uint8_t *client_random);
/* In the child after fork(): locks as new. */
void tt_keys_fork_child(void);

#endif
