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
 * an entry of a fixed table; ours is then put with that entry as the
 * argument, and the program's callbacks are called with their own
 * argument, in the same order, their results returned.  Only
 * configurations the program gave a callback need an entry; a
 * configuration without one gets ours with a NULL argument.  Entries are
 * dropped when mbedtls_ssl_config_init or mbedtls_ssl_config_free is
 * called on their configuration.  When the table is full, the program's
 * callback is left in place and ours is not put; from then on a
 * configuration that has no entry is left as it is (it may be one of
 * those whose callbacks were not kept).
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
#include "log.h"
#include "trace.h"

#define HOOK __attribute__((visibility("default")))

/* configurations whose callbacks the program set, at once */
#define ENTRIES 64

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

/* The program's callbacks on one configuration (conf NULL: unused). */
struct entry {
	const conf_t *conf;
	keys_cb *f;
	keys_ext_cb *g;
	void *p;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[ENTRIES];
/* A program's callback could not be kept (the table was full). */
static bool full;
static bool full_said;

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
	mb.set_cb =
		(set_cb_fn *)tt_guest_sym("mbedtls_ssl_conf_export_keys_cb", libs);
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

/* The entry an argument mbedTLS hands our callbacks stands for, or NULL
 * (NULL, or the program's own argument: no callback of its own). */
static struct entry *entry_of(void *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)table;
	if (off >= sizeof(table) || off % sizeof(table[0]))
		return NULL;
	return &table[off / sizeof(table[0])];
}

/* conf's entry; with make, a new one if it has none and there is room.
 * Under lock. */
static struct entry *entry_find(const conf_t *conf, bool make)
{
	struct entry *free_slot = NULL;
	for (size_t i = 0; i < ENTRIES; i++) {
		if (table[i].conf == conf)
			return &table[i];
		if (!table[i].conf && !free_slot)
			free_slot = &table[i];
	}
	if (!make || !free_slot)
		return NULL;
	*free_slot = (struct entry){.conf = conf};
	return free_slot;
}

/* In the key block callback's place while the program has one there:
 * calls it as mbedTLS would have. */
static int our_keys(void *p, const unsigned char *ms, const unsigned char *kb,
		    size_t maclen, size_t keylen, size_t ivlen)
{
	keys_cb *f = NULL;
	void *fp = NULL;
	struct entry *e = entry_of(p);
	if (e) {
		pthread_mutex_lock(&lock);
		f = e->f;
		fp = e->p;
		pthread_mutex_unlock(&lock);
	}
	return f ? f(fp, ms, kb, maclen, keylen, ivlen) : 0;
}

static int our_keys_ext(void *p, const unsigned char *ms,
			const unsigned char *kb, size_t maclen, size_t keylen,
			size_t ivlen, const unsigned char client_random[32],
			const unsigned char server_random[32], int prf)
{
	int saved = errno;
	tt_keys_add_secret("CLIENT_RANDOM", client_random, ms, MASTER_LEN);
	keys_ext_cb *g = NULL;
	void *gp = NULL;
	struct entry *e = entry_of(p);
	if (e) {
		pthread_mutex_lock(&lock);
		g = e->g;
		gp = e->p;
		pthread_mutex_unlock(&lock);
	}
	errno = saved;
	int r = g ? g(gp, ms, kb, maclen, keylen, ivlen, client_random,
		      server_random, prf)
		  : 0;
	saved = errno;
	/* records that waited for this secret, decoded now: mbedTLS makes
	 * the keys in the call that reads or writes the handshake */
	tt_trace_keys_here();
	errno = saved;
	return r;
}

/* Puts ours on conf, with e (the program's callbacks) behind it.  Under
 * lock. */
static void put_ours(conf_t *conf, struct entry *e)
{
	if (!e->f && !e->g && !e->p) {
		/* nothing of the program's left: its state is that of a
		 * configuration that never had a callback */
		e->conf = NULL;
		mb.set_cb(conf, NULL, NULL);
		mb.set_ext(conf, our_keys_ext, NULL);
		return;
	}
	/* both setters write the argument: the key block callback's place
	 * holds ours (which calls the program's) whenever the program's is
	 * set, or NULL as the program left it */
	mb.set_cb(conf, e->f ? our_keys : NULL, e);
	mb.set_ext(conf, our_keys_ext, e);
}

static void say_full(void)
{
	if (!__atomic_exchange_n(&full_said, true, __ATOMIC_RELAXED))
		tt_log_debug("mbedTLS: more configurations with export-keys "
			     "callbacks of the program's own than tlstrace "
			     "keeps; new configurations are left as they "
			     "are, and their connections are decrypted only "
			     "from a key log file");
}

/* One of the program's setter calls: its callback (f or g) and argument
 * kept, ours put; or, without room, the call as it was made. */
static void program_sets(conf_t *conf, keys_cb *f, keys_ext_cb *g, bool ext,
			 void *p)
{
	pthread_mutex_lock(&lock);
	struct entry *e = entry_find(conf, !full);
	if (!e && !full)
		full = true;
	if (e) {
		if (ext)
			e->g = g;
		else
			e->f = f;
		e->p = p;
		put_ours(conf, e);
	} else if (ext) {
		mb.set_ext(conf, g, p);
	} else {
		mb.set_cb(conf, f, p);
	}
	pthread_mutex_unlock(&lock);
	if (e)
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
		bool on = entry_find(conf, false) != NULL;
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
	if (!conf)
		return;
	pthread_mutex_lock(&lock);
	struct entry *e = entry_find(conf, false);
	if (e)
		*e = (struct entry){0};
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
