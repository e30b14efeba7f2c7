/* sprintf("%02x", byte), the way OpenSSL writes its key log.
 *
 * Once a key-log callback is set (tlstrace sets one to capture secrets),
 * libssl formats every secret as an NSS key log line with one
 * sprintf(p, "%02x", b) per byte: about 200 calls per TLS 1.3 handshake
 * and side, which through glibc's printf machinery cost more than all of
 * tlstrace's own decoding of that handshake (3% of the handshake by
 * themselves).  These interposers answer exactly that format, a byte in
 * a buffer of at least 3 bytes, with the same two lowercase digits, the
 * same NUL and the same return value; every other call goes on to glibc
 * unchanged (its v* variant, with the same arguments).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define EXPORT __attribute__((visibility("default")))

/* glibc's fortified variant, which libssl calls when it was built with
 * _FORTIFY_SOURCE (Debian's is). */
int __vsprintf_chk(char *s, int flag, size_t slen, const char *fmt, va_list ap);

/* Whether fmt is "%02x" and the byte was written (the argument of a
 * "%x" conversion is an unsigned int). */
static inline int byte_hex(char *s, size_t room, const char *fmt, va_list ap)
{
	static const char hx[] = "0123456789abcdef";
	if (fmt[0] != '%' || fmt[1] != '0' || fmt[2] != '2' || fmt[3] != 'x' ||
	    fmt[4] != 0 || room < 3)
		return 0;
	unsigned v = va_arg(ap, unsigned);
	if (v > 0xff)
		return 0;
	s[0] = hx[v >> 4];
	s[1] = hx[v & 15];
	s[2] = 0;
	return 1;
}

EXPORT int __sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...)
{
	va_list ap;
	int r;
	va_start(ap, fmt);
	if (byte_hex(s, slen, fmt, ap)) {
		va_end(ap);
		return 2;
	}
	va_end(ap);
	va_start(ap, fmt);
	r = __vsprintf_chk(s, flag, slen, fmt, ap);
	va_end(ap);
	return r;
}

EXPORT int sprintf(char *s, const char *fmt, ...)
{
	va_list ap;
	int r;
	va_start(ap, fmt);
	if (byte_hex(s, (size_t)-1, fmt, ap)) {
		va_end(ap);
		return 2;
	}
	va_end(ap);
	va_start(ap, fmt);
	r = vsprintf(s, fmt, ap);
	va_end(ap);
	return r;
}
