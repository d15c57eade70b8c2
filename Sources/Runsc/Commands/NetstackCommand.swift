import ArgumentParser
import HostSys
import Netstack

/// `runsc netstack`: the TCP/IP stack of a sandbox (started by runsc, not by hand).
struct NetstackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netstack",
        abstract: "Serve a sandbox's sockets from a userspace TCP/IP stack (internal).",
        discussion: """
            Started by runsc in new mount and network namespaces. The netstack moves into an \
            empty root, drops capabilities and installs its seccomp filter before it takes the \
            Sentry's channels from the socket it inherited.
            """,
        shouldDisplay: false)

    @Option(help: "The inherited fd of the control socket to the Sentry.")
    var controlFD: Int32

    func validate() throws {
        guard controlFD > 2 else { throw ValidationError("--control-fd must be an inherited fd above 2") }
    }

    func run() throws {
        try NetstackProcess.run(control: FileDescriptor(owning: controlFD))
    }
}
