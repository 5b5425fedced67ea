#!/bin/sh
# The real-kernel cgroup suite, run INSIDE a test-bed guest (see ../README.md):
# runs the Swift test bundle's CgroupKernelTests against the guest's delegated
# test group.  Refuses to run on the host: these tests create groups, spawn CPU
# and memory hogs and kill them, which must never happen in the host's cgroups.
#
#   Tests/kernel/run-guest -- Tests/kernel/cgroup-suite/in-guest.sh
#
# Exit status: the test binary's (0 = all passed), 77 when it cannot run here.
set -u
if [ "${WARDEN_TESTBED_GUEST:-0}" != 1 ]; then
    echo "cgroup-suite: refusing to run outside a test-bed guest (WARDEN_TESTBED_GUEST is not 1)" >&2
    exit 77
fi
root=${WARDEN_TEST_CGROUP_ROOT:-}
if [ -z "$root" ] || [ ! -d "$root" ]; then
    echo "cgroup-suite: no test cgroup (WARDEN_TEST_CGROUP_ROOT='$root')" >&2
    exit 77
fi
repo=$(cd "$(dirname "$0")/../../.." && pwd -P)
bundle=${WARDEN_TEST_BUNDLE:-$repo/.build/debug/WardenPackageTests.xctest}
if [ ! -x "$bundle" ]; then
    echo "cgroup-suite: $bundle is missing: run 'swift build --build-tests' on the host first" >&2
    exit 77
fi
echo "cgroup-suite: $(uname -r), $(nproc) CPU(s), root $root: $(cat "$root/cgroup.controllers")"
WARDEN_CGROUP_ROOT=$root "$bundle" --testing-library swift-testing --filter CgroupKernelTests
status=$?
# A suite that left groups behind has failed, whatever it reported.
leftover=$(find "$root" -mindepth 1 -type d ! -name warden.supervisor 2>/dev/null)
if [ -n "$leftover" ]; then
    echo "cgroup-suite: groups left behind:" >&2
    echo "$leftover" >&2
    [ "$status" -eq 0 ] && status=1
fi
exit "$status"
