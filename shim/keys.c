/* The secret store, the key log file and the export.
 *
 * Secrets come from OpenSSL's key-log callback (shim/ssl.c hands each
 * line here) and, for other libraries, from TLSTRACE_KEYLOG (default
 * $SSLKEYLOGFILE), read from where we left off whenever a record waits
 * for a secret we do not hold.
 *
 * The store holds the secrets of the most recent client randoms, a fixed
 * number of slots found through a hash index, under one mutex held only
 * to copy bytes; a slot is wiped when its connection ends or when it is
 * reused.  Secrets are never
 * logged; with TLSTRACE_KEYLOG_OUT each one is appended to that file
 * (0600, not through a symlink) once, in the NSS key log format.
 */
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
#include "libz.h"
#include "log.h"
#include "real.h"
#include "crypto.h"
#include "hash.h"

#define SLOTS	   256
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

/* The slots' index by client random: open addressing over INDEX
 * entries (a quarter full at most), each the slot's number + 1, 0 for
 * never used, -1 for a removed one.  A lookup probes a few entries; it
 * used to compare all SLOTS client randoms. */
#define INDEX 1024
static int16_t index_[INDEX];
static unsigned removed;

static unsigned hash_cr(const uint8_t *cr)
{
	/* a client random is random, but older stacks put the time in its
	 * first four bytes: words from across it, mixed */
	uint32_t a, b, c;
	memcpy(&a, cr + 4, 4);
	memcpy(&b, cr + 16, 4);
	memcpy(&c, cr + 28, 4);
	return ((a ^ b ^ c) * 2654435761u) >> 22; /* 10 bits: INDEX */
}

static struct slot *find(const uint8_t *cr)
{
	unsigned i = hash_cr(cr);
	for (unsigned n = 0; n < INDEX; n++, i = (i + 1) % INDEX) {
		int v = index_[i];
		if (v == 0)
			return NULL;
		if (v > 0 &&
		    memcmp(slots[v - 1].cr, cr, TT_KEYLOG_RANDOM_LEN) == 0)
			return &slots[v - 1];
	}
	return NULL;
}

static void index_add(struct slot *s)
{
	unsigned i = hash_cr(s->cr);
	while (index_[i] > 0)
		i = (i + 1) % INDEX;
	if (index_[i] < 0)
		removed--;
	index_[i] = (int16_t)(s - slots + 1);
}

/* Takes s out of the index; the index is made anew once a quarter of it
 * is removed entries, which lengthen every probe. */
static void index_drop(struct slot *s)
{
	unsigned i = hash_cr(s->cr);
	for (unsigned n = 0; n < INDEX; n++, i = (i + 1) % INDEX) {
		if (index_[i] == 0)
			return;
		if (index_[i] == s - slots + 1) {
			index_[i] = -1;
			removed++;
			break;
		}
	}
	if (removed > INDEX / 4) {
		memset(index_, 0, sizeof(index_));
		removed = 0;
		for (size_t k = 0; k < SLOTS; k++)
			if (slots[k].used && &slots[k] != s)
				index_add(&slots[k]);
	}
}

/* The NSS key log line of one secret, with its newline, in line
 * (KEYLOG_LINE bytes); returns its length. */
#define KEYLOG_LINE                                                            \
	(64 + 1 + 2 * TT_KEYLOG_RANDOM_LEN + 1 + 2 * TT_KEYLOG_SECRET_MAX + 2)
static size_t entry_line(enum tt_keylog_label l, const uint8_t *cr,
			 const uint8_t *secret, size_t len, char *line)
{
	const char *label = tt_keylog_label_name(l);
	size_t n = strlen(label);
	memcpy(line, label, n);
	line[n++] = ' ';
	/* each hex run's NUL is overwritten by what follows it */
	tt_hex_lower(cr, TT_KEYLOG_RANDOM_LEN, line + n);
	n += 2 * TT_KEYLOG_RANDOM_LEN;
	line[n++] = ' ';
	tt_hex_lower(secret, len, line + n);
	n += 2 * len;
	line[n++] = '\n';
	return n;
}

static void export_entry(const struct tt_keylog_entry *e)
{
	char line[KEYLOG_LINE];
	size_t n = entry_line(e->label, e->client_random, e->secret,
			      e->secret_len, line);
	char why[256];
	int fd = tt_open_private(export_path, false, why, sizeof(why));
	if (fd < 0 &&
	    !__atomic_exchange_n(&export_warned, true, __ATOMIC_RELAXED)) {
		if (why[0])
			tt_log_stderrf(
				"tlstrace: TLSTRACE_KEYLOG_OUT: refusing "
				"'%s': %s; secrets are not exported\n",
				export_path, why);
		else
			tt_log_stderrf(
				"tlstrace: TLSTRACE_KEYLOG_OUT='%s': %s; "
				"secrets are not exported\n",
				export_path, strerror(errno));
	}
	if (fd >= 0) {
		/* O_APPEND: one line per write, whole, between processes */
		ssize_t w = REAL(write)(fd, line, n);
		(void)w;
		REAL(close)(fd);
	}
	tt_wipe(line, sizeof(line));
}

/* Stores one secret; true when it was new.  first: one already held
 * under its label stays. */
static bool store_put(const struct tt_keylog_entry *e, bool first)
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
		if (s->used)
			index_drop(s);
		tt_wipe(s, sizeof(*s));
		memcpy(s->cr, e->client_random, TT_KEYLOG_RANDOM_LEN);
		s->used = true;
		index_add(s);
	}
	s->stamp = ++stamp;
	if ((!first || !s->len[e->label]) &&
	    (s->len[e->label] != e->secret_len ||
	     memcmp(s->sec[e->label], e->secret, e->secret_len) != 0)) {
		memcpy(s->sec[e->label], e->secret, e->secret_len);
		s->len[e->label] = e->secret_len;
		fresh = true;
	}
	pthread_mutex_unlock(&store_lock);
	return fresh;
}

/* Set when tlstrace -p detaches: the callbacks it left on the TLS
 * libraries' objects still run (and still call the program's own), but
 * what they hand over is neither kept nor exported. */
static bool stopped;

static void take_entry(struct tt_keylog_entry *e, bool first)
{
	if (!__atomic_load_n(&stopped, __ATOMIC_ACQUIRE) &&
	    store_put(e, first) && export_path[0])
		export_entry(e);
	tt_wipe(e, sizeof(*e));
}

void tt_keys_stop(void)
{
	__atomic_store_n(&stopped, true, __ATOMIC_RELEASE);
}

static size_t store_get(const uint8_t *cr, enum tt_keylog_label l, uint8_t *out)
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

void tt_keys_add_line(const char *line)
{
	struct tt_keylog_entry e;
	if (line &&
	    tt_keylog_parse_line(line, strnlen(line, 1024), &e) == TT_OK &&
	    e.label != TT_KL_NONE)
		take_entry(&e, false);
}

bool tt_keys_add_secret(const char *label, const uint8_t *cr,
			const uint8_t *secret, size_t len, bool first)
{
	if (!label || !cr || !secret || (len != 32 && len != 48))
		return false;
	struct tt_keylog_entry e = {
		.label = tt_keylog_label_find(label, strlen(label)),
	};
	/* a TLS 1.2 master secret is 48 bytes, a TLS 1.3 secret the
	 * suite's hash length */
	if (e.label == TT_KL_NONE ||
	    (e.label == TT_KL_CLIENT_RANDOM && len != 48))
		return false;
	memcpy(e.client_random, cr, TT_KEYLOG_RANDOM_LEN);
	memcpy(e.secret, secret, len);
	e.secret_len = (uint8_t)len;
	take_entry(&e, first);
	return true;
}

uint32_t tt_keys_held(const uint8_t *cr)
{
	uint32_t have = 0;
	pthread_mutex_lock(&store_lock);
	const struct slot *s = find(cr);
	for (int l = TT_KL_NONE + 1; s && l < TT_KL_COUNT; l++)
		if (s->len[l])
			have |= 1u << l;
	pthread_mutex_unlock(&store_lock);
	return have;
}

size_t tt_keys_lines(const uint8_t *cr, uint32_t *have, char *out, size_t cap)
{
	size_t o = 0;
	char line[KEYLOG_LINE];
	pthread_mutex_lock(&store_lock);
	const struct slot *s = find(cr);
	for (int l = TT_KL_NONE + 1; s && l < TT_KL_COUNT; l++) {
		if (!s->len[l] || (*have & 1u << l))
			continue;
		size_t n = entry_line((enum tt_keylog_label)l, cr, s->sec[l],
				      s->len[l], line);
		if (o + n > cap)
			break;
		memcpy(out + o, line, n);
		o += n;
		*have |= 1u << l;
	}
	pthread_mutex_unlock(&store_lock);
	tt_wipe(line, sizeof(line));
	return o;
}

void tt_keys_forget(const uint8_t *cr)
{
	pthread_mutex_lock(&store_lock);
	struct slot *s = find(cr);
	if (s) {
		index_drop(s);
		tt_wipe(s, sizeof(*s));
	}
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
	int fd =
		open(keylog_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
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
			if (tt_keylog_next(buf + off,
					   (size_t)(nl + 1 - buf) - off, &used,
					   &e) == TT_OK &&
			    e.label != TT_KL_NONE)
				take_entry(&e, false);
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

static const struct tt_inflate *ks_inflate(void *ctx, const char **why)
{
	(void)ctx;
	return tt_inflate_load(why);
}

static bool ks_expect(void *ctx)
{
	(void)ctx;
	return keylog_path[0] || __atomic_load_n(&ssl_seen, __ATOMIC_RELAXED);
}

/* The notes, "; " between them: only ever appended to, the old end's
 * NUL replaced last, so a reader sees the text before or after. */
static char notes[512];
static pthread_mutex_t note_lock = PTHREAD_MUTEX_INITIALIZER;

void tt_keys_note(const char *text)
{
	pthread_mutex_lock(&note_lock);
	size_t len = strlen(notes), n = strlen(text);
	if (!strstr(notes, text) && len + 2 + n < sizeof(notes)) {
		if (len == 0) {
			memcpy(notes + 1, text + 1, n);
			__atomic_store_n(&notes[0], text[0], __ATOMIC_RELEASE);
		} else {
			memcpy(notes + len + 1, " ", 1);
			memcpy(notes + len + 2, text, n + 1);
			__atomic_store_n(&notes[len], ';', __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&note_lock);
}

static const char *ks_note(void *ctx)
{
	(void)ctx;
	return __atomic_load_n(&notes[0], __ATOMIC_ACQUIRE) ? notes : NULL;
}

static const struct tt_keysrc keysrc = {
	.ctx = NULL,
	.get = ks_get,
	.crypto = ks_crypto,
	.expect = ks_expect,
	.inflate = ks_inflate,
	.note = ks_note,
};

bool tt_keys_on(void)
{
	return decrypt_on;
}

bool tt_keys_file_only(void)
{
	return keylog_path[0] && !__atomic_load_n(&ssl_seen, __ATOMIC_RELAXED);
}

void tt_keys_hooked(void)
{
	__atomic_store_n(&ssl_seen, true, __ATOMIC_RELAXED);
}

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
	pthread_mutex_init(&note_lock, NULL);
}
