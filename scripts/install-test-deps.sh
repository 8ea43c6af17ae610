#!/usr/bin/env bash
# Installs the Debian programs the tests drive (real peers and checkers),
# only those that are missing; runs `apt-get update` at most once. Idempotent.
# Usage: scripts/install-test-deps.sh [--bench]   (--bench adds netconfd + sshd)
set -euo pipefail

# command -> Debian package
declare -A need=(
  [yanglint]=libyang2-tools
  [chronyd]=chrony
  [chronyc]=chrony
  [tshark]=tshark
  [ip]=iproute2
  [ssh]=openssh-client
  [tmux]=tmux
  [ansible-playbook]=ansible
  [yangcli]=yangcli
  [openssl]=openssl
)
if [[ "${1:-}" == "--bench" ]]; then
  need[netconfd]=netconfd
  need[/usr/sbin/sshd]=openssh-server
fi

missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# python3 with ncclient (Debian's python3-ncclient installs for /usr/bin/python3).
if ! /usr/bin/python3 -c 'import ncclient' >/dev/null 2>&1; then
  missing+=(python3-ncclient)
fi
if ((${#missing[@]} == 0)); then
  exit 0
fi
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "install-test-deps: installing ${pkgs[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "install-test-deps: not root; install these packages: ${pkgs[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
# No package may start a service while we install: Debian's chrony would
# start a chronyd that steers the host clock, and no test may ever change the
# host clock (the tests run their own `chronyd -x`). policy-rc.d exit code
# 101 is Debian's "action forbidden" (invoke-rc.d(8)); ours is removed after.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# installed by ntpagent scripts/install-test-deps.sh while it installs packages\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if ((own_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
# Belt and braces: stop a system chronyd if one runs anyway (systemd starts
# units without invoke-rc.d on some images).
if command -v systemctl >/dev/null 2>&1; then systemctl stop chrony >/dev/null 2>&1 || true; fi
for pid in $(pgrep -x chronyd || true); do
  # Only a chronyd that may steer the clock (no -x) is stopped.
  if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- ' -x'; then
    kill "$pid" 2>/dev/null || true
  fi
done
