//! Checks of single values: numbers in range, durations, addresses, names, networks, URIs,
//! uniqueness.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use ipnet::IpNet;
use toml::Spanned;

use super::{MAX_NAME_CHARS, NAME_RULE, Result, SKILL_RULE, Validator};
use crate::error::{ConfigProblem, ItemKind};
use crate::names::SipUri;
use crate::requirement::{is_keyword, is_name_char};

impl Validator<'_> {
    pub(super) fn number(
        &self,
        key: &'static str,
        value: &Spanned<i64>,
        min: i64,
        max: i64,
    ) -> Result<i64> {
        let n = *value.get_ref();
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(self.error(
                value.span(),
                ConfigProblem::OutOfRange {
                    key,
                    value: n,
                    min,
                    max,
                },
            ))
        }
    }

    /// A count: `default` when absent, else checked against `min..=max`.
    pub(super) fn count(
        &self,
        key: &'static str,
        value: Option<&Spanned<i64>>,
        default: u64,
        min: u32,
        max: u32,
    ) -> Result<u64> {
        match value {
            None => Ok(default),
            // In range, so non-negative: the conversion cannot fail.
            Some(value) => Ok(self
                .number(key, value, min.into(), max.into())?
                .unsigned_abs()),
        }
    }

    pub(super) fn seconds(
        &self,
        key: &'static str,
        value: Option<&Spanned<i64>>,
        default: Duration,
        min: u32,
        max: u32,
    ) -> Result<Duration> {
        Ok(match value {
            None => default,
            Some(_) => Duration::from_secs(self.count(key, value, 0, min, max)?),
        })
    }

    pub(super) fn millis(
        &self,
        key: &'static str,
        value: Option<&Spanned<i64>>,
        default: Duration,
        min: u32,
        max: u32,
    ) -> Result<Duration> {
        Ok(match value {
            None => default,
            Some(_) => Duration::from_millis(self.count(key, value, 0, min, max)?),
        })
    }

    /// Seconds where 0 means "off".
    pub(super) fn optional_seconds(
        &self,
        key: &'static str,
        value: Option<&Spanned<i64>>,
        default: Option<Duration>,
        max: u32,
    ) -> Result<Option<Duration>> {
        Ok(match value {
            None => default,
            Some(_) => Some(self.count(key, value, 0, 0, max)?)
                .filter(|&s| s > 0)
                .map(Duration::from_secs),
        })
    }

    pub(super) fn socket(
        &self,
        key: &'static str,
        value: Option<&Spanned<String>>,
        default: SocketAddr,
    ) -> Result<SocketAddr> {
        let Some(value) = value else {
            return Ok(default);
        };
        value.get_ref().parse().map_err(|_| {
            self.error(
                value.span(),
                ConfigProblem::InvalidSocketAddr {
                    key,
                    value: value.get_ref().clone(),
                },
            )
        })
    }

    pub(super) fn non_empty(&self, key: &'static str, value: &Spanned<String>) -> Result<String> {
        if value.get_ref().trim().is_empty() {
            return Err(self.error(value.span(), ConfigProblem::Empty { key }));
        }
        Ok(value.get_ref().clone())
    }

    /// A name: non-empty, at most 64 characters, each allowed by `allowed` (and the first by
    /// `first`).
    pub(super) fn name_with(
        &self,
        key: &'static str,
        value: &Spanned<String>,
        rule: &'static str,
        first: fn(char) -> bool,
        allowed: fn(char) -> bool,
    ) -> Result<String> {
        let text = value.get_ref();
        if text.is_empty() {
            return Err(self.error(value.span(), ConfigProblem::Empty { key }));
        }
        let valid = text.chars().count() <= MAX_NAME_CHARS
            && text.chars().next().is_some_and(first)
            && text.chars().all(allowed);
        if !valid {
            return Err(self.error(
                value.span(),
                ConfigProblem::InvalidName {
                    key,
                    value: text.clone(),
                    rule,
                },
            ));
        }
        Ok(text.clone())
    }

    pub(super) fn name(&self, key: &'static str, value: &Spanned<String>) -> Result<String> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        self.name_with(key, value, NAME_RULE, allowed, allowed)
    }

    pub(super) fn skill_name(&self, key: &'static str, value: &Spanned<String>) -> Result<String> {
        let name = self.name_with(
            key,
            value,
            SKILL_RULE,
            |c| c.is_ascii_alphabetic() || c == '_',
            is_name_char,
        )?;
        if is_keyword(&name) {
            return Err(self.error(
                value.span(),
                ConfigProblem::InvalidName {
                    key,
                    value: name,
                    rule: SKILL_RULE,
                },
            ));
        }
        Ok(name)
    }

    /// Remembers `name` (declared at `span`) or reports it as the second declaration.
    pub(super) fn unique(
        &self,
        seen: &mut HashMap<String, usize>,
        name: &str,
        span: Range<usize>,
        kind: ItemKind,
    ) -> Result<()> {
        if let Some(&first) = seen.get(name) {
            return Err(self.error(
                span,
                ConfigProblem::Duplicate {
                    kind,
                    name: name.to_owned(),
                    first_line: self.line_of(first),
                },
            ));
        }
        seen.insert(name.to_owned(), span.start);
        Ok(())
    }

    /// Names declared by a list of tables, checked and unique, so later sections can refer to
    /// items declared after them.
    pub(super) fn declared<T>(
        &self,
        items: &[T],
        name_of: fn(&T) -> &Spanned<String>,
        kind: ItemKind,
    ) -> Result<HashMap<String, usize>> {
        let mut seen = HashMap::new();
        for item in items {
            let spanned = name_of(item);
            let name = self.name("name", spanned)?;
            self.unique(&mut seen, &name, spanned.span(), kind)?;
        }
        Ok(seen)
    }

    pub(super) fn ordered(
        &self,
        lower: (&'static str, u64),
        upper: (&'static str, u64),
        span: Option<Range<usize>>,
    ) -> Result<()> {
        if lower.1 <= upper.1 {
            return Ok(());
        }
        Err(self.error(
            span.unwrap_or(0..0),
            ConfigProblem::Misordered {
                lower: lower.0,
                lower_value: lower.1,
                upper: upper.0,
                upper_value: upper.1,
            },
        ))
    }

    /// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). A network with host
    /// bits set (`10.1.2.3/8`) is refused with the network it probably meant: silently
    /// widening or narrowing an allow-list is how trunks get opened to the world.
    pub(super) fn network(&self, value: &Spanned<String>) -> Result<IpNet> {
        let text = value.get_ref().trim();
        let invalid = |reason: String| {
            self.error(
                value.span(),
                ConfigProblem::InvalidCidr {
                    value: value.get_ref().clone(),
                    reason,
                },
            )
        };
        if !text.contains('/') {
            return text
                .parse::<std::net::IpAddr>()
                .map(IpNet::from)
                .map_err(|_| invalid("not an IP address or network (e.g. 10.0.0.0/8)".to_owned()));
        }
        let network: IpNet = text.parse().map_err(|_| {
            invalid("expected address/prefix-length, e.g. 10.0.0.0/8 or 2001:db8::/32 (prefix at most 32 for IPv4, 128 for IPv6)".to_owned())
        })?;
        if network.trunc() != network {
            return Err(invalid(format!(
                "host bits are set; did you mean {}?",
                network.trunc()
            )));
        }
        Ok(network)
    }

    pub(super) fn uri(&self, key: &'static str, value: &Spanned<String>) -> Result<SipUri> {
        SipUri::parse(value.get_ref()).ok_or_else(|| {
            self.error(
                value.span(),
                ConfigProblem::InvalidUri {
                    key,
                    value: value.get_ref().clone(),
                },
            )
        })
    }
}
