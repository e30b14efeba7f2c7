/* The host of tests/integration/test_got.py: calls read, write and close
 * on a pipe itself (its own PLT) and through libraries (got/io.c) bound
 * at load with full RELRO (libgot_now.so), lazily (libgot_lazy.so, not
 * called before the install: its slots still hold their PLT stubs),
 * loaded after the install (libgot_late.so; libgot_latenow.so, full
 * RELRO, whose RELRO is made writable again as if the loader were still
 * relocating it) and closed before the restore (libgot_gone.so), with a
 * hooker (got/hooker.c) installing
 * counting hooks by GOT patching.  Prints one line a step, with the
 * hooks' counts; around every install, refresh and restore, the
 * permissions of every mapping must stay as they were.
 *
 *   got_host DIR     DIR holding the libgot_*.so
 *   got_host DIR 8   with the hooker whose table holds 8 slots: the
 *                    install patches 8 of the 12 and says why not more */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "got/hooker.h"
#include "got/io.h"

static const struct got_hooker *hk;
static const char *dir;

typedef int (*round_fn)(void);

static round_fn open_lib(const char *name, int mode, void **handle)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/libgot_%s.so", dir, name);
	*handle = dlopen(path, mode);
	if (!*handle) {
		printf("dlopen %s: %s\n", path, dlerror());
		exit(2);
	}
	return (round_fn)dlsym(*handle, "io_round");
}

static void print_counts(const char *what)
{
	unsigned long c[4];
	hk->counts(c);
	printf("%s: read=%lu write=%lu close=%lu other=%lu\n", what, c[0], c[1],
	       c[2], c[3]);
}

static void rounds(const char *what, round_fn *f, size_t n)
{
	int bad = pipe_round() != 0;
	for (size_t i = 0; i < n; i++)
		bad |= f[i]() != 0;
	if (bad)
		printf("%s: a round failed\n", what);
	print_counts(what);
}

/* ---- the permissions of every byte mapped, from /proc/self/maps
 * (read with raw syscalls: read() is what is hooked) ---- */

#define MAPS_MAX 4096
struct maps {
	size_t n;
	struct {
		unsigned long s, e;
		char perm[5];
	} m[MAPS_MAX];
};
static struct maps before, after;
static char text[1 << 20];

static void snapshot(struct maps *mp)
{
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY);
	size_t len = 0;
	long r;
	while (fd >= 0 && len < sizeof(text) - 1 &&
	       (r = syscall(SYS_read, (int)fd, text + len,
			    sizeof(text) - 1 - len)) > 0)
		len += (size_t)r;
	syscall(SYS_close, (int)fd);
	text[len] = 0;
	mp->n = 0;
	for (char *line = text; *line && mp->n < MAPS_MAX;) {
		char *nl = strchr(line, '\n');
		unsigned long s, e;
		char perm[5];
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perm) == 3) {
			/* neighbours with the same permissions are one:
			 * what counts is each byte's */
			if (mp->n && mp->m[mp->n - 1].e == s &&
			    strcmp(mp->m[mp->n - 1].perm, perm) == 0) {
				mp->m[mp->n - 1].e = e;
			} else {
				mp->m[mp->n].s = s;
				mp->m[mp->n].e = e;
				memcpy(mp->m[mp->n].perm, perm, 5);
				mp->n++;
			}
		}
		if (!nl)
			break;
		line = nl + 1;
	}
}

static void compare(const char *what)
{
	snapshot(&after);
	for (size_t i = 0; i < before.n || i < after.n; i++) {
		if (i < before.n && i < after.n &&
		    before.m[i].s == after.m[i].s &&
		    before.m[i].e == after.m[i].e &&
		    strcmp(before.m[i].perm, after.m[i].perm) == 0)
			continue;
		printf("maps after %s: differ at %zu: %lx-%lx %s / %lx-%lx %s\n",
		       what, i, i < before.n ? before.m[i].s : 0,
		       i < before.n ? before.m[i].e : 0,
		       i < before.n ? before.m[i].perm : "-",
		       i < after.n ? after.m[i].s : 0,
		       i < after.n ? after.m[i].e : 0,
		       i < after.n ? after.m[i].perm : "-");
		return;
	}
	printf("maps after %s: same (%zu ranges)\n", what, before.n);
}

/* ---- an object's RELRO pages, as the loader protects them ---- */

struct relro {
	const void *in_obj;
	uintptr_t lo, hi;
};

static int find_relro(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct relro *r = arg;
	uintptr_t a = (uintptr_t)r->in_obj, ps = (uintptr_t)getpagesize();
	bool mine = false;
	(void)size;
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && a >= lo && a < lo + ph->p_memsz)
			mine = true;
	}
	for (size_t i = 0; mine && i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_GNU_RELRO) {
			r->lo = lo & ~(ps - 1);
			r->hi = (lo + ph->p_memsz) & ~(ps - 1);
		}
	}
	return mine;
}

static void relro_prot(const void *in_obj, int prot)
{
	struct relro r = {in_obj, 0, 0};
	dl_iterate_phdr(find_relro, &r);
	if (r.hi <= r.lo || mprotect((void *)r.lo, r.hi - r.lo, prot) != 0)
		printf("relro of %p: none, or mprotect failed\n", in_obj);
}

/* ---- the steps ---- */

static void peek(const char *what, const void *in_obj, void **was)
{
	void *vals[8];
	size_t stubs, same = 0;
	size_t n = hk->peek(in_obj, vals, 8, &stubs);
	for (size_t i = 0; was && i < n && i < 8; i++)
		same += vals[i] == was[i];
	printf("%s: slots=%zu stubs=%zu", what, n, stubs);
	if (was)
		printf(" same=%zu", same);
	printf("\n");
}

/* The table full: the rest left as they were, and why says so; what
 * was patched is put back. */
static int full(void)
{
	char why[512];
	size_t left;
	snapshot(&before);
	size_t n = hk->install(why, sizeof(why));
	compare("install");
	printf("install: patched=%zu why=\"%s\"\n", n, why);
	n = hk->install(why, sizeof(why));
	printf("install again: patched=%zu why=\"%s\"\n", n, why);
	snapshot(&before);
	n = hk->restore(&left);
	compare("restore");
	printf("restore: restored=%zu left_alone=%zu\n", n, left);
	return 0;
}

int main(int argc, char **argv)
{
	void *h_now, *h_lazy, *h_gone, *h_late, *h_latenow, *h_hook;
	char text_hooks[256], why[512];
	size_t left;
	void *lazy_was[8];

	if (argc != 2 && !(argc == 3 && strcmp(argv[2], "8") == 0)) {
		fprintf(stderr, "usage: got_host DIR [8]\n");
		return 2;
	}
	dir = argv[1];
	setvbuf(stdout, NULL, _IONBF, 0);
	round_fn now = open_lib("now", RTLD_NOW, &h_now);
	round_fn lazy = open_lib("lazy", RTLD_LAZY, &h_lazy);
	round_fn gone = open_lib("gone", RTLD_NOW, &h_gone);
	char path[4096];
	snprintf(path, sizeof(path), "%s/libgot_hooker%s.so", dir,
		 argc == 3 ? argv[2] : "");
	h_hook = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	hk = h_hook ? dlsym(h_hook, "got_hooker") : NULL;
	if (!hk) {
		printf("hooker: %s\n", dlerror());
		return 2;
	}

	if (argc == 3)
		return full();
	hk->hooks(text_hooks, sizeof(text_hooks));
	printf("hooks: %s\n", text_hooks);
	round_fn before_install[] = {now, gone};
	rounds("before", before_install, 2);
	size_t stubs;
	size_t n = hk->peek((void *)lazy, lazy_was, 8, &stubs);
	printf("lazy before: slots=%zu stubs=%zu\n", n, stubs);

	snapshot(&before);
	n = hk->install(why, sizeof(why));
	compare("install");
	printf("install: patched=%zu why=\"%s\"\n", n, why);
	round_fn all[] = {now, lazy, gone};
	rounds("installed", all, 3);
	peek("lazy installed", (void *)lazy, NULL);

	round_fn late = open_lib("late", RTLD_NOW, &h_late);
	round_fn late_only[] = {late};
	rounds("late, before refresh", late_only, 1);
	snapshot(&before);
	hk->refresh();
	compare("refresh");
	rounds("late, refreshed", late_only, 1);
	hk->refresh(); /* nothing new: nothing happens */
	rounds("late, refreshed again", late_only, 1);

	/* the loader still relocating it: its slots wait */
	round_fn latenow = open_lib("latenow", RTLD_NOW, &h_latenow);
	round_fn latenow_only[] = {latenow};
	relro_prot((void *)latenow, PROT_READ | PROT_WRITE);
	snapshot(&before);
	hk->refresh();
	compare("refresh while relocating");
	rounds("latenow, relro writable, refreshed", latenow_only, 1);
	relro_prot((void *)latenow, PROT_READ);
	nanosleep(&(struct timespec){0, 5000000}, NULL);
	hk->refresh();
	rounds("latenow, relro read-only, refreshed", latenow_only, 1);

	printf("meddle: %d\n", hk->meddle((void *)lazy));
	dlclose(h_gone);
	snapshot(&before);
	n = hk->restore(&left);
	compare("restore");
	printf("restore: restored=%zu left_alone=%zu\n", n, left);
	peek("lazy restored", (void *)lazy, lazy_was);
	round_fn still[] = {now, lazy, late, latenow};
	rounds("restored", still, 4);
	hk->refresh(); /* after a restore: nothing */
	rounds("restored, refreshed", still, 4);

	snapshot(&before);
	n = hk->install(why, sizeof(why));
	compare("second install");
	printf("second install: patched=%zu why=\"%s\"\n", n, why);
	rounds("installed again", still, 4);
	snapshot(&before);
	n = hk->restore(&left);
	compare("second restore");
	printf("second restore: restored=%zu left_alone=%zu\n", n, left);
	rounds("restored again", still, 4);
	return 0;
}
