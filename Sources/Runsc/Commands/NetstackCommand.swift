import ArgumentParser
import HostSys
import Netstack

/// `runsc netstack`: the TCP/IP stack of a sandbox (started by runsc, not by hand).
struct NetstackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netstack",
        abstract: "Serve a sandbox's sockets from a userspace TCP/IP stack (internal).",
        discussion: """
            Started by runsc in a new mount namespace, and in a new network namespace (into \
            which runsc moves the sandbox's end of a veth pair with --network=sandbox) or, with \
            --netns-fd, in the bundle's network namespace, whose interfaces, addresses and routes \
            it takes over. The netstack moves into an \
            empty root, drops capabilities and installs its seccomp filter before it takes the \
            Sentry's channels from the socket it inherited.
            """,
        shouldDisplay: false)

    @Option(help: "The inherited fd of the control socket to the Sentry.")
    var controlFD: Int32

    @Option(help: "With --network=sandbox: an inherited fd to read one byte from once the interface is in place.")
    var readyFD: Int32?

    @Option(help: "An inherited fd of a network namespace to join and take over (a bundle's namespace path).")
    var netnsFD: Int32?

    @Option(help: "The interface to take over in that namespace.")
    var interface = "eth0"

    @Option(help: "The sandbox's address on it, as 198.18.0.2/30.")
    var address: String?

    @Option(help: "The default gateway.")
    var gateway: String?

    @Option(help: "An inherited, writable fd to write a pcap capture of the stack's link to.")
    var pcapFD: Int32?

    func validate() throws {
        guard controlFD > 2 else { throw ValidationError("--control-fd must be an inherited fd above 2") }
        if let pcapFD, pcapFD <= 2 { throw ValidationError("--pcap-fd must be an inherited fd above 2") }
        if let netnsFD {
            guard netnsFD > 2 else { throw ValidationError("--netns-fd must be an inherited fd above 2") }
            guard readyFD == nil else { throw ValidationError("--netns-fd and --ready-fd exclude each other") }
        }
        if let readyFD {
            guard readyFD > 2 else { throw ValidationError("--ready-fd must be an inherited fd above 2") }
            guard address.flatMap({ IPv4Subnet(parsing: $0) }) != nil else { throw ValidationError("--address must look like 198.18.0.2/30") }
            if let gateway, IPv4Address(parsing: gateway) == nil { throw ValidationError("--gateway must be an IPv4 address") }
        }
    }

    func run() throws {
        var network: NetstackProcess.Network?
        if let netnsFD {
            network = .joined(namespaceFD: netnsFD)
        } else if let readyFD, let address = address.flatMap({ IPv4Subnet(parsing: $0) }) {
            let routes = gateway.flatMap { IPv4Address(parsing: $0) }.map { gateway in
                [NetworkConfiguration.Route(destination: IPv4Subnet(IPv4Address(rawValue: 0), prefixLength: 0), gateway: gateway, interface: interface)]
            }
            network = .moved(
                readyFD: readyFD,
                configuration: NetworkConfiguration(interfaces: [.init(name: interface, subnets: [address])], routes: routes ?? []))
        }
        try NetstackProcess.run(control: FileDescriptor(owning: controlFD), network: network, captureFD: pcapFD)
    }
}
