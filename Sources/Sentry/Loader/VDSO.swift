import CShim
import LinuxABI

/// The sandbox's vDSO (vdso/vdso.c): clock_gettime, gettimeofday and time without a system
/// call. execve maps it into every program, as Linux maps its own, with the page of
/// parameters it reads (the timekeeper's, shared by every program of the sandbox, read-only)
/// just below it, and tells the program where it is (AT_SYSINFO_EHDR).
enum VDSO {
    /// Where the parameter page goes: below the initial stack, the image right above it.
    static let parametersAddress: UInt64 = Loader.stackTop - Loader.stackSize - 16 * UInt64(linuxPageSize)

    /// The image's bytes.
    static let image = [UInt8](UnsafeBufferPointer(start: cshim_vdso_image_ptr(), count: Int(cshim_vdso_image_size)))

    /// Maps the parameter page and a copy of the image into `mm`; returns the image's address.
    static func map(into mm: MemoryManager) throws(LinuxErrno) -> UInt64 {
        let page = UInt64(linuxPageSize)
        try mm.mapShared(at: parametersAddress, length: page, fileOffset: try mm.file.vdsoParametersPage(), protection: .read)
        let base = parametersAddress + page
        let length = (UInt64(image.count) + page - 1) & ~(page - 1)
        try mm.mapAnonymous(at: base, length: length, protection: [.read, .write])
        try mm.copyOut(image, to: base)
        try mm.protect(address: base, length: length, protection: [.read, .exec])
        mm.vdsoBase = base
        return base
    }
}
