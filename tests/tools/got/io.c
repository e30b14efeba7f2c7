/* The library the host of tests/integration/test_got.py calls through
 * (tests/tools/got_host.c), built several ways (Makefile: libgot_*.so):
 * a pipe written, read and closed by its own PLT and GOT. */
#include <unistd.h>

int io_round(void);

int io_round(void)
{
	int p[2];
	char c = 'x';
	if (pipe(p) != 0)
		return -1;
	int ok = write(p[1], &c, 1) == 1 && read(p[0], &c, 1) == 1 && c == 'x';
	close(p[0]);
	close(p[1]);
	return ok ? 0 : -1;
}
