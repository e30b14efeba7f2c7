/* Key capture from mbedTLS 2.28 (libmbedtls.so.14): the interposed
 * mbedtls_ssl_* entry points.
 *
 * mbedTLS hands the master secret and both randoms to the export-keys
 * callbacks of the connection's configuration each time it makes the
 * keys of a TLS 1.2 (or older) handshake.  A configuration has two
 * callbacks, mbedtls_ssl_conf_export_keys_cb's (master secret and key
 * block) and mbedtls_ssl_conf_export_keys_ext_cb's (the same, with the
 * randoms), called in that order with one argument that both setters
 * write.  mbedtls_ssl_setup puts ours in the "ext" place of the
 * configuration it is given.
 *
 * A program that sets a callback of its own keeps it: both setters are
 * interposed, and the configuration's callbacks and argument are kept in
 * a bounded map keyed by the configuration (shim/ptrmap.c); ours is then
 * put with the configuration itself as the argument, and the program's
 * callbacks are called with their own argument, in the same order, their
 * results returned.  Only configurations the program gave a callback
 * need an entry; a configuration without one gets ours with a NULL
 * argument.  Entries are dropped when mbedtls_ssl_config_init or
 * mbedtls_ssl_config_free is called on their configuration.  When the
 * map is full, the program's callback is left in place and ours is not
 * put; from then on a configuration that has no entry is left as it is
 * (it may be one of those whose callbacks were not kept), and the
 * summary's key note says so.
 *
 * mbedTLS 3.x (a per-context callback, another soname) and TLS 1.3 are
 * not handled: Debian 12's mbedTLS is 2.28, built without TLS 1.3.
 *
 * libtlstrace.so links no mbedTLS: the real functions come from
 * dlsym(RTLD_NEXT), or from the libmbedtls already loaded (a server
 * module loaded RTLD_LOCAL brings it in where RTLD_NEXT finds nothing).
 * The configuration is never read: its layout depends on how the
 * library was built.
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

/* mbedTLS 2.28's types (mbedtls/ssl.h), declared here so that building
 * the library needs no mbedTLS headers.  The configuration and the
 * context are only passed on. */
typedef struct mbedtls_ssl_config conf_t;
typedef struct mbedtls_ssl_context ssl_t;
typedef int keys_cb(void *p, const unsigned char *ms, const unsigned char *kb,
		    size_t maclen, size_t keylen, size_t ivlen);
/* the last argument is an enum (mbedtls_tls_prf_types): an int */
typedef int keys_ext_cb(void *p, const unsigned char *ms,
			const unsigned char *kb, size_t maclen, size_t keylen,
			size_t ivlen, const unsigned char client_random[32],
			const unsigned char server_random[32], int prf);
typedef int setup_fn(ssl_t *ssl, const conf_t *conf);
typedef void set_cb_fn(conf_t *conf, keys_cb *f, void *p);
typedef void set_ext_fn(conf_t *conf, keys_ext_cb *f, void *p);
typedef void conf_fn(conf_t *conf);

/* MBEDTLS_ERR_SSL_BAD_INPUT_DATA */
#define ERR_BAD_INPUT (-0x7100)
#define MASTER_LEN    48

static struct {
	setup_fn *setup;
	set_cb_fn *set_cb;
	set_ext_fn *set_ext;
	conf_fn *init, *free_;
} mb;
static pthread_once_t mb_once = PTHREAD_ONCE_INIT;

/* The program's callbacks on one configuration and their argument. */
struct prog {
	keys_cb *f;
	keys_ext_cb *g;
	void *p;
};

/* The configurations the program gave callbacks of its own: their
 * struct prog, as values f, g, p. */
static struct tt_ptrmap kept = TT_PTRMAP_INIT;
/* Held around a look at what conf has kept and the writes to conf that
 * follow from it, so that they go together. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* A program's callback could not be kept (the map was full). */
static bool full;

static void fork_child(void)
{
	pthread_mutex_init(&lock, NULL);
}

static void mb_bind(void)
{
	static const char *const libs[] = {"libmbedtls.so.14", NULL};
	/* lock is first taken after this */
	pthread_atfork(NULL, NULL, fork_child);
	mb.setup = (setup_fn *)tt_guest_sym("mbedtls_ssl_setup", libs);
	mb.set_cb = (set_cb_fn *)tt_guest_sym("mbedtls_ssl_conf_export_keys_cb",
					      libs);
	mb.set_ext = (set_ext_fn *)tt_guest_sym(
		"mbedtls_ssl_conf_export_keys_ext_cb", libs);
	mb.init = (conf_fn *)tt_guest_sym("mbedtls_ssl_config_init", libs);
	mb.free_ = (conf_fn *)tt_guest_sym("mbedtls_ssl_config_free", libs);
}

/* Whether ours is to be put at all: decryption on, and a library built
 * with MBEDTLS_SSL_EXPORT_KEYS (both setters). */
static bool hooking(void)
{
	return tt_keys_on() && mb.set_cb && mb.set_ext;
}

/* What the program set on conf, true when it set anything (else *pr
 * is all NULL).  conf is also the argument mbedTLS hands our callbacks:
 * the configuration, or NULL on one without callbacks of the program's
 * (or, on one left as it was when the map was full, the program's own
 * argument: it finds callbacks only if it is the address of a
 * configuration that has some kept). */
static bool prog_of(const void *conf, struct prog *pr)
{
	void *v[TT_PTRMAP_VALS];
	*pr = (struct prog){0};
	if (!tt_ptrmap_get(&kept, conf, v))
		return false;
	pr->f = (keys_cb *)(uintptr_t)v[0];
	pr->g = (keys_ext_cb *)(uintptr_t)v[1];
	pr->p = v[2];
	return true;
}

/* In the key block callback's place while the program has one there:
 * calls it as mbedTLS would have. */
static int our_keys(void *p, const unsigned char *ms, const unsigned char *kb,
		    size_t maclen, size_t keylen, size_t ivlen)
{
	struct prog pr;
	prog_of(p, &pr);
	return pr.f ? pr.f(pr.p, ms, kb, maclen, keylen, ivlen) : 0;
}

static int our_keys_ext(void *p, const unsigned char *ms,
			const unsigned char *kb, size_t maclen, size_t keylen,
			size_t ivlen, const unsigned char client_random[32],
			const unsigned char server_random[32], int prf)
{
	int saved = errno;
	tt_keys_add_secret("CLIENT_RANDOM", client_random, ms, MASTER_LEN,
			   false);
	struct prog pr;
	prog_of(p, &pr);
	errno = saved;
	int r = pr.g ? pr.g(pr.p, ms, kb, maclen, keylen, ivlen, client_random,
			    server_random, prf)
		     : 0;
	saved = errno;
	/* records that waited for this secret, decoded now: mbedTLS makes
	 * the keys in the call that reads or writes the handshake */
	tt_trace_keys_here();
	errno = saved;
	return r;
}

/* Keeps pr as what the program set on conf and puts ours there with
 * it behind; false, nothing changed, when the map is full.  Under lock. */
static bool put_ours(conf_t *conf, const struct prog *pr)
{
	if (!pr->f && !pr->g && !pr->p) {
		/* nothing of the program's left: its state is that of a
		 * configuration that never had a callback */
		tt_ptrmap_del(&kept, conf);
		mb.set_cb(conf, NULL, NULL);
		mb.set_ext(conf, our_keys_ext, NULL);
		return true;
	}
	void *v[TT_PTRMAP_VALS] = {(void *)(uintptr_t)pr->f,
				   (void *)(uintptr_t)pr->g, pr->p};
	if (!tt_ptrmap_put(&kept, conf, v))
		return false;
	/* both setters write the argument: the key block callback's place
	 * holds ours (which calls the program's) whenever the program's is
	 * set, or NULL as the program left it */
	mb.set_cb(conf, pr->f ? our_keys : NULL, conf);
	mb.set_ext(conf, our_keys_ext, conf);
	return true;
}

static void say_full(void)
{
	tt_keys_note("mbedTLS: more than " TT_PTRMAP_FULL_TEXT
		     " configurations at once with export-keys "
		     "callbacks of the program's own; new "
		     "configurations are left as they are, and "
		     "their connections are decrypted only from a "
		     "key log file");
}

/* One of the program's setter calls: its callback (f or g) and argument
 * kept, ours put; or, without room, the call as it was made. */
static void program_sets(conf_t *conf, keys_cb *f, keys_ext_cb *g, bool ext,
			 void *p)
{
	pthread_mutex_lock(&lock);
	struct prog pr;
	bool on = false;
	if (prog_of(conf, &pr) || !full) {
		if (ext)
			pr.g = g;
		else
			pr.f = f;
		pr.p = p;
		on = put_ours(conf, &pr);
		full = full || !on;
	}
	if (!on && ext)
		mb.set_ext(conf, g, p);
	else if (!on)
		mb.set_cb(conf, f, p);
	pthread_mutex_unlock(&lock);
	if (on)
		tt_keys_hooked();
	else
		say_full();
}

HOOK void mbedtls_ssl_conf_export_keys_cb(conf_t *conf, keys_cb *f, void *p)
{
	pthread_once(&mb_once, mb_bind);
	if (!mb.set_cb)
		return;
	if (!hooking() || !conf || f == our_keys) {
		mb.set_cb(conf, f, p);
		return;
	}
	program_sets(conf, f, NULL, false, p);
}

HOOK void mbedtls_ssl_conf_export_keys_ext_cb(conf_t *conf, keys_ext_cb *g,
					      void *p)
{
	pthread_once(&mb_once, mb_bind);
	if (!mb.set_ext)
		return;
	if (!hooking() || !conf || g == our_keys_ext) {
		mb.set_ext(conf, g, p);
		return;
	}
	program_sets(conf, NULL, g, true, p);
}

HOOK int mbedtls_ssl_setup(ssl_t *ssl, const conf_t *conf)
{
	pthread_once(&mb_once, mb_bind);
	if (!mb.setup)
		return ERR_BAD_INPUT;
	if (hooking() && conf) {
		pthread_mutex_lock(&lock);
		struct prog pr;
		bool on = prog_of(conf, &pr);
		if (!on && !full) {
			/* the program never set a callback on conf: the
			 * argument it holds is NULL (mbedtls_ssl_config_init
			 * zeroes it); the same two words are written again
			 * for each connection made with conf */
			mb.set_ext((conf_t *)conf, our_keys_ext, NULL);
			on = true;
		}
		pthread_mutex_unlock(&lock);
		if (on)
			tt_keys_hooked();
		else
			say_full();
	}
	return mb.setup(ssl, conf);
}

/* A configuration made anew or freed: what was kept for it is gone. */
static void conf_gone(conf_t *conf)
{
	pthread_mutex_lock(&lock);
	tt_ptrmap_del(&kept, conf);
	pthread_mutex_unlock(&lock);
}

HOOK void mbedtls_ssl_config_init(conf_t *conf)
{
	pthread_once(&mb_once, mb_bind);
	conf_gone(conf);
	if (mb.init)
		mb.init(conf);
}

HOOK void mbedtls_ssl_config_free(conf_t *conf)
{
	pthread_once(&mb_once, mb_bind);
	conf_gone(conf);
	if (mb.free_)
		mb.free_(conf);
}
