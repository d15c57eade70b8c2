import LinuxABI

/// A lisafs message payload: its ID, its marshaler, and its checked unmarshaler.
///
/// Layouts follow gVisor's `pkg/lisafs/message.go` byte for byte (little-endian, packed).
/// `init(decoding:)` consumes exactly the message's bytes from the reader and throws on short
/// or inconsistent input; it never traps and never allocates from an unchecked count.
public protocol LisafsMessage: Hashable, Sendable {
    /// The ID this payload travels under.
    static var messageID: LisafsMessageID { get }
    /// The payload size `encode(into:)` writes.
    var encodedSize: Int { get }
    /// Appends the payload.
    func encode(into writer: inout ByteWriter)
    /// Reads the payload from the reader's current position.
    init(decoding reader: inout ByteReader) throws(LisafsDecodeError)
}

/// A message the client sends; `Response` is what the server answers on success (on failure
/// it answers an `ErrorResponse` under MID `error`).
public protocol LisafsRequest: LisafsMessage {
    associatedtype Response: LisafsResponse
}

/// A message the server answers with.
public protocol LisafsResponse: LisafsMessage {}

/// A message with an empty payload (gVisor `EmptyMessage`): Mount and Channel requests, and
/// the responses of calls whose only result is success.
public protocol LisafsEmptyMessage: LisafsMessage {
    init()
}

extension LisafsEmptyMessage {
    public var encodedSize: Int { 0 }
    public func encode(into writer: inout ByteWriter) {}
    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) { self.init() }
}

extension LisafsMessage {
    /// The payload bytes.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: encodedSize)
        encode(into: &writer)
        return writer.bytes
    }

    /// Decodes a whole payload and rejects bytes left over after the message.
    public init(decodingPayload payload: [UInt8]) throws(LisafsDecodeError) {
        var reader = ByteReader(payload)
        try self.init(decodingAll: &reader)
    }

    /// Decodes the rest of `reader` as this message and rejects bytes left over after it.
    public init(decodingAll reader: inout ByteReader) throws(LisafsDecodeError) {
        try self.init(decoding: &reader)
        guard reader.isAtEnd else { throw .trailingBytes(count: reader.readableBytes) }
    }
}

/// The message set, for dispatch by ID.
public enum LisafsMessages {
    /// Every request type, indexed by its message ID's raw value; index 0 (`error`) has none,
    /// since Error is a response only.
    public static let requestTypes: [(any LisafsRequest.Type)?] = [
        nil, MountRequest.self, ChannelRequest.self, FStatRequest.self, SetStatRequest.self,
        WalkRequest.self, WalkStatRequest.self, OpenAtRequest.self, OpenCreateAtRequest.self,
        CloseRequest.self, FSyncRequest.self, PWriteRequest.self, PReadRequest.self,
        MkdirAtRequest.self, MknodAtRequest.self, SymlinkAtRequest.self, LinkAtRequest.self,
        FStatFSRequest.self, FAllocateRequest.self, ReadLinkAtRequest.self, FlushRequest.self,
        ConnectRequest.self, UnlinkAtRequest.self, RenameAtRequest.self, Getdents64Request.self,
        FGetXattrRequest.self, FSetXattrRequest.self, FListXattrRequest.self,
        FRemoveXattrRequest.self, BindAtRequest.self, ListenRequest.self, AcceptRequest.self,
        ConnectWithCredsRequest.self, RenameAt2Request.self,
    ]

    /// The request type for `id`, or nil for Error and for IDs this build does not know.
    public static func requestType(for id: LisafsMessageID) -> (any LisafsRequest.Type)? {
        let index = Int(id.rawValue)
        return index < requestTypes.count ? requestTypes[index] : nil
    }
}
