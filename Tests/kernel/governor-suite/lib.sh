# Shared by the governor suite (in-guest.sh) and the governor benchmark
# (bench-in-guest.sh): the test programs, the stack Warden runs, and small helpers.
# Sourced inside a QEMU test-bed guest; bash.

# programs_dir: where the C test programs are. The host side (run, scripts/test,
# scripts/bench-governor) compiles them into .build/kernel-programs; the guest sees the
# host's file system read-only, so compiling there is the fallback (gcc under TCG: slow).
gov_programs() {
    local repo=$1 dir=$repo/.build/kernel-programs p
    for p in lateness-probe cpu-hog cgroup-watch; do
        if [ ! -x "$dir/$p" ] || [ "$repo/Tests/kernel/programs/$p.c" -nt "$dir/$p" ]; then
            dir=/tmp/kernel-programs
            mkdir -p "$dir"
            for p in lateness-probe cpu-hog cgroup-watch; do
                gcc -O2 -o "$dir/$p" "$repo/Tests/kernel/programs/$p.c" || return 1
            done
            break
        fi
    done
    echo "$dir"
}

# gov_write_stack DIR PROGRAMS HOGS GOVERNOR_LINES [PROBE_ARGS]: the stack in DIR.
#   critical.slice (Priority=critical): probe.service, the lateness probe.
#   batch.slice (Priority=batch): hogs.service, HOGS cpu-hog processes that spin once
#   DIR/go exists (the overload onset is the creation of that file); none when HOGS is 0;
#   and batch-idle.service, which sleeps.
# GOVERNOR_LINES is the [Governor] section's body.
gov_write_stack() {
    local dir=$1 programs=$2 hogs=$3 governor=$4 probe_args=${5:-}
    mkdir -p "$dir/units" "$dir/state"
    cat >"$dir/warden.conf" <<CONF
[Warden]
UnitDirectories=$dir/units
StateDirectory=$dir/state
ShutdownBudgetSec=20s
LogLevel=${gov_log_level:-info}

[Governor]
$governor
CONF
    cat >"$dir/units/critical.slice" <<'UNIT'
[Slice]
CPUWeight=100

[X-Warden]
Priority=critical
UNIT
    cat >"$dir/units/batch.slice" <<'UNIT'
[Slice]
CPUWeight=100

[X-Warden]
Priority=batch
UNIT
    cat >"$dir/units/probe.service" <<UNIT
[Service]
ExecStart=$programs/lateness-probe --out $dir/probe.out $probe_args
Slice=critical.slice
UNIT
    # A batch component that stays: Warden removes a slice's group when its last
    # component stops, and the restore after the hogs stop needs batch.slice to remain.
    cat >"$dir/units/batch-idle.service" <<'UNIT'
[Service]
ExecStart=/bin/sleep infinity
Slice=batch.slice
UNIT
    [ "$hogs" -gt 0 ] || return 0
    local i list=""
    for i in $(seq 1 "$hogs"); do list="$list $i"; done
    cat >"$dir/units/hogs.service" <<UNIT
[Service]
ExecStart=/bin/sh -c 'for i in $list; do $programs/cpu-hog --wait-for $dir/go & done; wait'
Slice=batch.slice
UNIT
}

# gov_start_warden WARDEN DIR GROUP: Warden in a delegated group of its own (what a
# Delegate=yes service gets), logging to DIR/warden.log; its pid in warden_pid. Not
# called in $(...): Warden must be this shell's child, for wait.
# An optional 4th argument is the group to join instead: after a crash Warden's group
# has children and controllers enabled for them, so cgroup v2 takes new processes only
# in a leaf such as the warden.supervisor the crashed Warden left.
gov_start_warden() {
    local warden=$1 dir=$2 group=$3 join=${4:-$3}
    mkdir -p "$group"
    if [ "${gov_log_timestamps:-0}" = 1 ]; then
        # Warden's log lines carry no time; the bench wants to know when each tier came.
        sh -c "echo \$\$ >'$join/cgroup.procs' && exec '$warden' run --config '$dir/warden.conf'" \
            > >(gov_stamp_lines >>"$dir/warden.log") 2>&1 &
    else
        sh -c "echo \$\$ >'$join/cgroup.procs' && exec '$warden' run --config '$dir/warden.conf'" >>"$dir/warden.log" 2>&1 &
    fi
    warden_pid=$!
}

# Prefixes each line of stdin with the wall clock in microseconds (EPOCHREALTIME).
gov_stamp_lines() {
    local line
    while IFS= read -r line; do printf '%s %s\n' "${EPOCHREALTIME/[.,]/}" "$line"; done
}

# Waits up to $2 tenths of a second (wall time: a slow guest makes each try cost more)
# for command $1 (a string) to succeed, trying every $3 seconds (default 0.1).
gov_wait_for() {
    local deadline=$(($(gov_now_ms) + $2 * 100))
    until eval "$1"; do
        [ "$(gov_now_ms)" -ge "$deadline" ] && return 1
        sleep "${3:-0.1}"
    done
}

# Milliseconds on the wall clock, without a fork (bash 5's EPOCHREALTIME).
gov_now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}
gov_cat() { cat "$1" 2>/dev/null || echo "(unreadable)"; }
# The governor's change records for FILE of TARGET in a state file ("" when none).
gov_recorded() { grep -s "^change group \"$2\" .* \"$3\" " "$1"; }
