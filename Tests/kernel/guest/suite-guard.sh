# Sourced by the suites that need a test-bed guest and its test cgroup (POSIX sh).
#
#   require_testbed_cgroup SUITE-NAME
#
# Exits 77 with the reason outside a test-bed guest (WARDEN_TESTBED_GUEST is not 1) or
# without the guest's test cgroup; else sets `root` to that cgroup's directory.
require_testbed_cgroup() {
    if [ "${WARDEN_TESTBED_GUEST:-0}" != 1 ]; then
        echo "$1: refusing to run outside a test-bed guest (WARDEN_TESTBED_GUEST is not 1)" >&2
        exit 77
    fi
    root=${WARDEN_TEST_CGROUP_ROOT:-}
    if [ -z "$root" ] || [ ! -d "$root" ]; then
        echo "$1: no test cgroup (WARDEN_TEST_CGROUP_ROOT='$root')" >&2
        exit 77
    fi
}
