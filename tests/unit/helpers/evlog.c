#include "evlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "format.h"

/* TLSTRACE_DOCCHECK_DIR: every line rendered here is also appended to
 * unit-<pid>.jsonl in that directory, each distinct line once per
 * process, as tests/integration/tlslib.py does with the log lines the
 * integration tests read; scripts/doccheck.py then counts the events and
 * fields the unit tests produced.  Lines are told apart by a 64-bit hash
 * (the lines of one process number in the thousands). */
static struct {
	pthread_mutex_t lock;
	int fd;		/* -1: not open (yet) */
	pid_t pid;	/* the process that opened fd */
	uint64_t *seen; /* open addressing, 0 = empty slot */
	size_t cap, n;
} doc = {PTHREAD_MUTEX_INITIALIZER, -1, 0, NULL, 0, 0};

static uint64_t line_hash(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 1099511628211ULL;
	return h ? h : 1;
}

/* Adds h; returns 1 if it is new. */
static int seen_add(uint64_t h)
{
	if (2 * (doc.n + 1) > doc.cap) {
		size_t ncap = doc.cap ? 2 * doc.cap : 1024;
		uint64_t *t = calloc(ncap, sizeof(*t));
		if (!t)
			return 1; /* a line written twice does no harm */
		for (size_t i = 0; i < doc.cap; i++) {
			if (!doc.seen[i])
				continue;
			size_t j = doc.seen[i] & (ncap - 1);
			while (t[j])
				j = (j + 1) & (ncap - 1);
			t[j] = doc.seen[i];
		}
		free(doc.seen);
		doc.seen = t;
		doc.cap = ncap;
	}
	size_t j = h & (doc.cap - 1);
	while (doc.seen[j]) {
		if (doc.seen[j] == h)
			return 0;
		j = (j + 1) & (doc.cap - 1);
	}
	doc.seen[j] = h;
	doc.n++;
	return 1;
}

static void doccheck(const char *line, size_t n)
{
	const char *dir = getenv("TLSTRACE_DOCCHECK_DIR");
	if (!dir || !*dir || n == 0)
		return;
	pthread_mutex_lock(&doc.lock);
	if (doc.fd >= 0 && doc.pid != getpid()) { /* a forked child */
		close(doc.fd);
		doc.fd = -1;
	}
	if (doc.fd < 0) {
		char path[4096];
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			goto out;
		snprintf(path, sizeof(path), "%s/unit-%d.jsonl", dir,
			 (int)getpid());
		doc.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);
		doc.pid = getpid();
		if (doc.fd < 0)
			goto out;
	}
	if (seen_add(line_hash(line, n))) {
		struct iovec v[2] = {{(void *)line, n}, {"\n", 1}};
		if (writev(doc.fd, v, 2) != (ssize_t)(n + 1))
			fprintf(stderr, "evlog: %s: short write\n", dir);
	}
out:
	pthread_mutex_unlock(&doc.lock);
}

static void collect(void *ctx, struct tt_event *ev)
{
	struct evlog *l = ctx;
	static char line[256 * 1024];
	struct tt_line_ctx lc = {.pid = 1,
				 .tid = 1,
				 .conn = 1,
				 .fd = 3,
				 .local = "127.0.0.1:1",
				 .peer = "127.0.0.1:2",
				 .role = "unknown"};
	struct timespec ts = {0, 0};
	size_t n = tt_format_line(TT_FMT_JSON, line, sizeof(line), ev, &lc,
				  l->level, &ts);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->lines = realloc(l->lines, l->cap * sizeof(char *));
	}
	line[n - 1] = 0; /* drop the newline */
	doccheck(line, n - 1);
	l->lines[l->n++] = strdup(line);
}

void evlog_init(struct evlog *l, enum tt_level level)
{
	memset(l, 0, sizeof(*l));
	l->scratch = malloc(sizeof(struct tt_event));
	l->level = level;
	l->em.fn = collect;
	l->em.ctx = l;
	l->em.ev = l->scratch;
	l->em.level = (uint8_t)level;
}

void evlog_clear(struct evlog *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->lines[i]);
	l->n = 0;
}

void evlog_free(struct evlog *l)
{
	evlog_clear(l);
	free(l->lines);
	free(l->scratch);
	memset(l, 0, sizeof(*l));
}

static int matches(const char *line, const char *name, const char *dir)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\"event\":\"%s\"", name);
	if (!strstr(line, pat))
		return 0;
	if (dir) {
		snprintf(pat, sizeof(pat), "\"dir\":\"%s\"", dir);
		if (!strstr(line, pat))
			return 0;
	}
	return 1;
}

size_t evlog_count(const struct evlog *l, const char *name, const char *dir)
{
	size_t c = 0;
	for (size_t i = 0; i < l->n; i++)
		c += (size_t)matches(l->lines[i], name, dir);
	return c;
}

const char *evlog_find(const struct evlog *l, const char *name, const char *dir)
{
	return evlog_nth(l, name, dir, 0);
}

const char *evlog_nth(const struct evlog *l, const char *name, const char *dir,
		      size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		if (matches(l->lines[i], name, dir) && n-- == 0)
			return l->lines[i];
	return NULL;
}

int evlog_same(const struct evlog *a, const struct evlog *b)
{
	size_t n = a->n > b->n ? a->n : b->n;
	for (size_t i = 0; i < n; i++) {
		const char *x = i < a->n ? a->lines[i] : "(none)";
		const char *y = i < b->n ? b->lines[i] : "(none)";
		if (strcmp(x, y) != 0) {
			fprintf(stderr, "line %zu differs:\n  %s\n  %s\n", i, x,
				y);
			return 0;
		}
	}
	return 1;
}

int evlog_is(const char *line, const char *tail)
{
	const char *p = line ? strstr(line, "\"dir\":") : NULL;
	if (!p || strcmp(p, tail) != 0) {
		fprintf(stderr, "got  %s\nwant ...%s\n", line ? line : "(none)",
			tail);
		return 0;
	}
	return 1;
}

/* The value of the string field key (a "\"key\":\"" pattern) in line:
 * its start, and its length in *len; NULL if the line has none. */
static const char *str_field(const char *line, const char *pat, size_t *len)
{
	const char *p = strstr(line, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	*len = strcspn(p, "\"");
	return p;
}

/* Appends sep (unless out is empty) and the n bytes at p, if all of it
 * fits; returns 0 when it does not. */
static int append(char *out, size_t cap, size_t *o, const char *sep,
		  const char *p, size_t n)
{
	size_t s = *o ? strlen(sep) : 0;
	if (*o + s + n + 1 > cap)
		return 0;
	memcpy(out + *o, sep, s);
	memcpy(out + *o + s, p, n);
	*o += s + n;
	out[*o] = 0;
	return 1;
}

void evlog_names(const struct evlog *l, char *out, size_t cap)
{
	evlog_names_dir(l, NULL, out, cap);
}

void evlog_names_dir(const struct evlog *l, const char *dir, char *out,
		     size_t cap)
{
	char dp[24];
	size_t o = 0;
	snprintf(dp, sizeof(dp), "\"dir\":\"%s\"", dir ? dir : "");
	out[0] = 0;
	for (size_t i = 0; i < l->n; i++) {
		size_t n;
		const char *ev = str_field(l->lines[i], "\"event\":\"", &n);
		if (!ev || (dir && !strstr(l->lines[i], dp)))
			continue;
		if (!append(out, cap, &o, " ", ev, n))
			break;
	}
}

void evlog_names_all(const struct evlog *l, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < l->n; i++) {
		char item[128];
		size_t en, dn;
		const char *ev = str_field(l->lines[i], "\"event\":\"", &en);
		const char *d = str_field(l->lines[i], "\"dir\":\"", &dn);
		if (!ev || !d)
			continue;
		int n = snprintf(item, sizeof(item), "%.*s %.*s", (int)dn, d,
				 (int)en, ev);
		if (n < 0 || (size_t)n >= sizeof(item) ||
		    !append(out, cap, &o, ", ", item, (size_t)n))
			break;
	}
}

void evlog_dump(const struct evlog *l)
{
	for (size_t i = 0; i < l->n; i++)
		fprintf(stderr, "  %s\n", l->lines[i]);
}

void evlog_replay(const struct tlsgen_result *r, int as_server,
		  struct tt_conn *c, struct evlog *l, size_t piece)
{
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct tlsgen_step *s = &r->steps[i];
		const struct tlsgen_stream *st =
			tlsgen_stream_of(r, s->from_server);
		enum tt_dir dir = (s->from_server != 0) == (as_server != 0)
					  ? TT_OUT
					  : TT_IN;
		for (size_t o = 0; o < s->len; o += piece) {
			size_t n = s->len - o < piece ? s->len - o : piece;
			/* as the shim does before each call: records that
			 * waited for keys first */
			if (tt_conn_waiting(c))
				tt_conn_drain(c, &l->em);
			(void)tt_conn_feed(c, dir, st->data + s->off + o, n,
					   &l->em);
		}
	}
}

void evlog_end(struct tt_conn *c, struct evlog *l, enum tt_end_how how,
	       enum tt_dir dir, const char *err, const char *call)
{
	struct tt_end_info ei = {.how = how,
				 .dir = dir,
				 .errname = err,
				 .call = call,
				 .since_last_us = 5,
				 .duration_us = 100};
	tt_conn_end(c, &ei, &l->em);
}

void evlog_close(struct tt_conn *c, struct evlog *l)
{
	evlog_end(c, l, TT_END_LOCAL_CLOSE, TT_OUT, NULL, "close");
}

void evlog_fin_then_close(struct tt_conn *c, struct evlog *l)
{
	evlog_end(c, l, TT_END_PEER_FIN, TT_IN, NULL, "read");
	evlog_close(c, l);
}

void evlog_reset_then_close(struct tt_conn *c, struct evlog *l)
{
	evlog_end(c, l, TT_END_ERROR, TT_IN, "ECONNRESET", "read");
	evlog_close(c, l);
}

void evlog_abort(struct tt_conn *c, struct evlog *l)
{
	evlog_end(c, l, TT_END_LOCAL_ABORT, TT_OUT, NULL, "close");
}

void evlog_exit_open(struct tt_conn *c, struct evlog *l)
{
	evlog_end(c, l, TT_END_EXIT, TT_OUT, NULL, NULL);
}

void evlog_replay_ended(const struct tlsgen_result *r, int as_server,
			const struct tt_keysrc *ks, struct evlog *l,
			size_t piece,
			void (*end)(struct tt_conn *, struct evlog *))
{
	struct tt_conn c;
	tt_conn_init(&c);
	c.ks = ks;
	evlog_replay(r, as_server, &c, l, piece);
	end(&c, l);
	tt_conn_release(&c);
}

void evlog_replay_closed(const struct tlsgen_result *r, int as_server,
			 const struct tt_keysrc *ks, struct evlog *l,
			 size_t piece)
{
	evlog_replay_ended(r, as_server, ks, l, piece, evlog_close);
}

int evlog_tlsgen(const struct tlsgen_opts *o, struct tlsgen_result *r)
{
	memset(r, 0, sizeof(*r));
	int rc = tlsgen_run(o, r);
	if (rc != 0)
		fprintf(stderr, "tlsgen: %s\n", r->error);
	return rc;
}
