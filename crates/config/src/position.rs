//! Turning the TOML parser's byte spans and serde's messages into what an operator reads:
//! `file:line:column` and a precise problem. Shared with every crate that loads a TOML file
//! (the IVR flows), so the rules are written once.

/// 1-based line and character column of byte `offset` in `text`. An offset past the end or
/// inside a UTF-8 sequence is moved back to the nearest character start rather than trusted.
pub fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    (saturate(line), saturate(column))
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What a message from serde's derived deserializers says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerdeMessage {
    /// `unknown field `x`, expected one of ...`.
    UnknownKey {
        /// The key that is not part of the schema.
        key: String,
        /// serde's list of the keys that are.
        expected: String,
    },
    /// `missing field `x``.
    MissingKey {
        /// The required key.
        key: String,
    },
    /// Anything else (a wrong type, an invalid value), with the full text.
    Other(String),
}

/// Classifies a serde message. serde's derive writes these (`serde::de::Error::unknown_field`,
/// `missing_field`); their wording is part of serde's stable behaviour, and anything
/// unrecognised stays [`SerdeMessage::Other`] with the full text, so nothing is lost if it
/// ever changes.
pub fn classify_serde_message(message: String) -> SerdeMessage {
    if let Some((key, tail)) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
    {
        let expected = tail
            .strip_prefix(", expected ")
            .or_else(|| tail.strip_prefix(", "))
            .unwrap_or(tail)
            .to_owned();
        return SerdeMessage::UnknownKey {
            key: key.to_owned(),
            expected,
        };
    }
    if let Some((key, _)) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
    {
        return SerdeMessage::MissingKey {
            key: key.to_owned(),
        };
    }
    SerdeMessage::Other(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_from_one() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // 'é' is two bytes: the '=' after it is byte 10 but the 4th character.
        assert_eq!(line_column(text, 10), (2, 4));
        // Inside the 'é' sequence: moved back to its start.
        assert_eq!(line_column(text, 8), (2, 2));
        assert_eq!(line_column(text, 1_000), (3, 1));
    }

    #[test]
    fn serde_messages_are_classified_and_unknown_ones_kept_whole() {
        assert_eq!(
            classify_serde_message("unknown field `x`, expected `a` or `b`".into()),
            SerdeMessage::UnknownKey {
                key: "x".into(),
                expected: "`a` or `b`".into()
            }
        );
        assert_eq!(
            classify_serde_message("missing field `name`".into()),
            SerdeMessage::MissingKey { key: "name".into() }
        );
        assert_eq!(
            classify_serde_message("invalid type: string".into()),
            SerdeMessage::Other("invalid type: string".into())
        );
    }
}
