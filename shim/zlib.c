/* The inflate table (decoder/base/inflate.h) bound to zlib, dlopen'ed the
 * first time a connection's records need inflating, never at library
 * load (DESIGN.md, "libcrypto inside someone else's process": the same
 * rules hold for every library we bring into a host).
 *
 * libz.so.1 is opened RTLD_LOCAL, so none of its symbols become visible
 * to the host.  zlib has no global state, no initialisation and nothing
 * registered at exit, so unlike libcrypto there is nothing to tell apart
 * between a copy the host loaded itself (dlopen finds it by its soname
 * and shares it) and one we bring in, and no error queue to keep clean.
 * Every function is reached through a pointer from dlsym, declared with
 * the type of zlib.h's own declaration (typeof), so the compiler checks
 * each call; nothing refers to a zlib symbol and libtlstrace.so does not
 * link zlib.
 *
 * A stream is a z_stream of ours plus zlib's inflate state (about 7 KiB)
 * and its window (32 KiB, made by zlib on the first output): one per
 * direction of a connection whose epoch is compressed, freed at the next
 * ChangeCipherSpec or when the connection ends.  zlib allocates with
 * malloc and free, through functions of ours that wipe what it frees.
 */
#include "libz.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "guestlib.h"

/* The functions bound: X(name, field). */
#define ZL_SYMS(X)                                                             \
	X(inflateInit2_, init2)                                                \
	X(inflate, inflate)                                                    \
	X(inflateEnd, end)

struct zl {
#define X(name, field) typeof(name) *field;
	ZL_SYMS(X)
#undef X
	struct tt_inflate table;
};

/* zlib's allocations, each with its size in front, so that the window
 * and state (the host's decrypted bytes) are wiped before they are freed. */
#define ZA_HDR 16 /* keeps malloc's alignment */

static void *za_alloc(void *opaque, uInt items, uInt size)
{
	(void)opaque;
	size_t n = (size_t)items * size;
	uint8_t *p = malloc(n + ZA_HDR);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + ZA_HDR;
}

static void za_free(void *opaque, void *addr)
{
	(void)opaque;
	if (!addr)
		return;
	uint8_t *p = (uint8_t *)addr - ZA_HDR;
	size_t n;
	memcpy(&n, p, sizeof(n));
	explicit_bzero(p, n + ZA_HDR);
	free(p);
}

static int zl_new(void *ctx, void **st)
{
	struct zl *z = ctx;
	z_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->zalloc = za_alloc;
	s->zfree = za_free;
	/* windowBits 15: a zlib header (RFC 1950) declaring any window up
	 * to 32 KiB */
	if (z->init2(s, 15, ZLIB_VERSION, (int)sizeof(*s)) != Z_OK) {
		free(s);
		return -1;
	}
	*st = s;
	return 0;
}

static void zl_free(void *ctx, void *st)
{
	struct zl *z = ctx;
	if (!st)
		return;
	z->end(st);
	free(st);
}

static int zl_inflate(void *ctx, void *st, const uint8_t *in, size_t len,
		      uint8_t *out, size_t cap, size_t *out_len)
{
	struct zl *z = ctx;
	z_stream *s = st;
	uint8_t probe;
	int res = 0;
	*out_len = 0;
	if (len == 0 || len > UINT_MAX || cap == 0 || cap > UINT_MAX)
		return TT_INFLATE_BAD;
	s->next_in = (Bytef *)in;
	s->avail_in = (uInt)len;
	s->next_out = out;
	s->avail_out = (uInt)cap;
	/* Z_OK: progress; Z_BUF_ERROR: none possible (output full);
	 * anything else (Z_STREAM_END included, as in OpenSSL's zlib
	 * method: a TLS stream never ends) is a failure */
	int rc = z->inflate(s, Z_SYNC_FLUSH);
	*out_len = cap - s->avail_out;
	if (rc != Z_OK && rc != Z_BUF_ERROR) {
		res = TT_INFLATE_BAD;
	} else if (s->avail_out == 0) {
		/* full: one more byte, left in the input or held in zlib's
		 * state, is too much */
		s->next_out = &probe;
		s->avail_out = 1;
		rc = z->inflate(s, Z_SYNC_FLUSH);
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			res = TT_INFLATE_BAD;
		else if (s->avail_out == 0 || s->avail_in)
			res = TT_INFLATE_TOO_BIG;
	} else if (s->avail_in) {
		res = TT_INFLATE_BAD; /* input left with room to spare */
	}
	/* no pointer to the caller's buffers stays behind */
	s->next_in = NULL;
	s->avail_in = 0;
	s->next_out = NULL;
	s->avail_out = 0;
	return res;
}

const struct tt_inflate *tt_zlib_open(const char *soname, const char **why)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		dlerror(); /* leave no dlopen failure to the host */
		*why = "zlib could not be loaded";
		return NULL;
	}
	struct zl *z = calloc(1, sizeof(*z));
	if (!z) {
		dlclose(h);
		*why = "out of memory";
		return NULL;
	}
#define X(name, field)                                                         \
	if (!(*(void **)&z->field = dlsym(h, #name))) {                        \
		free(z);                                                       \
		dlclose(h); /* nothing of it has run */                        \
		dlerror();                                                     \
		*why = "zlib lacks " #name;                                    \
		return NULL;                                                   \
	}
	ZL_SYMS(X)
#undef X
	z->table = (struct tt_inflate){
		.ctx = z,
		.stream_new = zl_new,
		.inflate = zl_inflate,
		.stream_free = zl_free,
	};
	return &z->table;
}

void tt_zlib_close(const struct tt_inflate *t)
{
	if (t)
		free(t->ctx);
}

static struct tt_guestlib zlib = TT_GUESTLIB_INIT("zlib not loaded");

static void do_load(void)
{
	const char *why = NULL;
	const struct tt_inflate *t = tt_zlib_open("libz.so.1", &why);
	tt_guestlib_done(&zlib, t, why);
}

const struct tt_inflate *tt_inflate_load(const char **why)
{
	return tt_guestlib_get(&zlib, do_load, why);
}

bool tt_inflate_loaded(void)
{
	return tt_guestlib_loaded(&zlib);
}
