import CSeccomp
import Glibc
import LinuxABI

/// A seccomp-bpf filter built with libseccomp: a default action and rules that override it
/// for named syscalls, optionally only when arguments match. An allow-list is a filter whose
/// default denies (kill, errno or trap) and whose rules allow.
///
/// Rules for the same syscall are alternatives (any may match); the argument conditions of one
/// rule must all hold. `load()` installs the filter on every thread of the process (TSYNC)
/// and sets no_new_privs; it cannot be removed afterwards.
public struct SeccompFilter: Sendable {
    /// What the kernel does with a matching syscall (seccomp(2) SECCOMP_RET_*).
    public enum Action: Equatable, Sendable {
        case allow
        /// Kill the whole process with SIGSYS (core dump).
        case killProcess
        /// Kill only the calling thread.
        case killThread
        /// Deliver SIGSYS to the thread; the handler sees the syscall in siginfo.
        case trap
        /// Fail the syscall with this errno without running it.
        case errno(Errno)
        /// Allow, and log the call to the kernel audit log.
        case log

        var libseccompValue: UInt32 {
            switch self {
            case .allow: return 0x7fff_0000
            case .killProcess: return 0x8000_0000
            case .killThread: return 0x0000_0000
            case .trap: return 0x0003_0000
            case .errno(let errno): return 0x0005_0000 | (UInt32(bitPattern: errno.rawValue) & 0xffff)
            case .log: return 0x7ffc_0000
            }
        }
    }

    /// A condition on one syscall argument (0–5), compared as a 64-bit value. For arguments the
    /// kernel takes as 32-bit `int` (fds, AT_FDCWD, flags) the upper half of the register is
    /// not reliable: compare those with `maskedEqual(mask: 0xffff_ffff, value:)`.
    public struct ArgumentCondition: Equatable, Sendable {
        public enum Comparison: Equatable, Sendable {
            case equal(UInt64)
            case notEqual(UInt64)
            case less(UInt64)
            case lessOrEqual(UInt64)
            case greater(UInt64)
            case greaterOrEqual(UInt64)
            /// `(argument & mask) == value`.
            case maskedEqual(mask: UInt64, value: UInt64)
        }

        public let index: Int
        public let comparison: Comparison

        /// A condition on argument `index` (0 for rdi … 5 for r9).
        public init(_ index: Int, _ comparison: Comparison) {
            precondition((0...5).contains(index), "a syscall has arguments 0 to 5")
            self.index = index
            self.comparison = comparison
        }

        var libseccompValue: scmp_arg_cmp {
            let (op, a, b): (scmp_compare, UInt64, UInt64) =
                switch comparison {
                case .equal(let v): (SCMP_CMP_EQ, v, 0)
                case .notEqual(let v): (SCMP_CMP_NE, v, 0)
                case .less(let v): (SCMP_CMP_LT, v, 0)
                case .lessOrEqual(let v): (SCMP_CMP_LE, v, 0)
                case .greater(let v): (SCMP_CMP_GT, v, 0)
                case .greaterOrEqual(let v): (SCMP_CMP_GE, v, 0)
                case .maskedEqual(let mask, let value): (SCMP_CMP_MASKED_EQ, mask, value)
                }
            return scmp_arg_cmp(arg: UInt32(index), op: op, datum_a: a, datum_b: b)
        }
    }

    /// One rule: `action` for `sysno` when every condition holds.
    public struct Rule: Equatable, Sendable {
        public let sysno: Sysno
        public let action: Action
        public let conditions: [ArgumentCondition]
    }

    public let defaultAction: Action
    public private(set) var rules: [Rule] = []

    public init(defaultAction: Action) {
        self.defaultAction = defaultAction
    }

    /// Allows `sysno` (when `conditions` hold).
    public mutating func allow(_ sysno: Sysno, where conditions: [ArgumentCondition] = []) {
        add(.allow, for: sysno, where: conditions)
    }

    /// Allows each of `sysnos` unconditionally.
    public mutating func allow(_ sysnos: [Sysno]) {
        for sysno in sysnos { allow(sysno) }
    }

    /// Takes `action` for `sysno` (when `conditions` hold). A rule whose action equals the
    /// default would be a no-op; libseccomp refuses it, so `load()` throws EACCES for it.
    public mutating func add(_ action: Action, for sysno: Sysno, where conditions: [ArgumentCondition] = []) {
        rules.append(Rule(sysno: sysno, action: action, conditions: conditions))
    }

    /// Compiles the filter and installs it on all threads of this process.
    public func load() throws(Errno) {
        guard let context = seccomp_init(defaultAction.libseccompValue) else { throw .ENOMEM }
        defer { seccomp_release(context) }
        try checkReturnedErrno(seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 1))
        for rule in rules {
            let conditions = rule.conditions.map(\.libseccompValue)
            let code = seccomp_rule_add_exact_array(
                context, rule.action.libseccompValue, Int32(rule.sysno.rawValue), UInt32(conditions.count), conditions)
            try checkReturnedErrno(code)
        }
        try checkReturnedErrno(seccomp_load(context))
    }
}
