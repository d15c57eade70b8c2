import LinuxABI

/// One TCP connection (RFC 9293): the state machine, the send and receive sequence spaces,
/// retransmission with RTO per RFC 6298 (Karn's rule, exponential backoff), congestion
/// control per RFC 5681 with NewReno fast recovery (RFC 6582), window scaling (RFC 7323),
/// delayed ACKs, zero-window probes, RST and challenge-ACK rules (RFC 5961), TIME_WAIT.
/// SACK (RFC 2018): data held out of order is reported in SACK blocks, so the peer resends
/// only the holes; the peer's blocks make a scoreboard, and in recovery each duplicate ACK
/// sends the next hole again (RFC 6675's NextSeg, without its pipe estimate: NewReno's window
/// inflation paces it). Segments larger than the MSS go to a link that cuts them itself
/// (`LinkOffloads`), and checksums are left to a link that writes them.
///
/// Timestamps (RFC 7323): offered on every SYN; when both sides did, each segment carries
/// one, the echoes give RTT samples even for retransmitted data, and PAWS drops old
/// duplicates. Nagle's algorithm in Minshall's form, as Linux: a segment shorter than the
/// MSS waits while an earlier short one is unacknowledged, unless TCP_NODELAY is set.
/// SO_KEEPALIVE probes an idle connection.
///
/// Driven by its stack's thread: segments come in through `handle`, timers through
/// `runTimers`, the socket calls (`read`, `write`, `close`) from the stack's owner.
public final class TCPConnection {
    public enum State: Sendable, CustomStringConvertible {
        case synSent, synReceived, established, finWait1, finWait2, closeWait, closing, lastAck, timeWait, closed

        public var description: String {
            switch self {
            case .synSent: "SYN-SENT"
            case .synReceived: "SYN-RECEIVED"
            case .established: "ESTABLISHED"
            case .finWait1: "FIN-WAIT-1"
            case .finWait2: "FIN-WAIT-2"
            case .closeWait: "CLOSE-WAIT"
            case .closing: "CLOSING"
            case .lastAck: "LAST-ACK"
            case .timeWait: "TIME-WAIT"
            case .closed: "CLOSED"
            }
        }
    }

    /// What demultiplexes a segment to its connection.
    struct Key: Hashable {
        let localAddress: IPv4Address
        let localPort: UInt16
        let remoteAddress: IPv4Address
        let remotePort: UInt16
    }

    // Limits and constants.
    public static let bufferSize = 1 << 20
    /// Our window scale shift: 2^5 × 65535 covers the 1 MiB receive buffer.
    static let windowShift: UInt8 = 5
    static let initialRTO = Duration.second
    static let minimumRTO = 200 * Duration.millisecond  // Linux's TCP_RTO_MIN
    static let maximumRTO = 120 * Duration.second  // Linux's TCP_RTO_MAX
    /// Retransmissions of one segment before the connection fails (Linux's tcp_retries2 is
    /// 15; SYNs get tcp_syn_retries, 6).
    static let maximumRetransmissions = 15
    static let maximumSYNRetransmissions = 6
    static let delayedACK = 40 * Duration.millisecond
    static let timeWait = 60 * Duration.second

    let key: Key
    weak var stack: Stack?
    /// The listener that made it (passive open), until it is accepted.
    weak var listener: TCPListener?
    public private(set) var state: State
    /// The owner's name for it (its socket's id), reported by `Stack.takeChanged` when a
    /// segment or a timer changes it.
    public var tag: Int32?
    /// Why the connection failed (ECONNREFUSED, ECONNRESET, ETIMEDOUT), once it has.
    public private(set) var error: LinuxErrno?

    // Send sequence space.
    private let iss: SequenceNumber
    private var sndUna: SequenceNumber
    private var sndNxt: SequenceNumber
    /// The highest sequence number sent so far (sndNxt goes back on a retransmission).
    private var sndMax: SequenceNumber
    private var sndWnd = 0
    private var sndWl1 = SequenceNumber(0)
    private var sndWl2 = SequenceNumber(0)
    private var sndShift: UInt8 = 0
    /// Data not yet acknowledged, from sndUna (after the SYN).
    private var sendBuffer: [UInt8] = []
    private var sendStart = 0
    /// close() or shutdown(SHUT_WR) asked for a FIN after the data.
    private var finQueued = false
    /// The peer's MSS (536 unless it says otherwise) and ours.
    private var mss = 536
    private let ourMSS: Int

    // Congestion control.
    private var cwnd: Int
    private var ssthresh = Int.max
    private var duplicateAcks = 0
    private var recover: SequenceNumber?
    /// What the peer's SACK blocks say it holds above SND.UNA: merged ranges, in order (the
    /// scoreboard of RFC 6675, kept until a timeout, which forgets it as the RFC allows).
    private var scoreboard: [(left: SequenceNumber, right: SequenceNumber)] = []
    /// In recovery with SACK: everything below this was sent again already.
    private var retransmittedUpTo: SequenceNumber?

    // Retransmission timing (RFC 6298), in nanoseconds.
    private var srtt: UInt64?
    private var rttvar: UInt64 = 0
    private var rto = TCPConnection.initialRTO
    private var retransmissions = 0
    /// Segments sent again over the connection's life (TCP_INFO's tcpi_total_retrans).
    private var totalRetransmissions = 0
    private var rttSample: (sequence: SequenceNumber, sentAt: UInt64)?
    private var retransmitDeadline: UInt64?
    private var persistDeadline: UInt64?
    private var persistBackoff = 0

    // Receive sequence space.
    private var rcvNxt = SequenceNumber(0)
    private var rcvShift: UInt8 = 0
    private var receiveBuffer: [UInt8] = []
    private var receiveStart = 0
    /// Segments that arrived ahead of rcvNxt, by sequence number.
    private var outOfOrder: [(sequence: SequenceNumber, data: [UInt8])] = []
    private var outOfOrderBytes = 0
    /// Where the segment held out of order most recently starts: its SACK block goes first.
    private var latestOutOfOrder: SequenceNumber?
    /// Both sides offered SACK on their SYNs.
    private var sackEnabled = false
    private var finReceived = false
    /// Bytes taken in order since our last ACK.
    private var unacknowledgedBytes = 0
    /// The right edge of the window we last advertised (RCV.NXT + RCV.WND as sent).
    private var advertisedRightEdge = SequenceNumber(0)
    private var delayedAckDeadline: UInt64?
    private var timeWaitDeadline: UInt64?

    // Timestamps (RFC 7323).
    /// Both SYNs carried the option.
    private var timestampsEnabled = false
    /// TS.Recent: the peer's timestamp to echo, and when it was taken.
    private var tsRecent: UInt32 = 0
    private var tsRecentAt: UInt64 = 0
    /// After this long without a new TS.Recent, it is too old to compare with (RFC 7323
    /// §5.5: the peer's clock may have wrapped): 2^31 ms, about 24.8 days.
    static let timestampValidity = (UInt64(1) << 31) * Duration.millisecond
    /// Last.ACK.sent: the acknowledgment number of our latest segment.
    private var lastAckSent = SequenceNumber(0)
    /// Added to the clock's milliseconds, a random value per connection (Linux's tsoffset), so
    /// that the timestamps tell nothing of the host's uptime.
    private let timestampOffset: UInt32
    /// The bytes the option takes in each segment (10, padded to 12).
    static let timestampOptionLength = 12

    // Nagle.
    /// TCP_NODELAY: segments shorter than the MSS go at once.
    public var noDelay = false {
        didSet {
            if noDelay && !oldValue {
                output()
                stack?.flush()
            }
        }
    }
    /// Where the latest segment shorter than the MSS ends (Linux's snd_sml): while the peer
    /// has not acknowledged it, another short one waits.
    private var shortSegmentEnd: SequenceNumber?

    init(stack: Stack, key: Key, state: State, iss: UInt32, mtu: Int) {
        self.stack = stack
        self.key = key
        self.state = state
        self.iss = SequenceNumber(iss)
        sndUna = self.iss
        sndNxt = self.iss
        sndMax = self.iss
        ourMSS = max(min(mtu, Int(UInt16.max)) - IPv4Header.minimumSize - TCPHeader.minimumSize, 536)
        cwnd = 10 * 536  // RFC 6928's initial window, refined once the MSS is known
        offloads = stack.offloads(toward: key.remoteAddress)
        timestampOffset = stack.randomWord()
    }

    /// What the link toward the peer finishes (looked up once: the route does not change
    /// under a connection, and each segment would otherwise look it up again).
    private let offloads: LinkOffloads

    // MARK: The socket's side

    /// Bytes that can be read now.
    public var available: Int { receiveBuffer.count - receiveStart }
    /// Whether read would not wait: data, the peer's FIN, or an error (poll's POLLIN).
    public var isReadable: Bool { available > 0 || finReceived || error != nil }
    /// Whether write would not wait (poll's POLLOUT).
    public var isWritable: Bool {
        switch state {
        case .established, .closeWait: return !finQueued && sendBuffer.count - sendStart < Self.bufferSize
        case .synSent, .synReceived: return false
        default: return error != nil
        }
    }

    /// Takes up to `maximum` received bytes. Empty with `finReceived` is end of stream;
    /// empty without it means "nothing yet" (EAGAIN). Throws the connection's error once the
    /// data before it is read.
    public func read(maximum: Int) throws(LinuxErrno) -> [UInt8] {
        var failure: LinuxErrno?
        let bytes = [UInt8](unsafeUninitializedCapacity: min(maximum, available)) { buffer, count in
            do throws(LinuxErrno) {
                count = try read(into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// MSG_PEEK: copies up to `buffer.count` received bytes into `buffer` and leaves them
    /// to be read (0: nothing yet, or end of stream; the connection's error once read out).
    public func peek(into buffer: UnsafeMutableRawBufferPointer) throws(LinuxErrno) -> Int {
        if available == 0 {
            if let error { throw error }
            return 0
        }
        let count = min(buffer.count, available)
        receiveBuffer.withUnsafeBytes { bytes in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[receiveStart..<(receiveStart + count)]))
        }
        return count
    }

    /// `read(maximum:)` into `buffer`: returns how many bytes it took (0: nothing yet, or end
    /// of stream, as `read(maximum:)`'s empty answer).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(LinuxErrno) -> Int {
        let count = try peek(into: buffer)
        guard count > 0 else { return 0 }
        receiveStart += count
        Self.compact(&receiveBuffer, consumed: &receiveStart)
        if shouldUpdateWindow {
            sendAck()
            stack?.flush()
        }
        return count
    }

    /// Input events, counted: data in order, the peer's FIN, an error (what wakes an
    /// edge-triggered poller on Linux; a pure ACK or a timer is none).
    public private(set) var arrivals = 0

    /// Drops the first `consumed` bytes of `buffer` once they are more than 64 KiB and half
    /// of it. A multiple of 64 bytes goes (up to 63 consumed bytes stay), so the stream keeps
    /// its alignment in the buffer: copies in and out of it at the program's offsets, mostly
    /// aligned, stay aligned. Measured: the stream's bytes shifting by the segment sizes
    /// (65483 with timestamps on the loopback) made the copy of each write into the send
    /// buffer five times slower, and loopback TCP 20% slower overall.
    private static func compact(_ buffer: inout [UInt8], consumed: inout Int) {
        guard consumed > 1 << 16 && consumed * 2 > buffer.count else { return }
        let removed = consumed & ~63
        buffer.removeFirst(removed)
        consumed -= removed
    }

    /// Whether the peer has closed its side and everything it sent has been read.
    public var isAtEndOfStream: Bool { finReceived && available == 0 }

    /// Queues `bytes` for sending; returns how many fit in the send buffer (0: none yet, as
    /// while the handshake runs: EAGAIN). EPIPE after shutdown or close; the connection's
    /// error once it failed.
    public func write(_ bytes: some Collection<UInt8>) throws(LinuxErrno) -> Int {
        if let error { throw error }
        switch state {
        case .established, .closeWait: break
        case .synSent, .synReceived: return 0  // not connected yet: the caller waits for POLLOUT
        default: throw .EPIPE
        }
        if finQueued { throw .EPIPE }
        let room = Self.bufferSize - (sendBuffer.count - sendStart)
        let taken = min(room, bytes.count)
        sendBuffer += bytes.prefix(taken)
        output()
        stack?.flush()
        return taken
    }

    /// shutdown(SHUT_WR): a FIN follows the data written so far.
    public func shutdownWrite() {
        switch state {
        case .established, .closeWait, .synReceived:
            if !finQueued {
                finQueued = true
                output()
            }
        case .synSent:
            finish(nil)
        default:
            break
        }
        stack?.flush()
    }

    /// close(2): as shutdown(SHUT_WR); data that arrives afterwards is answered with RST
    /// (unread data at close resets the connection, as Linux does).
    public func close() {
        if available > 0 || !outOfOrder.isEmpty {
            sendReset(sequence: sndNxt)
            finish(nil)
            stack?.flush()
            return
        }
        closedByUser = true
        shutdownWrite()
    }
    private var closedByUser = false

    /// Resets the connection at once (close with SO_LINGER of 0, or a listener closing).
    public func abort() {
        if state != .closed && state != .timeWait && state != .synSent { sendReset(sequence: sndNxt) }
        finish(nil)
        stack?.flush()
    }

    // MARK: Opening

    /// Active open: sends the SYN (RFC 9293 §3.10.1).
    func connect() {
        sendSegment(sequence: iss, flags: .syn, options: synOptions(), payload: [])
        rttSample = (iss, stack?.clock.now ?? 0)
        sndNxt = iss + 1
        sndMax = sndNxt
        armRetransmit()
    }

    /// Passive open: answers the peer's SYN with a SYN-ACK.
    func acceptSYN(_ segment: TCPHeader) {
        rcvNxt = SequenceNumber(segment.sequenceNumber) + 1
        sndWnd = Int(segment.window)
        adopt(segment.options)
        sendSegment(sequence: iss, flags: [.syn, .ack], options: synOptions(peer: segment.options), payload: [])
        rttSample = (iss, stack?.clock.now ?? 0)
        sndNxt = iss + 1
        sndMax = sndNxt
        armRetransmit()
    }

    private func synOptions(peer: TCPOptions? = nil) -> TCPOptions {
        var options = TCPOptions()
        options.maximumSegmentSize = UInt16(min(ourMSS, Int(UInt16.max)))
        // Window scaling only when the peer offered it too (on a SYN-ACK), or first (SYN).
        if peer == nil || peer?.windowScale != nil { options.windowScale = Self.windowShift }
        options.sackPermitted = peer?.sackPermitted ?? true
        // Timestamps likewise; a SYN-ACK echoes the SYN's value.
        if peer == nil || peer?.timestamp != nil { options.timestamp = (timestampNow, peer?.timestamp?.value ?? 0) }
        return options
    }

    private func takeTimestamp(_ value: UInt32) {
        tsRecent = value
        tsRecentAt = stack?.clock.now ?? 0
    }

    /// Our timestamp clock: milliseconds (RFC 7323 §5.4 asks for 1 ms to 1 s per tick).
    private var timestampNow: UInt32 {
        UInt32(truncatingIfNeeded: (stack?.clock.now ?? 0) / Duration.millisecond) &+ timestampOffset
    }

    /// Takes the peer's SYN options: its MSS, and window scaling, SACK and timestamps if both
    /// sides offered them (ours offers all; a SYN-ACK echoes only what the SYN offered). With
    /// timestamps each segment's data is 12 bytes shorter than the MSS, which counts the
    /// payload of a segment without options (RFC 9293 §3.7.1).
    private func adopt(_ options: TCPOptions) {
        sackEnabled = options.sackPermitted
        timestampsEnabled = options.timestamp != nil
        if let stamp = options.timestamp { takeTimestamp(stamp.value) }
        if let peerMSS = options.maximumSegmentSize { mss = max(min(Int(peerMSS), ourMSS), 64) } else { mss = min(536, ourMSS) }
        if let pathMTU { mss = min(mss, pathMTU - IPv4Header.minimumSize - TCPHeader.minimumSize) }
        if timestampsEnabled { mss -= Self.timestampOptionLength }
        if let shift = options.windowScale {
            sndShift = shift
            rcvShift = Self.windowShift
        }
        cwnd = min(10 * mss, max(2 * mss, 14600))
    }

    // MARK: Input (RFC 9293 §3.10.7)

    func handle(_ segment: TCPHeader) {
        stack?.noteChange(tag)
        let now = stack?.clock.now ?? 0
        let flags = segment.flags
        let sequence = SequenceNumber(segment.sequenceNumber)
        let ack = SequenceNumber(segment.acknowledgmentNumber)
        var length = segment.payload.count
        if flags.contains(.syn) { length += 1 }
        if flags.contains(.fin) { length += 1 }

        if state == .synSent {
            handleInSYNSent(segment, sequence: sequence, ack: ack)
            return
        }
        // The peer's SYN again (our SYN-ACK was lost): send the SYN-ACK again.
        if state == .synReceived, flags == .syn, sequence + 1 == rcvNxt {
            retransmitFirstSegment()
            return
        }
        // PAWS (RFC 7323 §5.3): a timestamp older than TS.Recent marks an old duplicate; it is
        // answered like a segment outside the window. A reset is exempt, as in Linux, and so
        // is every segment once TS.Recent is too old to compare with (§5.5).
        let stamp = timestampsEnabled ? segment.options.timestamp : nil
        if let stamp, !flags.contains(.rst), Int32(bitPattern: stamp.value &- tsRecent) < 0, now &- tsRecentAt < Self.timestampValidity {
            sendAck()
            return
        }
        // First: is the segment in the window?
        guard isAcceptable(sequence: sequence, length: length) else {
            if !flags.contains(.rst) { sendAck() }
            return
        }
        if keepalive { armKeepalive() }  // the peer is alive
        // Second: RST (RFC 5961 §3: only an exact match resets; else a challenge ACK).
        if flags.contains(.rst) {
            if sequence == rcvNxt {
                if state == .synReceived && listener != nil {
                    finish(nil)  // back to listening: the listener just forgets it
                } else {
                    finish(state == .synReceived ? .ECONNREFUSED : .ECONNRESET)
                }
            } else {
                sendAck()
            }
            return
        }
        // Fourth: a SYN in a synchronized state gets a challenge ACK (RFC 5961 §4).
        if flags.contains(.syn) {
            sendAck()
            return
        }
        // Fifth: the ACK field.
        guard flags.contains(.ack) else { return }
        if state == .synReceived {
            guard ack > sndUna && ack <= sndMax else {
                sendReset(sequence: ack)
                return
            }
            state = .established
            sndWnd = Int(segment.window) << Int(sndShift)
            sndWl1 = sequence
            sndWl2 = ack
            listener?.established(self)
        }
        if ack > sndMax {
            sendAck()  // acknowledges something not yet sent
            return
        }
        // RFC 7323 §4.3: the timestamp to echo is that of the segment that filled the
        // sequence space our latest ACK acknowledged. Taken only from a segment that passed
        // the RST, SYN and ACK checks (as Linux's tcp_replace_ts_recent), so a blind segment
        // cannot move it ahead and make PAWS drop the real ones.
        if let stamp, Int32(bitPattern: stamp.value &- tsRecent) >= 0 || now &- tsRecentAt >= Self.timestampValidity, sequence <= lastAckSent {
            takeTimestamp(stamp.value)
        }
        if sackEnabled && !segment.options.sackBlocks.isEmpty { record(segment.options.sackBlocks) }
        processAck(ack, window: Int(segment.window) << Int(sndShift), sequence: sequence, hasData: length > 0, echo: stamp?.echo, now: now)
        if state == .closed { return }

        // Seventh: the data, then the FIN.
        if !segment.payload.isEmpty {
            receiveData(segment.payload, at: sequence)
        }
        if flags.contains(.fin) {
            let peerFin = sequence + segment.payload.count
            if peerFin == rcvNxt && !finReceived {
                takePeerFIN(now: now)
                sendAck()
            } else if finReceived {
                if state == .timeWait { timeWaitDeadline = now + Self.timeWait }
                sendAck()  // a retransmitted FIN: our ACK was lost
            } else {
                holdOutOfOrderFIN = peerFin
                sendAck()
            }
        }
        output()
    }
    /// A FIN that came before missing data, taken once the data fills in.
    private var holdOutOfOrderFIN: SequenceNumber?

    private func handleInSYNSent(_ segment: TCPHeader, sequence: SequenceNumber, ack: SequenceNumber) {
        let flags = segment.flags
        let ackAcceptable = flags.contains(.ack) && ack > iss && ack <= sndMax
        if flags.contains(.ack) && !ackAcceptable {
            if !flags.contains(.rst) { sendReset(sequence: ack) }
            return
        }
        if flags.contains(.rst) {
            if ackAcceptable { finish(.ECONNREFUSED) }
            return
        }
        guard flags.contains(.syn) else { return }
        rcvNxt = sequence + 1
        adopt(segment.options)
        if segment.options.windowScale == nil { rcvShift = 0 }
        if ackAcceptable {
            sndUna = ack
            state = .established
            sndWnd = Int(segment.window)  // a SYN's window is never scaled
            sndWl1 = sequence
            sndWl2 = ack
            retransmissions = 0
            takeRTTSample(upTo: ack, now: stack?.clock.now ?? 0)
            retransmitDeadline = nil
            sendAck()
            output()
        } else {
            // Simultaneous open: both SYNs crossed.
            state = .synReceived
            sndWnd = Int(segment.window)
            sendSegment(sequence: iss, flags: [.syn, .ack], options: synOptions(peer: segment.options), payload: [])
        }
    }

    /// ICMP destination unreachable about a segment this connection sent (RFC 1122
    /// §4.2.3.9, as Linux's tcp_v4_err). Taken only when the quoted sequence number is one
    /// sent and not acknowledged, SND.UNA <= SEG.SEQ < SND.MAX (RFC 5927 §4.1: a blind
    /// attacker must guess it). "Fragmentation needed" lowers the MSS to what the next hop's
    /// MTU allows (RFC 1191, not below Linux's min_pmtu of 552) and sends what is outstanding
    /// again in smaller segments. Any other code ends a connect in progress with its errno
    /// (ECONNREFUSED for port unreachable); after the handshake it is a soft error, which
    /// Linux keeps from the program too.
    func handleUnreachable(code: UInt8, nextHopMTU: Int, sequence: SequenceNumber) {
        guard sequence >= sndUna && sequence < sndMax, state != .closed, state != .timeWait else { return }
        stack?.noteChange(tag)
        if code == ICMPv4Header.codeFragmentationNeeded {
            guard nextHopMTU > 0 else { return }  // a router before RFC 1191 says nothing usable
            let mtu = max(nextHopMTU, Self.minimumPathMTU)
            guard mtu < pathMTU ?? Int.max else { return }
            pathMTU = mtu
            // In SYN-SENT the MSS is set once the peer's is known (`adopt` applies the path's).
            guard state != .synSent else { return }
            let allowed = mtu - IPv4Header.minimumSize - TCPHeader.minimumSize - (timestampsEnabled ? Self.timestampOptionLength : 0)
            guard allowed < mss else { return }
            mss = allowed
            if sndMax > sndUna && state != .synReceived {
                goBack()
                output()
                stack?.flush()
            }
            return
        }
        guard state == .synSent, let (errno, _) = ICMPv4Header.unreachableError(code: code) else { return }
        finish(errno)
    }

    /// Linux's min_pmtu: a "fragmentation needed" below it is taken as this.
    static let minimumPathMTU = 552
    /// The path MTU "fragmentation needed" taught (RFC 1191), if it did.
    private var pathMTU: Int?

    /// RFC 9293 §3.10.7.4's acceptability test.
    private func isAcceptable(sequence: SequenceNumber, length: Int) -> Bool {
        let window = receiveWindow
        if length == 0 {
            return window == 0 ? sequence == rcvNxt : sequence.isIn(rcvNxt, size: window)
        }
        if window == 0 { return false }
        return sequence.isIn(rcvNxt, size: window) || (sequence + (length - 1)).isIn(rcvNxt, size: window)
    }

    private var isFinAcknowledged: Bool { finSequence.map { sndUna > $0 } ?? false }
    /// Whether the FIN is sent and not to be sent again (a timeout can take that back).
    private var finSent = false
    /// The FIN's sequence number, once it was first sent.
    private var finSequence: SequenceNumber?

    /// `echo`: the segment's timestamp echo (with timestamps on), an RTT sample when the ACK
    /// acknowledges new data.
    private func processAck(_ ack: SequenceNumber, window: Int, sequence: SequenceNumber, hasData: Bool, echo: UInt32?, now: UInt64) {
        let outstanding = sndMax - sndUna
        if ack > sndUna {
            var acknowledged = ack - sndUna
            // The SYN and FIN take a number each but no byte of the buffer.
            if sndUna == iss { acknowledged -= 1 }
            if let fin = finSequence, ack > fin { acknowledged -= 1 }
            let dataAcknowledged = min(max(acknowledged, 0), sendBuffer.count - sendStart)
            sendStart += dataAcknowledged
            Self.compact(&sendBuffer, consumed: &sendStart)
            if !takeRTTSample(upTo: ack, now: now), let echo, echo != 0 {
                // RFC 7323 §4.1: the echo times the segment that triggered the ACK, even one
                // sent again (Karn's rule no longer applies).
                let elapsed = UInt64(timestampNow &- echo)
                if elapsed < UInt64(Int32.max) { updateRTT(measured: elapsed * Duration.millisecond) }
            }
            sndUna = ack
            scoreboard = scoreboard.compactMap { $0.right <= ack ? nil : ($0.left < ack ? ack : $0.left, $0.right) }
            if sndNxt < sndUna { sndNxt = sndUna }
            retransmissions = 0
            growWindow(acknowledged: dataAcknowledged, ack: ack)
            duplicateAcks = 0
            retransmitDeadline = nil
            if sndUna < sndMax { armRetransmit() }
        } else if ack == sndUna && !hasData && outstanding > 0 && window == sndWnd {
            duplicateAck()
        }
        // Window update (RFC 9293 §3.10.7.4, fifth check), from an ACK no older than SND.UNA.
        if ack >= sndUna, sndWl1 < sequence || (sndWl1 == sequence && sndWl2 <= ack) {
            sndWnd = window
            sndWl1 = sequence
            sndWl2 = ack
            if sndWnd > 0 {
                persistDeadline = nil
                persistBackoff = 0
            }
        }
        if isFinAcknowledged {
            switch state {
            case .finWait1:
                state = .finWait2
                // Closed by its program, it waits for the peer's FIN only so long (Linux's
                // tcp_fin_timeout, 60 s).
                if closedByUser { timeWaitDeadline = now + Self.timeWait }
            case .closing:
                state = .timeWait
                timeWaitDeadline = now + Self.timeWait
            case .lastAck: finish(nil)
            default: break
            }
        }
    }

    /// RFC 5681 §3.1 growth; NewReno's partial and full acknowledgments (RFC 6582 §3.2).
    private func growWindow(acknowledged: Int, ack: SequenceNumber) {
        if let recover {
            if ack >= recover {
                cwnd = min(ssthresh, max(sndMax - sndUna, mss) + mss)
                self.recover = nil
                retransmittedUpTo = nil
            } else {
                // A partial ACK: the next hole is lost too. Sent again even if SACK recovery
                // sent it already: that copy may be lost as well, and waiting for the timeout
                // to tell costs more than a segment.
                retransmitFirstSegment()
                if let done = retransmittedUpTo, done < sndUna + firstSegmentSize { retransmittedUpTo = sndUna + firstSegmentSize }
                cwnd = max(cwnd - acknowledged + mss, mss)
            }
            return
        }
        if cwnd < ssthresh {
            cwnd += min(acknowledged, mss)
        } else {
            cwnd += max(mss * mss / max(cwnd, 1), 1)
        }
    }

    private func duplicateAck() {
        duplicateAcks += 1
        if recover != nil {
            cwnd += mss  // each duplicate means a segment left the network
            retransmitNextHole()
            return
        }
        guard duplicateAcks == 3 else { return }
        ssthresh = max((sndMax - sndUna) / 2, 2 * mss)
        recover = sndMax
        retransmitFirstSegment()
        if sackEnabled { retransmittedUpTo = sndUna + firstSegmentSize }
        cwnd = ssthresh + 3 * mss
    }

    /// Takes the peer's SACK blocks into the scoreboard: those inside what was sent and not
    /// yet acknowledged (RFC 2018 §5; others are stale or lies, and ignored).
    private func record(_ blocks: [TCPOptions.SACKBlock]) {
        for block in blocks {
            let (left, right) = (SequenceNumber(block.left), SequenceNumber(block.right))
            guard left < right, left > sndUna, right <= sndMax else { continue }
            var merged = (left: left, right: right)
            scoreboard.removeAll { range in
                guard range.left <= merged.right && merged.left <= range.right else { return false }
                merged = (range.left < merged.left ? range.left : merged.left, range.right > merged.right ? range.right : merged.right)
                return true
            }
            let index = scoreboard.firstIndex { $0.left > merged.left } ?? scoreboard.endIndex
            scoreboard.insert(merged, at: index)
        }
    }

    /// In SACK recovery, one duplicate ACK sends one more hole again (RFC 6675's NextSeg,
    /// rule 1): the first stretch above what was sent again already that the peer does not
    /// hold and that lies below data it does hold, at most an MSS of it. NewReno alone sends
    /// one hole per round trip; this sends each as soon as the peer shows it missing.
    private func retransmitNextHole() {
        guard sackEnabled, var start = retransmittedUpTo, let highest = scoreboard.last?.right else { return }
        if start < sndUna { start = sndUna }
        for range in scoreboard where range.left <= start && start < range.right { start = range.right }
        guard start < highest else { return }
        let holeEnd = scoreboard.first { $0.left > start }?.left ?? highest
        let offset = start - sndUna
        let unacknowledged = sendBuffer.count - sendStart
        let size = min(mss, holeEnd - start, unacknowledged - offset)
        guard offset >= 0, size > 0 else { return }
        sendSegment(sequence: start, flags: .ack, payload: sendBuffer[(sendStart + offset)..<(sendStart + offset + size)])
        totalRetransmissions += 1
        rttSample = nil  // Karn: no sample from a retransmitted segment
        retransmittedUpTo = start + size
    }

    /// RTT measurement of the one timed segment, not retransmitted (Karn), RFC 6298 §2.
    /// Returns whether `ack` gave a sample.
    @discardableResult
    private func takeRTTSample(upTo ack: SequenceNumber, now: UInt64) -> Bool {
        guard let sample = rttSample, ack > sample.sequence else { return false }
        rttSample = nil
        updateRTT(measured: now - sample.sentAt)
        return true
    }

    /// RFC 6298 §2's SRTT, RTTVAR and RTO from one sample of `measured` nanoseconds.
    private func updateRTT(measured: UInt64) {
        if let smoothed = srtt {
            let difference = smoothed > measured ? smoothed - measured : measured - smoothed
            rttvar = (3 * rttvar + difference) / 4
            srtt = (7 * smoothed + measured) / 8
        } else {
            srtt = measured
            rttvar = measured / 2
        }
        rto = min(max((srtt ?? 0) + max(4 * rttvar, Duration.millisecond), Self.minimumRTO), Self.maximumRTO)
    }

    // MARK: Receiving data

    /// The window we advertise: the room left in the receive buffer. Out-of-order data lies
    /// inside it already, so it does not shrink it (the right edge never moves left).
    private var receiveWindow: Int {
        max(Self.bufferSize - available, 0)
    }

    /// Whether reading opened the window enough to tell the peer now, as Linux's
    /// tcp_cleanup_rbuf does: the window the peer knows has shrunk to at most half the buffer
    /// and what we can offer now is at least twice that, and more by an MSS at least (RFC 9293
    /// §3.8.6.2.2's receiver side of silly-window avoidance). Without it a peer that filled
    /// the window waits for its zero-window probe.
    private var shouldUpdateWindow: Bool {
        guard [.established, .finWait1, .finWait2].contains(state) else { return false }
        let known = max(advertisedRightEdge - rcvNxt, 0)
        let offered = (receiveWindow >> Int(rcvShift)) << Int(rcvShift)
        return 2 * known <= Self.bufferSize && offered >= 2 * known && offered - known >= ourMSS
    }

    /// The most segments held out of order (their bytes are bounded by the window).
    static let maximumOutOfOrder = 1024

    private func receiveData(_ payload: ArraySlice<UInt8>, at sequence: SequenceNumber) {
        if closedByUser {
            // Nobody will read it: the peer learns at once (RFC 9293 §3.10.7.4, as Linux).
            sendReset(sequence: sndNxt)
            finish(nil)
            return
        }
        // Data after the peer's FIN is not data (RFC 9293 §3.10.7.4, seventh check).
        if finReceived { return }
        var data = payload
        var start = sequence
        // Trim what was already received, and what lies beyond the window.
        if start < rcvNxt {
            data = data.dropFirst(min(rcvNxt - start, data.count))
            start = rcvNxt
        }
        data = data.prefix(max(receiveWindow - (start - rcvNxt), 0))
        guard !data.isEmpty else { return }
        if start == rcvNxt {
            receiveBuffer += data
            rcvNxt += data.count
            arrivals += 1
            drainOutOfOrder()
            unacknowledgedBytes += data.count
            // Every second full-sized segment is acknowledged at once (RFC 9293 §3.8.6.3),
            // counted in bytes as Linux does, so a large segment the host's offload made is
            // acknowledged at once too.
            if unacknowledgedBytes > mss || !outOfOrder.isEmpty {
                sendAck()
            } else if delayedAckDeadline == nil {
                delayedAckDeadline = (stack?.clock.now ?? 0) + Self.delayedACK
            }
        } else {
            if outOfOrder.count < Self.maximumOutOfOrder, !outOfOrder.contains(where: { $0.sequence == start }) {
                outOfOrder.append((start, Array(data)))
                outOfOrderBytes += data.count
                latestOutOfOrder = start
            }
            sendAck()  // a duplicate ACK tells the sender of the hole at once
        }
    }

    private func drainOutOfOrder() {
        outOfOrder.sort { $0.sequence < $1.sequence }
        while let first = outOfOrder.first, first.sequence <= rcvNxt {
            outOfOrder.removeFirst()
            outOfOrderBytes -= first.data.count
            let skip = rcvNxt - first.sequence
            if skip < first.data.count {
                receiveBuffer += first.data[skip...]
                rcvNxt += first.data.count - skip
            }
        }
        if let fin = holdOutOfOrderFIN, fin == rcvNxt {
            holdOutOfOrderFIN = nil
            takePeerFIN(now: stack?.clock.now ?? 0)
        }
    }

    /// The SACK blocks to report (RFC 2018 §4): the data held out of order as contiguous
    /// ranges, the one holding the latest segment first, at most four.
    private var sackBlocks: [TCPOptions.SACKBlock] {
        guard sackEnabled, !outOfOrder.isEmpty else { return [] }
        var ranges: [(left: SequenceNumber, right: SequenceNumber)] = []
        for piece in outOfOrder.sorted(by: { $0.sequence < $1.sequence }) {
            let end = piece.sequence + piece.data.count
            if let last = ranges.last, piece.sequence <= last.right {
                if end > last.right { ranges[ranges.count - 1].right = end }
            } else {
                ranges.append((piece.sequence, end))
            }
        }
        if let latest = latestOutOfOrder, let index = ranges.firstIndex(where: { latest >= $0.left && latest < $0.right }) {
            ranges.insert(ranges.remove(at: index), at: 0)
        }
        return ranges.prefix(TCPOptions.maximumSACKBlocks).map { TCPOptions.SACKBlock(left: $0.left.value, right: $0.right.value) }
    }

    /// The peer's FIN, in order: its number is taken, and the state moves on (ESTABLISHED to
    /// CLOSE-WAIT; FIN-WAIT-1 to CLOSING, or TIME-WAIT if our FIN is acknowledged; FIN-WAIT-2
    /// to TIME-WAIT, whose timer starts).
    private func takePeerFIN(now: UInt64) {
        finReceived = true
        arrivals += 1
        rcvNxt += 1
        switch state {
        case .established: state = .closeWait
        case .finWait1: state = isFinAcknowledged ? .timeWait : .closing
        case .finWait2: state = .timeWait
        default: break
        }
        if state == .timeWait { timeWaitDeadline = now + Self.timeWait }
    }

    // MARK: Output

    /// Sends what the windows allow: new data, then the FIN.
    func output() {
        guard [.established, .closeWait, .finWait1, .closing, .lastAck].contains(state) else { return }
        let now = stack?.clock.now ?? 0
        let chunk = largestSegment
        while true {
            let window = min(sndWnd, cwnd)
            let inFlight = sndNxt - sndUna
            let offset = sndNxt - sndUna - (sndUna == iss ? 1 : 0)
            let unsent = sendBuffer.count - sendStart - offset
            let room = window - inFlight
            if unsent > 0 && room > 0 {
                var size = min(chunk, unsent, room)
                // Nagle: the short tail of what was written waits while a short segment is
                // unacknowledged (whole segments before it go); a FIN to follow sends it. Only
                // new data waits, and only behind data in flight (whose ACK sends it): what a
                // timeout sends again goes as it went before.
                if size == unsent, size % mss != 0, !noDelay, !finQueued, sndNxt == sndMax, inFlight > 0, let end = shortSegmentEnd,
                    end > sndUna, end <= sndNxt
                {
                    size -= size % mss
                    if size == 0 { return }
                }
                let start = sendStart + offset
                let isLast = size == unsent
                let withFin = isLast && finQueued && !finSent && room > size
                sendSegment(sequence: sndNxt, flags: withFin ? [.ack, .psh, .fin] : (isLast ? [.ack, .psh] : .ack), payload: sendBuffer[start..<(start + size)])
                // Only new data is timed (Karn: never what goes again after a timeout).
                if rttSample == nil && sndNxt == sndMax { rttSample = (sndNxt, now) }
                sndNxt += size
                if size % mss != 0 { shortSegmentEnd = sndNxt }
                if withFin {
                    finSent = true
                    finSequence = sndNxt
                    sndNxt += 1
                    enterFinState()
                }
                if sndNxt > sndMax { sndMax = sndNxt }
                if retransmitDeadline == nil { armRetransmit() }
                if withFin { return }
                continue
            }
            if unsent <= 0 && finQueued && !finSent {
                sendSegment(sequence: sndNxt, flags: [.ack, .fin], payload: [])
                finSent = true
                finSequence = sndNxt
                sndNxt += 1
                if sndNxt > sndMax { sndMax = sndNxt }
                enterFinState()
                if retransmitDeadline == nil { armRetransmit() }
            }
            if unsent > 0 && sndWnd == 0 && inFlight == 0 && persistDeadline == nil {
                persistDeadline = now + rto  // probe the closed window (RFC 9293 §3.8.6.1)
            }
            return
        }
    }

    /// The most payload one segment handed to the link carries: the MSS, or as many MSS as
    /// fit under the link's segmentation limit (the link cuts them).
    private var largestSegment: Int {
        let limit = offloads.segmentationLimit
        let headers = IPv4Header.minimumSize + TCPHeader.minimumSize + TCPOptions.maximumLength
        return max((limit - headers) / mss, 1) * mss
    }

    private func enterFinState() {
        switch state {
        case .established: state = .finWait1
        case .closeWait: state = .lastAck
        default: break
        }
    }

    /// Sends the segment at sndUna again (fast retransmit, partial ACK, timeout).
    private func retransmitFirstSegment() {
        totalRetransmissions += 1
        if state == .synSent {
            sendSegment(sequence: iss, flags: .syn, options: synOptions(), payload: [])
            return
        }
        if state == .synReceived {
            var peer = TCPOptions()
            peer.windowScale = rcvShift != 0 ? sndShift : nil
            peer.sackPermitted = sackEnabled
            peer.timestamp = timestampsEnabled ? (tsRecent, 0) : nil
            sendSegment(sequence: iss, flags: [.syn, .ack], options: synOptions(peer: peer), payload: [])
            return
        }
        let unacknowledged = sendBuffer.count - sendStart
        let size = firstSegmentSize
        let start = sendStart
        if size > 0 {
            let isFinToo = finSent && size == unacknowledged && sndMax == sndUna + size + 1
            sendSegment(sequence: sndUna, flags: isFinToo ? [.ack, .fin] : .ack, payload: sendBuffer[start..<(start + size)])
        } else if finSent {
            sendSegment(sequence: sndMax + (-1), flags: [.ack, .fin], payload: [])
        }
        rttSample = nil  // Karn: no sample from a retransmitted segment
    }

    /// The data bytes of the first unacknowledged segment: at most an MSS of what was sent.
    /// Never data past SND.MAX: the peer's window may not have room for it, and an ACK of it
    /// would look like an ACK of data never sent, which is dropped (the connection stalled).
    private var firstSegmentSize: Int {
        min(mss, sendBuffer.count - sendStart, sndMax - sndUna)
    }

    private func armRetransmit() {
        retransmitDeadline = (stack?.clock.now ?? 0) + rto
    }

    // MARK: TCP_INFO

    /// What getsockopt(TCP_INFO) reports of the connection (Linux's struct tcp_info; the
    /// fields the stack keeps).
    public struct Info: Equatable, Sendable {
        /// Linux's TCP state numbers (TCP_ESTABLISHED 1 ... TCP_CLOSING 11).
        public var state: UInt8
        public var retransmits: UInt8
        public var sackEnabled: Bool
        public var windowScaling: Bool
        public var timestamps: Bool
        public var sendShift: UInt8
        public var receiveShift: UInt8
        public var rtoMicroseconds: UInt32
        public var sendMSS: UInt32
        public var receiveMSS: UInt32
        public var unacknowledgedSegments: UInt32
        public var rttMicroseconds: UInt32
        public var rttVarianceMicroseconds: UInt32
        public var sendSlowStartThreshold: UInt32
        public var congestionWindowSegments: UInt32
        public var advertisedMSS: UInt32
        public var receiveSpace: UInt32
        public var totalRetransmissions: UInt32
    }

    /// TCP_INFO of a stream socket without a connection, as Linux reports one from its
    /// initial values: a listener (state LISTEN, its accept queue as the unacknowledged
    /// count) or a socket not yet connected (CLOSE).
    public static func unconnectedInfo(listening waiting: Int?) -> Info {
        Info(
            state: waiting == nil ? 7 : 10, retransmits: 0, sackEnabled: false, windowScaling: false, timestamps: false, sendShift: 0,
            receiveShift: 0, rtoMicroseconds: UInt32(initialRTO / 1000), sendMSS: 536, receiveMSS: 0,
            unacknowledgedSegments: UInt32(clamping: waiting ?? 0), rttMicroseconds: 0, rttVarianceMicroseconds: UInt32(initialRTO / 4000),
            sendSlowStartThreshold: 0x7fff_ffff, congestionWindowSegments: 10, advertisedMSS: 536, receiveSpace: 0, totalRetransmissions: 0)
    }

    public var info: Info {
        let linuxState: UInt8 =
            switch state {
            case .established: 1
            case .synSent: 2
            case .synReceived: 3
            case .finWait1: 4
            case .finWait2: 5
            case .timeWait: 6
            case .closed: 7
            case .closeWait: 8
            case .lastAck: 9
            case .closing: 11
            }
        let segment = UInt64(max(mss, 1))
        return Info(
            state: linuxState, retransmits: UInt8(clamping: retransmissions), sackEnabled: sackEnabled, windowScaling: rcvShift != 0 || sndShift != 0,
            timestamps: timestampsEnabled,
            sendShift: sndShift, receiveShift: rcvShift, rtoMicroseconds: UInt32(clamping: rto / 1000), sendMSS: UInt32(mss),
            receiveMSS: UInt32(ourMSS), unacknowledgedSegments: UInt32(clamping: (UInt64(max(sndMax - sndUna, 0)) + segment - 1) / segment),
            rttMicroseconds: UInt32(clamping: (srtt ?? 0) / 1000), rttVarianceMicroseconds: UInt32(clamping: rttvar / 1000),
            sendSlowStartThreshold: ssthresh == Int.max ? 0x7fff_ffff : UInt32(clamping: UInt64(ssthresh) / segment),
            congestionWindowSegments: UInt32(clamping: UInt64(cwnd) / segment), advertisedMSS: UInt32(ourMSS),
            receiveSpace: UInt32(clamping: receiveWindow), totalRetransmissions: UInt32(clamping: totalRetransmissions))
    }

    // MARK: Timers

    var nextDeadline: UInt64? {
        [retransmitDeadline, delayedAckDeadline, persistDeadline, timeWaitDeadline, keepaliveDeadline].compactMap { $0 }.min()
    }

    // MARK: Options

    /// SO_KEEPALIVE: after `keepaliveIdle` without a segment from the peer, probe every
    /// `keepaliveInterval`; `keepaliveProbes` unanswered probes end the connection with
    /// ETIMEDOUT (Linux's defaults: 2 h, 75 s, 9).
    public var keepalive = false {
        didSet { armKeepalive() }
    }
    static let keepaliveIdle = 7200 * Duration.second
    static let keepaliveInterval = 75 * Duration.second
    static let keepaliveProbes = 9
    private var keepaliveDeadline: UInt64?
    private var keepaliveSent = 0

    /// Restarts the keepalive wait (the peer was heard from, or the option changed).
    private func armKeepalive() {
        keepaliveSent = 0
        keepaliveDeadline = keepalive && state == .established ? (stack?.clock.now ?? 0) + Self.keepaliveIdle : nil
    }

    func runTimers(now: UInt64) {
        if let deadline = nextDeadline, deadline <= now { stack?.noteChange(tag) }
        if let deadline = timeWaitDeadline, deadline <= now {
            finish(nil)
            return
        }
        if let deadline = keepaliveDeadline, deadline <= now {
            if keepaliveSent >= Self.keepaliveProbes {
                finish(.ETIMEDOUT)
                return
            }
            // A probe: an old sequence number, which the peer answers with an ACK.
            sendSegment(sequence: sndUna + (-1), flags: .ack, payload: [])
            keepaliveSent += 1
            keepaliveDeadline = now + Self.keepaliveInterval
        }
        if let deadline = delayedAckDeadline, deadline <= now { sendAck() }
        if let deadline = retransmitDeadline, deadline <= now { retransmitTimeout(now: now) }
        if let deadline = persistDeadline, deadline <= now {
            // A probe of the closed window: an old sequence number, which the peer answers
            // with an ACK carrying its window (Linux's tcp_write_wakeup without data).
            persistBackoff += 1
            if persistBackoff > Self.maximumRetransmissions {
                finish(.ETIMEDOUT)  // the window never opened again
                return
            }
            sendSegment(sequence: sndUna + (-1), flags: .ack, payload: [])
            persistDeadline = now + min(rto << UInt64(min(persistBackoff, 10)), Self.maximumRTO)
        }
    }

    /// RFC 6298 §5: back off, resend the first unacknowledged segment, collapse the window
    /// (RFC 5681 §3.1 eq. 4); give up after the retry limit.
    private func retransmitTimeout(now: UInt64) {
        retransmissions += 1
        let limit = (state == .synSent || state == .synReceived) ? Self.maximumSYNRetransmissions : Self.maximumRetransmissions
        if retransmissions > limit {
            finish(.ETIMEDOUT)
            return
        }
        ssthresh = max((sndMax - sndUna) / 2, 2 * mss)
        cwnd = mss
        recover = nil
        scoreboard = []
        retransmittedUpTo = nil
        duplicateAcks = 0
        rto = min(rto * 2, Self.maximumRTO)
        goBack()
        retransmitDeadline = now + rto
    }

    /// Goes back to SND.UNA: the first segment now, everything after it again as ACKs open
    /// the window (after a timeout, or a smaller path MTU).
    private func goBack() {
        let unacknowledged = sendBuffer.count - sendStart
        let size = firstSegmentSize
        retransmitFirstSegment()
        if state == .synSent || state == .synReceived {
            sndNxt = iss + 1
        } else if finSent && size == unacknowledged {
            sndNxt = sndMax  // the retransmission carried the FIN too
        } else {
            sndNxt = sndUna + size
            finSent = false  // sent again after the data
        }
    }

    // MARK: Sending segments

    private func sendSegment(sequence: SequenceNumber, flags: TCPFlags, options: TCPOptions = TCPOptions(), payload: some Collection<UInt8>) {
        guard let stack else { return }
        var flags = flags
        if state != .synSent || flags.contains(.ack) { flags.insert(.ack) }
        if flags.contains(.syn) && state == .synSent { flags.remove(.ack) }
        let window = flags.contains(.syn) ? min(receiveWindow, 65535) : min(receiveWindow >> Int(rcvShift), 65535)
        var options = options
        // SACK blocks ride on segments without data (the MSS leaves no room for options
        // beside a full one); a receiver holding data out of order sends those.
        if payload.isEmpty && !flags.contains(.syn) { options.sackBlocks = sackBlocks }
        if timestampsEnabled && !flags.contains(.syn) { options.timestamp = (timestampNow, tsRecent) }
        let segment = TCPHeader.encode(
            sourcePort: key.localPort, destinationPort: key.remotePort, sequenceNumber: sequence.value,
            acknowledgmentNumber: flags.contains(.ack) ? rcvNxt.value : 0, flags: flags, window: UInt16(window), options: options,
            payload: payload, source: key.localAddress, destination: key.remoteAddress, checksumPending: offloads.checksum)
        stack.sendIPv4(
            segment, protocol: .tcp, from: key.localAddress, to: key.remoteAddress, dontFragment: true, checksumPending: offloads.checksum,
            segmentSize: payload.count > mss ? mss : 0)
        if !flags.contains(.syn) { advertisedRightEdge = rcvNxt + (Int(window) << Int(rcvShift)) }
        if flags.contains(.ack) {
            lastAckSent = rcvNxt
            unacknowledgedBytes = 0
            delayedAckDeadline = nil
        }
    }

    private func sendAck() {
        sendSegment(sequence: sndNxt, flags: .ack, payload: [])
    }

    private func sendReset(sequence: SequenceNumber) {
        guard let stack else { return }
        let segment = TCPHeader.encode(
            sourcePort: key.localPort, destinationPort: key.remotePort, sequenceNumber: sequence.value, acknowledgmentNumber: 0,
            flags: .rst, window: 0, payload: [UInt8](), source: key.localAddress, destination: key.remoteAddress)
        stack.sendIPv4(segment, protocol: .tcp, from: key.localAddress, to: key.remoteAddress, dontFragment: true)
    }

    /// Ends the connection with `error` (nil: an orderly end) and forgets it.
    private func finish(_ error: LinuxErrno?) {
        stack?.noteChange(tag)
        if let error, self.error == nil {
            self.error = error
            arrivals += 1
        }
        state = .closed
        retransmitDeadline = nil
        persistDeadline = nil
        delayedAckDeadline = nil
        timeWaitDeadline = nil
        stack?.forget(self)
    }
}
