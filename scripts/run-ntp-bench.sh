#!/usr/bin/env bash
# NTP server benchmark: client requests answered per second by ntpagent and by
# chronyd -x, measured by the same load generator (cmd/ntpload) in the same
# run on loopback, alternating rounds (medians reported); then the RSS of
# ntpagent with 128 configured peers. Prints "key value" lines.
#
# Usage: scripts/run-ntp-bench.sh [ROUNDS] [SECONDS]
# Needs: go, chronyd (Debian chrony). Never touches the host clock
# (chronyd -x, ntpagent's virtual clock); traffic stays on 127.0.0.1.
set -euo pipefail
rounds=${1:-5}
secs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ntpagent-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
go build -trimpath -o "$work/ntpagent" ./cmd/ntpagent
go build -trimpath -o "$work/ntpload" ./cmd/ntpload

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
agent_port=$(free_port)
chrony_port=$(free_port)

# ntpagent serving its own clock, without rate limiting (chronyd has none
# unless configured).
"$work/ntpagent" --state-dir "$work/agent" --netconf-listen 127.0.0.1:0 --cli-listen 127.0.0.1:0 \
  --ntp-listen "127.0.0.1:$agent_port" --local-stratum 5 --no-rate-limit --log-level error \
  >"$work/agent.out" 2>&1 &
pids+=($!)

# chronyd -x (never the host clock), a local reference on its own port.
mkdir -m 0700 "$work/chrony"
cat >"$work/chrony/chronyd.conf" <<EOF
port $chrony_port
bindaddress 127.0.0.1
cmdport 0
pidfile $work/chrony/chronyd.pid
allow 127.0.0.1
local stratum 5
EOF
if id _chrony >/dev/null 2>&1; then chown -R _chrony:_chrony "$work/chrony"; fi
chronyd -d -x -f "$work/chrony/chronyd.conf" >"$work/chrony.out" 2>&1 &
pids+=($!)
sleep 2

# measure PORT PID: replies/s from the load generator, and the server's CPU
# time per reply in µs (utime+stime of PID over the run): the second figure
# hardly depends on how busy the shared machine is.
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
measure() {
  local t0 t1 out
  t0=$(ticks "$2")
  out=$("$work/ntpload" -target "127.0.0.1:$1" -duration "${secs}s")
  t1=$(ticks "$2")
  awk -v out="$out" -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN {
    match(out, /replies_per_s=[0-9]+/); rps = substr(out, RSTART + 14, RLENGTH - 14)
    match(out, /replies=[0-9]+/); n = substr(out, RSTART + 8, RLENGTH - 8)
    printf "%d %.2f\n", rps, (n > 0 ? 1e6 * d / hz / n : 0) }'
}
# The machine is shared and noisy: report medians over the rounds, and the
# median of the per-round ratios (each round measures both servers back to
# back, in alternating order, so a change of load hits both alike).
agent_all=()
chrony_all=()
ratio_all=()
agent_cpu=()
chrony_cpu=()
for ((i = 1; i <= rounds; i++)); do
  if ((i % 2)); then
    read -r a acpu < <(measure "$agent_port" "${pids[0]}")
    read -r c ccpu < <(measure "$chrony_port" "${pids[1]}")
  else
    read -r c ccpu < <(measure "$chrony_port" "${pids[1]}")
    read -r a acpu < <(measure "$agent_port" "${pids[0]}")
  fi
  echo "round $i ntpagent_replies_per_s $a chronyd_replies_per_s $c ntpagent_cpu_us_per_reply $acpu chronyd_cpu_us_per_reply $ccpu"
  agent_all+=("$a")
  chrony_all+=("$c")
  agent_cpu+=("$acpu")
  chrony_cpu+=("$ccpu")
  ratio_all+=("$(awk -v a="$a" -v c="$c" 'BEGIN { if (c > 0) printf "%.3f", a / c; else print 0 }')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "ntpagent_replies_per_s $(median "${agent_all[@]}")"
echo "chronyd_replies_per_s $(median "${chrony_all[@]}")"
printf 'ratio_ntpagent_to_chronyd %.2f\n' "$(median "${ratio_all[@]}")"
echo "ntpagent_cpu_us_per_reply $(median "${agent_cpu[@]}")"
echo "chronyd_cpu_us_per_reply $(median "${chrony_cpu[@]}")"

echo "ntpagent_rss_kib_idle_after_load $(awk '/^VmRSS/ {print $2}' /proc/${pids[0]}/status)"

# RSS with 128 configured peers: a state folder whose running.json (RFC
# 7951 JSON, read at the first start) holds them; the peers are loopback
# addresses where nothing answers.
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
mkdir -p "$work/agent128/datastore"
python3 - "$work/agent128/datastore/running.json" <<'EOF'
import json, sys
peers = [{"address": "127.0.%d.%d" % (2 + i // 200, 1 + i % 200), "vpn-instance": "_public_",
          "port": 20000 + i, "minpoll": 6, "maxpoll": 10} for i in range(128)]
json.dump({"ntpagent-ntp:ntp": {"unicast-peer": peers}}, open(sys.argv[1], "w"), indent=1)
EOF
"$work/ntpagent" --state-dir "$work/agent128" --netconf-listen 127.0.0.1:0 --cli-listen 127.0.0.1:0 \
  --ntp-listen "127.0.0.1:$(free_port)" --log-level info >"$work/agent128.out" 2>&1 &
pids[0]=$!
sleep 5
if ! grep -q 'running=128' "$work/agent128.out"; then
  echo "ntpagent did not start the 128 peers:" >&2
  cat "$work/agent128.out" >&2
  exit 1
fi
echo "ntpagent_rss_kib_128_peers $(awk '/^VmRSS/ {print $2}' /proc/${pids[0]}/status)"
