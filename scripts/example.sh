#!/usr/bin/env bash
# Quick start (1): installs what is missing, builds pidvisor, and runs its main job on the
# bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
if [ ! -f build/gcc/build.ninja ]; then
  CC=gcc meson setup build/gcc -Dwerror=true >/dev/null
fi
ninja -C build/gcc src/cli/pidvisor >/dev/null
set +e
build/gcc/src/cli/pidvisor run --cwd /tmp --env GREETING=hello --user nobody \
  --rlimit NOFILE=256:512 -- "$PWD/examples/hello.sh"
echo "pidvisor run exited with $? (the example's own status)"
