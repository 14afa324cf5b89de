/* SPDX-License-Identifier: MIT */
#pragma once

/* Internal to the unit parser: the generic ini reader (systemd.syntax(7)), the word
 * splitter shared by ExecStart= and Environment=, and the diagnostics list. */

#include <stdbool.h>
#include <stddef.h>

#include "timeutil.h"
#include "unit.h"

/* Appends one diagnostic (the text is formatted); 0 or -ENOMEM. */
int diagnostics_add(struct diagnostics *d, bool error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Moves every item of `from` to the end of `to` (or drops them when `to` is NULL) and
 * leaves `from` empty; 0 or -ENOMEM (then `from` keeps what was not moved). */
int diagnostics_move(struct diagnostics *to, struct diagnostics *from);

/* A value as it may be quoted in a message: control characters escaped (\n, \t, \xNN)
 * and cut to 200 bytes with "..." appended.  NULL on ENOMEM. */
char *conf_quote(const char *value);

/* Reads an ini text.  `sections` lists the known section names (NULL-terminated): a
 * section not in it whose name starts with "X-" is skipped silently, any other gets a
 * warning and is skipped too.  For each `Key=Value` in a known section, `assign` is
 * called with the key and value trimmed of white space; `line` is where the logical line
 * (continuations joined) starts.  `assign` returns 0, or a negative errno that stops the
 * reading (meant for -ENOMEM only: problems with values are reported in `diag`).
 * Syntax errors (a key before any section, a line without '=', a bad section header, a
 * NUL byte) are reported in `diag` as errors naming path:line.  Returns 0 or -ENOMEM. */
typedef int (*conf_assign_fn)(void *userdata, unsigned line, const char *section,
                              const char *key, const char *value);
int conf_parse(const char *path, const char *text, size_t len, const char *const *sections,
               conf_assign_fn assign, void *userdata, struct diagnostics *diag);

/* systemd's extract_first_word(): skips white space, then reads one word honouring
 * single and double quotes (which may start or end anywhere in a word) and backslash
 * escapes.  Flags: */
enum {
        /* C escapes: \a \b \f \n \r \t \v \\ \" \' \s \xNN \NNN \uNNNN \UNNNNNNNN;
         * any other escape is an error.  Without it, a backslash takes the next character
         * as it is. */
        CONF_WORD_CUNESCAPE = 1 << 0,
        /* An unterminated quote or a trailing backslash ends the word instead of being an
         * error. */
        CONF_WORD_RELAX = 1 << 1,
};
/* Returns 1 with *ret set (possibly ""), 0 at the end, -EINVAL with *reason set (a static
 * string) on bad syntax, -ENOMEM. */
int conf_extract_word(const char **p, char **ret, unsigned flags, const char **reason);

/* parse_timespan() with another unit for bare numbers (USEC_PER_SEC for *Sec= keys, 1
 * for LimitRTTIME=). */
int parse_timespan_with_unit(const char *s, usec_t default_unit, usec_t *ret);

/* "NAME=value" strings sorted by name, then by their place (index) in a list: a run of
 * equal names ends with the one that wins. */
struct conf_env_entry {
        const char *s;
        size_t key_len, index;
};
int conf_env_entry_compare(const void *a, const void *b);

/* Environment names: letters, digits and '_', not starting with a digit. */
bool conf_env_name_valid(const char *s, size_t n);
