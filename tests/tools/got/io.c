/* The library the host of tests/integration/test_got.py calls through
 * (tests/tools/got_host.c), built several ways (Makefile: libgot_*.so):
 * a pipe written, read and closed by its own PLT and GOT. */
#include "io.h"

int io_round(void);

int io_round(void)
{
	return pipe_round();
}
