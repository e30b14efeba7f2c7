/* Log sinks: stderr, a file, or syslog's /dev/log, written with one
 * write() per line through a descriptor opened when the library loads,
 * moved high and close-on-exec. */
#ifndef TT_LOG_H
#define TT_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Opens the sink.  On failure writes one line on stderr and returns false:
 * tracing is then off for this process. */
bool tt_log_open(const struct tt_config *cfg);
bool tt_log_enabled(void);
void tt_log_write(const char *line, size_t n, enum tt_level level);
/* Whether fd is the log's own descriptor (the host must not close it). */
bool tt_log_owns_fd(int fd);
/* Moves the log's descriptor to another number (the host is about to
 * dup2() onto ours). */
void tt_log_step_aside(void);
/* Writes a message straight to fd 2 (configuration problems). */
void tt_log_stderr(const char *msg, size_t n);

#endif
