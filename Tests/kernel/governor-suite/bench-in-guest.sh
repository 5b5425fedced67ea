#!/bin/bash
# The governor benchmark, run INSIDE a QEMU test-bed guest (scripts/bench-governor boots
# it): the lateness probe (critical.slice) next to CPU hogs (batch.slice) that
# oversubscribe the guest's CPUs 2x, under `warden run`, in four phases:
#
#   idle      the probe alone
#   hogs      hogs, no limits, governor off
#   weights   hogs, static CPUWeight= only (critical.slice 10000, batch.slice 1), governor off
#   governor  hogs, [Governor] Enabled=yes with its defaults, equal weights
#
# Each phase: a fresh Warden, the probe (stopped LEAD + SECONDS + 1 s after), the hogs started (the
# creation of the 'go' file they wait for) LEAD s after the probe; lateness counted over
# the SECONDS after that onset. In the governor phase also the reaction time (onset →
# batch.slice's cpu.max written) and the lateness from the quota on.
# Environment: WARDEN_GOVERNOR_BENCH_SECONDS (default 30), WARDEN_GOVERNOR_BENCH_PHASES (default all four).
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)
. "$here/lib.sh"
gov_log_timestamps=1
# Every look of the governor is logged ("governor: held tier …"): the governor phase
# prints the looks around the onset, so a slow reaction shows which reading held it back.
gov_log_level=debug
if [ "${WARDEN_TESTBED_GUEST:-0}" != 1 ] || [ -z "${WARDEN_TEST_CGROUP_ROOT:-}" ]; then
    echo "bench-governor: refusing to run outside a test-bed guest" >&2
    exit 77
fi
if [ ! -e /proc/pressure/cpu ] || [ "$(nproc)" -lt 2 ]; then
    echo "bench-governor: needs PSI and 2 CPUs (the QEMU tier)" >&2
    exit 77
fi
root=$WARDEN_TEST_CGROUP_ROOT
warden=${WARDEN_BINARY:-$repo/.build/release/warden}
[ -x "$warden" ] || { echo "bench-governor: $warden is missing" >&2; exit 77; }
programs=$(gov_programs "$repo") || exit 77
seconds=${WARDEN_GOVERNOR_BENCH_SECONDS:-30}
phases=${WARDEN_GOVERNOR_BENCH_PHASES:-idle hogs weights governor}
lead=2
cpus=$(nproc)
hogs=$((2 * cpus))
work=$(mktemp -d /tmp/bench-governor.XXXXXX)
group=$root/warden-bench

# stats FILE FROM_NS TO_NS: "n p50 p99 max" in µs of the samples with deadline in range.
stats() {
    awk -v from="$1" -v to="$2" '$1 >= from && $1 < to { print $2 }' "$3" | sort -n |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "0 0 0 0"; exit }
            r50 = int((NR * 50 + 99) / 100); r99 = int((NR * 99 + 99) / 100)
            printf "%d %d %d %d\n", NR, v[r50] / 1000, v[r99] / 1000, v[NR] / 1000 }'
}

declare -A result
reaction=""
run_phase() { # name
    local name=$1 dir=$work/$1 governor="Enabled=no" n=$hogs
    case $name in
    idle) n=0 ;;
    governor) governor="Enabled=yes" ;;
    esac
    # The probe runs until stopped: when its last component stops Warden removes the
    # slice, and with it the governor's PSI triggers on it.
    gov_write_stack "$dir" "$programs" "$n" "$governor" "--samples $dir/samples"
    if [ "$name" = weights ]; then
        sed -i 's/^CPUWeight=100$/CPUWeight=10000/' "$dir/units/critical.slice"
        sed -i 's/^CPUWeight=100$/CPUWeight=1/' "$dir/units/batch.slice"
    fi
    echo "Restart=no" >>"$dir/units/probe.service"
    gov_start_warden "$warden" "$dir" "$group"
    if ! gov_wait_for "[ -n \"\$(cat '$group/critical.slice/probe.service/cgroup.procs' 2>/dev/null)\" ]" 200; then
        echo "bench-governor: $name: the probe did not start" >&2
        tail -n 20 "$dir/warden.log" >&2
        kill -TERM "$warden_pid"; wait "$warden_pid"
        return 1
    fi
    if [ "$name" = governor ] && ! gov_wait_for "grep -q 'governor: on' '$dir/warden.log'" 100; then
        echo "bench-governor: $name: this warden did not start its governor (no 'governor: on' in its log)" >&2
        grep 'governor:' "$dir/warden.log" >&2
        kill -TERM "$warden_pid"; wait "$warden_pid"
        return 1
    fi
    if [ "$name" = governor ]; then
        # Warden's own start-up (and the load average the earlier phases left) can make the
        # governor step in before the hogs start; the onset waits until it has stood down
        # (nothing on record, tier below critical), which takes CooldownSec= (60 s by default),
        # and has stayed so for 5 s: one look can fall between a trigger and the tier it
        # leads to. The probe keeps running throughout (its slice must not lose its last
        # component, which would remove the group the governor watches); the figures below
        # are cut at the onset, only the "whole probe run" line spans the wait.
        local waited_from calm=0
        waited_from=$(gov_now_ms)
        while [ "$calm" -lt 10 ]; do
            if grep -q '^tier critical\|^tier severe\|^change ' "$dir/state/governor.state" 2>/dev/null; then
                calm=0
            else
                calm=$((calm + 1))
            fi
            if [ "$(($(gov_now_ms) - waited_from))" -ge 240000 ]; then
                echo "bench-governor: $name: the governor did not stand down within 240 s of Warden's start" >&2
                grep 'governor: tier' "$dir/warden.log" | tail -n 5 >&2
                kill -TERM "$warden_pid"; wait "$warden_pid"
                return 1
            fi
            sleep 0.5
        done
        echo "  governor: standing by after $(($(gov_now_ms) - waited_from)) ms; $(grep -c 'governor: tier' "$dir/warden.log") tier change(s) before the onset"
        before_onset=$(grep -c 'governor: tier' "$dir/warden.log")
    fi
    sleep "$lead"
    local watch=()
    [ "$name" = governor ] && watch=(--watch "$group/batch.slice/cpu.max" --timeout "$seconds")
    local line onset onset_wall
    onset_wall=${EPOCHREALTIME/[.,]/}
    line=$("$programs/cgroup-watch" --start "$dir/go" "${watch[@]}")
    onset=$(echo "$line" | awk '{ print $2 }')
    sleep "$((seconds + 1))"
    "$warden" stop probe.service --config "$dir/warden.conf" >/dev/null
    gov_wait_for "[ -e '$dir/probe.out' ]" 300
    local to=$((onset + seconds * 1000000000))
    result[$name]=$(stats "$onset" "$to" "$dir/samples")
    if [ "$name" = governor ]; then
        case "$line" in
        *reaction_ms*)
            reaction=$(echo "$line" | sed 's/.*reaction_ms \([0-9.]*\).*/\1/')
            local applied
            applied=$(awk -v o="$onset" -v r="$reaction" 'BEGIN { printf "%.0f", o + r * 1000000 }')
            result[throttled]=$(stats "$applied" "$to" "$dir/samples")
            echo "  governor: $(grep -m1 'governor: tier critical' "$dir/warden.log" | sed 's/^[0-9]* //; s/^warden: //' | cut -c1-300)"
            echo "  cpu.max of batch.slice: $line"
            ;;
        *) reaction="none within $seconds s"; echo "  governor: no throttle within $seconds s: $line"; grep 'governor:' "$dir/warden.log" | head ;;
        esac
        echo "  governor: $(($(grep -c 'governor: tier' "$dir/warden.log") - before_onset)) tier change(s) from the onset on:"
        # Lines stamped by gov_stamp_lines; the offset is to the wall clock just before
        # cgroup-watch created the onset file (a fork early, so a few ms late at most).
        grep 'governor: tier' "$dir/warden.log" | tail -n +$((before_onset + 1)) |
            awk -v o="$onset_wall" '{ printf "    +%d ms %s\n", ($1 - o) / 1000, substr($0, index($0, " ") + 1) }' | cut -c1-250
        echo "  governor: its looks from 1 s before the onset to the quota:"
        grep 'governor: held tier\|governor: tier' "$dir/warden.log" |
            awk -v o="$onset_wall" -v r="${reaction:-0}" '{ d = ($1 - o) / 1000 } d >= -1000 && d <= r + 200 {
                printf "    %+d ms %s\n", d, substr($0, index($0, " ") + 1) }' | sed 's/(cause=.*//; s/ (event=.*//' | cut -c1-250 | head -n 20
    fi
    kill -TERM "$warden_pid"
    wait "$warden_pid"
    rmdir "$group/warden.supervisor" "$group" 2>/dev/null
    echo "  $name: $(cat "$dir/probe.out")  (whole probe run)"
    if [ "${WARDEN_GOVERNOR_BENCH_VERBOSE:-0}" = 1 ]; then
        echo "  $name: every governor line of the run (WARDEN_GOVERNOR_BENCH_VERBOSE=1), ms from the onset:"
        grep 'governor:' "$dir/warden.log" | awk -v o="${onset_wall:-0}" '{ printf "    %+d ms %s\n", ($1 - o) / 1000, substr($0, index($0, " ") + 1) }' |
            sed 's/ (event=.*//; s/(cause=.*//' | cut -c1-220
    fi
}

echo "bench-governor: $(uname -r), $cpus vCPUs (QEMU, TCG), $hogs hogs, $seconds s per phase, warden $warden"
failed_phase=0
for phase in $phases; do
    echo "== phase $phase"
    run_phase "$phase" || failed_phase=1
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
read -r _ _ base99 _ <<<"${result[idle]:-0 0 0 0}"
read -r _ base50 _ _ <<<"${result[idle]:-0 0 0 0}"
echo
echo "Wake-up lateness of a 1 ms sleep loop (µs), $hogs CPU hogs on $cpus vCPUs, $seconds s after the overload onset"
printf '%-34s %8s %8s %8s %8s %10s %10s\n' phase samples p50 p99 max "p50/idle" "p99/idle"
for key in idle hogs weights governor throttled; do
    [ -n "${result[$key]:-}" ] || continue
    read -r n p50 p99 max <<<"${result[$key]}"
    case $key in
    idle) label="idle (no hogs)" ;;
    hogs) label="hogs, no limits" ;;
    weights) label="hogs, static CPUWeight 10000:1" ;;
    governor) label="hogs, governor (from onset)" ;;
    throttled) label="hogs, governor (from quota on)" ;;
    esac
    printf '%-34s %8s %8s %8s %8s %10s %10s\n' "$label" "$n" "$p50" "$p99" "$max" "$(ratio "$p50" "$base50")" "$(ratio "$p99" "$base99")"
done
case "$reaction" in
"") ;;
*[!0-9.]*) echo "reaction (overload onset -> emergency cpu.max written): $reaction"; failed_phase=1 ;;
*) echo "reaction (overload onset -> emergency cpu.max written): $reaction ms" ;;
esac
echo "samples: wake-ups in the window; a 1 ms loop would give $((seconds * 1000)) on an unloaded machine."
echo "TCG note: the guest's CPUs are emulated (QEMU TCG on a shared 2-core host); absolute"
echo "figures are several times a real machine's and vary run to run; compare ratios."
rm -rf "$work"
exit "$failed_phase"
