//! `name-addr` / `addr-spec` headers with generic parameters, typed: Refer-To, Referred-By and
//! P-Asserted-Identity (fork addition), plus the helpers other typed extensions share.
//!
//! Hand-written total parsers (they return `Error::ParseError`, never panic).

use crate::{Error, Uri};
use std::convert::TryFrom;
use std::fmt;
use std::str::FromStr;

use super::extensions::Replaces;

pub(crate) fn parse_error(what: &str, value: &str) -> Error {
    Error::ParseError(format!("invalid {}: {}", what, value))
}

/// A generic `name[=value]` header parameter (RFC 3261 §25.1 `generic-param`), kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericParam {
    /// The parameter name.
    pub name: String,
    /// The value, with quotes kept if it was a quoted string.
    pub value: Option<String>,
}

impl fmt::Display for GenericParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, ";{}={}", self.name, value),
            None => write!(f, ";{}", self.name),
        }
    }
}

/// Splits `input` at every `sep` outside double quotes and angle brackets.
pub(crate) fn split_outside_quotes(input: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle = false;
    let mut start = 0;
    for (at, c) in input.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => angle = true,
            '>' if !in_quotes => angle = false,
            c if c == sep && !in_quotes && !angle => {
                parts.push(&input[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

pub(crate) fn parse_params(input: &str) -> Result<Vec<GenericParam>, Error> {
    let mut params = Vec::new();
    for raw in split_outside_quotes(input, ';') {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let (name, value) = match raw.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().to_string())),
            None => (raw, None),
        };
        if name.is_empty() || !name.bytes().all(crate::parser_utils::is_token) {
            return Err(parse_error("header parameter", raw));
        }
        params.push(GenericParam {
            name: name.to_string(),
            value,
        });
    }
    Ok(params)
}

pub(crate) fn find_param<'a>(params: &'a [GenericParam], name: &str) -> Option<&'a GenericParam> {
    params.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// A `name-addr` or `addr-spec` with header parameters, as in Refer-To, Referred-By and
/// P-Asserted-Identity. The URI is kept as text so URI headers (`?Replaces=...`) survive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, with quotes kept if it was quoted.
    pub display_name: Option<String>,
    /// The URI as written (without the angle brackets).
    pub uri: String,
    /// Header parameters after the URI.
    pub params: Vec<GenericParam>,
}

impl NameAddr {
    /// The URI parsed as an [`Uri`], ignoring URI headers (the part after `?`).
    pub fn parsed_uri(&self) -> Result<Uri, Error> {
        let without_headers = self.uri.split('?').next().unwrap_or("");
        Uri::try_from(without_headers)
    }

    /// The URI headers (`?name=value&...`), names as written, values percent-decoded.
    pub fn uri_headers(&self) -> Vec<(String, String)> {
        let Some((_, headers)) = self.uri.split_once('?') else {
            return Vec::new();
        };
        headers
            .split('&')
            .filter_map(|h| h.split_once('='))
            .map(|(name, value)| (name.to_string(), percent_decode(value)))
            .collect()
    }

    /// The header parameter `name` (case-insensitive), if present.
    pub fn param(&self, name: &str) -> Option<&GenericParam> {
        find_param(&self.params, name)
    }
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match (bytes.get(i), bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(b'%'), Some(h), Some(l)) => match (hex_val(*h), hex_val(*l)) {
                (Some(h), Some(l)) => Some(h * 16 + l),
                _ => None,
            },
            _ => None,
        };
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.extend(bytes.get(i));
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

impl FromStr for NameAddr {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Error> {
        let input = value.trim();
        let (display_name, uri, rest) = if let Some(open) = find_unquoted(input, '<') {
            let close = input[open..]
                .find('>')
                .map(|c| c + open)
                .ok_or_else(|| parse_error("name-addr", value))?;
            let display = input[..open].trim();
            if display.starts_with('"') && !(display.len() >= 2 && display.ends_with('"')) {
                return Err(parse_error("display name", value));
            }
            (
                (!display.is_empty()).then(|| display.to_string()),
                input[open + 1..close].trim(),
                &input[close + 1..],
            )
        } else {
            // addr-spec form: parameters after the URI belong to the header (RFC 3261 §20.10).
            let end = input.find(';').unwrap_or(input.len());
            (None, input[..end].trim(), &input[end..])
        };
        if uri.is_empty() || uri.contains(char::is_whitespace) || !uri.contains(':') {
            return Err(parse_error("URI", value));
        }
        Ok(Self {
            display_name,
            uri: uri.to_string(),
            params: parse_params(rest)?,
        })
    }
}

fn find_unquoted(input: &str, wanted: char) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (at, c) in input.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && in_quotes {
            escaped = true;
        } else if c == '"' {
            in_quotes = !in_quotes;
        } else if c == wanted && !in_quotes {
            return Some(at);
        }
    }
    None
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.display_name {
            write!(f, "{} ", name)?;
        }
        write!(f, "<{}>", self.uri)?;
        self.params.iter().try_for_each(|p| write!(f, "{}", p))
    }
}

macro_rules! name_addr_header {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub NameAddr);

        impl FromStr for $name {
            type Err = Error;
            fn from_str(value: &str) -> Result<Self, Error> {
                value.parse().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::ops::Deref for $name {
            type Target = NameAddr;
            fn deref(&self) -> &NameAddr {
                &self.0
            }
        }

        impl From<$name> for crate::headers::$name {
            fn from(typed: $name) -> Self {
                Self::from(typed.to_string())
            }
        }
    };
}

name_addr_header!(
    /// `Refer-To` (RFC 3515 §2.1): where the REFER recipient should send its request. The URI
    /// may embed headers, notably `?Replaces=` for attended transfer (RFC 3891 §4).
    ReferTo
);
name_addr_header!(
    /// `Referred-By` (RFC 3892): who asked for the transfer.
    ReferredBy
);

impl ReferTo {
    /// The `Replaces` URI header embedded in the Refer-To URI, parsed (RFC 3891 §4).
    pub fn replaces(&self) -> Option<Result<Replaces, Error>> {
        self.0
            .uri_headers()
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("Replaces"))
            .map(|(_, value)| value.parse())
    }
}

/// `P-Asserted-Identity` (RFC 3325 §9.1): one or two comma-separated identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PAssertedIdentity(pub Vec<NameAddr>);

impl FromStr for PAssertedIdentity {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        let ids = split_outside_quotes(value, ',')
            .into_iter()
            .map(str::parse)
            .collect::<Result<Vec<NameAddr>, Error>>()?;
        Ok(Self(ids))
    }
}

impl fmt::Display for PAssertedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            id.fmt(f)?;
        }
        Ok(())
    }
}

impl From<PAssertedIdentity> for crate::headers::PAssertedIdentity {
    fn from(typed: PAssertedIdentity) -> Self {
        Self::from(typed.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refer_to_with_embedded_replaces_is_decoded() {
        let refer: ReferTo =
            "<sip:bob@example.com?Replaces=12345%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>"
                .parse()
                .unwrap();
        let replaces = refer.replaces().unwrap().unwrap();
        assert_eq!(replaces.call_id, "12345@host");
        assert_eq!(replaces.to_tag, "1");
        assert_eq!(replaces.from_tag, "2");
        assert!(!replaces.early_only);
        assert_eq!(
            refer.parsed_uri().unwrap().to_string(),
            "sip:bob@example.com"
        );
    }

    #[test]
    fn p_asserted_identity_takes_two_identities() {
        let pai: PAssertedIdentity = "\"Cullen, J\" <sip:fluffy@cisco.com>, <tel:+14085264000>"
            .parse()
            .unwrap();
        assert_eq!(pai.0.len(), 2);
        assert_eq!(pai.0[0].display_name.as_deref(), Some("\"Cullen, J\""));
        assert_eq!(pai.0[1].uri, "tel:+14085264000");
    }
}
