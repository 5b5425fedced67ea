import Testing

@testable import WardenCore

/// Never throttling Warden's own: a `ThrottleSlices=` slice holding Warden or a component
/// that is not batch is left alone, in each of the ways Warden can end up inside one.
@Suite struct GovernorShelterTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var way: String
        var warden: String?
        var privateNamespace = false
        var components: [GovernorPlacement.Component] = []
        /// The slices of `system.slice user.slice machine.slice kubepods.slice` left alone,
        /// with a word each of their reason or alternative.
        var sheltered: [String: String]
        var testDescription: String { way }
    }

    static let slices = ["system.slice", "user.slice", "machine.slice", "kubepods.slice"]

    static let cases: [Case] = [
        // A plain service; its components run in its cgroup (no delegation).
        Case(
            way: "plain systemd service", warden: "/system.slice/warden.service",
            components: [.init(name: "executor.service", priority: .critical, cgroups: ["/system.slice/warden.service"])],
            sheltered: ["system.slice": "run Warden in a slice of its own"]),
        // With delegation, Warden moves itself into a leaf of its subtree.
        Case(
            way: "delegated systemd service", warden: "/system.slice/warden.service/warden.supervisor",
            components: [.init(name: "backtest.service", priority: .batch, cgroups: ["/system.slice/warden.service/batch.slice/backtest.service"])],
            sheltered: ["system.slice": "Warden itself (/system.slice/warden.service/warden.supervisor)"]),
        Case(
            way: "user session", warden: "/user.slice/user-1000.slice/session-3.scope",
            sheltered: ["user.slice": "run it as a system service"]),
        Case(
            way: "user service", warden: "/user.slice/user-1000.slice/user@1000.service/app.slice/warden.service",
            sheltered: ["user.slice": "run Warden in a slice of its own"]),
        // A container with a cgroup namespace of its own: Warden sees `/` and cannot tell
        // where the host put it.
        Case(
            way: "container, private cgroup namespace", warden: "/", privateNamespace: true,
            sheltered: [
                "system.slice": "--cgroupns=host", "user.slice": "--cgroupns=host", "machine.slice": "--cgroupns=host",
                "kubepods.slice": "--cgroupns=host",
            ]),
        Case(
            way: "container in the host's namespace (systemd machine)", warden: "/machine.slice/libpod-4711.scope/container",
            sheltered: ["machine.slice": "Warden itself"]),
        Case(
            way: "Kubernetes pod, cgroupfs driver", warden: "/kubepods/burstable/pod1234/abcd", sheltered: [:]),
        Case(
            way: "Kubernetes pod, systemd driver",
            warden: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-abcd.scope",
            sheltered: ["kubepods.slice": "Warden itself"]),
        Case(way: "PID 1 of a guest under systemd's init.scope", warden: "/init.scope", sheltered: [:]),
        Case(way: "PID 1 of a guest at the root", warden: "/", sheltered: [:]),
        // With the systemd backend the components are scopes in their own slices.
        Case(
            way: "components as systemd units", warden: "/trading.slice/warden.service",
            components: [
                .init(name: "executor.service", priority: .critical, cgroups: ["/system.slice/executor.service"]),
                .init(name: "feed.service", priority: .normal, cgroups: ["/user.slice/feed.service"]),
                .init(name: "backtest.service", priority: .batch, cgroups: ["/machine.slice/backtest.service"]),
            ],
            sheltered: [
                "system.slice": "executor.service (Priority=critical)", "user.slice": "feed.service (Priority=normal)",
            ]),
        Case(way: "unknown own cgroup", warden: nil, sheltered: [:]),
    ]

    @Test(arguments: cases)
    func aSliceHoldingWardensOwnIsNeverThrottled(_ c: Case) {
        let placement = GovernorPlacement(wardenCgroup: c.warden, privateCgroupNamespace: c.privateNamespace, components: c.components)
        var found: [String: String] = [:]
        for slice in Self.slices {
            if let shelter = GovernorShelter.sheltered(slice: slice, placement: placement) { found[slice] = shelter.description }
        }
        #expect(found.keys.sorted() == c.sheltered.keys.sorted())
        for (slice, word) in c.sheltered {
            #expect(found[slice]?.contains(word) == true, "\(slice): \(found[slice] ?? "-")")
            #expect(found[slice]?.hasPrefix("ThrottleSlices= \(slice) is never throttled: it holds ") == true)
        }
    }

    @Test func theHostsCgroupNamespaceIsTheInitialOne() {
        #expect(!GovernorPlacement.isPrivateCgroupNamespace(link: "cgroup:[4026531835]"))
        #expect(GovernorPlacement.isPrivateCgroupNamespace(link: "cgroup:[4026532571]"))
        #expect(!GovernorPlacement.isPrivateCgroupNamespace(link: nil))
    }

    /// A sheltered `ThrottleSlices=` slice is neither throttled by the critical tier nor
    /// by `warden emergency on --target`, which says why.
    @Test func aShelteredSliceIsLeftAloneAutomaticallyAndByHand() throws {
        var world = GovernorWorld()
        let i = world.targets.firstIndex { $0.name == "system.slice" && $0.kind == .systemdSlice }!
        let placement = GovernorPlacement(wardenCgroup: "/system.slice/warden.service")
        let reason = try #require(GovernorShelter.sheltered(slice: "system.slice", placement: placement))
        world.targets[i] = GovernorTarget(
            name: "system.slice", kind: .systemdSlice, path: "system.slice", priority: .critical,
            current: GovernorWorld.freshSlice, sheltered: reason.description)
        world.feed(Load.crit.sample(at: 1))
        #expect(world.state.tier == .critical)
        #expect(!world.state.changes.contains { $0.kind == .systemdSlice })
        #expect(Governor.shelteredTargets(world.targets) == [reason.description])
        switch Governor.manualOn(
            state: world.state, request: ManualEmergencyRequest(targets: ["system.slice"]), at: instant(2), targets: world.targets,
            thresholds: world.thresholds)
        {
        case .success: Issue.record("a slice holding Warden was throttled by hand")
        case .failure(let error): #expect(error.message.contains("run Warden in a slice of its own"))
        }
    }

    /// Components with groups of their own under Warden's subtree: a batch slice holding a
    /// normal component is not throttled as a whole; its batch components are, one by one;
    /// the normal component is refused by name.
    @Test func aBatchSliceHoldingANormalComponentIsThrottledOnlyInItsBatchParts() throws {
        var targets = GovernorWorld.standardTargets.filter { $0.kind == .group }
        targets.append(
            GovernorTarget(name: "report.service", path: "batch.slice/report.service", priority: .normal, current: GovernorWorld.fresh))
        var world = GovernorWorld(targets: targets)
        world.feed(Load.crit.sample(at: 1))
        let cpuThrottled = Set(world.state.changes.filter { $0.file == "cpu.max" }.map(\.target))
        #expect(cpuThrottled == ["backtest.service"])
        #expect(Governor.shelteredTargets(world.targets).map { $0.hasPrefix("batch.slice is never throttled: it holds report.service (Priority=normal)") } == [true])
        for name in ["report.service", "batch.slice"] {
            switch Governor.manualOn(
                state: world.state, request: ManualEmergencyRequest(targets: [name]), at: instant(2), targets: world.targets,
                thresholds: world.thresholds)
            {
            case .success: Issue.record("\(name) was throttled by hand")
            case .failure(let error): #expect(error.message.contains("not Priority=batch (report.service (Priority=normal))"))
            }
        }
    }
}
