//! State-machine tests: a virtual host drives [`Hid`] with reports and virtual time.

use super::*;

/// Deterministic CID source: 0x10000001, 0x10000002, …
#[derive(Debug)]
struct Counter(u32);

impl CidSource for Counter {
    fn next_cid(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}

type Dev = Hid<Counter>;

const VERSION: DeviceVersion = DeviceVersion {
    major: 1,
    minor: 2,
    build: 3,
};

fn device() -> Dev {
    device_with(Capabilities::default())
}

fn device_with(capabilities: Capabilities) -> Dev {
    Hid::new(
        Config {
            version: VERSION,
            capabilities,
        },
        Counter(0x1000_0000),
    )
}

/// An initialization packet with any command byte and BCNT (data truncated to 57 bytes).
fn raw_init(cid: Cid, cmd: u8, bcnt: u16, data: &[u8]) -> Report {
    let mut r = [0u8; REPORT_LEN];
    r[..4].copy_from_slice(&cid.to_bytes());
    r[4] = cmd | 0x80;
    r[5..7].copy_from_slice(&bcnt.to_be_bytes());
    let n = data.len().min(INIT_DATA_LEN);
    r[7..7 + n].copy_from_slice(&data[..n]);
    r
}

fn raw_cont(cid: Cid, seq: u8, data: &[u8]) -> Report {
    let mut r = [0u8; REPORT_LEN];
    r[..4].copy_from_slice(&cid.to_bytes());
    r[4] = seq;
    let n = data.len().min(CONT_DATA_LEN);
    r[5..5 + n].copy_from_slice(&data[..n]);
    r
}

fn feed(dev: &mut Dev, now: u64, report: &Report) {
    dev.handle_report(now, report).unwrap();
}

fn frames(cid: Cid, cmd: Command, payload: &[u8]) -> Vec<Report> {
    split(cid, cmd, payload).unwrap().collect()
}

/// Sends a whole message at `now`.
fn send(dev: &mut Dev, now: u64, cid: Cid, cmd: Command, payload: &[u8]) {
    for r in frames(cid, cmd, payload) {
        feed(dev, now, &r);
    }
}

/// Drains the transmit queue into messages, checking the framing of every report.
fn out(dev: &mut Dev) -> Vec<Message> {
    messages(std::iter::from_fn(|| dev.poll_transmit()))
}

/// Reassembles device output, asserting each message is whole and in order.
fn messages(reports: impl IntoIterator<Item = Report>) -> Vec<Message> {
    let mut msgs = Vec::new();
    let mut asm: Option<Assembler> = None;
    for r in reports {
        let step = match (Packet::from_report(&r), asm.take()) {
            (Packet::Init(p), None) => Assembler::start(&p).unwrap(),
            (Packet::Cont(p), Some(a)) => a.push(&p).unwrap(),
            (p, a) => panic!("bad framing: {p:?} while assembling {a:?}"),
        };
        match step {
            Step::Complete(m) => msgs.push(m),
            Step::More(a) => asm = Some(a),
        }
    }
    assert!(asm.is_none(), "truncated output message");
    msgs
}

fn events(dev: &mut Dev) -> Vec<Event> {
    std::iter::from_fn(|| dev.poll_event()).collect()
}

fn msg(cid: Cid, cmd: Command, payload: &[u8]) -> Message {
    Message {
        cid,
        cmd: cmd.code(),
        payload: payload.to_vec(),
    }
}

fn error(cid: Cid, err: HidError) -> Message {
    msg(cid, Command::Error, &[err.code()])
}

fn keepalive(cid: Cid, status: KeepaliveStatus) -> Message {
    msg(cid, Command::Keepalive, &[status.code()])
}

/// INIT reply payload for `nonce` assigning `assigned`.
fn init_reply(nonce: [u8; 8], assigned: Cid) -> Vec<u8> {
    let mut v = nonce.to_vec();
    v.extend_from_slice(&assigned.to_bytes());
    v.extend_from_slice(&[2, 1, 2, 3, 0x05]);
    v
}

/// Allocates a channel through broadcast INIT.
fn open(dev: &mut Dev, now: u64) -> Cid {
    let nonce = [0xA5; 8];
    send(dev, now, Cid::BROADCAST, Command::Init, &nonce);
    let replies = out(dev);
    assert_eq!(replies.len(), 1, "{replies:?}");
    let r = &replies[0];
    assert_eq!((r.cid, r.cmd), (Cid::BROADCAST, Command::Init.code()));
    assert_eq!(r.payload.len(), 17);
    assert_eq!(&r.payload[..8], &nonce);
    Cid::from_bytes(r.payload[8..12].try_into().unwrap())
}

/// Sends a CBOR request and returns its surfaced id.
fn cbor_request(dev: &mut Dev, now: u64, cid: Cid, payload: &[u8]) -> RequestId {
    send(dev, now, cid, Command::Cbor, payload);
    match events(dev).as_slice() {
        [Event::Request(Request {
            id,
            cid: c,
            kind: RequestKind::Cbor,
            payload: p,
        })] if *c == cid && p == payload => *id,
        other => panic!("expected one CBOR request, got {other:?}"),
    }
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 253) as u8 ^ 0x5A).collect()
}

// ---------------------------------------------------------------- INIT

#[test]
fn broadcast_init_allocates_a_channel_and_echoes_the_nonce() {
    let mut dev = device();
    let nonce = [1, 2, 3, 4, 5, 6, 7, 8];
    send(&mut dev, 0, Cid::BROADCAST, Command::Init, &nonce);
    assert_eq!(
        out(&mut dev),
        vec![msg(
            Cid::BROADCAST,
            Command::Init,
            &init_reply(nonce, Cid(0x1000_0001))
        )]
    );
    assert!(dev.is_allocated(Cid(0x1000_0001)));
    assert_eq!(dev.channel_count(), 1);
    assert!(events(&mut dev).is_empty());
}

#[test]
fn init_reply_reports_version_and_capabilities() {
    let mut dev = device_with(Capabilities::CBOR.union(Capabilities::NMSG));
    send(&mut dev, 0, Cid::BROADCAST, Command::Init, &[9; 8]);
    let reply = out(&mut dev).remove(0).payload;
    // nonce(8) | CID(4) | protocol 2 | major | minor | build | capabilities
    assert_eq!(&reply[12..], &[2, 1, 2, 3, 0x0C]);
    // Default: WINK | CBOR, NMSG clear because MSG (U2F) is supported.
    assert_eq!(Capabilities::default().bits(), 0x05);
}

#[test]
fn each_broadcast_init_gets_a_distinct_channel() {
    let mut dev = device();
    let a = open(&mut dev, 0);
    let b = open(&mut dev, 1);
    assert_ne!(a, b);
    assert!(a.is_allocatable() && b.is_allocatable());
}

#[test]
fn init_on_allocated_channel_resyncs_with_the_same_cid_and_drops_the_message() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    // Start a 200-byte PING, send only its first packet.
    let ping = frames(cid, Command::Ping, &payload(200));
    feed(&mut dev, 10, &ping[0]);
    assert!(dev.is_busy());
    let nonce = [7; 8];
    send(&mut dev, 20, cid, Command::Init, &nonce);
    assert_eq!(
        out(&mut dev),
        vec![msg(cid, Command::Init, &init_reply(nonce, cid))]
    );
    assert!(!dev.is_busy());
    // The rest of the old message is now spurious and ignored.
    for r in &ping[1..] {
        feed(&mut dev, 30, r);
    }
    assert!(out(&mut dev).is_empty());
    assert_eq!(dev.channel_count(), 1);
}

#[test]
fn init_resync_aborts_a_pending_request() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let id = cbor_request(&mut dev, 0, cid, &[0x04]);
    send(&mut dev, 10, cid, Command::Init, &[3; 8]);
    assert_eq!(events(&mut dev), vec![Event::Aborted { id, cid }]);
    assert_eq!(
        out(&mut dev),
        vec![msg(cid, Command::Init, &init_reply([3; 8], cid))]
    );
    // The late answer cannot land on anything.
    assert_eq!(dev.respond(id, &[0]), Err(RespondError::NotPending(id)));
    assert!(out(&mut dev).is_empty());
    // And the channel works again.
    let id2 = cbor_request(&mut dev, 20, cid, &[0x04]);
    assert_ne!(id, id2);
}

#[test]
fn init_with_wrong_length_is_invalid_len() {
    let mut dev = device();
    for len in [0usize, 7, 9, 57] {
        send(&mut dev, 0, Cid::BROADCAST, Command::Init, &payload(len));
        assert_eq!(
            out(&mut dev),
            vec![error(Cid::BROADCAST, HidError::InvalidLen)],
            "{len}"
        );
    }
    assert_eq!(dev.channel_count(), 0);
}

#[test]
fn cid_source_returning_reserved_values_still_yields_valid_cids() {
    let mut dev = Hid::new(Config::default(), || 0u32);
    let mut seen = Vec::new();
    for _ in 0..5 {
        feed_raw(&mut dev, &frames(Cid::BROADCAST, Command::Init, &[0; 8])[0]);
        let r = dev.poll_transmit().unwrap();
        let cid = Cid::from_bytes(r[15..19].try_into().unwrap());
        assert!(cid.is_allocatable() && !seen.contains(&cid), "{cid}");
        seen.push(cid);
    }

    fn feed_raw<C: CidSource>(dev: &mut Hid<C>, r: &Report) {
        dev.handle_report(0, r).unwrap();
    }
}

#[test]
fn channel_table_is_bounded_and_forgets_the_least_recently_used() {
    let mut dev = device();
    let first = open(&mut dev, 0);
    let second = open(&mut dev, 0);
    for _ in 2..MAX_CHANNELS {
        open(&mut dev, 0);
    }
    assert_eq!(dev.channel_count(), MAX_CHANNELS);
    // Use `first`, so `second` is now the least recently used.
    send(&mut dev, 1, first, Command::Ping, &[1]);
    out(&mut dev);
    let newest = open(&mut dev, 2);
    assert_eq!(dev.channel_count(), MAX_CHANNELS);
    assert!(dev.is_allocated(first) && dev.is_allocated(newest));
    assert!(!dev.is_allocated(second));
    send(&mut dev, 3, second, Command::Ping, &[1]);
    assert_eq!(out(&mut dev), vec![error(second, HidError::InvalidChannel)]);
}

// ---------------------------------------------------------------- PING, WINK, MSG, CBOR

#[test]
fn ping_echoes_the_largest_message() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let data = payload(MAX_MESSAGE_LEN);
    let reports = frames(cid, Command::Ping, &data);
    assert_eq!(reports.len(), 129);
    for (i, r) in reports.iter().enumerate() {
        feed(&mut dev, i as u64, r);
        if i + 1 < reports.len() {
            assert!(dev.is_busy());
        }
    }
    assert!(!dev.is_busy());
    assert_eq!(out(&mut dev), vec![msg(cid, Command::Ping, &data)]);
}

#[test]
fn ping_with_empty_payload() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    send(&mut dev, 0, cid, Command::Ping, &[]);
    assert_eq!(out(&mut dev), vec![msg(cid, Command::Ping, &[])]);
}

#[test]
fn wink_is_answered_empty_and_surfaced() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    send(&mut dev, 0, cid, Command::Wink, &[]);
    assert_eq!(out(&mut dev), vec![msg(cid, Command::Wink, &[])]);
    assert_eq!(events(&mut dev), vec![Event::Wink { cid }]);
    assert!(!dev.is_busy());
}

#[test]
fn msg_request_is_surfaced_and_answered_with_msg() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let apdu = payload(100);
    send(&mut dev, 0, cid, Command::Msg, &apdu);
    let [Event::Request(req)]: [Event; 1] = events(&mut dev).try_into().unwrap() else {
        panic!("expected a request");
    };
    assert_eq!(
        (req.cid, req.kind, &req.payload),
        (cid, RequestKind::Msg, &apdu)
    );
    assert!(dev.is_busy());
    // No KEEPALIVE for U2F.
    assert_eq!(dev.poll_timeout(), None);
    dev.handle_timeout(1_000);
    assert!(out(&mut dev).is_empty());
    dev.respond(req.id, &[0x69, 0x85]).unwrap();
    assert_eq!(out(&mut dev), vec![msg(cid, Command::Msg, &[0x69, 0x85])]);
    assert!(!dev.is_busy());
    assert_eq!(
        dev.respond(req.id, &[0x90, 0x00]),
        Err(RespondError::NotPending(req.id))
    );
}

#[test]
fn multi_packet_cbor_request_and_response() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let req = payload(1000);
    let id = cbor_request(&mut dev, 0, cid, &req);
    let resp = payload(3000);
    dev.respond(id, &resp).unwrap();
    assert_eq!(out(&mut dev), vec![msg(cid, Command::Cbor, &resp)]);
}

#[test]
fn not_advertised_commands_are_refused() {
    let mut dev = device_with(Capabilities::NMSG);
    let cid = open(&mut dev, 0);
    for cmd in [Command::Msg, Command::Cbor, Command::Wink] {
        send(&mut dev, 0, cid, cmd, &[]);
        assert_eq!(out(&mut dev), vec![error(cid, HidError::InvalidCmd)]);
    }
    assert!(events(&mut dev).is_empty());
}

// ---------------------------------------------------------------- every HID error code

#[test]
fn invalid_cmd_for_unknown_vendor_and_device_to_host_commands() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    for cmd in [0x00, 0x02, 0x05, 0x12, 0x3B, 0x3F, 0x40, 0x50, 0x7F] {
        feed(&mut dev, 0, &raw_init(cid, cmd, 0, &[]));
        assert_eq!(
            out(&mut dev),
            vec![error(cid, HidError::InvalidCmd)],
            "{cmd:#x}"
        );
    }
    assert!(!dev.is_busy());
}

#[test]
fn invalid_par_for_lock_over_ten_seconds() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    for secs in [11u8, 0x80, 0xFF] {
        send(&mut dev, 0, cid, Command::Lock, &[secs]);
        assert_eq!(out(&mut dev), vec![error(cid, HidError::InvalidPar)]);
    }
    assert_eq!(dev.lock_holder(0), None);
}

#[test]
fn invalid_len_for_bcnt_over_maximum_and_bad_command_lengths() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    for bcnt in [7610u16, 8000, u16::MAX] {
        feed(&mut dev, 0, &raw_init(cid, Command::Ping.code(), bcnt, &[]));
        assert_eq!(out(&mut dev), vec![error(cid, HidError::InvalidLen)]);
        assert!(!dev.is_busy());
    }
    send(&mut dev, 0, cid, Command::Lock, &[1, 2]);
    assert_eq!(out(&mut dev), vec![error(cid, HidError::InvalidLen)]);
    send(&mut dev, 0, cid, Command::Lock, &[]);
    assert_eq!(out(&mut dev), vec![error(cid, HidError::InvalidLen)]);
    send(&mut dev, 0, cid, Command::Wink, &[1]);
    assert_eq!(out(&mut dev), vec![error(cid, HidError::InvalidLen)]);
    // 7609 itself is fine.
    feed(&mut dev, 0, &raw_init(cid, Command::Ping.code(), 7609, &[]));
    assert!(out(&mut dev).is_empty());
    assert!(dev.is_busy());
}

#[test]
fn invalid_seq_for_out_of_order_continuation() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let ping = frames(cid, Command::Ping, &payload(200));
    assert_eq!(ping.len(), 4);
    feed(&mut dev, 0, &ping[0]);
    feed(&mut dev, 0, &ping[1]); // SEQ 0
    feed(&mut dev, 0, &ping[3]); // SEQ 2, expected 1
    assert_eq!(out(&mut dev), vec![error(cid, HidError::InvalidSeq)]);
    assert!(!dev.is_busy());
    // The message is gone: the late SEQ 1 is ignored.
    feed(&mut dev, 0, &ping[2]);
    assert!(out(&mut dev).is_empty());
}

#[test]
fn invalid_seq_for_a_new_request_mid_message() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let ping = frames(cid, Command::Ping, &payload(100));
    feed(&mut dev, 0, &ping[0]);
    send(&mut dev, 0, cid, Command::Ping, &[1]);
    assert_eq!(out(&mut dev), vec![error(cid, HidError::InvalidSeq)]);
    assert!(!dev.is_busy());
}

#[test]
fn msg_timeout_after_500_ms_of_silence_mid_message() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let ping = frames(cid, Command::Ping, &payload(300));
    feed(&mut dev, 1_000, &ping[0]);
    assert_eq!(dev.poll_timeout(), Some(1_500));
    dev.handle_timeout(1_499);
    assert!(out(&mut dev).is_empty());
    // Each continuation restarts the timer.
    feed(&mut dev, 1_499, &ping[1]);
    assert_eq!(dev.poll_timeout(), Some(1_999));
    for now in (1_500..1_999).step_by(50) {
        dev.handle_timeout(now);
        assert!(out(&mut dev).is_empty(), "{now}");
    }
    dev.handle_timeout(1_999);
    assert_eq!(out(&mut dev), vec![error(cid, HidError::MsgTimeout)]);
    assert!(!dev.is_busy());
    assert_eq!(dev.poll_timeout(), None);
    // The rest is spurious now.
    feed(&mut dev, 2_000, &ping[2]);
    assert!(out(&mut dev).is_empty());
}

#[test]
fn msg_timeout_also_fires_when_the_next_report_is_late() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let ping = frames(cid, Command::Ping, &payload(100));
    feed(&mut dev, 0, &ping[0]);
    // The driver missed the timer; the late continuation finds the message already gone.
    feed(&mut dev, 600, &ping[1]);
    assert_eq!(out(&mut dev), vec![error(cid, HidError::MsgTimeout)]);
}

#[test]
fn channel_busy_for_another_channel_while_one_assembles() {
    let mut dev = device();
    let a = open(&mut dev, 0);
    let b = open(&mut dev, 0);
    let ping = frames(a, Command::Ping, &payload(100));
    feed(&mut dev, 0, &ping[0]);
    send(&mut dev, 1, b, Command::Ping, &[1]);
    assert_eq!(out(&mut dev), vec![error(b, HidError::ChannelBusy)]);
    // Broadcast INIT is another channel too.
    send(&mut dev, 1, Cid::BROADCAST, Command::Init, &[0; 8]);
    assert_eq!(
        out(&mut dev),
        vec![error(Cid::BROADCAST, HidError::ChannelBusy)]
    );
    // Continuation packets from another channel are ignored, and A finishes undisturbed.
    feed(&mut dev, 2, &raw_cont(b, 0, &[0xEE; 59]));
    assert!(out(&mut dev).is_empty());
    feed(&mut dev, 3, &ping[1]);
    assert_eq!(out(&mut dev), vec![msg(a, Command::Ping, &payload(100))]);
}

#[test]
fn channel_busy_while_a_request_is_processed() {
    let mut dev = device();
    let a = open(&mut dev, 0);
    let b = open(&mut dev, 0);
    let id = cbor_request(&mut dev, 0, a, &[0x01]);
    send(&mut dev, 1, b, Command::Cbor, &[0x04]);
    assert_eq!(out(&mut dev), vec![error(b, HidError::ChannelBusy)]);
    // A second request on the same channel is refused too, and the first stays pending.
    send(&mut dev, 1, a, Command::Cbor, &[0x04]);
    assert_eq!(out(&mut dev), vec![error(a, HidError::ChannelBusy)]);
    assert!(events(&mut dev).is_empty());
    dev.respond(id, &[0]).unwrap();
    assert_eq!(out(&mut dev), vec![msg(a, Command::Cbor, &[0])]);
    send(&mut dev, 2, b, Command::Ping, &[5]);
    assert_eq!(out(&mut dev), vec![msg(b, Command::Ping, &[5])]);
}

#[test]
fn lock_required_has_its_wire_code_and_no_trigger() {
    // No standard CTAPHID command needs a lock, so the machine never sends 0x0A; the code is
    // still recognised both ways for clients parsing device errors.
    assert_eq!(HidError::LockRequired.code(), 0x0A);
    assert_eq!(HidError::from_code(0x0A), Some(HidError::LockRequired));
}

#[test]
fn invalid_channel_for_reserved_unallocated_and_broadcast_non_init() {
    let mut dev = device();
    send(&mut dev, 0, Cid(0x1234_5678), Command::Ping, &[1]);
    assert_eq!(
        out(&mut dev),
        vec![error(Cid(0x1234_5678), HidError::InvalidChannel)]
    );
    // INIT on an unallocated CID is not an allocation.
    send(&mut dev, 0, Cid(0x1234_5678), Command::Init, &[0; 8]);
    assert_eq!(
        out(&mut dev),
        vec![error(Cid(0x1234_5678), HidError::InvalidChannel)]
    );
    send(&mut dev, 0, Cid::RESERVED, Command::Init, &[0; 8]);
    assert_eq!(
        out(&mut dev),
        vec![error(Cid::RESERVED, HidError::InvalidChannel)]
    );
    for cmd in [
        Command::Ping,
        Command::Msg,
        Command::Cbor,
        Command::Lock,
        Command::Wink,
    ] {
        let data: &[u8] = if cmd == Command::Lock { &[1] } else { &[] };
        send(&mut dev, 0, Cid::BROADCAST, cmd, data);
        assert_eq!(
            out(&mut dev),
            vec![error(Cid::BROADCAST, HidError::InvalidChannel)],
            "{cmd:?}"
        );
    }
    assert_eq!(dev.channel_count(), 0);
    assert!(events(&mut dev).is_empty());
}

#[test]
fn other_for_a_response_too_large_to_frame() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let id = cbor_request(&mut dev, 0, cid, &[0x04]);
    assert_eq!(
        dev.respond(id, &payload(MAX_MESSAGE_LEN + 1)),
        Err(RespondError::TooLong { len: 7610 })
    );
    assert_eq!(out(&mut dev), vec![error(cid, HidError::Other)]);
    assert!(!dev.is_busy());
}

#[test]
fn error_codes_are_the_spec_values() {
    let table = [
        (HidError::InvalidCmd, 0x01),
        (HidError::InvalidPar, 0x02),
        (HidError::InvalidLen, 0x03),
        (HidError::InvalidSeq, 0x04),
        (HidError::MsgTimeout, 0x05),
        (HidError::ChannelBusy, 0x06),
        (HidError::LockRequired, 0x0A),
        (HidError::InvalidChannel, 0x0B),
        (HidError::Other, 0x7F),
    ];
    for (err, code) in table {
        assert_eq!(err.code(), code);
        assert_eq!(HidError::from_code(code), Some(err));
    }
    for (cmd, code) in [
        (Command::Ping, 0x01),
        (Command::Msg, 0x03),
        (Command::Lock, 0x04),
        (Command::Init, 0x06),
        (Command::Wink, 0x08),
        (Command::Cbor, 0x10),
        (Command::Cancel, 0x11),
        (Command::Keepalive, 0x3B),
        (Command::Error, 0x3F),
    ] {
        assert_eq!(cmd.code(), code);
        assert_eq!(Command::from_code(code | 0x80), Some(cmd));
    }
}

// ---------------------------------------------------------------- KEEPALIVE

#[test]
fn keepalive_at_least_every_100_ms_while_processing() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let id = cbor_request(&mut dev, 0, cid, &[0x01]);
    let mut sent_at = vec![0u64]; // the request itself
    let mut now = 0;
    while now < 3_000 {
        now += 50;
        dev.handle_timeout(now);
        for m in out(&mut dev) {
            assert_eq!(m, keepalive(cid, KeepaliveStatus::Processing), "{now}");
            sent_at.push(now);
        }
    }
    assert!(sent_at.len() >= 30, "{sent_at:?}");
    for gap in sent_at.windows(2) {
        assert!(gap[1] - gap[0] <= 100, "gap {gap:?}");
    }
    dev.respond(id, &[0]).unwrap();
    out(&mut dev);
    assert_eq!(dev.poll_timeout(), None);
    dev.handle_timeout(now + 1_000);
    assert!(out(&mut dev).is_empty(), "no KEEPALIVE after the response");
}

#[test]
fn keepalive_carries_the_status_and_a_change_is_sent_at_once() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let id = cbor_request(&mut dev, 0, cid, &[0x01]);
    dev.set_keepalive_status(10, id, KeepaliveStatus::UpNeeded)
        .unwrap();
    assert_eq!(
        out(&mut dev),
        vec![keepalive(cid, KeepaliveStatus::UpNeeded)]
    );
    // Same status again: no extra report.
    dev.set_keepalive_status(20, id, KeepaliveStatus::UpNeeded)
        .unwrap();
    assert!(out(&mut dev).is_empty());
    let due = dev.poll_timeout().unwrap();
    assert!(due <= 110, "{due}");
    dev.handle_timeout(due);
    assert_eq!(
        out(&mut dev),
        vec![keepalive(cid, KeepaliveStatus::UpNeeded)]
    );
    // Raw bytes: KEEPALIVE 0xBB, BCNT 1, status 2.
    dev.handle_timeout(due + KEEPALIVE_INTERVAL_MS);
    let r = dev.poll_transmit().unwrap();
    assert_eq!(&r[4..8], &[0xBB, 0, 1, 2]);
    assert_eq!(
        dev.set_keepalive_status(0, RequestId(999), KeepaliveStatus::Processing),
        Err(RespondError::NotPending(RequestId(999)))
    );
}

#[test]
fn poll_timeout_drives_keepalives_exactly() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    cbor_request(&mut dev, 1_000, cid, &[0x01]);
    let mut last = 1_000;
    for _ in 0..20 {
        let due = dev.poll_timeout().unwrap();
        assert!(due - last <= 100);
        dev.handle_timeout(due);
        assert_eq!(
            out(&mut dev),
            vec![keepalive(cid, KeepaliveStatus::Processing)]
        );
        last = due;
    }
}

// ---------------------------------------------------------------- CANCEL

#[test]
fn cancel_on_pending_cbor_surfaces_cancel_and_the_app_answers_0x2d() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let id = cbor_request(&mut dev, 0, cid, &[0x01]);
    dev.set_keepalive_status(0, id, KeepaliveStatus::UpNeeded)
        .unwrap();
    out(&mut dev);
    send(&mut dev, 30, cid, Command::Cancel, &[]);
    assert!(out(&mut dev).is_empty(), "CANCEL gets no reply of its own");
    assert_eq!(events(&mut dev), vec![Event::Cancel { id, cid }]);
    // A repeated CANCEL does not repeat the event.
    send(&mut dev, 31, cid, Command::Cancel, &[]);
    assert!(events(&mut dev).is_empty());
    dev.respond(id, &[CTAP2_ERR_KEEPALIVE_CANCEL]).unwrap();
    assert_eq!(out(&mut dev), vec![msg(cid, Command::Cbor, &[0x2D])]);
    assert!(!dev.is_busy());
}

#[test]
fn cancel_with_nothing_pending_is_ignored() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    send(&mut dev, 0, cid, Command::Cancel, &[]);
    // Even on unknown, reserved and broadcast channels, CANCEL is never answered.
    for c in [Cid(0x0BAD_0BAD), Cid::RESERVED, Cid::BROADCAST] {
        send(&mut dev, 0, c, Command::Cancel, &[]);
    }
    assert!(out(&mut dev).is_empty());
    assert!(events(&mut dev).is_empty());
    assert!(!dev.is_busy());
}

#[test]
fn cancel_from_another_channel_is_ignored() {
    let mut dev = device();
    let a = open(&mut dev, 0);
    let b = open(&mut dev, 0);
    let id = cbor_request(&mut dev, 0, a, &[0x01]);
    send(&mut dev, 10, b, Command::Cancel, &[]);
    assert!(out(&mut dev).is_empty(), "no CHANNEL_BUSY for CANCEL");
    assert!(events(&mut dev).is_empty());
    dev.respond(id, &[0x00, 0xA0]).unwrap();
    assert_eq!(out(&mut dev), vec![msg(a, Command::Cbor, &[0x00, 0xA0])]);
}

#[test]
fn cancel_does_not_touch_a_pending_msg_request() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    send(&mut dev, 0, cid, Command::Msg, &[0, 1, 0, 0]);
    let [Event::Request(req)]: [Event; 1] = events(&mut dev).try_into().unwrap() else {
        panic!("expected a request");
    };
    send(&mut dev, 1, cid, Command::Cancel, &[]);
    assert!(events(&mut dev).is_empty());
    assert!(out(&mut dev).is_empty());
    dev.respond(req.id, &[0x90, 0x00]).unwrap();
    assert_eq!(out(&mut dev), vec![msg(cid, Command::Msg, &[0x90, 0x00])]);
}

#[test]
fn cancel_mid_message_drops_the_partial_message_silently() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let cbor = frames(cid, Command::Cbor, &payload(100));
    feed(&mut dev, 0, &cbor[0]);
    send(&mut dev, 1, cid, Command::Cancel, &[]);
    assert!(!dev.is_busy());
    feed(&mut dev, 2, &cbor[1]);
    assert!(out(&mut dev).is_empty());
    assert!(events(&mut dev).is_empty());
}

// ---------------------------------------------------------------- LOCK

#[test]
fn lock_blocks_other_channels_until_it_expires() {
    let mut dev = device();
    let a = open(&mut dev, 0);
    let b = open(&mut dev, 0);
    send(&mut dev, 1_000, a, Command::Lock, &[3]);
    assert_eq!(out(&mut dev), vec![msg(a, Command::Lock, &[])]);
    assert_eq!(dev.lock_holder(1_000), Some(a));
    // Others are busy, broadcast INIT included; the holder works normally.
    send(&mut dev, 2_000, b, Command::Ping, &[1]);
    assert_eq!(out(&mut dev), vec![error(b, HidError::ChannelBusy)]);
    send(&mut dev, 2_000, Cid::BROADCAST, Command::Init, &[0; 8]);
    assert_eq!(
        out(&mut dev),
        vec![error(Cid::BROADCAST, HidError::ChannelBusy)]
    );
    send(&mut dev, 2_000, a, Command::Ping, &[2]);
    assert_eq!(out(&mut dev), vec![msg(a, Command::Ping, &[2])]);
    send(&mut dev, 3_999, b, Command::Ping, &[1]);
    assert_eq!(out(&mut dev), vec![error(b, HidError::ChannelBusy)]);
    // Three seconds after the LOCK, it is gone.
    send(&mut dev, 4_000, b, Command::Ping, &[3]);
    assert_eq!(out(&mut dev), vec![msg(b, Command::Ping, &[3])]);
    assert_eq!(dev.lock_holder(4_000), None);
}

#[test]
fn lock_zero_releases_and_the_holder_can_extend() {
    let mut dev = device();
    let a = open(&mut dev, 0);
    let b = open(&mut dev, 0);
    send(&mut dev, 0, a, Command::Lock, &[1]);
    send(&mut dev, 900, a, Command::Lock, &[10]);
    assert_eq!(out(&mut dev).len(), 2);
    assert_eq!(dev.lock_holder(10_899), Some(a));
    assert_eq!(dev.lock_holder(10_900), None);
    send(&mut dev, 1_000, a, Command::Lock, &[0]);
    assert_eq!(out(&mut dev), vec![msg(a, Command::Lock, &[])]);
    assert_eq!(dev.lock_holder(1_000), None);
    send(&mut dev, 1_000, b, Command::Ping, &[4]);
    assert_eq!(out(&mut dev), vec![msg(b, Command::Ping, &[4])]);
}

#[test]
fn lock_holder_survives_channel_eviction() {
    let mut dev = device();
    let holder = open(&mut dev, 0);
    send(&mut dev, 0, holder, Command::Lock, &[10]);
    out(&mut dev);
    // Everyone else is busy, so no allocation can evict the holder while it holds the lock.
    for _ in 0..MAX_CHANNELS {
        send(&mut dev, 1, Cid::BROADCAST, Command::Init, &[0; 8]);
    }
    assert!(dev.is_allocated(holder));
    assert_eq!(dev.channel_count(), 1);
}

// ---------------------------------------------------------------- robustness

#[test]
fn reports_of_the_wrong_length_are_refused_without_effect() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    for len in [0usize, 1, 63, 65, 4096] {
        let mut r = vec![0u8; len];
        if len > 5 {
            r[..4].copy_from_slice(&cid.to_bytes());
            r[4] = 0x81;
        }
        assert_eq!(
            dev.handle_report(0, &r),
            Err(PacketError::ReportLength(len))
        );
    }
    assert!(out(&mut dev).is_empty());
}

#[test]
fn continuation_without_a_transaction_is_ignored() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    for c in [cid, Cid::BROADCAST, Cid::RESERVED, Cid(42)] {
        feed(&mut dev, 0, &raw_cont(c, 0, &[1; 59]));
    }
    assert!(out(&mut dev).is_empty());
    assert!(!dev.is_busy());
}

#[test]
fn undrained_queues_stay_bounded() {
    let mut dev = device();
    let cid = open(&mut dev, 0);
    let data = payload(MAX_MESSAGE_LEN);
    for _ in 0..20 {
        send(&mut dev, 0, cid, Command::Ping, &data);
    }
    assert_eq!(dev.dropped(), 12);
    assert_eq!(out(&mut dev).len(), 8, "whole messages only");
}

/// xorshift64: a tiny deterministic PRNG for the tests.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }
}

/// Every message the device sends is a known device-to-host command; errors carry a defined code.
fn check_messages(msgs: &[Message]) {
    for m in msgs {
        let cmd = Command::from_code(m.cmd).expect("device sends known commands only");
        assert!(
            matches!(
                cmd,
                Command::Ping
                    | Command::Msg
                    | Command::Lock
                    | Command::Init
                    | Command::Wink
                    | Command::Cbor
                    | Command::Keepalive
                    | Command::Error
            ),
            "{cmd:?}"
        );
        if cmd == Command::Error {
            assert_eq!(m.payload.len(), 1);
            assert!(HidError::from_code(m.payload[0]).is_some());
        }
    }
}

#[test]
fn ten_thousand_random_reports_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut dev = device();
    let mut now = 0u64;
    for _ in 0..10_000 {
        let mut r = [0u8; REPORT_LEN];
        rng.fill(&mut r);
        now += rng.below(200);
        feed(&mut dev, now, &r);
        check_messages(&out(&mut dev));
        events(&mut dev);
    }
}

#[test]
fn ten_thousand_structured_random_reports_never_panic() {
    // Random reports aimed at live channels and real commands, with random timer calls and
    // random answers, so the deep states (assembling, processing, locked, cancelled) get hit.
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let mut dev = device();
    let mut now = 0u64;
    let mut cids = vec![Cid::BROADCAST, Cid::RESERVED];
    let mut pending = Vec::new();
    let mut outputs = 0;
    let cmds = [0x01u8, 0x03, 0x04, 0x06, 0x08, 0x10, 0x11, 0x3B, 0x3F, 0x55];
    for _ in 0..10_000 {
        let mut r = [0u8; REPORT_LEN];
        rng.fill(&mut r);
        let cid = cids[rng.below(cids.len() as u64) as usize];
        r[..4].copy_from_slice(&cid.to_bytes());
        match rng.below(3) {
            0 => {
                r[4] = 0x80 | cmds[rng.below(cmds.len() as u64) as usize];
                let bcnt = match rng.below(4) {
                    0 => 8,
                    1 => rng.below(3) as u16,
                    2 => rng.below(400) as u16,
                    _ => rng.below(9000) as u16,
                };
                r[5..7].copy_from_slice(&bcnt.to_be_bytes());
            }
            1 => r[4] = rng.below(6) as u8,
            _ => {}
        }
        now += rng.below(120);
        feed(&mut dev, now, &r);
        if rng.below(4) == 0 {
            dev.handle_timeout(now);
        }
        for e in events(&mut dev) {
            if let Event::Request(req) = e {
                pending.push(req.id);
            }
        }
        if let Some(&id) = pending.last() {
            match rng.below(6) {
                0 => {
                    let mut resp = vec![0u8; rng.below(300) as usize];
                    rng.fill(&mut resp);
                    let _ = dev.respond(id, &resp);
                }
                1 => {
                    let _ = dev.set_keepalive_status(now, id, KeepaliveStatus::UpNeeded);
                }
                _ => {}
            }
        }
        // Learn new channels from INIT replies so later packets hit them.
        let mut sent = Vec::new();
        while let Some(rep) = dev.poll_transmit() {
            sent.push(rep);
        }
        for rep in &sent {
            if rep[4] == 0x86 && rep[5..7] == [0, 17] {
                let new = Cid::from_bytes(rep[15..19].try_into().unwrap());
                if !cids.contains(&new) {
                    cids.push(new);
                }
            }
        }
        outputs += sent.len();
        check_messages(&messages(sent));
        assert!(dev.channel_count() <= MAX_CHANNELS);
    }
    assert!(outputs > 1_000, "the structured run reached the machine");
    assert!(cids.len() > 2, "some channels were allocated");
}
