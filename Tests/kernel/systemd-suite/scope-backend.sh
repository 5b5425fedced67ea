# Sourced by run.sh (POSIX sh, inside the systemd guest, from the repository root;
# pass/fail/uptime_s and $warden come from there).
#
# 4. CgroupBackend=systemd: `warden run` puts each component in a transient
#    warden-NAME.scope in its slice, with the unit's limits as the scope's properties;
#    the program's first instruction already runs in the scope (the spawn gate); a
#    crash is restarted into a new scope; stop leaves no unit behind. The default,
#    CgroupBackend=auto, does the same for a Warden whose group is not delegated; an
#    OOM kill in a scope is the component's result oom-kill, and the governor throttles,
#    freezes and restores a batch scope through systemd, never the slice holding Warden,
#    and `warden emergency off` without a daemon restores it after Warden was SIGKILLed.
# 5. `systemctl reload warden` against the real daemon: warden.service installed by
#    scripts/install-systemd, a changed component unit takes effect, RELOADING=1 and
#    READY=1 reach systemd (its debug log shows them and the reload -> running
#    change), and the unit ends active (running).

show() { systemctl show "$1" -p "$2" --value; }
expect_unit() { # unit property expected
    got=$(show "$1" "$2")
    if [ "$got" = "$3" ]; then pass "$1 $2=$3"; else fail "$1 $2" "got '$got', want '$3'"; fi
}
# Waits up to $2 s for the shell condition $1.
wait_for() {
    i=0
    while [ "$i" -lt "$(($2 * 10))" ]; do
        if eval "$1"; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
leftover_units() { systemctl list-units --all --plain --no-legend 'warden-*.scope' 'wsb*.slice' | awk '{print $1}' | tr '\n' ' '; }

# --- 4. CgroupBackend=systemd ------------------------------------------------------
sb=/run/warden-scope-test
rm -rf "$sb"
mkdir -p "$sb/units"
printf '[Warden]\nUnitDirectories=%s/units\nStateDirectory=%s/state\nCgroupBackend=systemd\n' "$sb" "$sb" >"$sb/warden.conf"
# A slice only Warden defines: systemd gets it as a transient slice.
printf '[Unit]\nDescription=scope test\n[Slice]\nCPUWeight=300\n' >"$sb/units/wsb.slice"
cat >"$sb/units/feed.service" <<UNIT
[Unit]
Description=scope-test feed
[Service]
ExecStartPre=/bin/sh -c 'cat /proc/self/cgroup > $sb/pre-cgroup'
ExecStart=/bin/sh -c 'cat /proc/self/cgroup > $sb/first-cgroup; exec sleep 6001'
Slice=wsb.slice
CPUQuota=20%
MemoryMax=64M
TasksMax=24
Restart=always
RestartSec=200ms
UNIT
"$warden" run --config "$sb/warden.conf" >"$sb/warden.log" 2>&1 &
sb_warden=$!
if wait_for '[ "$(show warden-feed.scope ActiveState)" = active ] && pgrep -f "sleep 6001" >/dev/null' 30; then
    pass "CgroupBackend=systemd: warden-feed.scope is active"
else
    fail "CgroupBackend=systemd start" "$(systemctl status warden-feed.scope 2>&1 | head -5; tail -20 "$sb/warden.log")"
fi
expect_unit warden-feed.scope Slice wsb.slice
expect_unit warden-feed.scope ControlGroup /wsb.slice/warden-feed.scope
expect_unit warden-feed.scope CPUQuotaPerSecUSec 200ms
expect_unit warden-feed.scope MemoryMax 67108864
expect_unit warden-feed.scope TasksMax 24
expect_unit warden-feed.scope Transient yes
expect_unit wsb.slice CPUWeight 300
expect_unit wsb.slice Transient yes
cg=/sys/fs/cgroup/wsb.slice/warden-feed.scope
if [ "$(cut -d' ' -f1 "$cg/cpu.max")" = 20000 ] && [ "$(cat "$cg/memory.max")" = 67108864 ] && [ "$(cat "$cg/pids.max")" = 24 ]; then
    pass "the kernel has the scope's limits (cpu.max $(cat "$cg/cpu.max"), memory.max, pids.max)"
else
    fail "scope limits in the kernel" "cpu.max '$(cat "$cg/cpu.max" 2>&1)' memory.max '$(cat "$cg/memory.max" 2>&1)' pids.max '$(cat "$cg/pids.max" 2>&1)'"
fi
pid=$(pgrep -f "sleep 6001")
if [ "$(cat "/proc/$pid/cgroup" 2>/dev/null)" = "0::/wsb.slice/warden-feed.scope" ]; then
    pass "/proc/$pid/cgroup: the main process is in wsb.slice/warden-feed.scope"
else
    fail "/proc/PID/cgroup" "pid '$pid': $(cat "/proc/$pid/cgroup" 2>&1)"
fi
# Race-free placement: what the program saw as its very first action.
for f in pre-cgroup first-cgroup; do
    if [ "$(cat "$sb/$f" 2>/dev/null)" = "0::/wsb.slice/warden-feed.scope" ]; then
        pass "the program's first instruction ran in the scope ($f)"
    else
        fail "placement before the program runs ($f)" "$(cat "$sb/$f" 2>&1)"
    fi
done
if systemd-cgls --no-pager /wsb.slice 2>&1 | grep -q "warden-feed.scope" && systemd-cgls --no-pager /wsb.slice | grep -q "$pid .*sleep 6001"; then
    pass "systemd-cgls shows the process in warden-feed.scope in wsb.slice"
else
    fail "systemd-cgls" "$(systemd-cgls --no-pager /wsb.slice 2>&1 | head)"
fi
if systemctl status warden-feed.scope --no-pager 2>&1 | grep -q "scope-test feed (Warden: feed.service)"; then
    pass "systemctl status warden-feed.scope shows the unit's description"
else
    fail "systemctl status warden-feed.scope" "$(systemctl status warden-feed.scope --no-pager 2>&1 | head -3)"
fi
# A reload changes the transient slice Warden created, at once.
printf '[Unit]\nDescription=scope test\n[Slice]\nCPUWeight=400\nMemoryHigh=1G\n' >"$sb/units/wsb.slice"
kill -HUP "$sb_warden"
if wait_for '[ "$(show wsb.slice CPUWeight)" = 400 ] && [ "$(show wsb.slice MemoryHigh)" = 1073741824 ]' 15; then
    pass "reload: wsb.slice CPUWeight=400 MemoryHigh=1G through SetUnitProperties"
else
    fail "reload of a transient slice" "CPUWeight=$(show wsb.slice CPUWeight) MemoryHigh=$(show wsb.slice MemoryHigh); $(tail -5 "$sb/warden.log")"
fi
# A crash: Warden restarts it, into a new scope (a new invocation of the unit).
invocation=$(show warden-feed.scope InvocationID)
kill -KILL "$pid"
if wait_for 'new=$(pgrep -f "sleep 6001") && [ -n "$new" ] && [ "$new" != "$pid" ] && [ "$(show warden-feed.scope ActiveState)" = active ]' 30 \
    && [ "$(show warden-feed.scope InvocationID)" != "$invocation" ] \
    && [ "$(cat "/proc/$new/cgroup")" = "0::/wsb.slice/warden-feed.scope" ]; then
    pass "a crash is restarted by Warden into a new warden-feed.scope (invocation $(show warden-feed.scope InvocationID | cut -c1-8)…, pid $new)"
else
    fail "crash restart into a new scope" "$(show warden-feed.scope InvocationID) was $invocation; $(tail -8 "$sb/warden.log")"
fi
failed_units=$(systemctl list-units --state=failed --plain --no-legend 'warden-*' | awk '{print $1}')
if [ -z "$failed_units" ]; then pass "no failed warden-* unit after the crash"; else fail "failed units after the crash" "$failed_units"; fi
kill -TERM "$sb_warden"
wait "$sb_warden"
status=$?
sleep 0.5
left=$(leftover_units)
if [ "$status" -eq 0 ] && [ -z "$left" ] && ! pgrep -f "sleep 6001" >/dev/null; then
    pass "warden stops: exit 0, no warden-*.scope, no transient slice left"
else
    fail "stop leaves nothing behind" "exit $status; units left: '$left'; $(tail -6 "$sb/warden.log")"
fi
if grep -q "in warden-feed.scope (/wsb.slice/warden-feed.scope)" "$sb/warden.log" \
    && grep -q "systemd scopes released" "$sb/warden.log"; then
    pass "warden's log names the scope and its release"
else
    fail "warden log" "$(cat "$sb/warden.log" | head -30)"
fi

# Without a system bus the backend refuses to start, and says why.
if out=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/warden-no-such-bus "$warden" run --config "$sb/warden.conf" 2>&1); then
    fail "CgroupBackend=systemd without D-Bus" "warden ran: $out"
elif echo "$out" | grep -q "CgroupBackend=systemd needs systemd's D-Bus API, which is not available here: no system bus"; then
    pass "CgroupBackend=systemd without a system bus: refused with the reason"
else
    fail "CgroupBackend=systemd without D-Bus" "$out"
fi

# CgroupBackend=auto (the default), Warden started as an ordinary systemd service whose
# group is not delegated to it: each component gets a transient scope with its limits,
# and an OOM kill inside a scope is the component's result `oom-kill`.
au=/run/warden-auto-test
rm -rf "$au"
mkdir -p "$au/units"
printf '[Warden]\nUnitDirectories=%s/units\nStateDirectory=%s/state\n' "$au" "$au" >"$au/warden.conf"
printf '[Service]\nExecStart=/bin/sleep 6003\nMemoryMax=48M\n[X-Warden]\nPriority=critical\n' >"$au/units/wauto.service"
# A batch job with a quota of its own, in system.slice (the slice that holds Warden).
printf '[Service]\nExecStart=/bin/sleep 6004\nCPUQuota=40%%\n[X-Warden]\nPriority=batch\n' >"$au/units/wbatch.service"
# A string doubled until the scope's 16M stop it (no swap to escape into).
printf '[Service]\nExecStart=/bin/sh -c '"'"'x=0123456789abcdef; while :; do x=$x$x; done'"'"'\nMemoryMax=16M\nMemorySwapMax=0\n' >"$au/units/wleak.service"
systemd-run --quiet --unit=warden-auto-test --property=StandardOutput=file:"$au/warden.log" \
    --property=StandardError=file:"$au/warden.log" "$PWD/$warden" run --config "$au/warden.conf"
if wait_for '[ "$(show warden-wauto.scope ActiveState)" = active ]' 30; then
    pass "CgroupBackend=auto in a service without Delegate=: warden-wauto.scope is active"
else
    fail "CgroupBackend=auto start" "$(systemctl status warden-auto-test --no-pager 2>&1 | head -5; tail -20 "$au/warden.log")"
fi
expect_unit warden-wauto.scope MemoryMax 50331648
if grep -q "cgroups: no delegated subtree, systemd is here: each component in a transient warden-NAME.scope" "$au/warden.log"; then
    pass "CgroupBackend=auto says why it chose systemd's scopes"
else
    fail "CgroupBackend=auto log" "$(head -12 "$au/warden.log")"
fi
# A status query takes about a second in UML: the wait is bounded by the clock, not by tries.
oom_until=$(($(cut -d. -f1 /proc/uptime) + 60))
until "$warden" status --socket "$au/state/control.sock" --json wleak 2>/dev/null | grep -q '"result":"oom-kill"' \
    || [ "$(cut -d. -f1 /proc/uptime)" -ge "$oom_until" ]; do
    sleep 1
done
if "$warden" status --socket "$au/state/control.sock" --json wleak 2>/dev/null | grep -q '"result":"oom-kill"'; then
    pass "an OOM kill in a transient scope is the component's result oom-kill"
else
    fail "OOM kill under the systemd backend" "$("$warden" status --socket "$au/state/control.sock" --json wleak 2>&1 | head -c 600); $(grep "wleak" "$au/warden.log" | head -12); $(systemctl show warden-wleak.scope -p MemoryMax -p MemorySwapMax -p ActiveState 2>&1 | tr '\n' ' ')"
fi
# The governor acts on the scopes through systemd: the batch job's scope is throttled
# and frozen by hand and given back exactly its own CPUQuota=40%; system.slice, which
# holds Warden, and the critical component are left alone.
wb=/sys/fs/cgroup/system.slice/warden-wbatch.scope
wait_for '[ "$(show warden-wbatch.scope ActiveState)" = active ]' 30
expect_unit warden-wbatch.scope CPUQuotaPerSecUSec 400ms
if out=$("$warden" emergency on --socket "$au/state/control.sock" --cpu-quota 20% --freeze batch 2>&1) \
    && [ "$(show warden-wbatch.scope CPUQuotaPerSecUSec)" = 200ms ] && [ "$(cat "$wb/cpu.max")" = "20000 100000" ] \
    && wait_for '[ "$(show warden-wbatch.scope FreezerState)" = frozen ]' 10 && [ "$(cat "$wb/cgroup.freeze")" = 1 ]; then
    pass "emergency on: warden-wbatch.scope CPUQuotaPerSecUSec=200ms (cpu.max $(cat "$wb/cpu.max")), FreezerState=frozen, through systemd"
else
    fail "emergency on with scopes" "$out; $(systemctl show warden-wbatch.scope -p CPUQuotaPerSecUSec -p FreezerState | tr '\n' ' '); cpu.max $(cat "$wb/cpu.max" 2>&1); $(grep governor "$au/warden.log" | tail -5)"
fi
expect_unit system.slice CPUQuotaPerSecUSec infinity
expect_unit warden-wauto.scope CPUQuotaPerSecUSec infinity
expect_unit warden-wauto.scope FreezerState running
if out=$("$warden" emergency off --socket "$au/state/control.sock" 2>&1) \
    && [ "$(show warden-wbatch.scope CPUQuotaPerSecUSec)" = 400ms ] && [ "$(cat "$wb/cpu.max")" = "40000 100000" ] \
    && wait_for '[ "$(show warden-wbatch.scope FreezerState)" = running ]' 10 && [ "$(cat "$wb/cgroup.freeze")" = 0 ]; then
    pass "emergency off: warden-wbatch.scope back to its own CPUQuota=40% (cpu.max $(cat "$wb/cpu.max")), thawed"
else
    fail "emergency off with scopes" "$out; $(systemctl show warden-wbatch.scope -p CPUQuotaPerSecUSec -p FreezerState | tr '\n' ' '); cpu.max $(cat "$wb/cpu.max" 2>&1); $(grep governor "$au/warden.log" | tail -5)"
fi
systemctl stop warden-auto-test
if wait_for '[ -z "$(systemctl list-units --all --plain --no-legend "warden-w*.scope" | awk "{print \$1}")" ]' 20; then
    pass "CgroupBackend=auto: stopping the service leaves no warden-*.scope"
else
    fail "CgroupBackend=auto stop" "$(systemctl list-units --all --plain --no-legend 'warden-w*.scope'); $(tail -5 "$au/warden.log")"
fi
# A Warden SIGKILLed while it throttles a scope: the scopes outlive it (they are systemd's
# units), and `warden emergency off` without a daemon gives the batch scope back its own
# CPUQuota= through systemd, from what the daemon recorded of how it reached its groups.
systemd-run --quiet --unit=warden-auto-kill --property=StandardOutput=file:"$au/warden-kill.log" \
    --property=StandardError=file:"$au/warden-kill.log" "$PWD/$warden" run --config "$au/warden.conf"
wait_for '[ "$(show warden-wbatch.scope ActiveState)" = active ]' 30
"$warden" emergency on --socket "$au/state/control.sock" --cpu-quota 20% >/dev/null 2>&1
systemctl kill -s KILL --kill-whom=main warden-auto-kill
wait_for '! systemctl is-active -q warden-auto-kill' 15
if [ "$(show warden-wbatch.scope CPUQuotaPerSecUSec)" = 200ms ] \
    && [ "$(cat "$au/state/governor.cgroup-root" 2>&1)" = "systemd-units /sys/fs/cgroup" ] \
    && out=$("$warden" emergency off --config "$au/warden.conf" 2>&1) \
    && [ "$(show warden-wbatch.scope CPUQuotaPerSecUSec)" = 400ms ] && [ "$(cat "$wb/cpu.max")" = "40000 100000" ]; then
    pass "Warden SIGKILLed while throttling: emergency off without a daemon gives warden-wbatch.scope back CPUQuota=40% through systemd"
else
    fail "emergency off without a daemon, scopes" "$out; CPUQuotaPerSecUSec=$(show warden-wbatch.scope CPUQuotaPerSecUSec); record '$(cat "$au/state/governor.cgroup-root" 2>&1)'; $(tail -5 "$au/warden-kill.log")"
fi
systemctl stop 'warden-w*.scope' >/dev/null 2>&1
systemctl reset-failed warden-auto-kill 'warden-w*.scope' >/dev/null 2>&1

# --- 5. systemctl reload warden ------------------------------------------------------
if out=$(scripts/install-systemd --binary "$warden" 2>&1); then
    pass "install-systemd (for the reload test)"
else
    fail "install-systemd (for the reload test)" "$out"
fi
printf '[Warden]\nUnitDirectories=/etc/warden/units\nCgroupBackend=systemd\n' >/etc/warden/warden.conf
write_rl() {
    # $1: the quota in percent (a literal % in ExecStart= would be a specifier).
    printf '[Service]\nExecStart=/bin/sh -c "echo rl-output-%s; exec sleep 6002"\nSlice=trading-batch.slice\nCPUQuota=%s%%\n' "$1" "$1" \
        >/etc/warden/units/rl.service
}
write_rl 20
systemctl daemon-reload
# Debug level: systemd then logs every notification and state change of the unit.
systemd-analyze log-level debug
if systemctl start warden.service && [ "$(show warden.service ActiveState)" = active ] \
    && wait_for '[ "$(show warden-rl.scope CPUQuotaPerSecUSec)" = 200ms ]' 20; then
    pass "warden.service active, its component in warden-rl.scope (trading-batch.slice, CPUQuota 20%)"
else
    fail "warden.service start" "$(systemctl status warden.service --no-pager 2>&1 | head -8; journalctl -u warden.service -o cat --no-pager | grep -v '^warden.service: ' | tail -15)"
fi
expect_unit warden-rl.scope Slice trading-batch.slice
# Warden logs to the journal under warden.service (JOURNAL_STREAM); a component's
# lines carry OBJECT_SYSTEMD_UNIT= of its scope, so `journalctl -u` finds them.
if wait_for 'journalctl -u warden-rl.scope -o cat --no-pager | grep -q "^rl-output-20$"' 10 \
    && journalctl -u warden-rl.scope -o cat --no-pager | grep -q "in warden-rl.scope (/trading.slice/trading-batch.slice/warden-rl.scope)"; then
    pass "journalctl -u warden-rl.scope: the component's output and Warden's lines about it"
else
    fail "journalctl -u warden-rl.scope" "$(journalctl -u warden-rl.scope -o cat --no-pager | tail -5)"
fi
main=$(show warden.service MainPID)
write_rl 35
since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
if systemctl reload warden.service; then pass "systemctl reload warden.service"; else fail "systemctl reload" "exit $?"; fi
if wait_for '[ "$(show warden-rl.scope CPUQuotaPerSecUSec)" = 350ms ]' 20; then
    pass "the changed unit took effect: warden-rl.scope CPUQuotaPerSecUSec=350ms"
else
    fail "changed unit after reload" "CPUQuotaPerSecUSec=$(show warden-rl.scope CPUQuotaPerSecUSec); $(journalctl -u warden.service --no-pager -n 10)"
fi
journal() { journalctl -u warden.service --since "$since" --no-pager -o cat; }
if wait_for 'journal | grep -q "Got notification message from PID $main (RELOADING=1"' 10 \
    && journal | grep -q "Got notification message from PID $main (READY=1"; then
    pass "systemd got RELOADING=1 and READY=1 from warden (pid $main)"
else
    fail "RELOADING=1 / READY=1 at systemd" "$(journal | grep -i notif | tail -5)"
fi
state=$(systemctl show warden.service -p ActiveState -p SubState | tr '\n' ' ')
if [ "$state" = "ActiveState=active SubState=running " ] && [ "$(show warden.service MainPID)" = "$main" ]; then
    pass "after the reload: $state(same main pid)"
else
    fail "state after reload" "$state main $(show warden.service MainPID), was $main"
fi
# SIGHUP straight to warden (no ExecReload= running): the notify-driven reload state.
write_rl 45
since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
systemctl kill -s HUP --kill-whom=main warden.service
if wait_for 'journal | grep -q "Changed reload -> running"' 15 && journal | grep -q "Changed running -> reload" \
    && wait_for '[ "$(show warden-rl.scope CPUQuotaPerSecUSec)" = 450ms ]' 20; then
    pass "RELOADING=1 round trip: running -> reload -> running, warden-rl.scope CPUQuotaPerSecUSec=450ms"
else
    fail "RELOADING=1 round trip" "$(journal | grep -E 'Changed|notification' | tail -6)"
fi
if wait_for '[ "$(show warden.service StatusText)" = "1/1 running" ]' 15; then
    pass "warden.service StatusText=1/1 running after the reloads"
else
    fail "StatusText after the reloads" "$(show warden.service StatusText)"
fi
systemd-analyze log-level info
systemctl stop warden.service
expect_unit warden.service Result success
left=$(leftover_units)
if [ -z "$left" ]; then pass "systemctl stop warden: no warden-*.scope left"; else fail "units after stop" "$left"; fi
rm -f /etc/warden/units/rl.service
scripts/uninstall-systemd >/dev/null 2>&1 || fail "uninstall-systemd after the reload test" "exit $?"
