/* GOT patching: hooks for a library dlopen'ed into a running process
 * (got.h).
 *
 * Why a slot can change under running threads: on x86-64 (and AArch64)
 * an aligned 8-byte store is single-copy atomic, and every reader of a
 * GOT slot reads it with one aligned 8-byte load (the PLT's jmp *slot,
 * a -fno-plt call *slot, a mov of a GLOB_DAT address).  A thread calling
 * through the slot while it changes therefore jumps either to the old
 * function or to ours, never to a mix of the two; both take the same
 * arguments and give the same results, and a call already under way
 * simply finishes where it started.  The store is a compare-and-swap
 * from the value read: a lazy binding the loader completes meanwhile
 * (it writes the slot too) is seen and the store retried, never undone.
 * A RELRO page is writable for the store alone (mprotect before, and
 * after back to what /proc/self/maps showed): meanwhile other threads
 * only read it, which the extra write permission does not change.
 *
 * The loader's list of objects is only stable inside dl_iterate_phdr
 * (it holds the loader's write lock, under which dlclose also unmaps),
 * so each pass gathers in one walk (which slots, in which objects),
 * reads the pages' protections with no lock but ours, and writes in a
 * second walk that first checks the list has not changed (dlpi_adds and
 * dlpi_subs as in the first), else starts over.  Inside a walk nothing
 * calls into the loader (it would take the loader's other lock, in the
 * opposite order to a dlopen).
 *
 * An object another thread is still relocating (dlopen maps it, lists
 * it, then relocates it) must not be written: the loader would make its
 * RELRO read-only under our store, or add its base to a lazy slot that
 * holds our absolute address.  Its RELRO pages still writable, or a lazy
 * slot still holding its link-time value, mark it; its slots wait for a
 * later refresh.  No call waits for the loader: a thread's constructor
 * may be waiting for the very thread that runs a hook. */
#include "got.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#define R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define R_GLOB_DAT  R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define R_GLOB_DAT  R_AARCH64_GLOB_DAT
#else
#error "GOT patching knows the relocations of x86-64 and AArch64 only"
#endif

typedef ElfW(Phdr) phdr_t;
typedef ElfW(Dyn) dyn_t;
typedef ElfW(Sym) sym_t;
typedef ElfW(Rela) rela_t;

/* Bounds of the walk over one object: dynamic entries, symbols counted
 * from a hash table. */
#define DYN_MAX	 4096
#define SYMS_MAX (1u << 22)

/* ---- The walk over one object's dynamic section ---- */

struct view {
	uintptr_t base;
	const phdr_t *ph;
	size_t phnum;
};

/* Whether [a, a + len) lies inside one PT_LOAD segment (a writable one
 * if asked). */
static bool inside(const struct view *v, uintptr_t a, size_t len, bool writable)
{
	for (size_t i = 0; i < v->phnum; i++) {
		const phdr_t *p = &v->ph[i];
		if (p->p_type != PT_LOAD || (writable && !(p->p_flags & PF_W)))
			continue;
		if (p->p_vaddr > UINTPTR_MAX - v->base)
			continue;
		uintptr_t lo = v->base + p->p_vaddr;
		if (p->p_memsz > UINTPTR_MAX - lo)
			continue;
		uintptr_t hi = lo + p->p_memsz;
		if (a >= lo && a <= hi && len <= hi - a)
			return true;
	}
	return false;
}

/* The address a d_ptr names, checked to hold len bytes, or 0.  glibc
 * adds the base to the d_ptr of a writable dynamic section when it loads
 * the object, not to a read-only one (nor the vDSO's): both are taken. */
static uintptr_t at(const struct view *v, uintptr_t p, size_t len)
{
	if (v->base && p >= v->base && inside(v, p, len, false))
		return p;
	if (p <= UINTPTR_MAX - v->base && inside(v, v->base + p, len, false))
		return v->base + p;
	return 0;
}

struct dyn {
	uintptr_t symtab; /* first entry checked; the others one by one */
	const char *str;
	size_t strsz;
	uintptr_t rela[2]; /* DT_JMPREL, DT_RELA */
	size_t relasz[2];
	uintptr_t gnu_hash, hash;
};

static bool view_of(const struct dl_phdr_info *info, struct view *v)
{
	v->base = info->dlpi_addr;
	v->ph = info->dlpi_phdr;
	v->phnum = info->dlpi_phdr ? info->dlpi_phnum : 0;
	return v->phnum > 0;
}

static bool read_dyn(const struct view *v, struct dyn *d)
{
	const phdr_t *dp = NULL;
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < v->phnum && !dp; i++)
		if (v->ph[i].p_type == PT_DYNAMIC)
			dp = &v->ph[i];
	if (!dp || dp->p_vaddr > UINTPTR_MAX - v->base)
		return false;
	size_t n = dp->p_memsz / sizeof(dyn_t);
	if (n > DYN_MAX)
		n = DYN_MAX;
	uintptr_t a = v->base + dp->p_vaddr;
	if (!n || a % sizeof(uintptr_t) ||
	    !inside(v, a, n * sizeof(dyn_t), false))
		return false;
	const dyn_t *e = (const dyn_t *)a;
	uintptr_t str = 0, sym = 0, jmprel = 0, rela = 0;
	size_t pltrelsz = 0, relasz = 0;
	size_t syment = sizeof(sym_t), relaent = sizeof(rela_t);
	long pltrel = DT_RELA;
	for (size_t i = 0; i < n && e[i].d_tag != DT_NULL; i++) {
		uintptr_t val = e[i].d_un.d_ptr;
		switch (e[i].d_tag) {
		case DT_STRTAB:
			str = val;
			break;
		case DT_STRSZ:
			d->strsz = val;
			break;
		case DT_SYMTAB:
			sym = val;
			break;
		case DT_SYMENT:
			syment = val;
			break;
		case DT_JMPREL:
			jmprel = val;
			break;
		case DT_PLTRELSZ:
			pltrelsz = val;
			break;
		case DT_PLTREL:
			pltrel = (long)val;
			break;
		case DT_RELA:
			rela = val;
			break;
		case DT_RELASZ:
			relasz = val;
			break;
		case DT_RELAENT:
			relaent = val;
			break;
		case DT_GNU_HASH:
			d->gnu_hash = at(v, val, 16);
			break;
		case DT_HASH:
			d->hash = at(v, val, 8);
			break;
		default:
			break;
		}
	}
	if (syment != sizeof(sym_t) || relaent != sizeof(rela_t) || !d->strsz)
		return false;
	d->str = (const char *)at(v, str, d->strsz);
	d->symtab = at(v, sym, sizeof(sym_t));
	if (!d->str || !d->symtab || d->symtab % sizeof(uintptr_t))
		return false;
	if (jmprel && pltrel == DT_RELA && pltrelsz % sizeof(rela_t) == 0) {
		d->rela[0] = at(v, jmprel, pltrelsz);
		d->relasz[0] = d->rela[0] ? pltrelsz : 0;
	}
	if (rela && relasz % sizeof(rela_t) == 0) {
		d->rela[1] = at(v, rela, relasz);
		d->relasz[1] = d->rela[1] ? relasz : 0;
	}
	for (int t = 0; t < 2; t++)
		if (d->rela[t] % sizeof(uintptr_t))
			d->relasz[t] = 0;
	if (d->gnu_hash % sizeof(uintptr_t))
		d->gnu_hash = 0;
	if (d->hash % sizeof(uint32_t))
		d->hash = 0;
	return true;
}

/* Symbol idx and its name (with the room its string table leaves it),
 * or NULL. */
static const sym_t *sym_at(const struct view *v, const struct dyn *d,
			   size_t idx, const char **name, size_t *room)
{
	if (idx > (UINTPTR_MAX - d->symtab) / sizeof(sym_t))
		return NULL;
	uintptr_t a = d->symtab + idx * sizeof(sym_t);
	if (!inside(v, a, sizeof(sym_t), false))
		return NULL;
	const sym_t *s = (const sym_t *)a;
	if (s->st_name >= d->strsz)
		return NULL;
	*name = d->str + s->st_name;
	*room = d->strsz - s->st_name;
	return s;
}

/* Whether the string at s (room bytes readable) is name. */
static bool name_is(const char *s, size_t room, const char *name)
{
	for (size_t i = 0; i < room; i++) {
		if (s[i] != name[i])
			return false;
		if (!name[i])
			return true;
	}
	return false;
}

size_t tt_got_scan(const struct dl_phdr_info *info, const struct tt_got_fn *fns,
		   size_t n, tt_got_found_fn found, void *arg)
{
	struct view v;
	struct dyn d;
	size_t hits = 0;
	if (!view_of(info, &v) || !read_dyn(&v, &d))
		return 0;
	for (int t = 0; t < 2; t++) {
		const rela_t *r = (const rela_t *)d.rela[t];
		size_t nr = d.relasz[t] / sizeof(rela_t);
		for (size_t k = 0; k < nr; k++) {
			unsigned type = ELF64_R_TYPE(r[k].r_info);
			size_t si = ELF64_R_SYM(r[k].r_info);
			const char *name;
			size_t room, i;
			if ((type != R_JUMP_SLOT && type != R_GLOB_DAT) ||
			    !si || !sym_at(&v, &d, si, &name, &room))
				continue;
			for (i = 0; i < n; i++)
				if (name[0] == fns[i].name[0] &&
				    name_is(name, room, fns[i].name))
					break;
			if (i == n || r[k].r_offset > UINTPTR_MAX - v.base)
				continue;
			uintptr_t slot = v.base + r[k].r_offset;
			if (slot % sizeof(void *) ||
			    !inside(&v, slot, sizeof(void *), true))
				continue;
			found(arg, (void **)slot, i, type == R_JUMP_SLOT);
			hits++;
		}
	}
	return hits;
}

/* How many symbols the dynamic symbol table holds: DT_HASH says it;
 * DT_GNU_HASH's highest bucket's chain ends at the last one. */
static size_t sym_count(const struct view *v, const struct dyn *d)
{
	if (d->gnu_hash) {
		const uint32_t *h = (const uint32_t *)d->gnu_hash;
		uint32_t nb = h[0], off = h[1], nbloom = h[2];
		uintptr_t b = d->gnu_hash + 16;
		if (nbloom > (UINTPTR_MAX - b) / sizeof(uintptr_t))
			return 0;
		b += (uintptr_t)nbloom * sizeof(uintptr_t);
		if (!nb || nb > SYMS_MAX || !inside(v, b, nb * 4u, false))
			return 0;
		const uint32_t *bucket = (const uint32_t *)b;
		uint32_t last = 0;
		for (uint32_t i = 0; i < nb; i++)
			if (bucket[i] > last)
				last = bucket[i];
		if (last < off)
			return off;
		uintptr_t chain = b + nb * 4u;
		for (; last < SYMS_MAX; last++) {
			uintptr_t c = chain + (uintptr_t)(last - off) * 4u;
			if (!inside(v, c, 4, false))
				return 0;
			if (*(const uint32_t *)c & 1)
				return (size_t)last + 1;
		}
		return 0;
	}
	if (d->hash) {
		uint32_t nchain = ((const uint32_t *)d->hash)[1];
		return nchain < SYMS_MAX ? nchain : SYMS_MAX;
	}
	return 0;
}

size_t tt_got_exports(const struct dl_phdr_info *info, const char **names,
		      size_t cap)
{
	struct view v;
	struct dyn d;
	size_t k = 0;
	if (!view_of(info, &v) || !read_dyn(&v, &d))
		return 0;
	size_t n = sym_count(&v, &d);
	for (size_t i = 1; i < n; i++) {
		const char *name;
		size_t room;
		const sym_t *s = sym_at(&v, &d, i, &name, &room);
		if (!s)
			break;
		unsigned type = ELF64_ST_TYPE(s->st_info);
		unsigned bind = ELF64_ST_BIND(s->st_info);
		unsigned vis = ELF64_ST_VISIBILITY(s->st_other);
		if (s->st_shndx == SHN_UNDEF ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    (bind != STB_GLOBAL && bind != STB_WEAK) ||
		    (vis != STV_DEFAULT && vis != STV_PROTECTED) || !name[0] ||
		    !memchr(name, 0, room))
			continue;
		if (k < cap)
			names[k] = name;
		k++;
	}
	return k;
}

/* ---- What was patched ---- */

enum { OBJ_NEW, OBJ_DONE, OBJ_DEFERRED };
/* An object whose slots keep waiting (its RELRO never turns read-only:
 * someone else made it writable) is given up after this many passes,
 * at most one a millisecond. */
#define DEFER_TRIES   64
#define DEFER_WAIT_NS 1000000LL

/* A loaded object: who it is (base, program headers, name), where its
 * image and the pages its loader made read-only are. */
struct obj {
	uintptr_t base;
	const void *phdr;
	uint32_t name;
	uintptr_t lo, hi;	      /* its PT_LOADs' link-time span */
	uintptr_t relro_lo, relro_hi; /* page-aligned, as the loader does */
	int relro_prot;		      /* first RELRO page's, this pass */
	unsigned gen;		      /* the pass that last saw it */
	unsigned char state, tries;
	bool used, deferred;
};

/* A slot: patched (old is what it held), or to patch in this pass (old
 * is what the gathering walk read, prot its page's protection). */
struct slot {
	void **at;
	void *old, *ours;
	unsigned obj;
	int prot;
	bool jump;
	bool keep; /* restore: not put back yet */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tt_got_fn hooks[TT_GOT_FNS];
static size_t nhooks;
static struct obj objs[TT_GOT_OBJS];
static struct slot slots[TT_GOT_SLOTS];
static size_t nslots;
static struct slot pend[TT_GOT_SLOTS];
static size_t npend;
static unsigned gen;
static char maps_buf[4096];
/* Read without the lock by tt_got_refresh's fast path. */
static bool installed;
static unsigned long long seen_adds, seen_subs;
static bool again; /* a pass left slots waiting: retry after again_at */
static long long again_at;

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* In the child after fork(): only the forking thread survives, and the
 * lock another thread held (a pass under way) would never be released.
 * That pass, cut short, is done again by the next refresh: the objects
 * it had not finished are still to patch. */
static void fork_child(void)
{
	bool held = pthread_mutex_trylock(&lock) != 0;
	pthread_mutex_init(&lock, NULL);
	if (held) {
		__atomic_store_n(&again_at, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&again, true, __ATOMIC_RELEASE);
	}
}

static void fork_register(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

static long long now_ns(void)
{
	struct timespec ts;
	/* the vDSO's: no syscall */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static size_t page_size(void)
{
	size_t ps = getauxval(AT_PAGESZ);
	return ps ? ps : 4096;
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; s && s[i] && i < 4096; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static bool contains(const struct dl_phdr_info *info, uintptr_t a)
{
	struct view v;
	return view_of(info, &v) && inside(&v, a, 1, false);
}

/* Ours (this file's object), the dynamic loader's, the vDSO. */
static bool excluded(const struct dl_phdr_info *info)
{
	uintptr_t ldso = getauxval(AT_BASE);
	uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (contains(info, (uintptr_t)(void *)excluded))
		return true;
	if (ldso ? info->dlpi_addr == ldso : strncmp(base, "ld-", 3) == 0)
		return true;
	return vdso && contains(info, vdso);
}

static struct obj *find_obj(const struct dl_phdr_info *info)
{
	uint32_t h = name_hash(info->dlpi_name);
	for (size_t i = 0; i < TT_GOT_OBJS; i++)
		if (objs[i].used && objs[i].base == info->dlpi_addr &&
		    objs[i].phdr == (const void *)info->dlpi_phdr &&
		    objs[i].name == h)
			return &objs[i];
	return NULL;
}

static struct obj *new_obj(const struct dl_phdr_info *info, size_t ps)
{
	struct obj *o = NULL;
	for (size_t i = 0; i < TT_GOT_OBJS && !o; i++)
		if (!objs[i].used)
			o = &objs[i];
	if (!o)
		return NULL;
	memset(o, 0, sizeof(*o));
	o->used = true;
	o->base = info->dlpi_addr;
	o->phdr = info->dlpi_phdr;
	o->name = name_hash(info->dlpi_name);
	o->lo = UINTPTR_MAX;
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const phdr_t *p = &info->dlpi_phdr[i];
		if (p->p_type == PT_LOAD) {
			if (p->p_vaddr < o->lo)
				o->lo = p->p_vaddr;
			if (p->p_vaddr + p->p_memsz > o->hi)
				o->hi = p->p_vaddr + p->p_memsz;
		} else if (p->p_type == PT_GNU_RELRO) {
			uintptr_t a = info->dlpi_addr + p->p_vaddr;
			o->relro_lo = a & ~(ps - 1);
			o->relro_hi = (a + p->p_memsz) & ~(ps - 1);
		}
	}
	if (o->lo > o->hi)
		o->lo = o->hi;
	return o;
}

/* Forgets object i and its slots (it was unloaded, or is a new image at
 * the same place). */
static void forget(unsigned i)
{
	for (size_t k = 0; k < nslots;)
		if (slots[k].obj == i)
			slots[k] = slots[--nslots];
		else
			k++;
	objs[i].used = false;
}

static void sweep(void)
{
	for (unsigned i = 0; i < TT_GOT_OBJS; i++)
		if (objs[i].used && objs[i].gen != gen)
			forget(i);
}

/* Whether any slot of object i still holds our function (inside a walk
 * that lists it). */
static bool holds_ours(unsigned i)
{
	for (size_t k = 0; k < nslots; k++)
		if (slots[k].obj == i &&
		    __atomic_load_n(slots[k].at, __ATOMIC_RELAXED) ==
			    slots[k].ours)
			return true;
	return false;
}

/* Whether a lazy slot's value is one the loader is done with: an address
 * in the relocated image (its PLT stub) or outside the image's link-time
 * span (a bound function), not a link-time stub address it has yet to
 * add the base to. */
static bool settled(const struct obj *o, uintptr_t v)
{
	if (!o->base)
		return true;
	if (v >= o->base + o->lo && v < o->base + o->hi)
		return true;
	return !(v >= o->lo && v < o->hi);
}

/* ---- /proc/self/maps ---- */

static void set_prot(uintptr_t s, uintptr_t e, int prot, size_t ps)
{
	for (size_t i = 0; i < npend; i++) {
		uintptr_t page = (uintptr_t)pend[i].at & ~(ps - 1);
		if (pend[i].prot < 0 && page >= s && page < e)
			pend[i].prot = prot;
	}
	for (size_t i = 0; i < TT_GOT_OBJS; i++)
		if (objs[i].used && objs[i].relro_prot < 0 &&
		    objs[i].relro_lo >= s && objs[i].relro_lo < e)
			objs[i].relro_prot = prot;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The protection of each pending slot's page and of each object's first
 * RELRO page (PROT_* bits; -1 when no private mapping holds it), read
 * with raw syscalls (our own read() may be a hook of the host's).
 * Returns 0 or the errno that stopped it. */
static int read_prots(size_t ps)
{
	for (size_t i = 0; i < npend; i++)
		pend[i].prot = -1;
	for (size_t i = 0; i < TT_GOT_OBJS; i++)
		objs[i].relro_prot = -1;
	/* this thread's view: /proc/self is the leader's, whose maps are
	 * empty once it exited while other threads run (/proc/thread-self
	 * is Linux 3.17's) */
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/thread-self/maps",
			  O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/maps",
			     O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	uintptr_t s = 0, e = 0;
	int st = 0, k = 0, prot = 0, err = 0;
	for (;;) {
		long r = syscall(SYS_read, (int)fd, maps_buf, sizeof(maps_buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : 0;
			break;
		}
		for (long i = 0; i < r; i++) {
			char c = maps_buf[i];
			int x = hexval(c);
			if (c == '\n') {
				st = k = prot = 0;
				s = e = 0;
			} else if (st == 0) { /* start */
				if (c == '-')
					st = 1;
				else if (x < 0)
					st = 3;
				else
					s = s << 4 | (uintptr_t)x;
			} else if (st == 1) { /* end */
				if (c == ' ')
					st = 2;
				else if (x < 0)
					st = 3;
				else
					e = e << 4 | (uintptr_t)x;
			} else if (st == 2) { /* rwxp */
				if (k == 0 && c == 'r')
					prot |= PROT_READ;
				else if (k == 1 && c == 'w')
					prot |= PROT_WRITE;
				else if (k == 2 && c == 'x')
					prot |= PROT_EXEC;
				else if (k == 3) {
					/* a shared mapping would write a
					 * file: never a GOT's */
					if (c == 'p')
						set_prot(s, e, prot, ps);
					st = 3;
				}
				k++;
			}
		}
	}
	syscall(SYS_close, (int)fd);
	return err;
}

/* ---- The passes ---- */

struct note {
	char *buf;
	size_t cap, len;
};

static void note(struct note *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct note *n, const char *fmt, ...)
{
	va_list ap;
	if (!n || !n->buf || n->len + 1 >= n->cap)
		return;
	if (n->len)
		n->len += (size_t)snprintf(n->buf + n->len, n->cap - n->len,
					   "; ");
	if (n->len + 1 >= n->cap) {
		n->len = n->cap - 1;
		return;
	}
	va_start(ap, fmt);
	int w = vsnprintf(n->buf + n->len, n->cap - n->len, fmt, ap);
	va_end(ap);
	n->len = w < 0 ? n->len : n->len + (size_t)w;
	if (n->len >= n->cap)
		n->len = n->cap - 1;
}

struct pass {
	unsigned long long adds, subs;
	bool started;	 /* the walk's first object was seen */
	bool subs_moved; /* something was unloaded since the last pass */
	bool changed;	 /* the list moved between the two walks */
	size_t ps;
	size_t done, objs_full, slots_full, deferred, failed, unmapped;
	size_t writable; /* pages left writable: mprotect failed */
	size_t left_alone;
	int err;
};

struct found {
	struct pass *p;
	unsigned obj;
};

static void add_pending(void *arg, void **slot, size_t i, bool jump)
{
	struct found *f = arg;
	void *cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (cur == hooks[i].fn)
		return; /* already ours (a slot named twice) */
	if (npend == TT_GOT_SLOTS) {
		f->p->slots_full++;
		return;
	}
	pend[npend++] = (struct slot){.at = slot,
				      .old = cur,
				      .ours = hooks[i].fn,
				      .obj = f->obj,
				      .prot = -1,
				      .jump = jump};
}

static int gather(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct pass *p = arg;
	(void)size;
	if (!p->started) {
		p->started = true;
		p->adds = info->dlpi_adds;
		p->subs = info->dlpi_subs;
		p->subs_moved = p->subs != seen_subs;
	}
	if (excluded(info))
		return 0;
	struct obj *o = find_obj(info);
	/* Unloaded and loaded again at the same place under the same name
	 * since the last pass: a new image, whose slots are as the loader
	 * left them. */
	if (o && o->state == OBJ_DONE && p->subs_moved &&
	    !holds_ours((unsigned)(o - objs))) {
		forget((unsigned)(o - objs));
		o = NULL;
	}
	if (!o && !(o = new_obj(info, p->ps))) {
		p->objs_full++;
		return 0;
	}
	o->gen = gen;
	o->deferred = false;
	if (o->state == OBJ_DONE)
		return 0;
	struct found f = {p, (unsigned)(o - objs)};
	tt_got_scan(info, hooks, nhooks, add_pending, &f);
	return 0;
}

/* Writes v into the slot at e->at if it still holds *expect, the page
 * made writable for that store alone if it is not: 1; 0 (and *expect
 * what it holds) if it held something else; -1 if the page could not be
 * made writable. */
static int store(struct pass *p, struct slot *e, void **expect, void *v)
{
	uintptr_t page = (uintptr_t)e->at & ~(p->ps - 1);
	bool mp = !(e->prot & PROT_WRITE);
	if (mp && mprotect((void *)page, p->ps, e->prot | PROT_WRITE) != 0) {
		p->failed++;
		p->err = errno;
		return -1;
	}
	bool ok = __atomic_compare_exchange_n(
		e->at, expect, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (mp && mprotect((void *)page, p->ps, e->prot) != 0) {
		p->writable++;
		p->err = errno;
	}
	return ok ? 1 : 0;
}

static void patch_one(struct pass *p, struct slot *e)
{
	struct obj *o = &objs[e->obj];
	uintptr_t page = (uintptr_t)e->at & ~(p->ps - 1);
	if (e->prot < 0) {
		p->unmapped++;
		return;
	}
	if (page >= o->relro_lo && page < o->relro_hi &&
	    (o->relro_prot < 0 || (o->relro_prot & PROT_WRITE))) {
		o->deferred = true; /* still being relocated */
		p->deferred++;
		return;
	}
	void *cur = __atomic_load_n(e->at, __ATOMIC_ACQUIRE);
	for (int tries = 0; tries < 4; tries++) {
		if (cur == e->ours)
			return;
		if (e->jump && !settled(o, (uintptr_t)cur)) {
			o->deferred = true;
			p->deferred++;
			return;
		}
		if (nslots == TT_GOT_SLOTS) {
			p->slots_full++;
			return;
		}
		void *old = cur;
		int r = store(p, e, &cur, e->ours);
		if (r > 0) {
			slots[nslots++] = (struct slot){.at = e->at,
							.old = old,
							.ours = e->ours,
							.obj = e->obj,
							.jump = e->jump};
			p->done++;
			return;
		}
		if (r < 0)
			return;
	}
	p->deferred++;
	o->deferred = true;
}

static int act(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct pass *p = arg;
	(void)size;
	if (info->dlpi_adds != p->adds || info->dlpi_subs != p->subs) {
		p->changed = true;
		return 1;
	}
	/* The list is as gathered and stays so until we return: every
	 * object pend names is mapped. */
	for (size_t i = 0; i < npend; i++)
		patch_one(p, &pend[i]);
	return 1;
}

/* One patching pass, the lock held. */
static size_t patch(struct note *why)
{
	struct pass p;
	bool any_deferred = false;
	int maps_err = 0;
	for (int attempt = 0; attempt < 4; attempt++) {
		memset(&p, 0, sizeof(p));
		p.ps = page_size();
		npend = 0;
		gen++;
		dl_iterate_phdr(gather, &p);
		sweep();
		if (npend)
			maps_err = read_prots(p.ps);
		dl_iterate_phdr(act, &p);
		if (!p.changed)
			break;
	}
	if (p.changed) {
		note(why, "the loaded objects kept changing: nothing patched");
		__atomic_store_n(&again_at, now_ns() + DEFER_WAIT_NS,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&again, true, __ATOMIC_RELEASE);
		return 0;
	}
	for (unsigned i = 0; i < TT_GOT_OBJS; i++) {
		struct obj *o = &objs[i];
		if (!o->used || o->gen != gen || o->state == OBJ_DONE)
			continue;
		if (o->deferred && ++o->tries < DEFER_TRIES) {
			o->state = OBJ_DEFERRED;
			any_deferred = true;
		} else {
			o->state = OBJ_DONE;
		}
	}
	__atomic_store_n(&seen_adds, p.adds, __ATOMIC_RELAXED);
	__atomic_store_n(&seen_subs, p.subs, __ATOMIC_RELAXED);
	__atomic_store_n(&again_at, now_ns() + DEFER_WAIT_NS, __ATOMIC_RELAXED);
	__atomic_store_n(&again, any_deferred, __ATOMIC_RELEASE);
	if (p.slots_full)
		note(why, "%zu slots not patched: the table of %d is full",
		     p.slots_full, TT_GOT_SLOTS);
	if (p.objs_full)
		note(why, "%zu objects not patched: the table of %d is full",
		     p.objs_full, TT_GOT_OBJS);
	if (p.deferred)
		note(why,
		     "%zu slots of objects still being relocated left to tt_got_refresh",
		     p.deferred);
	if (p.failed)
		note(why, "%zu slots left as they were: mprotect: %s", p.failed,
		     strerror(p.err));
	if (p.writable)
		note(why, "%zu RELRO pages left writable: mprotect: %s",
		     p.writable, strerror(p.err));
	if (p.unmapped)
		note(why,
		     "%zu slots left as they were: their page is not in /proc/self/maps%s%s",
		     p.unmapped, maps_err ? ": " : "",
		     maps_err ? strerror(maps_err) : "");
	return p.done;
}

size_t tt_got_install(const struct tt_got_fn *fns, size_t n, char *why,
		      size_t cap)
{
	int saved = errno;
	struct note nt = {why, cap, 0};
	if (why && cap)
		why[0] = 0;
	/* before the lock is first taken */
	pthread_once(&fork_once, fork_register);
	pthread_mutex_lock(&lock);
	if (!__atomic_load_n(&installed, __ATOMIC_RELAXED)) {
		nhooks = 0;
		for (size_t i = 0; i < n && nhooks < TT_GOT_FNS; i++)
			if (fns[i].name && fns[i].name[0] && fns[i].fn)
				hooks[nhooks++] = fns[i];
		if (n > TT_GOT_FNS)
			note(&nt, "%zu hooks past the first %d left out",
			     n - TT_GOT_FNS, TT_GOT_FNS);
	}
	size_t r = patch(&nt);
	__atomic_store_n(&installed, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
	errno = saved;
	return r;
}

/* The walk's first object gives the loader's counters. */
static int counters(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *c = arg;
	(void)size;
	c[0] = info->dlpi_adds;
	c[1] = info->dlpi_subs;
	return 1;
}

void tt_got_refresh(void)
{
	if (!__atomic_load_n(&installed, __ATOMIC_ACQUIRE))
		return;
	int saved = errno;
	unsigned long long c[2] = {0, 0};
	dl_iterate_phdr(counters, c);
	bool moved = c[0] != __atomic_load_n(&seen_adds, __ATOMIC_RELAXED) ||
		     c[1] != __atomic_load_n(&seen_subs, __ATOMIC_RELAXED);
	if ((moved ||
	     (__atomic_load_n(&again, __ATOMIC_ACQUIRE) &&
	      now_ns() >= __atomic_load_n(&again_at, __ATOMIC_RELAXED))) &&
	    pthread_mutex_trylock(&lock) == 0) {
		if (__atomic_load_n(&installed, __ATOMIC_RELAXED))
			patch(NULL);
		pthread_mutex_unlock(&lock);
	}
	errno = saved;
}

static int mark(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct pass *p = arg;
	(void)size;
	p->adds = info->dlpi_adds;
	p->subs = info->dlpi_subs;
	struct obj *o = excluded(info) ? NULL : find_obj(info);
	if (o)
		o->gen = gen;
	return 0;
}

static int put_back(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct pass *p = arg;
	(void)size;
	if (info->dlpi_adds != p->adds || info->dlpi_subs != p->subs) {
		p->changed = true;
		return 1;
	}
	for (size_t i = 0; i < npend; i++) {
		struct slot *e = &pend[i];
		void *expect = e->ours;
		int r = 0;
		e->keep = e->prot < 0;
		if (e->keep)
			p->unmapped++;
		else if (__atomic_load_n(e->at, __ATOMIC_ACQUIRE) == e->ours)
			r = store(p, e, &expect, e->old);
		if (r > 0)
			p->done++;
		else if (r < 0)
			e->keep = true;
		else if (!e->keep)
			p->left_alone++;
	}
	return 1;
}

size_t tt_got_restore(size_t *left_alone)
{
	int saved = errno;
	struct pass p;
	memset(&p, 0, sizeof(p));
	pthread_once(&fork_once, fork_register);
	pthread_mutex_lock(&lock);
	__atomic_store_n(&installed, false, __ATOMIC_RELEASE);
	for (int attempt = 0; attempt < 4; attempt++) {
		memset(&p, 0, sizeof(p));
		p.ps = page_size();
		gen++;
		dl_iterate_phdr(mark, &p);
		sweep(); /* an object gone took its slots with it */
		npend = nslots;
		memcpy(pend, slots, nslots * sizeof(slots[0]));
		if (npend)
			read_prots(p.ps);
		dl_iterate_phdr(put_back, &p);
		if (!p.changed)
			break;
	}
	if (!p.changed) {
		/* what could not be put back is kept for another call */
		nslots = 0;
		for (size_t i = 0; i < npend; i++)
			if (pend[i].keep)
				slots[nslots++] = pend[i];
		npend = 0;
		if (!nslots)
			memset(objs, 0, sizeof(objs));
	} else {
		/* all kept for another call */
		p.done = p.left_alone = 0;
	}
	pthread_mutex_unlock(&lock);
	if (left_alone)
		*left_alone = p.left_alone;
	errno = saved;
	return p.done;
}

size_t tt_got_held(void)
{
	pthread_once(&fork_once, fork_register);
	pthread_mutex_lock(&lock);
	size_t n = nslots;
	pthread_mutex_unlock(&lock);
	return n;
}

/* ---- Our hooks ---- */

/* Exported, but no hooks: shim/hexfmt.c answers the per-byte
 * sprintf("%02x") of the key log OpenSSL formats faster than glibc.
 * Nothing traced depends on them (they only spare time), and patched into
 * a running process they would take over every sprintf of every object
 * for it. */
static const char *const not_hooks[] = {"sprintf", "__sprintf_chk"};

struct own {
	const char **names;
	size_t cap, n;
	bool found;
};

static int own_exports(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct own *o = arg;
	(void)size;
	if (!contains(info, (uintptr_t)(void *)own_exports))
		return 0;
	o->n = tt_got_exports(info, o->names, o->cap);
	o->found = true;
	return 1;
}

size_t tt_got_hooks(struct tt_got_fn *out, size_t cap)
{
	int saved = errno;
	const char *names[2 * TT_GOT_FNS];
	struct own o = {names, 2 * TT_GOT_FNS, 0, false};
	Dl_info me, it;
	size_t k = 0;
	/* the names first, then the loader asked about each */
	dl_iterate_phdr(own_exports, &o);
	if (o.n > o.cap)
		o.n = o.cap;
	void *h = NULL;
	if (o.found && dladdr((void *)tt_got_hooks, &me) && me.dli_fname)
		h = dlopen(me.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
	for (size_t i = 0; h && i < o.n; i++) {
		bool skip = false;
		for (size_t j = 0; j < sizeof(not_hooks) / sizeof(*not_hooks);
		     j++)
			skip |= strcmp(names[i], not_hooks[j]) == 0;
		void *f = skip ? NULL : dlsym(h, names[i]);
		if (!f || !dladdr(f, &it) || it.dli_fbase != me.dli_fbase)
			continue;
		if (k < cap)
			out[k] = (struct tt_got_fn){names[i], f};
		k++;
	}
	if (h)
		dlclose(h); /* NOLOAD took a reference; we stay */
	errno = saved;
	return k;
}
