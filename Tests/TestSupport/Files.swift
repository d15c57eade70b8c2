import Glibc
import HostSys

/// The names in directory `path`, without "." and "..".
public func directoryNames(_ path: String) throws -> [String] {
    guard let directory = opendir(path) else { throw Errno.current }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Every byte of the host file `path`.
public func readFile(_ path: String) throws -> [UInt8] {
    try FileDescriptor.open(path, flags: O_RDONLY).readToEnd()
}
