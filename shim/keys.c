/* Key capture and the secret store.
 *
 * OpenSSL: SSL_new and SSL_set_SSL_CTX put our key-log callback on the
 * connection's context (OpenSSL reads it from the context each time it
 * makes a secret); SSL_CTX_set_keylog_callback and its getter are
 * interposed so that a callback the program installs, before or after,
 * is kept and called after ours (curl with SSLKEYLOGFILE still writes its
 * file).  libtlstrace.so links no libssl: the real functions come from
 * dlsym(RTLD_NEXT), or from the libssl already loaded (Python loads it
 * RTLD_LOCAL, where RTLD_NEXT finds nothing).
 *
 * Other libraries: TLSTRACE_KEYLOG (default $SSLKEYLOGFILE) is read from
 * where we left off whenever a record waits for a secret we do not hold.
 *
 * The store holds the secrets of the most recent client randoms, a fixed
 * number of slots, under one mutex held only to copy bytes; a slot is
 * wiped when its connection ends or when it is reused.  Secrets are never
 * logged; with TLSTRACE_KEYLOG_OUT each one is appended to that file
 * (0600, not through a symlink) once, in the NSS key log format.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "libcrypto.h"
#include "log.h"
#include "real.h"
#include "crypto.h"
#include "trace.h"

#define HOOK __attribute__((visibility("default")))

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef void (*keylog_cb)(const SSL *ssl, const char *line);

#define SLOTS 256
#define FILE_CHUNK (64 * 1024)
/* A key log read for the first time is read from at most this far before
 * its end (the secrets of live connections are the last lines), and no
 * call reads more than this much of it. */
#define FILE_WINDOW (1024 * 1024)

struct slot {
	uint8_t cr[TT_KEYLOG_RANDOM_LEN];
	uint8_t len[TT_KL_COUNT];
	uint8_t sec[TT_KL_COUNT][TT_KEYLOG_SECRET_MAX];
	uint64_t stamp;
	bool used;
};

static struct slot slots[SLOTS];
static uint64_t stamp;
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;

static bool decrypt_on;
static char keylog_path[PATH_MAX];
static char export_path[PATH_MAX];
static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;
static off_t file_off;
static dev_t file_dev;
static ino_t file_ino;
static bool ssl_seen; /* our callback is on some context: keys will come */
static bool export_warned;
/* OpenSSL's ex_data of one object is not safe to set from two threads
 * at once (servers share a context between threads). */
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;


static struct slot *find(const uint8_t *cr)
{
	for (size_t i = 0; i < SLOTS; i++)
		if (slots[i].used &&
		    memcmp(slots[i].cr, cr, TT_KEYLOG_RANDOM_LEN) == 0)
			return &slots[i];
	return NULL;
}

static void export_entry(const struct tt_keylog_entry *e)
{
	static const char hx[] = "0123456789abcdef";
	char line[64 + 1 + 2 * TT_KEYLOG_RANDOM_LEN + 1 +
		  2 * TT_KEYLOG_SECRET_MAX + 2];
	const char *label = tt_keylog_label_name(e->label);
	size_t n = strlen(label);
	memcpy(line, label, n);
	line[n++] = ' ';
	for (size_t i = 0; i < TT_KEYLOG_RANDOM_LEN; i++) {
		line[n++] = hx[e->client_random[i] >> 4];
		line[n++] = hx[e->client_random[i] & 15];
	}
	line[n++] = ' ';
	for (size_t i = 0; i < e->secret_len; i++) {
		line[n++] = hx[e->secret[i] >> 4];
		line[n++] = hx[e->secret[i] & 15];
	}
	line[n++] = '\n';
	char why[256];
	int fd = tt_open_private(export_path, false, why, sizeof(why));
	if (fd < 0 && !__atomic_exchange_n(&export_warned, true,
					   __ATOMIC_RELAXED)) {
		char msg[PATH_MAX + 400];
		int m = why[0] ? snprintf(msg, sizeof(msg),
					  "tlstrace: TLSTRACE_KEYLOG_OUT: "
					  "refusing '%s': %s; secrets are not "
					  "exported\n",
					  export_path, why)
			       : snprintf(msg, sizeof(msg),
					  "tlstrace: TLSTRACE_KEYLOG_OUT='%s': "
					  "%s; secrets are not exported\n",
					  export_path, strerror(errno));
		if (m > 0)
			tt_log_stderr(msg, (size_t)m < sizeof(msg)
						   ? (size_t)m
						   : sizeof(msg) - 1);
	}
	if (fd >= 0) {
		/* O_APPEND: one line per write, whole, between processes */
		ssize_t w = REAL(write)(fd, line, n);
		(void)w;
		REAL(close)(fd);
	}
	tt_wipe(line, sizeof(line));
}

/* Stores one secret; true when it was new. */
static bool store_put(const struct tt_keylog_entry *e)
{
	bool fresh = false;
	pthread_mutex_lock(&store_lock);
	struct slot *s = find(e->client_random);
	if (!s) {
		s = &slots[0];
		for (size_t i = 0; i < SLOTS; i++) {
			if (!slots[i].used) {
				s = &slots[i];
				break;
			}
			if (slots[i].stamp < s->stamp)
				s = &slots[i];
		}
		tt_wipe(s, sizeof(*s));
		memcpy(s->cr, e->client_random, TT_KEYLOG_RANDOM_LEN);
		s->used = true;
	}
	s->stamp = ++stamp;
	if (s->len[e->label] != e->secret_len ||
	    memcmp(s->sec[e->label], e->secret, e->secret_len) != 0) {
		memcpy(s->sec[e->label], e->secret, e->secret_len);
		s->len[e->label] = e->secret_len;
		fresh = true;
	}
	pthread_mutex_unlock(&store_lock);
	return fresh;
}

static void take_entry(struct tt_keylog_entry *e)
{
	if (store_put(e) && export_path[0])
		export_entry(e);
	tt_wipe(e, sizeof(*e));
}

static size_t store_get(const uint8_t *cr, enum tt_keylog_label l,
			uint8_t *out)
{
	size_t n = 0;
	pthread_mutex_lock(&store_lock);
	struct slot *s = find(cr);
	if (s && s->len[l]) {
		n = s->len[l];
		memcpy(out, s->sec[l], n);
	}
	pthread_mutex_unlock(&store_lock);
	return n;
}

void tt_keys_forget(const uint8_t *cr)
{
	pthread_mutex_lock(&store_lock);
	struct slot *s = find(cr);
	if (s)
		tt_wipe(s, sizeof(*s));
	pthread_mutex_unlock(&store_lock);
}

/* Reads what was appended to the key log file since last time.  A file
 * that shrank or was replaced is read again from its start. */
static void poll_file(void)
{
	if (!keylog_path[0] || pthread_mutex_trylock(&file_lock) != 0)
		return;
	struct stat st;
	/* O_NONBLOCK: a FIFO named by mistake must not block the host */
	int fd = open(keylog_path,
		      O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			REAL(close)(fd);
		pthread_mutex_unlock(&file_lock);
		return;
	}
	if (st.st_dev != file_dev || st.st_ino != file_ino ||
	    st.st_size < file_off) {
		file_dev = st.st_dev;
		file_ino = st.st_ino;
		/* a long-lived key log: only its tail can matter (the first
		 * line read may be cut; it does not parse and is skipped) */
		file_off = st.st_size > FILE_WINDOW ? st.st_size - FILE_WINDOW
						     : 0;
	}
	static char buf[FILE_CHUNK];
	off_t stop_at = file_off + FILE_WINDOW;
	while (st.st_size > file_off && file_off < stop_at) {
		ssize_t got = pread(fd, buf, sizeof(buf), file_off);
		if (got <= 0)
			break;
		size_t off = 0, n = (size_t)got;
		while (off < n) {
			const char *nl = memchr(buf + off, '\n', n - off);
			if (!nl)
				break; /* a line still being written */
			size_t used = 0;
			struct tt_keylog_entry e;
			if (tt_keylog_next(buf + off, (size_t)(nl + 1 - buf) - off,
					   &used, &e) == TT_OK &&
			    e.label != TT_KL_NONE)
				take_entry(&e);
			off += used ? used : 1;
		}
		if (off == 0 && n == sizeof(buf))
			off = n; /* a line longer than any key log line */
		file_off += (off_t)off;
		if (off < n)
			break;
	}
	tt_wipe(buf, sizeof(buf));
	REAL(close)(fd);
	pthread_mutex_unlock(&file_lock);
}

static size_t ks_get(void *ctx, const uint8_t *cr, enum tt_keylog_label l,
		     uint8_t *out)
{
	(void)ctx;
	size_t n = store_get(cr, l, out);
	if (n == 0 && keylog_path[0]) {
		poll_file();
		n = store_get(cr, l, out);
	}
	return n;
}

static const struct tt_crypto *ks_crypto(void *ctx, const char **why)
{
	(void)ctx;
	return tt_crypto_load(why);
}

static bool ks_expect(void *ctx)
{
	(void)ctx;
	return keylog_path[0] || __atomic_load_n(&ssl_seen, __ATOMIC_RELAXED);
}

static const struct tt_keysrc keysrc = {
	.ctx = NULL,
	.get = ks_get,
	.crypto = ks_crypto,
	.expect = ks_expect,
};

const struct tt_keysrc *tt_keys_source(void)
{
	return decrypt_on ? &keysrc : NULL;
}

void tt_keys_init(const struct tt_config *cfg)
{
	decrypt_on = cfg->decrypt;
	if (!decrypt_on)
		return;
	snprintf(keylog_path, sizeof(keylog_path), "%s", cfg->keylog);
	snprintf(export_path, sizeof(export_path), "%s", cfg->keylog_out);
}

void tt_keys_fork_child(void)
{
	pthread_mutex_init(&store_lock, NULL);
	pthread_mutex_init(&file_lock, NULL);
	pthread_mutex_init(&ctx_lock, NULL);
}

/* ---- OpenSSL ---- */

static struct {
	SSL *(*new_)(SSL_CTX *);
	SSL_CTX *(*set_ctx)(SSL *, SSL_CTX *);
	void (*set_cb)(SSL_CTX *, keylog_cb);
	keylog_cb (*get_cb)(const SSL_CTX *);
	SSL_CTX *(*get_ctx)(const SSL *);
	int (*get_fd)(const SSL *);
	int (*set_ex)(SSL_CTX *, int, void *);
	void *(*get_ex)(const SSL_CTX *, int);
	int (*set_mark)(void);
	int (*pop_mark)(void);
} ossl;
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;

/* A symbol of the program's OpenSSL: the global one, or that of a libssl
 * (libcrypto) loaded RTLD_LOCAL. */
static void *ossl_sym(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (f)
		return f;
	static const char *const libs[] = {"libssl.so.3", "libssl.so.1.1",
					   "libcrypto.so.3", "libcrypto.so.1.1"};
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		void *h = dlopen(libs[i], RTLD_NOLOAD | RTLD_LAZY);
		if (!h)
			continue;
		f = dlsym(h, name);
		dlclose(h); /* NOLOAD took a reference; the library stays */
		if (f)
			return f;
	}
	return NULL;
}

/* The callback the program set is kept with its context, in an ex_data
 * slot of our own: it lives and dies with the context, however many
 * there are. */
#define CRYPTO_EX_INDEX_SSL_CTX 1
static int ctx_slot = -1;


static void ossl_bind(void)
{
	ossl.new_ = (SSL * (*)(SSL_CTX *)) ossl_sym("SSL_new");
	ossl.set_ctx = (SSL_CTX * (*)(SSL *, SSL_CTX *))
		ossl_sym("SSL_set_SSL_CTX");
	ossl.set_cb = (void (*)(SSL_CTX *, keylog_cb))ossl_sym(
		"SSL_CTX_set_keylog_callback");
	ossl.get_cb = (keylog_cb(*)(const SSL_CTX *))ossl_sym(
		"SSL_CTX_get_keylog_callback");
	ossl.get_ctx = (SSL_CTX * (*)(const SSL *)) ossl_sym("SSL_get_SSL_CTX");
	ossl.get_fd = (int (*)(const SSL *))ossl_sym("SSL_get_fd");
	ossl.set_ex = (int (*)(SSL_CTX *, int, void *))ossl_sym(
		"SSL_CTX_set_ex_data");
	ossl.get_ex = (void *(*)(const SSL_CTX *, int))ossl_sym(
		"SSL_CTX_get_ex_data");
	int (*new_index)(int, long, void *, void *, void *, void *) =
		(int (*)(int, long, void *, void *, void *, void *))ossl_sym(
			"CRYPTO_get_ex_new_index");
	ossl.set_mark = (int (*)(void))ossl_sym("ERR_set_mark");
	ossl.pop_mark = (int (*)(void))ossl_sym("ERR_pop_to_mark");
	if (!ossl.set_ex || !ossl.get_ex || !new_index || !ossl.set_mark ||
	    !ossl.pop_mark)
		return;
	/* no error of ours is left in the program's queue */
	ossl.set_mark();
	ctx_slot = new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL,
			     NULL);
	ossl.pop_mark();
}

/* Keeps the program's callback with ctx; false when it cannot be kept
 * (ours must then not replace it). */
static bool prev_set(SSL_CTX *ctx, keylog_cb cb)
{
	if (ctx_slot < 0)
		return cb == NULL;
	ossl.set_mark();
	bool kept = ossl.set_ex(ctx, ctx_slot, (void *)(uintptr_t)cb) == 1;
	ossl.pop_mark();
	return kept || cb == NULL;
}

static keylog_cb prev_get(const SSL_CTX *ctx)
{
	if (ctx_slot < 0 || !ctx)
		return NULL;
	return (keylog_cb)(uintptr_t)ossl.get_ex(ctx, ctx_slot);
}

static void our_keylog(const SSL *ssl, const char *line)
{
	int saved = errno;
	struct tt_keylog_entry e;
	if (line && tt_keylog_parse_line(line, strnlen(line, 1024), &e) ==
			    TT_OK &&
	    e.label != TT_KL_NONE)
		take_entry(&e);
	keylog_cb prev = ossl.get_ctx ? prev_get(ossl.get_ctx(ssl)) : NULL;
	errno = saved;
	if (prev)
		prev(ssl, line);
	saved = errno;
	/* records that waited for this secret, decoded now */
	int fd = ossl.get_fd ? ossl.get_fd(ssl) : -1;
	if (fd >= 0)
		tt_trace_keys(fd);
	errno = saved;
}

/* Puts our callback on ctx, keeping the program's. */
static void hook_ctx(SSL_CTX *ctx)
{
	if (!decrypt_on || !ctx || !ossl.set_cb || !ossl.get_cb)
		return;
	if (ossl.get_cb(ctx) != our_keylog) {
		pthread_mutex_lock(&ctx_lock);
		keylog_cb cur = ossl.get_cb(ctx);
		bool kept = cur == our_keylog || prev_set(ctx, cur);
		if (kept && cur != our_keylog)
			ossl.set_cb(ctx, our_keylog);
		pthread_mutex_unlock(&ctx_lock);
		if (!kept)
			return; /* the program's stays, and ours is not put */
	}
	__atomic_store_n(&ssl_seen, true, __ATOMIC_RELAXED);
}

HOOK SSL *SSL_new(SSL_CTX *ctx)
{
	pthread_once(&ossl_once, ossl_bind);
	if (!ossl.new_)
		return NULL;
	hook_ctx(ctx);
	return ossl.new_(ctx);
}

HOOK SSL_CTX *SSL_set_SSL_CTX(SSL *ssl, SSL_CTX *ctx)
{
	pthread_once(&ossl_once, ossl_bind);
	if (!ossl.set_ctx)
		return NULL;
	hook_ctx(ctx);
	return ossl.set_ctx(ssl, ctx);
}

HOOK void SSL_CTX_set_keylog_callback(SSL_CTX *ctx, keylog_cb cb)
{
	pthread_once(&ossl_once, ossl_bind);
	if (!ossl.set_cb)
		return;
	pthread_mutex_lock(&ctx_lock);
	bool kept = decrypt_on && ctx && cb != our_keylog && prev_set(ctx, cb);
	if (kept)
		ossl.set_cb(ctx, our_keylog);
	pthread_mutex_unlock(&ctx_lock);
	if (kept) {
		__atomic_store_n(&ssl_seen, true, __ATOMIC_RELAXED);
		return;
	}
	ossl.set_cb(ctx, cb);
}

HOOK keylog_cb SSL_CTX_get_keylog_callback(const SSL_CTX *ctx)
{
	pthread_once(&ossl_once, ossl_bind);
	if (!ossl.get_cb)
		return NULL;
	keylog_cb cb = ossl.get_cb(ctx);
	return cb == our_keylog ? prev_get(ctx) : cb;
}
