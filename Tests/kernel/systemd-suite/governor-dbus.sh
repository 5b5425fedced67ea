#!/bin/sh
# The governor's systemd slice throttle and `warden emergency` against a real systemd 252
# as PID 1: D-Bus SetUnitProperties(runtime) on system.slice, read back with systemctl.
# Runs INSIDE a test-bed guest booted with systemd, never on the host: it throttles
# system.slice.
#
#   Tests/kernel/run-guest --init systemd -- Tests/kernel/systemd-suite/governor-dbus.sh
#
# 1. Without a daemon: `warden emergency on --cpu-quota 30%` sets system.slice's
#    CPUQuotaPerSecUSec to 300ms and its CPUWeight to EmergencyCPUWeight= (1); `status
#    --json` lists both changes with the previous values; `off` puts `infinity` and
#    `[not set]` back (systemd's unset, not the 100 it stands for). A weight set before
#    (CPUWeight=50) is lowered and put back exactly; one already lower (CPUWeight=1 against
#    EmergencyCPUWeight=5) is never raised; EmergencyCPUWeight=idle sets CPUWeight=idle
#    (cpu.idle 1) and off takes it back to [not set].
# 2. Conflict: an operator's `systemctl set-property --runtime system.slice CPUQuota=70%`
#    while throttled is left as found by `off`, which says so and exits 1.
# 3. `on --for 5s` without a daemon: a transient systemd timer
#    (warden-emergency-expiry-*.timer) ends it by itself.
# 4. With a daemon (`warden run` as a Delegate=yes service): `on` through the socket
#    throttles system.slice and the batch component; SIGKILL leaves the record in the
#    state file; a new daemon resumes it and `off` restores exactly; SIGTERM while
#    throttled restores system.slice before Warden exits.
# Prerequisite on the host: swift build.
# Prints "ok   - ..." / "FAIL - ..." and, last, "governor-dbus: N passed, N failed";
# exit 1 when anything failed, 77 when it cannot run here.
export LC_ALL=C
if [ "${WARDEN_TESTBED_GUEST:-}" != 1 ] || [ "${WARDEN_TESTBED_INIT:-}" != systemd ]; then
    echo "governor-dbus: SKIPPED: needs a test-bed guest with systemd as PID 1" \
        "(Tests/kernel/run-guest --init systemd -- $0)" >&2
    exit 77
fi
cd "$(dirname "$0")/../../.." || exit 1
warden=$PWD/.build/debug/warden
if [ ! -x "$warden" ]; then
    echo "governor-dbus: SKIPPED: $warden is not built (run swift build on the host)" >&2
    exit 77
fi

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1: $2"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
started=$(uptime_s)

slice=system.slice
daemon_unit=warden-governor-test
work=$(mktemp -d /tmp/governor-dbus.XXXXXX)
quota() { systemctl show "$slice" -p CPUQuotaPerSecUSec --value; }
weight() { systemctl show "$slice" -p CPUWeight --value; }
kernel_weight() { cat "/sys/fs/cgroup/$slice/cpu.weight" 2>/dev/null; }
# Waits up to $2 tenths of a second for the shell condition $1.
wait_for() {
    tries=0
    until eval "$1"; do
        tries=$((tries + 1))
        [ "$tries" -ge "$2" ] && return 1
        sleep 0.1
    done
}

# Whatever happens, leave no throttle, daemon or timer behind.
cleanup() {
    systemctl stop "$daemon_unit" >/dev/null 2>&1
    systemctl reset-failed "$daemon_unit" >/dev/null 2>&1
    for unit in $(systemctl list-units --all --plain --no-legend 'warden-emergency-expiry-*' | awk '{print $1}'); do
        systemctl stop "$unit" >/dev/null 2>&1
        systemctl reset-failed "$unit" >/dev/null 2>&1
    done
    systemctl set-property --runtime "$slice" CPUQuota= CPUWeight= >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

original=$(quota)
if [ "$original" = infinity ]; then
    pass "$slice starts unthrottled (CPUQuotaPerSecUSec=infinity)"
else
    fail "$slice starts unthrottled" "CPUQuotaPerSecUSec is '$original'"
fi
original_weight=$(weight)
if [ "$original_weight" = "[not set]" ]; then
    pass "$slice starts with no weight of its own (CPUWeight=[not set], cpu.weight $(kernel_weight))"
else
    fail "$slice starts with no weight of its own" "CPUWeight is '$original_weight'"
fi

# A critical slice with a component in it and a batch component: the configuration the
# governor protects and throttles. The automatic thresholds are out of reach (the guest's
# own load must not throttle anything by itself during the test). Automatic decisions are
# off besides: a guest booting under TCG is fully busy for seconds at a time, and what
# this suite checks is the manual emergency and its exact restore; the automatic tiers
# are the QEMU governor suite's.
write_config() { # directory
    mkdir -p "$1/units" "$1/state"
    cat >"$1/warden.conf" <<CONF
[Warden]
UnitDirectories=$1/units
StateDirectory=$1/state
LogTarget=stderr
[Governor]
ThrottleSlices=$slice
Enabled=no
LoadPerCPUWarning=500.0
LoadPerCPUCritical=1000.0
CPUWarning=99%
CPUCritical=100%
MemoryWarning=99%
MemoryCritical=100%
CPUPressureWarning=99%
CPUPressureCritical=100%
MemoryPressureCritical=100%
IOPressureCritical=100%
CONF
    printf '[Slice]\nCPUWeight=1000\n[X-Warden]\nPriority=critical\n' >"$1/units/critical.slice"
    printf '[Service]\nExecStart=/bin/sleep 600\nSlice=critical.slice\n' >"$1/units/feed.service"
    printf '[Service]\nExecStart=/bin/sleep 600\nCPUQuota=80%%\n[X-Warden]\nPriority=batch\n' >"$1/units/batch.service"
}
# The change records of a throttled system.slice in `status --json` (stable shape, sorted keys).
change_json() { # written previous [property]
    printf '{"file":"%s","kind":"systemd-slice","path":"%s","previous":"%s","target":"%s","written":"%s"}' \
        "${3:-CPUQuotaPerSecUSec}" "$slice" "$2" "$slice" "$1"
}

# --- 0. no configuration at all: the runbook's `systemctl set-property` needs no file, and
# neither does `warden emergency` (defaults: no component, ThrottleSlices= system.slice
# user.slice, state in /run/warden). The guest's /etc is its own: the configuration an
# earlier part installed is set aside for this part and put back.
aside=
if [ -e /etc/warden ]; then
    aside=/etc/warden.aside-$$
    mv /etc/warden "$aside" || aside=
fi
if [ ! -e /etc/warden ]; then
    if out=$("$warden" emergency on --cpu-quota 30% --target "$slice" 2>&1) && [ "$(quota)" = 300ms ] && [ "$(weight)" = 1 ]; then
        pass "unconfigured: warden emergency on --cpu-quota 30% --target $slice with no /etc/warden: CPUQuotaPerSecUSec=300ms CPUWeight=1"
    else
        fail "unconfigured: emergency on" "exit $?, quota '$(quota)', weight '$(weight)': $out"
    fi
    out=$("$warden" emergency status 2>&1)
    if echo "$out" | grep -q "$slice"; then
        pass "unconfigured: emergency status lists $slice"
    else
        fail "unconfigured: emergency status" "$out"
    fi
    if out=$("$warden" emergency off 2>&1) && [ "$(quota)" = infinity ] && [ "$(weight)" = "[not set]" ]; then
        pass "unconfigured: emergency off puts infinity and [not set] back"
    else
        fail "unconfigured: emergency off" "exit $?, quota '$(quota)', weight '$(weight)': $out"
    fi
    systemctl set-property --runtime "$slice" CPUQuota= CPUWeight= >/dev/null 2>&1
else
    fail "unconfigured" "/etc/warden could not be set aside in this guest"
fi
[ -n "$aside" ] && mv "$aside" /etc/warden

# --- 1. direct mode: on, status, off ------------------------------------------------------
direct=$work/direct
write_config "$direct"
em() { "$warden" emergency "$@" --config "$direct/warden.conf"; }
if out=$(em on --cpu-quota 30% 2>&1); then
    pass "direct: warden emergency on --cpu-quota 30% ($(echo "$out" | head -1))"
else
    fail "direct: warden emergency on" "exit $?: $out"
fi
got=$(quota)
if [ "$got" = 300ms ]; then pass "direct: $slice CPUQuotaPerSecUSec=300ms"; else fail "direct: $slice throttled" "CPUQuotaPerSecUSec is '$got', want 300ms"; fi
got=$(cat "/sys/fs/cgroup/$slice/cpu.max" 2>/dev/null)
if [ "$got" = "30000 100000" ]; then pass "direct: the kernel has it: $slice/cpu.max '$got'"; else fail "direct: $slice/cpu.max" "'$got', want '30000 100000'"; fi
got=$(weight)
if [ "$got" = 1 ] && [ "$(kernel_weight)" = 1 ]; then
    pass "direct: $slice CPUWeight=1 (EmergencyCPUWeight=), cpu.weight $(kernel_weight)"
else
    fail "direct: $slice weight lowered" "CPUWeight is '$got', cpu.weight '$(kernel_weight)', want 1"
fi
status=$(em status --json 2>&1)
if echo "$status" | grep -qF "$(change_json 300000 infinity)" && echo "$status" | grep -qF "$(change_json 1 '[not set]' CPUWeight)" \
    && echo "$status" | grep -q '"mode":"manual"' && echo "$status" | grep -q '"source":"direct"'; then
    pass "direct: status --json lists $slice CPUQuotaPerSecUSec 300000 (previous infinity) and CPUWeight 1 (previous [not set]), manual mode"
else
    fail "direct: status --json" "$status"
fi
text=$(em status 2>&1)
if echo "$text" | grep -Eq "^ +$slice +CPUWeight +1 +\[not set\]$" && echo "$text" | grep -Eq "^ +$slice +CPUQuotaPerSecUSec +300000 +infinity$"; then
    pass "direct: status shows the weight's row next to the quota's"
else
    fail "direct: status text" "$text"
fi
if grep '^change systemd-slice' "$direct/state/governor.state" 2>/dev/null | grep "$slice" | grep -q '"CPUWeight" "1" "\[not set\]"' \
    && grep '^change systemd-slice' "$direct/state/governor.state" | grep "$slice" | grep -q '"CPUQuotaPerSecUSec" "300000" "infinity"'; then
    pass "direct: the state file records both changes"
else
    fail "direct: state file" "$(cat "$direct/state/governor.state" 2>&1)"
fi
if out=$(em off 2>&1); then
    pass "direct: warden emergency off ($(echo "$out" | head -1))"
else
    fail "direct: warden emergency off" "exit $?: $out"
fi
got=$(quota)
if [ "$got" = "$original" ]; then pass "direct: $slice CPUQuotaPerSecUSec back to '$got'"; else fail "direct: restore" "CPUQuotaPerSecUSec is '$got', want '$original'"; fi
got=$(cat "/sys/fs/cgroup/$slice/cpu.max" 2>/dev/null)
if [ "$got" = "max 100000" ]; then pass "direct: $slice/cpu.max back to '$got'"; else fail "direct: $slice/cpu.max after off" "'$got'"; fi
got=$(weight)
if [ "$got" = "$original_weight" ] && [ "$(kernel_weight)" = 100 ]; then
    pass "direct: $slice CPUWeight back to '$got' (unset again, not 100; cpu.weight $(kernel_weight))"
else
    fail "direct: weight restore" "CPUWeight is '$got', want '$original_weight'; cpu.weight '$(kernel_weight)'"
fi
status=$(em status --json 2>&1)
if echo "$status" | grep -q '"changes":\[\]' && echo "$status" | grep -q '"tier":"normal"' \
    && echo "$status" | grep -q '"mode":"automatic"'; then
    pass "direct: status after off: tier normal, no changes"
else
    fail "direct: status after off" "$status"
fi

# --target names the slice. Warden's own configuration has a system.slice too (where
# batch.service runs, having no Slice=): the name means both.
out=$(em on --cpu-quota 20% --target "$slice" 2>&1)
code=$?
got=$(quota)
if [ "$code" = 0 ] && [ "$got" = 200ms ]; then
    pass "direct: emergency on --target $slice --cpu-quota 20%: CPUQuotaPerSecUSec=200ms"
else
    fail "direct: emergency on --target $slice" "exit $code, CPUQuotaPerSecUSec '$got', want 200ms: $out"
fi
em off >/dev/null 2>&1
got=$(quota)
if [ "$got" = infinity ] && [ "$(weight)" = "[not set]" ]; then
    pass "direct: off after --target: back to infinity, CPUWeight [not set]"
else
    fail "direct: off after --target" "quota '$got', weight '$(weight)'"
fi
systemctl set-property --runtime "$slice" CPUQuota=

# A weight of the slice's own: lowered and put back exactly; one already lower is kept.
systemctl set-property --runtime "$slice" CPUWeight=50
em on --cpu-quota 30% --target "$slice" >/dev/null 2>&1
got=$(weight)
em off >/dev/null 2>&1
if [ "$got" = 1 ] && [ "$(weight)" = 50 ] && [ "$(kernel_weight)" = 50 ]; then
    pass "direct: CPUWeight=50 of its own: 50 -> 1 -> 50 exactly"
else
    fail "direct: a set weight" "during '$got' (want 1), after '$(weight)' (want 50), cpu.weight '$(kernel_weight)'"
fi
systemctl set-property --runtime "$slice" CPUWeight=1
sed -i 's/^\[Governor\]$/[Governor]\nEmergencyCPUWeight=5/' "$direct/warden.conf"
em on --cpu-quota 30% --target "$slice" >/dev/null 2>&1
got=$(weight)
status=$(em status --json 2>&1)
em off >/dev/null 2>&1
sed -i '/^EmergencyCPUWeight=5$/d' "$direct/warden.conf"
if [ "$got" = 1 ] && [ "$(weight)" = 1 ] && ! echo "$status" | grep -q '"file":"CPUWeight"' && echo "$status" | grep -qF "$(change_json 300000 infinity)"; then
    pass "direct: CPUWeight=1 against EmergencyCPUWeight=5: never raised, no record; the quota is throttled"
else
    fail "direct: a lower weight" "during '$got', after '$(weight)' (want 1 both); status $status"
fi
systemctl set-property --runtime "$slice" CPUQuota= CPUWeight=
sed -i 's/^\[Governor\]$/[Governor]\nEmergencyCPUWeight=idle/' "$direct/warden.conf"
em on --cpu-quota 30% --target "$slice" >/dev/null 2>&1
got="$(weight) cpu.idle $(cat "/sys/fs/cgroup/$slice/cpu.idle" 2>/dev/null)"
em off >/dev/null 2>&1
sed -i '/^EmergencyCPUWeight=idle$/d' "$direct/warden.conf"
after="$(weight) cpu.idle $(cat "/sys/fs/cgroup/$slice/cpu.idle" 2>/dev/null)"
if [ "$got" = "idle cpu.idle 1" ] && [ "$after" = "[not set] cpu.idle 0" ]; then
    pass "direct: EmergencyCPUWeight=idle: CPUWeight=idle (cpu.idle 1), then [not set] (cpu.idle 0)"
else
    fail "direct: EmergencyCPUWeight=idle" "during '$got', after '$after'"
fi
systemctl set-property --runtime "$slice" CPUQuota= CPUWeight=

# --- 2. conflict: an operator's own setting is kept ----------------------------------------
em on --cpu-quota 30% >/dev/null 2>&1
systemctl set-property --runtime "$slice" CPUQuota=70%
out=$(em off 2>&1)
code=$?
got=$(quota)
if [ "$got" = 700ms ]; then
    pass "conflict: off leaves the operator's CPUQuota=70% ($slice CPUQuotaPerSecUSec=$got)"
else
    fail "conflict: operator's value kept" "CPUQuotaPerSecUSec is '$got', want 700ms"
fi
if [ "$code" = 1 ] && echo "$out" | grep -q "1 conflict(s) left as found" \
    && echo "$out" | grep -q "$slice CPUQuotaPerSecUSec"; then
    pass "conflict: off exits 1 and reports the conflict ($(echo "$out" | head -1))"
else
    fail "conflict: off's report" "exit $code: $out"
fi
got=$(weight)
if [ "$got" = "[not set]" ]; then
    pass "conflict: the weight nobody touched is restored ([not set])"
else
    fail "conflict: weight restore" "CPUWeight is '$got'"
fi
status=$(em status --json 2>&1)
if echo "$status" | grep -q '"changes":\[\]' && echo "$status" | grep -q '"mode":"automatic"'; then
    pass "conflict: the record is closed (no changes left, automatic mode)"
else
    fail "conflict: status after off" "$status"
fi
systemctl set-property --runtime "$slice" CPUQuota=
got=$(quota)
[ "$got" = infinity ] || fail "conflict: reset by hand" "CPUQuotaPerSecUSec is '$got'"

# --- 3. --for without a daemon: a transient systemd timer ends it ---------------------------
expiry_units() { systemctl list-units --all --plain --no-legend 'warden-emergency-expiry-*' | awk '{print $1}'; }
if out=$(em on --cpu-quota 30% --for 5s 2>&1); then
    pass "for: warden emergency on --for 5s"
else
    fail "for: warden emergency on --for 5s" "exit $?: $out"
fi
timer=$(expiry_units | grep '\.timer$' | head -1)
if [ -n "$timer" ] && echo "$out" | grep -q "expiry: systemd timer $timer"; then
    pass "for: transient $timer is loaded ($(systemctl show "$timer" -p ActiveState --value)) and named in the output"
else
    fail "for: transient timer" "units: '$(expiry_units | tr '\n' ' ')'; output: $out"
fi
if systemctl list-timers --all --no-legend | grep -q "warden-emergency-expiry-"; then
    pass "for: systemctl list-timers lists it"
else
    fail "for: systemctl list-timers" "$(systemctl list-timers --all --no-legend)"
fi
got=$(quota)
if [ "$got" = 300ms ]; then pass "for: $slice throttled meanwhile (300ms)"; else fail "for: throttled meanwhile" "'$got'"; fi
if wait_for '[ "$(quota)" = infinity ] && [ "$(weight)" = "[not set]" ]' 150; then
    pass "for: $slice back to infinity and CPUWeight [not set] by itself after 5 s (guest uptime $(uptime_s) s)"
else
    fail "for: expiry" "CPUQuotaPerSecUSec '$(quota)', CPUWeight '$(weight)' after 15 s; $(journalctl -u "${timer%.timer}.service" --no-pager -o cat 2>&1 | tail -5)"
fi
status=$(em status --json 2>&1)
if echo "$status" | grep -q '"changes":\[\]' && echo "$status" | grep -q '"tier":"normal"' \
    && echo "$status" | grep -q '"mode":"automatic"'; then
    pass "for: status says tier normal, automatic, no changes"
else
    fail "for: status after expiry" "$status"
fi
if journalctl -u "${timer%.timer}.service" --no-pager -o cat 2>/dev/null | grep -q "manual emergency expired"; then
    pass "for: the expiry service logged 'manual emergency expired'"
else
    fail "for: the expiry service's log" "$(journalctl -u "${timer%.timer}.service" --no-pager -o cat 2>&1 | tail -5)"
fi

# --- 4. daemon mode ------------------------------------------------------------------------
daemon=$work/daemon
write_config "$daemon"
log=$daemon/warden.log
dem() { "$warden" emergency "$@" --config "$daemon/warden.conf"; }
# Warden in a slice of its own, as scripts/install-systemd puts it (trading.slice): a
# throttle of system.slice must not throttle the daemon and its critical components.
start_daemon() {
    systemctl reset-failed "$daemon_unit" >/dev/null 2>&1
    : >"$log.$1"
    systemd-run --quiet --unit="$daemon_unit" -p Delegate=yes -p Type=exec -p KillMode=mixed \
        -p Slice=warden-test.slice -p StandardOutput=file:"$log.$1" -p StandardError=file:"$log.$1" \
        "$warden" run --config "$daemon/warden.conf" || return 1
    # Ready: the governor has started and both components run.
    wait_for "grep -q 'governor: automatic decisions off' '$log.$1' && \"$warden\" status --config '$daemon/warden.conf' 2>/dev/null | grep -q batch" 300
}
group() { echo "/sys/fs/cgroup$(systemctl show -P ControlGroup "$daemon_unit")"; }
if start_daemon 1; then
    pass "daemon: warden run started as $daemon_unit ($(grep -m1 'cgroups: managing' "$log.1" | sed 's/^warden: //'))"
else
    fail "daemon: warden run did not start" "$(tail -20 "$log.1")"
fi
# A component without Slice= is in Warden's own system.slice (as under systemd).
batch_max=$(group)/system.slice/batch.service/cpu.max
# The unit's own CPUQuota=80%: what every restore must come back to. The thresholds are
# out of reach, so nothing has throttled it yet.
before_batch="80000 100000"
got=$(cat "$batch_max" 2>/dev/null)
if [ "$got" = "$before_batch" ]; then
    pass "daemon: batch.service starts at its unit's CPUQuota=80% ('$got')"
else
    fail "daemon: batch.service's own quota" "cpu.max '$got', want '$before_batch'; $(grep 'governor:' "$log.1" | tail -3)"
fi
if out=$(dem on --cpu-quota 30% 2>&1) && echo "$out" | grep -q '"source":"daemon"\|emergency on:'; then
    pass "daemon: emergency on through the socket ($(echo "$out" | head -1))"
else
    fail "daemon: emergency on" "$out"
fi
got=$(quota)
if [ "$got" = 300ms ] && [ "$(weight)" = 1 ]; then
    pass "daemon: $slice CPUQuotaPerSecUSec=300ms CPUWeight=1"
else
    fail "daemon: $slice throttled" "quota '$got', weight '$(weight)'"
fi
got=$(cat "$batch_max" 2>/dev/null)
if [ "$got" = "30000 100000" ]; then
    pass "daemon: batch.service cpu.max '$before_batch' -> '$got'"
else
    fail "daemon: batch.service throttled" "cpu.max '$got' (was '$before_batch'); $(grep 'governor: tier' "$log.1" | tail -2)"
fi
main_pid=$(systemctl show -P MainPID "$daemon_unit")
# MainPID is 0 when the unit is not running: `kill -9 0` would kill this script's group.
[ "${main_pid:-0}" -gt 1 ] && kill -9 "$main_pid"
wait_for "[ \"\$(systemctl show -P ActiveState $daemon_unit)\" != active ]" 100
if grep '^change systemd-slice' "$daemon/state/governor.state" 2>/dev/null | grep "$slice" | grep -q '"CPUWeight" "1" "\[not set\]"' \
    && [ "$(quota)" = 300ms ] && [ "$(weight)" = 1 ]; then
    pass "daemon: after SIGKILL $slice is still 300ms, CPUWeight=1, and the state file records both"
else
    fail "daemon: after SIGKILL" "quota '$(quota)', weight '$(weight)'; state: $(cat "$daemon/state/governor.state" 2>&1)"
fi
status=$(dem status --json 2>&1)
if echo "$status" | grep -qF "$(change_json 300000 infinity)" && echo "$status" | grep -qF "$(change_json 1 '[not set]' CPUWeight)" \
    && echo "$status" | grep -q '"source":"direct"'; then
    pass "daemon: with the daemon dead, status (direct) lists the daemon's changes"
else
    fail "daemon: status after SIGKILL" "$status"
fi
if start_daemon 2; then
    pass "daemon: a new warden run started"
else
    fail "daemon: restart" "$(tail -20 "$log.2")"
fi
if grep -q "governor: resuming from" "$log.2"; then
    pass "daemon: it resumes ($(grep -m1 'governor: resuming' "$log.2" | sed 's/^warden: [a-z]*: *//'))"
else
    fail "daemon: resume" "$(grep governor "$log.2")"
fi
status=$(dem status --json 2>&1)
if echo "$status" | grep -qF "$(change_json 300000 infinity)" && echo "$status" | grep -qF "$(change_json 1 '[not set]' CPUWeight)" \
    && echo "$status" | grep -q '"mode":"manual"' && echo "$status" | grep -q '"source":"daemon"'; then
    pass "daemon: the new daemon's status lists the changes, manual mode"
else
    fail "daemon: status after restart" "$status"
fi
got=$(cat "$batch_max" 2>/dev/null)
if [ "$got" = "30000 100000" ]; then
    pass "daemon: the restarted batch.service is throttled again (cpu.max '$got')"
else
    fail "daemon: the restarted batch.service's group" "cpu.max '$got' while the state says it is throttled"
fi
if out=$(dem off 2>&1); then
    pass "daemon: emergency off ($(echo "$out" | head -1))"
else
    fail "daemon: emergency off" "exit $?: $out"
fi
got=$(quota)
if [ "$got" = "$original" ] && [ "$(weight)" = "$original_weight" ]; then
    pass "daemon: $slice back to '$got', CPUWeight '$(weight)'"
else
    fail "daemon: restore" "quota '$got', want '$original'; weight '$(weight)', want '$original_weight'"
fi
got=$(cat "$batch_max" 2>/dev/null)
if [ "$got" = "$before_batch" ]; then pass "daemon: batch.service cpu.max back to '$got'"; else fail "daemon: batch restore" "'$got', want '$before_batch'"; fi

dem on --cpu-quota 30% >/dev/null 2>&1
got=$(quota)
[ "$got" = 300ms ] && [ "$(weight)" = 1 ] || fail "daemon: second emergency on" "quota '$got', weight '$(weight)'"
systemctl stop "$daemon_unit"
got=$(quota)
if [ "$got" = "$original" ] && [ "$(weight)" = "$original_weight" ]; then
    pass "daemon: SIGTERM while throttled: $slice restored to '$got', CPUWeight '$(weight)', before Warden exited"
else
    fail "daemon: SIGTERM restore" "CPUQuotaPerSecUSec is '$got', CPUWeight '$(weight)'; $(grep governor "$log.2" | tail -3)"
fi
if grep -q "governor: tier normal (from critical; Warden shutting down)" "$log.2"; then
    pass "daemon: the stand-down is logged ($(grep -m1 'Warden shutting down' "$log.2" | cut -c1-100)…)"
else
    fail "daemon: stand-down log" "$(grep governor "$log.2" | tail -3)"
fi
if [ ! -f "$daemon/state/governor.state" ] || grep -q '^change ' "$daemon/state/governor.state"; then
    fail "daemon: state file after shutdown" "$(cat "$daemon/state/governor.state")"
else
    pass "daemon: the state file holds no change after the shutdown"
fi

echo "governor-dbus: took $(echo "$(uptime_s) - $started" | bc) s"
echo "governor-dbus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
