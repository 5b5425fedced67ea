#!/bin/bash
# The governor benchmark, run INSIDE a QEMU test-bed guest with systemd as init
# (scripts/bench-governor boots it): critical components under `warden run` next to an
# overload, in three scenarios (WARDEN_GOVERNOR_BENCH_SCENARIOS, default all three):
#
#   batch    4 spinning hogs in batch.slice (2x the vCPUs) against probe.service, a 1 ms
#            sleep loop in critical.slice: the case the guest's scheduler alone handles
#   outside  hogs outside Warden's stack, `stress-ng --cpu 8 --cpu-load 70` (many threads,
#            each busy and sleeping in turn: an IDE, a compile) started in user.slice with
#            systemd-run, plus one batch hog inside the stack, against deadline.service, a
#            periodic job (3 ms of CPU every 10 ms) and the 1 ms sleep loop in critical.slice
#   quiet    the stack idle, the governor on: Warden's context switches and tier changes
#            over WARDEN_GOVERNOR_BENCH_QUIET_SECONDS (default 120)
#
# batch and outside run seven phases each (WARDEN_GOVERNOR_BENCH_PHASES):
#
#   idle      the critical components alone
#   hogs      the overload, no limits, governor off
#   weights   the overload, static CPUWeight= only (critical.slice 10000, batch.slice 1), governor off
#   quota     the overload under what the governor's critical tier writes, set statically
#             (batch.slice CPUQuota=50% and CPUWeight=1, critical.slice CPUWeight=10000 in
#             the units; in outside also user.slice CPUQuota=50% CPUWeight=1), governor off:
#             the cost of the throttle itself, apart from the watching and the reaction
#   governor  the overload, [Governor] Enabled=yes with its defaults, equal weights
#   installed the overload under the standing weights scripts/install-systemd installs
#             (units/*.slice): the stack's top-level slice CPUWeight=500 (trading.slice;
#             here the slice above the test bed's group, a runtime property reset after
#             the phase), critical.slice CPUWeight=1000, batch.slice CPUWeight=20 and
#             CPUQuota=100%; governor off
#   installed+governor  the same, with the governor on as in governor
#
# Each phase: a fresh Warden, the probes (stopped LEAD + SECONDS + 1 s after), the overload
# started (the creation of the 'go' file every hog waits for) LEAD s after the probes;
# figures counted over the SECONDS after that onset (WARDEN_GOVERNOR_BENCH_SECONDS,
# default 30). In the governor phase also the reaction time (onset → the watched cpu.max
# written: batch.slice's, or user.slice's in the outside scenario) and the figures from
# the quota on.
# More knobs: WARDEN_GOVERNOR_BENCH_OUTSIDE (the outside load's command line),
# _BATCH_JOBS (hogs in batch.slice in outside, default 1), _WORK_US (the deadline job's
# CPU per 10 ms, default 3000), _USER_WEIGHT (user.slice's CPUWeight= in outside),
# _VERBOSE=1 (Warden at LogLevel=debug: its looks around the onset, and every governor line).
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)
. "$here/lib.sh"
gov_log_timestamps=1
# The quiet scenario logs every look of the governor ("governor: held tier …") to count
# them. The overload phases run Warden at its default level, as operators do: a line per
# look stamped by gov_stamp_lines (a shell reading a byte at a time) costs the guest's
# CPUs more than the look itself; WARDEN_GOVERNOR_BENCH_VERBOSE=1 logs and prints the
# looks around the onset too, so a slow reaction shows which reading held it back.
gov_log_level=debug
verbose=${WARDEN_GOVERNOR_BENCH_VERBOSE:-0}
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
# The governor phase runs right after idle: the load average the other overload phases
# leave would keep it in its warning tier for minutes.
phases=${WARDEN_GOVERNOR_BENCH_PHASES:-idle governor installed+governor hogs weights quota installed}
# quiet first: it needs a low load average, which the overload scenarios leave high.
scenarios=${WARDEN_GOVERNOR_BENCH_SCENARIOS:-quiet batch outside}
quiet_seconds=${WARDEN_GOVERNOR_BENCH_QUIET_SECONDS:-120}
outside_load=${WARDEN_GOVERNOR_BENCH_OUTSIDE:-stress-ng --cpu 8 --cpu-load 70}
batch_jobs=${WARDEN_GOVERNOR_BENCH_BATCH_JOBS:-1}
# A CPUWeight= for user.slice in every outside phase (a runtime property, reset after the
# phase), to see what the weight at the top of the tree does next to the quota; empty: 100.
user_weight=${WARDEN_GOVERNOR_BENCH_USER_WEIGHT:-}
period_us=10000
work_us=${WARDEN_GOVERNOR_BENCH_WORK_US:-3000}
lead=2
cpus=$(nproc)
hogs=$((2 * cpus))
work=$(mktemp -d /tmp/bench-governor.XXXXXX)
group=
outside_unit=bench-outside.service
# The top-level slice that holds the test bed's group (system.slice): what trading.slice is
# to an installed stack, whose CPUWeight= decides against user.slice.
top_slice=${root#/sys/fs/cgroup/}
top_slice=${top_slice%%/*}
# A [Slice] setting of the units scripts/install-systemd installs (units/NAME), read from
# the files themselves so the installed phases follow them.
installed_value() { # unit key
    sed -n "s/^$2=//p" "$repo/units/$1" | tail -n 1
}
on_systemd=0
[ -d /run/systemd/system ] && command -v systemd-run >/dev/null && on_systemd=1

# stats FROM_NS TO_NS FILE [MISS_NS]: "n misses p50 p99 max" (µs) of the samples released
# in [FROM, TO); misses = samples later than MISS_NS ("-" without it).
stats() {
    awk -v from="$1" -v to="$2" '$1 >= from && $1 < to { print $2 }' "$3" | sort -n |
        awk -v miss="${4:-}" '{ v[NR] = $1; if (miss != "" && $1 > miss + 0) m++ } END {
            if (miss == "") m = "-"; else m += 0
            if (NR == 0) { print "0 " m " 0 0 0"; exit }
            r50 = int((NR * 50 + 99) / 100); r99 = int((NR * 99 + 99) / 100)
            printf "%d %s %d %d %d\n", NR, m, v[r50] / 1000, v[r99] / 1000, v[NR] / 1000 }'
}

# The context switches of every thread of PID: "TID NAME VOLUNTARY NONVOLUNTARY" lines.
thread_switches() {
    local status
    for status in /proc/"$1"/task/*/status; do
        awk '/^Name:/ { n = $2 } /^Pid:/ { p = $2 } /^voluntary_ctxt_switches:/ { v = $2 }
             /^nonvoluntary_ctxt_switches:/ { nv = $2 } END { print p, n, v, nv }' "$status" 2>/dev/null
    done
}

stop_outside() {
    [ "$on_systemd" = 1 ] || return 0
    systemctl stop "$outside_unit" 2>/dev/null
    systemctl reset-failed "$outside_unit" 2>/dev/null
    # What the governor wrote to user.slice must not outlive the phase (it restores it
    # itself when it stands down; a stop mid-throttle leaves it on record).
    systemctl set-property --runtime user.slice CPUQuota= CPUWeight= 2>/dev/null
}

# Waits (up to 180 s) until the guest's 1-minute load average is below 3/4 of its CPUs: the
# governor's load signal warns at 1 per CPU, and the load an earlier phase's hogs left takes
# minutes to decay; a governor that starts in its warning tier is not what is measured.
wait_for_low_load() {
    local from load
    from=$(gov_now_ms)
    until awk -v c="$cpus" '{ exit !($1 < 0.75 * c) }' /proc/loadavg; do
        if [ "$(($(gov_now_ms) - from))" -ge 180000 ]; then
            echo "  load average still $(cut -d' ' -f1 /proc/loadavg) after 180 s: starting anyway"
            return 0
        fi
        sleep 2
    done
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "  guest load average $load after $(($(gov_now_ms) - from)) ms"
}

# Waits until the governor has stood down (nothing on record, tier below critical) and
# stayed so for 5 s: Warden's own start-up (and the load the earlier phases left) can make
# it step in before the overload starts, and one look can fall between a trigger and the
# tier it leads to. Prints how long that took; returns 2 when it did not within 90 s.
wait_for_standby() { # name
    local waited_from calm=0
    waited_from=$(gov_now_ms)
    while [ "$calm" -lt 10 ]; do
        if grep -q '^tier critical\|^tier severe\|^change ' "$dir/state/governor.state" 2>/dev/null; then
            calm=0
        else
            calm=$((calm + 1))
        fi
        if [ "$(($(gov_now_ms) - waited_from))" -ge 90000 ]; then
            echo "  governor: did not stand down within 90 s of Warden's start; its last tier changes:"
            grep 'governor: tier' "$dir/warden.log" | tail -n 3 | sed 's/^[0-9]* /    /; s/ (cause=.*//' | cut -c1-400
            return 2
        fi
        sleep 0.5
    done
    echo "  governor: standing by after $(($(gov_now_ms) - waited_from)) ms; $(grep -c 'governor: tier' "$dir/warden.log") tier change(s) before the onset"
}

# Warden's CPU time so far (utime + stime, clock ticks): `warden run` execs the daemon in
# the process gov_start_warden started.
warden_cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$warden_pid/stat" 2>/dev/null || echo 0
}

# The installed phases' weight on the top-level slice must not outlive them.
reset_top_slice() {
    case ${name:-} in installed*) systemctl set-property --runtime "$top_slice" CPUWeight= 2>/dev/null ;; esac
    return 0
}

# Ends a phase that cannot go on: Warden (which removes its groups) and the outside load.
abort_phase() {
    kill -TERM "$warden_pid" 2>/dev/null
    wait "$warden_pid"
    reset_top_slice
    stop_outside
    return 1
}

declare -A result
declare -A reaction
run_phase() { # scenario phase
    local scenario=$1 name=$2 governor="Enabled=no" n=0 key=$1/$2 standby=0
    dir=$work/$scenario-$name
    # A group of its own per phase: a phase that failed half-way leaves nothing in the next one's.
    group=$root/bench-$scenario-$name
    case $scenario/$name in
    batch/idle | outside/idle) n=0 ;;
    batch/*) n=$hogs ;;
    outside/*) n=$batch_jobs ;;
    esac
    local governed=0
    case $name in governor | installed+governor) governed=1; governor="Enabled=yes" ;; esac
    local gov_log_level=info
    [ "$verbose" = 1 ] && gov_log_level=debug
    # The probes run until stopped: when its last component stops Warden removes the
    # slice, and with it the governor's PSI triggers on it.
    gov_write_stack "$dir" "$programs" "$n" "$governor" "--samples $dir/samples"
    echo "Restart=no" >>"$dir/units/probe.service"
    local probes="probe.service"
    if [ "$scenario" = outside ]; then
        probes="probe.service deadline.service"
        cat >"$dir/units/deadline.service" <<UNIT
[Service]
ExecStart=$programs/lateness-probe --out $dir/deadline.out --interval-us $period_us --work-us $work_us --samples $dir/deadline.samples
Slice=critical.slice
Restart=no
UNIT
    fi
    if [ "$name" = weights ] || [ "$name" = quota ]; then
        sed -i 's/^CPUWeight=100$/CPUWeight=10000/' "$dir/units/critical.slice"
        sed -i 's/^CPUWeight=100$/CPUWeight=1/' "$dir/units/batch.slice"
    fi
    [ "$name" = quota ] && sed -i 's/^CPUWeight=1$/CPUWeight=1\nCPUQuota=50%/' "$dir/units/batch.slice"
    if [ "${name%+governor}" = installed ]; then
        local top_weight critical_weight batch_weight batch_quota
        top_weight=$(installed_value trading.slice CPUWeight)
        critical_weight=$(installed_value trading-critical.slice CPUWeight)
        batch_weight=$(installed_value trading-batch.slice CPUWeight)
        batch_quota=$(installed_value trading-batch.slice CPUQuota)
        if [ -z "$top_weight" ] || [ -z "$critical_weight" ] || [ -z "$batch_weight" ]; then
            echo "bench-governor: $key: units/trading*.slice name no CPUWeight= to install" >&2
            return 1
        fi
        echo "  installed weights (units/trading*.slice): top $top_weight, critical $critical_weight, batch $batch_weight${batch_quota:+, batch CPUQuota=$batch_quota}"
        sed -i "s/^CPUWeight=100\$/CPUWeight=$critical_weight/" "$dir/units/critical.slice"
        sed -i "s/^CPUWeight=100\$/CPUWeight=$batch_weight${batch_quota:+\\nCPUQuota=$batch_quota}/" "$dir/units/batch.slice"
        if [ "$on_systemd" != 1 ] || [ "${top_slice%.slice}" = "$top_slice" ]; then
            echo "bench-governor: $key: needs systemd as init and the test bed's group under a slice (it is under '$top_slice')" >&2
            return 1
        fi
        systemctl set-property --runtime "$top_slice" CPUWeight="$top_weight"
    fi
    [ "$governed" = 1 ] && wait_for_low_load
    gov_start_warden "$warden" "$dir" "$group"
    local unit
    for unit in $probes; do
        if ! gov_wait_for "[ -n \"\$(cat '$group/critical.slice/$unit/cgroup.procs' 2>/dev/null)\" ]" 200; then
            echo "bench-governor: $key: $unit did not start" >&2
            tail -n 20 "$dir/warden.log" >&2
            abort_phase; return 1
        fi
    done
    if [ "$governed" = 1 ]; then
        if ! gov_wait_for "grep -q 'governor: on' '$dir/warden.log'" 100; then
            echo "bench-governor: $key: this warden did not start its governor (no 'governor: on' in its log)" >&2
            grep 'governor:' "$dir/warden.log" >&2
            abort_phase; return 1
        fi
        wait_for_standby "$key" || standby=$?
        before_onset=$(grep -c 'governor: tier' "$dir/warden.log")
    fi
    local watched=$group/batch.slice/cpu.max
    if [ "$scenario" = outside ] && [ "$name" != idle ]; then
        # The load outside the stack: a transient service in user.slice, started now and
        # waiting (inotify) for the onset file like the hogs inside.
        # shellcheck disable=SC2086
        if ! systemd-run --quiet --unit="$outside_unit" --slice=user.slice --property=Type=exec \
            "$programs/cpu-hog" --wait-for "$dir/go" --exec $outside_load; then
            echo "bench-governor: $key: systemd-run of the outside load failed" >&2
            abort_phase; return 1
        fi
        watched=/sys/fs/cgroup/user.slice/cpu.max
        [ -z "$user_weight" ] || systemctl set-property --runtime user.slice CPUWeight="$user_weight"
        # What the governor writes to user.slice in its critical tier (stop_outside resets it).
        [ "$name" = quota ] && systemctl set-property --runtime user.slice CPUQuota=50% CPUWeight=1
    fi
    sleep "$lead"
    local watch=()
    # A governor that is already throttling has nothing left to react to: the window is
    # still measured (lateness under the governor), the reaction time is not.
    [ "$governed" = 1 ] && [ "$standby" = 0 ] && watch=(--watch "$watched" --timeout "$seconds")
    local line onset onset_wall
    onset_wall=${EPOCHREALTIME/[.,]/}
    local cpu_before cpu_after
    cpu_before=$(warden_cpu_ticks)
    line=$("$programs/cgroup-watch" --start "$dir/go" "${watch[@]}")
    onset=$(echo "$line" | awk '{ print $2 }')
    sleep "$((seconds + 1))"
    cpu_after=$(warden_cpu_ticks)
    echo "  warden: $(((cpu_after - cpu_before) * 1000 / $(getconf CLK_TCK))) ms of CPU (user + system) from the onset over $((seconds + 1)) s"
    if [ "$scenario" = outside ] && [ "$name" != idle ]; then
        echo "  user.slice: cpu.max '$(gov_cat /sys/fs/cgroup/user.slice/cpu.max)', cpu.weight $(gov_cat /sys/fs/cgroup/user.slice/cpu.weight) (CPUWeight=$(systemctl show user.slice -p CPUWeight --value)), $(grep -E 'usage_usec|nr_periods|nr_throttled|throttled_usec' /sys/fs/cgroup/user.slice/cpu.stat | tr '\n' ' ')"
        echo "  batch.slice: cpu.max '$(gov_cat "$group/batch.slice/cpu.max")', $(grep -E 'usage_usec|nr_throttled|throttled_usec' "$group/batch.slice/cpu.stat" | tr '\n' ' ')"
        echo "  critical.slice: $(grep -E 'usage_usec' "$group/critical.slice/cpu.stat" | tr '\n' ' ')cpu.pressure $(head -n 1 "$group/critical.slice/cpu.pressure")"
    fi
    # shellcheck disable=SC2086
    "$warden" stop $probes --config "$dir/warden.conf" >/dev/null
    gov_wait_for "[ -e '$dir/probe.out' ]" 300
    [ "$scenario" = outside ] && gov_wait_for "[ -e '$dir/deadline.out' ]" 300
    local to=$((onset + seconds * 1000000000))
    result[$key/sleep]=$(stats "$onset" "$to" "$dir/samples")
    [ "$scenario" = outside ] &&
        result[$key/deadline]=$(stats "$onset" "$to" "$dir/deadline.samples" $(((period_us - work_us) * 1000)))
    if [ "$governed" = 1 ]; then
        # The governor phase's reaction is reaction[SCENARIO] and its figures from the quota
        # on 'throttled'; installed+governor's are reaction[SCENARIO/installed] and
        # 'installed+throttled'. Under the standing weights no throttle may be needed.
        local rkey=$scenario throttled=throttled
        [ "$name" = governor ] || { rkey=$scenario/installed; throttled=installed+throttled; }
        case "$line" in
        *reaction_ms*)
            reaction[$rkey]=$(echo "$line" | sed 's/.*reaction_ms \([0-9.]*\).*/\1/')
            local applied
            applied=$(awk -v o="$onset" -v r="${reaction[$rkey]}" 'BEGIN { printf "%.0f", o + r * 1000000 }')
            result[$scenario/$throttled/sleep]=$(stats "$applied" "$to" "$dir/samples")
            [ "$scenario" = outside ] &&
                result[$scenario/$throttled/deadline]=$(stats "$applied" "$to" "$dir/deadline.samples" $(((period_us - work_us) * 1000)))
            echo "  cpu.max watched ($watched): $line"
            ;;
        *) if [ "$standby" = 0 ]; then
                reaction[$rkey]="none within $seconds s"; echo "  governor: no throttle within $seconds s: $line"
            else
                reaction[$rkey]="not measured (the governor was throttling before the onset)"
            fi ;;
        esac
        echo "  governor: $(($(grep -c 'governor: tier' "$dir/warden.log") - before_onset)) tier change(s) from the onset on:"
        # Lines stamped by gov_stamp_lines; the offset is to the wall clock just before
        # cgroup-watch created the onset file (a fork early, so a few ms late at most).
        grep 'governor: tier' "$dir/warden.log" | tail -n +$((before_onset + 1)) |
            awk -v o="$onset_wall" '{ printf "    +%d ms %s\n", ($1 - o) / 1000, substr($0, index($0, " ") + 1) }' | cut -c1-400
        if [ "$verbose" = 1 ]; then
            echo "  governor: its looks from 1 s before the onset to the quota:"
            grep 'governor: held tier\|governor: tier' "$dir/warden.log" |
                awk -v o="$onset_wall" -v r="${reaction[$rkey]%% *}" '{ d = ($1 - o) / 1000 } d >= -1000 && d <= r + 200 {
                    printf "    %+d ms %s\n", d, substr($0, index($0, " ") + 1) }' | sed 's/(cause=.*//; s/ (event=.*//' | cut -c1-1200 | head -n 20
        fi
        grep 'governor: .*ThrottleSlices\|sheltered\|governor: .*fail' "$dir/warden.log" | head -n 3 |
            sed 's/^[0-9]* /  /' | cut -c1-300
    fi
    kill -TERM "$warden_pid"
    wait "$warden_pid"
    reset_top_slice
    if [ "$scenario" = outside ] && [ "$name" != idle ]; then
        [ "$governed" = 1 ] && echo "  user.slice after Warden stopped: cpu.max '$(gov_cat /sys/fs/cgroup/user.slice/cpu.max)', CPUWeight=$(systemctl show user.slice -p CPUWeight --value)"
        stop_outside
    fi
    rmdir "$group/warden.supervisor" "$group" 2>/dev/null
    echo "  $key: sleep loop $(cat "$dir/probe.out")  (whole probe run)"
    [ "$scenario" = outside ] && echo "  $key: deadline job $(cat "$dir/deadline.out")  (whole probe run)"
    if [ "$verbose" = 1 ]; then
        echo "  $key: every governor line of the run (WARDEN_GOVERNOR_BENCH_VERBOSE=1), ms from the onset:"
        grep 'governor:' "$dir/warden.log" | awk -v o="${onset_wall:-0}" '{ printf "    %+d ms %s\n", ($1 - o) / 1000, substr($0, index($0, " ") + 1) }' |
            sed 's/ (event=.*//; s/(cause=.*//' | cut -c1-1200
    fi
    return 0
}

# The stack idle with the governor on (PSI triggers armed on its groups): how often do
# Warden's threads run, and does the tier move?
run_quiet() {
    dir=$work/quiet
    group=$root/bench-quiet
    gov_write_stack "$dir" "$programs" 0 "Enabled=yes"
    sed -i "s|^ExecStart=.*lateness-probe.*|ExecStart=/bin/sleep infinity|" "$dir/units/probe.service"
    wait_for_low_load
    gov_start_warden "$warden" "$dir" "$group"
    if ! gov_wait_for "grep -q 'governor: on' '$dir/warden.log'" 100 ||
        ! gov_wait_for "[ -n \"\$(cat '$group/critical.slice/probe.service/cgroup.procs' 2>/dev/null)\" ]" 200; then
        echo "bench-governor: quiet: the stack or its governor did not start" >&2
        tail -n 20 "$dir/warden.log" >&2
        abort_phase; return 1
    fi
    echo "  $(grep -m1 'governor: on' "$dir/warden.log" | sed 's/^[0-9]* //' | cut -c1-300)"
    wait_for_standby quiet || { echo "bench-governor: quiet: the governor did not stand down" >&2; abort_phase; return 1; }
    # Counted from tier normal: a tier above it samples every SampleIntervalSec= by design.
    if ! gov_wait_for "grep -q '^tier normal' '$dir/state/governor.state'" 1800 0.5; then
        echo "bench-governor: quiet: the governor did not reach tier normal within 180 s" >&2
        grep 'governor: tier' "$dir/warden.log" | tail -n 3 >&2
        abort_phase; return 1
    fi
    # The tree settles (start-up's follow-ups, the start's load average) before counting,
    # and the count starts in tier normal.
    sleep 10
    gov_wait_for "grep -q '^tier normal' '$dir/state/governor.state'" 600 0.5
    local pid tiers_before from_ms
    pid=$(cat "$group/warden.supervisor/cgroup.procs" 2>/dev/null | head -n 1)
    [ -n "$pid" ] || pid=$warden_pid
    tiers_before=$(grep -c 'governor: tier' "$dir/warden.log")
    thread_switches "$pid" >"$dir/before"
    local looks_before
    looks_before=$(grep -c 'governor: held tier\|governor: tier' "$dir/warden.log")
    from_ms=$(gov_now_ms)
    sleep "$quiet_seconds"
    thread_switches "$pid" >"$dir/after"
    local elapsed_ms=$(($(gov_now_ms) - from_ms))
    local tiers=$(($(grep -c 'governor: tier' "$dir/warden.log") - tiers_before))
    local looks=$(($(grep -c 'governor: held tier\|governor: tier' "$dir/warden.log") - looks_before))
    echo "  Warden (pid $pid), $((elapsed_ms / 1000)) s, context switches per thread (voluntary+nonvoluntary):"
    awk -v s="$elapsed_ms" 'NR == FNR { v[$1] = $3; nv[$1] = $4; next }
        { d = ($3 - v[$1]) + ($4 - nv[$1]); total += d
          printf "    %-8s %-16s %6d  (%.2f/s)\n", $1, $2, d, d * 1000 / s }
        END { printf "    total                     %6d  (%.2f/s)\n", total, total * 1000 / s }' "$dir/before" "$dir/after"
    result[quiet]="$((elapsed_ms / 1000)) $tiers $looks $(awk 'NR == FNR { v[$1] = $3 + $4; next } { t += $3 + $4 - v[$1] } END { print t + 0 }' "$dir/before" "$dir/after")"
    echo "  tier changes in the window: $tiers; governor looks logged in the window: $looks"
    grep 'governor: tier' "$dir/warden.log" | tail -n +$((tiers_before + 1)) | sed 's/^[0-9]* /    /' | cut -c1-250
    echo "  state: $(tr '\n' ' ' <"$dir/state/governor.state" 2>/dev/null | cut -c1-200)"
    kill -TERM "$warden_pid"
    wait "$warden_pid"
    rmdir "$group/warden.supervisor" "$group" 2>/dev/null
    return 0
}

echo "bench-governor: $(uname -r), $cpus vCPUs (QEMU, TCG), init $(cat /proc/1/comm), $seconds s per phase, scenarios: $scenarios; warden $warden"
[ -z "$user_weight" ] || echo "  user.slice CPUWeight=$user_weight in the outside scenario's overload phases (WARDEN_GOVERNOR_BENCH_USER_WEIGHT)"
failed_phase=0
for scenario in $scenarios; do
    case $scenario in
    batch | outside)
        if [ "$scenario" = outside ] && { [ "$on_systemd" != 1 ] || ! command -v "${outside_load%% *}" >/dev/null; }; then
            echo "== scenario outside: SKIPPED (needs systemd as init and ${outside_load%% *}; scripts/bench-governor boots the guest with both)"
            failed_phase=1
            continue
        fi
        for phase in $phases; do
            # The guest's clock is the host's: the time matches the host's load samples
            # scripts/bench-governor prints.
            echo "== scenario $scenario, phase $phase ($(date -u +%H:%M:%S))"
            run_phase "$scenario" "$phase" || failed_phase=1
        done
        ;;
    quiet)
        echo "== scenario quiet: the stack idle, governor on, $quiet_seconds s ($(date -u +%H:%M:%S))"
        run_quiet || failed_phase=1
        ;;
    *) echo "bench-governor: unknown scenario '$scenario' (batch, outside, quiet)" >&2; failed_phase=1 ;;
    esac
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else if (b > 0) printf "%.2fx", a / b; else if (a == 0) print "="; else print "inf" }'; }
label_of() {
    case $1 in
    idle) echo "idle (no load)" ;;
    hogs) echo "no limits" ;;
    weights) echo "static CPUWeight 10000:1" ;;
    quota) echo "static quota 50% + weights" ;;
    governor) echo "governor (from onset)" ;;
    throttled) echo "governor (from quota on)" ;;
    installed) echo "installed weights" ;;
    installed+governor) echo "installed + gov. (onset)" ;;
    installed+throttled) echo "installed + gov. (quota on)" ;;
    esac
}
# table SCENARIO PROBE TITLE
table() {
    local s=$1 probe=$2 key n misses p50 p99 max
    [ -n "${result[$s/idle/$probe]:-}${result[$s/hogs/$probe]:-}${result[$s/governor/$probe]:-}" ] || return 0
    local base_misses base99 free_misses free99
    read -r _ base_misses _ base99 _ <<<"${result[$s/idle/$probe]:-0 - 0 0 0}"
    read -r _ free_misses _ free99 _ <<<"${result[$s/hogs/$probe]:-0 - 0 0 0}"
    echo
    echo "$3"
    printf '%-28s %7s %7s %7s %7s %7s %9s %9s %9s %9s\n' phase samples misses p50 p99 max "miss/idle" "nolim/this" "p99/idle" "p99/nolim"
    for key in idle hogs weights quota governor throttled installed installed+governor installed+throttled; do
        [ -n "${result[$s/$key/$probe]:-}" ] || continue
        read -r n misses p50 p99 max <<<"${result[$s/$key/$probe]}"
        printf '%-28s %7s %7s %7s %7s %7s %9s %9s %9s %9s\n' "$(label_of "$key")" "$n" "$misses" "$p50" "$p99" "$max" \
            "$(ratio "$misses" "$base_misses")" "$(ratio "$free_misses" "$misses")" "$(ratio "$p99" "$base99")" "$(ratio "$p99" "$free99")"
    done
}
table batch sleep "batch: wake-up lateness of a 1 ms sleep loop (µs), $hogs spinning hogs in batch.slice, $seconds s from the onset"
[ -n "${reaction[batch]:-}" ] && echo "reaction (onset -> batch.slice cpu.max written): ${reaction[batch]}$(case ${reaction[batch]} in *[!0-9.]*) ;; *) echo " ms" ;; esac)"
table outside deadline "outside: a $((work_us / 1000)) ms job every $((period_us / 1000)) ms (deadline.service): completion lateness (µs, completion - release - work; a miss when > $(((period_us - work_us) / 1000)) ms), '$outside_load' in user.slice + $batch_jobs hog(s) in batch.slice, $seconds s from the onset"
table outside sleep "outside: wake-up lateness of the 1 ms sleep loop (µs) next to it"
[ -n "${reaction[outside]:-}" ] && echo "reaction (onset -> user.slice cpu.max written over D-Bus): ${reaction[outside]}$(case ${reaction[outside]} in *[!0-9.]*) ;; *) echo " ms" ;; esac)"
for s in batch outside; do
    r=${reaction[$s/installed]:-}
    [ -n "$r" ] && echo "$s, installed weights + governor: reaction $r$(case $r in *[!0-9.]*) ;; *) echo " ms" ;; esac)"
done
if [ -n "${result[quiet]:-}" ]; then
    read -r q_s q_tiers q_looks q_switches <<<"${result[quiet]}"
    echo
    echo "quiet: stack idle, governor on, $q_s s: $q_tiers tier change(s), $q_looks governor look(s) logged, $q_switches context switches of Warden's threads ($(awk -v a="$q_switches" -v b="$q_s" 'BEGIN { printf "%.2f", a / b }')/s)"
fi
echo
echo "samples: sleep loop: wake-ups in the window (1 ms loop: $((seconds * 1000)) on an unloaded machine); deadline job: jobs released in the window ($((seconds * 1000000 / period_us)))."
echo "miss/idle: misses over idle's; nolim/this: no-limits misses over this phase's (how many times fewer); '=' both 0."
echo "TCG note: the guest's CPUs are emulated (QEMU TCG on a shared 2-core host); absolute"
echo "figures are several times a real machine's and vary run to run; compare phases of one run."
case "${reaction[batch]:-}${reaction[outside]:-}" in *none* | *"not measured"*) failed_phase=1 ;; esac
rm -rf "$work"
exit "$failed_phase"
