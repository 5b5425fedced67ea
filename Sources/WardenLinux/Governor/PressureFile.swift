import WardenCore

/// The PSI file format: `some avg10=1.23 avg60=… avg300=… total=…` and, except for the
/// host-wide `cpu` file before Linux 5.13, a `full` line.
public enum PressureFile {
    public static func read(_ path: String) -> Result<PressureReading, GovernorReadError> {
        readSignalFile(path).flatMap { parse($0, path: path) }
    }

    /// The kernel's PSI text, through the one PSI parser (`Pressure`); the averages
    /// are kept in hundredths of a percent, the kernel's own precision.
    public static func parse(_ text: String, path: String) -> Result<PressureReading, GovernorReadError> {
        let pressure: Pressure
        do {
            pressure = try Pressure.parse(text, file: path)
        } catch {
            let line = error.line.map { "'\($0)': " } ?? ""
            return .failure(GovernorReadError(path: path, reason: line + error.reason))
        }
        func percentage(_ value: Double) -> Percentage { Percentage(hundredths: Int((value * 100).rounded())) }
        return .success(
            PressureReading(
                someAvg10: percentage(pressure.some.avg10Percent), fullAvg10: pressure.full.map { percentage($0.avg10Percent) },
                someTotalUSec: pressure.some.totalUSec))
    }
}
