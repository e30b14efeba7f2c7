/* The files tlstrace writes (the log, the key export, the pcapng file),
 * for the library and the tlstrace command alike (tlstrace -p opens the
 * log file itself): the %p of their names, and how they are opened.
 * System calls of its own for closing: in the library, close is a hook. */
#include "privfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

bool tt_expand_path(const char *tmpl, long pid, char *out, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return false;
	for (const char *p = tmpl; *p; p++) {
		char num[24];
		const char *add = NULL;
		size_t n = 1;
		if (p[0] == '%' && p[1] == 'p') {
			snprintf(num, sizeof(num), "%ld", pid);
			add = num;
			n = strlen(num);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			add = "%";
			p++;
		} else {
			add = p;
		}
		if (o + n + 1 > cap)
			return false;
		memcpy(out + o, add, n);
		o += n;
	}
	out[o] = 0;
	return true;
}

/* Why an existing file must not be written, in why; false when it may:
 * a regular file (or, with fifo_ok, a FIFO) of this user with no group
 * or other permission bits, or the null device, which keeps nothing. */
static bool refused(const struct stat *st, bool fifo_ok, char *why, size_t cap)
{
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3))
		return false;
	if (S_ISLNK(st->st_mode))
		snprintf(why, cap, "it is a symbolic link");
	else if (!S_ISREG(st->st_mode) && !(fifo_ok && S_ISFIFO(st->st_mode)))
		snprintf(why, cap, "it is not a regular file%s",
			 fifo_ok ? " or a FIFO" : "");
	else if (st->st_uid != geteuid())
		snprintf(why, cap,
			 "it is owned by uid %u, not by this user (uid %u)",
			 (unsigned)st->st_uid, (unsigned)geteuid());
	else if (st->st_mode & 077)
		snprintf(why, cap,
			 "its mode %04o lets group or others in (chmod 600 it, "
			 "or remove it)",
			 (unsigned)(st->st_mode & 07777));
	else
		return false;
	errno = EPERM;
	return true;
}

int tt_open_private(const char *path, bool fifo_ok, char *why, size_t cap)
{
	const int fl = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		       O_NONBLOCK;
	why[0] = 0;
	int fd = open(path, fl | O_CREAT | O_EXCL, 0600);
	if (fd >= 0 || errno != EEXIST)
		return fd;
	/* It exists: looked at before it is opened (a device is never
	 * opened), and again through the descriptor (it may have changed
	 * in between). */
	struct stat st, st2;
	if (lstat(path, &st) != 0 || refused(&st, fifo_ok, why, cap))
		return -1;
	fd = open(path, fl);
	if (fd < 0) {
		if (errno == ENXIO && S_ISFIFO(st.st_mode))
			snprintf(why, cap,
				 "no process has this FIFO open for reading");
		return -1;
	}
	if (fstat(fd, &st2) != 0 || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino) {
		snprintf(why, cap, "it changed while being opened");
		syscall(SYS_close, fd);
		return -1;
	}
	if (refused(&st2, fifo_ok, why, cap)) {
		syscall(SYS_close, fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}
