#!/usr/bin/env bash
# Quick start (1): installs what is missing, builds pidvisor, and runs its main job on the
# bundled example: the daemon supervising examples/units (a steady clock, a service that
# crashes every few seconds and is restarted with backoff, and a small confined web
# server).  It shows `pidvisor status` a few times, the crash history of the flaky
# service, a hot restart of the web server while a client keeps requesting, then stops
# the daemon, which stops every service.  Set EXAMPLE_SECONDS to watch longer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
if [ ! -f build/gcc/build.ninja ]; then
  CC=gcc meson setup build/gcc -Dwerror=true >/dev/null
fi
ninja -C build/gcc src/cli/pidvisor >/dev/null
pidvisor=$PWD/build/gcc/src/cli/pidvisor

state=$(mktemp -d /tmp/pidvisor-example.XXXXXX)
export PIDVISOR_SOCKET=$state/pidvisor.sock
export PIDVISOR_POLICY_DIR=$PWD/policy   # the shipped seccomp policies, from the source tree
"$pidvisor" daemon --units "$PWD/examples/units" --state-dir "$state" 2>"$state/daemon.log" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$state"' EXIT

for _ in $(seq 50); do [ -S "$PIDVISOR_SOCKET" ] && break; sleep 0.1; done
seconds=${EXAMPLE_SECONDS:-12}
for ((t = 0; t < seconds; t += 4)); do
  echo "== pidvisor status (after ${t}s)"
  "$pidvisor" status
  sleep 4
done
echo "== pidvisor status flaky"
"$pidvisor" status flaky
echo "== pidvisor logs clock -n 3"
"$pidvisor" logs clock -n 3
echo "== pidvisor upgrade web, while a client requests http://127.0.0.1:8080/ in a loop"
python3 - <<'PY' &
import time, urllib.request
ok = failed = 0
end = time.time() + 3
while time.time() < end:
    try:
        urllib.request.urlopen("http://127.0.0.1:8080/", timeout=5).read()
        ok += 1
    except Exception as e:
        failed += 1
print(f"client: {ok} requests answered, {failed} failed")
PY
client=$!
sleep 0.5
"$pidvisor" upgrade web
wait $client
echo "== pidvisor stop web; pidvisor status web"
"$pidvisor" stop web
"$pidvisor" status web | head -n 3
echo "== the daemon's log"
cat "$state/daemon.log"
