//! Stamping the top Via of a received request with `received` and `rport`
//! (RFC 3261 §18.2.1, RFC 3581 §4), so responses find a phone behind NAT.

use std::net::SocketAddr;

/// Returns the top Via value rewritten for a request that arrived from `source`, or `None` when
/// nothing needs to change.
///
/// RFC 3261 §18.2.1: if the sent-by host differs from the packet's source address, the server
/// adds `received=<source ip>`. RFC 3581 §4: when the Via carries an empty `rport` parameter,
/// the server fills in the source port and also adds `received`, even when the host matches.
/// Only the first Via of a comma-separated list is touched.
pub fn stamp_received(via_value: &str, source: SocketAddr) -> Option<String> {
    let (first, rest) = split_first_via(via_value);
    let (head, params) = match first.find(';') {
        Some(i) => (&first[..i], &first[i..]),
        None => (first, ""),
    };
    let sent_by_host = sent_by_host(head)?;
    let source_ip = source.ip().to_canonical();

    let mut has_received = false;
    let mut rport_empty = false;
    let mut kept = Vec::new();
    for param in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let name = param.split('=').next().unwrap_or(param).trim();
        if name.eq_ignore_ascii_case("received") {
            has_received = true;
            continue; // replaced below with the address we actually saw
        }
        if name.eq_ignore_ascii_case("rport") && !param.contains('=') {
            rport_empty = true;
            continue;
        }
        kept.push(param);
    }
    let host_matches = sent_by_host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_canonical() == source_ip)
        .unwrap_or(false);
    if host_matches && !rport_empty && !has_received {
        return None;
    }

    let mut out = String::with_capacity(via_value.len() + 40);
    out.push_str(head.trim_end());
    for param in kept {
        out.push(';');
        out.push_str(param);
    }
    if rport_empty {
        out.push_str(&format!(";rport={}", source.port()));
    }
    if !host_matches || rport_empty || has_received {
        out.push_str(&format!(";received={source_ip}"));
    }
    out.push_str(rest);
    Some(out)
}

/// Splits `SIP/2.0/UDP a;x, SIP/2.0/UDP b` into the first Via and the rest (with its comma).
fn split_first_via(value: &str) -> (&str, &str) {
    let mut in_quotes = false;
    for (i, c) in value.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => return (&value[..i], &value[i..]),
            _ => {}
        }
    }
    (value, "")
}

/// The host part of `SIP/2.0/UDP host:port`.
fn sent_by_host(head: &str) -> Option<&str> {
    let sent_by = head.split_whitespace().nth(1)?;
    if let Some(rest) = sent_by.strip_prefix('[') {
        let end = rest.find(']')?;
        return sent_by.get(..end + 2);
    }
    Some(sent_by.split(':').next().unwrap_or(sent_by))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn matching_host_without_rport_is_left_alone() {
        let via = "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1";
        assert_eq!(stamp_received(via, src("127.0.0.1:5070")), None);
    }

    #[test]
    fn differing_host_gets_received() {
        let via = "SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK1";
        assert_eq!(
            stamp_received(via, src("127.0.0.1:40000")).unwrap(),
            "SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK1;received=127.0.0.1"
        );
    }

    #[test]
    fn empty_rport_is_filled_and_received_added_rfc3581() {
        let via = "SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK1";
        assert_eq!(
            stamp_received(via, src("127.0.0.2:41000")).unwrap(),
            "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=41000;received=127.0.0.2"
        );
        let same_host = "SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK1";
        assert_eq!(
            stamp_received(same_host, src("127.0.0.1:41000")).unwrap(),
            "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport=41000;received=127.0.0.1"
        );
    }

    #[test]
    fn only_first_of_a_comma_list_is_stamped() {
        let via =
            "SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com;branch=z9hG4bK2";
        assert_eq!(
            stamp_received(via, src("127.0.0.1:5060")).unwrap(),
            "SIP/2.0/UDP a.example.com;branch=z9hG4bK1;received=127.0.0.1, SIP/2.0/UDP b.example.com;branch=z9hG4bK2"
        );
    }

    #[test]
    fn ipv6_sent_by_matches_v6_source() {
        let via = "SIP/2.0/UDP [::1]:5070;branch=z9hG4bK1";
        assert_eq!(stamp_received(via, src("[::1]:5070")), None);
        assert!(stamp_received(via, src("[::1]:6000")).is_none());
        assert!(
            stamp_received(via, src("127.0.0.1:5070"))
                .unwrap()
                .ends_with(";received=127.0.0.1")
        );
    }

    #[test]
    fn garbage_never_panics() {
        for v in [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP [::1",
            ";;;",
            "SIP/2.0/UDP h;rport=;received",
        ] {
            let _ = stamp_received(v, src("127.0.0.1:1"));
        }
    }
}
