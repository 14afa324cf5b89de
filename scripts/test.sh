#!/usr/bin/env bash
# Installs what is missing, builds pidvisor twice and runs every test suite in both:
#   build/gcc   gcc, warnings as errors
#   build/asan  clang, warnings as errors, AddressSanitizer + UndefinedBehaviorSanitizer
#               (leak detection on)
# and ends with one line "N passed, N failed, N skipped", counted from the cases that
# actually ran (each Check suite prints a PVTEST line; a suite that crashed or timed out
# without one counts as one failure).
# In CI (CI=true) a test that would skip for a missing privilege or feature fails instead.
set -uo pipefail
cd "$(dirname "$0")/.."

# The tests' real peers: systemd-notify and systemd-socket-activate (readiness and
# socket activation are compared with systemd's own tools), nginx (hot restart of an
# unmodified server).
scripts/deps.sh systemd nginx-light || exit 1
[ "${CI:-}" = true ] && export PIDVISOR_TEST_MUST_WORK=1

setup() { # dir, compiler, extra meson args...
  local dir=$1 compiler=$2
  shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    CC=$compiler meson setup "$dir" -Dwerror=true -Dtests=enabled "$@" >"$dir.setup.log" 2>&1 ||
      { cat "$dir.setup.log"; return 1; }
  fi
  ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -n 60 "$dir.build.log"; return 1; }
}

run_suites() { # dir, label
  echo "== $2: meson test -C $1"
  meson test -C "$1" --print-errorlogs --num-processes 2 --no-rebuild \
    --timeout-multiplier "${TIMEOUT_MULTIPLIER:-1}"
}

mkdir -p build
failed_builds=0
setup build/gcc gcc || failed_builds=$((failed_builds + 1))
setup build/asan clang -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=debug || failed_builds=$((failed_builds + 1))

[ -f build/gcc/build.ninja ] && run_suites build/gcc "gcc, -Werror"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
[ -f build/asan/build.ninja ] && TIMEOUT_MULTIPLIER=3 run_suites build/asan "clang asan+ubsan"
unset ASAN_OPTIONS UBSAN_OPTIONS

python3 scripts/summarize.py build/gcc build/asan --failed-builds "$failed_builds"
