/* Configuration from TLSTRACE_* variables, read once when the library
 * loads.  A value that makes no sense gives one line on stderr naming the
 * variable and the default used. */
#ifndef TT_CONFIG_H
#define TT_CONFIG_H

#include <stdbool.h>
#include <limits.h>

#include "event.h"
#include "privfile.h"

enum tt_sink_kind { TT_SINK_STDERR, TT_SINK_FILE, TT_SINK_SYSLOG };
enum tt_format { TT_FMT_TEXT, TT_FMT_JSON };

/* The syslog sink's socket: /dev/log, or PATH of TLSTRACE_LOG=syslog:PATH,
 * which must fit in sun_path of a struct sockaddr_un with its NUL. */
#define TT_SYSLOG_PATH	   "/dev/log"
#define TT_SYSLOG_PATH_MAX 107

struct tt_config {
	enum tt_sink_kind sink;
	char path[PATH_MAX]; /* file sink, %p expanded; syslog: the socket */
	enum tt_level level;
	enum tt_format format;
	char keylog[PATH_MAX];
	char keylog_out[PATH_MAX]; /* %p expanded; "" = no export */
	char pcap[PATH_MAX];	   /* TLSTRACE_PCAP, %p expanded; "" = none */
	bool decrypt;
	struct tt_evfilter events; /* TLSTRACE_EVENTS; none wanted (n 0): all */
};

/* Fills cfg from the environment (getenv: called at load only).  Warning
 * lines go through warn(msg, len). */
void tt_config_load(struct tt_config *cfg, const char *(*get)(const char *name),
		    void (*warn)(const char *msg, size_t len));

/* Parses a level name; false if it is not one. */
bool tt_parse_level(const char *s, enum tt_level *out);


#endif
