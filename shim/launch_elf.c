/* Programs whose TLS tlstrace cannot see.
 *
 * Before running COMMAND, tlstrace finds the file execvp will run (a $PATH
 * search for a name without a slash) and reads its ELF headers.  A
 * statically linked program (no PT_INTERP: no dynamic loader, so
 * LD_PRELOAD does nothing) or a Go program (Go's build id note or section,
 * or its build information; cgo or not, Go does its socket I/O with raw
 * system calls) gets one stderr line `tlstrace: warning: ...` and runs all
 * the same.  A `#!` script is judged by its interpreter, one level down.
 * A file that does not parse gets no warning.
 *
 * LD_PRELOAD reaches nothing in a statically linked program (no dynamic
 * loader runs), and a Go program does its TLS in Go (crypto/tls) over raw
 * system calls, even when cgo links it dynamically.  Such a COMMAND still
 * runs, after one warning.  The file is only read (a few bounded preads
 * of its headers, never mapped); anything that does not parse is no ELF
 * as far as this is concerned: no warning, and execvp decides.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"

#define ET_EXEC_    2
#define ET_DYN_	    3
#define PT_LOAD_    1
#define PT_DYNAMIC_ 2
#define PT_INTERP_  3
#define PT_NOTE_    4
#define PF_X_	    1u
#define PF_W_	    2u
#define DT_SONAME_  14
#define SHN_XINDEX_ 0xffffu

/* Bounds of what is read: the kernel's own limit on the program header
 * table, then caps on notes, the dynamic section and the section table
 * that no real executable comes near. */
#define PHDRS_MAX 65536u
#define CHUNK_MAX 65536u
#define SHDRS_MAX (4u << 20)
#define SHSTR_MAX (1u << 20)

/* Go's build information starts with this, 16-byte aligned. */
static const char go_magic[] = "\xff Go buildinf:";
#define GO_MAGIC_LEN (sizeof(go_magic) - 1)

struct elf {
	int fd;
	uint64_t size;
	int is64, big;
};

/* Exactly @len bytes at @off of the file @fd of @size bytes, all inside
 * it; -1 otherwise.  A short read is retried, EINTR too. */
int pread_exact(int fd, uint64_t size, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (off > size || len > size - off)
		return -1;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Exactly @len bytes at @off, all inside the file; -1 otherwise. */
static int read_at(const struct elf *e, void *buf, size_t len, uint64_t off)
{
	return pread_exact(e->fd, e->size, buf, len, off);
}

/* Up to @cap bytes of [@off, @off + @len) in a fresh buffer, its length
 * in *@got; NULL when they cannot be read. */
static unsigned char *read_part(const struct elf *e, uint64_t off, uint64_t len,
				size_t cap, size_t *got)
{
	unsigned char *buf;
	size_t n = len < cap ? (size_t)len : cap;

	buf = malloc(n ? n : 1);
	if (!buf)
		return NULL;
	if (read_at(e, buf, n, off) != 0) {
		free(buf);
		return NULL;
	}
	*got = n;
	return buf;
}

/* An unsigned field of @width bytes in the file's byte order. */
static uint64_t get(const struct elf *e, const unsigned char *p, unsigned width)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < width; i++)
		v |= (uint64_t)p[e->big ? width - 1 - i : i] << (8 * i);
	return v;
}

/* Addresses, offsets and sizes: 8 bytes in ELF64, 4 in ELF32. */
static uint64_t word(const struct elf *e, const unsigned char *p)
{
	return get(e, p, e->is64 ? 8 : 4);
}

/* A note named "Go" (the linker's build id note) in a PT_NOTE segment. */
static int go_note(const struct elf *e, uint64_t off, uint64_t len,
		   uint64_t align)
{
	unsigned char *buf;
	size_t n, pos = 0, a = align == 8 ? 8 : 4;
	int found = 0;

	buf = read_part(e, off, len, CHUNK_MAX, &n);
	if (!buf)
		return 0;
	while (!found && n >= 12 && pos <= n - 12) {
		uint64_t namesz = get(e, buf + pos, 4);
		uint64_t descsz = get(e, buf + pos + 4, 4);

		pos += 12;
		if (namesz > n - pos)
			break;
		found = (namesz == 3 || namesz == 4) &&
			memcmp(buf + pos, "Go\0", namesz) == 0;
		pos += (size_t)namesz;
		pos = (pos + a - 1) & ~(a - 1);
		if (pos > n || descsz > n - pos)
			break;
		pos += (size_t)descsz;
		pos = (pos + a - 1) & ~(a - 1);
	}
	free(buf);
	return found;
}

/* Go's build information at the start of a segment (what Go's own
 * debug/buildinfo reads when there are no section headers). */
static int go_buildinfo_in(const struct elf *e, uint64_t off, uint64_t len)
{
	unsigned char *buf;
	size_t n, i;
	int found = 0;

	buf = read_part(e, off, len, CHUNK_MAX, &n);
	if (!buf)
		return 0;
	for (i = 0; !found && n >= GO_MAGIC_LEN && i <= n - GO_MAGIC_LEN;
	     i += 16)
		found = memcmp(buf + i, go_magic, GO_MAGIC_LEN) == 0;
	free(buf);
	return found;
}

/* A DT_SONAME in the dynamic section: a shared object run directly,
 * such as the dynamic loader (`ld.so PROGRAM`), which honours
 * LD_PRELOAD; a static-pie has a dynamic section but no soname. */
static int has_soname(const struct elf *e, uint64_t off, uint64_t len)
{
	unsigned char *buf;
	size_t n, i, ent = e->is64 ? 16 : 8;
	int found = 0;

	buf = read_part(e, off, len, CHUNK_MAX, &n);
	if (!buf)
		return 0;
	for (i = 0; i + ent <= n; i += ent) {
		uint64_t tag = word(e, buf + i);

		if (tag == 0)
			break;
		if (tag == DT_SONAME_) {
			found = 1;
			break;
		}
	}
	free(buf);
	return found;
}

/* By section: `.note.go.buildid`, or `.go.buildinfo` starting with Go's
 * magic.  1: Go; 0: not Go; -1: no usable section headers. */
static int go_sections(const struct elf *e, const unsigned char *h)
{
	uint64_t shoff, stroff, strsz, name, off;
	unsigned shentsize, shnum, shstrndx, i;
	unsigned char *tab = NULL, *str = NULL, magic[GO_MAGIC_LEN];
	const unsigned char *sh;
	size_t n, len, min = e->is64 ? 64 : 40;
	const char *s;
	int ret = -1;

	shoff = e->is64 ? get(e, h + 40, 8) : get(e, h + 32, 4);
	shentsize = (unsigned)get(e, h + (e->is64 ? 58 : 46), 2);
	shnum = (unsigned)get(e, h + (e->is64 ? 60 : 48), 2);
	shstrndx = (unsigned)get(e, h + (e->is64 ? 62 : 50), 2);
	if (shoff == 0 || shnum == 0 || shentsize < min ||
	    (uint64_t)shnum * shentsize > SHDRS_MAX)
		return -1;
	tab = read_part(e, shoff, (uint64_t)shnum * shentsize, SHDRS_MAX, &n);
	if (!tab)
		return -1;
	if (shstrndx == SHN_XINDEX_) /* the real index is in sh_link of 0 */
		shstrndx = (unsigned)get(e, tab + (e->is64 ? 40 : 24), 4);
	if (shstrndx >= shnum)
		goto out;
	sh = tab + (size_t)shstrndx * shentsize;
	stroff = word(e, sh + (e->is64 ? 24 : 16));
	strsz = word(e, sh + (e->is64 ? 32 : 20));
	str = read_part(e, stroff, strsz, SHSTR_MAX, &n);
	if (!str)
		goto out;
	ret = 0;
	for (i = 0; i < shnum && ret == 0; i++) {
		sh = tab + (size_t)i * shentsize;
		name = get(e, sh, 4);
		if (name >= n)
			continue;
		s = (const char *)str + name;
		len = strnlen(s, n - (size_t)name);
		if (len == n - (size_t)name)
			continue; /* not terminated within what was read */
		if (strcmp(s, ".note.go.buildid") == 0) {
			ret = 1;
		} else if (strcmp(s, ".go.buildinfo") == 0) {
			off = word(e, sh + (e->is64 ? 24 : 16));
			if (read_at(e, magic, sizeof(magic), off) == 0 &&
			    memcmp(magic, go_magic, GO_MAGIC_LEN) == 0)
				ret = 1;
		}
	}
out:
	free(str);
	free(tab);
	return ret;
}

/* What the ELF file open as @fd is, as far as tracing goes. */
static enum unseen inspect_elf(int fd, uint64_t size)
{
	struct elf e = {.fd = fd, .size = size};
	unsigned char h[64], *ph = NULL;
	uint64_t phoff, type;
	uint64_t dyn_off = 0, dyn_len = 0, data_off = 0, data_len = 0;
	unsigned phentsize, phnum, i;
	size_t n;
	int interp = 0, dynamic = 0, data = 0, go = 0;
	enum unseen ret = UNSEEN_NO;

	if (read_at(&e, h, 16, 0) != 0 || memcmp(h,
						 "\x7f"
						 "ELF",
						 4) != 0)
		return UNSEEN_NO;
	if ((h[4] != 1 && h[4] != 2) || (h[5] != 1 && h[5] != 2))
		return UNSEEN_NO;
	e.is64 = h[4] == 2;
	e.big = h[5] == 2;
	if (read_at(&e, h, e.is64 ? 64 : 52, 0) != 0)
		return UNSEEN_NO;
	type = get(&e, h + 16, 2);
	if (type != ET_EXEC_ && type != ET_DYN_)
		return UNSEEN_NO;
	phoff = e.is64 ? get(&e, h + 32, 8) : get(&e, h + 28, 4);
	phentsize = (unsigned)get(&e, h + (e.is64 ? 54 : 42), 2);
	phnum = (unsigned)get(&e, h + (e.is64 ? 56 : 44), 2);
	/* What the kernel refuses to run is not ours to judge. */
	if (phnum == 0 || phentsize < (e.is64 ? 56u : 32u) ||
	    (uint64_t)phnum * phentsize > PHDRS_MAX)
		return UNSEEN_NO;
	ph = read_part(&e, phoff, (uint64_t)phnum * phentsize, PHDRS_MAX, &n);
	if (!ph)
		return UNSEEN_NO;
	for (i = 0; i < phnum; i++) {
		const unsigned char *p = ph + (size_t)i * phentsize;
		uint64_t flags = get(&e, p + (e.is64 ? 4 : 24), 4);
		uint64_t off = word(&e, p + (e.is64 ? 8 : 4));
		uint64_t filesz = word(&e, p + (e.is64 ? 32 : 16));

		switch (get(&e, p, 4)) {
		case PT_INTERP_:
			interp = 1;
			break;
		case PT_DYNAMIC_:
			if (!dynamic) {
				dynamic = 1;
				dyn_off = off;
				dyn_len = filesz;
			}
			break;
		case PT_NOTE_:
			if (!go)
				go = go_note(&e, off, filesz,
					     word(&e, p + (e.is64 ? 48 : 28)));
			break;
		case PT_LOAD_:
			if (!data && (flags & (PF_X_ | PF_W_)) == PF_W_) {
				data = 1;
				data_off = off;
				data_len = filesz;
			}
			break;
		}
	}
	if (!go) {
		int by_sections = go_sections(&e, h);

		if (by_sections > 0)
			go = 1;
		else if (by_sections < 0 && data)
			go = go_buildinfo_in(&e, data_off, data_len);
	}
	if (go)
		ret = UNSEEN_GO;
	else if (!interp && !(dynamic && type == ET_DYN_ &&
			      has_soname(&e, dyn_off, dyn_len)))
		ret = UNSEEN_STATIC;
	free(ph);
	return ret;
}

/* What @path is; for a `#!` script (when @via is not NULL), what its
 * interpreter is, one level down, its path then in *@via. */
static enum unseen inspect(const char *path, char **via)
{
	/* The kernel reads this much of the `#!` line. */
	char head[256], *interp, *end;
	struct elf e = {.fd = -1};
	struct stat st;
	size_t n;
	enum unseen ret = UNSEEN_NO;

	/* Regular files only: opening a FIFO or a device may block or do
	 * something.  O_NONBLOCK in case it was swapped since. */
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return UNSEEN_NO;
	e.fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (e.fd < 0)
		return UNSEEN_NO;
	if (fstat(e.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 4)
		goto out;
	e.size = (uint64_t)st.st_size;
	n = e.size < sizeof(head) - 1 ? (size_t)e.size : sizeof(head) - 1;
	if (read_at(&e, head, n, 0) != 0)
		goto out;
	head[n] = '\0';
	if (head[0] == '#' && head[1] == '!') {
		if (!via)
			goto out;
		interp = head + 2 + strspn(head + 2, " \t");
		end = interp + strcspn(interp, " \t\n");
		/* A name cut off by the kernel's limit is not run either. */
		if (end == interp || *end == '\0')
			goto out;
		*end = '\0';
		ret = inspect(interp, NULL);
		if (ret != UNSEEN_NO) {
			*via = strdup(interp);
			if (!*via)
				ret = UNSEEN_NO;
		}
		goto out;
	}
	ret = inspect_elf(e.fd, e.size);
out:
	close(e.fd);
	return ret;
}

enum unseen elf_unseen(const char *path)
{
	return inspect(path, NULL);
}

/* The file execvp will run for @name: @name itself when it holds a
 * slash, else the first executable regular file of that name in $PATH
 * (glibc's "/bin:/usr/bin" when PATH is unset; an empty entry is the
 * current directory).  NULL when there is none: execvp will say so. */
static char *resolve_command(const char *name)
{
	const char *path, *p, *end;
	char *cand;
	struct stat st;

	if (!*name)
		return NULL;
	if (strchr(name, '/'))
		return strdup(name);
	path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		size_t dlen;

		end = strchrnul(p, ':');
		dlen = (size_t)(end - p);
		if (dlen > PATH_MAX || asprintf(&cand, "%.*s%s%s", (int)dlen, p,
						dlen ? "/" : "", name) < 0)
			cand = NULL;
		if (cand && stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    eaccess(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (!*end)
			return NULL;
	}
}

/* @s for a message: control characters as \xHH, so a name cannot break
 * the line or talk to the terminal. */
static char *shown(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(len * 4 + 1), *o = out;
	const unsigned char *c;

	if (!out)
		return NULL;
	for (c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			o += sprintf(o, "\\x%02x", *c);
		else
			*o++ = (char)*c;
	}
	*o = '\0';
	return out;
}

/* One stderr line when COMMAND is a program whose TLS tlstrace cannot
 * see; COMMAND runs all the same. */
void warn_unseen(const char *name)
{
	static const char *const why[] = {
		[UNSEEN_STATIC] = "statically linked: tlstrace cannot be "
				  "loaded into it, its TLS will not be seen",
		[UNSEEN_GO] = "a Go program: its TLS (Go's crypto/tls, raw "
			      "syscalls) will not be seen",
	};
	char *path = resolve_command(name), *via = NULL;
	enum unseen kind;

	if (!path)
		return;
	kind = inspect(path, &via);
	if (kind != UNSEEN_NO) {
		char *p = shown(path), *v = via ? shown(via) : NULL;

		if (p && via && v)
			say("warning: %s is run by %s, which is %s", p, v,
			    why[kind]);
		else if (p && !via)
			say("warning: %s is %s", p, why[kind]);
		free(v);
		free(p);
	}
	free(via);
	free(path);
}
