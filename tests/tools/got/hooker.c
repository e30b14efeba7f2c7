/* The hooker of tests/integration/test_got.py: a library its host
 * dlopens (RTLD_LOCAL) that installs hooks as libtlstrace.so would when
 * attached, with shim/got.c's object as the library links it.  Its
 * read, write and close count their calls and go on to libc's; its
 * sprintf stands for shim/hexfmt.c's, an export that is no hook. */
#include <dlfcn.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "got.h"
#include "hooker.h"

#define EXPORT __attribute__((visibility("default")))

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_close)(int);
static unsigned long calls[4];

__attribute__((constructor)) static void bind(void)
{
	real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT,
								  "write");
	real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	__atomic_add_fetch(&calls[0], 1, __ATOMIC_RELAXED);
	return real_read(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	__atomic_add_fetch(&calls[1], 1, __ATOMIC_RELAXED);
	return real_write(fd, buf, n);
}

EXPORT int close(int fd)
{
	__atomic_add_fetch(&calls[2], 1, __ATOMIC_RELAXED);
	return real_close(fd);
}

EXPORT int sprintf(char *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsprintf(s, fmt, ap);
	va_end(ap);
	return r;
}

/* What someone else puts in a slot. */
static ssize_t other_read(int fd, void *buf, size_t n)
{
	__atomic_add_fetch(&calls[3], 1, __ATOMIC_RELAXED);
	return real_read(fd, buf, n);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void hooks(char *out, size_t cap)
{
	struct tt_got_fn t[16];
	const char *names[16];
	size_t n = tt_got_hooks(t, 16), len = 0;
	for (size_t i = 0; i < n && i < 16; i++)
		names[i] = t[i].name;
	qsort(names, n < 16 ? n : 16, sizeof(*names), by_name);
	out[0] = 0;
	for (size_t i = 0; i < n && i < 16 && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
					i ? " " : "", names[i]);
}

static size_t install(char *why, size_t cap)
{
	struct tt_got_fn t[16];
	size_t n = tt_got_hooks(t, 16);
	return tt_got_install(t, n < 16 ? n : 16, why, cap);
}

/* ---- looking at an object's slots ---- */

static const struct tt_got_fn io_fns[] = {
	{"read", NULL}, {"write", NULL}, {"close", NULL}};

struct look {
	const void *in_obj;
	const struct dl_phdr_info *info;
	void **vals;
	size_t cap, n, stubs;
	bool meddle, done;
};

static bool in_object(const struct dl_phdr_info *info, const void *p)
{
	uintptr_t a = (uintptr_t)p;
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && a >= lo && a < lo + ph->p_memsz)
			return true;
	}
	return false;
}

static void seen(void *arg, void **slot, size_t i, bool jump_slot)
{
	struct look *l = arg;
	(void)jump_slot;
	if (l->meddle) {
		if (i == 0 && !l->done) {
			__atomic_store_n(slot, (void *)other_read,
					 __ATOMIC_SEQ_CST);
			l->done = true;
		}
		return;
	}
	void *v = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (l->n < l->cap)
		l->vals[l->n] = v;
	l->n++;
	l->stubs += in_object(l->info, v);
}

static int look_at(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct look *l = arg;
	(void)size;
	if (!in_object(info, l->in_obj))
		return 0;
	l->info = info;
	tt_got_scan(info, io_fns, 3, seen, l);
	return 1;
}

static size_t peek(const void *in_obj, void **vals, size_t cap, size_t *stubs)
{
	struct look l = {.in_obj = in_obj, .vals = vals, .cap = cap};
	dl_iterate_phdr(look_at, &l);
	*stubs = l.stubs;
	return l.n;
}

static int meddle(const void *in_obj)
{
	struct look l = {.in_obj = in_obj, .meddle = true};
	dl_iterate_phdr(look_at, &l);
	return l.done ? 0 : -1;
}

static void counts(unsigned long c[4])
{
	for (int i = 0; i < 4; i++)
		c[i] = __atomic_load_n(&calls[i], __ATOMIC_RELAXED);
}

EXPORT const struct got_hooker got_hooker = {
	hooks, install, tt_got_refresh, tt_got_restore, counts, peek, meddle,
};
