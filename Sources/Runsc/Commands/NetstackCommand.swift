import ArgumentParser
import HostSys
import Netstack

/// `runsc netstack`: the TCP/IP stack of a sandbox (started by runsc, not by hand).
struct NetstackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netstack",
        abstract: "Serve a sandbox's sockets from a userspace TCP/IP stack (internal).",
        discussion: """
            Started by runsc in new mount and network namespaces (into which runsc moves the \
            sandbox's end of a veth pair with --network=sandbox). The netstack moves into an \
            empty root, drops capabilities and installs its seccomp filter before it takes the \
            Sentry's channels from the socket it inherited.
            """,
        shouldDisplay: false)

    @Option(help: "The inherited fd of the control socket to the Sentry.")
    var controlFD: Int32

    @Option(help: "With --network=sandbox: an inherited fd to read one byte from once the interface is in place.")
    var readyFD: Int32?

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
        if let readyFD {
            guard readyFD > 2 else { throw ValidationError("--ready-fd must be an inherited fd above 2") }
            guard address.flatMap({ IPv4Subnet(parsing: $0) }) != nil else { throw ValidationError("--address must look like 198.18.0.2/30") }
            if let gateway, IPv4Address(parsing: gateway) == nil { throw ValidationError("--gateway must be an IPv4 address") }
        }
    }

    func run() throws {
        var attachment: NetstackProcess.Attachment?
        if let readyFD, let address = address.flatMap({ IPv4Subnet(parsing: $0) }) {
            attachment = NetstackProcess.Attachment(
                readyFD: readyFD, interface: interface, address: address, gateway: gateway.flatMap { IPv4Address(parsing: $0) })
        }
        try NetstackProcess.run(control: FileDescriptor(owning: controlFD), attachment: attachment, captureFD: pcapFD)
    }
}
