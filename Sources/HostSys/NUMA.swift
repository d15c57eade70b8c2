import CNuma
import CShim
import Glibc
import Logging

/// NUMA placement through libnuma. On a machine without NUMA (or a kernel without its
/// syscalls) every call is a no-op that logs once why it did nothing.
public enum NUMA {
    private static let log = Logger(label: "hostsys.numa")

    /// Whether the kernel supports the NUMA policy calls (numa_available(3)).
    public static let isAvailable: Bool = {
        let available = numa_available() >= 0
        if !available { log.info("NUMA is not available here: memory placement is left to the kernel") }
        return available
    }()

    /// The node of the CPU the calling thread runs on, or nil without NUMA.
    public static func currentNode() -> Int? {
        guard isAvailable else { return nil }
        let node = numa_node_of_cpu(cshim_current_cpu())
        return node >= 0 ? Int(node) : nil
    }

    /// Binds the pages of `memory` to the node of the calling thread's CPU (numa_tonode_memory),
    /// so a channel's memory sits next to the thread that created it. Returns the node, or nil
    /// when NUMA is absent and nothing was done.
    @discardableResult
    public static func bindToCurrentNode(_ memory: UnsafeMutableRawBufferPointer) -> Int? {
        guard let node = currentNode(), let base = memory.baseAddress else { return nil }
        numa_tonode_memory(base, memory.count, Int32(node))
        return node
    }
}
