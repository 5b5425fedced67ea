#!/bin/bash
# Real Debian daemons under Warden, from the unit files their packages ship, run INSIDE a
# test-bed guest (../run-guest). The unit directory holds links to the packaged files in
# /lib/systemd/system, untouched; a daemon whose unit has no Restart= gets one drop-in
# (Restart=on-failure, said in its line) so that the kill -9 check means something.
#
#   Tests/kernel/run-guest --init program -- Tests/kernel/daemon-suite/in-guest.sh
#   Tests/kernel/run-guest --init systemd -- Tests/kernel/daemon-suite/in-guest.sh
#
# program init: Warden as PID 1 of a pid + mount namespace (the container case).
# systemd init: Warden as a Delegate=yes service started with systemd-run.
# For each daemon: it becomes ready, its own client answers, kill -9 of its main process
# is followed by a restart and the client answers again, `warden reload` runs its
# ExecReload= (where the unit has one) and the client still answers; at the end Warden
# stops and nothing of any daemon is left. One line per daemon, then
# "N passed, N failed, N skipped"; exit 0 only when nothing failed, 77 when it cannot run.
set -u
if [ "${WARDEN_TESTBED_GUEST:-0}" != 1 ]; then
    echo "daemon-suite: refusing to run outside a test-bed guest (WARDEN_TESTBED_GUEST is not 1)" >&2
    exit 77
fi
repo=$(cd "$(dirname "$0")/../../.." && pwd -P)
warden=${WARDEN_BINARY:-$repo/.build/debug/warden}
[ -x "$warden" ] || { echo "daemon-suite: $warden is missing: run 'swift build' on the host first" >&2; exit 77; }
mode=${WARDEN_TESTBED_INIT:-program}
work=$(mktemp -d /tmp/daemon-suite.XXXXXX)
chmod 0755 "$work"
passed=0 failed=0 skipped=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "SKIP: $*"; skipped=$((skipped + 1)); }
# Waits up to $2 seconds for command $1 (a string) to succeed. Deadline-based: under UML
# each try can take a good part of a second.
wait_for() {
    local deadline=$((SECONDS + $2))
    until eval "$1" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# name|unit|type|client command (a string; succeeds when the daemon answers; the rest of
# the line, so it may hold '|')
daemons=(
    "nginx|nginx.service|forking|curl -fsS -o /dev/null http://127.0.0.1/"
    "redis|redis-server.service|notify|[ \"\$(redis-cli -h 127.0.0.1 ping)\" = PONG ]"
    "postgresql|postgresql@15-main.service|forking|pg_isready -q -h /var/run/postgresql"
    "rsyslog|rsyslog.service|notify|logger -t daemon-suite probe && sleep 0.3 && tail -n 20 /var/log/syslog | grep -q daemon-suite"
    "ssh|ssh.service|notify|exec 3<>/dev/tcp/127.0.0.1/22 && head -c 4 <&3 | grep -q SSH-"
    "chrony|chrony.service|forking|chronyc -n tracking"
    "memcached|memcached.service|simple|exec 3<>/dev/tcp/127.0.0.1/11211 && printf 'version\\r\\n' >&3 && timeout 5 head -c 8 <&3 | grep -q VERSION"
    "mosquitto|mosquitto.service|notify|exec 3<>/dev/tcp/127.0.0.1/1883"
    "cron|cron.service|simple|pgrep -x cron"
)

units=$work/units
mkdir -p "$units" "$work/state"
for entry in "${daemons[@]}"; do
    IFS='|' read -r name unit type client <<<"$entry"
    file=/lib/systemd/system/$unit
    [[ $unit == *@*.service ]] && file=/lib/systemd/system/${unit%%@*}@.service
    if [ ! -f "$file" ]; then
        skip "$name: $file is not installed (Tests/conformance/setup installs the corpus)"
        continue
    fi
    ln -s "$file" "$units/$unit"
    if ! grep -q '^Restart=' "$file"; then
        mkdir -p "$units/$unit.d"
        printf '[Service]\nRestart=on-failure\n' >"$units/$unit.d/restart.conf"
    fi
done
# The guest's configuration, not the units: a kernel without IPv6 (UML) cannot open
# nginx's default [::]:80 listener; the line goes, in the guest's throwaway overlay.
if [ ! -e /proc/net/if_inet6 ] && [ -f /etc/nginx/sites-enabled/default ]; then
    sed -i '/listen \[::\]/d' /etc/nginx/sites-enabled/default
    echo "daemon-suite: no IPv6 in this kernel: nginx's default site listens on IPv4 only"
fi
cat >"$work/warden.conf" <<EOF
[Warden]
UnitDirectories=$units
StateDirectory=$work/state
ShutdownBudgetSec=60s
EOF
echo "daemon-suite: $(uname -r), init $mode, units: $(ls "$units" | grep -v '\.d$' | tr '\n' ' ')"
if ! "$warden" check-config --config "$work/warden.conf" >"$work/check.txt" 2>&1; then
    fail "check-config accepts the packaged units"
    cat "$work/check.txt"
else
    pass "check-config accepts the packaged units ($(grep -c 'warning' "$work/check.txt") warnings)"
fi

w() { "$warden" "$@" --config "$work/warden.conf"; }
# The current daemon's own client ($client), in a shell of its own.
client_answers() { timeout 10 bash -c "$client"; }
# `warden status NAME` exits 0 when the component is active (systemctl's rule).
active() { w status "$1" >/dev/null 2>&1; }
# A field of `warden status --json NAME`, without starting a JSON parser per poll.
field() { # unit field
    w status --json "$1" 2>/dev/null | tr ',{}' '\n\n\n' | sed -n "s/^ *\"$2\" *: *\"*\([^\"]*\)\"*\$/\1/p" | head -n 1
}

case $mode in
    program)
        unshare --pid --fork --mount-proc "$warden" run --config "$work/warden.conf" >"$work/warden.log" 2>&1 &
        runner=$!
        ;;
    systemd)
        systemd-run --unit=warden-daemons -p Delegate=yes -p Type=exec -p KillMode=mixed \
            -p StandardOutput=file:"$work/warden.log" -p StandardError=file:"$work/warden.log" \
            "$warden" run --config "$work/warden.conf" >/dev/null 2>&1 || fail "systemd-run could not start warden"
        ;;
esac
# The PIDs `warden status` shows are those of Warden's own PID namespace: as a container's
# PID 1 they are sent their signal from inside it.
kill_in_stack() {
    case $mode in
        program) nsenter --target "$(pgrep -P "$runner" | head -n 1)" --pid --mount -- kill -9 "$1" 2>/dev/null ;;
        *) kill -9 "$1" 2>/dev/null ;;
    esac
}
if ! wait_for "w status" 60; then
    fail "warden answers on its control socket"
    tail -n 40 "$work/warden.log"
    echo "$passed passed, $failed failed, $skipped skipped"
    exit 1
fi

for entry in "${daemons[@]}"; do
    IFS='|' read -r name unit type client <<<"$entry"
    [ -e "$units/$unit" ] || continue
    steps=()
    ok=1
    note() { steps+=("$1"); }
    bad() { steps+=("$1"); ok=0; }
    if wait_for "active $unit" 90; then note "ready"; else bad "NOT ready ($(field $unit activeState) $(field $unit subState): $(field $unit statusText))"; fi
    if [ $ok = 1 ] && wait_for client_answers 20; then note "answers"; elif [ $ok = 1 ]; then bad "client does NOT answer"; fi
    if [ $ok = 1 ]; then
        pid=$(field "$unit" mainPID)
        if [ -n "$pid" ] && kill_in_stack "$pid"; then
            if wait_for "active $unit && [ \"\$(field $unit mainPID)\" != '$pid' ] && client_answers" 90; then
                note "restarted after kill -9 (PID $pid -> $(field "$unit" mainPID))"
            else
                bad "NOT restarted after kill -9 of PID $pid ($(field $unit activeState))"
            fi
        else
            bad "no main PID to kill ('$pid')"
        fi
    fi
    if [ $ok = 1 ]; then
        if grep -q '^ExecReload=' "$units/$unit"; then
            if w reload "$unit" >"$work/reload-$name.txt" 2>&1 && wait_for "active $unit && client_answers" 30; then
                note "reloaded through ExecReload="
            else
                bad "reload FAILED: $(tail -n 2 "$work/reload-$name.txt" | tr '\n' ' ')"
            fi
        else
            note "no ExecReload= in its unit"
        fi
    fi
    [ -d "$units/$unit.d" ] && note "Restart=on-failure by drop-in"
    line="$name ($type, $unit): $(IFS=,; echo "${steps[*]}" | sed 's/,/, /g')"
    if [ $ok = 0 ]; then
        # Warden's first lines about the unit after the kill, the last ones, and every
        # process of the daemon's program with its cgroup: what a failed restart needs.
        grep -F "[${unit%.service}]" "$work/warden.log" | grep -A 24 -m 1 "killed by SIGKILL" | head -n 25 | sed 's/^/    first: /'
        grep -F "[${unit%.service}]" "$work/warden.log" | tail -n 8 | sed 's/^/    /'
        ps -eo pid=,ppid=,stat=,args= | grep -F "$name" | grep -v grep | while read -r p rest; do
            echo "    process $p $rest cgroup $(cat "/proc/$p/cgroup" 2>/dev/null | tr '\n' ' ')"
        done
    fi
    if [ $ok = 1 ]; then pass "$line"; else fail "$line"; fi
done

# Stop: Warden ends every daemon and leaves nothing behind.
exes="nginx redis-server postgres rsyslogd sshd chronyd memcached mosquitto cron"
case $mode in
    program)
        # unshare waits for its child, Warden, PID 1 of the namespace: TERM goes to it.
        kill -TERM "$(pgrep -P "$runner" | head -n 1)" 2>/dev/null
        wait "$runner"
        status=$?
        ;;
    systemd) systemctl stop warden-daemons; status=$(systemctl show -P ExecMainStatus warden-daemons) ;;
esac
left=""
for exe in $exes; do
    for pid in $(pgrep -x "$exe" 2>/dev/null); do left="$left $exe:$pid"; done
done
if [ -z "$left" ] && [ "${status:-1}" = 0 ]; then
    pass "warden stopped every daemon and exited 0; nothing left"
else
    fail "after the stop: warden status ${status:-?}, left:${left:- none}"
    tail -n 30 "$work/warden.log"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
