#!/bin/bash
# The real-kernel governor suite, run INSIDE a QEMU test-bed guest (program init):
# `warden run` with a critical slice (a latency probe) and a batch slice (CPU hogs that
# oversubscribe the guest's 2 vCPUs), `[Governor] Enabled=yes`, and the kernel's own
# files (cpu.max, cpu.weight) and Warden's state file as the evidence.
#
#   Tests/kernel/governor-suite/run            # from the host: compiles the programs, boots QEMU
#
# (a) the governor throttles the batch slice within one trigger window of the overload
#     onset (reaction time printed); (b) stopping the hogs restores the previous cpu.max
#     and cpu.weight exactly, after the cooldown; (c) SIGKILL of Warden while throttled and
#     a restart never leave a throttle without a record in the state file, and the final
#     restore is exact; (d) `warden emergency on/status/off` through the daemon, and
#     directly on cgroupfs with no daemon, each restoring exactly.
# Prints PASS/FAIL/SKIP lines and, last, "N passed, N failed, N skipped"; exit 0 only
# when nothing failed, 77 when it cannot run here (not a guest, no PSI, one CPU).
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../../.." && pwd -P)
. "$here/lib.sh"
# Every look of the governor in the log ("governor: held tier …; readings: …"): when a
# check fails, the tail of the log says which signal held the tier.
gov_log_level=debug
. "$(dirname "$0")/../guest/suite-guard.sh"
require_testbed_cgroup governor-suite
if [ ! -e /proc/pressure/cpu ] || [ "$(nproc)" -lt 2 ]; then
    echo "governor-suite: needs PSI and 2 CPUs (the QEMU tier); this guest has $(nproc) CPU(s), PSI $([ -e /proc/pressure/cpu ] && echo yes || echo no)" >&2
    exit 77
fi
warden=${WARDEN_BINARY:-$repo/.build/debug/warden}
if [ ! -x "$warden" ]; then
    echo "governor-suite: $warden is missing: run 'swift build' on the host first" >&2
    exit 77
fi
programs=$(gov_programs "$repo") || { echo "governor-suite: cannot compile Tests/kernel/programs" >&2; exit 77; }

started=$(date +%s.%N)
work=$(mktemp -d /tmp/governor-suite.XXXXXX)
passed=0 failed=0 skipped=0
skip() { echo "SKIP: $*"; skipped=$((skipped + 1)); }
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # description command...
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

dir=$work/stack group=$root/warden-governor
state=$dir/state/governor.state
batch=$group/batch.slice
window_ms=1000 cooldown_s=5
# The test's thresholds. The PSI ones are the defaults' neighbours, lowered a little
# because a TCG guest's critical slice stalls only 20-30 % with 4 hogs on 2 vCPUs (the
# default critical 25 % would be a coin toss). The load average is left out (thresholds
# out of reach): its 1-minute average needs a minute to fall after the hogs stop, which
# would make (b) a test of the load average instead of the cooldown. Severe (freezing)
# is out of this suite's scope, so it is pushed past the suite's length.
gov_write_stack "$dir" "$programs" 4 "Enabled=yes
PressureWindowSec=${window_ms}ms
CPUPressureWarning=10%
CPUPressureCritical=20%
CooldownSec=${cooldown_s}s
SampleIntervalSec=1s
SevereAfterSec=10min
LoadPerCPUWarning=50.0
LoadPerCPUCritical=100.0
EmergencyCPUQuota=50%"
emergency_max="50000 100000"

echo "governor-suite: $(uname -r), $(nproc) CPUs, $(grep MemTotal /proc/meminfo | tr -s ' '), warden $warden"

# Bounded: a command that hangs is a failure of its own, not a suite that never ends.
wardenctl() { timeout 60 "$warden" "$@" --config "$dir/warden.conf"; }
dump_log() {
    echo "--- warden log (last 40 lines) ---"
    tail -n 40 "$dir/warden.log"
    echo "--- governor.state ---"
    gov_cat "$state"
}
finish() {
    rm -rf "$work"
    local elapsed
    elapsed=$(echo "$(date +%s.%N) $started" | awk '{printf "%.1f", $1 - $2}')
    echo "governor-suite: took $elapsed s"
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
}
# The end of the suite when a step fails that the rest depends on: Warden and everything
# it started are ended (only processes of this suite's groups), the groups removed.
abort() {
    fail "$*"
    dump_log
    [ -n "${warden_pid:-}" ] && kill -KILL "$warden_pid" 2>/dev/null
    [ -e "$group/cgroup.kill" ] && echo 1 >"$group/cgroup.kill"
    sleep 0.5
    find "$group" -depth -type d -exec rmdir {} + 2>/dev/null
    finish
}
# True when the state file records the batch slice's cpu.max exactly when cpu.max is
# not the value from before: never a throttle the state does not account for.
accounted() {
    local now recorded
    now=$(gov_cat "$batch/cpu.max")
    recorded=$(gov_recorded "$state" batch.slice cpu.max)
    if [ "$now" = "$before_max" ]; then return 0; fi
    [ -n "$recorded" ]
}

# ---------------------------------------------------------------------------
gov_start_warden "$warden" "$dir" "$group"
gov_wait_for "grep -q 'governor: on' '$dir/warden.log'" 150 ||
    abort "warden starts with the governor on (no 'governor: on' in its log)"
pass "warden runs with the governor on: $(grep -m1 'governor: on' "$dir/warden.log" | sed 's/^warden: //')"
gov_wait_for "[ -n \"\$(cat '$group/critical.slice/probe.service/cgroup.procs' 2>/dev/null)\" ] && [ -n \"\$(cat '$batch/hogs.service/cgroup.procs' 2>/dev/null)\" ]" 100 ||
    abort "the probe and the hogs run"
# The governor may step in while Warden itself starts (a debug build under TCG keeps the
# CPUs busy and the probe stalls meanwhile). The onset waits until that has passed: tier
# normal, nothing on record, the probe's pressure (avg10) under the warning line. Where
# the probe alone keeps stalling above that line (a TCG guest on an overloaded host),
# overload and idle cannot be told apart here: said loudly, and the automatic cases are
# skipped rather than judged on noise.
# Read with builtins only: a fork costs tens of milliseconds in a loaded TCG guest.
critical_avg10() {
    local line
    read -r line <"$group/critical.slice/cpu.pressure" || return
    line=${line#*avg10=}
    echo "${line%%.*}"
}
settled() {
    local key rest tier=""
    [ -r "$state" ] || return 1
    while read -r key rest; do
        case $key in
        tier) tier=$rest ;;
        change) return 1 ;;
        esac
    done <"$state"
    [ "$tier" = normal ] && [ "$(critical_avg10)" -lt 10 ]
}
# Settled for 3 s on end, with no tier change meanwhile: a PSI trigger armed during
# Warden's start-up can still fire a moment after a first calm reading (seen in CI:
# normal at 229 ms, critical a second later, throttled at the onset).
settled_steady() {
    local changes i=0
    settled || return 1
    changes=$(grep -c 'governor: tier' "$dir/warden.log")
    while [ $i -lt 6 ]; do
        sleep 0.5
        settled || return 1
        i=$((i + 1))
    done
    [ "$(grep -c 'governor: tier' "$dir/warden.log")" = "$changes" ]
}
settle_from=$(gov_now_ms)
if gov_wait_for settled_steady 900 0.5; then
    early=$(grep -c 'governor: tier' "$dir/warden.log")
    pass "settled $(($(gov_now_ms) - settle_from)) ms after the start: tier normal, probe pressure avg10 $(critical_avg10)% ($early tier change(s) during Warden's start-up)"
    automatic=1
else
    echo "=================================================================="
    echo "GOVERNOR SUITE: the guest never calmed down in 90 s: tier $(sed -n 's/^tier //p' "$state"), the probe alone"
    echo "stalls $(grep '^some' "$group/critical.slice/cpu.pressure") (warning line 10%)."
    echo "A TCG guest on an overloaded host cannot tell idle from overload: automatic cases skipped."
    echo "=================================================================="
    skip "(a), (b), (c): the probe alone stalls above the warning line in this guest (host too loaded)"
    automatic=0
fi
# What the units configure for batch.slice (no CPUQuota=, CPUWeight=100): every restore
# must bring back exactly these.
before_max="max 100000" before_weight=100
if [ "$automatic" = 1 ]; then
    check "batch.slice unthrottled before the overload: cpu.max '$(cat "$batch/cpu.max")', cpu.weight $(cat "$batch/cpu.weight")" \
        test "$(cat "$batch/cpu.max")" = "$before_max" -a "$(cat "$batch/cpu.weight")" = "$before_weight"
fi

if [ "$automatic" = 1 ]; then
    # (a) The overload: 4 hogs on 2 vCPUs from the creation of 'go'.
    onset_line=$(($(wc -l <"$dir/warden.log") + 1))
    reaction=$("$programs/cgroup-watch" --start "$dir/go" --watch "$batch/cpu.max" --timeout 20)
    echo "cgroup-watch: $reaction"
    case "$reaction" in
    *reaction_ms*)
        ms=$(echo "$reaction" | sed 's/.*reaction_ms \([0-9.]*\).*/\1/')
        after=$(cat "$batch/cpu.max")
        check "(a) cpu.max of batch.slice holds the emergency quota: '$after'" test "$after" = "$emergency_max"
        # Within one trigger window, plus one more for what TCG adds (the probe's stall must
        # first build up to the threshold inside the window; a debug Warden under emulation).
        if awk -v r="$ms" -v w="$window_ms" 'BEGIN { exit !(r <= 2 * w) }'; then
            pass "(a) throttled $ms ms after the overload onset (trigger window $window_ms ms)"
        else
            fail "(a) throttled only $ms ms after the overload onset (want <= 2 x the $window_ms ms window)"
        fi
        ;;
    *) abort "(a) the governor did not throttle batch.slice within 20 s of the overload ($reaction)" ;;
    esac
    gov_wait_for "tail -n +$onset_line '$dir/warden.log' | grep -q 'governor: tier critical'" 50
    line=$(tail -n +"$onset_line" "$dir/warden.log" | grep -m1 'governor: tier critical' | sed 's/^warden: //')
    check "(a) warden logs the tier change with its readings: ${line:0:400}" test -n "$line"
    check "(a) the state file records batch.slice cpu.max with its previous value: $(gov_recorded "$state" batch.slice cpu.max)" \
        grep -q "^change group \"batch.slice\" \"batch.slice\" \"cpu.max\" \"$emergency_max\" \"$before_max\"" "$state"
    weight=$(cat "$batch/cpu.weight")
    check "(a) cpu.weight of batch.slice lowered: $before_weight -> $weight" test "$weight" -lt "$before_weight"
    critical_weight=$(cat "$group/critical.slice/cpu.weight")
    check "(a) cpu.weight of critical.slice raised (CriticalCPUWeight=): $before_weight -> $critical_weight, never throttled: cpu.max '$(cat "$group/critical.slice/cpu.max")'" \
        test "$critical_weight" = 10000 -a "$(cat "$group/critical.slice/cpu.max")" = "$before_max"

    # (b) The hogs stop: after CooldownSec= of calm, the values from before, exactly.
    # Calm can begin while the hogs still run, throttled, so the cooldown is measured from
    # the governor's own start of it: `calm-since` in the state file (CLOCK_MONOTONIC µs),
    # put on the wall clock through one pair of readings of both clocks. The step that
    # restores starts a new calm period, so the calm that counts is the one on record
    # while the tier is still critical (tier and calm read from one copy of the file: it
    # is replaced whole at every change).
    read -r mono_us wall_us < <(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000, time.time_ns() // 1000)')
    calm_last=""
    restored_noting_calm() {
        local text calm
        text=$(cat "$state" 2>/dev/null)
        calm=$(echo "$text" | sed -n 's/^calm-since \([0-9]*\)$/\1/p')
        if [ -n "$calm" ] && echo "$text" | grep -qx 'tier critical\|tier severe'; then calm_last=$calm; fi
        [ "$(cat "$batch/cpu.max")" = "$before_max" ]
    }
    stop_ms=$(gov_now_ms)
    wardenctl stop hogs.service >/dev/null || abort "(b) warden stop hogs.service failed or hung (exit $?)"
    if gov_wait_for restored_noting_calm 900; then
        restored_ms=$(gov_now_ms)
        back_ms=$((restored_ms - stop_ms))
        pass "(b) cpu.max restored to '$(cat "$batch/cpu.max")' $back_ms ms after the hogs stopped"
        calm=$calm_last
        if [ -z "$calm" ]; then
            fail "(b) the state file never showed when calm began (calm-since)"
        else
            calm_ms=$((restored_ms - (calm - mono_us + wall_us) / 1000))
            # The poll notices the restore late, never early; 100 ms covers the error of
            # the one clock pair.
            if [ "$calm_ms" -ge $((cooldown_s * 1000 - 100)) ]; then
                pass "(b) not before the cooldown: restored $calm_ms ms after the governor's calm began (CooldownSec=${cooldown_s}s)"
            else
                fail "(b) restored $calm_ms ms after the governor's calm began, sooner than CooldownSec=${cooldown_s}s"
            fi
        fi
        check "(b) cpu.weight restored exactly: $(cat "$batch/cpu.weight")" test "$(cat "$batch/cpu.weight")" = "$before_weight"
        check "(b) critical.slice's cpu.weight restored exactly: $(cat "$group/critical.slice/cpu.weight")" \
            test "$(cat "$group/critical.slice/cpu.weight")" = "$before_weight"
        gov_wait_for "grep -q 'restored: .*batch.slice cpu.max' '$dir/warden.log'" 30
        restored=$(grep -m1 -o 'restored: .*batch.slice cpu.max.*' "$dir/warden.log" | cut -d'(' -f1)
        check "(b) warden logs the values it restored: $restored" \
            sh -c "echo \"\$1\" | grep -q \"batch.slice cpu.max = '$before_max'\" && echo \"\$1\" | grep -q \"batch.slice cpu.weight = '$before_weight'\"" _ "$restored"
        check "(b) the state file holds no change any more" test -z "$(grep '^change ' "$state")"
    else
        abort "(b) cpu.max still '$(cat "$batch/cpu.max")' 90 s after the hogs stopped (want '$before_max')"
    fi

    # (c) Throttled again, then SIGKILL: the throttle must be on record.
    wardenctl start hogs.service >/dev/null || abort "(c) warden start hogs.service failed"
    gov_wait_for "[ \"\$(cat '$batch/cpu.max')\" = '$emergency_max' ]" 200 ||
        abort "(c) the restarted hogs were not throttled within 20 s"
    kill -KILL "$warden_pid"
    # Bounded: one CI run hung somewhere in (c) with nothing said. A Warden that outlives
    # its SIGKILL by 30 s is reported with where its threads are.
    if ! gov_wait_for "killed_state=\$(cut -d')' -f2 /proc/$warden_pid/stat 2>/dev/null | cut -d' ' -f2); [ -z \"\$killed_state\" ] || [ \"\$killed_state\" = Z ]" 300; then
        for task in /proc/"$warden_pid"/task/*; do
            echo "--- $task: $(cut -d')' -f2 "$task/stat" | cut -d' ' -f2) $(cat "$task/wchan" 2>/dev/null)"
            cat "$task/stack" 2>/dev/null
        done
        dump_log
        abort "(c) warden still there 30 s after SIGKILL"
    fi
    wait "$warden_pid" 2>/dev/null
    check "(c) killed while throttled: cpu.max '$(cat "$batch/cpu.max")', state file: $(gov_recorded "$state" batch.slice cpu.max)" accounted
    echo "--- warden restarted after SIGKILL ---" >>"$dir/warden.log"
    restart_line=$(($(wc -l <"$dir/warden.log") + 1))
    gov_start_warden "$warden" "$dir" "$group" "$group/warden.supervisor"
    gov_wait_for "tail -n +$restart_line '$dir/warden.log' | grep -q 'governor: on'" 150 ||
        abort "(c) warden restarted after SIGKILL runs the governor"
    resumed=$(tail -n +"$restart_line" "$dir/warden.log" | grep -m1 'governor: resuming\|governor: tier' | sed 's/^warden: //')
    check "(c) the restarted warden takes up the record: ${resumed:0:300}" test -n "$resumed"
    # Sampled twice a second apart: a restore in progress may be caught between its state
    # write and its cgroup write once, never twice.
    if accounted || { sleep 1 && accounted; }; then
        pass "(c) after the restart: cpu.max '$(cat "$batch/cpu.max")', recorded: $(gov_recorded "$state" batch.slice cpu.max | cut -d' ' -f5-)"
    else
        fail "(c) after the restart: cpu.max '$(cat "$batch/cpu.max")' but the state file has no record of it"
    fi
    wardenctl stop hogs.service >/dev/null
    if gov_wait_for "[ \"\$(cat '$batch/cpu.max')\" = '$before_max' ] && [ -z \"\$(grep '^change ' '$state')\" ]" 900; then
        pass "(c) after the crash, stopping the hogs still restores exactly: cpu.max '$(cat "$batch/cpu.max")', cpu.weight $(cat "$batch/cpu.weight"), no change on record"
        check "(c) cpu.weight back to $before_weight" test "$(cat "$batch/cpu.weight")" = "$before_weight"
    else
        abort "(c) after the crash: cpu.max '$(cat "$batch/cpu.max")', state: $(grep '^change ' "$state" | tr '\n' ' ')"
    fi
fi

# (d) Manual emergency mode through the daemon.
manual_max="30000 100000"
manual() { # label expected-source
    local label=$1 source=$2 out status
    out=$(wardenctl emergency on --cpu-quota 30% --target batch.slice 2>&1)
    status=$?
    check "($label) warden emergency on --cpu-quota 30% --target batch.slice: exit $status: $(echo "$out" | tr '\n' ' ' | cut -c1-200)" test "$status" -eq 0
    check "($label) cpu.max of batch.slice is '$(cat "$batch/cpu.max")'" test "$(cat "$batch/cpu.max")" = "$manual_max"
    out=$(wardenctl emergency status 2>&1)
    check "($label) emergency status lists the change: $(echo "$out" | grep -m1 'cpu.max' | tr -s ' ')" \
        sh -c "echo \"\$1\" | grep -q 'batch.slice' && echo \"\$1\" | grep -q 'cpu.max'" _ "$out"
    out=$(wardenctl emergency status --json 2>&1)
    check "($label) emergency status --json: manual mode, source $source: $(echo "$out" | tr -d ' \n' | cut -c1-160)" \
        sh -c "echo \"\$1\" | tr -d ' \n' | grep -q '\"mode\":\"manual\"' && echo \"\$1\" | tr -d ' \n' | grep -q '\"source\":\"$source\"'" _ "$out"
    out=$(wardenctl emergency off 2>&1)
    status=$?
    check "($label) warden emergency off: exit $status: $(echo "$out" | tr '\n' ' ' | cut -c1-200)" test "$status" -eq 0
    check "($label) cpu.max restored exactly: '$(cat "$batch/cpu.max")'" test "$(cat "$batch/cpu.max")" = "$before_max"
    check "($label) cpu.weight restored exactly: $(cat "$batch/cpu.weight")" test "$(cat "$batch/cpu.weight")" = "$before_weight"
    check "($label) no change left on record" test -z "$(grep '^change ' "$state")"
}
# (e) The protected group goes with its last component and comes back with it: the PSI
# triggers on it must come back too, or the governor would sample every second from then on.
rearm_line=$(($(wc -l <"$dir/warden.log") + 1))
wardenctl stop probe.service >/dev/null
if gov_wait_for "tail -n +$rearm_line '$dir/warden.log' | grep -q 'PSI trigger on .*critical.slice.* is gone'" 100; then
    pass "(e) critical.slice removed with probe.service: $(tail -n +"$rearm_line" "$dir/warden.log" | grep -m1 'is gone' | sed 's/^warden: //' | cut -c1-160)"
    wardenctl start probe.service >/dev/null
    gov_wait_for "tail -n +$rearm_line '$dir/warden.log' | grep -q 'PSI triggers on .*critical.slice.* again'" 100
    back=$(tail -n +"$rearm_line" "$dir/warden.log" | grep -m1 'PSI triggers on .*critical.slice.* again' | sed 's/^warden: //' | cut -c1-160)
    check "(e) probe.service started again, the governor watches its group again: ${back:-$(tail -n +"$rearm_line" "$dir/warden.log" | tail -n 12 | cut -c1-220)}" test -n "$back"
else
    fail "(e) stopping probe.service, critical.slice's only component, did not remove the trigger's group ($(tail -n 3 "$dir/warden.log" | tr '\n' ' ' | cut -c1-200))"
    wardenctl start probe.service >/dev/null
fi

# Automatic decisions driven by this guest's noise would race with the checks after
# 'off' (a new throttle a moment later: under TCG the `warden` commands of the checks
# alone can stall the probe past the critical trigger); the manual mode is tested on a
# daemon whose automatic decisions are off instead (`warden emergency` still works
# there). Manual mode on an automatic daemon: GovernorDriverTests.
kill -TERM "$warden_pid"
wait "$warden_pid"
# What Warden leaves after a clean stop: its own warden.supervisor group.
rmdir "$group/warden.supervisor" "$group" 2>/dev/null
sed -i 's/^Enabled=yes$/Enabled=no/' "$dir/warden.conf"
echo "--- warden restarted with [Governor] Enabled=no for (d) ---" >>"$dir/warden.log"
gov_start_warden "$warden" "$dir" "$group"
gov_wait_for "grep -q 'automatic decisions off' '$dir/warden.log'" 150 ||
    abort "(d) warden restarted with Enabled=no"
gov_wait_for "[ -d '$batch' ]" 100
echo "governor-suite: (d) runs with automatic decisions off: $(grep -m1 'automatic decisions off' "$dir/warden.log" | sed 's/^warden: //')"
manual "d, daemon" daemon

# (d) Without a daemon: Warden killed (its groups stay, as after a crash), the command
# acts on cgroupfs directly, from the state directory's record of the cgroup root.
kill -KILL "$warden_pid"
wait "$warden_pid" 2>/dev/null
warden_pid=
manual "d, no daemon" direct

# Clean up: the processes of this suite's groups and the groups.
echo 1 >"$group/cgroup.kill"
gov_wait_for "[ -z \"\$(find '$group' -name cgroup.procs -exec cat {} + 2>/dev/null)\" ]" 50
find "$group" -depth -type d -exec rmdir {} + 2>/dev/null
[ "$failed" -gt 0 ] && dump_log
finish
