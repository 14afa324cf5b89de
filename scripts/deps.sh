#!/usr/bin/env bash
# Installs what building and testing pidvisor needs on Debian 12, and nothing when it is
# all there already (no apt-get update either: CI and offline reruns stay fast).
set -euo pipefail

packages=(
  gcc clang libclang-rt-14-dev pkg-config meson ninja-build python3
  libseccomp-dev libcap-dev liburing-dev check libsubunit-dev libjansson-dev
)
# Extra packages a caller needs (e.g. the test script's real peers).
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
