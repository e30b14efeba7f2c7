/* Key capture from OpenSSL: the interposed SSL_* entry points.
 *
 * SSL_new and SSL_set_SSL_CTX put our key-log callback on the
 * connection's context (OpenSSL reads it from the context each time it
 * makes a secret); SSL_CTX_set_keylog_callback and its getter are
 * interposed so that a callback the program installs, before or after,
 * is kept and called after ours (curl with SSLKEYLOGFILE still writes its
 * file).  libtlstrace.so links no libssl: the real functions come from
 * dlsym(RTLD_NEXT), or from the libssl already loaded (Python loads it
 * RTLD_LOCAL, where RTLD_NEXT finds nothing).
 *
 * Each secret goes to the store (shim/keys.c), then the records of its
 * connection that waited for it are decoded (shim/trace.c): this file
 * sits above both.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* For their declarations only: every OpenSSL function is reached through
 * a pointer of the real function's type, found at run time. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "guestlib.h"
#include "keys.h"
#include "trace.h"

#define HOOK __attribute__((visibility("default")))

typedef SSL_CTX_keylog_cb_func keylog_cb;

/* OpenSSL's ex_data of one object is not safe to set from two threads
 * at once (servers share a context between threads). */
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;

/* The program's OpenSSL functions used here: X(name, field). */
#define OSSL_SYMS(X)                                                           \
	X(SSL_new, new_)                                                       \
	X(SSL_set_SSL_CTX, set_ctx)                                            \
	X(SSL_CTX_set_keylog_callback, set_cb)                                 \
	X(SSL_CTX_get_keylog_callback, get_cb)                                 \
	X(SSL_get_SSL_CTX, get_ctx)                                            \
	X(SSL_get_fd, get_fd)                                                  \
	X(SSL_CTX_set_ex_data, set_ex)                                         \
	X(SSL_CTX_get_ex_data, get_ex)                                         \
	X(CRYPTO_get_ex_new_index, new_index)                                  \
	X(ERR_set_mark, set_mark)                                              \
	X(ERR_pop_to_mark, pop_mark)

static struct {
#define X(name, field) typeof(name) *field;
	OSSL_SYMS(X)
#undef X
} ossl;
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;

/* The program's OpenSSL: global, or a libssl (libcrypto) loaded
 * RTLD_LOCAL. */
static const char *const ossl_libs[] = {"libssl.so.3", "libssl.so.1.1",
					"libcrypto.so.3", "libcrypto.so.1.1",
					NULL};

/* The callback the program set is kept with its context, in an ex_data
 * slot of our own: it lives and dies with the context, however many
 * there are. */
static int ctx_slot = -1;

/* In the child after fork(): only the forking thread survives, and a
 * lock another thread held would never be released. */
static void fork_child(void)
{
	pthread_mutex_init(&ctx_lock, NULL);
}

static void ossl_bind(void)
{
	/* ctx_lock is first taken after this */
	pthread_atfork(NULL, NULL, fork_child);
#define X(name, field) *(void **)&ossl.field = tt_guest_sym(#name, ossl_libs);
	OSSL_SYMS(X)
#undef X
	if (!ossl.set_ex || !ossl.get_ex || !ossl.new_index || !ossl.set_mark ||
	    !ossl.pop_mark)
		return;
	/* no error of ours is left in the program's queue */
	ossl.set_mark();
	ctx_slot = ossl.new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL,
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
	tt_keys_add_line(line);
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
	if (!tt_keys_on() || !ctx || !ossl.set_cb || !ossl.get_cb)
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
	tt_keys_hooked();
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
	bool kept = tt_keys_on() && ctx && cb != our_keylog &&
		    prev_set(ctx, cb);
	if (kept)
		ossl.set_cb(ctx, our_keylog);
	pthread_mutex_unlock(&ctx_lock);
	if (kept) {
		tt_keys_hooked();
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
