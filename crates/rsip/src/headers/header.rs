use crate::headers::untyped::*;

#[doc(hidden)]
pub use tokenizer::Tokenizer;

/// Big enum holding in each variant every possible header defined in SIP. All variants hold an
/// [untyped](super::untyped) header which is basically a NewType around String.
///
/// In case a header is not defined in Rsip, parsing will store it in the `Other`
/// variant, which is a tuple of Strings.
/// For instance, constructing the `X-Fs-Sending-Message` header (related to SMS in SIP),
/// you can do:
/// ```
/// let x_fs_sending_message = rsip::Header::Other("X-FS-Sending-Message".into(), "f9c4adc8-9c2a-47d5-a7f1-63d20784685e".into());
/// ```
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Header {
    Accept(Accept),
    AcceptEncoding(AcceptEncoding),
    AcceptLanguage(AcceptLanguage),
    AlertInfo(AlertInfo),
    Allow(Allow),
    AuthenticationInfo(AuthenticationInfo),
    Authorization(Authorization),
    CSeq(CSeq),
    CallId(CallId),
    CallInfo(CallInfo),
    Contact(Contact),
    ContentDisposition(ContentDisposition),
    ContentEncoding(ContentEncoding),
    ContentLanguage(ContentLanguage),
    ContentLength(ContentLength),
    ContentType(ContentType),
    Date(Date),
    ErrorInfo(ErrorInfo),
    Event(Event),
    Expires(Expires),
    From(From),
    InReplyTo(InReplyTo),
    MaxForwards(MaxForwards),
    MimeVersion(MimeVersion),
    MinExpires(MinExpires),
    Organization(Organization),
    Other(String, String),
    /// `Refer-To` (fork addition).
    ReferTo(ReferTo),
    /// `Referred-By` (fork addition).
    ReferredBy(ReferredBy),
    /// `Replaces` (fork addition).
    Replaces(Replaces),
    /// `Session-Expires` (fork addition).
    SessionExpires(SessionExpires),
    /// `Min-SE` (fork addition).
    MinSe(MinSe),
    /// `Reason` (fork addition).
    Reason(Reason),
    /// `P-Asserted-Identity` (fork addition).
    PAssertedIdentity(PAssertedIdentity),
    /// `RSeq` (fork addition).
    RSeq(RSeq),
    /// `RAck` (fork addition).
    RAck(RAck),
    /// `Allow-Events` (fork addition).
    AllowEvents(AllowEvents),
    /// `Accept-Contact` (fork addition).
    AcceptContact(AcceptContact),
    /// `Reject-Contact` (fork addition).
    RejectContact(RejectContact),
    /// `Request-Disposition` (fork addition).
    RequestDisposition(RequestDisposition),
    /// `Identity` (fork addition).
    Identity(Identity),
    /// `Identity-Info` (fork addition).
    IdentityInfo(IdentityInfo),
    Priority(Priority),
    ProxyAuthenticate(ProxyAuthenticate),
    ProxyAuthorization(ProxyAuthorization),
    ProxyRequire(ProxyRequire),
    RecordRoute(RecordRoute),
    ReplyTo(ReplyTo),
    Require(Require),
    RetryAfter(RetryAfter),
    Route(Route),
    Server(Server),
    Subject(Subject),
    SubscriptionState(SubscriptionState),
    Supported(Supported),
    Timestamp(Timestamp),
    To(To),
    Unsupported(Unsupported),
    UserAgent(UserAgent),
    Via(Via),
    Warning(Warning),
    WwwAuthenticate(WwwAuthenticate),
}

impl std::fmt::Display for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Accept(inner) => write!(f, "{}", inner),
            Self::AcceptEncoding(inner) => write!(f, "{}", inner),
            Self::AcceptLanguage(inner) => write!(f, "{}", inner),
            Self::AlertInfo(inner) => write!(f, "{}", inner),
            Self::Allow(inner) => write!(f, "{}", inner),
            Self::AuthenticationInfo(inner) => write!(f, "{}", inner),
            Self::Authorization(inner) => write!(f, "{}", inner),
            Self::CSeq(inner) => write!(f, "{}", inner),
            Self::CallId(inner) => write!(f, "{}", inner),
            Self::CallInfo(inner) => write!(f, "{}", inner),
            Self::Contact(inner) => write!(f, "{}", inner),
            Self::ContentDisposition(inner) => write!(f, "{}", inner),
            Self::ContentEncoding(inner) => write!(f, "{}", inner),
            Self::ContentLanguage(inner) => write!(f, "{}", inner),
            Self::ContentLength(inner) => write!(f, "{}", inner),
            Self::ContentType(inner) => write!(f, "{}", inner),
            Self::Date(inner) => write!(f, "{}", inner),
            Self::ErrorInfo(inner) => write!(f, "{}", inner),
            Self::Event(inner) => write!(f, "{}", inner),
            Self::Expires(inner) => write!(f, "{}", inner),
            Self::From(inner) => write!(f, "{}", inner),
            Self::InReplyTo(inner) => write!(f, "{}", inner),
            Self::MaxForwards(inner) => write!(f, "{}", inner),
            Self::MimeVersion(inner) => write!(f, "{}", inner),
            Self::MinExpires(inner) => write!(f, "{}", inner),
            Self::Organization(inner) => write!(f, "{}", inner),
            Self::Other(key, value) => write!(f, "{}: {}", key, value),
            Self::ReferTo(inner) => write!(f, "{}", inner),
            Self::ReferredBy(inner) => write!(f, "{}", inner),
            Self::Replaces(inner) => write!(f, "{}", inner),
            Self::SessionExpires(inner) => write!(f, "{}", inner),
            Self::MinSe(inner) => write!(f, "{}", inner),
            Self::Reason(inner) => write!(f, "{}", inner),
            Self::PAssertedIdentity(inner) => write!(f, "{}", inner),
            Self::RSeq(inner) => write!(f, "{}", inner),
            Self::RAck(inner) => write!(f, "{}", inner),
            Self::AllowEvents(inner) => write!(f, "{}", inner),
            Self::AcceptContact(inner) => write!(f, "{}", inner),
            Self::RejectContact(inner) => write!(f, "{}", inner),
            Self::RequestDisposition(inner) => write!(f, "{}", inner),
            Self::Identity(inner) => write!(f, "{}", inner),
            Self::IdentityInfo(inner) => write!(f, "{}", inner),
            Self::Priority(inner) => write!(f, "{}", inner),
            Self::ProxyAuthenticate(inner) => write!(f, "{}", inner),
            Self::ProxyAuthorization(inner) => write!(f, "{}", inner),
            Self::ProxyRequire(inner) => write!(f, "{}", inner),
            Self::RecordRoute(inner) => write!(f, "{}", inner),
            Self::ReplyTo(inner) => write!(f, "{}", inner),
            Self::Require(inner) => write!(f, "{}", inner),
            Self::RetryAfter(inner) => write!(f, "{}", inner),
            Self::Route(inner) => write!(f, "{}", inner),
            Self::Server(inner) => write!(f, "{}", inner),
            Self::Subject(inner) => write!(f, "{}", inner),
            Self::SubscriptionState(inner) => write!(f, "{}", inner),
            Self::Supported(inner) => write!(f, "{}", inner),
            Self::Timestamp(inner) => write!(f, "{}", inner),
            Self::To(inner) => write!(f, "{}", inner),
            Self::Unsupported(inner) => write!(f, "{}", inner),
            Self::UserAgent(inner) => write!(f, "{}", inner),
            Self::Via(inner) => write!(f, "{}", inner),
            Self::Warning(inner) => write!(f, "{}", inner),
            Self::WwwAuthenticate(inner) => write!(f, "{}", inner),
        }
    }
}

#[doc(hidden)]
pub mod tokenizer {
    use super::*;
    use crate::{Error, IResult, TokenizerError};
    use rsip_derives::Utf8Tokenizer;
    use std::convert::TryInto;

    impl<'a> TryInto<Header> for Tokenizer<'a> {
        type Error = Error;

        fn try_into(self) -> Result<Header, Error> {
            let tokenizer: Utf8Tokenizer = self.try_into()?;
            // Fork: folded values are unfolded here (RFC 3261 §7.3.1) and compact names map to
            // their long form (§7.3.3 plus the IANA registry: o, u, r, b, x, a, j, d, y, n).
            let value = unfold(tokenizer.value);
            let value: &str = &value;

            Ok(match tokenizer.name {
                s if s.eq_ignore_ascii_case("Accept") => Header::Accept(Accept::new(value)),
                s if s.eq_ignore_ascii_case("Accept-Contact") || s.eq_ignore_ascii_case("a") => {
                    Header::AcceptContact(AcceptContact::new(value))
                }
                s if s.eq_ignore_ascii_case("Accept-Encoding") => {
                    Header::AcceptEncoding(AcceptEncoding::new(value))
                }
                s if s.eq_ignore_ascii_case("Accept-Language") => {
                    Header::AcceptLanguage(AcceptLanguage::new(value))
                }
                s if s.eq_ignore_ascii_case("Alert-Info") => {
                    Header::AlertInfo(AlertInfo::new(value))
                }
                s if s.eq_ignore_ascii_case("Allow") => Header::Allow(Allow::new(value)),
                s if s.eq_ignore_ascii_case("Allow-Events") || s.eq_ignore_ascii_case("u") => {
                    Header::AllowEvents(AllowEvents::new(value))
                }
                s if s.eq_ignore_ascii_case("Authentication-Info") => {
                    Header::AuthenticationInfo(AuthenticationInfo::new(value))
                }
                s if s.eq_ignore_ascii_case("Authorization") => {
                    Header::Authorization(Authorization::new(value))
                }
                s if s.eq_ignore_ascii_case("CSeq") => Header::CSeq(CSeq::new(value)),
                s if s.eq_ignore_ascii_case("Call-Id") || s.eq_ignore_ascii_case("i") => {
                    Header::CallId(CallId::new(value))
                }
                s if s.eq_ignore_ascii_case("Call-Info") => Header::CallInfo(CallInfo::new(value)),
                s if s.eq_ignore_ascii_case("Contact") || s.eq_ignore_ascii_case("m") => {
                    Header::Contact(Contact::new(value))
                }
                s if s.eq_ignore_ascii_case("Content-Disposition") => {
                    Header::ContentDisposition(ContentDisposition::new(value))
                }
                s if s.eq_ignore_ascii_case("Content-Length") || s.eq_ignore_ascii_case("l") => {
                    Header::ContentLength(ContentLength::new(value))
                }
                s if s.eq_ignore_ascii_case("Content-Type") || s.eq_ignore_ascii_case("c") => {
                    Header::ContentType(ContentType::new(value))
                }
                s if s.eq_ignore_ascii_case("Date") => Header::Date(Date::new(value)),
                s if s.eq_ignore_ascii_case("Error-Info") => {
                    Header::ErrorInfo(ErrorInfo::new(value))
                }
                s if s.eq_ignore_ascii_case("Event") || s.eq_ignore_ascii_case("o") => {
                    Header::Event(Event::new(value))
                }
                s if s.eq_ignore_ascii_case("Expires") => Header::Expires(Expires::new(value)),
                s if s.eq_ignore_ascii_case("From") || s.eq_ignore_ascii_case("f") => {
                    Header::From(From::new(value))
                }
                s if s.eq_ignore_ascii_case("Identity") || s.eq_ignore_ascii_case("y") => {
                    Header::Identity(Identity::new(value))
                }
                s if s.eq_ignore_ascii_case("Identity-Info") || s.eq_ignore_ascii_case("n") => {
                    Header::IdentityInfo(IdentityInfo::new(value))
                }
                s if s.eq_ignore_ascii_case("In-Reply-To") => {
                    Header::InReplyTo(InReplyTo::new(value))
                }
                s if s.eq_ignore_ascii_case("Max-Forwards") => {
                    Header::MaxForwards(MaxForwards::new(value))
                }
                s if s.eq_ignore_ascii_case("Mime-Version") => {
                    Header::MimeVersion(MimeVersion::new(value))
                }
                s if s.eq_ignore_ascii_case("Min-Expires") => {
                    Header::MinExpires(MinExpires::new(value))
                }
                s if s.eq_ignore_ascii_case("Min-SE") => Header::MinSe(MinSe::new(value)),
                s if s.eq_ignore_ascii_case("Organization") => {
                    Header::Organization(Organization::new(value))
                }
                s if s.eq_ignore_ascii_case("P-Asserted-Identity") => {
                    Header::PAssertedIdentity(PAssertedIdentity::new(value))
                }
                s if s.eq_ignore_ascii_case("Priority") => Header::Priority(Priority::new(value)),
                s if s.eq_ignore_ascii_case("Proxy-Authorization") => {
                    Header::ProxyAuthorization(ProxyAuthorization::new(value))
                }
                s if s.eq_ignore_ascii_case("Proxy-Require") => {
                    Header::ProxyRequire(ProxyRequire::new(value))
                }
                s if s.eq_ignore_ascii_case("RAck") => Header::RAck(RAck::new(value)),
                s if s.eq_ignore_ascii_case("RSeq") => Header::RSeq(RSeq::new(value)),
                s if s.eq_ignore_ascii_case("Reason") => Header::Reason(Reason::new(value)),
                s if s.eq_ignore_ascii_case("Record-Route") => {
                    Header::RecordRoute(RecordRoute::new(value))
                }
                s if s.eq_ignore_ascii_case("Refer-To") || s.eq_ignore_ascii_case("r") => {
                    Header::ReferTo(ReferTo::new(value))
                }
                s if s.eq_ignore_ascii_case("Referred-By") || s.eq_ignore_ascii_case("b") => {
                    Header::ReferredBy(ReferredBy::new(value))
                }
                s if s.eq_ignore_ascii_case("Reject-Contact") || s.eq_ignore_ascii_case("j") => {
                    Header::RejectContact(RejectContact::new(value))
                }
                s if s.eq_ignore_ascii_case("Replaces") => Header::Replaces(Replaces::new(value)),
                s if s.eq_ignore_ascii_case("Reply-To") => Header::ReplyTo(ReplyTo::new(value)),
                s if s.eq_ignore_ascii_case("Request-Disposition")
                    || s.eq_ignore_ascii_case("d") =>
                {
                    Header::RequestDisposition(RequestDisposition::new(value))
                }
                s if s.eq_ignore_ascii_case("Require") => Header::Require(Require::new(value)),
                s if s.eq_ignore_ascii_case("Retry-After") => {
                    Header::RetryAfter(RetryAfter::new(value))
                }
                s if s.eq_ignore_ascii_case("Route") => Header::Route(Route::new(value)),
                s if s.eq_ignore_ascii_case("Server") => Header::Server(Server::new(value)),
                s if s.eq_ignore_ascii_case("Session-Expires") || s.eq_ignore_ascii_case("x") => {
                    Header::SessionExpires(SessionExpires::new(value))
                }
                s if s.eq_ignore_ascii_case("Subject") || s.eq_ignore_ascii_case("s") => {
                    Header::Subject(Subject::new(value))
                }
                s if s.eq_ignore_ascii_case("Supported") || s.eq_ignore_ascii_case("k") => {
                    Header::Supported(Supported::new(value))
                }
                s if s.eq_ignore_ascii_case("Timestamp") => {
                    Header::Timestamp(Timestamp::new(value))
                }
                s if s.eq_ignore_ascii_case("To") || s.eq_ignore_ascii_case("t") => {
                    Header::To(To::new(value))
                }
                s if s.eq_ignore_ascii_case("Unsupported") => {
                    Header::Unsupported(Unsupported::new(value))
                }
                s if s.eq_ignore_ascii_case("User-Agent") => {
                    Header::UserAgent(UserAgent::new(value))
                }
                s if s.eq_ignore_ascii_case("Via") || s.eq_ignore_ascii_case("v") => {
                    Header::Via(Via::new(value))
                }
                s if s.eq_ignore_ascii_case("Warning") => Header::Warning(Warning::new(value)),
                s if s.eq_ignore_ascii_case("Content-Encoding") || s.eq_ignore_ascii_case("e") => {
                    Header::ContentEncoding(ContentEncoding::new(value))
                }
                s if s.eq_ignore_ascii_case("Content-Language") => {
                    Header::ContentLanguage(ContentLanguage::new(value))
                }
                s if s.eq_ignore_ascii_case("Proxy-Authenticate") => {
                    Header::ProxyAuthenticate(ProxyAuthenticate::new(value))
                }
                s if s.eq_ignore_ascii_case("Subscription-State") => {
                    Header::SubscriptionState(SubscriptionState::new(value))
                }
                s if s.eq_ignore_ascii_case("WWW-Authenticate") => {
                    Header::WwwAuthenticate(WwwAuthenticate::new(value))
                }
                _ => Header::Other(tokenizer.name.into(), value.into()),
            })
        }
    }

    #[derive(Debug, PartialEq, Eq, Utf8Tokenizer)]
    pub struct Tokenizer<'a> {
        pub name: &'a [u8],
        pub value: &'a [u8],
    }

    impl<'a> Tokenizer<'a> {
        /// Splits one header field off `part`: `token *WSP ":" LWS value CRLF`.
        ///
        /// Fork: whitespace is allowed before the colon (RFC 3261 §7.3.1, `HCOLON`), and the
        /// value runs on across folded lines (CRLF followed by SP or HTAB); the raw value keeps
        /// the folds, they are replaced by a single SP when the header is built.
        pub fn tokenize(part: &'a [u8]) -> IResult<Self> {
            let fail = || nom::Err::Error(TokenizerError::from(("header", part)));
            let name_len = part
                .iter()
                .position(|c| !crate::parser_utils::is_token(*c))
                .unwrap_or(part.len());
            if name_len == 0 {
                return Err(fail());
            }
            let (name, after_name) = part.split_at(name_len);
            let after_ws = trim_start_wsp(after_name);
            let after_colon = match after_ws.split_first() {
                Some((b':', rest)) => rest,
                _ => return Err(fail()),
            };
            let value_start = skip_lws(after_colon);
            let mut end = 0;
            loop {
                match find_crlf(&value_start[end..]) {
                    None => return Ok((&[], (name, value_start).into())),
                    Some(at) => {
                        let crlf = end + at;
                        match value_start.get(crlf + 2) {
                            Some(b' ') | Some(b'\t') => end = crlf + 2,
                            _ => {
                                return Ok((
                                    &value_start[crlf + 2..],
                                    (name, &value_start[..crlf]).into(),
                                ))
                            }
                        }
                    }
                }
            }
        }
    }

    fn find_crlf(input: &[u8]) -> Option<usize> {
        input.windows(2).position(|w| w == b"\r\n")
    }

    fn trim_start_wsp(input: &[u8]) -> &[u8] {
        let skip = input
            .iter()
            .position(|c| *c != b' ' && *c != b'\t')
            .unwrap_or(input.len());
        &input[skip..]
    }

    /// Skips `LWS = [*WSP CRLF] 1*WSP` (and plain `*WSP`) after the colon.
    fn skip_lws(input: &[u8]) -> &[u8] {
        let rest = trim_start_wsp(input);
        match rest {
            [b'\r', b'\n', b' ' | b'\t', ..] => trim_start_wsp(&rest[2..]),
            _ => rest,
        }
    }

    /// Replaces every fold (CRLF followed by white space) with a single SP and trims trailing
    /// white space (RFC 3261 §7.3.1: a fold is equivalent to one SP).
    pub(crate) fn unfold(value: &str) -> std::borrow::Cow<'_, str> {
        let value = value.trim_end_matches([' ', '\t']);
        if !value.contains("\r\n") {
            return std::borrow::Cow::Borrowed(value);
        }
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(at) = rest.find("\r\n") {
            out.push_str(rest[..at].trim_end_matches([' ', '\t']));
            out.push(' ');
            rest = rest[at + 2..].trim_start_matches([' ', '\t']);
        }
        out.push_str(rest);
        std::borrow::Cow::Owned(out)
    }

    impl<'a> std::convert::From<(&'a [u8], &'a [u8])> for Tokenizer<'a> {
        fn from(tuple: (&'a [u8], &'a [u8])) -> Self {
            Self {
                name: tuple.0,
                value: tuple.1,
            }
        }
    }
}
