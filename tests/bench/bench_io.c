/*
 * bench_io: the cost of plain (non-TLS) read/write, for measuring what the
 * LD_PRELOAD shim adds to I/O it does not trace.
 *
 *   bench_io pipe N    write(64) then read(64) on one pipe, N times
 *   bench_io tcp N     the same over a 127.0.0.1 TCP connection made here
 *
 * Prints one line, `MODE ns_per_pair=X`, which scripts/bench.sh compares
 * with and without the shim in the same run.
 */

/*
 * Fortify would turn read() into __read_chk, a symbol the shim does not
 * interpose, and the benchmark would then measure nothing. Some compilers
 * define it by default, so drop it before any libc header sees it.
 */
#undef _FORTIFY_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAIR_LEN 64

/*
 * Plain HTTP, so the shim's first-bytes check classifies the fd as non-TLS
 * (a TLS record starts with a content type 20..24 and version 3.x) and the
 * timed loop measures its pass-through path.
 */
static const char payload[PAIR_LEN] =
	"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench_io\r\n\r\n";

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * One write and one read of PAIR_LEN bytes. The read loops because TCP may
 * hand the bytes over in pieces; a pipe write of 64 bytes is atomic
 * (< PIPE_BUF) and a blocking socket write of 64 bytes is whole, so a
 * short write means something is broken, not that we should retry.
 */
static void pair(int wfd, int rfd, char *buf)
{
	ssize_t n;
	size_t got = 0;

	n = write(wfd, payload, PAIR_LEN);
	if (n != PAIR_LEN)
		die("write");
	while (got < PAIR_LEN) {
		n = read(rfd, buf + got, PAIR_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("read");
		got += (size_t)n;
	}
}

static void open_pipe(int *wfd, int *rfd)
{
	int p[2];

	if (pipe(p) != 0)
		die("pipe");
	*rfd = p[0];
	*wfd = p[1];
}

/*
 * A loopback connection inside one process: a blocking connect to a
 * listening socket completes from the backlog, so no second thread is
 * needed before accept().
 */
static void open_tcp(int *wfd, int *rfd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int lfd, a, b, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("bind");
	if (listen(lfd, 1) != 0)
		die("listen");
	if (getsockname(lfd, (struct sockaddr *)&sa, &len) != 0)
		die("getsockname");

	a = socket(AF_INET, SOCK_STREAM, 0);
	if (a < 0)
		die("socket");
	if (connect(a, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect");
	b = accept(lfd, NULL, NULL);
	if (b < 0)
		die("accept");
	close(lfd);

	/* Without it Nagle would hold each 64-byte write back for an ACK. */
	if (setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		die("setsockopt TCP_NODELAY");

	*wfd = a;
	*rfd = b;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_io pipe|tcp N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char buf[PAIR_LEN];
	unsigned long n, warm, i;
	uint64_t t0, t1;
	char *end;
	int wfd, rfd;

	if (argc != 3)
		usage();
	errno = 0;
	n = strtoul(argv[2], &end, 10);
	if (errno != 0 || *end != '\0' || end == argv[2] || n == 0)
		usage();

	if (strcmp(argv[1], "pipe") == 0)
		open_pipe(&wfd, &rfd);
	else if (strcmp(argv[1], "tcp") == 0)
		open_tcp(&wfd, &rfd);
	else
		usage();

	/*
	 * Untimed warm-up: faults in the stack and socket buffers, binds lazy
	 * PLT entries, and lets the shim classify both fds before the clock
	 * starts, so only its steady state is timed.
	 */
	warm = n / 10 > 0 ? n / 10 : 1;
	for (i = 0; i < warm; i++)
		pair(wfd, rfd, buf);

	t0 = now_ns();
	for (i = 0; i < n; i++)
		pair(wfd, rfd, buf);
	t1 = now_ns();

	if (memcmp(buf, payload, PAIR_LEN) != 0) {
		fprintf(stderr, "bench_io: payload corrupted in transit\n");
		return 1;
	}
	printf("%s ns_per_pair=%.1f\n", argv[1], (double)(t1 - t0) / (double)n);
	return 0;
}
