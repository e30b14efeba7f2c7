/* A stand-in for libtlstrace.so, loaded by injectctl into inject_host
 * (tests/integration/test_inject.py): the entry points tlstrace -p calls,
 * and a data symbol to read back.
 *
 * tlstrace_attach(block): the block's first line names a file; the whole
 * block is written to it.  A line "raise" in it makes the function send
 * its own process SIGUSR1 first, so that a signal arrives while the
 * injected call runs.  A line "hang" makes it wait for ever, a line
 * "crash" makes it write to address 0, before anything else.  Returns
 * 42.
 * tlstrace_detach(): 0 after an attach, else -1.
 * tlstrace_state: 0 loaded, 1 attached, 2 detached. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int tlstrace_state;
EXPORT int tlstrace_attach(const char *block);
EXPORT int tlstrace_detach(void);

int tlstrace_attach(const char *block)
{
	char path[PATH_MAX];
	size_t n = strcspn(block, "\n"), len = strlen(block), done = 0;
	int fd;

	if (n == 0 || n >= sizeof(path))
		return -1;
	memcpy(path, block, n);
	path[n] = '\0';
	if (strstr(block, "\nhang\n"))
		for (;;)
			pause();
	if (strstr(block, "\ncrash\n"))
		*(volatile int *)0 = 1;
	if (strstr(block, "\nraise\n"))
		kill(getpid(), SIGUSR1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t w = write(fd, block + done, len - done);

		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	close(fd);
	tlstrace_state = 1;
	return 42;
}

int tlstrace_detach(void)
{
	if (tlstrace_state != 1)
		return -1;
	tlstrace_state = 2;
	return 0;
}
