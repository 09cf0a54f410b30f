use rsip::headers::UntypedHeader;

pub mod accept;
pub mod alert_info;
pub mod allow;
pub mod auth;
pub mod authentication_info;
pub mod authorization;
pub mod call_info;
pub mod contact;
pub mod content_disposition;
pub mod content_length;
pub mod content_type;
pub mod cseq;
pub mod error_info;
pub mod from;
pub mod in_reply_to;
pub mod max_forwards;
pub mod media_type;
pub mod priority;
pub mod proxy_authenticate;
pub mod record_route;
pub mod reply_to;
pub mod to;
pub mod tokenizers;
pub mod via;
pub mod warning;
pub mod www_authenticate;

use rsip::headers::{header::Tokenizer, Accept, Header};

mod display {
    use super::*;

    #[test]
    fn display1() {
        assert_eq!(
            Header::Accept(Accept::new("REGISTER, INVITE")).to_string(),
            String::from("Accept: REGISTER, INVITE")
        );
    }

    #[test]
    fn display2() {
        assert_eq!(
            Header::Other("X-Forward".into(), "202.45.213.14".into()).to_string(),
            String::from("X-Forward: 202.45.213.14")
        );
    }
}

mod tokenizer {
    use super::*;

    // Fork: a CRLF followed by white space is a fold, part of the same value (RFC 3261 §7.3.1).
    #[test]
    fn folded_value_and_space_before_colon() {
        assert_eq!(
            Tokenizer::tokenize(b"Accept : REGISTER,\r\n INVITE\r\nX: y"),
            Ok((
                "X: y".as_bytes(),
                Tokenizer {
                    name: "Accept".as_bytes(),
                    value: "REGISTER,\r\n INVITE".as_bytes()
                }
            )),
        );
    }

    #[test]
    fn tokenizer1() {
        assert_eq!(
            Tokenizer::tokenize(b"Accept: REGISTER, INVITE\r\nsomething"),
            Ok((
                "something".as_bytes(),
                Tokenizer {
                    name: "Accept".as_bytes(),
                    value: "REGISTER, INVITE".as_bytes()
                }
            )),
        );
    }
}

// Fork: compact names, `Name :`, folding and the added headers, through a whole request.
mod fork_additions {
    use rsip::headers::UntypedHeader;
    use rsip::{Header, Request};
    use std::convert::TryFrom;

    #[test]
    fn compact_and_added_headers_map_to_their_variants() {
        let raw = "INVITE sip:b@example.com SIP/2.0\r\n\
            v : SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n\
            f: <sip:a@example.com>;tag=1\r\nt: <sip:b@example.com>\r\ni: c1\r\n\
            CSeq: 1 INVITE\r\nm: <sip:a@h.example.com>\r\nk: timer\r\nx: 1800;refresher=uac\r\n\
            r: <sip:c@example.com>\r\nb: <sip:a@example.com>\r\no: refer\r\nu: talk\r\n\
            Min-SE: 90\r\nReason: Q.850;cause=16\r\nRSeq: 5\r\nRAck: 5 1 INVITE\r\n\
            P-Asserted-Identity: <sip:+1555@example.com>\r\n\
            Replaces: c2;to-tag=a;from-tag=b\r\nSubscription-State: active\r\n\
            Subject: folded\r\n  value\r\nl: 0\r\n\r\n";
        let request = Request::try_from(raw).unwrap();
        let names: Vec<String> = request
            .headers
            .iter()
            .map(|h| h.to_string().split(':').next().unwrap_or("").to_string())
            .collect();
        assert_eq!(
            names,
            [
                "Via",
                "From",
                "To",
                "Call-ID",
                "CSeq",
                "Contact",
                "Supported",
                "Session-Expires",
                "Refer-To",
                "Referred-By",
                "Event",
                "Allow-Events",
                "Min-SE",
                "Reason",
                "RSeq",
                "RAck",
                "P-Asserted-Identity",
                "Replaces",
                "Subscription-State",
                "Subject",
                "Content-Length"
            ]
        );
        let se = request.headers.iter().find_map(|h| match h {
            Header::SessionExpires(se) => Some(se.typed().unwrap()),
            _ => None,
        });
        assert_eq!(se.unwrap().delta_seconds, 1800);
        let subject = request.headers.iter().find_map(|h| match h {
            Header::Subject(s) => Some(s.value().to_string()),
            _ => None,
        });
        assert_eq!(subject.as_deref(), Some("folded value"));
    }
}
