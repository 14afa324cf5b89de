#!/bin/sh
# A tiny program for `pidvisor run`: shows what the child got, then exits with a status
# of its own so that pidvisor's exit code can be seen passing through.
echo "hello from pid $$ as $(id -un), in $(pwd), GREETING=${GREETING:-unset}"
echo "open file limit: soft $(ulimit -Sn), hard $(ulimit -Hn)"
exit 3
