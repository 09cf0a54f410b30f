use crate::{common::uri, headers::typed::Tokenize, Error};

#[derive(Eq, PartialEq, Clone, Debug)]
pub struct DisplayUriParamsTokenizer<'a> {
    pub display_name: Option<&'a str>,
    pub uri: uri::Tokenizer<'a, &'a str, char>,
    pub params: Vec<uri::param::Tokenizer<'a, &'a str, char>>,
}

impl<'a> Tokenize<'a> for DisplayUriParamsTokenizer<'a> {
    fn tokenize(part: &'a str) -> Result<Self, Error> {
        use nom::{
            bytes::complete::{tag, take_until},
            combinator::rest,
            error::VerboseError,
            sequence::tuple,
        };

        if part.contains('<') {
            let (_, (display_name, _, uri, _, params)) = tuple::<_, _, VerboseError<&str>, _>((
                take_until("<"),
                tag("<"),
                take_until(">"),
                tag(">"),
                rest,
            ))(part)
            .map_err(|_| Error::tokenizer(("header parts", part)))?;

            let params = header_params(params)
                .ok_or_else(|| Error::tokenizer(("params tokenizing left trailing input", part)))?;

            Ok(Self {
                display_name: crate::utils::opt_trim(display_name),
                uri: uri::Tokenizer::tokenize(uri)
                    .map_err(|_| Error::tokenizer(("URI in addr-spec", part)))?
                    .1,
                params,
            })
        } else {
            let (params, uri) = uri::Tokenizer::tokenize_without_params(part)?;
            let params =
                header_params(params).ok_or_else(|| Error::tokenizer(("header params", part)))?;

            Ok(Self {
                display_name: None,
                uri,
                params,
            })
        }
    }
}

/// Fork: header parameters (`*(SEMI generic-param)`, RFC 3261 §25.1) where a value may be a
/// token, a host or a quoted string (RFC 4475 §3.1.1.2 has `;p="UTF-8 text"`), with optional
/// white space around `;` and `=`. Upstream accepted token values only.
fn header_params(input: &str) -> Option<Vec<uri::param::Tokenizer<'_, &str, char>>> {
    let input = input.trim();
    if input.is_empty() {
        return Some(Vec::new());
    }
    let mut parts = crate::headers::typed::name_addr::split_outside_quotes(input, ';').into_iter();
    if !parts.next()?.trim().is_empty() {
        return None;
    }
    parts
        .map(|raw| {
            let (name, value) = match raw.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim())),
                None => (raw.trim(), None),
            };
            let valid = !name.is_empty()
                && name.bytes().all(crate::parser_utils::is_token)
                && value.is_none_or(|v| !v.is_empty());
            valid.then(|| (name, value).into())
        })
        .collect()
}
