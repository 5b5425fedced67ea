import ArgumentParser
import WardenCore

/// `warden keys`: the configuration reference, from the same tables the parser uses.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every configuration key with its meaning, syntax and default.")

    @Flag(help: "Print the full reference as Markdown (docs/configuration.md).")
    var markdown = false

    @Flag(help: "Print what Warden does with each key systemd knows, as Markdown (docs/systemd-compatibility.md).")
    var compatibility = false

    func run() {
        if compatibility {
            print(SystemdCompatibility.markdown(), terminator: "")
            return
        }
        if markdown {
            print(KeyReference.markdown(), terminator: "")
            return
        }
        for (title, entries) in [
            ("NAME.service", KeyReference.serviceKeys), ("NAME.slice", KeyReference.sliceKeys),
            ("NAME.target", KeyReference.targetKeys), ("[Install] of every unit", KeyReference.installKeys),
            ("warden.conf", KeyReference.settingsKeys),
        ] {
            print("\(title):")
            let width = entries.map { $0.key.count + $0.sections.joined(separator: "/").count + 3 }.max() ?? 0
            for entry in entries {
                let name = "[\(entry.sections.joined(separator: "/"))] \(entry.key)"
                print("  \(name.padding(to: width + 1)) \(entry.doc.syntax)")
            }
        }
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
