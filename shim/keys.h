/* TLS secrets inside the traced process: captured from OpenSSL through
 * its key-log callback (SSL_new and friends interposed), read from an NSS
 * key log file as it grows (TLSTRACE_KEYLOG), optionally exported
 * (TLSTRACE_KEYLOG_OUT), and handed to the decoder as its key source. */
#ifndef TT_KEYS_H
#define TT_KEYS_H

#include <stdint.h>

#include "config.h"
#include "conn.h"

/* Reads the configuration; loads nothing, opens nothing. */
void tt_keys_init(const struct tt_config *cfg);
/* The key source for new connections, or NULL with decryption off. */
const struct tt_keysrc *tt_keys_source(void);
/* Wipes what is held for a client random (the connection ended). */
void tt_keys_forget(const uint8_t *client_random);
/* In the child after fork(): locks as new. */
void tt_keys_fork_child(void);

#endif
