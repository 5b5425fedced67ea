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
. "$(dirname "$0")/../guest/suite-guard.sh"
require_testbed_cgroup cgroup-suite
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
