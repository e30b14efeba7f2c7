/*
 * hexfmt: prints what sprintf and __sprintf_chk (the fortified entry that
 * libssl calls) give for the format libssl writes its key log with,
 * "%02x", over every byte and beyond, and for formats next to it.  Run
 * with and without the shim it must print the same (tests/integration/
 * test_hexfmt.py): the shim answers "%02x" of a byte itself.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int __sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...);

static void show(const char *what, int r, const char *buf)
{
	printf("%s r=%d [%s]\n", what, r, buf);
}

int main(void)
{
	char buf[64];
	/* "%02x" of every byte and of values that are not bytes */
	static const unsigned extra[] = {256, 0x1ff, 0xabcd, 0xffffffffu};
	for (unsigned v = 0; v < 256; v++) {
		memset(buf, 'Z', sizeof(buf));
		int r = sprintf(buf, "%02x", v);
		char a[16];
		snprintf(a, sizeof(a), "s %u", v);
		show(a, r, buf);
		memset(buf, 'Z', sizeof(buf));
		r = __sprintf_chk(buf, 1, sizeof(buf), "%02x", v);
		snprintf(a, sizeof(a), "c %u", v);
		show(a, r, buf);
		/* the byte after the NUL is left as it was */
		if (buf[3] != 'Z')
			printf("c %u wrote past the NUL\n", v);
	}
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		show("s big", sprintf(buf, "%02x", extra[i]), buf);
		show("c big",
		     __sprintf_chk(buf, 1, sizeof(buf), "%02x", extra[i]), buf);
	}
	/* formats next to it, which go on to glibc */
	show("s X", sprintf(buf, "%02X", 0xab), buf);
	show("s 2", sprintf(buf, "%02x%02x", 1, 0xfe), buf);
	show("s x", sprintf(buf, "%x", 5), buf);
	show("s 3", sprintf(buf, "%03x", 5), buf);
	show("s p", sprintf(buf, "%02x!", 7), buf);
	show("s s", sprintf(buf, "%s-%d", "key", -3), buf);
	show("c 2", __sprintf_chk(buf, 1, sizeof(buf), "%02x%02x", 1, 0xfe),
	     buf);
	show("c 3", __sprintf_chk(buf, 1, 3, "%02x", 0x3c), buf);
	show("c s", __sprintf_chk(buf, 1, sizeof(buf), "%s=%u", "n", 42u), buf);
	return 0;
}
