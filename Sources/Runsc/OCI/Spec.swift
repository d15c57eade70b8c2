import Foundation

/// The parts of an OCI runtime-spec 1.x `config.json` this runtime reads and `runsc spec`
/// writes (https://github.com/opencontainers/runtime-spec/blob/main/config.md).
///
/// Field names are the spec's JSON keys. Optional properties are the ones the spec marks
/// OPTIONAL; they are omitted when nil. Keys this type does not model (rlimits, hooks,
/// annotations, ...) are ignored on decode, as runc ignores what it does not use.
struct Spec: Codable, Equatable, Sendable {
    /// The runtime-spec version the bundle follows; this runtime accepts 1.x.
    var ociVersion: String
    var process: Process?
    var root: Root?
    var hostname: String?
    var mounts: [Mount]?
    var linux: Linux?

    /// The container's first process.
    struct Process: Codable, Equatable, Sendable {
        /// Whether the process gets a pseudo-terminal (runc's default is true).
        var terminal: Bool?
        var user: User
        /// argv; must hold at least one entry before the process can start.
        var args: [String]?
        var env: [String]?
        /// Working directory, an absolute path inside the container.
        var cwd: String
        var noNewPrivileges: Bool?
        /// The process's capability sets, by name ("CAP_CHOWN"); nil: root has every
        /// capability and another user none.
        var capabilities: Capabilities?
    }

    /// The capability sets of the process (capabilities(7)).
    struct Capabilities: Codable, Equatable, Sendable {
        var bounding: [String]?
        var effective: [String]?
        var inheritable: [String]?
        var permitted: [String]?
        var ambient: [String]?
    }

    /// Capability names in the order of their numbers (capabilities(7); CAP_LAST_CAP is 40).
    static let capabilityNames = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
        "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
        "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// A set of capability names as a mask (`validate` has refused names that are none).
    static func capabilityMask(_ names: [String]?) -> UInt64 {
        (names ?? []).reduce(0) { mask, name in mask | (capabilityNames.firstIndex(of: name).map { 1 << UInt64($0) } ?? 0) }
    }

    /// Credentials of the process, in the container's user namespace.
    struct User: Codable, Equatable, Sendable {
        var uid: UInt32
        var gid: UInt32
        var umask: UInt32?
        var additionalGids: [UInt32]?

        init(uid: UInt32, gid: UInt32, umask: UInt32? = nil, additionalGids: [UInt32]? = nil) {
            self.uid = uid
            self.gid = gid
            self.umask = umask
            self.additionalGids = additionalGids
        }

        private enum CodingKeys: String, CodingKey {
            case uid, gid, umask, additionalGids
        }

        // Decoded by hand: Foundation reports a number outside UInt32 (-1, 1.5) as invalid JSON
        // with no coding path, and every invalid field must be named.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            uid = try container.decodeID(forKey: .uid)
            gid = try container.decodeID(forKey: .gid)
            umask = try container.contains(.umask) ? container.decodeID(forKey: .umask) : nil
            if container.contains(.additionalGids), try !container.decodeNil(forKey: .additionalGids) {
                var list = try container.nestedUnkeyedContainer(forKey: .additionalGids)
                var gids: [UInt32] = []
                while !list.isAtEnd {
                    let index = list.currentIndex
                    let value = try list.decode(Double.self)
                    guard let gid = UInt32(exactly: value) else {
                        throw DecodingError.dataCorrupted(
                            .init(
                                codingPath: list.codingPath + [IndexKey(index)],
                                debugDescription: "\(value) is not an integer from 0 to \(UInt32.max)"))
                    }
                    gids.append(gid)
                }
                additionalGids = gids
            }
        }
    }

    /// The root filesystem: `path` is relative to the bundle unless absolute.
    struct Root: Codable, Equatable, Sendable {
        var path: String
        var readonly: Bool?
    }

    /// One mount, applied in order after the root.
    struct Mount: Codable, Equatable, Sendable {
        var destination: String
        var type: String?
        var source: String?
        var options: [String]?
    }

    /// Linux-specific configuration.
    struct Linux: Codable, Equatable, Sendable {
        var namespaces: [Namespace]?
    }

    /// A namespace to create, or with `path`, to join.
    struct Namespace: Codable, Equatable, Sendable {
        var type: NamespaceType
        var path: String?
    }

    /// The namespace kinds runtime-spec defines; any other string is an error naming the field.
    enum NamespaceType: String, Codable, CaseIterable, Sendable {
        case pid, network, mount, ipc, uts, user, cgroup, time
    }
}

extension Spec {
    /// The capabilities `runc spec` gives its process.
    static let defaultCapabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

    /// The config.json `runsc spec` writes, modeled on `runc spec`: a root shell in a read-only
    /// `rootfs`, the usual /proc, /dev, /dev/pts, /dev/shm and /sys mounts, and new pid,
    /// network, ipc, uts and mount namespaces.
    static func makeDefault(args: [String] = ["sh"]) -> Spec {
        Spec(
            ociVersion: "1.0.2",
            process: Process(
                terminal: true,
                user: User(uid: 0, gid: 0),
                args: args,
                env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                cwd: "/",
                noNewPrivileges: true,
                capabilities: Capabilities(
                    bounding: defaultCapabilities, effective: defaultCapabilities, inheritable: nil, permitted: defaultCapabilities,
                    ambient: defaultCapabilities)),
            root: Root(path: "rootfs", readonly: true),
            hostname: "runsc",
            mounts: [
                Mount(destination: "/proc", type: "proc", source: "proc"),
                Mount(
                    destination: "/dev", type: "tmpfs", source: "tmpfs",
                    options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
                Mount(
                    destination: "/dev/pts", type: "devpts", source: "devpts",
                    options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
                Mount(
                    destination: "/dev/shm", type: "tmpfs", source: "shm",
                    options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
                Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
            ],
            linux: Linux(namespaces: [.pid, .network, .ipc, .uts, .mount].map { Namespace(type: $0) }))
    }

    /// Checks what decoding cannot: the version and the process fields the spec requires.
    func validate(path: String) throws(SpecError) {
        guard ociVersion.hasPrefix("1.") else {
            throw .invalidField(path: path, field: "ociVersion", reason: "unsupported version \"\(ociVersion)\", want 1.x")
        }
        if let process {
            guard process.cwd.hasPrefix("/") else {
                throw .invalidField(path: path, field: "process.cwd", reason: "must be an absolute path")
            }
            guard let args = process.args, !args.isEmpty else {
                throw .invalidField(path: path, field: "process.args", reason: "must hold at least one entry")
            }
            if let capabilities = process.capabilities {
                let sets: [(String, [String]?)] = [
                    ("bounding", capabilities.bounding), ("effective", capabilities.effective), ("inheritable", capabilities.inheritable),
                    ("permitted", capabilities.permitted), ("ambient", capabilities.ambient),
                ]
                for (name, set) in sets {
                    if let unknown = (set ?? []).first(where: { !Spec.capabilityNames.contains($0) }) {
                        throw .invalidField(path: path, field: "process.capabilities.\(name)", reason: "unknown capability \"\(unknown)\"")
                    }
                }
                guard Spec.capabilityMask(capabilities.effective) & ~Spec.capabilityMask(capabilities.permitted) == 0 else {
                    throw .invalidField(path: path, field: "process.capabilities.effective", reason: "holds capabilities the permitted set does not")
                }
            }
        }
    }
}

/// The coding key of an array element, for errors that name it.
private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { intValue.map(String.init) ?? "" }
    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

extension KeyedDecodingContainer {
    /// A uid, gid or umask: a JSON number that is an integer from 0 to UInt32.max, or an error
    /// at this key's path.
    fileprivate func decodeID(forKey key: Key) throws -> UInt32 {
        let value = try decode(Double.self, forKey: key)
        guard let id = UInt32(exactly: value) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "\(value) is not an integer from 0 to \(UInt32.max)")
        }
        return id
    }
}

/// Why a bundle's config.json could not be read, decoded or written. Every decoding error
/// names the offending field by its JSON path ("process.args", "mounts.2.destination").
enum SpecError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case notFound(path: String)
    case unreadable(path: String, reason: String)
    case invalidJSON(path: String, reason: String)
    case invalidField(path: String, field: String, reason: String)
    case alreadyExists(path: String)
    case unwritable(path: String, reason: String)

    var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file or directory"
        case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
        case .invalidJSON(let path, let reason): return "\(path): not valid JSON: \(reason)"
        case .invalidField(let path, let field, let reason): return "\(path): invalid field \"\(field)\": \(reason)"
        case .alreadyExists(let path): return "\(path) already exists; remove it first, runsc spec does not overwrite"
        case .unwritable(let path, let reason): return "\(path): cannot write: \(reason)"
        }
    }

    var errorDescription: String? { description }

    /// The error for a `DecodingError`, with its coding path joined by dots.
    init(_ error: DecodingError, path: String) {
        func join(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            self = .invalidField(path: path, field: join(context.codingPath), reason: context.debugDescription)
        case .keyNotFound(let key, let context):
            self = .invalidField(path: path, field: join(context.codingPath + [key]), reason: "required field is missing")
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            self = .invalidJSON(path: path, reason: context.debugDescription)
        case .dataCorrupted(let context):
            self = .invalidField(path: path, field: join(context.codingPath), reason: context.debugDescription)
        @unknown default:
            self = .invalidJSON(path: path, reason: String(describing: error))
        }
    }
}

/// The config.json of the bundle at `bundle`, decoded and validated.
func loadSpec(bundle: String) throws(SpecError) -> Spec {
    let path = configPath(bundle: bundle)
    guard FileManager.default.fileExists(atPath: path) else { throw .notFound(path: path) }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw .unreadable(path: path, reason: "permission denied or not a regular file")
    }
    return try decodeSpec(data, path: path)
}

/// Decodes and validates config.json bytes; `path` only labels errors.
func decodeSpec(_ data: Data, path: String = "config.json") throws(SpecError) -> Spec {
    let spec: Spec
    do {
        spec = try JSONDecoder().decode(Spec.self, from: data)
    } catch let error as DecodingError {
        throw SpecError(error, path: path)
    } catch {
        throw .invalidJSON(path: path, reason: String(describing: error))
    }
    try spec.validate(path: path)
    return spec
}

/// The JSON `runsc spec` writes: pretty-printed, slashes unescaped, keys sorted so the output
/// is the same on every run.
func encodeSpec(_ spec: Spec) throws(SpecError) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do {
        return try encoder.encode(spec)
    } catch {
        // Only non-finite floats fail to encode, and Spec has none.
        preconditionFailure("encoding a Spec cannot fail: \(error)")
    }
}

/// Writes `spec` to `bundle`/config.json, refusing to replace an existing file.
func writeSpec(_ spec: Spec, bundle: String) throws(SpecError) {
    let path = configPath(bundle: bundle)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: bundle, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw .notFound(path: bundle)
    }
    guard !FileManager.default.fileExists(atPath: path) else { throw .alreadyExists(path: path) }
    var data = try encodeSpec(spec)
    data.append(0x0a)
    do {
        // O_EXCL: a file created since the check above is not replaced either.
        try data.write(to: URL(fileURLWithPath: path), options: .withoutOverwriting)
    } catch CocoaError.fileWriteFileExists {
        throw .alreadyExists(path: path)
    } catch {
        throw .unwritable(path: path, reason: error.localizedDescription)
    }
}

/// `bundle`/config.json.
func configPath(bundle: String) -> String {
    URL(fileURLWithPath: bundle).appendingPathComponent("config.json").path
}
