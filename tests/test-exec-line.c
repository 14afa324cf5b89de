/* SPDX-License-Identifier: MIT */
/* exec_command_parse / exec_command_expand: systemd's ExecStart= command lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/unit.h"
#include "testlib.h"

#define MAX_ARGS 8

static const struct {
        const char *in;
        const char *path;
        const char *argv[MAX_ARGS]; /* NULL-terminated */
        bool ignore_failure, no_env_expand;
} good[] = {
        { "/bin/true", "/bin/true", { "/bin/true" }, false, false },
        { "  /bin/echo a b\t c  ", "/bin/echo", { "/bin/echo", "a", "b", "c" }, false, false },
        { "/bin/echo 'a b' \"c d\"", "/bin/echo", { "/bin/echo", "a b", "c d" }, false, false },
        { "/bin/echo a\"b c\"d", "/bin/echo", { "/bin/echo", "ab cd" }, false, false },
        { "/bin/echo \"\" x", "/bin/echo", { "/bin/echo", "", "x" }, false, false },
        { "/bin/echo ''", "/bin/echo", { "/bin/echo", "" }, false, false },
        { "/bin/echo \"it's\" 'say \"hi\"'", "/bin/echo", { "/bin/echo", "it's", "say \"hi\"" },
          false, false },
        /* C escapes, outside and inside quotes */
        { "/bin/echo \\n\\t\\\\ \\\" \\' \\x41 \\101 a\\sb", "/bin/echo",
          { "/bin/echo", "\n\t\\", "\"", "'", "A", "A", "a b" }, false, false },
        { "/bin/echo \\a\\b\\f\\r\\v", "/bin/echo", { "/bin/echo", "\a\b\f\r\v" }, false, false },
        { "/bin/echo \"a\\\"b\" 'a\\'b' \"\\x41\\n\"", "/bin/echo",
          { "/bin/echo", "a\"b", "a'b", "A\n" }, false, false },
        { "/bin/echo \\u00e9 \\U0001F600 \\xff", "/bin/echo",
          { "/bin/echo", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xff" }, false, false },
        /* prefixes */
        { "-/bin/false", "/bin/false", { "/bin/false" }, true, false },
        { "@/bin/sh mysh -c x", "/bin/sh", { "mysh", "-c", "x" }, false, false },
        { "-@/bin/sh sh", "/bin/sh", { "sh" }, true, false },
        { "@-/bin/sh sh", "/bin/sh", { "sh" }, true, false },
        { ":/bin/echo $X", "/bin/echo", { "/bin/echo", "$X" }, false, true },
        { "-:@/bin/x y", "/bin/x", { "y" }, true, true },
        { "@:-/bin/x y", "/bin/x", { "y" }, true, true },
        { "\"-/bin/false\"", "/bin/false", { "/bin/false" }, true, false },
        /* a plain name, found through $PATH later */
        { "sleep 1", "sleep", { "sleep", "1" }, false, false },
        { "\"/opt/my app/run\" --x", "/opt/my app/run", { "/opt/my app/run", "--x" }, false,
          false },
        /* semicolons */
        { "/usr/bin/find . -exec ls {} \\;", "/usr/bin/find",
          { "/usr/bin/find", ".", "-exec", "ls", "{}", ";" }, false, false },
        { "/bin/echo \";\" ';'", "/bin/echo", { "/bin/echo", ";", ";" }, false, false },
        { "/bin/echo a;", "/bin/echo", { "/bin/echo", "a;" }, false, false },
        /* '%' is left alone here (unit.c expands specifiers) */
        { "/bin/date +%%H", "/bin/date", { "/bin/date", "+%%H" }, false, false },
};

START_TEST(test_parse_good) {
        struct exec_command c = { 0 };
        char *err = NULL;
        size_t n = 0;
        int r = exec_command_parse(good[_i].in, &c, &err);

        ck_assert_msg(r == 0, "\"%s\": %d (%s)", good[_i].in, r, err ? err : "-");
        ck_assert_ptr_null(err);
        ck_assert_str_eq(c.path, good[_i].path);
        while (good[_i].argv[n])
                n++;
        for (size_t i = 0; i < n; i++) {
                ck_assert_ptr_nonnull(c.argv[i]);
                ck_assert_str_eq(c.argv[i], good[_i].argv[i]);
        }
        ck_assert_ptr_null(c.argv[n]);
        ck_assert_int_eq(c.ignore_failure, good[_i].ignore_failure);
        ck_assert_int_eq(c.no_env_expand, good[_i].no_env_expand);
        ck_assert_uint_eq(c.line, 0);
        exec_command_done(&c);
        ck_assert_ptr_null(c.path);
        ck_assert_ptr_null(c.argv);
}
END_TEST

#define ESCAPES                                                                                \
        "invalid backslash escape, expected one of \\a \\b \\f \\n \\r \\t \\v \\\\ \\\" \\' " \
        "\\s \\xNN \\NNN \\uNNNN \\UNNNNNNNN"

static const struct {
        const char *in;
        const char *error;
} bad[] = {
        { "", "empty command, expected a program and its arguments" },
        { "   \t ", "empty command, expected a program and its arguments" },
        { "+/bin/true", "prefix '+' is not supported, only '-', '@' and ':' are" },
        { "!/bin/true", "prefix '!' is not supported, only '-', '@' and ':' are" },
        { "!!/bin/true", "prefix '!!' is not supported, only '-', '@' and ':' are" },
        { "|/bin/true", "prefix '|' is not supported, only '-', '@' and ':' are" },
        { "-+/bin/true", "prefix '+' is not supported, only '-', '@' and ':' are" },
        { "@-!/bin/true x", "prefix '!' is not supported, only '-', '@' and ':' are" },
        { "-", "no program after the prefixes" },
        { "-@:", "no program after the prefixes" },
        { "\"\" x", "no program after the prefixes" },
        { "@/bin/sh", "'@' needs argv[0] after the program" },
        { "/bin/echo a ; /bin/echo b",
          "a lone ';' is not supported, give one command per line (\\; is a literal ';' "
          "argument)" },
        { "/bin/echo a ;",
          "a lone ';' is not supported, give one command per line (\\; is a literal ';' "
          "argument)" },
        { "; /bin/true",
          "a lone ';' is not supported, give one command per line (\\; is a literal ';' "
          "argument)" },
        { "bin/foo", "the program \"bin/foo\" is neither an absolute path nor a plain file name" },
        { "--/bin/true",
          "the program \"-/bin/true\" is neither an absolute path nor a plain file name" },
        { ".", "the program \".\" is neither an absolute path nor a plain file name" },
        { "..", "the program \"..\" is neither an absolute path nor a plain file name" },
        { "/usr/bin/", "the program \"/usr/bin/\" ends with '/', expected a file" },
        { "/bin/echo 'abc", "unterminated quote" },
        { "/bin/echo \"abc", "unterminated quote" },
        { "/bin/echo abc\\", "trailing backslash" },
        { "/bin/echo \"abc\\", "trailing backslash" },
        { "/bin/echo \\q", ESCAPES },
        { "/bin/echo \\;x", ESCAPES },
        { "/bin/echo \\$HOME", ESCAPES },
        { "/bin/echo \\x00", ESCAPES },
        { "/bin/echo \\xZZ", ESCAPES },
        { "/bin/echo \\x4", ESCAPES },
        { "/bin/echo \\000", ESCAPES },
        { "/bin/echo \\400", ESCAPES },
        { "/bin/echo \\12", ESCAPES },
        { "/bin/echo \\u0000", ESCAPES },
        { "/bin/echo \\ud800", ESCAPES },
        { "/bin/echo \\U00110000", ESCAPES },
        { "/bin/echo \\u12", ESCAPES },
};

START_TEST(test_parse_bad) {
        struct exec_command c = { .line = 77 };
        char *err = NULL;
        int r = exec_command_parse(bad[_i].in, &c, &err);

        ck_assert_msg(r == -EINVAL, "\"%s\": %d", bad[_i].in, r);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, bad[_i].error);
        ck_assert_uint_eq(c.line, 77); /* untouched */
        ck_assert_ptr_null(c.path);
        free(err);
}
END_TEST

START_TEST(test_parse_error_text_optional) {
        struct exec_command c = { 0 };

        ck_assert_int_eq(exec_command_parse("+/bin/true", &c, NULL), -EINVAL);
        ck_assert_int_eq(exec_command_parse(NULL, &c, NULL), -EINVAL);
        exec_command_done(NULL);
}
END_TEST

/* ---- expansion ---- */

static char *env[] = {
        "A=1", "B=x y  z", "C=", "Q=a 'b c' d", "S=  lead trail  ", "D=$A", "A=2", NULL,
};

static const struct {
        const char *line;
        const char *argv[MAX_ARGS];
} expansions[] = {
        { "/bin/e ${A}", { "/bin/e", "2" } }, /* the last A= wins */
        { "/bin/e pre${A}post", { "/bin/e", "pre2post" } },
        { "/bin/e ${A}${A}", { "/bin/e", "22" } },
        { "/bin/e ${B}", { "/bin/e", "x y  z" } },
        { "/bin/e $B", { "/bin/e", "x", "y", "z" } },
        { "/bin/e $Q", { "/bin/e", "a", "b c", "d" } },
        { "/bin/e $S end", { "/bin/e", "lead", "trail", "end" } },
        { "/bin/e $C end", { "/bin/e", "end" } },
        { "/bin/e $UNSET end", { "/bin/e", "end" } },
        { "/bin/e ${UNSET} end", { "/bin/e", "", "end" } },
        { "/bin/e ${C}", { "/bin/e", "" } },
        { "/bin/e $D", { "/bin/e", "$A" } }, /* values are not expanded again */
        { "/bin/e $$", { "/bin/e", "$" } },
        { "/bin/e $$A", { "/bin/e", "$A" } },
        { "/bin/e a$$b", { "/bin/e", "a$b" } },
        { "/bin/e $${A}", { "/bin/e", "${A}" } },
        { "/bin/e $A-x", { "/bin/e", "$A-x" } },
        { "/bin/e x$A", { "/bin/e", "x$A" } },
        { "/bin/e $", { "/bin/e", "$" } },
        { "/bin/e a$", { "/bin/e", "a$" } },
        { "/bin/e ${A:-d}", { "/bin/e", "${A:-d}" } },
        { "/bin/e ${A:-d}${A}", { "/bin/e", "${A:-d}2" } },
        { "/bin/e ${A", { "/bin/e", "${A" } },
        { "/bin/e '${A} $B'", { "/bin/e", "2 $B" } },
        { "/bin/e \"$B\"", { "/bin/e", "x", "y", "z" } }, /* quotes are gone by now */
        { "@/bin/sh ${A} $B", { "2", "x", "y", "z" } },
        { ":/bin/e ${A} $B $$", { "/bin/e", "${A}", "$B", "$$" } },
};

START_TEST(test_expand) {
        struct exec_command c = { 0 };
        char **out = NULL;
        size_t n = 0;

        ck_assert_int_eq(exec_command_parse(expansions[_i].line, &c, NULL), 0);
        ck_assert_int_eq(exec_command_expand(&c, env, &out), 0);
        while (expansions[_i].argv[n])
                n++;
        for (size_t i = 0; i < n; i++) {
                ck_assert_msg(out[i] != NULL, "%s: only %zu words", expansions[_i].line, i);
                ck_assert_str_eq(out[i], expansions[_i].argv[i]);
        }
        ck_assert_msg(out[n] == NULL, "%s: extra word \"%s\"", expansions[_i].line, out[n]);
        for (size_t i = 0; out[i]; i++)
                free(out[i]);
        free(out);
        /* the command itself is unchanged */
        ck_assert_int_eq(strchr(expansions[_i].line, '@') ? 0 : strcmp(c.argv[0], "/bin/e"), 0);
        exec_command_done(&c);
}
END_TEST

START_TEST(test_expand_no_env) {
        struct exec_command c = { 0 };
        char **out = NULL;

        ck_assert_int_eq(exec_command_parse("/bin/e ${A} $A x", &c, NULL), 0);
        ck_assert_int_eq(exec_command_expand(&c, NULL, &out), 0);
        ck_assert_str_eq(out[0], "/bin/e");
        ck_assert_str_eq(out[1], "");
        ck_assert_str_eq(out[2], "x");
        ck_assert_ptr_null(out[3]);
        for (size_t i = 0; out[i]; i++)
                free(out[i]);
        free(out);
        exec_command_done(&c);
}
END_TEST

START_TEST(test_expand_to_nothing) {
        struct exec_command c = { 0 };
        char *e[] = { "ARGS=", NULL };
        char **out = NULL;

        ck_assert_int_eq(exec_command_parse("@/bin/e $ARGS", &c, NULL), 0);
        ck_assert_int_eq(exec_command_expand(&c, e, &out), 0);
        ck_assert_ptr_nonnull(out);
        ck_assert_ptr_null(out[0]);
        free(out);
        exec_command_done(&c);
}
END_TEST

int main(void) {
        Suite *s = pv_test_suite("exec-line");
        TCase *tc = pv_test_case("parse");

        tcase_add_loop_test(tc, test_parse_good, 0, (int)(sizeof(good) / sizeof(good[0])));
        tcase_add_loop_test(tc, test_parse_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
        tcase_add_test(tc, test_parse_error_text_optional);
        pv_test_add(s, tc, NULL);

        tc = pv_test_case("expand");
        tcase_add_loop_test(tc, test_expand, 0,
                            (int)(sizeof(expansions) / sizeof(expansions[0])));
        tcase_add_test(tc, test_expand_no_env);
        tcase_add_test(tc, test_expand_to_nothing);
        pv_test_add(s, tc, NULL);
        return pv_test_main(s);
}
