import ArgumentParser
import Glibc
import HostSys
import Netstack

/// How a sandbox reaches the network (gVisor's `--network`).
enum NetworkMode: Equatable {
    /// Loopback only, inside the Netstack.
    case none
    /// A veth pair into a network namespace of the sandbox's own, whose end the Netstack
    /// takes over; `block` is the /30 to use (nil: a free one of 198.18.0.0/15).
    case sandbox(block: IPv4Subnet?)
    /// The network namespace at `path` (a bundle's linux.namespaces entry with a path): the
    /// Netstack joins it and takes over its interfaces, addresses and routes.
    case joined(path: String)
}

/// The network of one sandbox with `--network=sandbox`: a veth pair whose host end has the
/// first address of a /30 of the benchmarking range 198.18.0.0/15, and whose other end,
/// `eth0`, runsc moves into the Netstack's network namespace without an address (the
/// Netstack takes the second address itself, so the host kernel answers nothing there). The
/// host end is the sandbox's gateway.
///
/// The pair lives in the Netstack's namespace, which lives as long as the Netstack: if runsc
/// is killed, the Netstack dies with it and the kernel removes the pair; `remove` is for an
/// orderly end.
final class SandboxNetwork {
    let hostInterface: String
    let block: IPv4Subnet

    var hostAddress: IPv4Address { IPv4Address(rawValue: block.address.rawValue & block.mask | 1) }
    var sandboxAddress: IPv4Subnet { IPv4Subnet(IPv4Address(rawValue: block.address.rawValue & block.mask | 2), prefixLength: 30) }

    /// Picks the /30 (`requested`, or a free one) and a name for the host end.
    init(block requested: IPv4Subnet?) throws {
        guard access(Self.ipPath, X_OK) == 0 else {
            throw RuntimeError("--network=sandbox needs iproute2's ip command (apt-get install iproute2), or use --network=none")
        }
        var generator = SystemRandomNumberGenerator()
        hostInterface = "rsc\(String(UInt32.random(in: 0...UInt32.max, using: &generator), radix: 16))"
        if let requested {
            guard requested.prefixLength == 30, IPv4Subnet(IPv4Address(198, 18, 0, 0), prefixLength: 15).contains(requested.address) else {
                throw ValidationError("--network-address must be a /30 of 198.18.0.0/15, as 198.18.7.0/30")
            }
            block = requested
        } else {
            let used = (try? Self.output(["-o", "-4", "addr", "show"])) ?? ""
            var chosen: IPv4Subnet?
            for _ in 0..<64 where chosen == nil {
                let index = UInt32.random(in: 0..<(1 << 15), using: &generator)
                let candidate = IPv4Subnet(IPv4Address(rawValue: IPv4Address(198, 18, 0, 0).rawValue + index * 4), prefixLength: 30)
                if !used.contains(" \(IPv4Address(rawValue: candidate.address.rawValue | 1))/") { chosen = candidate }
            }
            guard let chosen else { throw RuntimeError("no free /30 in 198.18.0.0/15 for the sandbox's veth") }
            block = chosen
        }
    }

    /// Makes the pair, with `eth0` in the network namespace of process `netstack`, and sets
    /// the host end up with its address.
    func create(intoNamespaceOf netstack: pid_t) throws {
        do {
            try Self.ip(["link", "add", hostInterface, "type", "veth", "peer", "name", "eth0", "netns", "\(netstack)"])
            try Self.ip(["addr", "add", "\(hostAddress)/30", "dev", hostInterface])
            try Self.ip(["link", "set", hostInterface, "up"])
        } catch {
            remove()
            throw error
        }
    }

    /// Deletes the pair (from its host end), if it is still there.
    func remove() {
        _ = try? Self.ip(["link", "delete", hostInterface], quiet: true)
    }

    /// Where iproute2's `ip` is.
    private static let ipPath = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { (path: String) in access(path, X_OK) == 0 } ?? "/usr/sbin/ip"

    /// Runs `ip arguments`; a failure is an error naming the command. `quiet`: its complaints
    /// go to /dev/null, not to the container's stderr (a veth already gone with its namespace
    /// is no news, and the stderr may be the container's terminal).
    static func ip(_ arguments: [String], quiet: Bool = false) throws {
        let null = try FileDescriptor.open("/dev/null", flags: O_WRONLY | O_CLOEXEC)
        var child = try ChildProcess.spawn(
            path: ipPath, arguments: ["ip"] + arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            descriptors: [(quiet ? null.rawValue : 2, 2)])
        guard try child.wait() == .exited(0) else { throw RuntimeError("ip \(arguments.joined(separator: " ")) failed") }
    }

    /// The standard output of `ip arguments`.
    static func output(_ arguments: [String]) throws -> String {
        String(decoding: try ChildProcess.run(path: ipPath, arguments: ["ip"] + arguments).output, as: UTF8.self)
    }
}
