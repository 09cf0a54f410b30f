//! Seed corpora: the repository's own test data (RFC 4475 torture messages, the SDP corpus of
//! real phones and PBXes, the shipped configuration and IVR flows) plus a few inline inputs
//! for the surfaces that have no files.

use std::fs;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file in `dir` (relative to the repository root) whose name ends in `suffix`, sorted.
fn files(dir: &str, suffix: &str) -> Vec<Vec<u8>> {
    let Ok(entries) = fs::read_dir(repo_root().join(dir)) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    paths.sort();
    paths.into_iter().filter_map(|p| fs::read(p).ok()).collect()
}

const INVITE: &[u8] = b"INVITE sip:201@192.0.2.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Trunk\" <sip:+15551234@192.0.2.10>;tag=a1\r\n\
To: <sip:201@192.0.2.1>\r\n\
Call-ID: seed-1@192.0.2.10\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:+15551234@192.0.2.10:5060;transport=udp>\r\n\
Record-Route: <sip:proxy.example;lr>, <sip:edge.example;lr>\r\n\
Session-Expires: 1800;refresher=uac\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 124\r\n\r\n\
v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

const REFER: &[u8] = b"REFER sip:agent@192.0.2.30 SIP/2.0\r\n\
v: SIP/2.0/TCP 192.0.2.30;branch=z9hG4bK-2\r\n\
f: <sip:agent@192.0.2.30>;tag=b2\r\n\
t: <sip:sb@192.0.2.1>;tag=c3\r\n\
i: seed-2\r\n\
CSeq: 5 REFER\r\n\
Refer-To: <sip:bob@192.0.2.40?Replaces=abc%40x%3Bto-tag%3D1%3Bfrom-tag%3D2>\r\n\
l: 0\r\n\r\n";

const OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-3;received=192.0.2.1\r\n\
From: <sip:sb@192.0.2.1>;tag=d4\r\n\
To: <sip:201@192.0.2.30>;tag=e5\r\n\
Call-ID: seed-3\r\n\
CSeq: 2 OPTIONS\r\n\
Expires: 60\r\n\
Content-Length: 0\r\n\r\n";

const AUTHORIZATIONS: &[&str] = &[
    "Digest username=\"alice\", realm=\"switchboard\", nonce=\"MTcwMDAwMDAwMA.abc\", uri=\"sip:switchboard\", response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5",
    "Digest username=\"alice\", realm=\"switchboard\", nonce=\"n\", uri=\"sip:switchboard\", response=\"00\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"0a4f113b\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
    "Digest username=\"a\\\"b\", realm=\"switchboard\", nonce=\"n\", uri=\"sip:x\", response=\"1\", algorithm=MD5-sess, qop=auth, nc=ffffffff, cnonce=\"c\"",
    "Digest username=bob,realm=switchboard,nonce=x,uri=sip:x,response=y",
    "Basic YWxpY2U6c2VjcmV0",
];

const FLOW_SCRIPT: &[u8] = b"\x10\x01\x13\x10\x02\x03\x11\x13\x13\x10\x0b\x13";

fn rtp(payload_type: u8, sequence: u16, timestamp: u32, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0x80, payload_type];
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(&timestamp.to_be_bytes());
    packet.extend_from_slice(&0x0000_0009u32.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// Records for the `rtp_rtcp` target: `[flags, len, bytes]`.
fn rtp_script() -> Vec<u8> {
    let mut script = Vec::new();
    let mut push = |flags: u8, packet: &[u8]| {
        script.push(flags);
        script.push(packet.len().min(255) as u8);
        script.extend_from_slice(packet.get(..packet.len().min(255)).unwrap_or_default());
    };
    for i in 0..4u16 {
        push(2, &rtp(8, 1 + i, 160 * u32::from(i), &[0xD5; 40]));
    }
    push(0, &rtp(0x80 | 101, 5, 640, &[5, 0x0A, 0, 160]));
    push(2, &rtp(101, 6, 640, &[5, 0x8A, 1, 64]));
    // RTCP: SR with one report block, then SDES CNAME, then BYE.
    let mut sr = vec![0x81, 200, 0, 12];
    sr.extend_from_slice(&9u32.to_be_bytes());
    sr.extend_from_slice(&[0; 20]);
    sr.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    sr.extend_from_slice(&[0; 20]);
    sr.extend_from_slice(&[
        0x81, 202, 0, 3, 0, 0, 0, 9, 1, 4, b'p', b'e', b'e', b'r', 0, 0,
    ]);
    push(1, &sr);
    push(0x1F, &[0x81, 203, 0, 1, 0, 0, 0, 9]);
    push(0x21, &rtp(8, 7, 800, &[0x55; 160]));
    script
}

fn dtmf_script() -> Vec<u8> {
    let mut script = Vec::new();
    for (stamp, event) in [
        (1u16, [1u8, 0x0A, 0, 160]),
        (1, [1, 0x8A, 3, 32]),
        (1, [1, 0x8A, 3, 32]),
        (9, [11, 0x0A, 0xFF, 0xFF]),
        (20, [11, 0x0A, 0, 80]),
        (3, [4, 0x8A, 0, 160]),
    ] {
        script.extend_from_slice(&stamp.to_be_bytes());
        script.extend_from_slice(&event);
    }
    script
}

/// The seed inputs of the target called `name` (empty for an unknown name), followed by every
/// input a fuzzing run once failed on (`crates/fuzzing/regressions/<name>/`, kept byte-exact).
pub fn seeds(name: &str) -> Vec<Vec<u8>> {
    let mut seeds = corpus(name);
    seeds.extend(files(&format!("crates/fuzzing/regressions/{name}"), ""));
    seeds
}

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let inline_sip = || vec![INVITE.to_vec(), REFER.to_vec(), OK.to_vec()];
    match name {
        "sip_datagram" => {
            let mut seeds = files("tests/data/sip/rfc4475", ".dat");
            seeds.extend(inline_sip());
            seeds
        }
        "sip_stream" => {
            let mut seeds = files("tests/data/sip/rfc4475", ".dat");
            seeds.extend(inline_sip());
            seeds.push([b"\r\n\r\n", INVITE, b"\r\n", OK, REFER].concat());
            seeds
        }
        "sdp" => files("crates/media/tests/data/sdp", ".sdp"),
        "rtp_rtcp" => vec![rtp_script()],
        "rfc4733" => vec![
            dtmf_script(),
            b"Signal=5\r\nDuration=160\r\n".to_vec(),
            b"Signal= *\nDuration= 250\n".to_vec(),
        ],
        "digest" => AUTHORIZATIONS
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect(),
        "config" => files("config", ".toml"),
        "ivr" => files("config/ivr", ".toml")
            .into_iter()
            .map(|flow| [&flow[..], b"\0", FLOW_SCRIPT].concat())
            .collect(),
        _ => Vec::new(),
    }
}
