//! The small clients the tests speak to the daemon with: HTTP GET, a SIP OPTIONS ping, one SIP
//! request over UDP, and reading a response's status code.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// `GET path` over HTTP/1.1; returns the status code and the body.
pub(crate) fn http_get(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no HTTP status line in {head:?}")))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((code, body))
}

/// Joins the chunks of a chunked HTTP body (enough for small test responses).
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(rest.get(..size).unwrap_or_default());
        body = rest
            .get(size..)
            .unwrap_or_default()
            .trim_start_matches("\r\n");
    }
    out
}

/// Sends one OPTIONS over UDP to `target` from an ephemeral loopback port and returns the status
/// code of the first final response (provisional ones are skipped).
pub(crate) fn options_ping(target: SocketAddr, timeout: Duration) -> io::Result<u16> {
    static SEQ: AtomicU32 = AtomicU32::new(1);
    let local_ip = match target {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    let socket = UdpSocket::bind((local_ip, 0))?;
    let local = socket.local_addr()?;
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let id = format!("{}-{n}", std::process::id());
    let request = format!(
        "OPTIONS sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-e2e-ping-{id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:e2e@{local}>;tag=ping{id}\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: ping-{id}@e2e\r\n\
         CSeq: {n} OPTIONS\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n"
    );
    socket.send_to(request.as_bytes(), target)?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65_535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no final response"));
        }
        socket.set_read_timeout(Some(left))?;
        let len = socket.recv(&mut buf)?;
        if let Some(code) = status_code(buf.get(..len).unwrap_or_default())
            && code >= 200
        {
            return Ok(code);
        }
    }
}

/// The status code of a SIP response (`SIP/2.0 NNN ...`), or `None` for anything else.
pub(crate) fn status_code(message: &[u8]) -> Option<u16> {
    let line = message.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.eq_ignore_ascii_case("SIP/2.0") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

/// Sends one SIP request over UDP from an ephemeral port on `local_ip` to `target` and returns
/// the status codes received up to and including the first final response (or all received
/// when none is final by `timeout`). `request` is the message with `{local}` standing for the
/// socket's own `ip:port` (for Via and Contact) and `{target}` for `target`.
pub(crate) fn udp_request(
    local_ip: IpAddr,
    target: SocketAddr,
    request: &str,
    timeout: Duration,
) -> io::Result<Vec<u16>> {
    let socket = UdpSocket::bind((local_ip, 0))?;
    let local = socket.local_addr()?;
    let message = request
        .replace("{local}", &local.to_string())
        .replace("{target}", &target.to_string());
    socket.send_to(message.as_bytes(), target)?;
    let deadline = Instant::now() + timeout;
    let mut codes = Vec::new();
    let mut buf = vec![0u8; 65_535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(codes);
        }
        socket.set_read_timeout(Some(left))?;
        let len = match socket.recv(&mut buf) {
            Ok(len) => len,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(codes);
            }
            Err(e) => return Err(e),
        };
        if let Some(code) = status_code(buf.get(..len).unwrap_or_default()) {
            codes.push(code);
            if code >= 200 {
                return Ok(codes);
            }
        }
    }
}

/// Sends one SIP request over UDP from `socket` to `target` and returns the first final
/// response as text (`None` when none arrives by `timeout`). `{local}` and `{target}` in
/// `request` stand for the two addresses, as in [`udp_request`].
pub(crate) fn udp_final_response(
    socket: &UdpSocket,
    target: SocketAddr,
    request: &str,
    timeout: Duration,
) -> io::Result<Option<String>> {
    let local = socket.local_addr()?;
    let message = request
        .replace("{local}", &local.to_string())
        .replace("{target}", &target.to_string());
    socket.send_to(message.as_bytes(), target)?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65_535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        socket.set_read_timeout(Some(left))?;
        let len = match socket.recv(&mut buf) {
            Ok(len) => len,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let bytes = buf.get(..len).unwrap_or_default();
        if status_code(bytes).is_some_and(|code| code >= 200) {
            return Ok(Some(String::from_utf8_lossy(bytes).into_owned()));
        }
    }
}
