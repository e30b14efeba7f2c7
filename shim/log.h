/* Log sinks and tlstrace's own stderr messages: stderr, a file (or
 * FIFO), or syslog's /dev/log (or another datagram socket), written with
 * one write() for the lines of one hooked call, through
 * descriptors of tlstrace's own, taken when the library loads, moved high
 * and close-on-exec.  No write can block, raise SIGPIPE in the program
 * or land in one of its files; a line that cannot be written is dropped
 * and counted. */
#ifndef TT_LOG_H
#define TT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Takes the copy of fd 2 that every message of tlstrace goes to (called
 * first when the library loads; idempotent). */
void tt_log_init(void);
/* tlstrace -p: err_fd (its stderr) is the stderr sink, and log_fd the
 * file of a TLSTRACE_LOG file sink, instead of opening it (-1: none).
 * Before tt_log_init and tt_log_open. */
void tt_log_given(int err_fd, int log_fd);
/* Detaching: every descriptor of the log is pointed at /dev/null. */
void tt_log_detach(void);
/* Opens the sink.  On failure writes one line on stderr and returns false:
 * tracing is then off for this process. */
bool tt_log_open(const struct tt_config *cfg);
bool tt_log_enabled(void);
/* Writes nlines (at most 64) lines, the i-th ending at ends[i] in buf
 * (the first starts at buf), at levels[i], with as few writes as the
 * sink allows, each line whole or not at all where that can be known in
 * advance, after checking that the sink is still tlstrace's own unless
 * checked.  Returns how many were dropped (and counts them); bit i of
 * *lost is set when line i was. */
size_t tt_log_write_lines(const char *buf, const uint32_t *ends,
			  const uint8_t *levels, size_t nlines, bool checked,
			  uint64_t *lost);
/* Whether each line is to be written as soon as it is made (a datagram
 * sink, syslog: one datagram per line either way, and a reader that
 * may hold as few as net.unix.max_dgram_qlen of them is given the time
 * between lines to read); then checked says the sink's identity was
 * already checked during this hooked call. */
bool tt_log_per_line(void);
/* Lines dropped since the last call (the next line written says so), and
 * giving them back when that line was dropped too. */
uint64_t tt_log_dropped_take(void);
void tt_log_dropped_untake(uint64_t n);
/* Lines dropped in this process so far. */
uint64_t tt_log_dropped_total(void);
/* Whether fd is one of tlstrace's own descriptors (the host must not
 * close it), and which they are (at most TT_LOG_FDS_MAX): the log's,
 * and those adopted. */
#define TT_LOG_FDS_MAX 3
bool tt_log_owns_fd(int fd);
size_t tt_log_fds(int fds[TT_LOG_FDS_MAX]);
/* The descriptor whose number *fdp keeps (read and written atomically,
 * -1 when none) is tlstrace's own too, and kept from the host as the
 * log's are (the pcapng file's). */
void tt_log_adopt_fd(int *fdp);
/* Moves our descriptor fd to another number (the host is about to dup2()
 * onto it). */
void tt_log_step_aside(int fd);
/* Writes a message to the copy of fd 2 taken at load, control characters
 * escaped as \xHH. */
void tt_log_stderr(const char *msg, size_t n);
/* The same, formatted (a line longer than PATH_MAX + 511 bytes is cut
 * there). */
void tt_log_stderrf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether n more bytes fit in fd, if it is a regular file, under the
 * process's RLIMIT_FSIZE (ulimit -f): a write at the limit raises
 * SIGXFSZ, which kills the program by default, and one across it is
 * cut short. */
bool tt_fsize_room(int fd, size_t n);
/* Moves fd (tlstrace's own) to a high number, close-on-exec, out of the
 * way of programs that assume small descriptors are theirs; returns the
 * new number (fd itself when it cannot be moved). */
int tt_fd_move_high(int fd);

#endif
