#!/usr/bin/env bash
# `make bench`: times ntpagent against real peers in one run, on loopback only.
#
#   NETCONF: yuma123 netconfd (behind an sshd of its own, loaded with
#            yang/ntpagent-ntp.yang) and bin/ntpagent, by the same Go client
#            (cmd/ntpagent-bench netconf); and the agent alone through each
#            of its views (get-config and edit+commit, 1,000 peers, against
#            the same through ntpagent-ntp).
#   NTP:     chronyd -x (server mode; never touches the host clock) and
#            bin/ntpagent's --ntp-listen, by the same load generator
#            (cmd/ntpagent-bench ntp).
#   Real path: the agent's and chronyd's true clock error through network
#            namespaces and userspace delay lines (1 ms each way, jitter 0,
#            100 µs and 1 ms, all three at once), beside a reference chronyd -x
#            serving the host clock (cmd/ntpagent-bench realpath,
#            internal/wirelab); with the simulator's prediction for that path.
#   Go:      the repository's micro-benchmarks (go test -bench).
#
# Prints one markdown table and writes it to bench-results/latest.md (raw
# results: bench-results/latest.jsonl). Everything started here is stopped
# and removed on exit.
#
# Knobs (environment): BENCH_DURATION (rate loops, default 5s),
# BENCH_GO_BENCHTIME (default 300ms; "0" skips the Go micro-benchmarks),
# BENCH_CONNECT_RUNS (20), BENCH_GET_RUNS (200), BENCH_EDIT_RUNS (60),
# BENCH_REALPATH_DURATION (each real-path lab, default 300s; "0" skips it),
# BENCH_REALPATH_RUNS (real-path runs in a row, medians reported; default 1),
# BENCH_STARTS (timed daemon starts of the footprint step, default 10; "0"
# skips the step),
# BENCH_USER (system user for netconfd's sshd, default ntpbench),
# BENCH_AGENT (daemon binary, default bin/ntpagent).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${BENCH_DURATION:-5s}
GO_BENCHTIME=${BENCH_GO_BENCHTIME:-300ms}
CONNECT_RUNS=${BENCH_CONNECT_RUNS:-20}
GET_RUNS=${BENCH_GET_RUNS:-200}
EDIT_RUNS=${BENCH_EDIT_RUNS:-60}
REALPATH_DURATION=${BENCH_REALPATH_DURATION:-300s}
REALPATH_RUNS=${BENCH_REALPATH_RUNS:-1}
STARTS=${BENCH_STARTS:-10}
NC_USER=${BENCH_USER:-ntpbench}
AGENT=${BENCH_AGENT:-$ROOT/bin/ntpagent}
OUT_DIR=$ROOT/bench-results

log() { printf 'bench: %s\n' "$*" >&2; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d /tmp/ntpagent-bench.XXXXXX)
# netconf-subsystem runs as $NC_USER and must reach netconfd's socket here.
chmod 0755 "$WORK"
declare -a PIDS=()
declare -a MISSING=()
declare -a NOTES=()

cleanup() {
  local rc=$?
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  # Bounded wait (5 s), then SIGKILL whatever of ours is left.
  local i
  for i in $(seq 1 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  if ((rc != 0)) && [[ -d $WORK ]]; then
    for f in "$WORK"/*.log "$WORK"/*.out; do
      [[ -s $f ]] || continue
      log "--- $(basename "$f") (last lines)"
      tail -n 15 "$f" >&2 || true
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BENCH=$WORK/ntpagent-bench
go build -trimpath -o "$BENCH" ./cmd/ntpagent-bench
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

read -r P_NCSSH P_AGENT_NC P_AGENT_CLI P_AGENT_NTP P_CHRONY < <("$BENCH" freeport -n 5)

# One client key for both NETCONF servers, so both do the same public-key
# authentication.
ssh-keygen -q -t ed25519 -N '' -C ntpagent-bench -f "$WORK/client_key"

# wait_file FILE: bounded wait (20 s) until FILE exists.
wait_file() {
  local i
  for i in $(seq 1 200); do
    [[ -e $1 ]] && return 0
    sleep 0.1
  done
  return 1
}

# alive PID: the process still runs.
alive() { kill -0 "$1" 2>/dev/null; }

################################################################ netconfd
NETCONFD_PID=
start_netconfd() {
  if [[ $(id -u) -ne 0 ]]; then
    MISSING+=("netconfd=needs root for its sshd user")
    return 1
  fi
  local need
  for need in netconfd /usr/sbin/netconf-subsystem /usr/sbin/sshd ssh-keygen; do
    if ! command -v "$need" >/dev/null 2>&1; then
      MISSING+=("netconfd=$need not installed")
      return 1
    fi
  done
  # A dedicated system user that can log in by key only ('*': no password,
  # not locked) with a shell for sshd to run the subsystem with.
  if ! id -u "$NC_USER" >/dev/null 2>&1 &&
    ! useradd --system --no-create-home --home-dir /nonexistent --shell /bin/sh "$NC_USER"; then
    MISSING+=("netconfd=cannot create user $NC_USER")
    return 1
  fi
  usermod -p '*' -s /bin/sh "$NC_USER" || return 1
  install -d -m 0755 /run/sshd || return 1 # sshd's privilege separation directory

  # (Called in an && list, where set -e does not apply: check each step.)
  if ! ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh_host_ed25519_key" ||
    ! install -m 0644 "$WORK/client_key.pub" "$WORK/authorized_keys" ||
    ! sed -e "s|@PORT@|$P_NCSSH|g" -e "s|@WORK@|$WORK|g" -e "s|@USER@|$NC_USER|g" \
      testdata/bench/sshd_config.in >"$WORK/sshd_config" ||
    ! /usr/sbin/sshd -t -f "$WORK/sshd_config"; then
    MISSING+=("netconfd=sshd configuration failed")
    return 1
  fi

  mkdir -p "$WORK/netconfd-home"
  local module
  module=$(realpath "${BENCH_NETCONFD_MODULE:-$ROOT/yang/ntpagent-ntp.yang}") || return 1
  # --no-startup: start with an empty running; the module has no SIL code,
  # netconfd stores its data generically. --indent=0: replies without the
  # pretty-printing whitespace, as ntpagent sends them (same payload).
  # Its working directory is its home in $WORK: netconfd writes backup-cfg.xml (the
  # configuration to return to) into its current directory at each commit,
  # which must not be the repository.
  (cd "$WORK/netconfd-home" && HOME=$WORK/netconfd-home exec netconfd \
    --module="$module" \
    --superuser="$NC_USER" --target=candidate --port="$P_NCSSH" --no-startup --indent=0 \
    --ncxserver-sockname="$WORK/ncx.sock" \
    --log="$WORK/netconfd.log" --log-level=warn ${BENCH_NETCONFD_ARGS:-} </dev/null >"$WORK/netconfd.out" 2>&1) &
  NETCONFD_PID=$!
  PIDS+=("$NETCONFD_PID")
  if ! wait_file "$WORK/ncx.sock" || ! alive "$NETCONFD_PID"; then
    MISSING+=("netconfd=did not start, see its log")
    tail -n 20 "$WORK/netconfd.log" "$WORK/netconfd.out" >&2 || true
    return 1
  fi
  /usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>"$WORK/sshd.log" &
  PIDS+=("$!")
  if ! "$BENCH" waitport "127.0.0.1:$P_NCSSH"; then
    MISSING+=("netconfd=its sshd did not start")
    return 1
  fi
  log "netconfd $NETCONFD_PID behind sshd on 127.0.0.1:$P_NCSSH"
}

################################################################ ntpagent
AGENT_PID=
start_agent() {
  if [[ ! -x $AGENT ]]; then
    MISSING+=("ntpagent=$AGENT not built")
    return 1
  fi
  local state=$WORK/agent
  # (Called in an && list, where set -e does not apply: steps are checked.)
  # The daemon keeps the SSH server's files (host key, users.json) in
  # STATE/ssh. The first admin gets the bench's key, as netconfd's user, so
  # that both servers do the same public-key authentication.
  if ! install -d -m 0700 "$state" "$state/ssh" ||
    ! printf '{"users":[{"name":"admin","role":"admin","authorized-keys":["%s"]}]}\n' \
      "$(tr -d '\n' <"$WORK/client_key.pub")" >"$state/ssh/users.json" ||
    ! chmod 0600 "$state/ssh/users.json"; then
    MISSING+=("ntpagent=could not prepare its state folder")
    return 1
  fi
  # Like chronyd's `local stratum 1`: serve time while unsynchronized.
  local extra=() help
  help=$("$AGENT" --help 2>&1 || true)
  if grep -q -- '-local-stratum' <<<"$help"; then extra+=(--local-stratum 1); fi
  # chronyd answers every request (no `ratelimit` line); the agent's server
  # rate-limits each source by default, and all the load comes from
  # 127.0.0.1. Turn the limit off when the daemon offers the flag.
  if grep -q -- '-no-rate-limit' <<<"$help"; then
    extra+=(--no-rate-limit)
  else
    log "ntpagent has no --no-rate-limit flag: its NTP rate is that of its per-source rate limiter"
  fi
  NTPAGENT_ADMIN_PASSWORD=bench-$RANDOM$RANDOM "$AGENT" "${extra[@]}" \
    --state-dir "$state" \
    --netconf-listen "127.0.0.1:$P_AGENT_NC" \
    --cli-listen "127.0.0.1:$P_AGENT_CLI" \
    --ntp-listen "127.0.0.1:$P_AGENT_NTP" </dev/null >"$WORK/ntpagent.log" 2>&1 &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
  if ! "$BENCH" waitport "127.0.0.1:$P_AGENT_NC" || ! alive "$AGENT_PID"; then
    MISSING+=("ntpagent=daemon did not start, see its log")
    tail -n 20 "$WORK/ntpagent.log" >&2 || true
    return 1
  fi
  log "ntpagent $AGENT_PID: netconf 127.0.0.1:$P_AGENT_NC, ntp 127.0.0.1:$P_AGENT_NTP"
}

################################################################ chronyd
CHRONYD_PID=
start_chronyd() {
  if ! command -v chronyd >/dev/null 2>&1; then
    MISSING+=("chronyd=not installed")
    return 1
  fi
  local dir=$WORK/chrony
  if ! install -d -m 0700 "$dir" ||
    ! sed -e "s|@PORT@|$P_CHRONY|g" -e "s|@DIR@|$dir|g" testdata/bench/chronyd.conf.in >"$dir/chronyd.conf"; then
    MISSING+=("chronyd=configuration failed")
    return 1
  fi
  # -x: never adjust the host clock. -u root: keep access to the 0700 folder.
  chronyd -d -x -u root -f "$dir/chronyd.conf" </dev/null >"$WORK/chronyd.log" 2>&1 &
  CHRONYD_PID=$!
  PIDS+=("$CHRONYD_PID")
  if ! "$BENCH" waitport -net udp "127.0.0.1:$P_CHRONY"; then
    MISSING+=("chronyd=did not start, see its log")
    return 1
  fi
  log "chronyd $CHRONYD_PID on 127.0.0.1:$P_CHRONY"
}

start_netconfd && HAVE_NETCONFD=1 || HAVE_NETCONFD=0
start_agent && HAVE_AGENT=1 || HAVE_AGENT=0
start_chronyd && HAVE_CHRONYD=1 || HAVE_CHRONYD=0

# NETCONF first: one run times both servers, alternating sample by sample
# (it reads the idle RSS first and removes its peers at the end); then the
# NTP load, with no peers configured.
targets=()
((HAVE_NETCONFD)) && targets+=(-target "name=netconfd,addr=127.0.0.1:$P_NCSSH,user=$NC_USER,pid=$NETCONFD_PID")
((HAVE_AGENT)) && targets+=(-target "name=ntpagent,addr=127.0.0.1:$P_AGENT_NC,user=admin,pid=$AGENT_PID")
if ((${#targets[@]})); then
  "$BENCH" netconf "${targets[@]}" -key "$WORK/client_key" \
    -connect-runs "$CONNECT_RUNS" -get-runs "$GET_RUNS" -edit-runs "$EDIT_RUNS" \
    -duration "$DURATION" -o "$RESULTS" -dump "$WORK" || log "NETCONF suite: a server failed (see the table)"
fi
ntp_targets=()
((HAVE_CHRONYD)) && ntp_targets+=(-target "name=chronyd,addr=127.0.0.1:$P_CHRONY,pid=$CHRONYD_PID")
((HAVE_AGENT)) && ntp_targets+=(-target "name=ntpagent,addr=127.0.0.1:$P_AGENT_NTP,pid=$AGENT_PID")
if ((${#ntp_targets[@]})); then
  # The servers take turns (5 rounds), like the NETCONF samples; their CPU
  # time per reply is read from /proc over the counted intervals.
  "$BENCH" ntp "${ntp_targets[@]}" -duration "$DURATION" -o "$RESULTS" ||
    log "NTP load: a server gave no valid reply (see the table)"
fi

# Stop the servers before the micro-benchmarks so that they do not share
# the CPUs with them.
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done

################################################################ footprint
# The daemon's start time with 1,000 peers in running and where its memory
# goes (idle and with 1,000 peers; heap allocation sites through its
# debug-only memory dump, NTPAGENT_DEBUG_MEMDUMP_DIR, which this step sets
# and which serves nothing on a port), and its binary built stripped.
if [[ $STARTS != 0 ]] && ((HAVE_AGENT)); then
  log "footprint: $STARTS starts with 1,000 peers, memory idle and with 1,000 peers"
  mkdir -p "$WORK/footprint"
  stripped_args=()
  if CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$WORK/ntpagent-stripped" ./cmd/ntpagent; then
    stripped_args=(-stripped "$WORK/ntpagent-stripped")
  else
    NOTES+=("footprint: the stripped build failed")
  fi
  "$BENCH" footprint -agent "$AGENT" "${stripped_args[@]}" -key "$WORK/client_key" -work "$WORK/footprint" \
    -starts "$STARTS" -detail "$WORK/footprint.md" -o "$RESULTS" 2>"$WORK/footprint.log" ||
    NOTES+=("footprint: failed, see the run's log: $(tail -n 1 "$WORK/footprint.log")")
fi
# netconfd's start with the same 1,000 peers in its startup file: exec until
# its ncxserver socket accepts (the socket sshd's netconf-subsystem connects
# to; netconfd loads and validates the startup before it listens).
if [[ $STARTS != 0 ]] && ((HAVE_NETCONFD)); then
  log "netconfd start time: $STARTS starts with 1,000 peers"
  mkdir -p "$WORK/netconfd-start-home"
  "$BENCH" startupxml -peers 1000 >"$WORK/netconfd-startup.xml"
  "$BENCH" starttime -name netconfd -unix "$WORK/ncx-start.sock" -dir "$WORK/netconfd-start-home" -runs "$STARTS" -o "$RESULTS" -- \
    env HOME="$WORK/netconfd-start-home" netconfd \
    --module="$(realpath "${BENCH_NETCONFD_MODULE:-$ROOT/yang/ntpagent-ntp.yang}")" \
    --superuser="$NC_USER" --target=candidate --port="$P_NCSSH" --startup="$WORK/netconfd-startup.xml" --indent=0 \
    --ncxserver-sockname="$WORK/ncx-start.sock" --log="$WORK/netconfd-start.log" --log-level=warn ${BENCH_NETCONFD_ARGS:-} \
    2>"$WORK/netconfd-start.out" ||
    NOTES+=("netconfd start time: failed, see the run's log: $(tail -n 1 "$WORK/netconfd-start.out")")
fi

################################################################ real path
if [[ $REALPATH_DURATION != 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    NOTES+=("real path not measured: network namespaces need root")
  elif ! command -v chronyd >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
    NOTES+=("real path not measured: chronyd or ip is not installed")
  else
    log "real path: jitter 0, 100 µs and 1 ms at once, $REALPATH_DURATION each, $REALPATH_RUNS run(s) in a row"
    "$BENCH" realpath -duration "$REALPATH_DURATION" -runs "$REALPATH_RUNS" -o "$RESULTS" 2>"$WORK/realpath.log" ||
      NOTES+=("real path: a lab failed, see the run's log: $(tail -n 1 "$WORK/realpath.log")")
  fi
fi

################################################################ Go micro-benchmarks
if [[ $GO_BENCHTIME != 0 ]]; then
  pkgs=()
  # ./cmd/ntpagent-bench: the client's own ceiling (against an in-process
  # fake server), to read the NETCONF rows against.
  for p in ./datastore/... ./ntpengine/... ./server/... ./cmd/ntpagent-bench; do
    if [[ -d ${p%/...} ]]; then pkgs+=("$p"); fi
  done
  if ((${#pkgs[@]})); then
    log "go test -bench (${pkgs[*]}, -benchtime $GO_BENCHTIME)"
    go test -run '^$' -bench . -benchtime "$GO_BENCHTIME" -count 1 -timeout 240s "${pkgs[@]}" \
      >"$WORK/gobench.out" 2>&1 || log "go test -bench failed in some package (see below); results of the others are kept"
    while IFS= read -r line; do
      log "$line"
      NOTES+=("go test -bench: ${line//$'\t'/ }")
    done < <(grep -E '^(FAIL|panic:)\s' "$WORK/gobench.out" || true)
    "$BENCH" gobench -o "$RESULTS" <"$WORK/gobench.out"
  fi
fi

NOTES+=("load average at the start: $LOAD_START (the CPUs are shared; the servers take turns sample by sample, so ratios are fairer than absolute times)")
mkdir -p "$OUT_DIR"
report_args=()
for m in "${MISSING[@]}"; do report_args+=(-missing "$m"); done
for m in "${NOTES[@]}"; do report_args+=(-note "$m"); done
"$BENCH" report "${report_args[@]}" "$RESULTS" >"$OUT_DIR/latest.md"
cp "$RESULTS" "$OUT_DIR/latest.jsonl"
cp "$WORK/footprint.md" "$OUT_DIR/footprint.md" 2>/dev/null || true
cp "$WORK"/*-get-config-100.xml "$OUT_DIR/" 2>/dev/null || true
cat "$OUT_DIR/latest.md"
