//! The RFC 4475 torture messages (tests/data/sip/rfc4475, byte-exact) through `parse`.
//!
//! Each file has a named expected outcome below, from the RFC's text (README.md there).

use std::path::PathBuf;

use switchboard_sip::message::{Limits, ParseError, SipHeaders, error_response, parse};

/// What the message layer must do with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A valid request: parses, and Via/From/To/CSeq/Call-ID read as typed values.
    Request,
    /// A valid response: parses (and is absorbed by the transaction layer, never answered).
    Response,
    /// Refused with this status, and a routable stateless response exists.
    Reject(u16),
    /// Refused and dropped: a broken response is never answered.
    Drop,
    /// §3.4: either processed or refused with 400.
    RequestOr400,
    /// Parses as a request; some header holds a URI rsip cannot type (an unknown scheme), which
    /// is for the application to refuse, not the parser (RFC 4475 §3.3.4).
    Parses,
}

use Expect::*;

const CORPUS: &[(&str, &str, Expect)] = &[
    // §3.1.1 valid messages
    ("wsinv.dat", "3.1.1.1", Request),
    ("intmeth.dat", "3.1.1.2", Request), // extension method: 501 above the parser
    ("esc01.dat", "3.1.1.3", Request),
    ("escnull.dat", "3.1.1.4", Request),
    ("esc02.dat", "3.1.1.5", Request), // RE%47IST%45R is an extension method
    ("lwsdisp.dat", "3.1.1.6", Request),
    ("longreq.dat", "3.1.1.7", Request),
    ("dblreq.dat", "3.1.1.8", Request), // trailing INVITE discarded (checked below)
    ("semiuri.dat", "3.1.1.9", Request),
    ("transports.dat", "3.1.1.10", Request),
    ("mpart01.dat", "3.1.1.11", Request),
    ("unreason.dat", "3.1.1.12", Response),
    ("noreason.dat", "3.1.1.13", Response),
    // §3.1.2 invalid messages
    ("badinv01.dat", "3.1.2.1", Reject(400)),
    ("clerr.dat", "3.1.2.2", Reject(400)),
    ("ncl.dat", "3.1.2.3", Reject(400)),
    ("scalar02.dat", "3.1.2.4", Reject(400)),
    ("scalarlg.dat", "3.1.2.5", Drop),
    ("quotbal.dat", "3.1.2.6", Reject(400)),
    ("ltgtruri.dat", "3.1.2.7", Reject(400)),
    ("lwsruri.dat", "3.1.2.8", Reject(400)),
    ("lwsstart.dat", "3.1.2.9", Reject(400)),
    ("trws.dat", "3.1.2.10", Reject(400)),
    ("escruri.dat", "3.1.2.11", Reject(400)),
    ("baddate.dat", "3.1.2.12", Reject(400)),
    ("regbadct.dat", "3.1.2.13", Reject(400)),
    ("badaspec.dat", "3.1.2.14", Reject(400)),
    ("baddn.dat", "3.1.2.15", Reject(400)),
    ("badvers.dat", "3.1.2.16", Reject(505)),
    ("mismatch01.dat", "3.1.2.17", Reject(400)),
    ("mismatch02.dat", "3.1.2.18", Reject(400)), // RFC: 501 or 400
    ("bigcode.dat", "3.1.2.19", Drop),
    // §3.2–3.4: the torture is above the parser, except where the RFC wants 400
    ("badbranch.dat", "3.2.1", Request),
    ("insuf.dat", "3.3.1", Reject(400)),
    ("unkscm.dat", "3.3.2", Reject(416)),
    ("novelsc.dat", "3.3.3", Request),
    ("unksm2.dat", "3.3.4", Parses),
    ("bext01.dat", "3.3.5", Request),
    ("invut.dat", "3.3.6", Request),
    ("regaut01.dat", "3.3.7", Request),
    ("multi01.dat", "3.3.8", Reject(400)),
    ("mcl01.dat", "3.3.9", Reject(400)),
    ("bcast.dat", "3.3.10", Response),
    ("zeromf.dat", "3.3.11", Request),
    ("cparam01.dat", "3.3.12", Request),
    ("cparam02.dat", "3.3.13", Request),
    ("regescrt.dat", "3.3.14", Request),
    ("sdp01.dat", "3.3.15", Request),
    ("inv2543.dat", "3.4.1", RequestOr400),
];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/sip/rfc4475")
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(corpus_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn check(file: &str, section: &str, expect: Expect) -> Result<(), String> {
    let raw = read(file);
    let result = parse(&raw, &Limits::default());
    let fail = |what: String| Err(format!("{file} (§{section}, expected {expect:?}): {what}"));
    match (expect, &result) {
        (Request | RequestOr400, Ok(rsip::SipMessage::Request(request))) => {
            let read_all = request.vias().map(|v| !v.is_empty()).unwrap_or(false)
                && request.from_addr().is_ok()
                && request.to_addr().is_ok()
                && request.cseq().is_ok_and(|c| c.method == request.method)
                && request.call_id().is_ok();
            if !read_all {
                return fail(format!(
                    "typed headers: via {:?} from {:?} to {:?} cseq {:?} call-id {:?}",
                    request.vias(),
                    request.from_addr(),
                    request.to_addr(),
                    request.cseq(),
                    request.call_id()
                ));
            }
            Ok(())
        }
        (Parses, Ok(rsip::SipMessage::Request(_))) => Ok(()),
        (RequestOr400, Err(err)) if err.response().map(|r| r.0) == Some(400) => Ok(()),
        (Response, Ok(rsip::SipMessage::Response(response))) => {
            let read_all = response.top_via().is_ok()
                && response.from_addr().is_ok()
                && response.to_addr().is_ok()
                && response.cseq().is_ok()
                && response.call_id().is_ok();
            if read_all {
                Ok(())
            } else {
                fail("typed headers of the response did not read".into())
            }
        }
        (Reject(status), Err(err)) => {
            if err.response().map(|r| r.0) != Some(status) {
                return fail(format!("got {err:?} answering {:?}", err.response()));
            }
            match error_response(&raw, err) {
                Some(response) if response.status_code.code() == status => Ok(()),
                other => fail(format!("error_response gave {other:?}")),
            }
        }
        (Drop, Err(err @ ParseError::InvalidResponse(_))) => {
            if err.response().is_none() && error_response(&raw, err).is_none() {
                Ok(())
            } else {
                fail("a broken response must not be answered".into())
            }
        }
        (_, other) => fail(format!("got {other:?}")),
    }
}

#[test]
fn every_rfc4475_message_gets_its_expected_verdict() {
    let failures: Vec<String> = CORPUS
        .iter()
        .filter_map(|(file, section, expect)| check(file, section, *expect).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_file_in_the_corpus() {
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".dat"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CORPUS.iter().map(|(f, _, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    assert_eq!(listed.len(), 49);
}

#[test]
fn dblreq_answers_the_register_and_ignores_the_trailing_invite() {
    let message = parse(&read("dblreq.dat"), &Limits::default()).expect("dblreq parses");
    let rsip::SipMessage::Request(request) = message else {
        panic!("dblreq is a request");
    };
    assert_eq!(request.method, rsip::Method::Register);
    assert!(request.body.is_empty());
}

#[test]
fn extension_methods_keep_their_exact_spelling() {
    for (file, method) in [
        ("intmeth.dat", "!interesting-Method0123456789_*+`.%indeed'~"),
        ("esc02.dat", "RE%47IST%45R"),
    ] {
        let Ok(rsip::SipMessage::Request(request)) = parse(&read(file), &Limits::default()) else {
            panic!("{file} parses");
        };
        assert!(request.method.is_extension(), "{file}");
        assert_eq!(request.method.as_str(), method);
    }
}

#[test]
fn wsinv_folded_and_spaced_headers_read_as_typed_values() {
    let Ok(rsip::SipMessage::Request(request)) = parse(&read("wsinv.dat"), &Limits::default())
    else {
        panic!("wsinv parses");
    };
    assert_eq!(request.to_tag().unwrap().as_deref(), Some("1918181833n"));
    assert_eq!(request.from_tag().unwrap().as_deref(), Some("98asjd8"));
    assert_eq!(request.max_forwards().unwrap(), Some(68));
    let cseq = request.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, rsip::Method::Invite));
    let vias = request.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[1].transport, rsip::Transport::Tcp);
    assert_eq!(vias[2].branch().unwrap().to_string(), "z9hG4bK30239");
    assert_eq!(vias[0].uri.host_with_port.to_string(), "192.0.2.2");
    assert_eq!(vias[0].branch().unwrap().to_string(), "390skdjuw");
}

#[test]
fn no_file_panics_on_any_prefix() {
    // Truncations exercise every partial-message path of framing and parsing.
    let limits = Limits::default();
    for (file, _, _) in CORPUS {
        let raw = read(file);
        for end in (0..raw.len()).step_by(7) {
            let _ = parse(&raw[..end], &limits);
            let _ = switchboard_sip::message::next_frame(&raw[..end], &limits);
            if let Err(err) = parse(&raw[..end], &limits) {
                let _ = error_response(&raw[..end], &err);
            }
        }
    }
}
