# Every target installs what it needs first (Debian packages included), so on a fresh
# Debian 12 machine with Swift on PATH `make demo` and `make test` are all it takes.
SWIFT ?= swift

.PHONY: deps build demo test check-config docs bench bench-governor image clean install uninstall

deps:
	scripts/install-deps

build: deps
	$(SWIFT) build

# Runs Warden in the foreground on the bundled demo trading stack (Ctrl-C stops it gracefully).
demo: deps
	scripts/run-demo

# Unit tests, host integration tests, then the real-kernel suite in a throwaway guest.
test: deps
	scripts/test

check-config: build
	.build/debug/warden check-config --config config/demo/warden.conf

# Regenerates docs/configuration.md and docs/systemd-compatibility.md from the key tables.
docs: build
	.build/debug/warden keys --markdown > docs/configuration.md
	.build/debug/warden keys --compatibility > docs/systemd-compatibility.md

# Supervision benchmarks (release build): restart latency, readiness, start-up, idle cost.
bench: deps
	scripts/bench

# Governor benchmark in a QEMU guest: a 1 ms sleep loop's lateness next to CPU hogs,
# with no limits, static CPUWeight=, and under the governor; the governor's reaction time.
bench-governor: deps
	scripts/bench-governor

# Container images from the release binaries, no registry: .build/image/warden-image.tar
# (`podman load -i`), tags localhost/warden:latest and localhost/warden-demo:latest.
image: deps
	scripts/image

clean:
	rm -rf .build

# Installs warden, the trading slices and units/warden.service into systemd (root).
install:
	scripts/install-systemd

uninstall:
	scripts/uninstall-systemd
