//! Byte-level scanning of a SIP message head, shared by framing, parsing and error responses.
//!
//! Works on raw bytes before any full parse, so it must tolerate anything: it never indexes
//! outside the input and never panics.

use super::error::ParseError;

/// Where the head of a message ends: the index just past the empty line (CRLF CRLF).
pub(crate) fn head_end(buf: &[u8]) -> Option<usize> {
    // Jump from CR to CR (a plain byte search the compiler vectorises) rather than comparing
    // every 4-byte window.
    let mut from = 0;
    while let Some(offset) = buf.get(from..)?.iter().position(|c| *c == b'\r') {
        let at = from + offset;
        if buf.get(at..at + 4) == Some(b"\r\n\r\n") {
            return Some(at + 4);
        }
        from = at + 1;
    }
    None
}

/// Number of leading CRLF pairs' bytes (RFC 3261 §7.5: CRLFs before a start line are ignored).
pub(crate) fn leading_crlf(buf: &[u8]) -> usize {
    buf.chunks(2).take_while(|c| *c == b"\r\n").count() * 2
}

/// One header field of a head, its value still folded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawField<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) value: &'a [u8],
    /// `Known::from_name(name)`, computed once.
    known: Option<Known>,
}

impl<'a> RawField<'a> {
    /// The value with folds replaced by one SP and outer white space trimmed (RFC 3261 §7.3.1).
    pub(crate) fn unfolded(&self) -> String {
        if let Ok(text) = std::str::from_utf8(self.value)
            && !text.contains('\n')
        {
            return text.trim().to_string(); // the common case: one line, valid UTF-8
        }
        let text = String::from_utf8_lossy(self.value);
        let mut out = String::with_capacity(text.len());
        for (i, line) in text.split("\r\n").enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(line.trim_matches([' ', '\t']));
        }
        out.trim().to_string()
    }

    /// A field named `name` (value unused by the caller).
    pub(crate) fn named(name: &'a [u8], value: &'a [u8]) -> Self {
        Self {
            name,
            value,
            known: Known::from_name(name),
        }
    }

    /// The canonical name when this is one of the headers the message layer looks at itself.
    pub(crate) fn known(&self) -> Option<Known> {
        self.known
    }
}

/// Headers the message layer reads from raw bytes (framing, validation, error responses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    Via,
    From,
    To,
    CallId,
    CSeq,
    ContentLength,
    MaxForwards,
}

impl Known {
    /// Every variant, in `index` order.
    pub(crate) const ALL: [Known; 7] = [
        Self::Via,
        Self::From,
        Self::To,
        Self::CallId,
        Self::CSeq,
        Self::ContentLength,
        Self::MaxForwards,
    ];

    /// Position in [`Known::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    fn from_name(name: &[u8]) -> Option<Self> {
        let is = |long: &str, short: &str| {
            name.eq_ignore_ascii_case(long.as_bytes())
                || (!short.is_empty() && name.eq_ignore_ascii_case(short.as_bytes()))
        };
        // Compact forms per RFC 3261 §7.3.3.
        Some(if is("Via", "v") {
            Self::Via
        } else if is("From", "f") {
            Self::From
        } else if is("To", "t") {
            Self::To
        } else if is("Call-ID", "i") {
            Self::CallId
        } else if is("CSeq", "") {
            Self::CSeq
        } else if is("Content-Length", "l") {
            Self::ContentLength
        } else if is("Max-Forwards", "") {
            Self::MaxForwards
        } else {
            return None;
        })
    }

    /// The header's canonical name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Via => "Via",
            Self::From => "From",
            Self::To => "To",
            Self::CallId => "Call-ID",
            Self::CSeq => "CSeq",
            Self::ContentLength => "Content-Length",
            Self::MaxForwards => "Max-Forwards",
        }
    }
}

/// A message head split into its start line and header fields.
#[derive(Debug)]
pub(crate) struct RawHead<'a> {
    pub(crate) start_line: &'a [u8],
    pub(crate) fields: Vec<RawField<'a>>,
}

/// Splits `head` (start line, header lines, without the final empty line) into fields.
/// Lines that are neither `name: value` nor a fold are reported as [`ParseError::MalformedHeader`],
/// lines longer than `max_line` bytes as [`ParseError::HeaderLineTooLong`].
pub(crate) fn split_head(head: &[u8], max_line: usize) -> Result<RawHead<'_>, ParseError> {
    // Every LF of the head must close a CRLF (RFC 3261 §7), so that this scanner and the
    // fork's parser agree on where each line ends.
    let mut from = 0;
    while let Some(at) = head
        .get(from..)
        .and_then(|r| r.iter().position(|c| *c == b'\n'))
    {
        let lf = from + at;
        if lf == 0 || head.get(lf - 1) != Some(&b'\r') {
            return Err(ParseError::BareLineFeed);
        }
        from = lf + 1;
    }
    let mut lines = LineIter {
        rest: head,
        offset: 0,
    };
    let too_long = |line: &[u8]| line.len() > max_line;
    let start_line = lines.next().map(|(_, line)| line).unwrap_or(&[]);
    if too_long(start_line) {
        return Err(ParseError::HeaderLineTooLong { max: max_line });
    }
    let mut fields: Vec<RawField<'_>> = Vec::new();
    let mut current: Option<(usize, usize)> = None; // (start, end) offsets of the field in head
    for (offset, line) in lines {
        if too_long(line) {
            return Err(ParseError::HeaderLineTooLong { max: max_line });
        }
        if line.first().is_some_and(|c| *c == b' ' || *c == b'\t') {
            // A fold continues the previous field.
            match current.as_mut() {
                Some((_, end)) => *end = offset + line.len(),
                None => return Err(ParseError::MalformedHeader),
            }
            continue;
        }
        if let Some((start, end)) = current.take() {
            fields.push(field(head.get(start..end).unwrap_or(&[]))?);
        }
        current = Some((offset, offset + line.len()));
    }
    if let Some((start, end)) = current {
        fields.push(field(head.get(start..end).unwrap_or(&[]))?);
    }
    Ok(RawHead { start_line, fields })
}

fn field(raw: &[u8]) -> Result<RawField<'_>, ParseError> {
    let colon = raw
        .iter()
        .position(|c| *c == b':')
        .ok_or(ParseError::MalformedHeader)?;
    let (name, value) = raw.split_at(colon);
    let name = trim_wsp(name);
    if name.is_empty() || !name.iter().all(|c| is_token(*c)) {
        return Err(ParseError::MalformedHeader);
    }
    Ok(RawField::named(
        name,
        trim_wsp(value.get(1..).unwrap_or(&[])),
    ))
}

/// RFC 3261 §25.1 `token` characters.
pub(crate) fn is_token(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c)
}

fn trim_wsp(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r' | b'\n', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r' | b'\n'] = s {
        s = rest;
    }
    s
}

/// Lines of a head with their offsets, split at CRLF (a bare LF also ends a line, to stay
/// total on odd input).
struct LineIter<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for LineIter<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        if self.rest.is_empty() {
            return None;
        }
        let start = self.offset;
        let (line, consumed) = match self.rest.iter().position(|c| *c == b'\n') {
            Some(at) => (self.rest.get(..at).unwrap_or(&[]), at + 1),
            None => (self.rest, self.rest.len()),
        };
        self.rest = self.rest.get(consumed..).unwrap_or(&[]);
        self.offset += consumed;
        Some((start, line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

/// The message's Content-Length, checking every occurrence: each must be a decimal number, and
/// all must agree (RFC 4475 §3.1.2.3 negative value, §3.3.9 two different values).
pub(crate) fn content_length(fields: &[RawField<'_>]) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    for f in fields
        .iter()
        .filter(|f| f.known() == Some(Known::ContentLength))
    {
        let text = f.unfolded();
        if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::InvalidContentLength(text));
        }
        let value: usize = text
            .parse()
            .map_err(|_| ParseError::InvalidContentLength(text.clone()))?;
        match found {
            Some(previous) if previous != value => {
                return Err(ParseError::ConflictingContentLength {
                    first: previous,
                    second: value,
                });
            }
            _ => found = Some(value),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_fields_are_joined_and_names_compact_mapped() {
        let head = b"OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1\r\nl : 0";
        let raw = split_head(head, usize::MAX).unwrap();
        assert_eq!(raw.start_line, b"OPTIONS sip:a@b SIP/2.0");
        assert_eq!(raw.fields.len(), 2);
        assert_eq!(raw.fields[0].known(), Some(Known::Via));
        assert_eq!(raw.fields[0].unfolded(), "SIP/2.0/UDP h ;branch=z9hG4bK1");
        assert_eq!(content_length(&raw.fields).unwrap(), Some(0));
    }

    #[test]
    fn conflicting_and_negative_content_lengths_are_errors() {
        let raw = split_head(b"X sip:a SIP/2.0\r\nContent-Length: 13\r\nl: 5", usize::MAX).unwrap();
        assert!(matches!(
            content_length(&raw.fields),
            Err(ParseError::ConflictingContentLength {
                first: 13,
                second: 5
            })
        ));
        let raw = split_head(b"X sip:a SIP/2.0\r\nContent-Length: -999", usize::MAX).unwrap();
        assert!(matches!(
            content_length(&raw.fields),
            Err(ParseError::InvalidContentLength(_))
        ));
    }

    #[test]
    fn repeated_equal_content_lengths_are_one_value() {
        let raw = split_head(b"X sip:a SIP/2.0\r\nContent-Length: 5\r\nl: 5", usize::MAX).unwrap();
        assert_eq!(content_length(&raw.fields).unwrap(), Some(5));
        let raw = split_head(b"X sip:a SIP/2.0\r\nContent-Length: 5x", usize::MAX).unwrap();
        assert!(content_length(&raw.fields).is_err());
    }

    #[test]
    fn overlong_lines_are_refused_while_splitting() {
        assert_eq!(
            split_head(b"X sip:a SIP/2.0\r\nX-Long: 0123456789", 12).unwrap_err(),
            ParseError::HeaderLineTooLong { max: 12 }
        );
    }

    #[test]
    fn a_fold_before_any_field_is_malformed() {
        assert!(matches!(
            split_head(b"X sip:a SIP/2.0\r\n continued", usize::MAX),
            Err(ParseError::MalformedHeader)
        ));
    }
}
