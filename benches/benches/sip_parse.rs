//! SIP parse + serialise: Switchboard's path (`switchboard_sip::message::{parse, serialize}`,
//! i.e. framing checks, the rsip fork, RFC 3261 validation, Content-Length rewrite) beside plain
//! upstream rsip 0.4.0 (`SipMessage::try_from` + `to_string`) on the same ~1 KB trunk INVITE.
//!
//! `fork_rsip_parse_only` is the rsip fork's parser alone, to show what our checks cost.
//!
//! Run: `cargo bench -p switchboard-benches --bench sip_parse -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs)] // criterion_main! generates an undocumented `main`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard_sip::message::{Limits, parse, serialize};

/// An INVITE as an Asterisk-fronted carrier trunk sends it: long Via branch, P-Asserted-Identity,
/// Remote-Party-ID, Allow/Supported lists, Session-Expires, and a G.711 + telephone-event offer.
const SDP: &str = "v=0\r\n\
o=- 1871398021 1871398021 IN IP4 203.0.113.10\r\n\
s=Asterisk\r\n\
c=IN IP4 203.0.113.10\r\n\
t=0 0\r\n\
m=audio 17072 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=maxptime:150\r\n\
a=sendrecv\r\n";

fn invite() -> Vec<u8> {
    let head = format!(
        "INVITE sip:+14155550123@198.51.100.20:5060;transport=udp SIP/2.0\r\n\
Via: SIP/2.0/UDP 203.0.113.10:5060;rport;branch=z9hG4bKPj5a7e3c1d-8f2b-4c6e-9a1d-3b5f7e9c2a4d\r\n\
From: \"ACME Support\" <sip:+14155550100@203.0.113.10>;tag=8c1f5e2a-6b3d-4f7e-a9c2-1d4e6f8b0a3c\r\n\
To: <sip:+14155550123@198.51.100.20>\r\n\
Contact: <sip:+14155550100@203.0.113.10:5060>\r\n\
Call-ID: 3f9b2d7e-1c4a-4e8f-b6d2-9a5c7e1f3b8d\r\n\
CSeq: 21364 INVITE\r\n\
Allow: OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, MESSAGE, REFER\r\n\
Supported: 100rel, timer, replaces, norefersub\r\n\
Session-Expires: 1800\r\n\
Min-SE: 90\r\n\
P-Asserted-Identity: \"ACME Support\" <sip:+14155550100@203.0.113.10>\r\n\
Remote-Party-ID: \"ACME Support\" <sip:+14155550100@203.0.113.10>;party=calling;privacy=off;screen=no\r\n\
Max-Forwards: 70\r\n\
User-Agent: Asterisk PBX 20.5.0\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n",
        SDP.len()
    );
    [head.as_bytes(), SDP.as_bytes()].concat()
}

fn bench(c: &mut Criterion) {
    let raw = invite();
    let limits = Limits::default();
    assert!(parse(&raw, &limits).is_ok(), "our path parses the INVITE");
    assert!(
        rsip_upstream::SipMessage::try_from(raw.as_slice()).is_ok(),
        "upstream parses the INVITE"
    );
    println!("INVITE size: {} bytes", raw.len());

    let mut group = c.benchmark_group("sip_parse");
    group.throughput(criterion::Throughput::Bytes(raw.len() as u64));
    group.bench_function("switchboard_parse", |b| {
        b.iter(|| parse(black_box(&raw), &limits))
    });
    group.bench_function("upstream_rsip_parse", |b| {
        b.iter(|| rsip_upstream::SipMessage::try_from(black_box(raw.as_slice())))
    });
    group.bench_function("fork_rsip_parse_only", |b| {
        b.iter(|| rsip::SipMessage::try_from(black_box(raw.as_slice())))
    });
    group.bench_function("switchboard_parse_serialize", |b| {
        b.iter(|| {
            let message = parse(black_box(&raw), &limits).expect("parses");
            serialize(&message)
        })
    });
    group.bench_function("upstream_rsip_parse_serialize", |b| {
        b.iter(|| {
            let message =
                rsip_upstream::SipMessage::try_from(black_box(raw.as_slice())).expect("parses");
            bytes::Bytes::from(message.to_string())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
