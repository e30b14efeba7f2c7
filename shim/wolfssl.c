/* Key capture from wolfSSL (libwolfssl.so.35): the interposed wolfSSL_*
 * entry points.
 *
 * A wolfSSL built with a key-log callback (wolfSSL_CTX_set_keylog_callback,
 * OpenSSL's signature) gets ours on the connection's context in
 * wolfSSL_new and wolfSSL_set_SSL_CTX, when the program has put none
 * there; one it sets later replaces ours (its connections are then
 * decrypted from a key log file), and wolfSSL_CTX_get_keylog_callback
 * does not show ours.
 *
 * Debian 12's wolfSSL 5.5.4 has no key-log or secret callback, but it is
 * built with HAVE_PK_CALLBACKS: a context's session-key callback
 * (wolfSSL_CTX_SetGenSessionKeyCb) is called each time a TLS 1.2 (1.1,
 * 1.0) handshake, full or resumed, turns its master secret into keys,
 * and when it returns PROTOCOLCB_UNAVAILABLE wolfSSL makes the keys
 * itself, as without a callback (DeriveTlsKeys, src/tls.c).  Ours reads
 * the master secret and the client random through wolfSSL_get_keys
 * (they are in the connection's arrays throughout the handshake) and
 * returns that.  A program that sets a session-key callback of its own
 * keeps it: ours is put in its place and calls it, the program's kept
 * per context in a bounded map (shim/ptrmap.c; contexts made anew by
 * wolfSSL_CTX_new drop what was kept for their address).  TLS 1.3 has
 * no such callback (the HKDF one would have to make the secrets
 * itself): its connections are decrypted only from a key log file.  A
 * note (tt_keys_note, the summary's keys_note where keys are missing)
 * says which way this wolfSSL's keys come, and when the map is full.
 *
 * libtlstrace.so links no wolfSSL: the real functions come from
 * dlsym(RTLD_NEXT), or from the libwolfssl already loaded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guestlib.h"
#include "keys.h"
#include "ptrmap.h"
#include "trace.h"

#define HOOK __attribute__((visibility("default")))

/* wolfSSL's types (wolfssl/ssl.h), declared here so that building the
 * library needs no wolfSSL headers.  Its objects are only passed on. */
typedef struct WOLFSSL WOLFSSL;
typedef struct WOLFSSL_CTX WOLFSSL_CTX;
typedef struct WOLFSSL_METHOD WOLFSSL_METHOD;
typedef void keylog_cb(const WOLFSSL *ssl, const char *line);
typedef int session_key_cb(WOLFSSL *ssl, void *ctx);

/* wolfcrypt/error-crypt.h */
#define PROTOCOLCB_UNAVAILABLE (-288)
#define WOLFSSL_SUCCESS	       1
#define MASTER_LEN	       48
#define RANDOM_LEN	       32

static struct {
	WOLFSSL *(*new_)(WOLFSSL_CTX *ctx);
	WOLFSSL_CTX *(*set_ctx)(WOLFSSL *ssl, WOLFSSL_CTX *ctx);
	WOLFSSL_CTX *(*get_ctx)(WOLFSSL *ssl);
	WOLFSSL_CTX *(*ctx_new)(WOLFSSL_METHOD *method);
	WOLFSSL_CTX *(*ctx_new_ex)(WOLFSSL_METHOD *method, void *heap);
	void (*set_keylog)(WOLFSSL_CTX *ctx, keylog_cb *cb);
	keylog_cb *(*get_keylog)(const WOLFSSL_CTX *ctx);
	void (*set_skey)(WOLFSSL_CTX *ctx, session_key_cb *cb);
	int (*get_keys)(WOLFSSL *ssl, unsigned char **ms, unsigned *ms_len,
			unsigned char **sr, unsigned *sr_len,
			unsigned char **cr, unsigned *cr_len);
	int (*get_fd)(const WOLFSSL *ssl);
} wo;
static pthread_once_t wo_once = PTHREAD_ONCE_INIT;

/* The program's session-key callback on each context it set one on. */
static struct tt_ptrmap kept = TT_PTRMAP_INIT;
/* Held around a look at what a context has kept and the write to the
 * context that follows from it, so that they go together. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* A program's callback could not be kept (the map was full): from then
 * on a context without an entry may hold one, and is left alone. */
static bool full;
static bool noted;

static void fork_child(void)
{
	pthread_mutex_init(&lock, NULL);
}

static void wo_bind(void)
{
	static const char *const libs[] = {"libwolfssl.so.35", NULL};
	/* lock is first taken after this */
	pthread_atfork(NULL, NULL, fork_child);
#define SYM(field, name) *(void **)&wo.field = tt_guest_sym(name, libs)
	SYM(new_, "wolfSSL_new");
	SYM(set_ctx, "wolfSSL_set_SSL_CTX");
	SYM(get_ctx, "wolfSSL_get_SSL_CTX");
	SYM(ctx_new, "wolfSSL_CTX_new");
	SYM(ctx_new_ex, "wolfSSL_CTX_new_ex");
	SYM(set_keylog, "wolfSSL_CTX_set_keylog_callback");
	SYM(get_keylog, "wolfSSL_CTX_get_keylog_callback");
	SYM(set_skey, "wolfSSL_CTX_SetGenSessionKeyCb");
	SYM(get_keys, "wolfSSL_get_keys");
	SYM(get_fd, "wolfSSL_get_fd");
#undef SYM
}

/* Which way this wolfSSL gives its secrets, if any. */
static bool keylog_way(void)
{
	return wo.set_keylog && wo.get_keylog;
}

static bool skey_way(void)
{
	return !keylog_way() && wo.set_skey && wo.get_keys && wo.get_ctx;
}

static void note_once(const char *msg)
{
	if (!__atomic_exchange_n(&noted, true, __ATOMIC_RELAXED))
		tt_keys_note(msg);
}

/* The program's callback on ctx, true when it set one. */
static bool prog_of(const WOLFSSL_CTX *ctx, session_key_cb **cb)
{
	void *v[TT_PTRMAP_VALS];
	*cb = NULL;
	if (!tt_ptrmap_get(&kept, ctx, v))
		return false;
	*cb = (session_key_cb *)(uintptr_t)v[0];
	return true;
}

/* Records that waited for a secret of ssl, decoded now. */
static void keys_came(const WOLFSSL *ssl)
{
	int fd = wo.get_fd ? wo.get_fd(ssl) : -1;
	if (fd >= 0)
		tt_trace_keys(fd);
}

static void our_keylog(const WOLFSSL *ssl, const char *line)
{
	int saved = errno;
	tt_keys_add_line(line);
	keys_came(ssl);
	errno = saved;
}

static int our_session_key(WOLFSSL *ssl, void *arg)
{
	int saved = errno;
	unsigned char *ms, *sr, *cr;
	unsigned ms_len = 0, sr_len = 0, cr_len = 0;
	/* pointers into the connection's arrays, where DeriveTlsKeys
	 * reads the master secret and randoms from next */
	if (wo.get_keys(ssl, &ms, &ms_len, &sr, &sr_len, &cr, &cr_len) ==
		    WOLFSSL_SUCCESS &&
	    ms_len == MASTER_LEN && cr_len == RANDOM_LEN)
		tt_keys_add_secret("CLIENT_RANDOM", cr, ms, MASTER_LEN);
	session_key_cb *prev;
	prog_of(wo.get_ctx(ssl), &prev);
	errno = saved;
	/* without a callback of the program's, wolfSSL makes the keys */
	int r = prev ? prev(ssl, arg) : PROTOCOLCB_UNAVAILABLE;
	saved = errno;
	keys_came(ssl);
	errno = saved;
	return r;
}

/* Puts ours on ctx unless the program's is there. */
static void hook_ctx(WOLFSSL_CTX *ctx)
{
	if (!tt_keys_on() || !ctx)
		return;
	bool on = false;
	if (keylog_way()) {
		keylog_cb *cur = wo.get_keylog(ctx);
		if (!cur)
			wo.set_keylog(ctx, our_keylog);
		on = !cur || cur == our_keylog;
	} else if (skey_way()) {
		note_once(
			"wolfSSL: this build has no key-log callback; TLS 1.2 "
			"secrets are read through its session-key callback, "
			"TLS 1.3 connections are decrypted only from a key "
			"log file");
		session_key_cb *prev;
		pthread_mutex_lock(&lock);
		on = prog_of(ctx, &prev);
		if (!on && !full) {
			/* the program set none on ctx: ours goes in (again,
			 * the same word, for each connection) */
			wo.set_skey(ctx, our_session_key);
			on = true;
		}
		pthread_mutex_unlock(&lock);
	} else {
		note_once("wolfSSL: this build exports no key-log or secret "
			  "callback; its connections are decrypted only from "
			  "a key log file");
	}
	if (on)
		tt_keys_hooked();
}

HOOK WOLFSSL *wolfSSL_new(WOLFSSL_CTX *ctx)
{
	pthread_once(&wo_once, wo_bind);
	if (!wo.new_)
		return NULL;
	hook_ctx(ctx);
	return wo.new_(ctx);
}

HOOK WOLFSSL_CTX *wolfSSL_set_SSL_CTX(WOLFSSL *ssl, WOLFSSL_CTX *ctx)
{
	pthread_once(&wo_once, wo_bind);
	if (!wo.set_ctx)
		return NULL;
	hook_ctx(ctx);
	return wo.set_ctx(ssl, ctx);
}

HOOK keylog_cb *wolfSSL_CTX_get_keylog_callback(const WOLFSSL_CTX *ctx)
{
	pthread_once(&wo_once, wo_bind);
	if (!wo.get_keylog)
		return NULL;
	keylog_cb *cb = wo.get_keylog(ctx);
	return cb == our_keylog ? NULL : cb;
}

HOOK void wolfSSL_CTX_SetGenSessionKeyCb(WOLFSSL_CTX *ctx, session_key_cb *cb)
{
	pthread_once(&wo_once, wo_bind);
	if (!wo.set_skey)
		return;
	if (!tt_keys_on() || !ctx || !skey_way() || cb == our_session_key) {
		wo.set_skey(ctx, cb);
		return;
	}
	void *v[TT_PTRMAP_VALS] = {(void *)(uintptr_t)cb};
	session_key_cb *prev;
	bool on = true;
	pthread_mutex_lock(&lock);
	if (!cb) /* none of the program's: as a new context */
		tt_ptrmap_del(&kept, ctx);
	else
		on = (prog_of(ctx, &prev) || !full) &&
		     tt_ptrmap_put(&kept, ctx, v);
	full = full || !on;
	/* ours calls the program's; with none, it is what a context
	 * without a callback does */
	wo.set_skey(ctx, on ? our_session_key : cb);
	pthread_mutex_unlock(&lock);
	if (on)
		tt_keys_hooked();
	else
		tt_keys_note("wolfSSL: more than " TT_PTRMAP_FULL_TEXT
			     " contexts at once with a session-key "
			     "callback of the program's own; new "
			     "contexts are left as they are, and "
			     "their connections are decrypted only "
			     "from a key log file");
}

/* A context made anew: nothing kept for its address holds. */
static WOLFSSL_CTX *ctx_made(WOLFSSL_CTX *ctx)
{
	pthread_mutex_lock(&lock);
	tt_ptrmap_del(&kept, ctx);
	pthread_mutex_unlock(&lock);
	return ctx;
}

HOOK WOLFSSL_CTX *wolfSSL_CTX_new(WOLFSSL_METHOD *method)
{
	pthread_once(&wo_once, wo_bind);
	return wo.ctx_new ? ctx_made(wo.ctx_new(method)) : NULL;
}

HOOK WOLFSSL_CTX *wolfSSL_CTX_new_ex(WOLFSSL_METHOD *method, void *heap)
{
	pthread_once(&wo_once, wo_bind);
	return wo.ctx_new_ex ? ctx_made(wo.ctx_new_ex(method, heap)) : NULL;
}
