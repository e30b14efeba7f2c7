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

bool tt_expand_path(const char *tmpl, long pid, char *out, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return false;
	for (const char *p = tmpl; *p; p++) {
		char num[24];
		const char *add = NULL;
		size_t n = 1;
		if (p[0] == '%' && p[1] == 'p') {
			snprintf(num, sizeof(num), "%ld", pid);
			add = num;
			n = strlen(num);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			add = "%";
			p++;
		} else {
			add = p;
		}
		if (o + n + 1 > cap)
			return false;
		memcpy(out + o, add, n);
		o += n;
	}
	out[o] = 0;
	return true;
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
	char shown[128], line[512];
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

void tt_config_load(struct tt_config *cfg, const char *(*get)(const char *name),
		    void (*warn)(const char *msg, size_t len))
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sink = TT_SINK_STDERR;
	cfg->level = TT_INFO;
	cfg->format = TT_FMT_TEXT;
	cfg->decrypt = true;
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
	v = get("TLSTRACE_DECRYPT");
	if (v && *v && !parse_switch(v, &cfg->decrypt))
		bad_value(warn, "TLSTRACE_DECRYPT", v, "is not on or off",
			  "on");
}
