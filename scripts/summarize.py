#!/usr/bin/env python3
"""Adds up the test cases that ran in each build directory's meson test log.

Each Check suite prints `PVTEST suite=NAME passed=N failed=N skipped=N`.  A meson test
that failed (crash, timeout, sanitizer report) counts as at least one failure even if
its own line said otherwise; a test without such a line counts as one case.  Prints the
failures by name, then one last line `N passed, N failed, N skipped`, and exits 1 if
anything failed."""
import json
import os
import re
import sys

LINE = re.compile(r"^PVTEST suite=(\S+) passed=(\d+) failed=(\d+) skipped=(\d+)$", re.M)


def main(argv):
    dirs, failed_builds = [], 0
    it = iter(argv)
    for a in it:
        if a == "--failed-builds":
            failed_builds = int(next(it))
        else:
            dirs.append(a)
    passed = failed = skipped = 0
    failures = []
    for d in dirs:
        log = os.path.join(d, "meson-logs", "testlog.json")
        if not os.path.exists(log):
            continue
        with open(log) as f:
            for raw in f:
                t = json.loads(raw)
                out = (t.get("stdout") or "") + (t.get("stderr") or "")
                ok = t["result"] in ("OK", "EXPECTEDFAIL")
                lines = LINE.findall(out)
                p = sum(int(x[1]) for x in lines)
                fl = sum(int(x[2]) for x in lines)
                s = sum(int(x[3]) for x in lines)
                for m in re.findall(r"^(SKIP|FAIL) (\S+): (.*)$", out, re.M):
                    if m[0] == "SKIP":
                        print(f"skipped in {d}: {m[1]}: {m[2]}")
                if t["result"] == "SKIP":
                    s += 1
                elif not lines:
                    p, fl = (1, 0) if ok else (0, 1)
                elif not ok and fl == 0:
                    fl = 1  # it died after printing, or a sanitizer failed its exit
                if fl:
                    failures.append(f"{d}: {t['name']} ({t['result']})")
                passed += p
                failed += fl
                skipped += s
    for f in failures:
        print("FAILED:", f)
    if failed_builds:
        print(f"FAILED: {failed_builds} build(s) did not complete")
    failed += failed_builds
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
