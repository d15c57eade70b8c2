/// An x86-64 Linux system call number (the value of `rax` at the `syscall` instruction).
///
/// The named constants (`Sysno.read`, `Sysno.rt_sigaction`) and the ordered table `Sysno.amd64`
/// are generated from the kernel's `asm/unistd_64.h` by `tools/gen-linuxabi.py`.
public struct Sysno: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ rawValue: Int) { self.rawValue = rawValue }

    public static func < (lhs: Sysno, rhs: Sysno) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Number to name, built once from `amd64`.
    private static let names: [Int: String] = Dictionary(
        uniqueKeysWithValues: amd64.map { ($0.sysno.rawValue, $0.name) })

    /// The kernel's name for this call, or nil for a number x86-64 Linux does not define.
    public var name: String? { Self.names[rawValue] }

    /// The call named `name` in the kernel's spelling.
    public init?(name: String) {
        guard let entry = Self.amd64.first(where: { $0.name == name }) else { return nil }
        self = entry.sysno
    }

    public var description: String { name ?? "syscall_\(rawValue)" }
}
