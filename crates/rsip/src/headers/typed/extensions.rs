//! Typed forms of the value headers the Switchboard fork adds: Replaces, Session-Expires,
//! Min-SE, Reason, RSeq, RAck. (Refer-To, Referred-By and P-Asserted-Identity are in
//! [`name_addr`](super::name_addr).)
//!
//! Hand-written total parsers (they return `Error::ParseError`, never panic).

use super::name_addr::{parse_error, parse_params, split_outside_quotes, GenericParam};
use crate::{Error, Method};
use std::fmt;
use std::str::FromStr;

/// `Replaces` (RFC 3891 §6.1): `callid *(;to-tag=..|;from-tag=..|;early-only|generic-param)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    /// The Call-ID of the dialog to replace.
    pub call_id: String,
    /// The `to-tag` parameter (the local tag of the dialog at the recipient).
    pub to_tag: String,
    /// The `from-tag` parameter.
    pub from_tag: String,
    /// `early-only`: only replace an early dialog (RFC 3891 §3).
    pub early_only: bool,
    /// Any other parameters.
    pub params: Vec<GenericParam>,
}

impl FromStr for Replaces {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        let (call_id, rest) = value.split_once(';').unwrap_or((value, ""));
        let call_id = call_id.trim();
        if call_id.is_empty() || call_id.contains(char::is_whitespace) {
            return Err(parse_error("Replaces call-id", value));
        }
        let mut to_tag = None;
        let mut from_tag = None;
        let mut early_only = false;
        let mut params = Vec::new();
        for param in parse_params(rest)? {
            match (param.name.to_ascii_lowercase().as_str(), &param.value) {
                ("to-tag", Some(v)) => to_tag = Some(v.clone()),
                ("from-tag", Some(v)) => from_tag = Some(v.clone()),
                ("early-only", None) => early_only = true,
                _ => params.push(param),
            }
        }
        // Both tags are mandatory (RFC 3891 §6.1 `replaces-param`, §3).
        match (to_tag, from_tag) {
            (Some(to_tag), Some(from_tag)) => Ok(Self {
                call_id: call_id.to_string(),
                to_tag,
                from_tag,
                early_only,
                params,
            }),
            _ => Err(parse_error(
                "Replaces (to-tag and from-tag are required)",
                value,
            )),
        }
    }
}

impl fmt::Display for Replaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};to-tag={};from-tag={}",
            self.call_id, self.to_tag, self.from_tag
        )?;
        if self.early_only {
            f.write_str(";early-only")?;
        }
        self.params.iter().try_for_each(|p| write!(f, "{}", p))
    }
}

impl From<Replaces> for crate::headers::Replaces {
    fn from(typed: Replaces) -> Self {
        Self::from(typed.to_string())
    }
}

/// Who refreshes the session (RFC 4028 §4 `refresher` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// `refresher=uac`
    Uac,
    /// `refresher=uas`
    Uas,
}

/// `Session-Expires` (RFC 4028 §4): `delta-seconds *(;refresher=uac|uas|generic-param)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires {
    /// The session interval in seconds.
    pub delta_seconds: u32,
    /// The `refresher` parameter, if present.
    pub refresher: Option<Refresher>,
    /// Any other parameters.
    pub params: Vec<GenericParam>,
}

fn delta_seconds(raw: &str, what: &str, whole: &str) -> Result<u32, Error> {
    let raw = raw.trim();
    if raw.is_empty() || !raw.bytes().all(|c| c.is_ascii_digit()) {
        return Err(parse_error(what, whole));
    }
    raw.parse().map_err(|_| parse_error(what, whole))
}

impl FromStr for SessionExpires {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        let (delta, rest) = value.split_once(';').unwrap_or((value, ""));
        let delta_seconds = delta_seconds(delta, "Session-Expires", value)?;
        let mut refresher = None;
        let mut params = Vec::new();
        for param in parse_params(rest)? {
            if param.name.eq_ignore_ascii_case("refresher") {
                refresher = match param
                    .value
                    .as_deref()
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("uac") => Some(Refresher::Uac),
                    Some("uas") => Some(Refresher::Uas),
                    _ => return Err(parse_error("Session-Expires refresher", value)),
                };
            } else {
                params.push(param);
            }
        }
        Ok(Self {
            delta_seconds,
            refresher,
            params,
        })
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.delta_seconds)?;
        match self.refresher {
            Some(Refresher::Uac) => f.write_str(";refresher=uac")?,
            Some(Refresher::Uas) => f.write_str(";refresher=uas")?,
            None => {}
        }
        self.params.iter().try_for_each(|p| write!(f, "{}", p))
    }
}

impl From<SessionExpires> for crate::headers::SessionExpires {
    fn from(typed: SessionExpires) -> Self {
        Self::from(typed.to_string())
    }
}

/// `Min-SE` (RFC 4028 §5): the smallest session interval accepted, in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinSe {
    /// The minimum session interval in seconds.
    pub delta_seconds: u32,
    /// Any parameters.
    pub params: Vec<GenericParam>,
}

impl FromStr for MinSe {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        let (delta, rest) = value.split_once(';').unwrap_or((value, ""));
        Ok(Self {
            delta_seconds: delta_seconds(delta, "Min-SE", value)?,
            params: parse_params(rest)?,
        })
    }
}

impl fmt::Display for MinSe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.delta_seconds)?;
        self.params.iter().try_for_each(|p| write!(f, "{}", p))
    }
}

impl From<MinSe> for crate::headers::MinSe {
    fn from(typed: MinSe) -> Self {
        Self::from(typed.to_string())
    }
}

/// `Reason` (RFC 3326 §2): `protocol ;cause=N ;text="..."`. A header may list several
/// comma-separated values (one per protocol); [`Reason::parse_list`] reads them all, `FromStr`
/// reads the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// `SIP`, `Q.850` or another protocol token.
    pub protocol: String,
    /// The `cause` parameter.
    pub cause: Option<u16>,
    /// The `text` parameter, unquoted.
    pub text: Option<String>,
    /// Any other parameters.
    pub params: Vec<GenericParam>,
}

impl Reason {
    /// Parses every comma-separated reason value.
    pub fn parse_list(value: &str) -> Result<Vec<Reason>, Error> {
        split_outside_quotes(value, ',')
            .into_iter()
            .map(Self::parse_one)
            .collect()
    }

    fn parse_one(value: &str) -> Result<Self, Error> {
        let (protocol, rest) = value.split_once(';').unwrap_or((value, ""));
        let protocol = protocol.trim();
        if protocol.is_empty() || !protocol.bytes().all(crate::parser_utils::is_token) {
            return Err(parse_error("Reason protocol", value));
        }
        let mut cause = None;
        let mut text = None;
        let mut params = Vec::new();
        for param in parse_params(rest)? {
            match (param.name.to_ascii_lowercase().as_str(), &param.value) {
                ("cause", Some(v)) => {
                    cause = Some(v.parse().map_err(|_| parse_error("Reason cause", value))?)
                }
                ("text", Some(v)) => {
                    let unquoted = v
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(v);
                    text = Some(unquoted.replace("\\\"", "\"").replace("\\\\", "\\"))
                }
                _ => params.push(param),
            }
        }
        Ok(Self {
            protocol: protocol.to_string(),
            cause,
            text,
            params,
        })
    }
}

impl FromStr for Reason {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        let first = split_outside_quotes(value, ',')
            .into_iter()
            .next()
            .unwrap_or(value);
        Self::parse_one(first)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.protocol)?;
        if let Some(cause) = self.cause {
            write!(f, ";cause={}", cause)?;
        }
        if let Some(text) = &self.text {
            write!(
                f,
                ";text=\"{}\"",
                text.replace('\\', "\\\\").replace('"', "\\\"")
            )?;
        }
        self.params.iter().try_for_each(|p| write!(f, "{}", p))
    }
}

impl From<Reason> for crate::headers::Reason {
    fn from(typed: Reason) -> Self {
        Self::from(typed.to_string())
    }
}

/// `RSeq` (RFC 3262 §7.1): the sequence number of a reliable provisional response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RSeq(pub u32);

impl FromStr for RSeq {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        delta_seconds(value, "RSeq", value).map(Self)
    }
}

impl fmt::Display for RSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<RSeq> for crate::headers::RSeq {
    fn from(typed: RSeq) -> Self {
        Self::from(typed.to_string())
    }
}

/// `RAck` (RFC 3262 §7.2): `response-num CSeq-num Method`, acknowledging a reliable provisional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RAck {
    /// The RSeq of the acknowledged response.
    pub rseq: u32,
    /// The CSeq number of the request the response answered.
    pub cseq: u32,
    /// The CSeq method of that request.
    pub method: Method,
}

impl FromStr for RAck {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        let mut parts = value.split_whitespace();
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(rseq), Some(cseq), Some(method), None) => Ok(Self {
                rseq: delta_seconds(rseq, "RAck", value)?,
                cseq: delta_seconds(cseq, "RAck", value)?,
                method: method.parse()?,
            }),
            _ => Err(parse_error("RAck", value)),
        }
    }
}

impl fmt::Display for RAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.rseq, self.cseq, self.method)
    }
}

impl From<RAck> for crate::headers::RAck {
    fn from(typed: RAck) -> Self {
        Self::from(typed.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_requires_both_tags_and_reads_early_only() {
        let r: Replaces = "abc@h;from-tag=f;to-tag=t;early-only".parse().unwrap();
        assert!(r.early_only);
        assert_eq!(r.to_string(), "abc@h;to-tag=t;from-tag=f;early-only");
        assert!("abc@h;to-tag=t".parse::<Replaces>().is_err());
    }

    #[test]
    fn session_expires_reads_refresher() {
        let se: SessionExpires = "1800 ; refresher=uas".parse().unwrap();
        assert_eq!(se.delta_seconds, 1800);
        assert_eq!(se.refresher, Some(Refresher::Uas));
        assert!("abc".parse::<SessionExpires>().is_err());
        assert!("-5".parse::<SessionExpires>().is_err());
        assert_eq!("90".parse::<MinSe>().unwrap().delta_seconds, 90);
    }

    #[test]
    fn reason_lists_and_quoted_text() {
        let list =
            Reason::parse_list("SIP;cause=200;text=\"Call completed, elsewhere\", Q.850;cause=16")
                .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].text.as_deref(), Some("Call completed, elsewhere"));
        assert_eq!(list[1].protocol, "Q.850");
        assert_eq!(list[1].cause, Some(16));
    }

    #[test]
    fn rack_and_rseq() {
        let rack: RAck = "776656 1 INVITE".parse().unwrap();
        assert_eq!(rack.method, Method::Invite);
        assert_eq!(rack.to_string(), "776656 1 INVITE");
        assert_eq!("42".parse::<RSeq>().unwrap(), RSeq(42));
        assert!("1 2".parse::<RAck>().is_err());
    }
}
