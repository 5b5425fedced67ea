/// Finds the closest valid spelling for a misspelt key (`CPUQuata` → `CPUQuota`).
public enum Suggestion {
    /// The candidate with the smallest case-insensitive edit distance, if it is close
    /// enough to be a plausible typo (at most a third of the word, and at most 3 edits).
    public static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
        let lowered = Array(word.lowercased().utf8)
        let limit = min(3, max(1, lowered.count / 3))
        var best: (String, Int)?
        for candidate in candidates {
            // The distance is at least the difference in length: a candidate that far off
            // cannot be the answer, and skipping it keeps a 1 MiB "key" linear to check.
            let length = candidate.utf8.count
            guard abs(length - lowered.count) <= limit else { continue }
            let distance = editDistance(lowered, Array(candidate.lowercased().utf8))
            if best == nil || distance < best!.1 {
                best = (candidate, distance)
            }
        }
        guard let (candidate, distance) = best else { return nil }
        return distance <= limit ? candidate : nil
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transposition),
    /// so `CPUQoutas` is one edit away from `CPUQuotas`.
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = Swift.min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
