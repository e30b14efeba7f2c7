/* A target for injectctl (tests/integration/test_inject.py), one
 * process per mode; it prints "ready PID" once set up, then one line per
 * thing that happens to it:
 *
 *   read     reads its stdin (a pipe) until EOF: "read N: DATA (registers
 *            intact)" or "read -1 errno NAME".  The read is a raw system
 *            call with known values in r8-r10, MXCSR and every vector
 *            register (ymm0-15 where the CPU has AVX, else xmm0-15),
 *            checked afterwards: what an injector fails to put back shows
 *            as "registers changed: ...".
 *   epoll    epoll_wait on its stdin: "epoll_wait N" or "epoll_wait -1
 *            errno NAME", then "read N: DATA" for what came.
 *   busy     getpid() and malloc/free in a loop, never a call that
 *            waits; "tick N" every 100 ms; ends after 60 s.
 *   seccomp  a filter that fails openat with EPERM, then as read.
 *   threads  as read, in a second thread, while the main thread waits
 *            for it in pthread_join (a futex, not a waiting call).
 *   leaderless  as read, in a second thread, once the main thread
 *            exited (pthread_exit: the leader is a zombie).
 *
 * SIGUSR1 has a handler (without SA_RESTART) that prints "signal N code
 * C pid P" from its siginfo. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void out(const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(STDOUT_FILENO, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		s += w;
		n -= (size_t)w;
	}
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	out(line, (size_t)n);
}

/* A number in decimal, async-signal-safely. */
static size_t put_num(char *p, long v)
{
	char tmp[24];
	size_t n = 0, i;
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10));
	if (v < 0)
		tmp[n++] = '-';
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	char line[96];
	size_t n = 0;
	int e = errno;

	(void)uc;
	memcpy(line + n, "signal ", 7);
	n += 7;
	n += put_num(line + n, sig);
	memcpy(line + n, " code ", 6);
	n += 6;
	n += put_num(line + n, si->si_code);
	memcpy(line + n, " pid ", 5);
	n += 5;
	n += put_num(line + n, si->si_pid);
	line[n++] = '\n';
	out(line, n);
	errno = e;
}

static const char *err_name(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "?";
}

#define MXCSR_TEST 0xff80u /* round toward zero, flush to zero, masked */

#ifdef __x86_64__
/* Each of the 16 vector registers i loaded from, or stored to, its slot
 * of in[] or out[]: ymm0-15 in slots of 32 bytes (AVX), xmm0-15 in slots
 * of 16. */
#define VEC16(op)                                                              \
	op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10)     \
		op(11) op(12) op(13) op(14) op(15)
#define LOAD_YMM(i)  "vmovdqu " #i "*32(%[in]), %%ymm" #i "\n\t"
#define STORE_YMM(i) "vmovdqu %%ymm" #i ", " #i "*32(%[out])\n\t"
#define LOAD_XMM(i)  "movdqu " #i "*16(%[in]), %%xmm" #i "\n\t"
#define STORE_XMM(i) "movdqu %%xmm" #i ", " #i "*16(%[out])\n\t"

/* The raw read between loads and stores, MXCSR_TEST in MXCSR meanwhile
 * (then the default back), and tail last; one asm statement, so that
 * nothing the compiler emits runs between them. */
#define READ_BETWEEN(loads, stores, tail)                                      \
	__asm__ volatile(                                                      \
		"ldmxcsr %[mxi]\n\t" loads "syscall\n\t" stores                \
		"stmxcsr %[mxo]\n\t"                                           \
		"ldmxcsr %[mxd]\n\t" tail                                      \
		: "+a"(ret), "+r"(r8), "+r"(r9), "+r"(r10), [mxo] "=m"(mxo)    \
		: "D"((long)fd), "S"(buf), "d"(len), [in] "r"(in),             \
		  [out] "r"(outv), [mxi] "m"(mxi), [mxd] "m"(mxd)              \
		: "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3",      \
		  "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",     \
		  "xmm11", "xmm12", "xmm13", "xmm14", "xmm15")

/* read(fd, buf, len) as a raw system call, with in[] in the vector
 * registers (ymm0-15 with avx, else xmm0-15), gp[] in r8-r10 and
 * MXCSR_TEST in MXCSR; what they hold afterwards goes back to out[], gp[]
 * and *mx. */
static long read_vec(int avx, int fd, void *buf, size_t len,
		     const unsigned char *in, unsigned char *outv,
		     uint64_t gp[3], unsigned *mx)
{
	register uint64_t r8 __asm__("r8") = gp[0];
	register uint64_t r9 __asm__("r9") = gp[1];
	register uint64_t r10 __asm__("r10") = gp[2];
	unsigned mxi = MXCSR_TEST, mxo = 0, mxd = 0x1f80;
	long ret = SYS_read;

	if (avx)
		READ_BETWEEN(VEC16(LOAD_YMM), VEC16(STORE_YMM),
			     "vzeroupper\n\t");
	else
		READ_BETWEEN(VEC16(LOAD_XMM), VEC16(STORE_XMM), "");
	gp[0] = r8;
	gp[1] = r9;
	gp[2] = r10;
	*mx = mxo;
	return ret;
}
#endif

/* read() with the registers checked: its result (-errno on failure) and
 * a verdict on them. */
static long checked_read(int fd, char *buf, size_t len, char *verdict,
			 size_t cap)
{
#ifdef __x86_64__
	static const uint64_t gp_in[3] = {0x0808080808080808ull,
					  0x0909090909090909ull,
					  0x1010101010101010ull};
	unsigned char in[512], outv[512];
	uint64_t gp[3];
	int avx = __builtin_cpu_supports("avx");
	size_t width = avx ? 32 : 16, i, n = 0;
	unsigned mx;
	long ret;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	memset(outv, 0, sizeof(outv));
	memcpy(gp, gp_in, sizeof(gp));
	ret = read_vec(avx, fd, buf, len, in, outv, gp, &mx);
	n = (size_t)snprintf(verdict, cap, "registers changed:");
	for (i = 0; i < 16; i++)
		if (memcmp(in + i * width, outv + i * width, width) != 0)
			n += (size_t)snprintf(verdict + n, cap - n, " %s%zu",
					      avx ? "ymm" : "xmm", i);
	for (i = 0; i < 3; i++)
		if (gp[i] != gp_in[i])
			n += (size_t)snprintf(verdict + n, cap - n, " r%zu",
					      8 + i);
	if (mx != MXCSR_TEST)
		n += (size_t)snprintf(verdict + n, cap - n, " mxcsr(%#x)", mx);
	if (n == strlen("registers changed:"))
		snprintf(verdict, cap, "registers intact");
	return ret;
#else
	long ret = read(fd, buf, len);

	snprintf(verdict, cap, "registers not checked");
	return ret < 0 ? -errno : ret;
#endif
}

static int read_loop(void)
{
	char buf[4096], verdict[256];

	for (;;) {
		long n = checked_read(STDIN_FILENO, buf, sizeof(buf) - 1,
				      verdict, sizeof(verdict));

		if (n < 0) {
			say("read -1 errno %s", err_name((int)-n));
			continue;
		}
		if (n == 0)
			return 0;
		buf[n] = '\0';
		if (buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		say("read %ld: %s (%s)", n, buf, verdict);
	}
}

static int epoll_loop(void)
{
	struct epoll_event ev = {.events = EPOLLIN}, got;
	char buf[4096];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev) != 0) {
		say("epoll: %s", strerror(errno));
		return 1;
	}
	for (;;) {
		int n = epoll_wait(ep, &got, 1, -1);
		ssize_t r;

		if (n < 0) {
			say("epoll_wait -1 errno %s", err_name(errno));
			continue;
		}
		say("epoll_wait %d", n);
		r = read(STDIN_FILENO, buf, sizeof(buf) - 1);
		if (r <= 0)
			return 0;
		buf[r] = '\0';
		if (buf[r - 1] == '\n')
			buf[r - 1] = '\0';
		say("read %zd: %s", r, buf);
	}
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int busy_loop(void)
{
	long start = ms_now(), next = start + 100, ticks = 0;
	unsigned seed = 1;

	while (ms_now() - start < 60000) {
		void *p;

		syscall(SYS_getpid);
		seed = seed * 1103515245u + 12345u;
		p = malloc(16 + (seed >> 16) % 4096);
		if (p)
			memset(p, 1, 16);
		free(p);
		if (ms_now() >= next) {
			say("tick %ld", ++ticks);
			next += 100;
		}
	}
	return 0;
}

static int no_openat(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		say("seccomp: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void *reader(void *arg)
{
	(void)arg;
	return (void *)(long)read_loop();
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t th;
	void *rv;

	if (argc != 2) {
		fputs("usage: inject_host read|epoll|busy|seccomp|threads|leaderless\n",
		      stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	if (strcmp(argv[1], "seccomp") == 0 && no_openat() != 0)
		return 1;
	say("ready %d", (int)getpid());
	if (strcmp(argv[1], "read") == 0 || strcmp(argv[1], "seccomp") == 0)
		return read_loop();
	if (strcmp(argv[1], "epoll") == 0)
		return epoll_loop();
	if (strcmp(argv[1], "busy") == 0)
		return busy_loop();
	if (strcmp(argv[1], "threads") == 0 ||
	    strcmp(argv[1], "leaderless") == 0) {
		if (pthread_create(&th, NULL, reader, NULL) != 0)
			return 1;
		if (argv[1][0] == 'l')
			pthread_exit(NULL);
		pthread_join(th, &rv);
		return (int)(long)rv;
	}
	fputs("usage: inject_host read|epoll|busy|seccomp|threads|leaderless\n",
	      stderr);
	return 2;
}
