import CShim
import Glibc

/// CPU placement of the calling thread.
public enum CPU {
    /// Binds the calling thread to CPU `index` (sched_setaffinity(2)).
    public static func pinCurrentThread(to index: Int) throws(Errno) {
        _ = try hostCall { cshim_pin_thread_to_cpu(Int32(index)) }
    }

    /// How many CPUs the calling thread may run on.
    public static func allowedCount() throws(Errno) -> Int {
        Int(try hostCall { cshim_allowed_cpu_count() })
    }

    /// The CPU the calling thread runs on at this moment (sched_getcpu(3)).
    public static func current() -> Int { Int(cshim_current_cpu()) }
}
