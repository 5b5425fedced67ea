#!/bin/bash
# The real-kernel `warden run` suite, run INSIDE a test-bed guest (../run-guest):
# starts the built `warden` binary with generated unit files and proves from the
# kernel's own counters that the settings hold in the cgroups Warden creates.
#
#   Tests/kernel/run-guest --init program -- Tests/kernel/warden-suite/in-guest.sh
#   Tests/kernel/run-guest --init systemd -- Tests/kernel/warden-suite/in-guest.sh
#
# program init: Warden in a delegated group of its own (a+b+c+d+e+f), Warden as PID 1
#   of a pid + cgroup + mount namespace (the container case: run-guest's program-init
#   is a shell that runs the command as its child, so Warden cannot be the guest's own
#   PID 1), and Warden in the guest's shared root cgroup (must run without cgroups).
# systemd init: Warden as a Delegate=yes service started with systemd-run (g).
# Prints PASS/FAIL/SKIP lines and, last, "N passed, N failed, N skipped"; exit 0 only
# when nothing failed, 77 when it cannot run here.
set -u
. "$(dirname "$0")/../guest/suite-guard.sh"
require_testbed_cgroup warden-suite
repo=$(cd "$(dirname "$0")/../../.." && pwd -P)
warden=${WARDEN_BINARY:-$repo/.build/debug/warden}
if [ ! -x "$warden" ]; then
    echo "warden-suite: $warden is missing: run 'swift build' on the host first" >&2
    exit 77
fi
mode=${WARDEN_TESTBED_INIT:-program}
started=$(date +%s.%N)
work=$(mktemp -d /tmp/warden-suite.XXXXXX)
passed=0 failed=0 skipped=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "SKIP: $*"; skipped=$((skipped + 1)); }
check() { # description command...
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
now_usec() { echo $(($(date +%s%N) / 1000)); }
usage_usec() { sed -n 's/^usage_usec //p' "$1/cpu.stat"; }
# Waits up to $2 tenths of a second for command $1 (a string) to succeed.
wait_for() {
    local tries=0
    until eval "$1"; do
        tries=$((tries + 1))
        [ "$tries" -ge "$2" ] && return 1
        sleep 0.1
    done
}
first_pid() { head -n 1 "$1/cgroup.procs" 2>/dev/null; }
# Every process in a subtree (cgroup.procs of every group beneath it).
procs_beneath() { find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null; }
groups_beneath() { find "$1" -mindepth 1 -type d 2>/dev/null | sed "s|^$1/||" | sort; }

echo "warden-suite: $(uname -r), $(nproc) CPU(s), init $mode, root $root: $(cat "$root/cgroup.controllers")"

# write_units DIR: the components of the main case.
write_units() {
    local dir=$1
    mkdir -p "$dir/units" "$dir/state"
    cat >"$dir/warden.conf" <<EOF
[Warden]
UnitDirectories=$dir/units
StateDirectory=$dir/state
ShutdownBudgetSec=20s
EOF
    # (a) a CPU hog under CPUQuota=20%
    cat >"$dir/units/quota-hog.service" <<'EOF'
[Service]
ExecStart=/bin/sh -c 'while :; do :; done'
Slice=hogs.slice
CPUQuota=20%
EOF
    # (b) a memory hog over MemoryMax=32M: dd's 64 MiB buffer; dd is the main
    # process, so the OOM killer's SIGKILL is the main process's end.
    cat >"$dir/units/memory-hog.service" <<'EOF'
[Service]
ExecStart=/bin/dd if=/dev/zero of=/dev/null bs=64M count=1
MemoryMax=32M
Restart=on-failure
RestartSec=1s
StartLimitBurst=100
EOF
    # (c) a bounded fork bomb under TasksMax=16: 60 forks, each child sleeping; the
    # forks past the limit fail (EAGAIN) and are counted, not fatal (a shell would
    # exit at its first failed fork).
    cat >"$dir/units/fork-bomb.service" <<'EOF'
[Service]
ExecStart=/usr/bin/python3 -c 'import os, time\nrefused = 0\nfor i in range(60):\n    try:\n        if os.fork() == 0:\n            time.sleep(600)\n            os._exit(0)\n    except OSError:\n        refused += 1\nprint("forks refused:", refused, flush=True)\ntime.sleep(600)'
TasksMax=16
EOF
    # (d) per-process settings
    cat >"$dir/units/limits.service" <<'EOF'
[Service]
ExecStart=/bin/sleep 600
Nice=7
LimitNOFILE=1234:2345
EOF
    # (h) AllowedCPUs=1 pins the component, where the guest has a second CPU (the
    # QEMU tier). On one CPU, check-config rightly refuses a CPU the host lacks.
    if [ "$(nproc)" -ge 2 ]; then
        cat >"$dir/units/pinned.service" <<'EOF'
[Service]
ExecStart=/bin/sleep 600
AllowedCPUs=1
EOF
    fi
}

# write_weight_units DIR: (e), added by a reload.
write_weight_units() {
    for w in 200 100; do
        cat >"$1/units/weight-$w.service" <<EOF
[Service]
ExecStart=/bin/sh -c 'while :; do :; done'
Slice=weights.slice
CPUWeight=$w
# Both on CPU 0, so they contend even on a 2-CPU guest (the QEMU tier).
CPUAffinity=0
EOF
    done
}

# ---------------------------------------------------------------------------
# Warden in a delegated group of its own (as a Delegate=yes service or a
# container's root would give it): a, b, c, d, e, f.
# ---------------------------------------------------------------------------
delegated_case() {
    local dir=$work/delegated group=$root/warden-delegated
    write_units "$dir"
    mkdir -p "$group"
    # The shell moves itself into the empty group, then becomes Warden.
    sh -c "echo \$\$ >'$group/cgroup.procs' && exec '$warden' run --config '$dir/warden.conf'" \
        >"$dir/warden.log" 2>&1 &
    local warden_pid=$!
    if ! wait_for "grep -q 'cgroups: managing' '$dir/warden.log'" 50; then
        fail "warden manages its delegated group"
        cat "$dir/warden.log"
        kill -TERM "$warden_pid" 2>/dev/null
        wait "$warden_pid"
        return
    fi
    pass "warden manages its delegated group ($(grep -m1 'cgroups: managing' "$dir/warden.log" | sed 's/^warden: //'))"
    check "warden moved itself into warden.supervisor" grep -qx "$warden_pid" "$group/warden.supervisor/cgroup.procs"
    check "no process in warden's group itself (no-internal-processes rule)" test -z "$(cat "$group/cgroup.procs")"

    local hog=$group/hogs.slice/quota-hog.service
    wait_for "[ -n \"\$(first_pid '$hog')\" ]" 50
    check "CPUQuota=20% written: cpu.max = $(cat "$hog/cpu.max" 2>/dev/null)" grep -qx '20000 100000' "$hog/cpu.max"

    # (a) 5 s of the hog's usage_usec against wall time.
    local u0 t0 u1 t1 th0 th1
    u0=$(usage_usec "$hog") t0=$(now_usec) th0=$(sed -n 's/^nr_throttled //p' "$hog/cpu.stat")
    sleep 5
    u1=$(usage_usec "$hog") t1=$(now_usec) th1=$(sed -n 's/^nr_throttled //p' "$hog/cpu.stat")
    local permille=$(((u1 - u0) * 1000 / (t1 - t0)))
    local shown="$((permille / 10)).$((permille % 10)) % of a CPU over $(((t1 - t0) / 1000)) ms, throttled in $((th1 - th0)) periods"
    if [ "$permille" -le 220 ] && [ "$permille" -ge 100 ] && [ $((th1 - th0)) -gt 0 ]; then
        pass "(a) CPUQuota=20% hog: $shown"
    else
        fail "(a) CPUQuota=20% hog: $shown (want 10-22 %, throttled)"
    fi

    # (b) OOM kill, said in the log, restarted per Restart=on-failure.
    local mem=$group/system.slice/memory-hog.service
    if wait_for "[ \$(grep -c 'OOM kill:' '$dir/warden.log') -ge 2 ]" 60; then
        pass "(b) MemoryMax=32M: OOM kill logged $(grep -c 'OOM kill:' "$dir/warden.log") times: $(grep -m1 'OOM kill:' "$dir/warden.log")"
    else
        fail "(b) MemoryMax=32M: no OOM kill in Warden's log"
    fi
    check "(b) restarted after the OOM kill: $(grep -m1 'restarting in' "$dir/warden.log" | sed 's/^warden//')" \
        grep -q "oom-kill; restarting in" "$dir/warden.log"
    if grep -q "automatic restart #" "$dir/warden.log"; then
        pass "(b) automatic restart seen ($(grep -c 'automatic restart #' "$dir/warden.log") so far)"
    else
        fail "(b) no automatic restart"
    fi
    check "(b) stop logs the peak memory: $(grep -m1 'memory-hog\]: stopped; peak memory' "$dir/warden.log" | sed 's/^warden//')" \
        grep -q 'memory-hog\]: stopped; peak memory' "$dir/warden.log"

    # (c) the fork bomb stops at TasksMax=16.
    local bomb=$group/system.slice/fork-bomb.service
    wait_for "grep -q 'forks refused' '$dir/warden.log'" 50
    local current max_events
    current=$(cat "$bomb/pids.current" 2>/dev/null) max_events=$(sed -n 's/^max //p' "$bomb/pids.events" 2>/dev/null)
    if [ "${current:-0}" -le 16 ] && [ "${current:-0}" -ge 12 ] && [ "${max_events:-0}" -gt 0 ]; then
        pass "(c) TasksMax=16 fork bomb: pids.current $current, pids.max $(cat "$bomb/pids.max"), refused forks (pids.events max) $max_events, $(grep -m1 -o 'forks refused.*' "$dir/warden.log")"
    else
        fail "(c) TasksMax=16 fork bomb: pids.current ${current:-?}, pids.events max ${max_events:-?}"
    fi

    # (d) Nice= and LimitNOFILE= in /proc/PID.
    local limits_group=$group/system.slice/limits.service pid
    pid=$(first_pid "$limits_group")
    if [ -n "$pid" ]; then
        local nice nofile
        nice=$(awk '{print $19}' "/proc/$pid/stat")
        nofile=$(awk '/^Max open files/ {print $4, $5}' "/proc/$pid/limits")
        if [ "$nice" = 7 ] && [ "$nofile" = "1234 2345" ]; then
            pass "(d) Nice=7 and LimitNOFILE=1234:2345 in /proc/$pid (nice $nice, open files $nofile)"
        else
            fail "(d) /proc/$pid: nice '$nice' (want 7), open files '$nofile' (want 1234 2345)"
        fi
    else
        fail "(d) limits.service has no process in $limits_group"
    fi

    # (h) AllowedCPUs=1 -> cpuset.cpus of the component's group, seen by the kernel in
    # the process's Cpus_allowed_list.
    local pinned_group=$group/system.slice/pinned.service pinned_pid allowed
    case " $(cat "$root/cgroup.controllers") " in
    *" cpuset "*)
        if [ "$(nproc)" -lt 2 ]; then
            skip "(h) AllowedCPUs=1: only $(nproc) CPU"
        else
            pinned_pid=$(first_pid "$pinned_group")
            allowed=$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$pinned_pid/status" 2>/dev/null)
            if [ "$allowed" = 1 ]; then
                pass "(h) AllowedCPUs=1 pins pinned.service (pid $pinned_pid, Cpus_allowed_list $allowed)"
            else
                fail "(h) AllowedCPUs=1: pid '$pinned_pid' has Cpus_allowed_list '$allowed' (want 1)"
            fi
        fi
        ;;
    *)
        skip "(h) AllowedCPUs=1: no cpuset controller in this guest (UML is uniprocessor; the QEMU tier runs it)"
        ;;
    esac

    # (e) CPUWeight=200 vs 100, added by a reload (SIGHUP).
    write_weight_units "$dir"
    kill -HUP "$warden_pid"
    local w200=$group/weights.slice/weight-200.service w100=$group/weights.slice/weight-100.service
    if wait_for "[ -n \"\$(first_pid '$w200')\" ] && [ -n \"\$(first_pid '$w100')\" ]" 50; then
        sleep 0.5
        local a0 b0 a1 b1
        a0=$(usage_usec "$w200") b0=$(usage_usec "$w100")
        sleep 4
        a1=$(usage_usec "$w200") b1=$(usage_usec "$w100")
        local da=$((a1 - a0)) db=$((b1 - b0))
        local ratio=$((da * 100 / (db > 0 ? db : 1)))
        local shown="weight 200: $((da / 1000)) ms, weight 100: $((db / 1000)) ms, ratio $((ratio / 100)).$(printf %02d $((ratio % 100)))"
        if [ "$ratio" -ge 180 ] && [ "$ratio" -le 220 ]; then
            pass "(e) CPUWeight 200 vs 100 (added by reload): $shown"
        else
            fail "(e) CPUWeight 200 vs 100: $shown (want 1.80-2.20)"
        fi
    else
        fail "(e) the reload did not start the weight hogs"
        grep reload "$dir/warden.log"
    fi

    # (f) SIGTERM: exit 0, no process and no group of Warden's left.
    kill -TERM "$warden_pid"
    local status=0
    wait "$warden_pid" || status=$?
    check "(f) warden exited 0 after SIGTERM (status $status)" test "$status" -eq 0
    local left_groups left_procs
    left_groups=$(groups_beneath "$group" | grep -vx warden.supervisor)
    left_procs=$(procs_beneath "$group")
    check "(f) no group left but warden.supervisor (found: ${left_groups:-none})" test -z "$left_groups"
    check "(f) no process left in Warden's subtree (found: ${left_procs:-none})" test -z "$left_procs"
    check "(f) warden said the subtree was removed" grep -q 'cgroup subtree removed' "$dir/warden.log"
    rmdir "$group/warden.supervisor" "$group" 2>/dev/null
    if [ "$failed" -gt 0 ]; then
        echo "--- warden log (delegated case) ---"
        grep -v 'OOM kill\|oom-kill\|automatic restart\|memory-hog' "$dir/warden.log" | tail -n 40
    fi
}

# ---------------------------------------------------------------------------
# Warden as PID 1 of a container: new pid, mount and cgroup namespaces with
# cgroup2 mounted at the namespace's root, as a container runtime sets it up.
# ---------------------------------------------------------------------------
pid1_case() {
    local dir=$work/pid1 group=$root/warden-container
    mkdir -p "$dir/units" "$dir/state" "$group"
    cat >"$dir/warden.conf" <<EOF
[Warden]
UnitDirectories=$dir/units
StateDirectory=$dir/state
EOF
    cat >"$dir/units/hog.service" <<'EOF'
[Service]
ExecStart=/bin/sh -c 'while :; do :; done'
CPUQuota=20%
EOF
    cat >"$dir/units/daemon.service" <<'EOF'
[Service]
ExecStart=/bin/sh -c '/usr/bin/setsid /bin/sleep 600 & exec /bin/sleep 600'
EOF
    if ! command -v unshare >/dev/null; then
        skip "Warden as PID 1: no unshare(1)"
        return
    fi
    # Outer: new pid namespace (its first process joins the group); inner: a cgroup
    # namespace rooted there, and cgroup2 mounted so /sys/fs/cgroup is that root.
    unshare --pid --fork --mount-proc sh -c "
        echo \$\$ >'$group/cgroup.procs' || exit 90
        exec unshare --cgroup --mount sh -c 'umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$warden\" run --config \"$dir/warden.conf\"'
    " >"$dir/warden.log" 2>&1 &
    local outer=$!
    if ! wait_for "grep -q 'cgroups: managing' '$dir/warden.log'" 50; then
        fail "PID 1: warden manages the container's cgroup"
        cat "$dir/warden.log"
        kill -TERM "$outer" 2>/dev/null
        wait "$outer"
        return
    fi
    check "PID 1: warden runs as PID 1 ($(grep -m1 'starting' "$dir/warden.log" | sed 's/^warden: //'))" \
        grep -q 'as PID 1' "$dir/warden.log"
    check "PID 1: manages the namespace's root ($(grep -m1 'cgroups: managing' "$dir/warden.log" | sed 's/^warden: //'))" \
        grep -q 'cgroups: managing /sys/fs/cgroup ' "$dir/warden.log"
    local hog=$group/system.slice/hog.service
    wait_for "[ -n \"\$(first_pid '$hog')\" ]" 50
    local u0 t0 u1 t1
    u0=$(usage_usec "$hog") t0=$(now_usec)
    sleep 2
    u1=$(usage_usec "$hog") t1=$(now_usec)
    local permille=$(((u1 - u0) * 1000 / (t1 - t0)))
    if [ "$permille" -le 220 ] && [ "$permille" -ge 100 ]; then
        pass "PID 1: CPUQuota=20% holds: $((permille / 10)).$((permille % 10)) % over 2 s"
    else
        fail "PID 1: CPUQuota=20%: $((permille / 10)).$((permille % 10)) % over 2 s"
    fi
    check "PID 1: the setsid()ed child and the main process are in daemon.service's group" \
        test "$(wc -l <"$group/system.slice/daemon.service/cgroup.procs" 2>/dev/null)" -eq 2
    local warden_pid
    warden_pid=$(cat "$group/warden.supervisor/cgroup.procs")
    kill -TERM "$warden_pid"
    local status=0
    wait "$outer" || status=$?
    check "PID 1: warden exited 0 after SIGTERM (status $status)" test "$status" -eq 0
    local left_groups left_procs
    left_groups=$(groups_beneath "$group" | grep -vx warden.supervisor)
    left_procs=$(procs_beneath "$group")
    check "PID 1: no group left but warden.supervisor (found: ${left_groups:-none})" test -z "$left_groups"
    check "PID 1: no process left (found: ${left_procs:-none})" test -z "$left_procs"
    rmdir "$group/warden.supervisor" "$group" 2>/dev/null
    [ "$failed" -gt 0 ] && tail -n 30 "$dir/warden.log"
}

# ---------------------------------------------------------------------------
# Warden in a cgroup shared with other processes (the guest's root cgroup):
# it must not take it over, and must still run the components.
# ---------------------------------------------------------------------------
shared_case() {
    local dir=$work/shared
    mkdir -p "$dir/units" "$dir/state"
    printf '[Warden]\nUnitDirectories=%s/units\nStateDirectory=%s/state\n' "$dir" "$dir" >"$dir/warden.conf"
    printf '[Service]\nExecStart=/bin/sleep 600\nCPUQuota=20%%\n' >"$dir/units/sleeper.service"
    local before
    before=$(find /sys/fs/cgroup -mindepth 1 -type d | sort)
    "$warden" run --config "$dir/warden.conf" >"$dir/warden.log" 2>&1 &
    local warden_pid=$!
    wait_for "grep -q 'sleeper\]: started' '$dir/warden.log'" 50
    check "shared root cgroup: warden runs without cgroups ($(grep -m1 'running without cgroups' "$dir/warden.log" | cut -c1-110)…)" \
        grep -q 'running without cgroups: /sys/fs/cgroup also holds other processes' "$dir/warden.log"
    check "shared root cgroup: says CPUQuota= is not enforced" grep -q 'not enforced: CPUQuota= on sleeper.service' "$dir/warden.log"
    check "shared root cgroup: the component runs" grep -q 'sleeper\]: started' "$dir/warden.log"
    check "shared root cgroup: no group created or removed" test "$(find /sys/fs/cgroup -mindepth 1 -type d | sort)" = "$before"
    kill -TERM "$warden_pid"
    local status=0
    wait "$warden_pid" || status=$?
    check "shared root cgroup: warden exited 0 (status $status)" test "$status" -eq 0
}

# ---------------------------------------------------------------------------
# (g) Warden as a Delegate=yes service under the guest's systemd.
# ---------------------------------------------------------------------------
systemd_case() {
    local dir=$work/systemd unit=warden-under-test
    write_units "$dir"
    rm -f "$dir/units/memory-hog.service" "$dir/units/fork-bomb.service"
    if ! systemd-run --unit=$unit -p Delegate=yes -p Type=exec -p KillMode=mixed \
        -p StandardOutput=file:"$dir/warden.log" -p StandardError=file:"$dir/warden.log" \
        "$warden" run --config "$dir/warden.conf" >/dev/null 2>&1; then
        fail "(g) systemd-run could not start warden"
        return
    fi
    local group
    group=/sys/fs/cgroup$(systemctl show -P ControlGroup $unit)
    if ! wait_for "grep -q 'cgroups: managing' '$dir/warden.log'" 80; then
        fail "(g) warden manages its Delegate=yes group"
        cat "$dir/warden.log"
        systemctl stop $unit
        return
    fi
    pass "(g) warden manages its Delegate=yes group ($(grep -m1 'cgroups: managing' "$dir/warden.log" | sed 's/^warden: //'))"
    check "(g) MainPID is in warden.supervisor" grep -qx "$(systemctl show -P MainPID $unit)" "$group/warden.supervisor/cgroup.procs"
    local hog=$group/hogs.slice/quota-hog.service
    wait_for "[ -n \"\$(first_pid '$hog')\" ]" 50
    local u0 t0 u1 t1
    u0=$(usage_usec "$hog") t0=$(now_usec)
    sleep 3
    u1=$(usage_usec "$hog") t1=$(now_usec)
    local permille=$(((u1 - u0) * 1000 / (t1 - t0)))
    if [ "$permille" -le 220 ] && [ "$permille" -ge 100 ]; then
        pass "(g) CPUQuota=20% under systemd: $((permille / 10)).$((permille % 10)) % over 3 s"
    else
        fail "(g) CPUQuota=20% under systemd: $((permille / 10)).$((permille % 10)) % over 3 s"
    fi
    local pid
    pid=$(first_pid "$group/system.slice/limits.service")
    check "(g) Nice=7 in /proc/${pid:-?}/stat" test "$(awk '{print $19}' "/proc/$pid/stat" 2>/dev/null)" = 7
    # systemctl stop: SIGTERM to Warden (KillMode=mixed: the rest only if left).
    systemctl stop $unit
    local result status
    result=$(systemctl show -P Result $unit 2>/dev/null)
    status=$(systemctl show -P ExecMainStatus $unit 2>/dev/null)
    # A stopped transient unit is garbage-collected; the log tells the exit then.
    check "(g) warden stopped cleanly (Result '${result:-gone}', ExecMainStatus '${status:-gone}', log: $(tail -n 1 "$dir/warden.log" | sed 's/^warden: //'))" \
        grep -q 'exit status 0' "$dir/warden.log"
    check "(g) warden said the subtree was removed" grep -q 'cgroup subtree removed' "$dir/warden.log"
    check "(g) the unit's group is gone (systemd removed it after Warden's subtree)" test ! -d "$group"
    [ "$failed" -gt 0 ] && tail -n 30 "$dir/warden.log"
}

case "$mode" in
    program)
        delegated_case
        pid1_case
        shared_case
        ;;
    systemd)
        systemd_case
        ;;
    *)
        skip "unknown init mode '$mode'"
        ;;
esac

rm -rf "$work"
elapsed=$(echo "$(date +%s.%N) $started" | awk '{printf "%.1f", $1 - $2}')
echo "warden-suite: $mode init took $elapsed s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
