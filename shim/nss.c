/* Key capture from NSS: the TLS 1.3 secret callback.
 *
 * NSS hands each TLS 1.3 traffic secret, as it installs it, to a callback
 * set on the socket through its experimental API
 * (SSL_GetExperimentalAPI("SSL_SecretCallback")).  SSL_ImportFD, which
 * makes every NSS TLS socket, is interposed to put ours on the new
 * socket; SSL_GetExperimentalAPI is interposed so that a program that
 * sets its own secret callback gets a setter that keeps ours and calls
 * the program's after it.
 *
 * The callback names the socket, an epoch (1 early data, 2 handshake, 3
 * the first application secret, more for key updates, which the decoder
 * derives itself) and a direction, and gives the secret as a PKCS#11 key:
 * its bytes come from PK11_ExtractKeyValue and PK11_GetKeyData, as NSS's
 * own key log does.  The client random and which side this process is
 * come from the connection the decoder saw this thread handshake on (NSS
 * makes the secrets inside the call that reads or writes the handshake).
 *
 * TLS 1.2: NSS gives its master secret to nothing public; Debian's NSS is
 * built without SSLKEYLOGFILE, so those connections are not decrypted
 * (the summary's keys_note says so, at level debug).  The real functions come from
 * dlsym(RTLD_NEXT), or from the libssl3 / libnss3 already loaded;
 * nothing is loaded here.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* For their declarations only: every NSS function is reached through a
 * pointer of the real function's type, found at run time. */
#include <nss/ssl.h>
#include <nss/sslexp.h>
#include <nss/pk11pub.h>
#include <prerror.h>
#include <private/pprio.h>

#include "crypto.h"
#include "guestlib.h"
#include "keys.h"
#include "log.h"
#include "ptrmap.h"
#include "trace.h"

#define HOOK __attribute__((visibility("default")))

typedef SECStatus set_secret_fn(PRFileDesc *fd, SSLSecretCallback cb,
				void *arg);

static struct {
	typeof(SSL_ImportFD) *import;
	typeof(DTLS_ImportFD) *dtls_import;
	typeof(PR_FileDesc2NativeHandle) *native;
	typeof(PR_GetError) *get_error;
	typeof(PR_GetOSError) *get_os_error;
	typeof(PR_SetError) *set_error;
	typeof(SSL_GetExperimentalAPI) *get_api;
	typeof(PK11_ExtractKeyValue) *extract;
	typeof(PK11_GetKeyData) *key_data;
	set_secret_fn *set_secret;
} nss;
static pthread_once_t nss_once = PTHREAD_ONCE_INIT;

static const char *const nss_libs[] = {"libssl3.so", "libnss3.so",
				       "libnspr4.so", NULL};

static void nss_bind(void)
{
	*(void **)&nss.import = tt_guest_sym("SSL_ImportFD", nss_libs);
	*(void **)&nss.dtls_import = tt_guest_sym("DTLS_ImportFD", nss_libs);
	*(void **)&nss.native =
		tt_guest_sym("PR_FileDesc2NativeHandle", nss_libs);
	*(void **)&nss.get_error = tt_guest_sym("PR_GetError", nss_libs);
	*(void **)&nss.get_os_error = tt_guest_sym("PR_GetOSError", nss_libs);
	*(void **)&nss.set_error = tt_guest_sym("PR_SetError", nss_libs);
	*(void **)&nss.get_api =
		tt_guest_sym("SSL_GetExperimentalAPI", nss_libs);
	*(void **)&nss.extract = tt_guest_sym("PK11_ExtractKeyValue", nss_libs);
	*(void **)&nss.key_data = tt_guest_sym("PK11_GetKeyData", nss_libs);
	if (nss.get_api)
		nss.set_secret =
			(set_secret_fn *)nss.get_api("SSL_SecretCallback");
}

/* The program's own secret callback and its argument, per socket: kept
 * for the few programs that set one (QUIC stacks), in a bounded map.
 * Once it has been full, a socket made from a model with nothing kept
 * may carry the program's callback unseen: ours is not put there. */
static struct tt_ptrmap prog_cbs = TT_PTRMAP_INIT;
static bool full;

static const char *label_of(uint16_t epoch, bool ours, bool server)
{
	/* ours: the secret protects what this process sends */
	bool client_secret = ours != server;
	switch (epoch) {
	case 1:
		return "CLIENT_EARLY_TRAFFIC_SECRET";
	case 2:
		return client_secret ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
				     : "SERVER_HANDSHAKE_TRAFFIC_SECRET";
	case 3:
		return client_secret ? "CLIENT_TRAFFIC_SECRET_0"
				     : "SERVER_TRAFFIC_SECRET_0";
	default:
		return NULL; /* key updates: derived by the decoder */
	}
}

static void take_secret(PRFileDesc *fd, uint16_t epoch, SSLSecretDirection dir,
			PK11SymKey *secret)
{
	uint8_t cr[32];
	bool server;
	/* the socket's own descriptor, where NSPR knows it (a socket over
	 * a transport of the program's own has none): a secret of another
	 * connection than the one this thread last moved bytes on, or of
	 * a QUIC connection, is not filed under that one's random */
	int osfd = nss.native ? (int)nss.native(fd) : -1;
	if (!secret || !nss.extract || !nss.key_data ||
	    !tt_trace_here_hello(osfd, cr, &server))
		return;
	const char *label = label_of(epoch, dir == ssl_secret_write, server);
	if (!label || nss.extract(secret) != SECSuccess)
		return;
	/* NSS's own copy of the key's bytes, owned by the key */
	const SECItem *data = nss.key_data(secret);
	if (data && data->data)
		tt_keys_add_secret(label, cr, data->data, data->len, true);
	tt_trace_keys_here();
}

static void our_secret(PRFileDesc *fd, PRUint16 epoch, SSLSecretDirection dir,
		       PK11SymKey *secret, void *arg)
{
	(void)arg;
	int saved = errno;
	/* NSPR's error, NSS's errno: what our calls set (an extraction
	 * refused in FIPS mode) is not the program's */
	PRErrorCode err = nss.get_error ? nss.get_error() : 0;
	PRInt32 os_err = nss.get_os_error ? nss.get_os_error() : 0;
	take_secret(fd, epoch, dir, secret);
	if (nss.set_error)
		nss.set_error(err, os_err);
	void *prev[TT_PTRMAP_VALS];
	bool chained = tt_ptrmap_get(&prog_cbs, fd, prev);
	errno = saved;
	if (chained && prev[0])
		((SSLSecretCallback)prev[0])(fd, epoch, dir, secret, prev[1]);
}

/* Puts our callback on fd (a new NSS socket). */
static void hook_fd(PRFileDesc *fd)
{
	if (!fd || !nss.set_secret || !tt_keys_on())
		return;
	int saved = errno;
	if (nss.set_secret(fd, our_secret, NULL) == SECSuccess)
		tt_keys_hooked();
	static bool noted;
	if (!__atomic_exchange_n(&noted, true, __ATOMIC_RELAXED))
		tt_keys_note(
			"NSS gives its TLS 1.3 secrets to a callback, its TLS "
			"1.2 master secret to none (and only an NSS "
			"built with it writes SSLKEYLOGFILE)");
	errno = saved;
}

/* A new socket s, made from model (or NULL): what was kept for the
 * model is kept for s, and ours goes on it. */
static void new_socket(PRFileDesc *model, PRFileDesc *s)
{
	if (!s)
		return;
	void *v[TT_PTRMAP_VALS];
	bool kept = model && tt_ptrmap_get(&prog_cbs, model, v);
	/* a socket made from a model has the model's callbacks; a new one
	 * at a freed socket's address has none */
	tt_ptrmap_copy(&prog_cbs, model, s);
	if (kept || !model || !__atomic_load_n(&full, __ATOMIC_RELAXED))
		hook_fd(s);
}

HOOK PRFileDesc *SSL_ImportFD(PRFileDesc *model, PRFileDesc *fd)
{
	pthread_once(&nss_once, nss_bind);
	if (!nss.import)
		return NULL;
	PRFileDesc *s = nss.import(model, fd);
	new_socket(model, s);
	return s;
}

/* DTLS is not traced, but a socket made from a model that has our
 * callback inherits it: what was kept for it must be its own. */
HOOK PRFileDesc *DTLS_ImportFD(PRFileDesc *model, PRFileDesc *fd)
{
	pthread_once(&nss_once, nss_bind);
	if (!nss.dtls_import)
		return NULL;
	PRFileDesc *s = nss.dtls_import(model, fd);
	new_socket(model, s);
	return s;
}

/* The setter the program gets for "SSL_SecretCallback": its callback is
 * kept for fd and called after ours, which stays.  When it cannot be
 * kept (the map is full), the program's replaces ours on that socket,
 * and a note says so. */
static SECStatus prog_set_secret(PRFileDesc *fd, SSLSecretCallback cb,
				 void *arg)
{
	if (!nss.set_secret)
		return SECFailure;
	if (tt_keys_on() && fd && cb != our_secret) {
		void *v[TT_PTRMAP_VALS] = {(void *)(uintptr_t)cb, arg};
		if (cb ? tt_ptrmap_put(&prog_cbs, fd, v)
		       : (tt_ptrmap_del(&prog_cbs, fd), true))
			return nss.set_secret(fd, our_secret, NULL);
		__atomic_store_n(&full, true, __ATOMIC_RELAXED);
		tt_keys_note("NSS: more than " TT_PTRMAP_FULL_TEXT
			     " sockets with a secret callback of "
			     "the program's own; the TLS 1.3 secrets "
			     "of those past the limit are not "
			     "captured");
	}
	return nss.set_secret(fd, cb, arg);
}

HOOK void *SSL_GetExperimentalAPI(const char *name)
{
	pthread_once(&nss_once, nss_bind);
	if (!nss.get_api)
		return NULL;
	void *f = nss.get_api(name);
	if (f && name && strcmp(name, "SSL_SecretCallback") == 0)
		return (void *)(uintptr_t)prog_set_secret;
	return f;
}
