use crate::{
    common::{
        transport,
        uri::{self, param},
        version,
    },
    headers::typed::Tokenize,
    Error,
};

#[derive(Eq, PartialEq, Debug)]
pub struct ViaTokenizer<'a> {
    pub version: version::Tokenizer<'a, &'a str, char>,
    pub transport: transport::Tokenizer<'a, &'a str, char>,
    pub uri: uri::Tokenizer<'a, &'a str, char>,
    pub params: Vec<uri::param::Tokenizer<'a, &'a str, char>>,
}

impl<'a> Tokenize<'a> for ViaTokenizer<'a> {
    fn tokenize(part: &'a str) -> Result<Self, Error> {
        use nom::multi::many0;

        // Switchboard fork: RFC 3261 §25.1 `sent-protocol = protocol-name SLASH protocol-version
        // SLASH transport` with `SLASH = SWS "/" SWS`, then LWS before sent-by; upstream accepted
        // only `SIP/2.0/UDP host` (RFC 4475 §3.1.1.1 wsinv puts whitespace around the slashes).
        let error = || Error::tokenizer(("via (typed) header", part));
        let (name, rest) = part.split_once('/').ok_or_else(error)?;
        if !name.trim().eq_ignore_ascii_case("SIP") {
            return Err(error());
        }
        let (version, rest) = rest.split_once('/').ok_or_else(error)?;
        let (major, minor) = version.trim().split_once('.').ok_or_else(error)?;
        let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !is_digits(major) || !is_digits(minor) {
            return Err(error());
        }
        let rest = rest.trim_start();
        let transport_end = rest.find(char::is_whitespace).ok_or_else(error)?;
        let (transport, rest) = rest.split_at(transport_end);
        let rest = rest.trim_start();

        let (rem, uri) = uri::Tokenizer::tokenize_without_params(rest).map_err(|_| error())?;
        let (_, params) = many0(param::Tokenizer::tokenize)(rem).map_err(|_| error())?;

        Ok(Self {
            version: version::Tokenizer::from((major, minor)),
            transport: transport::Tokenizer::from(transport),
            uri,
            params,
        })
    }
}
