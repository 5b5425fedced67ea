import Testing
@testable import WardenCore

/// systemd 252's rules for `ExecStart=` (service_verify): a service needs `ExecStart=`,
/// `ExecStop=` or `SuccessAction=`; `Type=` defaults to `oneshot` without `ExecStart=`;
/// only `oneshot` may have no `ExecStart=` or several.
@Suite struct ServiceWithoutExecStartTests {
    @Test(arguments: [
        // (unit body, effective type, error key and text; nil when valid)
        ("[Service]\nExecStart=/usr/bin/true", ServiceType.simple, nil),
        ("[Service]\nExecStop=/usr/bin/true", .oneshot, nil),
        ("[Unit]\nSuccessAction=reboot\n[Service]\n", .oneshot, nil),
        ("[Unit]\nSuccessAction=none\n[Service]\n", .oneshot, "a service needs ExecStart=, ExecStop= or SuccessAction="),
        ("[Unit]\nSuccessAction=exit\nSuccessAction=\n[Service]\n", .oneshot, "a service needs ExecStart=, ExecStop= or SuccessAction="),
        ("[Service]\nType=oneshot\nExecStop=/usr/bin/true", .oneshot, nil),
        ("[Service]\nType=oneshot", .oneshot, "a service needs ExecStart=, ExecStop= or SuccessAction="),
        ("[Service]\n", .oneshot, "a service needs ExecStart=, ExecStop= or SuccessAction="),
        ("[Service]\nType=simple\nExecStop=/usr/bin/true", .simple, "only Type=oneshot may have no ExecStart=, expected a command for Type=simple"),
        ("[Service]\nType=notify\nExecStop=/usr/bin/true", .notify, "only Type=oneshot may have no ExecStart="),
        ("[Service]\nType=oneshot\nExecStart=/usr/bin/true\nExecStart=/usr/bin/true", .oneshot, nil),
        ("[Service]\nExecStart=/usr/bin/true\nExecStart=/usr/bin/true", .simple, "more than one command"),
        ("[Service]\nType=exec\nExecStart=/usr/bin/true\nExecStart=/usr/bin/true", .exec, "more than one command"),
    ] as [(String, ServiceType, String?)])
    func execStartRules(body: String, type: ServiceType, error: String?) throws {
        var tree = Tree()
        tree.unit("a.service", body + "\n")
        let result = tree.load()
        if let error {
            #expect(result.errors.count == 1, "\(result.errors)")
            let found = try #require(result.errors.first)
            #expect(found.key == "ExecStart" && found.message.contains(error), "\(found)")
            #expect(found.location.file == "/u/a.service" && found.location.line > 0, "\(found)")
        } else {
            #expect(result.errors.isEmpty, "\(result.errors)")
            let service = try #require(result.configuration?.services.first)
            #expect(service.effectiveType == type)
            #expect(service.restartPolicy.type == type)
        }
    }

    /// A oneshot with no `ExecStart=` runs nothing and counts as started; like any
    /// oneshot whose work is done it then stops, running its `ExecStop=`.
    @Test(arguments: [
        ("[Unit]\nSuccessAction=exit\n[Service]\n", ComponentState.inactive),
        ("[Service]\nExecStop=/usr/bin/true\n", .stopping(.stopCommand(index: 0))),
    ])
    func oneshotWithoutCommandsStartsAtOnce(body: String, after: ComponentState) throws {
        var tree = Tree()
        tree.unit("a.service", body)
        let service = try #require(tree.load().configuration?.services.first)
        var machine = Harness(service.restartPolicy, service.serviceCommands)
        let actions = machine.send(.startRequested)
        #expect(!actions.contains { if case .runCommand(.start, _, _) = $0 { true } else { false } }, "\(actions)")
        #expect(actions.contains(.markReady), "\(actions)")
        #expect(machine.state == after, "\(machine.state)")
    }
}
