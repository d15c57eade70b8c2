import ArgumentParser
import Gofer
import HostSys

/// `runsc gofer`: the file server of a sandbox (started by runsc, not by hand).
struct GoferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gofer",
        abstract: "Serve a container's root filesystem to the Sentry over lisafs (internal).",
        discussion: """
            Started by runsc in a new mount namespace and an empty network namespace. The \
            gofer pivot_roots into the tree, drops capabilities and installs its seccomp filter \
            before it serves the socket it inherited.
            """,
        shouldDisplay: false)

    @Option(help: "The directory to serve.")
    var root: String

    @Option(help: "The inherited fd of the lisafs socket.")
    var socketFD: Int32

    @Flag(help: "Refuse every change to the tree (EROFS).")
    var readOnly = false

    func validate() throws {
        guard root.hasPrefix("/") else { throw ValidationError("--root must be an absolute path") }
        guard socketFD > 2 else { throw ValidationError("--socket-fd must be an inherited fd above 2") }
    }

    func run() throws {
        try GoferProcess.run(root: root, socket: FileDescriptor(owning: socketFD), readOnly: readOnly)
    }
}
