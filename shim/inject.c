/* The ptrace injector of `tlstrace -p PID` (shim/inject.h: what it does
 * and what the stopped thread sees afterwards).
 *
 * Before anything is stopped, /proc says whether the process can be
 * worked on at all (inject_check): its owner, its tracer, seccomp, Go or
 * statically linked, its libc (the very file tlstrace runs on, by GNU
 * build-id: the addresses of dlopen and dlerror are read from that
 * file's .dynsym and the offset-0 mapping of it in /proc/PID/maps), and
 * whether the library is mapped there already.
 *
 * Then one thread is attached (PTRACE_SEIZE, PTRACE_INTERRUPT) and held
 * at a safe point (at_safe_point() says which and why); its registers
 * and its whole extended FP state are saved; below its stack's red zone
 * go a return address of 0 and the strings and block the calls take;
 * each call is the thread jumping to a function with its arguments in
 * rdi and rsi, and ends when the function returns to address 0: a
 * SIGSEGV with si_addr 0, seen by us as a signal-delivery-stop and never
 * delivered.  Afterwards the stack bytes, the FP state and the registers
 * are put back as they were, signals that came meanwhile are delivered,
 * and the thread is detached.
 *
 * Every wait is bounded; every read of a file of the process (its libc,
 * the library) is a bounded pread that trusts no size in it.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"
#include "launch.h"

#ifndef __x86_64__
#error "shim/inject.c knows the registers and calling convention of x86_64 Linux only"
#endif

/* Waits, in milliseconds. */
#define STOP_MS	      2000 /* for an interrupted thread to stop */
#define SAFE_POINT_MS 2000 /* for it to reach a waiting system call */
#define CALL_MS	      5000 /* for an injected call to return */
#define SIGNAL_MS     1000 /* for a held signal's delivery stop */

/* The System V ABI's red zone: the 128 bytes below rsp that the code
 * running there may use without moving rsp. */
#define RED_ZONE 128
/* The extended FP state (XSAVE area) is at most a few pages, with AMX. */
#define XSTATE_MAX (64u << 10)
/* The dlerror() text read back. */
#define ERRTEXT_MAX 1024
/* Signals held while the thread is ours, each with its siginfo. */
#define HELD_MAX 64
/* A /proc status file. */
#define STATUS_MAX 16384

/* What is read of an ELF file: no real library comes near these. */
#define PHDRS_MAX    65536u
#define SHDRS_MAX    (4u << 20)
#define SYMTAB_MAX   (16u << 20)
#define NOTE_MAX     65536u
#define BUILD_ID_MAX 64

/* The kernel's own codes for a system call cut short by a signal or a
 * ptrace stop (include/linux/errno.h; not in the uapi headers). */
#define ERESTARTSYS_	       512
#define ERESTARTNOINTR_	       513
#define ERESTARTNOHAND_	       514
#define ERESTART_RESTARTBLOCK_ 516

/* glibc's flag for its private __libc_dlopen_mode (dlfcn/dlfcn.h). */
#define RTLD_DLOPEN_ 0x80000000
#define RTLD_NOW_    0x00002

#define EFLAGS_DF 0x400u

static int fail(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* -1, with the reason in @why. */
static int fail(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why && cap) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- /proc ---- */

/* At most @cap - 1 bytes of a file, NUL-terminated: their length, or -1
 * with errno set. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (done < cap - 1) {
		ssize_t n = read(fd, buf + done, cap - 1 - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	buf[done] = '\0';
	return (ssize_t)done;
}

struct status {
	char name[64];
	char state;
	pid_t tgid, tracer;
	unsigned long uid[4], gid[4];
	int seccomp;
	unsigned long long sigblk, sigign, sigcgt;
};

/* /proc/PID/status, or that of thread @tid of PID when @tid is not 0:
 * 0, or -1 with errno set. */
static int read_status(pid_t pid, pid_t tid, struct status *st)
{
	char path[64], *buf, *line, *next;
	int ret = -1;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid,
			 tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	buf = malloc(STATUS_MAX);
	if (!buf)
		return -1;
	if (read_small(path, buf, STATUS_MAX) < 0)
		goto out;
	memset(st, 0, sizeof(*st));
	st->seccomp = -1;
	for (line = buf; *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		/* at most one of these matches a line */
		(void)(sscanf(line, "Name:\t%63[^\n]", st->name) == 1 ||
		       sscanf(line, "State:\t%c", &st->state) == 1 ||
		       sscanf(line, "Tgid:\t%d", &st->tgid) == 1 ||
		       sscanf(line, "TracerPid:\t%d", &st->tracer) == 1 ||
		       sscanf(line, "Uid:\t%lu %lu %lu %lu", &st->uid[0],
			      &st->uid[1], &st->uid[2], &st->uid[3]) == 4 ||
		       sscanf(line, "Gid:\t%lu %lu %lu %lu", &st->gid[0],
			      &st->gid[1], &st->gid[2], &st->gid[3]) == 4 ||
		       sscanf(line, "Seccomp:\t%d", &st->seccomp) == 1 ||
		       sscanf(line, "SigBlk:\t%llx", &st->sigblk) == 1 ||
		       sscanf(line, "SigIgn:\t%llx", &st->sigign) == 1 ||
		       sscanf(line, "SigCgt:\t%llx", &st->sigcgt) == 1);
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

/* Whether this process has CAP_SYS_PTRACE (effective), which lifts the
 * same-user and dumpable rules (and Yama's modes 1 and 2). */
static int cap_sys_ptrace(void)
{
	char *buf = malloc(STATUS_MAX), *p;
	unsigned long long caps = 0;

	if (!buf)
		return 0;
	if (read_small("/proc/self/status", buf, STATUS_MAX) >= 0) {
		p = strstr(buf, "\nCapEff:\t");
		if (p)
			sscanf(p, "\nCapEff:\t%llx", &caps);
	}
	free(buf);
	return (caps >> 19) & 1; /* CAP_SYS_PTRACE */
}

/* kernel.yama.ptrace_scope, or -1 without Yama. */
static int yama_scope(void)
{
	char buf[16];

	if (read_small("/proc/sys/kernel/yama/ptrace_scope", buf,
		       sizeof(buf)) <= 0)
		return -1;
	return atoi(buf);
}

struct mapping {
	uint64_t start, end, off, ino;
	unsigned maj, min;
	char path[PATH_MAX + 16];
};

/* Calls @match for the file mappings of PID in the maps of its thread
 * @tid (the leader's are empty once it exited: a thread that lives on
 * shows them), in order, until it returns non-zero; that mapping is then
 * in *@m and 1 is returned.  0: none matched; -1: the map cannot be read
 * (errno). */
static int scan_maps(pid_t pid, pid_t tid,
		     int (*match)(const struct mapping *m, const void *arg),
		     const void *arg, struct mapping *m)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/maps", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!ret && (n = getline(&line, &cap, f)) > 0) {
		int at = 0;

		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (sscanf(line,
			   "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64
			   " %x:%x %" SCNu64 " %n",
			   &m->start, &m->end, &m->off, &m->maj, &m->min,
			   &m->ino, &at) < 6 ||
		    at == 0 || line[at] != '/')
			continue;
		if (strlen(line + at) >= sizeof(m->path))
			continue;
		strcpy(m->path, line + at);
		ret = match(m, arg) ? 1 : 0;
	}
	free(line);
	fclose(f);
	return ret;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

#define DELETED " (deleted)"

/* glibc's C library: libc.so.6 (libc-2.NN.so before 2.34), offset 0. */
static int match_libc(const struct mapping *m, const void *arg)
{
	const char *b = base_name(m->path);
	size_t n = strlen(b);

	(void)arg;
	if (m->off != 0)
		return 0;
	if (ends_with(b, DELETED))
		n -= strlen(DELETED);
	return (n == 9 && memcmp(b, "libc.so.6", 9) == 0) ||
	       (n > 8 && memcmp(b, "libc-", 5) == 0 &&
		memcmp(b + n - 3, ".so", 3) == 0);
}

struct lib_id {
	const char *path; /* as the process names it */
	dev_t dev;
	ino_t ino;
	int any_tlstrace; /* also any file named libtlstrace.so */
};

/* The offset-0 mapping of the library: by path, by device and inode, or
 * (when asked) by the name libtlstrace.so. */
static int match_lib(const struct mapping *m, const void *arg)
{
	const struct lib_id *id = arg;

	if (m->off != 0)
		return 0;
	if (strcmp(m->path, id->path) == 0)
		return 1;
	if (id->ino && m->ino == (uint64_t)id->ino &&
	    m->maj == major(id->dev) && m->min == minor(id->dev))
		return 1;
	return id->any_tlstrace &&
	       strcmp(base_name(m->path), "libtlstrace.so") == 0;
}

/* The file of a mapping as the process sees it: through
 * /proc/PID/map_files (the very file mapped, even when it was replaced
 * since; root only), else by its path under the root directory of its
 * thread @tid (the process's own root and mounts).  -1 with errno set. */
static int open_mapped(pid_t pid, pid_t tid, const struct mapping *m)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 pid, m->start, m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (ends_with(m->path, DELETED)) {
		errno = ENOENT;
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/root%s", pid, tid,
		 m->path);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* ---- ELF (64-bit, little-endian: x86_64) ---- */

struct elf_info {
	uint64_t load_vaddr; /* the first PT_LOAD's page */
	unsigned char build_id[BUILD_ID_MAX];
	size_t build_id_len;
};

struct elf_sym {
	const char *name;
	unsigned char type; /* STT_FUNC or STT_OBJECT */
	int found;
	uint64_t value, size;
};

/* [@off, @off + @len) in a fresh buffer, when @len is at most @cap. */
static void *pread_alloc(int fd, uint64_t size, uint64_t off, uint64_t len,
			 uint64_t cap)
{
	void *buf;

	if (len > cap)
		return NULL;
	buf = malloc(len ? (size_t)len : 1);
	if (buf && pread_exact(fd, size, buf, (size_t)len, off) != 0) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

/* The GNU build-id note in a PT_NOTE segment, if there is one. */
static void note_build_id(const unsigned char *p, size_t n, size_t align,
			  struct elf_info *ei)
{
	size_t pos = 0;

	while (n >= 12 && pos <= n - 12) {
		uint32_t namesz, descsz, type;

		memcpy(&namesz, p + pos, 4);
		memcpy(&descsz, p + pos + 4, 4);
		memcpy(&type, p + pos + 8, 4);
		pos += 12;
		if (namesz > n - pos)
			return;
		if (type == NT_GNU_BUILD_ID && namesz == 4 &&
		    memcmp(p + pos, "GNU", 4) == 0) {
			pos += (4 + align - 1) & ~(align - 1);
			if (pos > n || descsz > n - pos || descsz == 0 ||
			    descsz > BUILD_ID_MAX)
				return;
			memcpy(ei->build_id, p + pos, descsz);
			ei->build_id_len = descsz;
			return;
		}
		pos += (namesz + align - 1) & ~(align - 1);
		if (pos > n || descsz > n - pos)
			return;
		pos += (descsz + align - 1) & ~(align - 1);
	}
}

/* The dynamic symbols named in @syms (defined ones of their type; the
 * first of a name wins: glibc's versions of dlopen share one address). */
static int find_syms(int fd, uint64_t size, const Elf64_Ehdr *eh,
		     struct elf_sym *syms, size_t nsyms)
{
	Elf64_Shdr *sh = NULL;
	Elf64_Sym *tab = NULL;
	char *str = NULL;
	uint64_t strsz;
	size_t i, j, count;
	int ret = -1;

	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0)
		return -1;
	sh = pread_alloc(fd, size, eh->e_shoff,
			 (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), SHDRS_MAX);
	if (!sh)
		return -1;
	for (i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_DYNSYM)
			break;
	if (i == eh->e_shnum || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
	    sh[i].sh_link >= eh->e_shnum ||
	    sh[sh[i].sh_link].sh_type != SHT_STRTAB)
		goto out;
	strsz = sh[sh[i].sh_link].sh_size;
	tab = pread_alloc(fd, size, sh[i].sh_offset, sh[i].sh_size, SYMTAB_MAX);
	str = pread_alloc(fd, size, sh[sh[i].sh_link].sh_offset, strsz,
			  SYMTAB_MAX);
	if (!tab || !str)
		goto out;
	count = (size_t)(sh[i].sh_size / sizeof(Elf64_Sym));
	for (i = 0; i < count; i++) {
		const char *name;
		size_t room;

		if (tab[i].st_shndx == SHN_UNDEF || tab[i].st_name >= strsz)
			continue;
		name = str + tab[i].st_name;
		room = (size_t)(strsz - tab[i].st_name);
		for (j = 0; j < nsyms; j++) {
			size_t len = strlen(syms[j].name);

			if (syms[j].found ||
			    ELF64_ST_TYPE(tab[i].st_info) != syms[j].type ||
			    len >= room || memcmp(name, syms[j].name, len + 1))
				continue;
			syms[j].found = 1;
			syms[j].value = tab[i].st_value;
			syms[j].size = tab[i].st_size;
		}
	}
	ret = 0;
out:
	free(str);
	free(tab);
	free(sh);
	return ret;
}

/* An x86_64 ELF file's first loaded page and GNU build-id, and the
 * dynamic symbols in @syms: 0, or -1 with a reason in *@err. */
static int elf_read(int fd, struct elf_info *ei, struct elf_sym *syms,
		    size_t nsyms, const char **err)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	struct stat st;
	uint64_t size;
	int load = 0;
	size_t i;

	memset(ei, 0, sizeof(*ei));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*err = "not a regular file";
		return -1;
	}
	size = (uint64_t)st.st_size;
	if (pread_exact(fd, size, &eh, sizeof(eh), 0) != 0 ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64) {
		*err = "not an x86_64 ELF file";
		return -1;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    !(ph = pread_alloc(fd, size, eh.e_phoff,
			       (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr),
			       PHDRS_MAX))) {
		*err = "no program headers";
		return -1;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !load) {
			load = 1;
			ei->load_vaddr = ph[i].p_vaddr & ~(uint64_t)0xfff;
		} else if (ph[i].p_type == PT_NOTE && !ei->build_id_len) {
			unsigned char *n = pread_alloc(fd, size, ph[i].p_offset,
						       ph[i].p_filesz,
						       NOTE_MAX);

			if (n)
				note_build_id(n, (size_t)ph[i].p_filesz,
					      ph[i].p_align == 8 ? 8 : 4, ei);
			free(n);
		}
	}
	free(ph);
	if (!load) {
		*err = "nothing to load";
		return -1;
	}
	if (nsyms && find_syms(fd, size, &eh, syms, nsyms) != 0) {
		*err = "no readable dynamic symbol table";
		return -1;
	}
	return 0;
}

/* A build-id in hex. */
static void hex_id(const struct elf_info *ei, char *out, size_t cap)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < ei->build_id_len && 2 * i + 2 < cap; i++)
		sprintf(out + 2 * i, "%02x", ei->build_id[i]);
}

/* ---- the process's memory ---- */

/* @len bytes at @at in the memory of thread @tid (its process's) to or
 * from @buf: process_vm_readv/writev, else /proc/TID/mem (which also
 * writes pages the process cannot).  0, or -1 with errno set. */
static int mem_rw(pid_t tid, uint64_t at, void *buf, size_t len, int write)
{
	struct iovec local = {buf, len}, remote = {(void *)at, len};
	char path[64];
	size_t done = 0;
	ssize_t n;
	int fd, e;

	n = write ? process_vm_writev(tid, &local, 1, &remote, 1, 0)
		  : process_vm_readv(tid, &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", tid);
	fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (done < len) {
		n = write ? pwrite(fd, (char *)buf + done, len - done,
				   (off_t)(at + done))
			  : pread(fd, (char *)buf + done, len - done,
				  (off_t)(at + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EFAULT;
			close(fd);
			errno = e;
			return -1;
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

/* The NUL-terminated string at @at in PID, at most @cap - 1 bytes of it,
 * read a page at most at a time (it may end just before an unmapped
 * one). */
static int mem_string(pid_t tid, uint64_t at, char *out, size_t cap)
{
	size_t done = 0;

	while (done < cap - 1) {
		size_t page = 4096 - (size_t)((at + done) & 4095);
		size_t n = cap - 1 - done < page ? cap - 1 - done : page;

		if (mem_rw(tid, at + done, out + done, n, 0) != 0)
			return -1;
		if (memchr(out + done, '\0', n))
			return 0;
		done += n;
	}
	out[done] = '\0';
	return 0;
}

/* ---- the safe point ---- */

/* A system call in which a thread waits for the world, not for a lock:
 * no glibc lock is held across one of these (malloc's and the loader's
 * locks are futexes, and neither malloc nor the loader waits in these
 * calls), so dlopen can run in a thread caught there.  futex is not one:
 * a thread waiting for a lock may hold another.  restart_syscall is one:
 * it resumes a wait with a timeout that a stop cut short (a sleep, poll,
 * or a futex wait with a timeout, which glibc's own locks never use), as
 * after an earlier attach or a SIGSTOP of a sleeping thread. */
static int waiting_call(long nr)
{
	switch (nr) {
	case SYS_read:
	case SYS_readv:
	case SYS_recvfrom:
	case SYS_recvmsg:
	case SYS_recvmmsg:
	case SYS_accept:
	case SYS_accept4:
	case SYS_poll:
	case SYS_ppoll:
	case SYS_select:
	case SYS_pselect6:
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
	case SYS_nanosleep:
	case SYS_clock_nanosleep:
	case SYS_wait4:
	case SYS_waitid:
	case SYS_pause:
	case SYS_rt_sigsuspend:
	case SYS_rt_sigtimedwait:
	case SYS_msgrcv:
	case SYS_mq_timedreceive:
	case SYS_restart_syscall:
		return 1;
	}
	return 0;
}

/* read and readv wait only on pipes, sockets, terminals and the like;
 * the loader reads its files with read while it holds its lock. */
static int waiting_fd(pid_t pid, pid_t tid, long nr, unsigned long long fd)
{
	char path[64];
	struct stat st;

	if (nr != SYS_read && nr != SYS_readv)
		return 1;
	if (fd > INT_MAX)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/fd/%llu", pid, tid, fd);
	if (stat(path, &st) != 0)
		return 0;
	return !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) &&
	       !S_ISBLK(st.st_mode);
}

/* The thread to stop: the leader, unless another thread is in a waiting
 * call and the leader is not (a server's main thread often waits in
 * pthread_join, a futex, while its workers wait in epoll_wait or
 * accept), or the leader is a zombie.  0 when no thread lives. */
static pid_t pick_thread(pid_t pid)
{
	char path[64], buf[256];
	pid_t waiting = 0, alive = 0;
	int leader = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return pid;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		unsigned long long a0;
		struct status st;
		long nr;

		if (tid <= 0 || read_status(pid, tid, &st) != 0 ||
		    st.state == 'Z' || st.state == 'X')
			continue;
		if (!alive)
			alive = tid;
		if (tid == pid)
			leader = 1;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid,
			 tid);
		if (read_small(path, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "%ld 0x%llx", &nr, &a0) == 2 &&
		    waiting_call(nr) && waiting_fd(pid, tid, nr, a0)) {
			if (tid == pid) {
				closedir(d);
				return pid;
			}
			if (!waiting)
				waiting = tid;
		}
	}
	closedir(d);
	return waiting ? waiting : leader ? pid : alive;
}

/* ---- what is known of the process before it is stopped ---- */

struct target {
	pid_t pid, tid;
	struct status st;
	int cap, yama;
	uint64_t dlopen_at, dlerror_at; /* in PID; 0: none */
	int old_dlopen;			/* dlopen_at is __libc_dlopen_mode */
	char lib[PATH_MAX];		/* absolute */
	struct lib_id id;
	char mapped[PATH_MAX + 16]; /* the LIB mapped in PID, or "" */
	uint64_t fn_value, fn_load; /* the function, in its file */
};

/* The build-id of the libc this process runs on (once). */
static int own_libc(struct elf_info *ei, char *why, size_t cap)
{
	static struct elf_info own;
	static int done;
	struct mapping m;
	const char *err = "cannot read it";
	int fd;

	if (!done) {
		if (scan_maps(getpid(), (pid_t)syscall(SYS_gettid), match_libc,
			      NULL, &m) != 1)
			return fail(why, cap,
				    "cannot find tlstrace's own libc");
		fd = open_mapped(getpid(), (pid_t)syscall(SYS_gettid), &m);
		if (fd < 0 || elf_read(fd, &own, NULL, 0, &err) != 0) {
			if (fd >= 0)
				close(fd);
			return fail(why, cap, "tlstrace's own libc %s: %s",
				    m.path, fd < 0 ? strerror(errno) : err);
		}
		close(fd);
		done = 1;
	}
	*ei = own;
	return 0;
}

/* Who may attach (ptrace(2), "Ptrace access mode checking"): without
 * CAP_SYS_PTRACE, only a caller whose real uid and gid are the target's
 * real, effective and saved ones, and only to a dumpable target; Yama
 * may forbid more. */
static int check_access(const struct target *t, char *why, size_t cap)
{
	pid_t pid = t->pid;
	char path[64];
	struct stat st;
	int i;

	if (t->yama == 3)
		return fail(
			why, cap,
			"kernel.yama.ptrace_scope is 3: no process may attach to another (until the next boot)");
	if (t->cap)
		return 0;
	for (i = 0; i < 3; i++)
		if (t->st.uid[i] != (unsigned long)getuid())
			return fail(why, cap,
				    "%d runs as uid %lu, you are uid %lu", pid,
				    t->st.uid[i], (unsigned long)getuid());
	for (i = 0; i < 3; i++)
		if (t->st.gid[i] != (unsigned long)getgid())
			return fail(why, cap,
				    "%d runs as gid %lu, you are gid %lu", pid,
				    t->st.gid[i], (unsigned long)getgid());
	/* /proc/PID belongs to root while the process is not dumpable. */
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (stat(path, &st) == 0 && (unsigned long)st.st_uid != t->st.uid[1])
		return fail(
			why, cap,
			"%d is not dumpable (a setuid/setgid program, or prctl(PR_SET_DUMPABLE, 0)): only root can attach",
			pid);
	if (t->yama == 2)
		return fail(
			why, cap,
			"kernel.yama.ptrace_scope is 2: only a process with CAP_SYS_PTRACE may attach (run tlstrace as root)");
	return 0;
}

/* Everything inject_check says, filling @t; with @fn, also the
 * function's place in the library file.  0, 1 (LIB mapped) or -1. */
static int probe(pid_t pid, const char *lib, const char *fn, int flags,
		 struct target *t, char *why, size_t cap)
{
	struct elf_sym sy[3] = {
		{.name = "dlopen", .type = STT_FUNC},
		{.name = "dlerror", .type = STT_FUNC},
		{.name = "__libc_dlopen_mode", .type = STT_FUNC},
	};
	struct elf_info ei, own;
	struct mapping m;
	struct stat st;
	char path[PATH_MAX + 64], exe[PATH_MAX], a[2 * BUILD_ID_MAX + 1],
		b[2 * BUILD_ID_MAX + 1];
	const char *err = "cannot read it";
	ssize_t n;
	int fd, r;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if (pid <= 0 || read_status(pid, 0, &t->st) != 0)
		return fail(why, cap, "no such process %d", pid);
	if (t->st.tgid != pid)
		return fail(why, cap,
			    "%d is a thread of process %d: name the process",
			    pid, t->st.tgid);
	if (pid == getpid())
		return fail(why, cap, "%d is tlstrace itself", pid);
	t->cap = cap_sys_ptrace();
	t->yama = yama_scope();
	if (check_access(t, why, cap) != 0)
		return -1;
	if (t->st.tracer != 0) {
		char comm[64] = "?";

		snprintf(path, sizeof(path), "/proc/%d/comm", t->st.tracer);
		if (read_small(path, comm, sizeof(comm)) > 0)
			comm[strcspn(comm, "\n")] = '\0';
		return fail(why, cap, "%d is already traced by PID %d (%s)",
			    pid, t->st.tracer, comm);
	}
	if (t->st.state == 'T')
		return fail(
			why, cap,
			"%d is stopped (job control): continue it first (kill -CONT %d)",
			pid, pid);
	if (t->st.seccomp == 1)
		return fail(
			why, cap,
			"%d runs in seccomp strict mode: any system call but read, write, _exit and sigreturn kills it",
			pid);
	if (t->st.seccomp == 2 && !(flags & INJECT_SECCOMP_OK))
		return fail(
			why, cap,
			"%d runs under a seccomp filter; the injected dlopen (openat, mmap, mprotect) could be killed by it; --seccomp-ok to try anyway",
			pid);

	/* The thread to stop; and the one whose /proc directory shows the
	 * process's memory, files and root, which the leader's does not
	 * once it exited. */
	t->tid = pick_thread(pid);
	if (!t->tid)
		return fail(why, cap, "%d has exited", pid);

	/* What it runs: Go and static programs have no dynamic loader to
	 * ask (or, for Go with cgo, do their TLS where no hook sees it). */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/exe", pid, t->tid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	switch (elf_unseen(path)) {
	case UNSEEN_GO:
		return fail(
			why, cap,
			"%d is a Go program (%s): its TLS (Go's crypto/tls over raw system calls) cannot be seen",
			pid, exe);
	case UNSEEN_STATIC:
		return fail(
			why, cap,
			"%d is statically linked (%s): tlstrace cannot be loaded into it",
			pid, exe);
	case UNSEEN_NO:
		break;
	}

	/* Its libc: the very file tlstrace runs on, so that the library
	 * built here fits, and dlopen's address in it. */
	r = scan_maps(pid, t->tid, match_libc, NULL, &m);
	if (r < 0)
		return fail(why, cap, "cannot read /proc/%d/maps: %s", pid,
			    strerror(errno));
	if (r == 0)
		return fail(
			why, cap,
			"%d is statically linked, or not on glibc (no libc.so.6 in its memory map): tlstrace cannot be loaded into it",
			pid);
	fd = open_mapped(pid, t->tid, &m);
	if (fd < 0 && ends_with(m.path, DELETED))
		return fail(why, cap,
			    "%d's libc (%s) was replaced since it started", pid,
			    m.path);
	if (fd < 0 || elf_read(fd, &ei, sy, 3, &err) != 0) {
		if (fd >= 0)
			close(fd);
		return fail(why, cap, "cannot read %d's libc %s: %s", pid,
			    m.path, fd < 0 ? strerror(errno) : err);
	}
	close(fd);
	if (own_libc(&own, why, cap) != 0)
		return -1;
	if (ei.build_id_len == 0 || own.build_id_len == 0 ||
	    ei.build_id_len != own.build_id_len ||
	    memcmp(ei.build_id, own.build_id, ei.build_id_len) != 0) {
		hex_id(&ei, a, sizeof(a));
		hex_id(&own, b, sizeof(b));
		return fail(
			why, cap,
			"%d runs another libc (%s, build-id %s; tlstrace's is %s)",
			pid, m.path, *a ? a : "none", *b ? b : "none");
	}
	if (sy[0].found) {
		t->dlopen_at = m.start - ei.load_vaddr + sy[0].value;
		if (sy[1].found)
			t->dlerror_at = m.start - ei.load_vaddr + sy[1].value;
	} else if (sy[2].found) {
		t->dlopen_at = m.start - ei.load_vaddr + sy[2].value;
		t->old_dlopen = 1;
	} else {
		return fail(why, cap, "%d's libc (%s) has no dlopen", pid,
			    m.path);
	}

	/* The library: the same file at the same path in the process's
	 * root (dlopen resolves it there). */
	if (!realpath(lib, t->lib))
		return fail(why, cap, "%s: %s", lib, strerror(errno));
	if (stat(t->lib, &st) != 0 || !S_ISREG(st.st_mode))
		return fail(why, cap, "%s: not a regular file", t->lib);
	t->id = (struct lib_id){.path = t->lib,
				.dev = st.st_dev,
				.ino = st.st_ino,
				.any_tlstrace = 1};
	snprintf(path, sizeof(path), "/proc/%d/task/%d/root%s", pid, t->tid,
		 t->lib);
	{
		struct stat there;

		if (stat(path, &there) != 0 || there.st_dev != st.st_dev ||
		    there.st_ino != st.st_ino)
			return fail(
				why, cap,
				"%s is not the same file in %d's root directory (another mount namespace?)",
				t->lib, pid);
	}
	r = scan_maps(pid, t->tid, match_lib, &t->id, &m);
	if (r < 0)
		return fail(why, cap, "cannot read /proc/%d/maps: %s", pid,
			    strerror(errno));
	if (r == 1)
		snprintf(t->mapped, sizeof(t->mapped), "%s", m.path);

	if (fn) {
		struct elf_sym f = {.name = fn, .type = STT_FUNC};
		const char *file = r == 1 ? m.path : t->lib;

		fd = r == 1 ? open_mapped(pid, t->tid, &m)
			    : open(t->lib, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || elf_read(fd, &ei, &f, 1, &err) != 0) {
			if (fd >= 0)
				close(fd);
			return fail(why, cap, "%s: %s", file,
				    fd < 0 ? strerror(errno) : err);
		}
		close(fd);
		if (!f.found)
			return fail(why, cap, "%s has no function %s", file,
				    fn);
		t->fn_value = f.value;
		t->fn_load = ei.load_vaddr;
	}
	if (r == 1) {
		fail(why, cap, "%s is already loaded in %d", t->mapped, pid);
		return 1;
	}
	return 0;
}

int inject_check(pid_t pid, const char *lib, int flags, char *why, size_t cap)
{
	struct target *t = malloc(sizeof(*t));
	int r;

	if (!t)
		return fail(why, cap, "out of memory");
	r = probe(pid, lib, NULL, flags, t, why, cap);
	free(t);
	return r;
}

/* ---- the stopped thread ---- */

struct tracee {
	pid_t pid, tid;
	int attached; /* seized (and stopped, unless running) */
	int running;  /* let go into a call that did not come back */
	int gone;     /* exited */
	int pass_sig; /* the signal of the stop it is in, to deliver */
	/* its registers as found (caught at the entry of a system call:
	 * rewound to just before it) and its extended FP state */
	struct user_regs_struct regs;
	int regs_changed;
	unsigned char *xstate;
	size_t xlen;
	int fp_kind; /* 1: XSAVE area, 2: FXSAVE area only */
	struct user_fpregs_struct fp;
	/* the stack bytes the calls' frame covers */
	uint64_t mem_at, call_sp;
	unsigned char *mem_saved;
	size_t mem_len;
	int mem_written;
	/* signals that came for it while it was ours */
	siginfo_t held[HELD_MAX];
	int nheld;
	uint64_t more; /* past HELD_MAX, by number */
	long t_hold;   /* since when it is held (now_us) */
};

enum stop { STOP_GONE, STOP_EVENT, STOP_SIGNAL, STOP_SYSCALL };

static enum stop stop_kind(int status)
{
	if (WIFEXITED(status) || WIFSIGNALED(status))
		return STOP_GONE;
	if (WSTOPSIG(status) == (SIGTRAP | 0x80))
		return STOP_SYSCALL;
	/* PTRACE_EVENT_STOP: the interrupt, or a group-stop (no other
	 * event is asked for) */
	if (status >> 16)
		return STOP_EVENT;
	return STOP_SIGNAL;
}

/* Waits up to @ms for the thread's next state change: 1 with *@status,
 * 0 when none came in time, -1 on error.  Polls, with naps that grow
 * to 100 us: a ptrace stop cannot be waited for with a timeout
 * otherwise, and a nap is what the stop measure may gain from it. */
static int wait_tid(pid_t tid, int *status, long ms)
{
	long deadline = now_us() + ms * 1000, nap = 5;

	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		struct timespec ts;

		if (r == tid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_us() >= deadline)
			return 0;
		ts.tv_sec = 0;
		ts.tv_nsec = nap * 1000;
		nanosleep(&ts, NULL);
		if (nap < 100)
			nap *= 2;
	}
}

/* The stop of a thread told to stop (PTRACE_INTERRUPT): up to @ms, then
 * for as long as it takes.  A thread in uninterruptible sleep (state D)
 * stops when that ends; the interrupt cannot be taken back, and a thread
 * that is not stopped cannot be detached.  1, or -1 on error. */
static int wait_stop(pid_t tid, int *status, long ms)
{
	int w = wait_tid(tid, status, ms);

	while (w == 0 || (w < 0 && errno == EINTR))
		w = waitpid(tid, status, __WALL) == tid ? 1 : -1;
	return w;
}

static void hold(struct tracee *tr, const siginfo_t *si)
{
	if (tr->nheld < HELD_MAX)
		tr->held[tr->nheld++] = *si;
	else if (si->si_signo > 0 && si->si_signo <= 64)
		tr->more |= 1ull << (si->si_signo - 1);
}

/* Whether the process has a handler for @sig. */
static int caught(const struct tracee *tr, int sig)
{
	struct status st;

	return sig > 0 && sig <= 64 &&
	       read_status(tr->pid, tr->tid, &st) == 0 &&
	       ((st.sigcgt >> (sig - 1)) & 1);
}

/* The thread let go into a call that did not come back, stopped again;
 * a signal it stops for on the way is held.  0, or -1 when it died. */
static int restop(struct tracee *tr)
{
	int status, w;

	ptrace(PTRACE_INTERRUPT, tr->tid, 0, 0);
	w = wait_stop(tr->tid, &status, STOP_MS);
	if (w < 0 || stop_kind(status) == STOP_GONE) {
		tr->gone = 1;
		return -1;
	}
	if (stop_kind(status) == STOP_SIGNAL) {
		siginfo_t si;

		if (ptrace(PTRACE_GETSIGINFO, tr->tid, 0, &si) == 0)
			hold(tr, &si);
	}
	tr->running = 0;
	return 0;
}

/* PTRACE_SEIZE refused: why, as precisely as can be told. */
static int seize_failed(const struct target *t, int e, char *why, size_t cap)
{
	struct status ts;
	char path[64], comm[64] = "?";

	if (e == ESRCH)
		return fail(why, cap, "no such process %d", t->pid);
	if (e != EPERM)
		return fail(why, cap, "PTRACE_SEIZE of %d: %s", t->pid,
			    strerror(e));
	/* one thread of it may be traced alone (strace -p TID) */
	if (read_status(t->pid, t->tid, &ts) == 0 && ts.tracer) {
		snprintf(path, sizeof(path), "/proc/%d/comm", ts.tracer);
		if (read_small(path, comm, sizeof(comm)) > 0)
			comm[strcspn(comm, "\n")] = '\0';
		return fail(why, cap, "%d is already traced by PID %d (%s)",
			    t->pid, ts.tracer, comm);
	}
	if (check_access(t, why, cap) != 0)
		return -1;
	if (t->yama == 1 && !t->cap)
		return fail(
			why, cap,
			"kernel.yama.ptrace_scope is 1: only an ancestor of %d may attach to it (run tlstrace as root, or set kernel.yama.ptrace_scope to 0)",
			t->pid);
	return fail(
		why, cap,
		"PTRACE_SEIZE of %d: %s (a security module such as AppArmor or SELinux may forbid it)",
		t->pid, strerror(e));
}

/* Attaches to the thread and stops it.  A signal it stops for first is
 * delivered at once (nothing is changed yet); *@handlers counts those
 * that run a handler. */
static int seize(const struct target *t, struct tracee *tr, int *handlers,
		 char *why, size_t cap)
{
	int status, w;

	tr->pid = t->pid;
	tr->tid = t->tid;
	if (ptrace(PTRACE_SEIZE, tr->tid, 0, 0) != 0)
		return seize_failed(t, errno, why, cap);
	tr->attached = 1;
	tr->t_hold = now_us();
	if (ptrace(PTRACE_INTERRUPT, tr->tid, 0, 0) != 0) {
		tr->gone = 1;
		return fail(why, cap, "%d exited", t->pid);
	}
	for (;;) {
		w = wait_stop(tr->tid, &status, STOP_MS);
		if (w < 0) {
			tr->gone = 1;
			return fail(why, cap, "waiting for %d: %s", t->pid,
				    strerror(errno));
		}
		switch (stop_kind(status)) {
		case STOP_GONE:
			tr->gone = 1;
			return fail(why, cap, "%d exited", t->pid);
		case STOP_SIGNAL:
			if (caught(tr, WSTOPSIG(status)))
				(*handlers)++;
			if (ptrace(PTRACE_CONT, tr->tid, 0, WSTOPSIG(status)) !=
			    0)
				return fail(why, cap, "PTRACE_CONT of %d: %s",
					    t->pid, strerror(errno));
			continue;
		default:
			return 0;
		}
	}
}

/* Stopped inside a waiting call, cut short by the stop. */
static int interrupted_wait(const struct tracee *tr,
			    const struct user_regs_struct *r)
{
	long nr = (long)r->orig_rax, rax = (long)r->rax;

	return nr >= 0 && waiting_call(nr) &&
	       (rax == -EINTR || rax == -ERESTARTSYS_ ||
		rax == -ERESTARTNOINTR_ || rax == -ERESTARTNOHAND_ ||
		rax == -ERESTART_RESTARTBLOCK_) &&
	       waiting_fd(tr->pid, tr->tid, nr, r->rdi);
}

/* Holds the thread where dlopen can run in it.
 *
 * dlopen takes malloc's locks and the loader's (a recursive lock, and
 * malloc's are not): run in a thread that was stopped while holding one,
 * it waits for itself forever, or corrupts what the lock protects.  A
 * thread stopped in user space may be anywhere, inside malloc included;
 * a thread stopped in a futex may be waiting for one lock while holding
 * another.  A thread blocked in a call that waits for the outside world
 * (waiting_call(), waiting_fd()) holds none of them: nothing in malloc
 * or the loader makes such a call.  So:
 *   - stopped inside such a call (interrupted by the stop: rax is
 *     -EINTR or one of the kernel's restart codes), the thread is used
 *     at once, and its registers are put back as found afterwards: the
 *     kernel then restarts the call, or fails it with EINTR, as it
 *     would after strace -p (inject.h);
 *   - otherwise it runs on, under PTRACE_SYSCALL, to the entry of such
 *     a call (2 s at most), and is used there with its registers
 *     rewound to just before the syscall instruction (rip - 2, rax the
 *     call's number), so that it makes the call afterwards as if
 *     nothing had happened.  A busy thread that makes no such call in
 *     2 s is refused rather than stopped at a random place.
 * Signals it stops for on the way are delivered at once; after one that
 * runs a handler, no call counts until the handler returned
 * (rt_sigreturn): the code it interrupted may hold a lock.  A thread
 * already in a handler when it is stopped cannot be told from one that
 * is not; neither can gdb's `call dlopen(...)`. */
static int at_safe_point(struct tracee *tr, int handlers, char *why, size_t cap)
{
	struct __ptrace_syscall_info info;
	struct user_regs_struct r;
	long deadline, left;
	int status, w, sig = 0;

	if (ptrace(PTRACE_GETREGS, tr->tid, 0, &r) != 0)
		return fail(why, cap, "PTRACE_GETREGS of %d: %s", tr->pid,
			    strerror(errno));
	if (!handlers && interrupted_wait(tr, &r)) {
		tr->regs = r;
		return 0;
	}
	if (ptrace(PTRACE_SETOPTIONS, tr->tid, 0, PTRACE_O_TRACESYSGOOD) != 0)
		return fail(why, cap, "PTRACE_SETOPTIONS of %d: %s", tr->pid,
			    strerror(errno));
	deadline = now_us() + SAFE_POINT_MS * 1000L;
	for (;;) {
		left = (deadline - now_us()) / 1000;
		if (left <= 0)
			break;
		if (ptrace(PTRACE_SYSCALL, tr->tid, 0, sig) != 0)
			return fail(why, cap, "PTRACE_SYSCALL of %d: %s",
				    tr->pid, strerror(errno));
		sig = 0;
		w = wait_tid(tr->tid, &status, left);
		if (w < 0)
			return fail(why, cap, "waiting for %d: %s", tr->pid,
				    strerror(errno));
		if (w == 0) {
			tr->running = 1;
			if (restop(tr) != 0)
				return fail(why, cap, "%d exited", tr->pid);
			break;
		}
		switch (stop_kind(status)) {
		case STOP_GONE:
			tr->gone = 1;
			return fail(why, cap, "%d exited", tr->pid);
		case STOP_SIGNAL:
			sig = WSTOPSIG(status);
			if (caught(tr, sig))
				handlers++;
			continue;
		case STOP_EVENT:
			continue;
		case STOP_SYSCALL:
			break;
		}
		if (ptrace(PTRACE_GET_SYSCALL_INFO, tr->tid, sizeof(info),
			   &info) <= 0 ||
		    info.op != PTRACE_SYSCALL_INFO_ENTRY)
			continue;
		if (info.entry.nr == SYS_rt_sigreturn) {
			if (handlers)
				handlers--;
			continue;
		}
		if (handlers || !waiting_call((long)info.entry.nr) ||
		    !waiting_fd(tr->pid, tr->tid, (long)info.entry.nr,
				info.entry.args[0]))
			continue;
		if (ptrace(PTRACE_GETREGS, tr->tid, 0, &r) != 0)
			return fail(why, cap, "PTRACE_GETREGS of %d: %s",
				    tr->pid, strerror(errno));
		r.rip -= 2; /* the syscall instruction, 0f 05 */
		r.rax = r.orig_rax;
		r.orig_rax = (unsigned long long)-1;
		tr->regs = r;
		tr->t_hold = now_us();
		return 0;
	}
	tr->pass_sig = sig;
	return fail(why, cap,
		    "no safe point: %d made no waiting system call in 2 s",
		    tr->pid);
}

/* Each call ends with a SIGSEGV at address 0, which the kernel forces:
 * a thread that blocks or ignores it would have its handler reset and
 * the signal unblocked.  Such a thread is left alone. */
static int segv_usable(const struct tracee *tr, char *why, size_t cap)
{
	struct status st;

	if (read_status(tr->pid, tr->tid, &st) != 0)
		return fail(why, cap,
			    "cannot read the status of thread %d of %d",
			    tr->tid, tr->pid);
	if (((st.sigblk | st.sigign) >> (SIGSEGV - 1)) & 1)
		return fail(
			why, cap,
			"thread %d of %d blocks or ignores SIGSEGV, which ends each injected call",
			tr->tid, tr->pid);
	return 0;
}

static int save_fp(struct tracee *tr, char *why, size_t cap)
{
	struct iovec iov;

	tr->xstate = malloc(XSTATE_MAX);
	if (!tr->xstate)
		return fail(why, cap, "out of memory");
	iov.iov_base = tr->xstate;
	iov.iov_len = XSTATE_MAX;
	if (ptrace(PTRACE_GETREGSET, tr->tid, NT_X86_XSTATE, &iov) == 0) {
		tr->xlen = iov.iov_len;
		tr->fp_kind = 1;
		return 0;
	}
	if (ptrace(PTRACE_GETFPREGS, tr->tid, 0, &tr->fp) == 0) {
		tr->fp_kind = 2;
		return 0;
	}
	return fail(why, cap, "cannot read the FP state of %d: %s", tr->pid,
		    strerror(errno));
}

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* Below the red zone of the thread's stack: a return address of 0 where
 * rsp will be (rsp + 8 16-byte aligned, as after a call instruction),
 * then @path and the block with a NUL byte after it.  The bytes there
 * are saved first, and put back by finish().  (What the calls push below
 * that is below the red zone too: free for anyone to use, as a signal
 * handler's frame would.) */
static int write_frame(struct tracee *tr, const char *path, const void *blob,
		       size_t len, uint64_t *path_at, uint64_t *blob_at,
		       char *why, size_t cap)
{
	size_t plen = path ? strlen(path) + 1 : 0, blen = blob ? len + 1 : 0;
	size_t data = round16(plen) + round16(blen), total;
	uint64_t top = tr->regs.rsp - RED_ZONE, sp;
	unsigned char *buf;
	int e;

	if (tr->regs.rsp < RED_ZONE + data + 64)
		return fail(why, cap,
			    "thread %d of %d has no stack (rsp %#llx)", tr->tid,
			    tr->pid, tr->regs.rsp);
	sp = ((top - data) & ~(uint64_t)15) - 8;
	total = (size_t)(top - sp);
	buf = calloc(1, total);
	tr->mem_saved = malloc(total);
	if (!buf || !tr->mem_saved) {
		free(buf);
		return fail(why, cap, "out of memory");
	}
	if (path)
		memcpy(buf + 8, path, plen);
	if (blob)
		memcpy(buf + 8 + round16(plen), blob, len);
	if (mem_rw(tr->tid, sp, tr->mem_saved, total, 0) != 0) {
		e = errno;
		free(buf);
		return fail(why, cap,
			    "cannot read the stack of %d at %#" PRIx64 ": %s",
			    tr->pid, sp, strerror(e));
	}
	tr->mem_at = sp;
	tr->mem_len = total;
	tr->mem_written = 1; /* a failed write may have written part */
	if (mem_rw(tr->tid, sp, buf, total, 1) != 0) {
		e = errno;
		free(buf);
		return fail(why, cap,
			    "cannot write the stack of %d at %#" PRIx64 ": %s",
			    tr->pid, sp, strerror(e));
	}
	free(buf);
	tr->call_sp = sp;
	*path_at = sp + 8;
	*blob_at = sp + 8 + round16(plen);
	return 0;
}

static int fault_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
	       sig == SIGFPE || sig == SIGTRAP;
}

/* The thread calls @fn(@a0, @a1) and returns to address 0: its result
 * in *@rax.  Signals for it meanwhile are held, not delivered (the
 * thread is not where they were meant to find it); orig_rax -1 keeps the
 * kernel's restart logic away from the call (the thread may have been
 * stopped inside a system call). */
static int call(struct tracee *tr, uint64_t fn, uint64_t a0, uint64_t a1,
		uint64_t *rax, const char *what, char *why, size_t cap)
{
	struct user_regs_struct r = tr->regs, g;
	siginfo_t si;
	long deadline, left;
	int status, w;

	r.rip = fn;
	r.rdi = a0;
	r.rsi = a1;
	r.rsp = tr->call_sp;
	r.rax = 0;
	r.orig_rax = (unsigned long long)-1;
	r.eflags &= ~(unsigned long long)EFLAGS_DF; /* the ABI's, at a call */
	if (ptrace(PTRACE_SETREGS, tr->tid, 0, &r) != 0)
		return fail(why, cap, "PTRACE_SETREGS of %d: %s", tr->pid,
			    strerror(errno));
	tr->regs_changed = 1;
	if (ptrace(PTRACE_CONT, tr->tid, 0, 0) != 0)
		return fail(why, cap, "PTRACE_CONT of %d: %s", tr->pid,
			    strerror(errno));
	deadline = now_us() + CALL_MS * 1000L;
	for (;;) {
		left = (deadline - now_us()) / 1000;
		w = left > 0 ? wait_tid(tr->tid, &status, left) : 0;
		if (w < 0)
			return fail(why, cap, "waiting for %d: %s", tr->pid,
				    strerror(errno));
		if (w == 0) {
			tr->running = 1;
			return fail(
				why, cap,
				"the injected %s in %d did not return within 5 s; %d was put back, but may be left holding a lock",
				what, tr->pid, tr->pid);
		}
		switch (stop_kind(status)) {
		case STOP_GONE:
			tr->gone = 1;
			if (WIFSIGNALED(status))
				return fail(
					why, cap,
					"%d was killed by %s during the injected %s",
					tr->pid, strsignal(WTERMSIG(status)),
					what);
			return fail(why, cap,
				    "%d exited during the injected %s", tr->pid,
				    what);
		case STOP_EVENT:
		case STOP_SYSCALL:
			if (ptrace(PTRACE_CONT, tr->tid, 0, 0) != 0)
				return fail(why, cap, "PTRACE_CONT of %d: %s",
					    tr->pid, strerror(errno));
			continue;
		case STOP_SIGNAL:
			break;
		}
		if (ptrace(PTRACE_GETSIGINFO, tr->tid, 0, &si) != 0 ||
		    ptrace(PTRACE_GETREGS, tr->tid, 0, &g) != 0)
			return fail(why, cap, "reading the stop of %d: %s",
				    tr->pid, strerror(errno));
		if (si.si_signo == SIGSEGV && si.si_addr == NULL &&
		    g.rip == 0) {
			*rax = g.rax;
			return 0;
		}
		if (si.si_code > 0 && fault_signal(si.si_signo))
			return fail(
				why, cap,
				"the injected %s crashed in %d (%s at %p, rip %#llx); %d was put back, but may be left inconsistent",
				what, tr->pid, strsignal(si.si_signo),
				si.si_addr, g.rip, tr->pid);
		hold(tr, &si);
		if (ptrace(PTRACE_CONT, tr->tid, 0, 0) != 0)
			return fail(why, cap, "PTRACE_CONT of %d: %s", tr->pid,
				    strerror(errno));
	}
}

/* A held signal sent again, best effort: one sent with sigqueue (a
 * negative si_code but SI_TKILL's) with its siginfo, any other as
 * tgkill sends it (the kernel lets no process forge a kill() or kernel
 * siginfo for another); a standard signal still pending is merged with
 * it, as it would have been anyway. */
static void requeue(const struct tracee *tr, const siginfo_t *si)
{
	siginfo_t copy = *si;

	if (si->si_code < 0 && si->si_code != SI_TKILL &&
	    syscall(SYS_rt_tgsigqueueinfo, tr->pid, tr->tid, si->si_signo,
		    &copy) == 0)
		return;
	syscall(SYS_tgkill, tr->pid, tr->tid, si->si_signo);
}

/* Puts the thread back as it was found (stack bytes, FP state,
 * registers), delivers the signals held meanwhile and detaches.
 *
 * The first held signal is delivered exactly: sent again with tgkill,
 * its siginfo is replaced by the original at its signal-delivery-stop
 * (PTRACE_SETSIGINFO), and the detach delivers it, with the registers
 * as found, so that a handler runs, and the interrupted call restarts
 * or fails with EINTR, as they would have.  The others: requeue(). */
static void finish(struct tracee *tr)
{
	int status, w, i, sig = tr->pass_sig, interrupted = 0;
	struct iovec iov;
	long deadline, left;

	if (!tr->attached || tr->gone)
		return;
	if (tr->running && restop(tr) != 0)
		return;
	if (tr->mem_written)
		mem_rw(tr->tid, tr->mem_at, tr->mem_saved, tr->mem_len, 1);
	if (tr->regs_changed) {
		if (tr->fp_kind == 1) {
			iov.iov_base = tr->xstate;
			iov.iov_len = tr->xlen;
			ptrace(PTRACE_SETREGSET, tr->tid, NT_X86_XSTATE, &iov);
		} else if (tr->fp_kind == 2) {
			ptrace(PTRACE_SETFPREGS, tr->tid, 0, &tr->fp);
		}
		ptrace(PTRACE_SETREGS, tr->tid, 0, &tr->regs);
	}
	if (tr->nheld) {
		const siginfo_t *first = &tr->held[0];

		sig = 0;
		syscall(SYS_tgkill, tr->pid, tr->tid, first->si_signo);
		ptrace(PTRACE_CONT, tr->tid, 0, 0);
		deadline = now_us() + SIGNAL_MS * 1000L;
		for (;;) {
			siginfo_t si;

			left = (deadline - now_us()) / 1000;
			if (interrupted)
				w = wait_stop(tr->tid, &status, STOP_MS);
			else
				w = left > 0 ? wait_tid(tr->tid, &status, left)
					     : 0;
			if (w == 0) {
				/* not dequeued: the thread went back to its
				 * code; stopped again and detached there,
				 * the signal stays pending from tgkill */
				ptrace(PTRACE_INTERRUPT, tr->tid, 0, 0);
				interrupted = 1;
				continue;
			}
			if (w < 0 || stop_kind(status) == STOP_GONE) {
				tr->gone = 1;
				return;
			}
			if (stop_kind(status) == STOP_SIGNAL &&
			    ptrace(PTRACE_GETSIGINFO, tr->tid, 0, &si) == 0) {
				if (si.si_signo == first->si_signo) {
					ptrace(PTRACE_SETSIGINFO, tr->tid, 0,
					       first);
					sig = first->si_signo;
					break;
				}
				hold(tr, &si);
			} else if (interrupted &&
				   stop_kind(status) == STOP_EVENT) {
				break;
			}
			ptrace(PTRACE_CONT, tr->tid, 0, 0);
		}
		for (i = 1; i < tr->nheld; i++)
			requeue(tr, &tr->held[i]);
		for (i = 1; i <= 64; i++)
			if ((tr->more >> (i - 1)) & 1)
				syscall(SYS_tgkill, tr->pid, tr->tid, i);
	}
	ptrace(PTRACE_DETACH, tr->tid, 0, sig);
	tr->attached = 0;
}

/* The start of the offset-0 mapping of a library in PID, or 0. */
static uint64_t mapped_at(pid_t pid, pid_t tid, const struct lib_id *id)
{
	struct mapping m;

	return scan_maps(pid, tid, match_lib, id, &m) == 1 ? m.start : 0;
}

/* dlerror()'s text after a failed dlopen, made one line. */
static void dl_error(struct tracee *tr, const struct target *t, char *why,
		     size_t cap)
{
	char text[ERRTEXT_MAX], *c;
	uint64_t at;

	if (!t->dlerror_at) {
		fail(why, cap, "dlopen in %d failed", tr->pid);
		return;
	}
	if (call(tr, t->dlerror_at, 0, 0, &at, "dlerror", why, cap) != 0)
		return;
	if (!at || mem_string(tr->tid, at, text, sizeof(text)) != 0) {
		fail(why, cap, "dlopen in %d failed (no dlerror text)",
		     tr->pid);
		return;
	}
	for (c = text; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	fail(why, cap, "dlopen in %d failed: %s", tr->pid, text);
}

int inject_call(pid_t pid, const char *lib, const char *fn, const void *blob,
		size_t len, int flags, long *ret, long *stop_us, char *why,
		size_t cap)
{
	struct target *t = NULL;
	struct tracee *tr = NULL;
	uint64_t path_at = 0, blob_at = 0, handle, base, rv;
	int r, handlers = 0, ok = -1;

	if (ret)
		*ret = 0;
	if (stop_us)
		*stop_us = 0;
	if (!fn || !*fn)
		return fail(why, cap, "no function to call");
	if (blob && len > INJECT_BLOB_MAX)
		return fail(why, cap, "the block is %zu bytes, more than %d",
			    len, INJECT_BLOB_MAX);
	t = calloc(1, sizeof(*t));
	tr = calloc(1, sizeof(*tr));
	if (!t || !tr) {
		fail(why, cap, "out of memory");
		goto out;
	}
	r = probe(pid, lib, fn, flags, t, why, cap);
	if (r < 0)
		goto out;
	if (r == 0 && !(flags & INJECT_LOAD)) {
		fail(why, cap, "%s is not loaded in %d", t->lib, pid);
		goto out;
	}
	if (seize(t, tr, &handlers, why, cap) != 0 ||
	    at_safe_point(tr, handlers, why, cap) != 0 ||
	    segv_usable(tr, why, cap) != 0 || save_fp(tr, why, cap) != 0 ||
	    write_frame(tr, r == 0 ? t->lib : NULL, blob, len, &path_at,
			&blob_at, why, cap) != 0)
		goto done;
	if (r == 0) {
		struct lib_id id = t->id;

		if (call(tr, t->dlopen_at, path_at,
			 RTLD_NOW_ | (t->old_dlopen ? RTLD_DLOPEN_ : 0),
			 &handle, "dlopen", why, cap) != 0)
			goto done;
		if (!handle) {
			dl_error(tr, t, why, cap);
			goto done;
		}
		id.any_tlstrace = 0;
		base = mapped_at(pid, t->tid, &id);
	} else {
		struct lib_id id = {.path = t->mapped};

		base = mapped_at(pid, t->tid, &id);
	}
	if (!base) {
		fail(why, cap, "%s is not in the memory map of %d", t->lib,
		     pid);
		goto done;
	}
	if (call(tr, base - t->fn_load + t->fn_value, blob ? blob_at : 0, 0,
		 &rv, fn, why, cap) != 0)
		goto done;
	if (ret)
		*ret = (long)(int)rv;
	ok = 0;
done:
	finish(tr);
	if (stop_us && tr->t_hold)
		*stop_us = now_us() - tr->t_hold;
out:
	if (tr) {
		free(tr->xstate);
		free(tr->mem_saved);
	}
	free(tr);
	free(t);
	return ok;
}

/* LIB's mapping in pid (thread tid's view), its canonical path in real:
 * 1, 0 when it is not mapped, -1 when the maps cannot be read (errno),
 * -2 when LIB itself cannot be found (errno). */
static int lib_mapping(pid_t pid, pid_t tid, const char *lib, char *real,
		       struct mapping *m)
{
	struct stat ls;
	if (!realpath(lib, real) || stat(real, &ls) != 0)
		return -2;
	struct lib_id id = {.path = real,
			    .dev = ls.st_dev,
			    .ino = ls.st_ino,
			    .any_tlstrace = 1};
	return scan_maps(pid, tid, match_lib, &id, m);
}

int inject_mapped(pid_t pid, const char *lib)
{
	char real[PATH_MAX];
	struct mapping m;
	pid_t tid = pick_thread(pid);
	int r = tid ? lib_mapping(pid, tid, lib, real, &m) : 0;
	return r < 0 ? -1 : r;
}

char inject_state(pid_t pid)
{
	struct status st;
	if (pid <= 0 || read_status(pid, 0, &st) != 0)
		return 0;
	/* the leader may have exited while other threads run */
	pid_t tid = pick_thread(pid);
	if (!tid)
		return 'Z';
	return read_status(pid, tid, &st) == 0 ? st.state : 0;
}

int inject_peek(pid_t pid, const char *lib, const char *sym, void *out,
		size_t len, char *why, size_t cap)
{
	struct elf_sym s = {.name = sym, .type = STT_OBJECT};
	char real[PATH_MAX];
	const char *err = "cannot read it";
	struct elf_info ei;
	struct mapping m;
	struct status st;
	pid_t tid;
	int fd, r;

	if (pid <= 0 || read_status(pid, 0, &st) != 0)
		return fail(why, cap, "no such process %d", pid);
	tid = pick_thread(pid);
	if (!tid)
		return fail(why, cap, "%d has exited", pid);
	r = lib_mapping(pid, tid, lib, real, &m);
	if (r == -2)
		return fail(why, cap, "%s: %s", lib, strerror(errno));
	if (r < 0)
		return fail(why, cap, "cannot read /proc/%d/maps: %s", pid,
			    strerror(errno));
	if (r == 0)
		return fail(why, cap, "%s is not loaded in %d", real, pid);
	fd = open_mapped(pid, tid, &m);
	if (fd < 0 || elf_read(fd, &ei, &s, 1, &err) != 0) {
		if (fd >= 0)
			close(fd);
		return fail(why, cap, "%s: %s", m.path,
			    fd < 0 ? strerror(errno) : err);
	}
	close(fd);
	if (!s.found)
		return fail(why, cap, "%s has no data symbol %s", m.path, sym);
	if (len > s.size)
		return fail(why, cap, "%s is %" PRIu64 " bytes in %s, not %zu",
			    sym, s.size, m.path, len);
	if (mem_rw(tid, m.start - ei.load_vaddr + s.value, out, len, 0) != 0)
		return fail(why, cap, "cannot read the memory of %d: %s", pid,
			    strerror(errno));
	return 0;
}
