#!/bin/bash
# The fault suite (Tests/fault/run) INSIDE a test-bed guest (../run-guest), where cgroup v2
# with its controllers is real: every Warden the suite starts runs in a fresh group of its
# own under WARDEN_TEST_CGROUP_ROOT/fault, which it manages as delegated to it, so
# KillMode=control-group, adoption after SIGKILL and stops go through Warden's cgroupfs
# backend; and the suite checks what only a guest can (groups left, processes in them,
# each component's processes in its own group, pids.current 0 after a stop).
#
#   Tests/kernel/run-guest --backend uml --init program --timeout 1800 -- Tests/kernel/fault-suite/in-guest.sh
#
# Tries: WARDEN_FAULT_GUEST_TRIES (default 5) of each kill-… and sockets/… scenario,
# WARDEN_FAULT_GUEST_SHAPE_TRIES (default 3) of each stop/SHAPE, WARDEN_FAULT_GUEST_STACK_RUNS
# (default 5) of stop/stack-100 (100 for the long run). Stops are judged against
# TimeoutStopSec= plus WARDEN_FAULT_GUEST_STOP_MARGIN_MS (default 4000 ms: in UML every
# system call is a round trip through the host's ptrace, and the 100-component stop
# kills and removes 100 groups on one CPU); `warden status` under the notify flood may
# take WARDEN_FAULT_GUEST_STATUS_LIMIT_MS (default 4000 ms: the flooding process has the
# guest's one CPU too; 2076 ms seen under init systemd). A failing try's Warden log goes to
# WARDEN_FAULT_GUEST_LOG_DIR (default the guest's /tmp, gone with it: give a --share
# directory to keep them). Prints the suite's lines (one per scenario, tries and failures)
# and its last line "fault: N passed, N failed"; exit 0 only when nothing failed and the
# parent group is empty afterwards, 77 when it cannot run here.
set -u
. "$(dirname "$0")/../guest/suite-guard.sh"
require_testbed_cgroup fault-suite
repo=$(cd "$(dirname "$0")/../../.." && pwd -P)
parent=$root/fault
mkdir -p "$parent" || exit 1
for controller in $(cat "$parent/cgroup.controllers"); do
    echo "+$controller" >"$parent/cgroup.subtree_control" || echo "fault-suite: cannot enable $controller in $parent" >&2
done
echo "fault-suite: $(uname -r), $(nproc) CPU(s), init ${WARDEN_TESTBED_INIT:-?}, groups under $parent ($(cat "$parent/cgroup.subtree_control"))"
started=$(date +%s)
WARDEN_FAULT_CGROUP_PARENT=$parent \
    WARDEN_FAULT_SHAPE_TRIES=${WARDEN_FAULT_GUEST_SHAPE_TRIES:-3} \
    WARDEN_FAULT_STACK_RUNS=${WARDEN_FAULT_GUEST_STACK_RUNS:-5} \
    WARDEN_FAULT_LOG_DIR=${WARDEN_FAULT_GUEST_LOG_DIR:-/tmp} \
    WARDEN_FAULT_STOP_MARGIN_MS=${WARDEN_FAULT_GUEST_STOP_MARGIN_MS:-4000} \
    WARDEN_FAULT_STATUS_LIMIT_MS=${WARDEN_FAULT_GUEST_STATUS_LIMIT_MS:-4000} \
    "$repo/Tests/fault/run" "${WARDEN_FAULT_GUEST_TRIES:-5}"
status=$?
# The suite removes each try's group; anything under the parent now is a leak.
left=$(find "$parent" -mindepth 1 -type d | sed "s|^$parent/||" | tr '\n' ' ')
if [ -n "$left" ]; then
    echo "fault-suite: groups left under $parent: $left"
    [ "$status" = 0 ] && status=1
fi
echo "fault-suite: init ${WARDEN_TESTBED_INIT:-?} took $(($(date +%s) - started)) s"
exit "$status"
