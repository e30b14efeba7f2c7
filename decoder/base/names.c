/* IANA name tables.  Each lookup is a switch generated from its
 * tables/<registry>.def X-macro list, so the compiler rejects a value
 * listed twice and picks the search strategy (jump table or binary
 * search) itself; there is no table to keep sorted by hand and no
 * mutable state, so every function is safe from any thread or hook.
 */
#include <stdio.h>

#include "names.h"

#define X(value, name) case value: return name;

const char *tt_name_content_type(uint8_t v)
{
	switch (v) {
#include "tables/content_type.def"
	}
	return NULL;
}

const char *tt_name_handshake(uint8_t v)
{
	switch (v) {
#include "tables/handshake.def"
	}
	return NULL;
}

const char *tt_name_alert(uint8_t v)
{
	switch (v) {
#include "tables/alert.def"
	}
	return NULL;
}

const char *tt_name_alert_level(uint8_t v)
{
	switch (v) {
#include "tables/alert_level.def"
	}
	return NULL;
}

const char *tt_name_version(uint16_t v)
{
	switch (v) {
#include "tables/version.def"
	}
	return NULL;
}

const char *tt_name_extension(uint16_t v)
{
	switch (v) {
#include "tables/extension.def"
	}
	return NULL;
}

const char *tt_name_cipher(uint16_t v)
{
	switch (v) {
#include "tables/cipher.def"
	}
	return NULL;
}

const char *tt_name_group(uint16_t v)
{
	switch (v) {
#include "tables/group.def"
	}
	return NULL;
}

const char *tt_name_sigscheme(uint16_t v)
{
	switch (v) {
#include "tables/sigscheme.def"
	}
	return NULL;
}

const char *tt_name_cert_type(uint8_t v)
{
	switch (v) {
#include "tables/cert_type.def"
	}
	return NULL;
}

const char *tt_name_compression(uint8_t v)
{
	switch (v) {
#include "tables/compression.def"
	}
	return NULL;
}

const char *tt_name_ec_point_format(uint8_t v)
{
	switch (v) {
#include "tables/ec_point_format.def"
	}
	return NULL;
}

const char *tt_name_psk_mode(uint8_t v)
{
	switch (v) {
#include "tables/psk_mode.def"
	}
	return NULL;
}

#undef X

/* The fallbacks go through buf so that a label is always a plain string
 * the formatters can print without knowing which case they are in.
 */
static const char *label8(const char *name, uint8_t v, char buf[TT_NAMEBUF])
{
	if (name)
		return name;
	snprintf(buf, TT_NAMEBUF, "unknown(0x%02x)", (unsigned)v);
	return buf;
}

/* GREASE is only checked after the table: no registry names a GREASE
 * value, and a name, if one ever appeared, should win.
 */
static const char *label16(const char *name, uint16_t v, char buf[TT_NAMEBUF])
{
	if (name)
		return name;
	if (tt_is_grease16(v))
		snprintf(buf, TT_NAMEBUF, "grease(0x%04x)", (unsigned)v);
	else
		snprintf(buf, TT_NAMEBUF, "unknown(0x%04x)", (unsigned)v);
	return buf;
}

const char *tt_label_content_type(uint8_t v, char buf[TT_NAMEBUF])
{
	return label8(tt_name_content_type(v), v, buf);
}

const char *tt_label_handshake(uint8_t v, char buf[TT_NAMEBUF])
{
	return label8(tt_name_handshake(v), v, buf);
}

const char *tt_label_alert(uint8_t v, char buf[TT_NAMEBUF])
{
	return label8(tt_name_alert(v), v, buf);
}

const char *tt_label_alert_level(uint8_t v, char buf[TT_NAMEBUF])
{
	return label8(tt_name_alert_level(v), v, buf);
}

const char *tt_label_version(uint16_t v, char buf[TT_NAMEBUF])
{
	return label16(tt_name_version(v), v, buf);
}

const char *tt_label_extension(uint16_t v, char buf[TT_NAMEBUF])
{
	return label16(tt_name_extension(v), v, buf);
}

const char *tt_label_cipher(uint16_t v, char buf[TT_NAMEBUF])
{
	return label16(tt_name_cipher(v), v, buf);
}

const char *tt_label_group(uint16_t v, char buf[TT_NAMEBUF])
{
	return label16(tt_name_group(v), v, buf);
}

const char *tt_label_sigscheme(uint16_t v, char buf[TT_NAMEBUF])
{
	return label16(tt_name_sigscheme(v), v, buf);
}

const char *tt_label_cert_type(uint8_t v, char buf[TT_NAMEBUF])
{
	return label8(tt_name_cert_type(v), v, buf);
}

const char *tt_label_compression(uint8_t v, char buf[TT_NAMEBUF])
{
	return label8(tt_name_compression(v), v, buf);
}

const char *tt_label_ec_point_format(uint8_t v, char buf[TT_NAMEBUF])
{
	return label8(tt_name_ec_point_format(v), v, buf);
}

const char *tt_label_psk_mode(uint8_t v, char buf[TT_NAMEBUF])
{
	return label8(tt_name_psk_mode(v), v, buf);
}
