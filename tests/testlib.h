/* SPDX-License-Identifier: MIT */
#pragma once

/* The project's small layer over Check.
 *
 * - Every suite runs with CK_FORK and a timeout on each case (tcase_set_timeout).
 * - A case that needs a privilege or kernel feature is added with pv_test_add(), giving
 *   the reason it cannot run (NULL when it can): a missing requirement prints
 *   `SKIP suite/case: reason` and counts a skip, or a failure when
 *   PIDVISOR_TEST_MUST_WORK=1 (CI sets it: on our machines nothing may skip).
 * - pv_test_main() prints one machine-readable line that scripts/test.sh adds up,
 *       PVTEST suite=NAME passed=N failed=N skipped=N
 *   and exits 0 only if nothing failed. */

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

Suite *pv_test_suite(const char *name);
/* Adds a case holding the given test functions later added with tcase_add_test(). */
TCase *pv_test_case(const char *name);
/* Adds tc to the suite unless `missing` names a missing requirement. */
void pv_test_add(Suite *s, TCase *tc, const char *missing);

/* NULL if the process is root with CAP_SYS_ADMIN, else the reason it is not. */
const char *pv_test_need_root(void);

int pv_test_main(Suite *s);

/* Path of the fixture program (tests/fixtures/pv-fixture), from $PV_FIXTURE. */
const char *pv_test_fixture(void);
/* path, or a copy of it outside /tmp when it lies under /tmp (children with a private
 * /tmp could not execute it). */
const char *pv_test_visible_program(const char *path);
/* Reads fd to EOF into a NUL-terminated malloc'd buffer; fails the test on error. */
char *pv_test_read_all(int fd);
/* A fresh directory under $TMPDIR (or /tmp); remove it with pv_test_rmtree(). */
char *pv_test_mkdtemp(void);
void pv_test_rmtree(const char *path);
/* A malloc'd formatted string; fails the test on error. */
char *pv_test_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Creates path with the text and mode; fails the test on error. */
void pv_test_write_file(const char *path, const char *text, int mode);
