#!/usr/bin/env bash
# Measures chrony's own figures in chrony's own simulation tests, as the
# reference the ntpsim table compares ntpagent with.
#
# Usage:
#   scripts/chrony-sim-reference.sh [options] CHRONY_CHECKOUT CLKNETSIM_CHECKOUT
#   (or set CHRONY_SRC and CLKNETSIM_PATH instead of the two arguments)
#
#   CHRONY_CHECKOUT     a checkout of https://github.com/mlichvar/chrony
#                       (the test scripts are read from test/simulation/)
#   CLKNETSIM_CHECKOUT  a checkout of https://github.com/mlichvar/clknetsim;
#                       built with `make` there if clknetsim or clknetsim.so
#                       is missing
#
# Options:
#   -s N      seeds per test (default 20); the seeds are 1..N, passed to
#             clknetsim as CLKNETSIM_RANDOM_SEED (chrony's test/simulation/run
#             does the same with a random start value)
#   -f N      first seed (default 1)
#   -j N      parallel jobs (default: number of CPUs)
#   -r REV    chrony revision whose test scripts are used (default: the tag
#             equal to `chronyd --version`, e.g. 4.3, when the checkout is a
#             git repository that has it; otherwise its working tree)
#   -R REV    revision used for tests that do not exist at REV (default HEAD)
#   -o DIR    results folder (default ./chronysim-results); a (test, seed)
#             already measured there is not run again
#   -t FILE   write the summary table (TSV) to FILE
#   -T FILE   write the per-seed rows (TSV) to FILE
#   -x        only summarize what is in the results folder, run nothing
#   Arguments after the two checkouts (or all arguments, with CHRONY_SRC and
#   CLKNETSIM_PATH set): test names (default: the sixteen below).
#
# Environment: CHRONYD (default /usr/sbin/chronyd), CHRONYC (default
# /usr/bin/chronyc): the binaries under test, Debian's chrony package by
# default. Nothing here changes the host clock: every chronyd runs inside
# clknetsim (LD_PRELOAD), on its simulated clock and network.
#
# What it runs. Chrony's harness unchanged: test.common and the numbered test
# scripts of the chosen revision, extracted to a scratch folder (deleted on
# exit; nothing of either repository enters this project). The scratch folder
# mimics chrony's source tree: chronyd/chronyc there are links to $CHRONYD and
# $CHRONYC (test.common puts ../../ first in PATH), and ../../config.h is
# written from the feature list of `chronyd --version` (test.common reads it
# with check_config_h). The tests' own test.common is sourced by a small
# wrapper that only records figures; it changes one thing of the harness: a
# failed check (test_fail) no longer ends the script, so the figures of later
# runs of the same test are measured too; the test's verdict is still FAIL.
#
# Decisions. The test scripts are those of the chrony release equal to the
# chronyd under test (tag 4.3 for Debian's chronyd 4.3): newer scripts check
# options and log messages 4.3 does not have. 014-intermittent,
# 150-maxunreach and 151-stratumlimit do not exist at 4.3; they are taken
# from -R (HEAD) and run with the same chronyd: 151 needs the
# minstratum/maxstratum directives and 150's second run the maxunreach
# option, both newer than 4.3, so those runs report chronyd's fatal error
# and no figures. Seeds are 1..N, so a rerun gives the same figures
# (clknetsim is deterministic for a seed; chronyd's randomness comes through
# clknetsim). clknetsim is used at whatever revision is checked out; it is
# recorded in every row.
#
# Tests: 001-defaults 002-largenetwork 003-largefreqoffset
# 004-largetimeoffset 006-largejitter 007-largewander 009-sourceselection
# 011-asymjitter 014-intermittent 101-poll 108-peer 118-maxdelay
# 125-packetloss 138-syncloop 150-maxunreach 151-stratumlimit.
# This project's own scenarios for chrony's harness, in scripts/chronysim/
# (numbered 900 and up, run only when named): 900-realpath, the path of
# internal/wirelab (base delay 1 ms, exponential jitter per direction,
# minpoll 4, maxpoll 6, iburst, xleave), one run per jitter (variant
# jitter=J). They are copied beside chrony's scripts and use its
# test.common like them.
# A test script runs the simulation one or more times ("runs", numbered from
# 1 in the order of the script's run_test calls, with the settings that
# differ from test.common's defaults in the `settings` column).
#
# Figures, per run and client node, exactly as chrony's check_sync takes them
# (test.common and clknetsim.bash of the revision used):
#   time_rms, time_max   RMS and maximum absolute offset of the client's
#                        clock from true time, and
#   freq_rms, freq_max   of its frequency error, from clknetsim's stats, which
#                        are reset at max_sync_time (run_simulation passes
#                        `-r max_sync_time`): the window is
#                        [max_sync_time, limit] of simulated time,
#                        210 s .. 10000 s with the defaults (not 420 s). When
#                        max_sync_time >= limit (101-poll's short runs) there
#                        is no reset and the window is the whole run.
#   time_mean            mean offset in the same window (bias).
#   sync_time            find_sync with the run's time_max_limit and
#                        freq_max_limit and no smoothing: one second after the
#                        last 1-s sample whose |offset| > time_max_limit or
#                        |frequency error| > freq_max_limit; limit + 1 when
#                        the client never stays within them.
#   packet_interval      clknetsim's mean outgoing packet interval of the
#                        client over the whole run (check_packet_interval).
#   sync_ok              whether check_sync passed (chrony's limits on all of
#                        the above; "-" per seed, counted as not passed in the
#                        summary, when the script does not call it after the
#                        run: 101-poll's short runs). Some runs are expected
#                        to fail it
#                        (009 with 3 and 4 falsetickers, 118's maxdelay 2e-5
#                        run, 151 with stratum 2 and 6).
#   run_ok               whether every check after this run gave the result
#                        the test script expects.
#   test_ok              the test script's verdict for that seed.
# Figures of a client whose chronyd did not start or exit cleanly (e.g. a
# directive this chronyd does not know) are left out; the error is reported.
#
# Summary (-t), one row per run, keyed test/variant (the loop variable of the
# script, e.g. 009-sourceselection/falsetickers=2, 101-poll/poll=6,
# 108-peer/polls=3,6,3,6): per seed the worst client counts (largest sync
# time, RMS offset, RMS frequency) and *_mean/*_sd are the mean and sample
# standard deviation over seeds; max_offset/max_freq the worst sample of all;
# rms_offset_pooled sqrt(mean(rms^2)) over seeds and clients; the ok columns
# count seeds. The per-seed rows (-T) hold every client's own figures.
set -euo pipefail

TESTS_DEFAULT=(001-defaults 002-largenetwork 003-largefreqoffset
  004-largetimeoffset 006-largejitter 007-largewander 009-sourceselection
  011-asymjitter 014-intermittent 101-poll 108-peer 118-maxdelay
  125-packetloss 138-syncloop 150-maxunreach 151-stratumlimit)

here=$(cd "$(dirname "$0")" && pwd)
seeds=20 first_seed=1 jobs=$(nproc) rev="" fallback_rev=HEAD
results=./chronysim-results summary_out="" rows_out="" summarize_only=0
while getopts ":s:f:j:r:R:o:t:T:xh" opt; do
  case $opt in
    s) seeds=$OPTARG ;;
    f) first_seed=$OPTARG ;;
    j) jobs=$OPTARG ;;
    r) rev=$OPTARG ;;
    R) fallback_rev=$OPTARG ;;
    o) results=$OPTARG ;;
    t) summary_out=$OPTARG ;;
    T) rows_out=$OPTARG ;;
    x) summarize_only=1 ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option -$OPTARG (try -h)" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

die() { echo "chrony-sim-reference: $*" >&2; exit 1; }
for n in "$seeds" "$first_seed" "$jobs"; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"
done
[ "$seeds" -ge 1 ] && [ "$jobs" -ge 1 ] || die "-s and -j must be at least 1"

# The checkouts: the first two arguments, or CHRONY_SRC and CLKNETSIM_PATH
# when the arguments are test names.
if [ $# -ge 2 ] && ! [[ $1 =~ ^[0-9]{3}- ]]; then
  chrony_src=$1 clknetsim=$2
  shift 2
else
  chrony_src=${CHRONY_SRC:-} clknetsim=${CLKNETSIM_PATH:-}
fi
[ -n "$chrony_src" ] && [ -n "$clknetsim" ] ||
  die "need the chrony and clknetsim checkouts (arguments or CHRONY_SRC and CLKNETSIM_PATH; -h for help)"
[ -d "$chrony_src" ] || die "no such folder: $chrony_src"
[ -d "$clknetsim" ] || die "no such folder: $clknetsim"
chrony_src=$(cd "$chrony_src" && pwd)
clknetsim=$(cd "$clknetsim" && pwd)
if [ $# -gt 0 ]; then tests=("$@"); else tests=("${TESTS_DEFAULT[@]}"); fi
for t in "${tests[@]}"; do
  [[ $t =~ ^[0-9]{3}-[a-z0-9]+$ ]] || die "not a test name: $t"
done

CHRONYD=${CHRONYD:-/usr/sbin/chronyd}
CHRONYC=${CHRONYC:-/usr/bin/chronyc}
[ -x "$CHRONYD" ] || die "chronyd not found at $CHRONYD (Debian: apt-get install chrony, or set CHRONYD)"
chronyd_version=$("$CHRONYD" --version)
version=$(sed -n 's/^chronyd (chrony) version \([^ ]*\).*/\1/p' <<<"$chronyd_version")
[ -n "$version" ] || die "cannot read the version of $CHRONYD: $chronyd_version"

mkdir -p "$results/raw" "$results/logs"
results=$(cd "$results" && pwd)

is_git=0
git -C "$chrony_src" rev-parse --git-dir >/dev/null 2>&1 && is_git=1
if [ -z "$rev" ] && [ $is_git -eq 1 ] && git -C "$chrony_src" rev-parse -q --verify "refs/tags/$version" >/dev/null; then
  rev=$version
fi

# describe REV: the name and commit recorded in every row.
describe() {
  if [ -z "$1" ]; then
    if [ $is_git -eq 1 ]; then
      echo "worktree@$(git -C "$chrony_src" rev-parse --short=12 HEAD)"
    else
      echo "directory"
    fi
  else
    echo "$1@$(git -C "$chrony_src" rev-parse --short=12 "$1^{commit}")"
  fi
}
clknetsim_rev=unknown
git -C "$clknetsim" rev-parse --git-dir >/dev/null 2>&1 &&
  clknetsim_rev=$(git -C "$clknetsim" rev-parse --short=12 HEAD)
machine="$(uname -srm), $(nproc) CPUs"

# The results folder belongs to one chronyd and one clknetsim: figures of
# different binaries are never pooled, and -x reports what was measured.
provenance="chronyd=$CHRONYD version=$version clknetsim=$clknetsim_rev"
if [ -s "$results/provenance" ]; then
  if [ "$(cat "$results/provenance")" != "$provenance" ]; then
    [ $summarize_only -eq 1 ] ||
      die "$results was measured with $(cat "$results/provenance"), not $provenance; use another -o"
    read -r p_chronyd p_version p_clknetsim <"$results/provenance"
    CHRONYD=${p_chronyd#chronyd=} version=${p_version#version=} clknetsim_rev=${p_clknetsim#clknetsim=}
  fi
elif [ $summarize_only -eq 0 ]; then
  echo "$provenance" >"$results/provenance"
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# tree NAME REV: chrony's test/simulation of REV ("" = working tree) under
# $scratch/NAME, with the chronyd/chronyc links and config.h beside it.
tree() {
  local dir=$scratch/$1 r=$2 f
  mkdir -p "$dir/src"
  if [ -n "$r" ]; then
    git -C "$chrony_src" archive "$r" test/simulation | tar -x -C "$dir/src"
  else
    mkdir -p "$dir/src/test"
    cp -r "$chrony_src/test/simulation" "$dir/src/test/"
  fi
  [ -f "$dir/src/test/simulation/test.common" ] || die "no test/simulation/test.common at ${r:-the working tree}"
  mv "$dir/src/test/simulation/test.common" "$dir/src/test/simulation/chrony-test.common"
  # config.h: one FEAT_ define per "+FEATURE" of `chronyd --version`.
  for f in $(grep -o '+[A-Z0-9]*' <<<"$chronyd_version" | tr -d +); do
    echo "#define FEAT_$f 1"
  done >"$dir/src/config.h"
  # This project's scenarios (scripts/chronysim/9NN-*), beside chrony's.
  cp "$here"/chronysim/9[0-9][0-9]-* "$dir/src/test/simulation/"
  ln -s "$CHRONYD" "$dir/src/chronyd"
  ln -s "$CHRONYC" "$dir/src/chronyc"
  wrapper >"$dir/src/test/simulation/test.common"
}

# wrapper: the test.common the test scripts source. It sources chrony's own
# and records, per run, one F line per client node, one C line per check, an
# X line per failed expectation and a V line with the verdict.
wrapper() {
  cat <<'EOF'
. ./chrony-test.common

ref_run=0 ref_failed=0 ref_check=""

ref_emit() { local IFS=$'\t'; echo "$*" >>"$REF_OUT"; }

# Helpers set ref_out instead of printing: command substitutions fork, and
# on a loaded machine every process counts.
ref_settings() {
  local d o v
  ref_out=""
  for d in ${!default_*}; do
    o=${d#default_}
    [ "${!d}" = "${!o}" ] && continue
    v=${!o}
    v=${v//$'\t'/ } v=${v//$'\n'/ }
    while [[ $v == *'  '* ]]; do v=${v//'  '/ }; done
    ref_out+="${ref_out:+; }$o=${v# }"
  done
  ref_out=${ref_out:--}
}

# The variant of a run: the loop variable of the test script, as
# name=value. An item "v?" counts only when v differs from test.common's
# default; "label=a,b" joins several variables.
ref_variant() {
  local spec item label vars v val ok optional d
  ref_out=""
  case ${0##*/} in
    003-*) spec="freq_offset" ;;
    004-*) spec="time_offset" ;;
    009-*) spec="falsetickers" ;;
    101-*) spec="poll base_delay?" ;;
    108-*) spec="polls=lminpoll,lmaxpoll,rminpoll,rmaxpoll" ;;
    118-*) spec="options=client_server_options" ;;
    125-*) spec="options" ;;
    151-*) spec="s" ;;
    9[0-9][0-9]-*) spec="jitter" ;;
    *) spec="" ;;
  esac
  for item in $spec; do
    optional=0
    [[ $item == *'?' ]] && optional=1 item=${item%'?'}
    label=${item%%=*} vars=${item#*=}
    val="" ok=1
    for v in ${vars//,/ }; do
      [ -n "${!v+set}" ] || ok=0
      val+="${val:+,}${!v:-}"
    done
    [ $ok -eq 1 ] || continue
    d=default_$vars
    [ $optional -eq 1 ] && [ "${!d:-}" = "$val" ] && continue
    ref_out+="${ref_out:+,}$label=$val"
  done
  ref_out=${ref_out:--}
}

# Figures of client node $1, tab-separated: RMS, max and mean offset, RMS
# and max frequency, mean outgoing packet interval (clknetsim's stats, the
# $1-th occurrence of each, as get_stat takes them), then the window start
# (max_sync_time, or 0 when clknetsim never reset the stats: it resets them
# at -r max_sync_time only when that is before -l limit, both scaled alike)
# and the fatal error of its chronyd, if any.
ref_figures() {
  local files=(tmp/stats)
  [ -f "tmp/log.$1" ] && files+=("tmp/log.$1")
  awk -F'\t' -v i="$1" -v ms="$max_sync_time" -v lim="$limit" -v clientlog="tmp/log.$1" '
    function val(k) { return (k in v) ? v[k] : "NA" }
    FILENAME != clientlog {
      name = $1; sub(/:[ ]*$/, "", name)
      if (++n[name] <= i) v[name] = $2
      next
    }
    fatal == "" && /Fatal error/ { fatal = substr($0, index($0, "Fatal error")); gsub(/\t/, " ", fatal) }
    END {
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", val("RMS offset"), val("Maximum absolute offset"),
        val("Mean offset"), val("RMS frequency"), val("Maximum absolute frequency"),
        val("Mean outgoing packet interval"), (ms + 0 < lim + 0) ? ms : 0, (fatal != "") ? fatal : "-"
    }' "${files[@]}" 2>/dev/null
}

ref_record() {
  local i sync settings variant figures
  ref_settings; settings=$ref_out
  ref_variant; variant=$ref_out
  for i in $(seq $((servers * server_strata + 1)) $(get_chronyd_nodes)); do
    sync=NA
    [ -s tmp/log.offset ] &&
      sync=$(find_sync tmp/log.offset tmp/log.freq $i $time_max_limit $freq_max_limit 1.0)
    figures=$(ref_figures $i)
    IFS=$'\t' read -r f_trms f_tmax f_tmean f_frms f_fmax f_pint f_win f_fatal <<<"$figures"
    ref_emit F $ref_run $i "$settings" "$sync" "${f_trms:-NA}" "${f_tmax:-NA}" \
      "${f_tmean:-NA}" "${f_frms:-NA}" "${f_fmax:-NA}" "${f_pint:-NA}" \
      "${f_win:-0}" "$limit" \
      "$time_rms_limit" "$time_max_limit" "$freq_rms_limit" "$freq_max_limit" \
      "$min_sync_time" "$max_sync_time" "${f_fatal:--}" "$variant"
  done
}

eval "ref_orig_run_test() $(declare -f run_test | tail -n +2)"
run_test() {
  local r
  ref_run=$((ref_run + 1)) ref_check=run_test
  ref_orig_run_test "$@"
  r=$?
  ref_record
  return $r
}

for ref_f in check_sync check_chronyd_exit check_source_selection \
    check_packet_interval check_log_messages check_file_messages \
    check_chronyc_output check_packet_port; do
  declare -F $ref_f >/dev/null || continue
  eval "ref_orig_$ref_f() $(declare -f $ref_f | tail -n +2)"
  eval "$ref_f() { local r; ref_check=$ref_f; ref_orig_$ref_f \"\$@\"; r=\$?; ref_emit C \$ref_run $ref_f \$r; return \$r; }"
done

test_fail() {
  echo "FAIL (expectation of $ref_check after run $ref_run; continuing)"
  ref_emit X $ref_run "$ref_check"
  ref_failed=1
  return 1
}
test_pass() {
  [ $ref_failed -eq 0 ] && echo PASS || echo FAIL
  ref_emit V $ref_run $([ $ref_failed -eq 0 ] && echo pass || echo fail)
  exit $ref_failed
}
test_skip() {
  echo SKIP
  ref_emit V $ref_run skip
  exit 9
}
EOF
}

if [ $summarize_only -eq 0 ]; then
  if [ ! -x "$clknetsim/clknetsim" ] || [ ! -e "$clknetsim/clknetsim.so" ]; then
    echo "building clknetsim in $clknetsim" >&2
    make -C "$clknetsim" >&2
  fi
  if [ $is_git -eq 1 ]; then
    tree main "$rev"
    [ "$fallback_rev" = "$rev" ] || tree fallback "$fallback_rev"
  else
    tree main ""
  fi

  # One job per (test, seed), each in its own copy of the tree (the harness
  # writes to ./tmp), seed-major so that a cut-short run still has every test.
  joblist=$scratch/jobs
  : >"$joblist"
  for seed in $(seq "$first_seed" $((first_seed + seeds - 1))); do
    for t in "${tests[@]}"; do
      [ -s "$results/raw/$t.$seed.tsv" ] && continue
      if [ -f "$scratch/main/src/test/simulation/$t" ]; then
        echo "$t $seed main $(describe "$rev")"
      elif [ -d "$scratch/fallback" ] && [ -f "$scratch/fallback/src/test/simulation/$t" ]; then
        echo "$t $seed fallback $(describe "$fallback_rev")"
      else
        echo "chrony-sim-reference: $t: no such test in $(describe "$rev") nor $fallback_rev; skipped" >&2
      fi
    done >>"$joblist"
  done

  run_one() {
    local t=$1 seed=$2 which=$3 desc=$4 job rc
    job=$(mktemp -d "$scratch/job.XXXXXX")
    cp -as "$scratch/$which/src/." "$job/"
    (
      cd "$job/test/simulation"
      # A loaded machine can take more than clknetsim's default 10 s to
      # start all of a test's chronyds; the simulation does not depend on it.
      export REF_OUT=$job/figures CLKNETSIM_PATH=$clknetsim CLKNETSIM_RANDOM_SEED=$seed \
        CLKNETSIM_CONNECT_TIMEOUT=600
      : >"$REF_OUT"
      rc=0
      timeout --foreground 3600 "./$t" >"$results/logs/$t.$seed.log" 2>&1 || rc=$?
      grep -q '^V' "$REF_OUT" || printf 'V\t-\t%s\n' "$([ $rc -eq 9 ] && echo skip || echo "fail(exit $rc)")" >>"$REF_OUT"
    )
    # A failure of the simulator itself (not of chronyd) is not a result:
    # nothing is kept, so the next invocation runs it again.
    if grep -q 'clknetsim failed\|did not terminate' "$results/logs/$t.$seed.log"; then
      rm -rf "$job"
      echo "$t seed $seed: clknetsim failed (see $results/logs/$t.$seed.log); not recorded" >&2
      return 0
    fi
    awk -F'\t' -v OFS='\t' -v t="$t" -v s="$seed" -v d="$desc" '{print t, s, d, $0}' \
      "$job/figures" >"$results/raw/$t.$seed.tsv.tmp"
    mv "$results/raw/$t.$seed.tsv.tmp" "$results/raw/$t.$seed.tsv"
    rm -rf "$job"
    echo "$t seed $seed: $(awk -F'\t' '$4 == "V" {print $6}' "$results/raw/$t.$seed.tsv")" >&2
  }
  export -f run_one
  export scratch results clknetsim
  n=$(wc -l <"$joblist")
  echo "chronyd $version ($CHRONYD), tests of $(describe "$rev"), clknetsim $clknetsim_rev: $n runs of a test script, $jobs at a time" >&2
  # shellcheck disable=SC2016
  [ "$n" -eq 0 ] || xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' _ <"$joblist"
fi

# Summary: join the F, C, X and V lines of every (test, seed) measured.
files=()
for seed in $(seq "$first_seed" $((first_seed + seeds - 1))); do
  for t in "${tests[@]}"; do
    [ -s "$results/raw/$t.$seed.tsv" ] && files+=("$results/raw/$t.$seed.tsv")
  done
done
[ ${#files[@]} -gt 0 ] || die "nothing measured in $results"

date=$(date -u +%Y-%m-%d)
head="chrony $version ($CHRONYD) in clknetsim $clknetsim_rev, chrony's own harness (scripts/chrony-sim-reference.sh); $date; $machine"
cat "${files[@]}" | awk -F'\t' -v OFS='\t' -v head="$head" -v ck="$clknetsim_rev" \
  -v date="$date" -v machine="$machine" -v rows="${rows_out:-/dev/null}" '
  # Input lines: test seed rev KIND run ...
  #   F: node settings sync_time time_rms time_max time_mean freq_rms freq_max
  #      packet_interval window_start limit limit_time_rms limit_time_max
  #      limit_freq_rms limit_freq_max min_sync_time max_sync_time
  #      fatal_error variant
  #   C: check rc    X: check    V: verdict
  function key(t, s, r) { return t SUBSEP s SUBSEP r }
  function e(x) { return sprintf("%.3e", x) }
  function sd(sum, sum2, k) { return k > 1 ? sqrt(max0((sum2 - sum * sum / k) / (k - 1))) : 0 }
  function max0(x) { return x > 0 ? x : 0 }
  $4 == "F" { F[++n] = $0 }
  $4 == "C" && $6 == "check_sync" { syncok[key($1, $2, $5)] = ($7 == 0) }
  $4 == "C" && $6 == "check_chronyd_exit" && $7 != 0 { exitbad[key($1, $2, $5)] = 1 }
  $4 == "X" { runbad[key($1, $2, $5)] = 1 }
  $4 == "V" { verdict[$1 SUBSEP $2] = $6 }
  END {
    # Row keys: test/variant; test alone for a single-run test; test/run=N
    # for a run without a variant in a test of several runs.
    for (i = 1; i <= n; i++) { split(F[i], f, "\t"); if (f[5] > runs[f[1]]) runs[f[1]] = f[5] }
    print "# " head " -- per seed and client node" > rows
    print "# Definitions as in the summary (settings of each key there); chronyd_ok: the chronyd ran and exited cleanly (check_chronyd_exit); error: its fatal error, if any." > rows
    print "key\ttest\trun\tnode\tseed\tsync_time_s\ttime_rms_s\ttime_max_s\ttime_mean_s\tfreq_rms\tfreq_max\tpacket_interval_s\twindow_s\tchronyd_ok\tsync_ok\trun_ok\ttest_ok\tchrony_rev\terror" > rows
    for (i = 1; i <= n; i++) {
      split(F[i], f, "\t")
      t = f[1]; s = f[2]; r = f[5]
      k = key(t, s, r)
      name = (f[24] != "-") ? t "/" f[24] : (runs[t] > 1) ? t "/run=" r : t
      co = (k in exitbad || f[23] != "-") ? "no" : "yes"
      so = (k in syncok) ? (syncok[k] ? "yes" : "no") : "-"
      ro = (k in runbad) ? "no" : "yes"
      v = verdict[t SUBSEP s]; to = (v == "pass") ? "yes" : (v == "skip") ? "skip" : "no"
      w = f[15] ".." f[16]
      print name, t, r, f[6], s, f[8], f[9], f[10], f[11], f[12], f[13], f[14], w, co, so, ro, to, f[3], f[23] > rows
      g = t SUBSEP r
      if (!(g in seen)) {
        seen[g] = 1; order[++ng] = g; settings[g] = f[7]; rev[g] = f[3]; win[g] = w; gname[g] = name
        lim[g] = f[17] OFS f[18] OFS f[19] OFS f[20] OFS f[21] ".." f[22]
      }
      if (!((g, s) in sseen)) {
        sseen[g, s] = 1; ns[g]++
        if (so == "yes") nsync[g]++
        if (ro == "yes") nrun[g]++
        if (to == "yes") ntest[g]++
      }
      # Figures of a client whose chronyd did not run are those of a free
      # clock: left out, the error is reported instead.
      if (co == "no" || f[9] == "NA") {
        if (!(g in note)) note[g] = (f[23] != "-") ? f[23] : "chronyd did not run or exit cleanly"
        continue
      }
      c[g]++
      if (!((g, s) in wsync)) { seeds[g, ++ms[g]] = s; wsync[g, s] = f[8]; wtrms[g, s] = f[9]; wfrms[g, s] = f[12] }
      # Worst client of this seed.
      if (f[8] + 0 > wsync[g, s]) wsync[g, s] = f[8]
      if (f[9] + 0 > wtrms[g, s]) wtrms[g, s] = f[9]
      if (f[12] + 0 > wfrms[g, s]) wfrms[g, s] = f[12]
      ptrms[g] += f[9] * f[9]; if (f[10] + 0 > tmax[g]) tmax[g] = f[10] + 0
      tmean[g] += f[11]
      if (f[13] + 0 > fmax[g]) fmax[g] = f[13] + 0
      if (f[8] + 0 > stmax[g]) stmax[g] = f[8] + 0
      if (f[14] != "inf") { pin[g]++; pi[g] += f[14] }
    }
    print "# " head
    print "# One row per run of a chrony test script (run: order of its run_test calls). key: test/variant, the variant being the loop variable of the script (009: falsetickers=0 is its asymmetric-delay run)."
    print "# Per seed the worst client counts (largest sync time, RMS offset, RMS frequency); *_mean and *_sd: mean and sample standard deviation of that over the seeds."
    print "# Clock figures over window_s of simulated time: from max_sync_time (clknetsim -r) to the end of the run, as chrony'"'"'s check_sync; the whole run when max_sync_time >= its length."
    print "# sync: find_sync with the run'"'"'s time_max and freq_max limits (1 s after the last 1-s sample beyond them; run length + 1 if never within them)."
    print "# rms_offset_pooled: sqrt(mean(rms^2)) over seeds and clients; max_offset, max_freq: the worst sample of any seed and client; mean_offset: mean over seeds and clients (bias)."
    print "# Units: s, frequency as a fraction (1e-6 = 1 ppm). packet_interval: mean outgoing packet interval of the clients over the whole run."
    print "# seeds: measured; fig_seeds: those whose chronyd ran (figures); sync_ok/run_ok/test_ok: seeds whose check_sync passed (0 too when the script does not call it after this run: 101-poll with poll < 0) / whose every expectation after this run held / whose test script passed."
    print "# limit_*: chrony'"'"'s check_sync limits of the run. note: why figures are missing (the chronyd fatal error)."
    print "key\ttest\trun\tseeds\tfig_seeds\tnodes\tsync_mean\tsync_sd\tsync_max\trms_offset_mean\trms_offset_sd\trms_offset_pooled\tmax_offset\tmean_offset\trms_freq_mean\trms_freq_sd\tmax_freq\tpacket_interval\twindow_s\tsync_ok\trun_ok\ttest_ok\tlimit_rms_offset\tlimit_max_offset\tlimit_rms_freq\tlimit_max_freq\tlimit_sync\tchrony_rev\tclknetsim_rev\tdate\tmachine\tnote\tsettings"
    for (j = 1; j <= ng; j++) {
      g = order[j]; split(g, tr, SUBSEP)
      ok = nsync[g] + 0 "/" ns[g] OFS nrun[g] + 0 "/" ns[g] OFS ntest[g] + 0 "/" ns[g]
      prov = lim[g] OFS rev[g] OFS ck OFS date OFS machine OFS ((g in note) ? note[g] : "-") OFS settings[g]
      m = ms[g] + 0
      if (m == 0) {
        printf "%s\t%s\t%s\t%s\t0", gname[g], tr[1], tr[2], ns[g]
        for (q = 0; q < 13; q++) printf "\tNA"
        print "", win[g], ok, prov
        continue
      }
      a = a2 = b = b2 = d = d2 = 0
      for (q = 1; q <= m; q++) {
        s = seeds[g, q]
        a += wsync[g, s]; a2 += wsync[g, s] ^ 2
        b += wtrms[g, s]; b2 += wtrms[g, s] ^ 2
        d += wfrms[g, s]; d2 += wfrms[g, s] ^ 2
      }
      print gname[g], tr[1], tr[2], ns[g], m, c[g] / m,
        sprintf("%.1f", a / m), sprintf("%.1f", sd(a, a2, m)), stmax[g],
        e(b / m), e(sd(b, b2, m)), e(sqrt(ptrms[g] / c[g])), e(tmax[g]), e(tmean[g] / c[g]),
        e(d / m), e(sd(d, d2, m)), e(fmax[g]),
        (pin[g] ? sprintf("%.1f", pi[g] / pin[g]) : "inf"), win[g], ok, prov
    }
  }' >"$scratch/summary.tsv"

[ -z "$summary_out" ] || cp "$scratch/summary.tsv" "$summary_out"
# A readable table on stdout: the figures and verdicts, without provenance.
grep -v '^#' "$scratch/summary.tsv" | cut -f 1,4-18,20-22 | column -t -s $'\t'
