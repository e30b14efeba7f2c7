/* One round on a fresh pipe: a byte written, read back and both ends
 * closed; 0 when it went through.  Static, so that each object that
 * includes it (got/io.c's libraries, tests/tools/got_host.c) makes those
 * calls through its own PLT and GOT. */
#ifndef GOT_IO_H
#define GOT_IO_H

#include <unistd.h>

static int pipe_round(void)
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

#endif
