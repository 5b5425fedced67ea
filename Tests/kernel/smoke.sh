#!/bin/sh
# Real-kernel smoke suite for Warden's cgroup v2 assumptions.  Runs INSIDE a
# test-bed guest (Tests/kernel/run-guest), never on the host: it creates
# cgroups, throttles, OOM-kills and fork-bombs inside them.
#
#   Tests/kernel/run-guest [--backend uml|qemu] [--init program|systemd] -- Tests/kernel/smoke.sh
#
# Works under the subtree run-guest prepares (WARDEN_TEST_CGROUP_ROOT, with
# the controllers enabled in its subtree_control).  POSIX sh only.
# The last line is "N passed, N failed, N skipped"; the exit status is 1 when
# any check failed.
export LC_ALL=C
cgroup_mount=/sys/fs/cgroup

if [ "${WARDEN_TESTBED_GUEST:-}" != 1 ]; then
    echo "smoke.sh: SKIPPED: not inside a test-bed guest (WARDEN_TESTBED_GUEST is not 1);" \
        "it writes cgroups and must not run on the host. Use Tests/kernel/run-guest." >&2
    exit 77
fi

passed=0
failed=0
skipped=0
pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1: $2"; }
skip() { skipped=$((skipped + 1)); echo "skip - $1: $2"; }

# Prints the value of KEY in a flat-keyed cgroup file ("key value" lines).
key_value() { # file key
    awk -v key="$2" '$1 == key { print $2; found = 1 } END { if (!found) print "" }' "$1" 2>/dev/null
}

uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# Kills everything in a group (cgroup.kill, Linux 5.14+; SIGKILL per pid
# otherwise) and waits, bounded, until it is empty; then removes it.
destroy_group() { # dir
    [ -d "$1" ] || return 0
    if [ -e "$1/cgroup.kill" ]; then
        echo 1 >"$1/cgroup.kill" 2>/dev/null
    fi
    tries=0
    while [ -n "$(cat "$1/cgroup.procs" 2>/dev/null)" ] && [ "$tries" -lt 100 ]; do
        for pid in $(cat "$1/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        sleep 0.1
        tries=$((tries + 1))
    done
    rmdir "$1" 2>/dev/null
}

new_group() { # name -> prints dir
    dir=$test_root/smoke-$$-$1
    destroy_group "$dir"
    mkdir "$dir" && echo "$dir"
}

# What test binaries built on the host expect of the guest: device nodes, a
# working /proc, loopback up, a writable /tmp, and the Swift runtime from the
# host's /opt/swift.
check_environment() {
    problems=
    echo probe >/dev/null 2>&1 || problems="$problems /dev/null"
    [ "$(head -c 4 /dev/zero | od -An -tx1 | tr -d ' ')" = 00000000 ] || problems="$problems /dev/zero"
    [ "$(head -c 16 /dev/urandom | wc -c)" -eq 16 ] || problems="$problems /dev/urandom"
    [ -e /dev/fd/0 ] || problems="$problems /dev/fd"
    [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || problems="$problems /dev/shm"
    [ -e /dev/ptmx ] && [ -d /dev/pts ] || problems="$problems /dev/pts"
    grep -q '^Pid:' /proc/self/status || problems="$problems /proc"
    tmpfile=$(mktemp) && rm -f "$tmpfile" || problems="$problems /tmp"
    if [ -z "$problems" ]; then
        pass "guest environment: /dev nodes, /dev/fd, /dev/shm, /dev/pts, /proc, writable /tmp"
    else
        fail "guest environment" "broken:$problems"
    fi
    lo_flags=$(cat /sys/class/net/lo/flags 2>/dev/null)
    if [ -n "$lo_flags" ] && [ $((lo_flags & 1)) -eq 1 ]; then
        pass "loopback interface is up"
    else
        fail "loopback" "lo is down (flags '$lo_flags')"
    fi
    swift_core=/opt/swift/usr/lib/swift/linux/libswiftCore.so
    if [ -e "$swift_core" ]; then
        if head -c 4 "$swift_core" | grep -q ELF; then
            pass "Swift runtime is visible ($swift_core)"
        else
            fail "Swift runtime" "$swift_core is not readable as ELF"
        fi
    else
        skip "Swift runtime" "$swift_core is not on the host"
    fi
}

# --- the subtree we may use ---------------------------------------------------
test_root=${WARDEN_TEST_CGROUP_ROOT:-}

check_mount() {
    fstype=$(stat -f -c %T "$cgroup_mount" 2>/dev/null)
    if [ "$fstype" = cgroup2fs ]; then
        pass "cgroup2 is mounted at $cgroup_mount (unified hierarchy)"
    else
        fail "cgroup2 mount" "$cgroup_mount is '$fstype', not cgroup2fs"
    fi
}

check_controllers() {
    available=$(cat "$cgroup_mount/cgroup.controllers" 2>/dev/null)
    for controller in cpu memory pids; do
        case " $available " in
            *" $controller "*) pass "controller $controller is available" ;;
            *) fail "controller $controller" "not in $cgroup_mount/cgroup.controllers ('$available')" ;;
        esac
    done
    if [ -z "$test_root" ] || [ ! -d "$test_root" ]; then
        fail "test subtree" "WARDEN_TEST_CGROUP_ROOT ('$test_root') is not a directory"
        return
    fi
    enabled=$(cat "$test_root/cgroup.subtree_control")
    for controller in cpu memory pids; do
        case " $enabled " in
            *" $controller "*) pass "controller $controller is enabled for children of $test_root" ;;
            *) fail "controller $controller delegation" "not in $test_root/cgroup.subtree_control ('$enabled')" ;;
        esac
    done
}

check_child_group() {
    dir=$(new_group child) || { fail "child group" "mkdir under $test_root failed"; return; }
    missing=
    for file in cpu.max cpu.weight cpu.stat memory.max memory.high memory.events pids.max pids.current cgroup.kill cgroup.freeze; do
        [ -e "$dir/$file" ] || missing="$missing $file"
    done
    if [ -z "$missing" ]; then
        pass "child group has cpu.max, memory.max, pids.max, cgroup.kill, cgroup.freeze"
    else
        fail "child group" "missing:$missing"
    fi
    if echo "50000 100000" >"$dir/cpu.max" && [ "$(cat "$dir/cpu.max")" = "50000 100000" ]; then
        pass "cpu.max round-trips '50000 100000'"
    else
        fail "cpu.max write" "read back '$(cat "$dir/cpu.max" 2>/dev/null)'"
    fi
    if echo 64M >"$dir/memory.max" && [ "$(cat "$dir/memory.max")" = 67108864 ]; then
        pass "memory.max accepts '64M' and reads back 67108864"
    else
        fail "memory.max write" "read back '$(cat "$dir/memory.max" 2>/dev/null)'"
    fi
    destroy_group "$dir"
    if [ -d "$dir" ]; then fail "child group removal" "rmdir $dir failed"; else pass "empty child group is removed by rmdir"; fi
}

check_cpu_max() {
    dir=$(new_group cpu) || { fail "cpu.max throttling" "cannot create a group"; return; }
    echo "20000 100000" >"$dir/cpu.max" || { fail "cpu.max throttling" "cannot write cpu.max"; destroy_group "$dir"; return; }
    start_ms=$(uptime_ms)
    sh -c 'echo $$ >"$1/cgroup.procs" && while :; do :; done' busy "$dir" &
    sleep 2
    usage_usec=$(key_value "$dir/cpu.stat" usage_usec)
    nr_periods=$(key_value "$dir/cpu.stat" nr_periods)
    nr_throttled=$(key_value "$dir/cpu.stat" nr_throttled)
    end_ms=$(uptime_ms)
    destroy_group "$dir"
    wait 2>/dev/null
    wall_ms=$((end_ms - start_ms))
    # Judge usage per enforcement period, not per wall-clock second: under
    # QEMU's TCG a loaded host stretches the guest's wall time around the
    # sleep, while each active 100 ms period should still grant about 20 ms.
    # A partial first or last period pulls the mean down a little, and so
    # does a loaded host starving the guest (UML under a parallel build
    # measured 16.5 ms): the bound that matters for enforcement is the upper.
    per_period_usec=$((usage_usec / (nr_periods > 0 ? nr_periods : 1)))
    share_pct=$((usage_usec / 10 / (wall_ms > 0 ? wall_ms : 1)))
    echo "     cpu.max 20000 100000: usage ${usage_usec} us in ${nr_periods} periods" \
        "(${per_period_usec} us each), ${nr_throttled} throttled; ${share_pct} % of ${wall_ms} ms wall"
    if [ "${nr_throttled:-0}" -gt 0 ]; then
        pass "cpu.max throttles a busy loop (nr_throttled=$nr_throttled)"
    else
        fail "cpu.max throttling" "nr_throttled is '${nr_throttled}'"
    fi
    if [ "${nr_periods:-0}" -ge 5 ] && [ "$per_period_usec" -ge 10000 ] && [ "$per_period_usec" -le 22000 ]; then
        pass "cpu.max holds usage at the quota (${per_period_usec} us per 100 ms period, quota 20000 us)"
    else
        fail "cpu.max usage" "${per_period_usec} us per period over ${nr_periods} periods, expected about 20000"
    fi
}

check_memory_max() {
    dir=$(new_group memory) || { fail "memory.max OOM kill" "cannot create a group"; return; }
    echo 32M >"$dir/memory.max" || { fail "memory.max OOM kill" "cannot write memory.max"; destroy_group "$dir"; return; }
    [ -e "$dir/memory.swap.max" ] && echo 0 >"$dir/memory.swap.max" 2>/dev/null
    # dd reads /dev/zero into one 64 MiB buffer: every page is touched and
    # charged, twice the limit, with no swap to escape to.
    sh -c 'echo $$ >"$1/cgroup.procs" && exec dd if=/dev/zero of=/dev/null bs=64M count=1' hog "$dir" 2>/dev/null
    status=$?
    oom_kill=$(key_value "$dir/memory.events" oom_kill)
    max_events=$(key_value "$dir/memory.events" max)
    echo "     memory.max 32M: dd of 64M exited $status; memory.events oom_kill=$oom_kill max=$max_events"
    destroy_group "$dir"
    if [ "$status" -eq 137 ]; then
        pass "memory.max: a process over the limit is SIGKILLed (status 137)"
    else
        fail "memory.max OOM kill" "dd exited $status, expected 137 (SIGKILL)"
    fi
    if [ "${oom_kill:-0}" -eq 1 ]; then
        pass "memory.events counts oom_kill 1"
    else
        fail "memory.events oom_kill" "is '$oom_kill', expected 1"
    fi
}

check_pids_max() {
    dir=$(new_group pids) || { fail "pids.max" "cannot create a group"; return; }
    limit=24
    echo "$limit" >"$dir/pids.max" || { fail "pids.max" "cannot write pids.max"; destroy_group "$dir"; return; }
    # The bomb keeps the CPU busy too: cap it at half a CPU so the rest of the
    # guest stays responsive; it runs for about 1.5 s and is then killed.
    echo "50000 100000" >"$dir/cpu.max" 2>/dev/null
    sh -c 'echo $$ >"$1/cgroup.procs" || exit 1
           bomb() { bomb | bomb & }
           bomb' bomb "$dir" >/dev/null 2>&1 &
    highest=0
    i=0
    while [ "$i" -lt 15 ]; do
        sleep 0.1
        current=$(cat "$dir/pids.current")
        [ "$current" -gt "$highest" ] && highest=$current
        i=$((i + 1))
    done
    max_events=$(key_value "$dir/pids.events" max)
    destroy_group "$dir"
    wait 2>/dev/null
    echo "     pids.max $limit: fork bomb peaked at $highest tasks; pids.events max=$max_events"
    if [ -d "$dir" ]; then
        fail "pids.max fork bomb" "the bomb's group could not be emptied and removed"
    elif [ "$highest" -le "$limit" ] && [ "${max_events:-0}" -gt 0 ]; then
        pass "pids.max contains a fork bomb (peak $highest <= $limit, $max_events forks refused) and cgroup.kill ends it"
    else
        fail "pids.max fork bomb" "peak $highest (limit $limit), pids.events max '$max_events'"
    fi
}

check_io() {
    case " $(cat "$cgroup_mount/cgroup.controllers") " in
        *" io "*) pass "controller io is available" ;;
        *) skip "controller io" "not available in this kernel" ;;
    esac
}

check_cpuset() {
    case " $(cat "$cgroup_mount/cgroup.controllers") " in
        *" cpuset "*) ;;
        *) skip "cpuset" "controller not available (UML is uniprocessor)"; return ;;
    esac
    cpus=$(nproc)
    if [ "$cpus" -lt 2 ]; then
        skip "cpuset" "only $cpus CPU"
        return
    fi
    dir=$(new_group cpuset) || { fail "cpuset" "cannot create a group"; return; }
    last=$((cpus - 1))
    if ! echo "$last" >"$dir/cpuset.cpus"; then
        fail "cpuset" "cannot write cpuset.cpus=$last"
        destroy_group "$dir"
        return
    fi
    sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 5' pinned "$dir" &
    pinned=$!
    sleep 0.3
    allowed=$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$pinned/status")
    effective=$(cat "$dir/cpuset.cpus.effective")
    destroy_group "$dir"
    wait 2>/dev/null
    if [ "$allowed" = "$last" ] && [ "$effective" = "$last" ]; then
        pass "cpuset.cpus=$last pins a process (Cpus_allowed_list $allowed, effective $effective)"
    else
        fail "cpuset" "Cpus_allowed_list '$allowed', cpuset.cpus.effective '$effective', expected $last"
    fi
}

check_psi() {
    if [ ! -r /proc/pressure/cpu ]; then
        skip "PSI" "/proc/pressure is absent (kernel without CONFIG_PSI, or psi=0)"
        return
    fi
    dir=$(new_group psi) || { fail "PSI" "cannot create a group"; return; }
    if [ ! -r "$dir/cpu.pressure" ]; then
        fail "PSI" "$dir/cpu.pressure is missing although /proc/pressure/cpu exists"
        destroy_group "$dir"
        return
    fi
    # More runnable loops than CPUs: each one waits for a CPU part of the time,
    # which PSI reports as "some" CPU pressure on the group.
    loops=$(($(nproc) + 1))
    i=0
    while [ "$i" -lt "$loops" ]; do
        sh -c 'echo $$ >"$1/cgroup.procs" && while :; do :; done' busy "$dir" &
        i=$((i + 1))
    done
    sleep 2
    some_total=$(awk '$1 == "some" { sub("total=", "", $5); print $5 }' "$dir/cpu.pressure")
    memory_line=$(head -n 1 "$dir/memory.pressure" 2>/dev/null)
    destroy_group "$dir"
    wait 2>/dev/null
    echo "     PSI: $loops loops on $(nproc) CPUs for 2 s: cpu.pressure some total=${some_total} us"
    if [ "${some_total:-0}" -gt 0 ]; then
        pass "PSI: cpu.pressure reports contention in the group (some total=${some_total} us)"
    else
        fail "PSI cpu.pressure" "some total is '$some_total' under contention"
    fi
    case "$memory_line" in
        some\ avg10=*) pass "PSI: memory.pressure has the 'some avg10=' format" ;;
        *) fail "PSI memory.pressure" "unexpected first line '$memory_line'" ;;
    esac
}

echo "smoke: kernel $(uname -r), backend ${WARDEN_TESTBED_BACKEND:-?}, init ${WARDEN_TESTBED_INIT:-?} (PID 1: $(cat /proc/1/comm)), $(nproc) CPU(s), test subtree ${test_root:-none}"
check_environment
check_mount
check_controllers
if [ -n "$test_root" ] && [ -d "$test_root" ]; then
    check_child_group
    check_cpu_max
    check_memory_max
    check_pids_max
    check_io
    check_cpuset
    check_psi
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
