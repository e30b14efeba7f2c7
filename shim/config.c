#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool tt_parse_level(const char *s, enum tt_level *out)
{
	static const char *const names[] = {"error", "warn", "info", "debug",
					    "trace"};
	for (int i = 0; i < 5; i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum tt_level)i;
			return true;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = TT_WARN;
		return true;
	}
	return false;
}

/* on/off and their spellings 1/0, yes/no, true/false, lower case only;
 * false (and *out untouched) for anything else. */
static bool parse_switch(const char *s, bool *out)
{
	static const char *const on[] = {"on", "1", "yes", "true"};
	static const char *const off[] = {"off", "0", "no", "false"};
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (strcmp(s, on[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, off[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* One line: the variable, its value (clipped), what was expected, and
 * the default used instead. */
static void bad_value(void (*warn)(const char *, size_t), const char *var,
		      const char *val, const char *expected, const char *dflt);

/* Values are printed in a bounded, single-line form. */
static void clip(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in;
	     *p && o + 5 < cap; p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = 0;
}

static void bad_value(void (*warn)(const char *, size_t), const char *var,
		      const char *val, const char *expected, const char *dflt)
{
	char shown[128], line[2048];
	clip(val, shown, sizeof(shown));
	int n = snprintf(line, sizeof(line), "tlstrace: %s='%s' %s; using %s\n",
			 var, shown, expected, dflt);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	warn(line, (size_t)n);
}

#define STR_(x) #x
#define STR(x)	STR_(x)

/* syslog:PATH, the datagram socket to write to instead of /dev/log: an
 * absolute path (taken as it is, no %p: each process connects once, at
 * load) that fits in a struct sockaddr_un.  Anything else leaves the
 * sink on stderr, as a file path that is too long does. */
static void parse_syslog_path(struct tt_config *cfg, const char *v,
			      void (*warn)(const char *, size_t))
{
	const char *p = v + 7;
	size_t n = strlen(p);
	const char *why = NULL;
	if (n == 0)
		why = "names no socket (syslog:PATH wants an absolute path)";
	else if (p[0] != '/')
		why = "is not an absolute socket path (syslog:/PATH)";
	else if (n > TT_SYSLOG_PATH_MAX)
		why = "has a socket path longer than " STR(
			TT_SYSLOG_PATH_MAX) " bytes";
	if (why) {
		bad_value(warn, "TLSTRACE_LOG", v, why, "stderr");
		return;
	}
	memcpy(cfg->path, p, n + 1);
	cfg->sink = TT_SINK_SYSLOG;
}

/* The unknown names of TLSTRACE_EVENTS, as many as fit, each clipped. */
struct unknown_names {
	char text[192];
	size_t o;
	size_t n; /* how many there were */
	bool cut; /* some are not in text */
};

static void unknown_name(void *ctx, const char *s, size_t n)
{
	struct unknown_names *u = ctx;
	char name[40], shown[40 * 4];
	u->n++;
	if (u->cut)
		return;
	size_t k = n < sizeof(name) - 1 ? n : sizeof(name) - 1;
	memcpy(name, s, k);
	name[k] = 0;
	clip(name, shown, sizeof(shown));
	size_t len = strlen(shown);
	/* whole, with its ", " and "..." */
	if (u->o + 2 + len + 3 + 1 > sizeof(u->text)) {
		u->cut = true;
		return;
	}
	u->o += (size_t)snprintf(u->text + u->o, sizeof(u->text) - u->o,
				 "%s%s%s", u->o ? ", " : "", shown,
				 k < n ? "..." : "");
}

/* TLSTRACE_EVENTS: a comma list of event names; only those are written.
 * Names that are not events are named in one line with the valid ones,
 * and the others apply; with none left, every event is written.  The
 * value is read in place, so its length costs nothing. */
static void parse_events(struct tt_config *cfg, const char *v,
			 void (*warn)(const char *, size_t))
{
	struct unknown_names u = {.o = 0};
	size_t known = tt_evfilter_parse(&cfg->events, v, unknown_name, &u);
	if (known > 0 && u.n == 0)
		return;
	if (known == 0)
		tt_evfilter_init(&cfg->events); /* every event */
	if (u.n == 0) {
		bad_value(warn, "TLSTRACE_EVENTS", v, "names no event",
			  "all events");
		return;
	}
	char valid[TT_EVENT_COUNT * 32], expected[sizeof(valid) + 256];
	size_t o = 0;
	for (unsigned i = 0; i < TT_EVENT_COUNT; i++)
		o += (size_t)snprintf(valid + o, sizeof(valid) - o, "%s%s",
				      i ? ", " : "",
				      tt_event_name(cfg->events.by_name[i]));
	snprintf(expected, sizeof(expected),
		 "has unknown event name%s %s%s (valid: %s)",
		 u.n > 1 ? "s" : "", u.text, u.cut ? ", ..." : "", valid);
	bad_value(warn, "TLSTRACE_EVENTS", v, expected,
		  known ? "the other names" : "all events");
}

void tt_config_load(struct tt_config *cfg, const char *(*get)(const char *name),
		    void (*warn)(const char *msg, size_t len))
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sink = TT_SINK_STDERR;
	cfg->level = TT_INFO;
	cfg->format = TT_FMT_TEXT;
	cfg->decrypt = true;
	tt_evfilter_init(&cfg->events);
	const char *v = get("TLSTRACE_LEVEL");
	if (v && *v && !tt_parse_level(v, &cfg->level)) {
		bad_value(warn, "TLSTRACE_LEVEL", v,
			  "is not one of error, warn, info, debug, trace",
			  "info");
	}
	v = get("TLSTRACE_FORMAT");
	if (v && *v) {
		if (strcasecmp(v, "json") == 0)
			cfg->format = TT_FMT_JSON;
		else if (strcasecmp(v, "text") != 0) {
			bad_value(warn, "TLSTRACE_FORMAT", v,
				  "is not text or json", "text");
		}
	}
	v = get("TLSTRACE_LOG");
	if (v && *v && strcmp(v, "stderr") != 0) {
		if (strcmp(v, "syslog") == 0) {
			cfg->sink = TT_SINK_SYSLOG;
			strcpy(cfg->path, TT_SYSLOG_PATH);
		} else if (strncmp(v, "syslog:", 7) == 0) {
			parse_syslog_path(cfg, v, warn);
		} else if (!tt_expand_path(v, (long)getpid(), cfg->path,
					   sizeof(cfg->path))) {
			bad_value(warn, "TLSTRACE_LOG", v, "is too long a path",
				  "stderr");
		} else {
			cfg->sink = TT_SINK_FILE;
		}
	}
	v = get("TLSTRACE_KEYLOG");
	if (!v || !*v)
		v = get("SSLKEYLOGFILE");
	if (v && *v && strlen(v) < sizeof(cfg->keylog))
		strcpy(cfg->keylog, v);
	else if (v && *v)
		bad_value(warn, "TLSTRACE_KEYLOG", v, "is too long a path",
			  "no key log");
	v = get("TLSTRACE_KEYLOG_OUT");
	if (v && *v &&
	    !tt_expand_path(v, (long)getpid(), cfg->keylog_out,
			    sizeof(cfg->keylog_out))) {
		cfg->keylog_out[0] = 0;
		bad_value(warn, "TLSTRACE_KEYLOG_OUT", v, "is too long a path",
			  "no key export");
	}
	v = get("TLSTRACE_PCAP");
	if (v && *v &&
	    !tt_expand_path(v, (long)getpid(), cfg->pcap, sizeof(cfg->pcap))) {
		cfg->pcap[0] = 0;
		bad_value(warn, "TLSTRACE_PCAP", v, "is too long a path",
			  "no pcapng file");
	}
	v = get("TLSTRACE_DECRYPT");
	if (v && *v && !parse_switch(v, &cfg->decrypt))
		bad_value(warn, "TLSTRACE_DECRYPT", v, "is not on or off",
			  "on");
	v = get("TLSTRACE_EVENTS");
	if (v && *v)
		parse_events(cfg, v, warn);
}
