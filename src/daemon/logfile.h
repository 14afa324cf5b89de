/* SPDX-License-Identifier: MIT */
#pragma once

/* A service's output in a file of its own, DIR/NAME.log, one record per line
 * (docs/logs.md):
 *
 *     2026-11-26T22:10:00.123456Z stdout: TEXT
 *
 * The time is UTC with microseconds; the stream is what the caller names ("stdout",
 * "stderr"; the module's own notices use "pidvisor").  TEXT is the line as written,
 * except that control characters other than tab become \xNN (lower-case hex) and one
 * trailing \r is dropped, so that a record is always exactly one line.  A record is at
 * most LOGFILE_LINE_MAX bytes including its time, stream and newline: a longer line is
 * split into several records, each but the last ending in LOGFILE_CONTINUED.
 *
 * Writing is a plain write() on an O_APPEND descriptor, from the daemon's one thread, of
 * many records at once where the caller batches them: the page cache makes it cheap, and a service that writes faster than the disk takes blocks
 * on its own full pipe (backpressure) while the daemon's memory stays bounded.
 *
 * Rotation: when a record would take the file past max_bytes, NAME.log.(keep-1) becomes
 * NAME.log.keep, ..., NAME.log becomes NAME.log.1 (rename()), and a fresh NAME.log is
 * created; keep = 0 deletes the old file instead.  A record is never split across files.
 *
 * A record that cannot be written (ENOSPC, EFBIG, EIO...) is counted as dropped and the
 * next one is tried anyway; when writing works again, a record
 *     TIME pidvisor: N bytes dropped (REASON)
 * comes first, so the file itself shows the gap. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest record, newline included (16 KiB). */
#define LOGFILE_LINE_MAX 16384
/* What ends a record that the next one continues: " …" (space, U+2026). */
#define LOGFILE_CONTINUED " \xe2\x80\xa6"

struct logfile;

/* Opens (creating, mode 0640 less the umask) DIR/NAME.log for appending; creates DIR and
 * its missing parents (0755).  max_bytes: rotate when a record would take the file past
 * it (0: never).  keep: how many rotated files NAME.log.1 .. NAME.log.KEEP to keep (0: the
 * old file is deleted at rotation).  On failure returns -errno and, if error_text is not
 * NULL, sets it to a malloc'd message naming the path. */
int logfile_open(const char *dir, const char *name, uint64_t max_bytes, unsigned keep, struct logfile **ret,
                 char **error_text);

/* Writes `line` (len bytes, without its newline; any bytes) as one record, or several if it
 * is too long.  realtime_usec: CLOCK_REALTIME in microseconds.  stream: "stdout" or
 * "stderr" (at most 64 bytes, printed as given).
 * Returns 0, or -errno, which means one of two things; logfile_dropped() tells which:
 *   - it grew: the record, or its tail, could not be written (-ENOSPC, -EFBIG, -EIO...);
 *     its unwritten bytes were counted, and the next call tries again;
 *   - it did not: the record WAS written, but the rotation failed (-EACCES, -EISDIR...):
 *     the file goes on growing, and rotating is tried again after another max_bytes.
 * So a caller that copies dropped lines elsewhere should do so only when it grew, and one
 * that logs failures should log a drop once per gap, not once per line.  (-EINVAL: stream
 * longer than 64 bytes; nothing written or counted.) */
int logfile_write(struct logfile *lf, uint64_t realtime_usec, const char *stream, const char *line, size_t len);

/* As logfile_write(), for a line that goes on in the next call (the caller's line buffer
 * filled up before its newline came): every record written here ends in LOGFILE_CONTINUED,
 * and a trailing \r is kept (escaped).  The next logfile_write() ends the line.  Nothing is
 * written for len 0. */
int logfile_write_partial(struct logfile *lf, uint64_t realtime_usec, const char *stream, const char *line,
                          size_t len);

/* As logfile_write(), for every line of text[0..len): each ends at a '\n' or at the end
 * of text (a last line without one is complete too; text ending in '\n' has no empty line
 * after it).  All records get the same time, which is the point: the lines of one read()
 * of a pipe arrived at one instant, so the "TIME STREAM: " prefix is formatted once, and
 * the records are built straight into the batch (below; outside a batch, the call makes
 * one of its own).  Returns as logfile_write() does, for all the lines together: a drop
 * wins over a failed rotation. */
int logfile_write_lines(struct logfile *lf, uint64_t realtime_usec, const char *stream, const char *text,
                        size_t len);

/* Between begin and end, records are gathered and written together (one write() per
 * batch of up to 256 KiB, for a service that writes many short lines); a rotation or a
 * full batch writes what was gathered first, so the order and the rotation boundaries
 * stay exact.  end writes the rest and returns its error, if any.  The batch buffer is
 * one for all log files (the daemon has one thread), allocated at the first batch: while
 * one file batches, another that begins a batch writes each record with a write() of its
 * own, which is correct, only slower. */
void logfile_begin(struct logfile *lf);
int logfile_end(struct logfile *lf);

/* Each record that does not reach the file whole (dropped: disk full, EFBIG...) is passed
 * to hook, as it would have been written, without its newline, so that the caller can put
 * it somewhere else (the daemon copies them to its own log).  The notice of a gap is not a
 * record of the service's and is never passed.  NULL: none. */
typedef void (*logfile_drop_hook_t)(void *data, const char *record, size_t len);
void logfile_set_drop_hook(struct logfile *lf, logfile_drop_hook_t hook, void *data);

/* Bytes of records that could not be written since logfile_open(). */
uint64_t logfile_dropped(const struct logfile *lf);
/* DIR/NAME.log, as given to logfile_open(). */
const char *logfile_path(const struct logfile *lf);
/* What a re-exec of the daemon carries over (serialize.c): the descriptor stays open
 * across the exec, the counters keep the gap notice and `log_dropped_bytes` exact. */
struct logfile_saved {
        int fd;
        const char *path;
        uint64_t max_bytes;
        unsigned keep;
        uint64_t size, rotate_at, dropped, unreported;
        int drop_errno;
        bool mid_line, reopen;
};
void logfile_save(const struct logfile *lf, struct logfile_saved *ret);
/* A log file again from what logfile_save() said: takes saved->fd (also on error), copies
 * the path.  No batch may be open. */
int logfile_restore(const struct logfile_saved *saved, struct logfile **ret);

/* Closes the file and frees lf; NULL is fine. */
void logfile_close(struct logfile *lf);
