import LinuxABI

// Extended attributes, all on control FDs: FGetXattr (25), FSetXattr (26), FListXattr (27),
// FRemoveXattr (28).
//
// Attribute names are C strings of at most XATTR_NAME_MAX bytes; values are raw bytes and may
// hold NULs.

/// FGetXattr (gVisor `FGetXattrReq`): fgetxattr(2) of attribute `name`, with a value buffer
/// of `bufferSize` bytes (0 asks for the value's size only).
///
/// Layout: `fd u64, bufSize u32, name SizedString`.
public struct FGetXattrRequest: LisafsRequest {
    public typealias Response = FGetXattrResponse
    public static let messageID = LisafsMessageID.fgetXattr

    public var fd: LisafsFDID
    public var bufferSize: UInt32
    public var name: SizedString

    public init(fd: LisafsFDID, name: SizedString, bufferSize: UInt32) {
        self.fd = fd
        self.name = name
        self.bufferSize = bufferSize
    }

    public var encodedSize: Int { 12 + name.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
        writer.writeInteger(bufferSize)
        writer.write(name)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
        bufferSize = try reader.require()
        name = try reader.requireSizedString(limit: Lisafs.maxXattrNameLength, cString: true)
    }
}

/// The answer to FGetXattr (gVisor `FGetXattrResp`): the value, a `SizedString` of raw bytes.
public struct FGetXattrResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.fgetXattr

    public var value: SizedString

    public init(value: SizedString) { self.value = value }

    public var encodedSize: Int { value.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(value)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        value = try reader.requireSizedString(cString: false)
    }
}

/// FSetXattr (gVisor `FSetXattrReq`): fsetxattr(2) of attribute `name` to `value`, with
/// XATTR_CREATE / XATTR_REPLACE `flags`.
///
/// Layout: `fd u64, flags u32, name SizedString, value SizedString`.
public struct FSetXattrRequest: LisafsRequest {
    public typealias Response = FSetXattrResponse
    public static let messageID = LisafsMessageID.fsetXattr

    public var fd: LisafsFDID
    public var flags: UInt32
    public var name: SizedString
    public var value: SizedString

    public init(fd: LisafsFDID, name: SizedString, value: SizedString, flags: UInt32) {
        self.fd = fd
        self.name = name
        self.value = value
        self.flags = flags
    }

    public var encodedSize: Int { 12 + name.encodedSize + value.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
        writer.writeInteger(flags)
        writer.write(name)
        writer.write(value)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
        flags = try reader.require()
        name = try reader.requireSizedString(limit: Lisafs.maxXattrNameLength, cString: true)
        value = try reader.requireSizedString(cString: false)
    }
}

/// The answer to FSetXattr: empty.
public struct FSetXattrResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.fsetXattr
    public init() {}
}

/// FListXattr (gVisor `FListXattrReq`, 16 bytes): flistxattr(2) with a buffer of `size` bytes
/// (0 asks for the size only).
///
/// Layout: `fd u64, size u64`.
public struct FListXattrRequest: LisafsRequest {
    public typealias Response = FListXattrResponse
    public static let messageID = LisafsMessageID.flistXattr

    public var fd: LisafsFDID
    public var size: UInt64

    public init(fd: LisafsFDID, size: UInt64) {
        self.fd = fd
        self.size = size
    }

    public var encodedSize: Int { 16 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
        writer.writeInteger(size)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
        size = try reader.require()
    }
}

/// The answer to FListXattr (gVisor `FListXattrResp`): the attribute names.
///
/// Layout: `count u16`, then `count` `SizedString` names (gVisor `StringArray`).
public struct FListXattrResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.flistXattr

    public var names: [SizedString]

    public init(names: [SizedString]) { self.names = names }

    public var encodedSize: Int { 2 + names.reduce(0) { $0 + $1.encodedSize } }

    public func encode(into writer: inout ByteWriter) {
        writer.write(names)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        names = try reader.requireStringArray { (reader: inout ByteReader) throws(LisafsDecodeError) in
            try reader.requireSizedString(limit: Lisafs.maxXattrNameLength, cString: true)
        }
    }
}

/// FRemoveXattr (gVisor `FRemoveXattrReq`): fremovexattr(2) of attribute `name`.
///
/// Layout: `fd u64, name SizedString`.
public struct FRemoveXattrRequest: LisafsRequest {
    public typealias Response = FRemoveXattrResponse
    public static let messageID = LisafsMessageID.fremoveXattr

    public var fd: LisafsFDID
    public var name: SizedString

    public init(fd: LisafsFDID, name: SizedString) {
        self.fd = fd
        self.name = name
    }

    public var encodedSize: Int { 8 + name.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
        writer.write(name)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
        name = try reader.requireSizedString(limit: Lisafs.maxXattrNameLength, cString: true)
    }
}

/// The answer to FRemoveXattr: empty.
public struct FRemoveXattrResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.fremoveXattr
    public init() {}
}
