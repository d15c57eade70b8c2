import Glibc

/// A per-OS-thread reference (pthread_getspecific): which object the calling thread works
/// for. The value is not retained: the owner sets it for a span in which it keeps the object
/// alive, and clears it at the end.
public final class ThreadLocal<Value: AnyObject>: @unchecked Sendable {
    private var key = pthread_key_t()

    public init() {
        let result = pthread_key_create(&key, nil)
        precondition(result == 0, "pthread_key_create: \(result)")  // only at the process's key limit
    }

    /// The calling thread's value, if it set one.
    public var value: Value? {
        get { pthread_getspecific(key).map { Unmanaged<Value>.fromOpaque($0).takeUnretainedValue() } }
        set { pthread_setspecific(key, newValue.map { Unmanaged.passUnretained($0).toOpaque() }) }
    }
}
