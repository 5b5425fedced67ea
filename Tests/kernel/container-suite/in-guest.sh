#!/bin/bash
# The container suite, run INSIDE a QEMU test-bed guest (program init): Warden's image
# (`make image`, .build/image/warden-image.tar) under podman + crun, as a container
# runtime runs it.
#
#   Tests/kernel/run-guest --backend qemu --init program -- Tests/kernel/container-suite/in-guest.sh
#
# systemd mode  (--cgroupns private --systemd=always: a writable cgroup v2 mount of the
#               container's own): Warden is PID 1, manages the container's cgroup (the
#               demo's CPUQuota= is in cpu.max) with only SYS_NICE and SYS_RESOURCE and a
#               read-only root (as deploy/kubernetes runs it), /healthz and /readyz answer
#               200 and `warden status --check` exits 0, USR1 from `podman kill` does not
#               end it, `podman stop -t 10` ends it with exit 0 (SIGTERM alone: podman's
#               SIGKILL would make it 137).
# main program  (`-- CMD`): the container's exit status is CMD's; USR1 reaches CMD.
# default mode  (the runtime's read-only /sys/fs/cgroup): Warden says it runs without
#               cgroups and which limits do not hold, becomes ready, stops with exit 0.
# Also printed (TCG figures, not the host's): start to ready, Warden's memory.
# Prints PASS/FAIL/SKIP lines and, last, "N passed, N failed, N skipped"; exit 0 only
# when nothing failed, 77 when it cannot run here.
set -u
if [ "${WARDEN_TESTBED_GUEST:-0}" != 1 ]; then
    echo "container-suite: refusing to run outside a test-bed guest (WARDEN_TESTBED_GUEST is not 1)" >&2
    exit 77
fi
repo=$(cd "$(dirname "$0")/../../.." && pwd -P)
archive=${WARDEN_IMAGE_ARCHIVE:-$repo/.build/image/warden-image.tar}
for need in podman crun curl nsenter; do
    command -v "$need" >/dev/null || { echo "container-suite: $need is not installed on the host" >&2; exit 77; }
done
[ -f "$archive" ] || { echo "container-suite: $archive is missing: run 'make image' on the host first" >&2; exit 77; }

image=localhost/warden-demo:latest
work=$(mktemp -d /tmp/container-suite.XXXXXX)
export TMPDIR=$work
# Storage in the guest's tmpfs (vfs: no overlay on top of the test bed's overlay), no
# systemd in a program-init guest (cgroupfs, file events), no network but loopback.
podman=(podman --root "$work/storage" --runroot "$work/run" --storage-driver vfs
    --cgroup-manager cgroupfs --events-backend file)
run_flags=(--network none --stop-timeout 10)
passed=0 failed=0 skipped=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # description command...
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
# Every podman call is bounded: a hang is a failure with a message, not a guest timeout.
p() { timeout -k 5 120 "${podman[@]}" "$@"; }
state() { p inspect --format "{{.State.$2}}" "$1" 2>/dev/null; }
pid_of() { state "$1" Pid; }
# GET http://127.0.0.1:9464$2 inside container $1's network namespace: "CODE BODY".
http() {
    local pid code
    pid=$(pid_of "$1") || return 1
    code=$(nsenter --net="/proc/$pid/ns/net" curl -s -m 5 -o "$work/body" -w '%{http_code}' "http://127.0.0.1:9464$2" 2>/dev/null)
    echo "$code $(cat "$work/body" 2>/dev/null)"
}
wait_ready() { # container seconds: polls /readyz until 200
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        case $(http "$1" /readyz) in 200*) return 0 ;; esac
        [ "$(state "$1" Running)" = true ] || return 1
        sleep 0.5
    done
    return 1
}
logs_have() { p logs "$1" 2>&1 | grep -q -- "$2"; }
logs_lack() { ! logs_have "$@"; }
exec_probe() { p exec "$1" warden status --check >/dev/null 2>&1; }
show_logs() { echo "--- podman logs $1 (last 25 lines)"; p logs "$1" 2>&1 | tail -n 25; echo "---"; }
# Seconds from Warden's "shutting down" line to its last line, from podman's timestamps.
stop_seconds() {
    p logs -t "$1" 2>&1 | awk '
        function t(s) { split(substr(s, 12, 18), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
        / warden: shutting down \(budget/ { start = t($1) }
        / warden: all components stopped; exit status / { end = t($1) }
        END { if (start && end) printf "%.1f", end - start; else print "?" }'
}
# podman stop -t 10 NAME: Warden must finish on SIGTERM alone. podman sends SIGKILL 10 s
# after SIGTERM, which would make the exit status 137; podman's own work around the stop
# takes seconds under TCG, so its wall time is shown, not judged.
stop_check() { # name label
    local start took code
    start=$SECONDS
    p stop -t 10 "$1" >/dev/null
    took=$((SECONDS - start))
    code=$(state "$1" ExitCode)
    check "$2: podman stop -t 10: exit 0 without SIGKILL (got $code; Warden's stop $(stop_seconds "$1") s, podman stop ${took} s)" \
        test "$code" = 0
    check "$2: every component stopped before Warden exited" logs_have "$1" "all components stopped; exit status 0"
}

echo "container-suite: $(uname -r), $(nproc) CPU(s), $(podman --version), $(crun --version | head -n 1)"
if ! p load -i "$archive" >"$work/load.txt" 2>&1; then
    cat "$work/load.txt"
    fail "podman load $archive"
    echo "$passed passed, $failed failed, $skipped skipped"
    exit 1
fi
pass "podman load reads the archive ($(grep -c '^Loaded image' "$work/load.txt") images)"

# ---------------------------------------------------------------------------
# systemd mode: the container's own writable cgroup v2 tree.
# ---------------------------------------------------------------------------
# As deploy/kubernetes runs it: read-only root, every capability dropped but the two the
# demo's units need (Nice=, OOMScoreAdjust=).
started=$(date +%s.%N)
p run -d --name sd "${run_flags[@]}" --cgroupns private --systemd=always \
    --read-only --cap-drop all --cap-add SYS_NICE,SYS_RESOURCE "$image" >/dev/null
if wait_ready sd 240; then
    ready=$(date +%s.%N)
    pass "systemd mode: /readyz answers 200 (start to ready $(awk "BEGIN { printf \"%.1f\", $ready - $started }") s under TCG)"
    pid=$(pid_of sd)
    check "systemd mode: Warden is the container's PID 1 (NSpid $(awk '/^NSpid/ {print $2, $3}' "/proc/$pid/status"), $(cat "/proc/$pid/comm"))" \
        test "$(awk '/^NSpid/ {print $NF}' "/proc/$pid/status")" = 1 -a "$(cat "/proc/$pid/comm")" = warden-daemon
    check "systemd mode: /healthz answers 200 ok" test "$(http sd /healthz)" = "200 ok"
    check "systemd mode: warden status --check (an exec probe) exits 0" exec_probe sd
    check "systemd mode: Warden manages the container's cgroup (log: cgroups: managing)" logs_have sd "cgroups: managing"
    group=/sys/fs/cgroup$(sed -n 's|^0::||p' "/proc/$pid/cgroup")
    group=${group%/warden.supervisor}
    quota=$(cat "$group/trading.slice/trading-batch.slice/backtest.service/cpu.max" 2>/dev/null)
    check "systemd mode: backtest's CPUQuota=50% is in its cgroup's cpu.max ('$quota')" test "$quota" = "50000 100000"
    check "systemd mode: SYS_NICE and SYS_RESOURCE are all the units need (no 'not enforced: it needs CAP_')" \
        logs_lack sd "which Warden does not have here"
    check "systemd mode: the image's StopSignal (SIGTERM) holds, not podman's systemd default SIGRTMIN+3" \
        test "$(p inspect --format '{{.Config.StopSignal}}' sd)" = 15
    awk '/^(Rss|Pss):/ {printf "container-suite: warden-daemon (PID 1) %s %d KiB\n", $1, $2}' "/proc/$pid/smaps_rollup"
    p kill -s USR1 sd >/dev/null
    sleep 3
    check "systemd mode: podman kill -s USR1 leaves Warden running" test "$(state sd Running)" = true
    check "systemd mode: still healthy after USR1" test "$(http sd /healthz)" = "200 ok"
    stop_check sd "systemd mode"
    check "systemd mode: the cgroup subtree removed" logs_have sd "cgroup subtree removed"
else
    fail "systemd mode: /readyz did not answer 200 within 240 s"
fi
[ "$failed" -eq 0 ] || show_logs sd
p rm -f sd >/dev/null 2>&1

# ---------------------------------------------------------------------------
# A main program: the container's exit status is CMD's; USR1 is forwarded to it.
# ---------------------------------------------------------------------------
timeout -k 5 240 "${podman[@]}" run --name main7 "${run_flags[@]}" --cgroupns private --systemd=always "$image" \
    -- /bin/sh -c 'sleep 1; exit 7' >"$work/main7.txt" 2>&1
code=$?
check "main program: the container exits with CMD's status 7 (got $code)" test "$code" = 7
[ "$code" = 7 ] || { tail -n 20 "$work/main7.txt"; }
p rm -f main7 >/dev/null 2>&1

p run -d --name main42 "${run_flags[@]}" --cgroupns private --systemd=always "$image" \
    -- /bin/sh -c 'trap "exit 42" USR1; while :; do sleep 0.2; done' >/dev/null
if wait_ready main42 240; then
    p kill -s USR1 main42 >/dev/null
    code=$(timeout -k 5 60 "${podman[@]}" wait main42 2>/dev/null)
    check "main program: podman kill -s USR1 reaches CMD, which exits 42 (container exit $code)" test "$code" = 42
else
    fail "main program: not ready within 240 s"
    show_logs main42
fi
p rm -f main42 >/dev/null 2>&1

# ---------------------------------------------------------------------------
# The runtime's default: /sys/fs/cgroup read-only, no cgroup delegated.
# ---------------------------------------------------------------------------
p run -d --name plain "${run_flags[@]}" "$image" >/dev/null
if wait_ready plain 240; then
    pass "default mode: /readyz answers 200"
    check "default mode: Warden says it runs without cgroups" logs_have plain "running without cgroups"
    check "default mode: and which limits are not enforced" logs_have plain "not enforced: "
    stop_check plain "default mode"
else
    fail "default mode: /readyz did not answer 200 within 240 s"
fi
[ "$failed" -eq 0 ] || show_logs plain
p rm -f plain >/dev/null 2>&1

"${podman[@]}" rmi -a -f >/dev/null 2>&1
rm -rf "$work" 2>/dev/null
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
