import LinuxABI
import Testing

@testable import Gofer

/// Parses "0a 0b ff" (spaces optional) into bytes.
func hex(_ string: String) -> [UInt8] {
    let digits = string.filter { !$0.isWhitespace }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

@Suite("lisafs message IDs")
struct LisafsMessageIDTests {
    @Test("IDs follow gVisor's numbering")
    func numbering() {
        let expected: [(LisafsMessageID, UInt16, String)] = [
            (.error, 0, "Error"), (.mount, 1, "Mount"), (.channel, 2, "Channel"), (.fstat, 3, "FStat"),
            (.setStat, 4, "SetStat"), (.walk, 5, "Walk"), (.walkStat, 6, "WalkStat"), (.openAt, 7, "OpenAt"),
            (.openCreateAt, 8, "OpenCreateAt"), (.close, 9, "Close"), (.fsync, 10, "FSync"),
            (.pwrite, 11, "PWrite"), (.pread, 12, "PRead"), (.mkdirAt, 13, "MkdirAt"),
            (.mknodAt, 14, "MknodAt"), (.symlinkAt, 15, "SymlinkAt"), (.linkAt, 16, "LinkAt"),
            (.fstatFS, 17, "FStatFS"), (.fallocate, 18, "FAllocate"), (.readLinkAt, 19, "ReadLinkAt"),
            (.flush, 20, "Flush"), (.connect, 21, "Connect"), (.unlinkAt, 22, "UnlinkAt"),
            (.renameAt, 23, "RenameAt"), (.getdents64, 24, "Getdents64"), (.fgetXattr, 25, "FGetXattr"),
            (.fsetXattr, 26, "FSetXattr"), (.flistXattr, 27, "FListXattr"),
            (.fremoveXattr, 28, "FRemoveXattr"), (.bindAt, 29, "BindAt"), (.listen, 30, "Listen"),
            (.accept, 31, "Accept"), (.connectWithCreds, 32, "ConnectWithCreds"), (.renameAt2, 33, "RenameAt2"),
        ]
        for (id, raw, name) in expected {
            #expect(id.rawValue == raw)
            #expect(id.name == name)
        }
        #expect(LisafsMessageID.allKnown.map(\.rawValue) == Array(0...33))
    }

    @Test("an unknown ID is a value, not a trap")
    func unknown() {
        let id = LisafsMessageID(rawValue: 999)
        #expect(id.name == nil)
        #expect(id.description == "MID(999)")
        #expect(LisafsMessageID(UInt16.max).name == nil)
    }
}

@Suite("byte reader and writer")
struct ByteReaderTests {
    @Test("little-endian round trip of every width")
    func roundTrip() throws {
        var writer = ByteWriter()
        writer.writeInteger(UInt8(0x01))
        writer.writeInteger(UInt16(0x0302))
        writer.writeInteger(UInt32(0x0706_0504))
        writer.writeInteger(UInt64(0x0f0e_0d0c_0b0a_0908))
        writer.writeInteger(Int32(-2))
        #expect(writer.bytes == hex("01 0203 04050607 08090a0b0c0d0e0f feffffff"))

        var reader = ByteReader(writer.bytes)
        #expect(reader.readInteger(as: UInt8.self) == 0x01)
        #expect(reader.readInteger(as: UInt16.self) == 0x0302)
        #expect(reader.readInteger(as: UInt32.self) == 0x0706_0504)
        #expect(reader.readInteger(as: UInt64.self) == 0x0f0e_0d0c_0b0a_0908)
        #expect(reader.readInteger(as: Int32.self) == -2)
        #expect(reader.isAtEnd)
    }

    @Test("short reads return nil and consume nothing")
    func shortReads() {
        var reader = ByteReader([1, 2, 3])
        #expect(reader.readInteger(as: UInt32.self) == nil)
        #expect(reader.readerIndex == 0)
        #expect(reader.readBytes(count: 4) == nil)
        #expect(reader.readBytes(count: -1) == nil)
        let skipped = reader.skip(4)
        #expect(!skipped)
        #expect(reader.integer(at: 2, as: UInt16.self) == nil)
        #expect(reader.integer(at: Int.max, as: UInt8.self) == nil)
        #expect(reader.integer(at: -1, as: UInt8.self) == nil)
        #expect(reader.bytes(at: 1, count: Int.max) == nil)
        #expect(reader.readInteger(as: UInt16.self) == 0x0201)
        #expect(reader.readableBytes == 1)
    }

    @Test("back-patching a length field")
    func setInteger() {
        var writer = ByteWriter()
        writer.writeInteger(UInt32(0))
        writer.writeBytes([9, 9])
        writer.setInteger(UInt32(2), at: 0)
        #expect(writer.bytes == hex("02000000 0909"))
    }
}

@Suite("lisafs headers")
struct LisafsHeaderTests {
    @Test("socket header golden bytes")
    func socketGolden() throws {
        var writer = ByteWriter()
        LisafsSocketHeader(messageID: .close, payloadLength: 20).encode(into: &writer)
        #expect(writer.bytes == hex("14000000 0900 0000"))

        var reader = ByteReader(hex("14000000 0900 ffff"))
        let header = try LisafsSocketHeader(decoding: &reader)
        #expect(header == LisafsSocketHeader(messageID: .close, payloadLength: 20))
        #expect(reader.isAtEnd)
    }

    @Test("socket header: short and oversized rejected")
    func socketMalformed() {
        for length in 0..<LisafsSocketHeader.size {
            var reader = ByteReader(Array(hex("14000000 0900 0000").prefix(length)))
            #expect(throws: LisafsDecodeError.truncated(needed: 8, available: length)) {
                try LisafsSocketHeader(decoding: &reader)
            }
        }
        // Exactly at the limit is fine; one byte over is not.
        var atLimit = ByteReader(hex("f8ff0000 0100 0000"))  // 0xfff8 + 8 == 0x10000
        #expect(throws: Never.self) { try LisafsSocketHeader(decoding: &atLimit, maxMessageSize: 0x10000) }
        var over = ByteReader(hex("f9ff0000 0100 0000"))
        #expect(throws: LisafsDecodeError.messageTooLarge(size: 0x10001, limit: 0x10000)) {
            try LisafsSocketHeader(decoding: &over, maxMessageSize: 0x10000)
        }
        var huge = ByteReader(hex("ffffffff 0100 0000"))
        #expect(throws: LisafsDecodeError.messageTooLarge(size: 0x1_0000_0007, limit: Lisafs.maxMessageSize)) {
            try LisafsSocketHeader(decoding: &huge)
        }
    }

    @Test("channel header golden bytes and payload split")
    func channelGolden() throws {
        var writer = ByteWriter()
        LisafsChannelHeader(messageID: .fstat, fdCount: 1).encode(into: &writer)
        FStatRequest(fd: LisafsFDID(7)).encode(into: &writer)
        #expect(writer.bytes == hex("0300 01 00 0700000000000000"))

        // The window holds stale bytes past the announced length; they are not part of the message.
        let window = ByteReader(writer.bytes + [0xee, 0xee])
        var (header, payload) = try LisafsChannelHeader.decodeMessage(window, dataLength: 12)
        #expect(header == LisafsChannelHeader(messageID: .fstat, fdCount: 1))
        #expect(try FStatRequest(decodingAll: &payload) == FStatRequest(fd: LisafsFDID(7)))
        // A window that holds exactly the message is read in place.
        var (_, exact) = try LisafsChannelHeader.decodeMessage(ByteReader(writer.bytes), dataLength: 12)
        #expect(exact.readableBytes == 8)
        #expect(try FStatRequest(decodingAll: &exact) == FStatRequest(fd: LisafsFDID(7)))
    }

    @Test("channel message: length smaller than header, larger than max or than the window")
    func channelMalformed() {
        let window = ByteReader(hex("0300 00 00 0700000000000000"))
        for length: UInt32 in 0..<4 {
            #expect(throws: LisafsDecodeError.messageTooSmall(size: length, minimum: 4)) {
                try LisafsChannelHeader.decodeMessage(window, dataLength: length)
            }
        }
        #expect(throws: LisafsDecodeError.messageTooLarge(size: 13, limit: 12)) {
            try LisafsChannelHeader.decodeMessage(window, dataLength: 13, maxMessageSize: 12)
        }
        #expect(throws: LisafsDecodeError.truncated(needed: 13, available: 12)) {
            try LisafsChannelHeader.decodeMessage(window, dataLength: 13)
        }
        #expect(throws: LisafsDecodeError.truncated(needed: 0xffff_ffff, available: 12)) {
            try LisafsChannelHeader.decodeMessage(window, dataLength: .max, maxMessageSize: .max)
        }
    }
}

@Suite("lisafs messages")
struct LisafsMessageTests {
    @Test("ErrorResponse golden bytes")
    func errorResponse() throws {
        let message = ErrorResponse(errno: 2)  // ENOENT
        #expect(ErrorResponse.messageID == .error)
        #expect(message.encoded() == hex("02000000"))
        #expect(message.encodedSize == 4)
        #expect(try ErrorResponse(decodingPayload: hex("5f000000")) == ErrorResponse(errno: 95))
    }

    @Test("CloseRequest golden bytes: a uint16 count (gVisor FdArray), then the ids")
    func closeRequest() throws {
        let message = CloseRequest(fds: [LisafsFDID(1), LisafsFDID(0x0102_0304_0506_0708)])
        let golden = hex("0200 0100000000000000 0807060504030201")
        #expect(message.encoded() == golden)
        #expect(message.encodedSize == golden.count)
        #expect(try CloseRequest(decodingPayload: golden) == message)
        #expect(try CloseRequest(decodingPayload: hex("0000")) == CloseRequest(fds: []))
    }

    @Test("short input rejected")
    func short() {
        #expect(throws: LisafsDecodeError.truncated(needed: 4, available: 3)) {
            try ErrorResponse(decodingPayload: hex("020000"))
        }
        #expect(throws: LisafsDecodeError.truncated(needed: 2, available: 0)) {
            try CloseRequest(decodingPayload: [])
        }
        #expect(throws: LisafsDecodeError.truncated(needed: 8, available: 7)) {
            try FStatRequest(decodingPayload: hex("07000000000000"))
        }
    }

    @Test("a count larger than the payload is rejected before allocating")
    func lyingCount() {
        // Claims 2 ids, carries 1.
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 2, elementSize: 8, available: 8)) {
            try CloseRequest(decodingPayload: hex("0200 0100000000000000"))
        }
        // Claims 65,535 ids in a 2-byte message.
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 0xffff, elementSize: 8, available: 0)) {
            try CloseRequest(decodingPayload: hex("ffff"))
        }
        // A partial trailing id is as bad as a missing one.
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 1, elementSize: 8, available: 7)) {
            try CloseRequest(decodingPayload: hex("0100 01000000000000"))
        }
    }

    @Test("oversized input (trailing bytes) rejected")
    func trailing() {
        #expect(throws: LisafsDecodeError.trailingBytes(count: 1)) {
            try ErrorResponse(decodingPayload: hex("02000000 00"))
        }
        #expect(throws: LisafsDecodeError.trailingBytes(count: 8)) {
            try CloseRequest(decodingPayload: hex("0100 0100000000000000 0200000000000000"))
        }
    }

    @Test("every prefix of a valid message throws, never traps")
    func everyPrefix() {
        let golden = CloseRequest(fds: (1...5).map { LisafsFDID($0) }).encoded()
        for length in 0..<golden.count {
            #expect(throws: LisafsDecodeError.self) { try CloseRequest(decodingPayload: Array(golden.prefix(length))) }
        }
    }

    @Test("decode errors map to EINVAL")
    func errno() {
        #expect(String(describing: LisafsDecodeError.trailingBytes(count: 1).errno).hasPrefix("EINVAL"))
        #expect("\(LisafsDecodeError.messageTooSmall(size: 2, minimum: 4))".contains("smaller"))
        #expect(LisafsDecodeError.stringTooLong(length: 256, limit: 255).errno == .ENAMETOOLONG)
        #expect(LisafsDecodeError.embeddedNUL(offset: 0).errno == .EINVAL)
    }
}
