/* Key capture from GnuTLS: the interposed gnutls_* entry points.
 *
 * GnuTLS calls a session's key-log function with each secret it derives,
 * as bytes with their NSS key log label.  gnutls_init puts ours on every
 * new session; gnutls_session_set_keylog_function and its getter are
 * interposed so that a function the program sets, before or after, is
 * kept and called after ours, and the getter returns it, never ours.
 *
 * gnutls_init installs a default function (it writes $SSLKEYLOGFILE:
 * gnutls-cli with SSLKEYLOGFILE still writes its file).  It is the same
 * for every session, so it is read once, from the first, and a session
 * whose function is still the default needs nothing kept.  GnuTLS has no
 * ex_data: a function of the program's own is kept in a bounded map
 * keyed by the session (shim/ptrmap.c), until gnutls_deinit.  With the
 * map full, the program's function stays on its session alone, that
 * session's secrets are not captured, and the summary's key note says
 * so.
 *
 * libtlstrace.so links no libgnutls: the real functions come from
 * dlsym(RTLD_NEXT), or from the libgnutls already loaded (RTLD_LOCAL).
 * Each secret goes to the store (shim/keys.c), then the records that
 * waited for it are decoded (shim/trace.c): this file sits above both.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* For its declarations only: every GnuTLS function is reached through a
 * pointer of the real function's type, found at run time. */
#include <gnutls/gnutls.h>

#include "guestlib.h"
#include "keys.h"
#include "ptrmap.h"
#include "trace.h"

#define HOOK __attribute__((visibility("default")))

/* The program's GnuTLS functions used here: X(name, field). */
#define GT_SYMS(X)                                                             \
	X(gnutls_init, init)                                                   \
	X(gnutls_deinit, deinit)                                               \
	X(gnutls_session_set_keylog_function, set_fn)                          \
	X(gnutls_session_get_keylog_function, get_fn)                          \
	X(gnutls_session_get_random, get_random)

static struct {
#define X(name, field) typeof(name) *field;
	GT_SYMS(X)
#undef X
} gt;
static pthread_once_t gt_once = PTHREAD_ONCE_INIT;

/* GnuTLS's own default key-log function (atomic; the same value
 * whichever thread writes it first). */
static gnutls_keylog_func dflt;
static bool dflt_known;

static gnutls_keylog_func dflt_get(void)
{
	return __atomic_load_n(&dflt, __ATOMIC_ACQUIRE);
}

static void dflt_set(gnutls_keylog_func fn)
{
	__atomic_store_n(&dflt, fn, __ATOMIC_RELEASE);
	__atomic_store_n(&dflt_known, true, __ATOMIC_RELEASE);
}

/* Inside the real gnutls_init on this thread: it installs the default
 * through the exported setter, which is then ours (GnuTLS calls it
 * through its PLT), and that is no function of the program's.  (Reached
 * from a gnutls_init we did not see, the default is told by its address,
 * in_libgnutls.) */
static __thread bool in_init;

/* The function of the program's own on each session that has one other
 * than the default (GnuTLS has no ex_data), until gnutls_deinit. */
static struct tt_ptrmap kept = TT_PTRMAP_INIT;

/* Keeps fn as s's function; false when the map is full (then s keeps
 * the program's function alone, and its secrets are not captured). */
static bool keep(gnutls_session_t s, gnutls_keylog_func fn)
{
	void *v[TT_PTRMAP_VALS] = {(void *)(uintptr_t)fn};
	if (tt_ptrmap_put(&kept, s, v))
		return true;
	tt_keys_note("GnuTLS: more than " TT_PTRMAP_FULL_TEXT
		     " sessions at once with a key-log function of "
		     "the program's own; the secrets of those past "
		     "the limit are not captured");
	return false;
}

/* The function the program means s to have: its own, else the default. */
static gnutls_keylog_func program_fn(gnutls_session_t s)
{
	void *v[TT_PTRMAP_VALS];
	if (tt_ptrmap_get(&kept, s, v))
		return (gnutls_keylog_func)(uintptr_t)v[0];
	return dflt_get();
}

static void *gt_sym(const char *name)
{
	static const char *const libs[] = {"libgnutls.so.30", NULL};
	return tt_guest_sym(name, libs);
}

static void gt_bind(void)
{
#define X(name, field) *(void **)&gt.field = gt_sym(#name);
	GT_SYMS(X)
#undef X
}

/* Whether fn is code of libgnutls itself: GnuTLS's default function, when
 * the setter is reached with it from a gnutls_init we did not see (a
 * program that calls GnuTLS through a dlopen handle, as Python's ctypes
 * does, reaches libgnutls's own gnutls_init, while libgnutls's call to
 * the setter still comes here). */
static bool in_libgnutls(gnutls_keylog_func fn)
{
	Dl_info a, b;
	return fn && gt.set_fn && dladdr((void *)(uintptr_t)fn, &a) &&
	       dladdr((void *)(uintptr_t)gt.set_fn, &b) &&
	       a.dli_fbase == b.dli_fbase;
}

static int our_keylog(gnutls_session_t s, const char *label,
		      const gnutls_datum_t *secret)
{
	int saved = errno;
	/* GnuTLS hands the secret itself, no copy of it is made here; the
	 * store wipes its own */
	gnutls_datum_t cr = {NULL, 0};
	if (label && secret && secret->data && gt.get_random) {
		gt.get_random(s, &cr, NULL);
		if (cr.data && cr.size == 32)
			tt_keys_add_secret(label, cr.data, secret->data,
					   secret->size, false);
	}
	gnutls_keylog_func prev = program_fn(s);
	errno = saved;
	int ret = prev ? prev(s, label, secret) : 0;
	saved = errno;
	/* Records that waited for this secret, decoded now.  GnuTLS derives
	 * a secret in the handshake call, right after reading the peer's
	 * flight on this thread: the descriptor of this thread's last TLS
	 * bytes is the session's, even when the program moves them with
	 * push/pull functions of its own.  gnutls_transport_get_int would
	 * be only the transport pointer cut to an int, not a descriptor
	 * under gnutls_transport_set_ptr. */
	tt_trace_keys_here();
	errno = saved;
	return ret;
}

/* Puts ours on s, fresh from gnutls_init, keeping what GnuTLS put there. */
static void hook_new(gnutls_session_t s)
{
	if (!gt.get_fn || !gt.set_fn)
		return;
	gnutls_keylog_func cur = gt.get_fn(s);
	if (cur == our_keylog) {
		tt_keys_hooked();
		return;
	}
	if (!__atomic_load_n(&dflt_known, __ATOMIC_ACQUIRE))
		dflt_set(cur);
	if (cur == dflt_get())
		tt_ptrmap_del(&kept, s); /* nothing of a freed session's */
	else if (!keep(s, cur))
		return;
	gt.set_fn(s, our_keylog);
	tt_keys_hooked();
}

HOOK int gnutls_init(gnutls_session_t *session, unsigned int flags)
{
	pthread_once(&gt_once, gt_bind);
	if (!gt.init)
		return GNUTLS_E_INTERNAL_ERROR;
	bool was = in_init;
	in_init = true;
	int ret = gt.init(session, flags);
	in_init = was;
	if (ret == GNUTLS_E_SUCCESS && session && *session && tt_keys_on()) {
		int saved = errno;
		hook_new(*session);
		errno = saved;
	}
	return ret;
}

HOOK void gnutls_deinit(gnutls_session_t session)
{
	pthread_once(&gt_once, gt_bind);
	if (!gt.deinit)
		return;
	tt_ptrmap_del(&kept, session);
	gt.deinit(session);
}

HOOK void gnutls_session_set_keylog_function(gnutls_session_t session,
					     gnutls_keylog_func func)
{
	pthread_once(&gt_once, gt_bind);
	if (!gt.set_fn)
		return;
	if (in_init || !session || func == our_keylog || !tt_keys_on()) {
		gt.set_fn(session, func);
		return;
	}
	if (!__atomic_load_n(&dflt_known, __ATOMIC_ACQUIRE) &&
	    in_libgnutls(func))
		dflt_set(func);
	if (__atomic_load_n(&dflt_known, __ATOMIC_ACQUIRE) &&
	    func == dflt_get()) {
		tt_ptrmap_del(&kept, session);
	} else if (!keep(session, func)) {
		/* the program's stays, and ours is not put */
		gt.set_fn(session, func);
		return;
	}
	gt.set_fn(session, our_keylog);
	tt_keys_hooked();
}

HOOK gnutls_keylog_func
gnutls_session_get_keylog_function(const gnutls_session_t session)
{
	pthread_once(&gt_once, gt_bind);
	if (!gt.get_fn)
		return NULL;
	gnutls_keylog_func fn = gt.get_fn(session);
	return fn == our_keylog ? program_fn(session) : fn;
}
