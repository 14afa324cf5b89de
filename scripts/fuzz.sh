#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time (FUZZ_SECONDS, default 60) on its corpus
# in fuzz/corpus/NAME; new inputs that raise coverage are added to the corpus, so commit
# them when they are worth keeping.  Crashes are left as crash-* files in build/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
if [ ! -f build/fuzz/build.ninja ]; then
  CC=clang meson setup build/fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C build/fuzz >/dev/null
seconds=${FUZZ_SECONDS:-60}
# libseccomp 2.5.4 leaks in a case the policy targets reach (tests/lsan.supp).
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
status=0
for target in unit control policy seccomp-json state; do
  echo "== fuzz-$target for ${seconds}s"
  (cd build/fuzz && ./fuzz/fuzz-$target -max_total_time="$seconds" -max_len=65536 \
     -timeout=10 ../../fuzz/corpus/$target) 2>&1 | tail -n 5 || status=1
done
exit $status
