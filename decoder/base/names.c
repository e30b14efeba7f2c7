/* IANA name tables (see names.h).
 *
 * Every lookup is a switch generated from a tables/<registry>.def list,
 * so the compiler rejects a value listed twice and picks the search
 * strategy (jump table or binary search) itself; there is no table to
 * keep sorted by hand and no mutable state, so every function is safe
 * from any thread or hook.
 */
#include <stdio.h>

#include "names.h"

/* The fallbacks go through buf so that a label is always a plain string
 * the formatters can print without knowing which case they are in.
 * GREASE is only checked after the table: no registry names a GREASE
 * value, and a name, if one ever appeared, should win.  8-bit registries
 * have no GREASE and print two hex digits.
 */
static const char *label(const char *name, uint16_t v, bool wide,
			 char buf[TT_NAMEBUF])
{
	if (name)
		return name;
	if (!wide)
		snprintf(buf, TT_NAMEBUF, "unknown(0x%02x)", (unsigned)v);
	else if (tt_is_grease16(v))
		snprintf(buf, TT_NAMEBUF, "grease(0x%04x)", (unsigned)v);
	else
		snprintf(buf, TT_NAMEBUF, "unknown(0x%04x)", (unsigned)v);
	return buf;
}

/* One registry's tt_name_<reg>() and tt_label_<reg>(), from its list and
 * the macro that turns one entry into a case. */
#define REGISTRY(reg, list, entry, type)                                       \
	const char *tt_name_##reg(type v)                                      \
	{                                                                      \
		switch (v) {                                                   \
			list(entry)                                            \
		}                                                              \
		return NULL;                                                   \
	}                                                                      \
	const char *tt_label_##reg(type v, char buf[TT_NAMEBUF])               \
	{                                                                      \
		return label(tt_name_##reg(v), v, sizeof(type) > 1, buf);      \
	}

#define NAME(v, id, name)                                                      \
	case v:                                                                \
		return name;
#define SUITE_NAME(v, id)                                                      \
	case v:                                                                \
		return "TLS_" #id;

REGISTRY(content_type, TT_CONTENT_TYPES, NAME, uint8_t)
REGISTRY(handshake, TT_HANDSHAKE_TYPES, NAME, uint8_t)
REGISTRY(alert, TT_ALERTS, NAME, uint8_t)
REGISTRY(alert_level, TT_ALERT_LEVELS, NAME, uint8_t)
REGISTRY(version, TT_VERSIONS, NAME, uint16_t)
REGISTRY(extension, TT_EXTENSIONS, NAME, uint16_t)
REGISTRY(cipher, TT_CIPHER_SUITES, SUITE_NAME, uint16_t)
REGISTRY(group, TT_GROUPS, NAME, uint16_t)
REGISTRY(sigscheme, TT_SIGSCHEMES, NAME, uint16_t)
REGISTRY(cert_type, TT_CERT_TYPES, NAME, uint8_t)
REGISTRY(compression, TT_COMPRESSION_METHODS, NAME, uint8_t)
REGISTRY(ec_point_format, TT_EC_POINT_FORMATS, NAME, uint8_t)
REGISTRY(psk_mode, TT_PSK_MODES, NAME, uint8_t)
