/// The bytes the Flipcall tests exchange: request `sequence`, byte `index`. The server checks
/// each request against it and replies with every byte complemented, which the client checks.
public func patternByte(sequence: Int, index: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: index &* 131 &+ sequence &* 7 &+ 1)
}
