import LinuxABI
import Testing

@testable import Gofer

// Golden bytes for every lisafs message, written by hand from the layouts in gVisor's
// pkg/lisafs/message.go and pkg/abi/linux (little-endian, packed). Spaces separate fields.

/// Values used across the goldens, with their encodings written out once.
enum Fixture {
    /// A statx with a distinct value in every field.
    static let statx: LisafsStatx = {
        var stat = LisafsStatx()
        stat.mask = 0x7ff  // STATX_BASIC_STATS
        stat.blockSize = 4096
        stat.attributes = 0x20  // STATX_ATTR_APPEND
        stat.linkCount = 2
        stat.uid = 1000
        stat.gid = 1001
        stat.mode = 0o100644
        stat.inode = 0x0102_0304_0506_0708
        stat.size = 5
        stat.blocks = 8
        stat.attributesMask = 0x20
        stat.accessTime = LisafsStatxTimestamp(seconds: 1_700_000_000, nanoseconds: 1)
        stat.birthTime = LisafsStatxTimestamp(seconds: 2, nanoseconds: 3)
        stat.changeTime = LisafsStatxTimestamp(seconds: 4, nanoseconds: 5)
        stat.modificationTime = LisafsStatxTimestamp(seconds: 6, nanoseconds: 999_999_999)
        stat.rdevMajor = 1
        stat.rdevMinor = 3
        stat.devMajor = 8
        stat.devMinor = 1
        return stat
    }()

    /// `statx` on the wire: 144 bytes.
    static let statxHex = """
        ff070000 00100000 2000000000000000
        02000000 e8030000 e9030000 a481 0000
        0807060504030201 0500000000000000 0800000000000000 2000000000000000
        00f1536500000000 01000000 00000000
        0200000000000000 03000000 00000000
        0400000000000000 05000000 00000000
        0600000000000000 ffc99a3b 00000000
        01000000 03000000 08000000 01000000
        """

    /// An inode with control FD 0x11 and `statx`.
    static let inode = LisafsInode(controlFD: LisafsFDID(0x11), stat: statx)
    /// `inode` on the wire: 152 bytes.
    static let inodeHex = "1100000000000000 " + statxHex

    /// An ext4-looking statfs.
    static let statfs: LisafsStatfs = {
        var statfs = LisafsStatfs()
        statfs.type = 0xef53
        statfs.blockSize = 4096
        statfs.blocks = 1000
        statfs.blocksFree = 500
        statfs.blocksAvailable = 400
        statfs.files = 100
        statfs.filesFree = 50
        statfs.nameLength = 255
        return statfs
    }()

    /// `statfs` on the wire: 64 bytes.
    static let statfsHex = """
        53ef000000000000 0010000000000000 e803000000000000 f401000000000000
        9001000000000000 6400000000000000 3200000000000000 ff00000000000000
        """
}

/// One message with its golden encoding, type-erased for parameterized tests.
struct WireCase: Sendable, CustomTestStringConvertible {
    let typeName: String
    let messageID: LisafsMessageID
    let golden: [UInt8]
    let encoded: [UInt8]
    let encodedSize: Int
    /// Decodes a whole payload and tells whether it equals the message.
    let decodesToMessage: @Sendable ([UInt8]) throws(LisafsDecodeError) -> Bool

    init<M: LisafsMessage>(_ message: M, _ golden: String) {
        typeName = String(describing: M.self)
        messageID = M.messageID
        self.golden = hex(golden)
        encoded = message.encoded()
        encodedSize = message.encodedSize
        decodesToMessage = { (bytes: [UInt8]) throws(LisafsDecodeError) -> Bool in
            try M(decodingPayload: bytes) == message
        }
    }

    var testDescription: String { typeName }

    /// Every message type, in MID order, request before response.
    static let all: [WireCase] = {
        let f = Fixture.self
        let none = ""
        return [
            WireCase(ErrorResponse(errno: 2), "02000000"),
            // Mount, Channel
            WireCase(MountRequest(), none),
            WireCase(
                MountResponse(root: f.inode, maxMessageSize: 0x1f_f000, supportedMessages: [.mount, .walk, .renameAt2]),
                f.inodeHex + " 00f01f00 0300 0100 0500 2100"),
            WireCase(ChannelRequest(), none),
            WireCase(ChannelResponse(dataOffset: 0x1000, dataLength: 0x10_1000), "0010000000000000 0010100000000000"),
            // FStat, SetStat
            WireCase(FStatRequest(fd: LisafsFDID(7)), "0700000000000000"),
            WireCase(FStatResponse(stat: f.statx), f.statxHex),
            WireCase(
                SetStatRequest(
                    fd: LisafsFDID(3), mask: 0x262, mode: 0o644, uid: .none, gid: LisafsGID(100), size: 0x1000,
                    accessTime: LinuxTimespec(seconds: 1, nanoseconds: 2),
                    modificationTime: LinuxTimespec(seconds: 3, nanoseconds: (1 << 30) - 2)),  // UTIME_OMIT
                """
                0300000000000000 62020000 a4010000 ffffffff 64000000 0010000000000000
                0100000000000000 0200000000000000 0300000000000000 feffff3f00000000
                """),
            WireCase(SetStatResponse(failureMask: 0x8, failureErrno: 1), "08000000 01000000"),
            // Walk, WalkStat
            WireCase(WalkRequest(dirFD: LisafsFDID(1), path: ["a", "bc"]), "0100000000000000 0200 0100 61 0200 6263"),
            WireCase(WalkResponse(status: .componentSymlink, inodes: [f.inode]), "02 0100 " + f.inodeHex),
            WireCase(WalkStatRequest(dirFD: LisafsFDID(1), path: ["", "x"]), "0100000000000000 0200 0000 0100 78"),
            WireCase(WalkStatResponse(stats: [f.statx, f.statx]), "0200 " + f.statxHex + f.statxHex),
            // OpenAt, OpenCreateAt
            WireCase(OpenAtRequest(fd: LisafsFDID(9), flags: 0x8_0002), "0900000000000000 02000800 00000000"),
            WireCase(OpenAtResponse(openFD: LisafsFDID(10)), "0a00000000000000"),
            WireCase(
                OpenCreateAtRequest(dirFD: LisafsFDID(1), name: "f", flags: 1, mode: 0o644, uid: LisafsUID(1000), gid: LisafsGID(1000)),
                "0100000000000000 e8030000 e8030000 a401 0000 00000000 01000000 0100 66"),
            WireCase(OpenCreateAtResponse(child: f.inode, openFD: LisafsFDID(0x12)), f.inodeHex + " 1200000000000000"),
            // Close, FSync
            WireCase(
                CloseRequest(fds: [LisafsFDID(1), LisafsFDID(0x0102_0304_0506_0708)]),
                "0200 0100000000000000 0807060504030201"),
            WireCase(CloseResponse(), none),
            WireCase(FSyncRequest(fds: [LisafsFDID(5)]), "0100 0500000000000000"),
            WireCase(FSyncResponse(), none),
            // PWrite, PRead
            WireCase(
                PWriteRequest(offset: 0x100, fd: LisafsFDID(10), data: [0xde, 0xad, 0xbe, 0xef]),
                "0001000000000000 0a00000000000000 04000000 deadbeef"),
            WireCase(PWriteResponse(count: 4), "0400000000000000"),
            WireCase(
                PReadRequest(offset: 0x200, fd: LisafsFDID(10), count: 0x1000),
                "0002000000000000 0a00000000000000 00100000 00000000"),
            WireCase(PReadResponse(data: [1, 2, 3]), "0300000000000000 010203"),
            // MkdirAt, MknodAt, SymlinkAt, LinkAt
            WireCase(
                MkdirAtRequest(dirFD: LisafsFDID(1), name: "dir", mode: 0o755, uid: LisafsUID(0), gid: LisafsGID(0)),
                "0100000000000000 00000000 00000000 ed01 0000 00000000 0300 646972"),
            WireCase(MkdirAtResponse(child: f.inode), f.inodeHex),
            WireCase(
                MknodAtRequest(
                    dirFD: LisafsFDID(1), name: "p", mode: 0o010600, uid: LisafsUID(1), gid: LisafsGID(2), minor: 3, major: 4),
                "0100000000000000 01000000 02000000 8011 0000 00000000 03000000 04000000 0100 70"),
            WireCase(MknodAtResponse(child: f.inode), f.inodeHex),
            WireCase(
                SymlinkAtRequest(dirFD: LisafsFDID(1), name: "l", target: "../t", uid: LisafsUID(5), gid: LisafsGID(6)),
                "0100000000000000 05000000 06000000 0100 6c 0400 2e2e2f74"),
            WireCase(SymlinkAtResponse(symlink: f.inode), f.inodeHex),
            WireCase(
                LinkAtRequest(dirFD: LisafsFDID(1), target: LisafsFDID(0x11), name: "h"),
                "0100000000000000 1100000000000000 0100 68"),
            WireCase(LinkAtResponse(link: f.inode), f.inodeHex),
            // FStatFS, FAllocate, ReadLinkAt, Flush
            WireCase(FStatFSRequest(fd: LisafsFDID(1)), "0100000000000000"),
            WireCase(FStatFSResponse(statfs: f.statfs), f.statfsHex),
            WireCase(
                FAllocateRequest(fd: LisafsFDID(10), mode: 1, offset: 0x1000, length: 0x2000),
                "0a00000000000000 0100000000000000 0010000000000000 0020000000000000"),
            WireCase(FAllocateResponse(), none),
            WireCase(ReadLinkAtRequest(fd: LisafsFDID(0x11)), "1100000000000000"),
            WireCase(ReadLinkAtResponse(target: "/etc/passwd"), "0b00 2f6574632f706173737764"),
            WireCase(FlushRequest(fd: LisafsFDID(10)), "0a00000000000000"),
            WireCase(FlushResponse(), none),
            // Connect, UnlinkAt, RenameAt, Getdents64
            WireCase(ConnectRequest(fd: LisafsFDID(0x11), socketType: 1), "1100000000000000 01000000 00000000"),
            WireCase(ConnectResponse(), none),
            WireCase(UnlinkAtRequest(dirFD: LisafsFDID(1), name: "d", flags: 0x200), "0100000000000000 00020000 0100 64"),
            WireCase(UnlinkAtResponse(), none),
            WireCase(
                RenameAtRequest(oldDir: LisafsFDID(1), oldName: "a", newDir: LisafsFDID(2), newName: "bb"),
                "0100000000000000 0200000000000000 0100 61 0200 6262"),
            WireCase(RenameAtResponse(), none),
            WireCase(Getdents64Request(dirFD: LisafsFDID(10), count: -4096), "0a00000000000000 00f0ffff 00000000"),
            WireCase(
                Getdents64Response(dirents: [
                    LisafsDirent64(inode: 0x10, devMinor: 1, devMajor: 8, offset: 1, type: 4, name: "."),
                    LisafsDirent64(inode: 0x11, devMinor: 1, devMajor: 8, offset: 2, type: 8, name: "file"),
                ]),
                """
                0200
                1000000000000000 01000000 08000000 0100000000000000 04 0100 2e
                1100000000000000 01000000 08000000 0200000000000000 08 0400 66696c65
                """),
            // Xattrs
            WireCase(
                FGetXattrRequest(fd: LisafsFDID(0x11), name: "user.a", bufferSize: 64),
                "1100000000000000 40000000 0600 757365722e61"),
            WireCase(FGetXattrResponse(value: SizedString(bytes: [0x00, 0x01])!), "0200 0001"),
            WireCase(
                FSetXattrRequest(fd: LisafsFDID(0x11), name: "user.a", value: "v", flags: 1),
                "1100000000000000 01000000 0600 757365722e61 0100 76"),
            WireCase(FSetXattrResponse(), none),
            WireCase(FListXattrRequest(fd: LisafsFDID(0x11), size: 256), "1100000000000000 0001000000000000"),
            WireCase(
                FListXattrResponse(names: ["user.a", "security.b"]),
                "0200 0600 757365722e61 0a00 73656375726974792e62"),
            WireCase(FRemoveXattrRequest(fd: LisafsFDID(0x11), name: "user.a"), "1100000000000000 0600 757365722e61"),
            WireCase(FRemoveXattrResponse(), none),
            // BindAt, Listen, Accept
            WireCase(
                BindAtRequest(
                    dirFD: LisafsFDID(1), name: "s", socketType: 1, mode: 0o140755, uid: LisafsUID(1000), gid: LisafsGID(1000)),
                "0100000000000000 e8030000 e8030000 edc1 0000 00000000 01000000 0100 73"),
            WireCase(BindAtResponse(child: f.inode, boundSocketFD: LisafsFDID(0x13)), f.inodeHex + " 1300000000000000"),
            WireCase(ListenRequest(fd: LisafsFDID(0x13), backlog: 128), "1300000000000000 80000000 00000000"),
            WireCase(ListenResponse(), none),
            WireCase(AcceptRequest(fd: LisafsFDID(0x13)), "1300000000000000"),
            WireCase(AcceptResponse(peerAddress: SizedString(bytes: [0x00, 0x61, 0x62])!), "0300 006162"),  // abstract
            // ConnectWithCreds, RenameAt2 (layouts of our own)
            WireCase(
                ConnectWithCredsRequest(fd: LisafsFDID(0x11), socketType: 2, uid: LisafsUID(1000), gid: LisafsGID(1001), pid: 42),
                "1100000000000000 02000000 00000000 e8030000 e9030000 2a000000 00000000"),
            WireCase(ConnectWithCredsResponse(), none),
            WireCase(
                RenameAt2Request(oldDir: LisafsFDID(1), oldName: "a", newDir: LisafsFDID(2), newName: "b", flags: 1),
                "0100000000000000 0200000000000000 01000000 0100 61 0100 62"),
            WireCase(RenameAt2Response(), none),
        ]
    }()
}

/// Names of a request type and its response type (opens the existential).
private func names<R: LisafsRequest>(_ type: R.Type) -> (request: String, response: String, responseID: LisafsMessageID) {
    (String(describing: R.self), String(describing: R.Response.self), R.Response.messageID)
}

/// A deterministic generator for the fuzz-style tests (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

@Suite("lisafs message set: golden bytes")
struct LisafsGoldenTests {
    @Test("encoding matches the hand-written golden bytes", arguments: WireCase.all)
    func golden(_ wire: WireCase) {
        #expect(wire.encoded == wire.golden)
        #expect(wire.encodedSize == wire.golden.count)
    }

    @Test("the golden bytes decode to the message", arguments: WireCase.all)
    func roundTrip(_ wire: WireCase) throws {
        #expect(try wire.decodesToMessage(wire.golden))
        #expect(try wire.decodesToMessage(wire.encoded))
    }

    @Test("every strict prefix of the golden bytes is rejected", arguments: WireCase.all)
    func prefixes(_ wire: WireCase) {
        var accepted: [Int] = []
        for length in 0..<wire.golden.count {
            do {
                _ = try wire.decodesToMessage(Array(wire.golden.prefix(length)))
                accepted.append(length)
            } catch {
                // Expected: a typed LisafsDecodeError.
            }
        }
        #expect(accepted.isEmpty, "prefixes of length \(accepted) decoded")
    }

    @Test("a trailing byte is rejected", arguments: WireCase.all)
    func trailing(_ wire: WireCase) {
        #expect(throws: LisafsDecodeError.trailingBytes(count: 1)) {
            try wire.decodesToMessage(wire.golden + [0xaa])
        }
    }

    @Test("every request and response type of MIDs 0–33 has a golden case")
    func coverage() {
        let covered = Set(WireCase.all.map(\.typeName))
        var expected: Set<String> = ["ErrorResponse"]
        for case let type? in LisafsMessages.requestTypes {
            let pair = names(type)
            expected.insert(pair.request)
            expected.insert(pair.response)
        }
        #expect(expected.count == 1 + 2 * 33)
        #expect(expected.subtracting(covered).isEmpty, "no golden for \(expected.subtracting(covered).sorted())")
        #expect(covered.count == WireCase.all.count, "a type has two cases")
    }

    @Test("the registry maps each MID to its request, and each request to a response of the same MID")
    func registry() {
        #expect(LisafsMessages.requestTypes.count == LisafsMessageID.allKnown.count)
        #expect(LisafsMessages.requestType(for: .error) == nil)
        #expect(LisafsMessages.requestType(for: LisafsMessageID(34)) == nil)
        #expect(LisafsMessages.requestType(for: LisafsMessageID(.max)) == nil)
        for id in LisafsMessageID.allKnown.dropFirst() {
            guard let type = LisafsMessages.requestType(for: id) else {
                Issue.record("no request type for \(id)")
                continue
            }
            #expect(type.messageID == id)
            #expect(names(type).responseID == id)
            #expect(names(type).request.hasPrefix(id.name ?? "?"), "\(names(type).request) under \(id)")
        }
    }

    @Test("fixed structs have gVisor's sizes")
    func sizes() {
        #expect(LisafsStatx.wireSize == 144)
        #expect(LisafsInode.wireSize == 152)
        #expect(LisafsStatfs.wireSize == 64)
        #expect(hex(Fixture.statxHex).count == 144)
        #expect(hex(Fixture.inodeHex).count == 152)
        #expect(hex(Fixture.statfsHex).count == 64)
    }
}

@Suite("lisafs message set: malformed input")
struct LisafsMalformedTests {
    @Test("lying array counts are rejected before allocating")
    func lyingCounts() {
        let inode = hex(Fixture.inodeHex)
        let statx = hex(Fixture.statxHex)
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 0xffff, elementSize: 8, available: 0)) {
            try FSyncRequest(decodingPayload: hex("ffff"))
        }
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 0xffff, elementSize: 2, available: 0)) {
            try WalkRequest(decodingPayload: hex("0100000000000000 ffff"))
        }
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 3, elementSize: 2, available: 4)) {
            try WalkStatRequest(decodingPayload: hex("0100000000000000 0300 0200 6162"))
        }
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 2, elementSize: 152, available: 152)) {
            try WalkResponse(decodingPayload: hex("00 0200") + inode)
        }
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 1, elementSize: 144, available: 143)) {
            try WalkStatResponse(decodingPayload: hex("0100") + statx.dropLast())
        }
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 5, elementSize: 2, available: 2)) {
            try MountResponse(decodingPayload: inode + hex("00f01f00 0500 0100"))
        }
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 1, elementSize: 27, available: 26)) {
            try Getdents64Response(decodingPayload: hex("0100") + [UInt8](repeating: 0, count: 26))
        }
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 3, elementSize: 2, available: 3)) {
            try FListXattrResponse(decodingPayload: hex("0300 0100 61"))
        }
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 0xffff_ffff, elementSize: 1, available: 4)) {
            try PWriteRequest(decodingPayload: hex("0000000000000000 0a00000000000000 ffffffff 01020304"))
        }
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: .max, elementSize: 1, available: 3)) {
            try PReadResponse(decodingPayload: hex("ffffffffffffffff 010203"))
        }
    }

    @Test("a string length beyond the payload is rejected")
    func lyingStringLength() {
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 5, elementSize: 1, available: 2)) {
            try ReadLinkAtResponse(decodingPayload: hex("0500 6162"))
        }
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 0xffff, elementSize: 1, available: 1)) {
            try FGetXattrResponse(decodingPayload: hex("ffff 00"))
        }
        // The second of two strings lies.
        #expect(throws: LisafsDecodeError.countExceedsPayload(count: 2, elementSize: 1, available: 1)) {
            try RenameAtRequest(decodingPayload: hex("0100000000000000 0200000000000000 0100 61 0200 62"))
        }
    }

    @Test("strings longer than their field allows are rejected; the limit itself is accepted")
    func overlongStrings() throws {
        let name255 = SizedString(bytes: [UInt8](repeating: 0x61, count: 255))!
        let name256 = SizedString(bytes: [UInt8](repeating: 0x61, count: 256))!
        let mkdir = MkdirAtRequest(dirFD: LisafsFDID(1), name: name255, mode: 0o755, uid: .none, gid: .none)
        #expect(try MkdirAtRequest(decodingPayload: mkdir.encoded()) == mkdir)
        var tooLong = mkdir
        tooLong.name = name256
        #expect(throws: LisafsDecodeError.stringTooLong(length: 256, limit: 255)) {
            try MkdirAtRequest(decodingPayload: tooLong.encoded())
        }
        #expect(throws: LisafsDecodeError.stringTooLong(length: 256, limit: 255)) {
            try WalkRequest(decodingPayload: WalkRequest(dirFD: LisafsFDID(1), path: ["a", name256]).encoded())
        }

        let target4095 = SizedString(bytes: [UInt8](repeating: 0x2f, count: 4095))!
        let target4096 = SizedString(bytes: [UInt8](repeating: 0x2f, count: 4096))!
        let symlink = SymlinkAtRequest(dirFD: LisafsFDID(1), name: "l", target: target4095, uid: .none, gid: .none)
        #expect(try SymlinkAtRequest(decodingPayload: symlink.encoded()) == symlink)
        #expect(throws: LisafsDecodeError.stringTooLong(length: 4096, limit: 4095)) {
            try ReadLinkAtResponse(decodingPayload: ReadLinkAtResponse(target: target4096).encoded())
        }
        #expect(throws: LisafsDecodeError.stringTooLong(length: 256, limit: 255)) {
            try FRemoveXattrRequest(decodingPayload: FRemoveXattrRequest(fd: LisafsFDID(1), name: name256).encoded())
        }
        let address109 = SizedString(bytes: [UInt8](repeating: 0x61, count: 109))!
        #expect(throws: LisafsDecodeError.stringTooLong(length: 109, limit: 108)) {
            try AcceptResponse(decodingPayload: AcceptResponse(peerAddress: address109).encoded())
        }
        // An xattr value may use the whole uint16 range.
        let value = SizedString(bytes: [UInt8](repeating: 0, count: SizedString.maxLength))!
        let set = FSetXattrRequest(fd: LisafsFDID(1), name: "user.big", value: value, flags: 0)
        #expect(try FSetXattrRequest(decodingPayload: set.encoded()) == set)
        #expect(LisafsDecodeError.stringTooLong(length: 256, limit: 255).errno == .ENAMETOOLONG)
    }

    @Test("a SizedString cannot hold more than a uint16 length describes")
    func sizedStringLimit() {
        #expect(SizedString(bytes: [UInt8](repeating: 0, count: 65_535)) != nil)
        #expect(SizedString(bytes: [UInt8](repeating: 0, count: 65_536)) == nil)
        #expect(SizedString(String(repeating: "é", count: 32_768)) == nil)  // 65,536 UTF-8 bytes
        #expect(SizedString(String("ok"))?.string == "ok")  // a literal would pick init(stringLiteral:)
        #expect(SizedString(bytes: [0xff, 0xfe])?.string == nil)  // not UTF-8, still a name
    }

    @Test("a NUL inside a name, path or xattr name is rejected")
    func embeddedNUL() {
        let nulName = SizedString(bytes: [0x61, 0x00, 0x62])!
        #expect(throws: LisafsDecodeError.embeddedNUL(offset: 1)) {
            try WalkRequest(decodingPayload: WalkRequest(dirFD: LisafsFDID(1), path: ["ok", nulName]).encoded())
        }
        #expect(throws: LisafsDecodeError.embeddedNUL(offset: 1)) {
            try UnlinkAtRequest(decodingPayload: UnlinkAtRequest(dirFD: LisafsFDID(1), name: nulName, flags: 0).encoded())
        }
        #expect(throws: LisafsDecodeError.embeddedNUL(offset: 1)) {
            try RenameAt2Request(
                decodingPayload: RenameAt2Request(oldDir: LisafsFDID(1), oldName: "a", newDir: LisafsFDID(1), newName: nulName, flags: 0)
                    .encoded())
        }
        #expect(throws: LisafsDecodeError.embeddedNUL(offset: 0)) {
            try SymlinkAtRequest(
                decodingPayload: SymlinkAtRequest(dirFD: LisafsFDID(1), name: "l", target: SizedString(bytes: [0])!, uid: .none, gid: .none)
                    .encoded())
        }
        #expect(throws: LisafsDecodeError.embeddedNUL(offset: 1)) {
            try FGetXattrRequest(decodingPayload: FGetXattrRequest(fd: LisafsFDID(1), name: nulName, bufferSize: 0).encoded())
        }
        #expect(throws: LisafsDecodeError.embeddedNUL(offset: 1)) {
            let dirent = LisafsDirent64(inode: 1, devMinor: 0, devMajor: 0, offset: 1, type: 8, name: nulName)
            _ = try Getdents64Response(decodingPayload: Getdents64Response(dirents: [dirent]).encoded())
        }
    }

    @Test("names with '/', '.' and '..' decode: refusing them is the server's job")
    func pathLikeNamesDecode() throws {
        let walk = WalkRequest(dirFD: LisafsFDID(1), path: ["..", ".", "a/b", "/", ""])
        #expect(try WalkRequest(decodingPayload: walk.encoded()) == walk)
        let rename = RenameAtRequest(oldDir: LisafsFDID(1), oldName: "..", newDir: LisafsFDID(2), newName: "x/../y")
        #expect(try RenameAtRequest(decodingPayload: rename.encoded()) == rename)
    }

    @Test("an unknown walk status is kept, not trapped on")
    func unknownWalkStatus() throws {
        let response = try WalkResponse(decodingPayload: hex("07 0000"))
        #expect(response.status.rawValue == 7)
        #expect(response.inodes.isEmpty)
    }

    @Test("random and mutated payloads never trap any decoder")
    func fuzz() {
        var rng = SplitMix64(state: 0x5eed)
        var decoded = 0
        for wire in WireCase.all {
            for _ in 0..<200 {
                // Random bytes of a random length around the message's size.
                let length = Int.random(in: 0...(wire.golden.count + 16), using: &rng)
                let random = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if (try? wire.decodesToMessage(random)) != nil { decoded += 1 }
                // The golden bytes with a few bytes changed (counts and lengths included).
                var mutated = wire.golden
                if !mutated.isEmpty {
                    for _ in 0..<Int.random(in: 1...3, using: &rng) {
                        mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                    }
                }
                if (try? wire.decodesToMessage(mutated)) != nil { decoded += 1 }
            }
        }
        #expect(decoded > 0)  // some inputs are valid messages; none trapped
    }
}
