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
 * built with HAVE_PK_CALLBACKS, and two of a context's PK callbacks see
 * the secrets:
 *
 * - the session-key callback (wolfSSL_CTX_SetGenSessionKeyCb) is called
 *   each time a TLS 1.2 (1.1, 1.0) handshake, full or resumed, turns its
 *   master secret into keys, and when it returns PROTOCOLCB_UNAVAILABLE
 *   wolfSSL makes the keys itself, as without a callback (DeriveTlsKeys,
 *   src/tls.c).  Ours reads the master secret and the client random
 *   through wolfSSL_get_keys (they are in the connection's arrays
 *   throughout the handshake) and returns that.
 * - the HKDF-Expand-Label callback (wolfSSL_CTX_SetHKDFExpandLabelCb) is
 *   called for every TLS 1.3 HKDF-Expand-Label, the traffic secrets'
 *   among them, and when it returns NOT_COMPILED_IN wolfSSL computes the
 *   output itself with wc_Tls13_HKDF_Expand_Label, as without a callback
 *   (Tls13HKDFExpandLabel and Tls13HKDFExpandKeyLabel, src/tls13.c).  For
 *   the five labels of the early, handshake and first application
 *   traffic secrets, ours computes the same output into a buffer of its
 *   own with wc_Tls13_HKDF_Expand_Label, takes the secret from it and
 *   wipes it; it returns NOT_COMPILED_IN for every label.  Key updates
 *   ("traffic upd") the decoder derives itself.  wolfSSL derives each of
 *   these secrets once per connection (DeriveTls13Keys).  The callback
 *   names no connection: the client random is that of the connection
 *   this thread last moved TLS bytes on (wolfSSL makes the secrets
 *   inside the call that reads or writes the handshake).
 *
 * A program that sets a callback of either kind keeps it: ours is put
 * in its place and calls it first (the program's result, when it gives
 * one, is the result, and holds the secret).  What the program set is
 * kept per context in a bounded map (shim/ptrmap.c; contexts made anew
 * by wolfSSL_CTX_new drop what was kept for their address), so that
 * wolfSSL_new does not put ours over it.  The HKDF callback names no
 * context either: each of the few distinct functions a program sets has
 * one of ours of its own that calls it.  A note (tt_keys_note, the
 * summary's keys_note where keys are missing) says what this wolfSSL
 * cannot give, and when the map or those functions run out.
 *
 * libtlstrace.so links no wolfSSL: the real functions come from
 * dlsym(RTLD_NEXT), or from the libwolfssl already loaded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto.h"
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
/* CallbackHKDFExpandLabel (byte is unsigned char, word32 uint32_t) */
#define HKDF_PARAMS                                                            \
	unsigned char *okm, uint32_t okm_len, const unsigned char *prk,        \
		uint32_t prk_len, const unsigned char *protocol,               \
		uint32_t protocol_len, const unsigned char *label,             \
		uint32_t label_len, const unsigned char *info,                 \
		uint32_t info_len, int digest
#define HKDF_ARGS                                                              \
	okm, okm_len, prk, prk_len, protocol, protocol_len, label, label_len,  \
		info, info_len, digest
typedef int hkdf_cb(HKDF_PARAMS, int side);
/* wc_Tls13_HKDF_Expand_Label (wolfcrypt/kdf.h) */
typedef int hkdf_fn(HKDF_PARAMS);

/* wolfcrypt/error-crypt.h */
#define PROTOCOLCB_UNAVAILABLE (-288)
#define NOT_COMPILED_IN	       (-174)
#define WOLFSSL_SUCCESS	       1
#define MASTER_LEN	       48
#define RANDOM_LEN	       32
/* WC_MAX_DIGEST_SIZE: SHA-512's, the largest a TLS 1.3 suite may use */
#define MAX_SECRET_LEN 64

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
	void (*set_hkdf)(WOLFSSL_CTX *ctx, hkdf_cb *cb);
	hkdf_fn *expand;
	unsigned int (*version_hex)(void); /* word32 */
} wo;
static pthread_once_t wo_once = PTHREAD_ONCE_INIT;

/* What the program set on a context, in its entry of kept: its
 * session-key callback and its HKDF-Expand-Label callback (NULL: none).
 * A context has an entry while either is set. */
enum { SKEY, HKDF };
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
	SYM(set_hkdf, "wolfSSL_CTX_SetHKDFExpandLabelCb");
	SYM(expand, "wc_Tls13_HKDF_Expand_Label");
	SYM(version_hex, "wolfSSL_lib_version_hex");
#undef SYM
}

/* Which ways this wolfSSL gives its secrets, if any. */
static bool keylog_way(void)
{
	return wo.set_keylog && wo.get_keylog;
}

/* The PK callbacks are used only where handing the work back to wolfSSL
 * (PROTOCOLCB_UNAVAILABLE, NOT_COMPILED_IN) is known to work: 5.5.4 on,
 * whose source was read.  A version that took those answers as errors
 * would fail every handshake. */
#define PK_FROM 0x05005004u

static bool pk_ok(void)
{
	return wo.version_hex && wo.version_hex() >= PK_FROM;
}

static bool skey_way(void)
{
	return !keylog_way() && wo.set_skey && wo.get_keys && wo.get_ctx &&
	       pk_ok();
}

static bool hkdf_way(void)
{
	return !keylog_way() && wo.set_hkdf && wo.expand && pk_ok();
}

static void note_once(const char *msg)
{
	if (!__atomic_exchange_n(&noted, true, __ATOMIC_RELAXED))
		tt_keys_note(msg);
}

/* What the program set on ctx as callback which (NULL: none). */
static void *prog_of(const WOLFSSL_CTX *ctx, int which)
{
	void *v[TT_PTRMAP_VALS] = {NULL};
	tt_ptrmap_get(&kept, ctx, v);
	return v[which];
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
		tt_keys_add_secret("CLIENT_RANDOM", cr, ms, MASTER_LEN, false);
	session_key_cb *prev =
		(session_key_cb *)(uintptr_t)prog_of(wo.get_ctx(ssl), SKEY);
	errno = saved;
	/* without a callback of the program's, wolfSSL makes the keys */
	int r = prev ? prev(ssl, arg) : PROTOCOLCB_UNAVAILABLE;
	saved = errno;
	keys_came(ssl);
	errno = saved;
	return r;
}

/* The TLS 1.3 secrets among what wolfSSL expands: their labels (the
 * protocol's "tls13 " comes apart) and key log names. */
static const struct {
	const char *label;
	const char *name;
} secrets[] = {
	{"c e traffic", "CLIENT_EARLY_TRAFFIC_SECRET"},
	{"c hs traffic", "CLIENT_HANDSHAKE_TRAFFIC_SECRET"},
	{"s hs traffic", "SERVER_HANDSHAKE_TRAFFIC_SECRET"},
	{"c ap traffic", "CLIENT_TRAFFIC_SECRET_0"},
	{"s ap traffic", "SERVER_TRAFFIC_SECRET_0"},
};

/* The key log name of the secret an expansion makes, or NULL: every
 * other one (keys, IVs, Finished keys, "derived", key updates...). */
static const char *secret_name(const unsigned char *protocol,
			       uint32_t protocol_len,
			       const unsigned char *label, uint32_t label_len)
{
	if (!protocol || protocol_len != 6 || memcmp(protocol, "tls13 ", 6) ||
	    !label)
		return NULL;
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (label_len == strlen(secrets[i].label) &&
		    memcmp(label, secrets[i].label, label_len) == 0)
			return secrets[i].name;
	return NULL;
}

/* One secret for the connection this thread is in the handshake of. */
static void take_secret(const char *name, const unsigned char *secret,
			uint32_t len)
{
	uint8_t cr[RANDOM_LEN];
	bool server;
	if (tt_trace_here_hello(-1, cr, &server) &&
	    tt_keys_add_secret(name, cr, secret, len, true))
		tt_trace_keys_here();
}

/* The program's HKDF callbacks, one per distinct function, at most
 * HKDF_PROGS: ours number k calls progs[k] (0: none; set once, never
 * changed). */
#define HKDF_PROGS 4
#define HKDF_OURS  (HKDF_PROGS + 1)
static hkdf_cb *progs[HKDF_OURS];

static int hkdf_via(int k, HKDF_PARAMS, int side)
{
	int saved = errno;
	hkdf_cb *prog = __atomic_load_n(&progs[k], __ATOMIC_ACQUIRE);
	int r = NOT_COMPILED_IN;
	if (prog) {
		r = prog(HKDF_ARGS, side);
		saved = errno;
	}
	const char *name =
		secret_name(protocol, protocol_len, label, label_len);
	if (name && r == 0) {
		/* the program's output is wolfSSL's */
		take_secret(name, okm, okm_len);
	} else if (name && r == NOT_COMPILED_IN && okm_len <= MAX_SECRET_LEN) {
		/* wolfSSL makes okm next, the same way, with these same
		 * arguments; okm itself is left to it */
		unsigned char mine[MAX_SECRET_LEN];
		if (wo.expand(mine, okm_len, prk, prk_len, protocol,
			      protocol_len, label, label_len, info, info_len,
			      digest) == 0)
			take_secret(name, mine, okm_len);
		tt_wipe(mine, sizeof(mine));
	}
	errno = saved;
	return r;
}

#define OUR_HKDF(k)                                                            \
	static int our_hkdf_##k(HKDF_PARAMS, int side)                         \
	{                                                                      \
		return hkdf_via(k, HKDF_ARGS, side);                           \
	}
OUR_HKDF(0)
OUR_HKDF(1)
OUR_HKDF(2)
OUR_HKDF(3)
OUR_HKDF(4)
#undef OUR_HKDF

_Static_assert(HKDF_OURS == 5, "one of ours each");
static hkdf_cb *const ours[HKDF_OURS] = {our_hkdf_0, our_hkdf_1, our_hkdf_2,
					 our_hkdf_3, our_hkdf_4};

static bool is_ours(hkdf_cb *cb)
{
	for (int k = 0; k < HKDF_OURS; k++)
		if (cb == ours[k])
			return true;
	return false;
}

/* Ours that calls prog (NULL: ours that calls none), or NULL when every
 * one of ours is taken by another function; the caller holds lock. */
static hkdf_cb *ours_for(hkdf_cb *prog)
{
	if (!prog)
		return ours[0];
	for (int k = 1; k < HKDF_OURS; k++) {
		if (progs[k] == prog)
			return ours[k];
		if (!progs[k]) {
			__atomic_store_n(&progs[k], prog, __ATOMIC_RELEASE);
			return ours[k];
		}
	}
	return NULL;
}

/* What this wolfSSL cannot give, NULL when it gives every secret. */
static const char *missing_note(void)
{
	if (skey_way() && hkdf_way())
		return NULL;
	if (skey_way())
		return "wolfSSL: this build has no key-log callback; TLS 1.2 "
		       "secrets are read through its session-key callback, "
		       "TLS 1.3 connections are decrypted only from a key "
		       "log file";
	if (hkdf_way())
		return "wolfSSL: this build has no key-log callback; TLS 1.3 "
		       "secrets are read through its HKDF-Expand-Label "
		       "callback, TLS 1.2 connections are decrypted only from "
		       "a key log file";
	if ((wo.set_skey || wo.set_hkdf) && !pk_ok())
		return "wolfSSL: a version before 5.5.4, whose PK callbacks "
		       "are not used, and no key-log callback; its "
		       "connections are decrypted only from a key log file";
	return "wolfSSL: this build exports no key-log or secret callback; "
	       "its connections are decrypted only from a key log file";
}

/* Puts ours on ctx where the program's is not. */
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
	} else {
		const char *note = missing_note();
		if (note)
			note_once(note);
		void *v[TT_PTRMAP_VALS] = {NULL};
		pthread_mutex_lock(&lock);
		/* with an entry, ours are where the program set its own
		 * (else it set none); without, the program set none unless
		 * the map was ever full */
		on = (skey_way() || hkdf_way()) &&
		     (tt_ptrmap_get(&kept, ctx, v) || !full);
		/* (again, the same words, for each connection) */
		if (on && skey_way())
			wo.set_skey(ctx, our_session_key);
		if (on && hkdf_way() && !v[HKDF])
			wo.set_hkdf(ctx, ours[0]);
		pthread_mutex_unlock(&lock);
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

static void put_cb(WOLFSSL_CTX *ctx, int which, void *cb)
{
	if (which == SKEY)
		wo.set_skey(ctx, (session_key_cb *)(uintptr_t)cb);
	else
		wo.set_hkdf(ctx, (hkdf_cb *)(uintptr_t)cb);
}

/* The program sets cb (NULL: none) as ctx's callback which: kept in
 * ctx's entry, and one of ours put in its place that calls it.  When it
 * cannot be kept, the program's goes on the context as it is. */
static void prog_sets(WOLFSSL_CTX *ctx, int which, void *cb)
{
	void *v[TT_PTRMAP_VALS] = {NULL};
	void *our = NULL;
	bool kept_it = true;
	pthread_mutex_lock(&lock);
	bool had = tt_ptrmap_get(&kept, ctx, v);
	v[which] = cb;
	if (!v[SKEY] && !v[HKDF]) /* none of the program's: as new */
		tt_ptrmap_del(&kept, ctx);
	else
		kept_it = (had || !full) && tt_ptrmap_put(&kept, ctx, v);
	full = full || !kept_it;
	if (kept_it)
		our = which == SKEY ? (void *)(uintptr_t)our_session_key
				    : (void *)(uintptr_t)ours_for(
					      (hkdf_cb *)(uintptr_t)cb);
	/* ours calls the program's; with none, it does what a context
	 * without a callback does */
	put_cb(ctx, which, our ? our : cb);
	pthread_mutex_unlock(&lock);
	if (our)
		tt_keys_hooked();
	else if (!kept_it)
		tt_keys_note("wolfSSL: more than " TT_PTRMAP_FULL_TEXT
			     " contexts at once with a session-key or "
			     "HKDF-Expand-Label callback of the program's "
			     "own; new contexts are left as they are, and "
			     "their connections are decrypted only from a "
			     "key log file");
	else
		tt_keys_note("wolfSSL: more than " TT_PTRMAP_TEXT(
			HKDF_PROGS) " different "
				    "HKDF-Expand-Label callbacks of the program's "
				    "own; contexts with the others are left as they "
				    "are, and their TLS 1.3 connections are "
				    "decrypted only from a key log file");
}

HOOK void wolfSSL_CTX_SetGenSessionKeyCb(WOLFSSL_CTX *ctx, session_key_cb *cb)
{
	pthread_once(&wo_once, wo_bind);
	if (!wo.set_skey)
		return;
	if (!tt_keys_on() || !ctx || !skey_way() || cb == our_session_key)
		wo.set_skey(ctx, cb);
	else
		prog_sets(ctx, SKEY, (void *)(uintptr_t)cb);
}

HOOK void wolfSSL_CTX_SetHKDFExpandLabelCb(WOLFSSL_CTX *ctx, hkdf_cb *cb)
{
	pthread_once(&wo_once, wo_bind);
	if (!wo.set_hkdf)
		return;
	if (!tt_keys_on() || !ctx || !hkdf_way() || is_ours(cb))
		wo.set_hkdf(ctx, cb);
	else
		prog_sets(ctx, HKDF, (void *)(uintptr_t)cb);
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
