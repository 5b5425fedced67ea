import Glibc
import Testing
import WardenCore
@testable import WardenLinux

@testable import WardenRuntime

/// A look that holds the tier reads the signals only: the groups' values and systemd's
/// slices come from the last full reading while the decision on them changes nothing, so
/// a throttled host is not asked over D-Bus every second. The reading is taken again when
/// it could be out of date: after a write, for a group created again, and after
/// `observationRefresh` (an operator's change is then found).
@Suite(.serialized) struct GovernorHoldingLookTests {
    @Test func holdingLooksAskSystemdOnlyWhenTheReadingIsStale() throws {
        let bed = try GovernorBed()
        let slices = RecordingSliceControl()
        let driver = try GovernorSliceWeightDriverTests.driver(bed, slices)
        driver.start(on: bed.loop)
        bed.source.cpuPressurePercent = 40
        driver.evaluate()
        #expect(driver.state.tier == .critical)
        #expect(slices.calls.count == 2)
        // The first look after the writes reads everything again (the writes changed what
        // was read), the next ones within the refresh read nothing.
        bed.clock.advance(.seconds(1))
        driver.evaluate()
        let afterWrites = slices.reads
        for _ in 0..<3 {
            bed.clock.advance(.seconds(1))
            driver.evaluate()
        }
        #expect(driver.state.tier == .critical)
        #expect(slices.reads == afterWrites)
        #expect(bed.source.taken == 5)
        // An operator's change made meanwhile is found once the reading is stale.
        writeText(bed.cgroupRoot + "/batch.slice/cpu.weight", "42\n")
        bed.clock.advance(GovernorDriver.observationRefresh)
        driver.evaluate()
        #expect(slices.reads == afterWrites + 2)
        #expect(driver.status().conflicts.map(\.file) == ["cpu.weight"])
        #expect(slices.calls.count == 2, "a holding look wrote to systemd")
    }

    @Test func aGroupCreatedAgainIsFoundAtTheNextLook() throws {
        let bed = try GovernorBed()
        let driver = try bed.throttledDriver()
        bed.clock.advance(.seconds(1))
        driver.evaluate()
        #expect(bed.file("batch.slice", "cpu.max") == "50000 100000")
        // Created again well within the refresh: the new directory is another inode.
        rename(bed.cgroupRoot + "/batch.slice", bed.cgroupRoot + "/old-batch")
        bed.makeGroup("batch.slice", cpuMax: "max 100000", weight: "100")
        bed.makeGroup("batch.slice/backtest.service", cpuMax: "max 100000", weight: "100")
        bed.clock.advance(.seconds(1))
        driver.evaluate()
        #expect(bed.capture.firstIndex("batch.slice cpu.max: its group was created again") != nil)
        let applies = bed.capture.lines.filter { $0.contains("applied: batch.slice cpu.max: 'max 100000' → '50000 100000'") }
        #expect(applies.count == 2)
    }

    /// Under an overload the kernel fires each PSI trigger once per window: one at or
    /// below the tier in force waits for the sample already due, one above it is looked
    /// at at once.
    @Test func aTriggerThatCannotRaiseTheTierWaitsForTheSampleDue() throws {
        let bed = try GovernorBed()
        let driver = try bed.throttledDriver()
        #expect(driver.state.tier == .critical)
        let taken = bed.source.taken
        driver.timer = EventLoop.TimerID(rawValue: 1)  // the next sample is due
        driver.fired(FiredTrigger(resource: .cpu, level: .critical))
        driver.fired(FiredTrigger(resource: .cpu, level: .warning))
        #expect(bed.source.taken == taken)
        // Without a sample due (the tier normal, triggers only) every event is a look.
        driver.timer = nil
        driver.fired(FiredTrigger(resource: .memory, level: .critical))
        #expect(bed.source.taken == taken + 1)
    }
}
