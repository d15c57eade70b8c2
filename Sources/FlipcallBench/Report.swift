/// One measured round-trip row.
struct Row {
    let transport: Transport
    let size: Int
    let roundTrips: Int
    let nanoseconds: UInt64

    var nanosecondsPerRoundTrip: Double { Double(nanoseconds) / Double(roundTrips) }
    var roundTripsPerSecond: Double { Double(roundTrips) / Double(nanoseconds) * 1e9 }
    /// Payload megabytes (10^6 bytes) moved per second.
    var megabytesPerSecond: Double { Double(size) * roundTripsPerSecond / 1e6 }
}

/// One measured one-way row.
struct OneWay {
    let name: String
    let count: Int
    let size: Int
    let nanoseconds: UInt64

    var messagesPerSecond: Double { Double(count) / Double(nanoseconds) * 1e9 }
}

/// The table flipcall-bench prints.
struct Report {
    var rows: [Row] = []
    var memcpy: [Int: Double] = [:]
    var oneWay: [OneWay] = []

    func print() {
        Swift.print("")
        Swift.print(pad("transport", 16) + pad("payload", 10, right: true) + pad("round trips/s", 16, right: true)
            + pad("ns/round trip", 16, right: true) + pad("MB/s", 12, right: true) + pad("vs pipe (time)", 16, right: true))
        for row in rows {
            let pipe = rows.first { $0.transport == .pipe && $0.size == row.size }
            let ratio = pipe.map { row.nanosecondsPerRoundTrip / $0.nanosecondsPerRoundTrip } ?? 0
            Swift.print(pad(row.transport.rawValue, 16) + pad(bytes(row.size), 10, right: true)
                + pad(fixed(row.roundTripsPerSecond, 0), 16, right: true)
                + pad(fixed(row.nanosecondsPerRoundTrip, 0), 16, right: true)
                + pad(fixed(row.megabytesPerSecond, 1), 12, right: true) + pad(fixed(ratio, 3), 16, right: true))
        }
        Swift.print("")
        Swift.print(pad("memcpy", 16) + pad("size", 10, right: true) + pad("MB/s", 16, right: true))
        for size in memcpy.keys.sorted() where size > 0 {
            Swift.print(pad("memcpy", 16) + pad(bytes(size), 10, right: true) + pad(fixed(memcpy[size] ?? 0, 1), 16, right: true))
        }
        Swift.print("")
        Swift.print(pad("one way", 16) + pad("message", 10, right: true) + pad("messages/s", 16, right: true) + pad("vs pipe", 16, right: true))
        let pipe = oneWay.first { $0.name == "pipe" }
        for row in oneWay {
            Swift.print(pad(row.name, 16) + pad(bytes(row.size), 10, right: true) + pad(fixed(row.messagesPerSecond, 0), 16, right: true)
                + pad(fixed(row.messagesPerSecond / (pipe?.messagesPerSecond ?? 1), 2), 16, right: true))
        }
        Swift.print("")
        Swift.print("targets")
        target("flipcall-futex 0 B round trip / pipe", ratio(.flipcallFutex, 0), atMost: 0.7)
        target("flipcall-spin 0 B round trip / pipe", ratio(.flipcallSpin, 0), atMost: 0.2)
        for transport in [Transport.flipcallFutex, .flipcallSpin] {
            if let big = rows.first(where: { $0.transport == transport && $0.size == 1 << 20 }), let copy = memcpy[1 << 20] {
                target("\(transport.rawValue) 1 MiB MB/s / memcpy MB/s", big.megabytesPerSecond / copy, atLeast: 0.25)
            }
        }
    }

    private func ratio(_ transport: Transport, _ size: Int) -> Double? {
        guard let row = rows.first(where: { $0.transport == transport && $0.size == size }),
            let pipe = rows.first(where: { $0.transport == .pipe && $0.size == size })
        else { return nil }
        return row.nanosecondsPerRoundTrip / pipe.nanosecondsPerRoundTrip
    }

    private func target(_ name: String, _ value: Double?, atMost: Double? = nil, atLeast: Double? = nil) {
        guard let value else { return }
        let met = (atMost.map { value <= $0 } ?? true) && (atLeast.map { value >= $0 } ?? true)
        let bound = atMost.map { "<= \(fixed($0, 2))" } ?? atLeast.map { ">= \(fixed($0, 2))" } ?? ""
        Swift.print("  " + pad(name, 44) + pad(fixed(value, 3), 8, right: true) + "  (target \(bound)) " + (met ? "met" : "MISSED"))
    }
}

func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
}

func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    if digits == 0 { return String(Int(rounded)) }
    let whole = Int(rounded)
    var fraction = String(Int(((abs(rounded) - Double(abs(whole))) * scale).rounded()))
    while fraction.count < digits { fraction = "0" + fraction }
    return (rounded < 0 && whole == 0 ? "-" : "") + "\(whole).\(fraction)"
}

func bytes(_ size: Int) -> String {
    if size >= 1 << 20 && size % (1 << 20) == 0 { return "\(size >> 20) MiB" }
    if size >= 1 << 10 && size % (1 << 10) == 0 { return "\(size >> 10) KiB" }
    return "\(size) B"
}
