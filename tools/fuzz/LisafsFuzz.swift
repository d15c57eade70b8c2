// libFuzzer entry for the lisafs decoders: every input is tried as the payload of every
// request and response type, and as socket and channel headers. A decoder may throw; it must
// never trap, hang or read out of bounds (AddressSanitizer watches), and whatever decodes must
// encode to bytes of the same size that decode to the same message (padding is ignored on
// receipt, so the bytes themselves may differ there).

@_cdecl("LLVMFuzzerTestOneInput")
public func lisafsFuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    for type in allMessageTypes {
        if let message = try? type.init(decodingPayload: bytes) {
            let encoded = message.encoded()
            precondition(encoded.count == bytes.count && message.encodedSize == bytes.count, "\(type) misreports its size")
            precondition(roundTrips(message, encoded), "\(type) does not round-trip")
        }
    }
    var reader = ByteReader(bytes)
    _ = try? LisafsSocketHeader(decoding: &reader)
    _ = try? LisafsChannelHeader.decodeMessage(ByteReader(bytes), dataLength: UInt32(truncatingIfNeeded: count))
    return 0
}

let allMessageTypes: [any LisafsMessage.Type] =
    LisafsMessages.requestTypes.compactMap { $0 } + LisafsMessages.requestTypes.compactMap { $0 }.map { $0.responseType }
        + [ErrorResponse.self]

extension LisafsRequest {
    static var responseType: any LisafsMessage.Type { Response.self }
}

/// Whether `encoded` decodes back to `message`.
func roundTrips<Message: LisafsMessage>(_ message: Message, _ encoded: [UInt8]) -> Bool {
    (try? Message(decodingPayload: encoded)) == message
}
