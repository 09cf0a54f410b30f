//! `[sip]` and `[sip.registrar]`: protocol timers, message limits, overload protection and the
//! registrar that agent phones REGISTER with.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The `[sip]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipConfig {
    /// Digest realm in challenges (RFC 3261 §22.1) and the domain agents register in. Default
    /// `switchboard`.
    pub realm: String,
    /// Sent as `User-Agent` in requests and `Server` in responses. Default `Switchboard`.
    pub user_agent: String,
    /// T1, the round-trip estimate (RFC 3261 §17.1.1.1). Default 500 ms.
    pub t1: Duration,
    /// T2, the longest retransmit interval for non-INVITE requests and INVITE responses. Default
    /// 4 s.
    pub t2: Duration,
    /// T4, the longest a message stays in the network. Default 5 s.
    pub t4: Duration,
    /// Largest SIP message accepted, in bytes, over UDP or TCP; larger ones are refused (413
    /// over TCP, dropped over UDP). Default 65535.
    pub max_message_bytes: usize,
    /// Most header fields in one message; more is answered 400 (a parser-exhaustion guard).
    /// Default 256.
    pub max_headers: usize,
    /// Most live SIP transactions (client and server); past it, new out-of-dialog requests get
    /// 503 with `Retry-After`. Default 10000.
    pub max_transactions: usize,
    /// Most INVITE server transactions still waiting for a final response; a new INVITE past it
    /// gets 503 with `Retry-After`, while requests inside existing dialogs are still served.
    /// Default 1000.
    pub max_pending_invites: usize,
    /// The `Retry-After` value in those 503 responses (RFC 3261 §20.33). Default 5 s.
    pub retry_after: Duration,
    /// `[sip.registrar]`.
    pub registrar: RegistrarConfig,
    /// `[sip.tls]`: a SIP-over-TLS listener (RFC 3261 §26.2.1, RFC 5630); `None`: UDP and TCP
    /// only.
    pub tls: Option<SipTls>,
}

/// `[sip.tls]`: where SIP over TLS is served and with which certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipTls {
    /// Address of the TLS listener (5061 is the registered `sips` port, RFC 3261 §19.1.2).
    pub listen: SocketAddr,
    /// PEM certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            realm: "switchboard".to_owned(),
            user_agent: "Switchboard".to_owned(),
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            max_message_bytes: 65_535,
            max_headers: 256,
            max_transactions: 10_000,
            max_pending_invites: 1_000,
            retry_after: Duration::from_secs(5),
            registrar: RegistrarConfig::default(),
            tls: None,
        }
    }
}

/// The `[sip.registrar]` section: REGISTER handling for agent phones (RFC 3261 §10) and digest
/// authentication (RFC 7616, RFC 8760).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shortest registration accepted; shorter requests get 423 Interval Too Brief with
    /// `Min-Expires` (RFC 3261 §10.3 step 7). Default 60 s.
    pub min_expires: Duration,
    /// Longest registration granted; longer requests are shortened to it. Default 3600 s.
    pub max_expires: Duration,
    /// Granted when the REGISTER names no expiry. Default 600 s.
    pub default_expires: Duration,
    /// Most contacts one agent may register at once; a further one replaces the oldest.
    /// Default 1.
    pub max_contacts_per_agent: usize,
    /// How long a nonce stays valid; a response with an older one gets a fresh challenge with
    /// `stale=true` (RFC 7616 §3.3). Default 300 s.
    pub nonce_lifetime: Duration,
    /// Failed authentications in a row (per agent and source address) before the lockout;
    /// `None` (0 in the file) never locks out. Default 5.
    pub auth_failures_before_lockout: Option<u32>,
    /// How long a locked-out agent/source pair is answered 403 without checking. Default 300 s.
    pub lockout: Duration,
    /// Interval of OPTIONS keep-alives to registered contacts; `None` (0 in the file) sends
    /// none. Default 30 s.
    pub keepalive_interval: Option<Duration>,
    /// Unanswered keep-alives in a row after which the contact is removed and the agent, if it
    /// has no contact left, becomes unavailable. Default 3.
    pub keepalive_failures: u32,
    /// Digest algorithms offered, most preferred first: one `WWW-Authenticate` challenge each,
    /// in this order (RFC 7616 §3.7, RFC 8760 §2.4). Default MD5 then SHA-256: many UACs
    /// answer the first challenge whatever its algorithm (SIPp 3.6.1 aborts on a first SHA-256
    /// one) and most phones only know MD5; list SHA-256 first where every phone copes.
    pub digest_algorithms: Vec<DigestAlgorithm>,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: Duration::from_secs(60),
            max_expires: Duration::from_secs(3600),
            default_expires: Duration::from_secs(600),
            max_contacts_per_agent: 1,
            nonce_lifetime: Duration::from_secs(300),
            auth_failures_before_lockout: Some(5),
            lockout: Duration::from_secs(300),
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_failures: 3,
            digest_algorithms: vec![DigestAlgorithm::Md5, DigestAlgorithm::Sha256],
        }
    }
}

/// A digest algorithm for SIP authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// `MD5` (RFC 2617; what most SIP phones support).
    Md5,
    /// `SHA-256` (RFC 7616, for SIP RFC 8760).
    Sha256,
}

impl DigestAlgorithm {
    /// The names accepted in the file, as they appear in the `algorithm=` parameter.
    pub const NAMES: &'static [&'static str] = &["MD5", "SHA-256"];

    /// The token for the `algorithm=` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Sha256 => "SHA-256",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [DigestAlgorithm::Md5, DigestAlgorithm::Sha256]
            .into_iter()
            .find(|algorithm| algorithm.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
