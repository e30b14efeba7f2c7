/* NSS key log lines (the SSLKEYLOGFILE format):
 *
 *   <label> SP <client_random: 64 hex> SP <secret: hex>
 *
 * one a line, '#' starting a comment line.  CLIENT_RANDOM carries a TLS
 * 1.2 master secret (48 bytes); the TLS 1.3 labels carry a secret of the
 * suite's hash length (32 or 48 bytes).  Hex digits in either case.
 *
 * Parsing is bounded by the length given: nothing past it is read, and a
 * last line without a newline is still a line.  A line ends at "\n";
 * trailing spaces, tabs and a CR (CRLF files) are ignored.
 */
#ifndef TT_KEYLOG_H
#define TT_KEYLOG_H

#include <stddef.h>
#include <stdint.h>

#include "cursor.h"

/* The labels we use, in one list: the enum and the names come from it. */
#define TT_KEYLOG_LABELS(X)                                                    \
	X(CLIENT_RANDOM)                                                       \
	X(CLIENT_EARLY_TRAFFIC_SECRET)                                         \
	X(CLIENT_HANDSHAKE_TRAFFIC_SECRET)                                     \
	X(SERVER_HANDSHAKE_TRAFFIC_SECRET)                                     \
	X(CLIENT_TRAFFIC_SECRET_0)                                             \
	X(SERVER_TRAFFIC_SECRET_0)                                             \
	X(EXPORTER_SECRET)

/* clang-format off */
enum tt_keylog_label {
	TT_KL_NONE = 0, /* no entry: comment, blank or unused line */
#define TT_KL_ENUM_(name) TT_KL_##name,
	TT_KEYLOG_LABELS(TT_KL_ENUM_)
#undef TT_KL_ENUM_
	TT_KL_COUNT
};
/* clang-format on */

#define TT_KEYLOG_RANDOM_LEN 32
#define TT_KEYLOG_SECRET_MAX 48
/* Longest label accepted as a well-formed line with a label we do not
 * use, and longest hex field in such a line (in hex digits). */
#define TT_KEYLOG_LABEL_MAX 64
#define TT_KEYLOG_HEX_MAX   1024

struct tt_keylog_entry {
	enum tt_keylog_label label;
	uint8_t client_random[TT_KEYLOG_RANDOM_LEN];
	uint8_t secret[TT_KEYLOG_SECRET_MAX];
	uint8_t secret_len; /* 32 or 48 */
};

/* "CLIENT_RANDOM", ...; "" for TT_KL_NONE or an out-of-range value. */
const char *tt_keylog_label_name(enum tt_keylog_label l);
/* The label named by the n bytes at p ("CLIENT_RANDOM", ...), or
 * TT_KL_NONE for a name we do not use. */
enum tt_keylog_label tt_keylog_label_find(const char *p, size_t n);

/* Parses one line of n bytes (with or without its "\n" or "\r\n").
 *   TT_OK, e->label != TT_KL_NONE: an entry, in *e;
 *   TT_OK, e->label == TT_KL_NONE: a comment or blank line;
 *   TT_UNSUPPORTED: a well-formed line (LABEL SP hex SP hex, the label of
 *     capitals, digits and '_') whose label is not one we use, such as
 *     RSA or ECH_SECRET;
 *   TT_DECODE: anything else, including a known label with a client
 *     random or secret of the wrong length, or bytes after the line's
 *     first newline.
 * Unless an entry is returned, *e is all zero (label TT_KL_NONE). */
TT_MUST_USE tt_rc tt_keylog_parse_line(const char *p, size_t n,
				       struct tt_keylog_entry *e);

/* Parses the first line of a buffer of n bytes (the rest of a key log
 * file): *used is that line's length with its newline, at least 1 when n
 * > 0; results as tt_keylog_parse_line.  With n == 0, TT_NEED_MORE and
 * *used = 0. */
TT_MUST_USE tt_rc tt_keylog_next(const char *p, size_t n, size_t *used,
				 struct tt_keylog_entry *e);

#endif
