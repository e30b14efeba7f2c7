#include "evlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

static void collect(void *ctx, struct tt_event *ev)
{
	struct evlog *l = ctx;
	static char line[256 * 1024];
	struct tt_line_ctx lc = {.pid = 1, .tid = 1, .conn = 1, .fd = 3,
				 .local = "127.0.0.1:1", .peer = "127.0.0.1:2",
				 .role = "unknown"};
	struct timespec ts = {0, 0};
	size_t n = tt_format_line(TT_FMT_JSON, line, sizeof(line), ev, &lc,
				  l->level, &ts);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->lines = realloc(l->lines, l->cap * sizeof(char *));
	}
	line[n - 1] = 0; /* drop the newline */
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

const char *evlog_find(const struct evlog *l, const char *name,
		       const char *dir)
{
	for (size_t i = 0; i < l->n; i++)
		if (matches(l->lines[i], name, dir))
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
			fprintf(stderr, "line %zu differs:\n  %s\n  %s\n", i,
				x, y);
			return 0;
		}
	}
	return 1;
}

void evlog_names(const struct evlog *l, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *p = strstr(l->lines[i], "\"event\":\"");
		if (!p)
			continue;
		p += 9;
		const char *e = strchr(p, '"');
		size_t len = (size_t)(e - p);
		if (o + len + 2 > cap)
			break;
		if (o)
			out[o++] = ' ';
		memcpy(out + o, p, len);
		o += len;
		out[o] = 0;
	}
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

int evlog_tlsgen(const struct tlsgen_opts *o, struct tlsgen_result *r)
{
	memset(r, 0, sizeof(*r));
	int rc = tlsgen_run(o, r);
	if (rc != 0)
		fprintf(stderr, "tlsgen: %s\n", r->error);
	return rc;
}
