#[doc(hidden)]
pub use tokenizer::Tokenizer;

use crate::Error;
use std::convert::TryFrom;

macro_rules! create_methods {
    ($($name:ident),*) => {

        /// The SIP [Request](super::super::Request) method.
        ///
        /// Fork: methods are case-sensitive tokens (RFC 3261 §7.1), so only the exact upper-case
        /// spelling maps to a named variant; any other token is kept as
        /// [`Method::Extension`] so the server can answer 501 (RFC 3261 §21.5.2).
        #[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
        pub enum Method {
            $(
                #[allow(missing_docs)]
                $name,
            )*
            /// An extension method (any other `token`), held inline so `Method` stays `Copy`.
            Extension(ExtensionMethod),
        }

        impl Method {
            /// Every named (non-extension) method.
            pub fn all() -> Vec<Method> {
                vec![
                    $(
                        Self::$name,
                    )*
                ]
            }
        }

        impl std::fmt::Display for Method {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $(
                        Self::$name => f.write_str(Self::$name.as_str()),
                    )*
                    Self::Extension(ext) => f.write_str(ext.as_str()),
                }
            }
        }

        impl<'a> std::convert::TryFrom<tokenizer::Tokenizer<'a, &'a str, char>> for Method {
            type Error = Error;

            fn try_from(tokenizer: tokenizer::Tokenizer<'a, &'a str, char>) -> Result<Self, Self::Error> {
                let part = tokenizer.value.trim();
                $(
                    if part == Method::$name.as_str() {
                        return Ok(Method::$name);
                    }
                )*
                ExtensionMethod::new(part)
                    .map(Method::Extension)
                    .ok_or_else(|| Error::ParseError(format!("invalid method: {}", tokenizer.value)))
            }
        }
    }
}

impl Method {
    /// The method's wire spelling (`INVITE`, `PRACK`, or the extension token as received).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Info => "INFO",
            Self::Invite => "INVITE",
            Self::Message => "MESSAGE",
            Self::Notify => "NOTIFY",
            Self::Options => "OPTIONS",
            Self::PRack => "PRACK",
            Self::Publish => "PUBLISH",
            Self::Refer => "REFER",
            Self::Register => "REGISTER",
            Self::Subscribe => "SUBSCRIBE",
            Self::Update => "UPDATE",
            Self::Extension(ext) => ext.as_str(),
        }
    }

    /// True for [`Method::Extension`]: a method this stack does not know (answer 501).
    pub fn is_extension(&self) -> bool {
        matches!(self, Self::Extension(_))
    }
}

/// An RFC 3261 §25.1 `token` stored inline in a fixed buffer of [`ExtensionToken::MAX_LEN`]
/// bytes, so the enums holding it ([`Method`], [`Transport`](crate::Transport)) stay `Copy`.
///
/// A longer token does not parse (the message layer answers 400). Comparison is byte-exact
/// (case-sensitive, as method names are, RFC 3261 §7.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtensionToken {
    len: u8,
    bytes: [u8; ExtensionToken::MAX_LEN],
}

/// An extension method token (RFC 3261 §25.1 `extension-method = token`).
pub type ExtensionMethod = ExtensionToken;

impl ExtensionToken {
    /// Longest extension-method token accepted, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Wraps `token` when it is a non-empty RFC 3261 `token` of at most [`Self::MAX_LEN`]
    /// bytes; `None` otherwise.
    pub fn new(token: &str) -> Option<Self> {
        let raw = token.as_bytes();
        if raw.is_empty()
            || raw.len() > Self::MAX_LEN
            || !raw.iter().all(|c| crate::parser_utils::is_token(*c))
        {
            return None;
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(Self {
            len: raw.len() as u8,
            bytes,
        })
    }

    /// The token as received.
    pub fn as_str(&self) -> &str {
        // Only token characters (ASCII) are ever stored, see `new`.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::fmt::Debug for ExtensionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtensionToken({:?})", self.as_str())
    }
}

impl std::fmt::Display for ExtensionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

create_methods!(
    Ack, Bye, Cancel, Info, Invite, Message, Notify, Options, PRack, Publish, Refer, Register,
    Subscribe, Update
);

//TODO: not ideal performance here
impl std::str::FromStr for Method {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_from(Tokenizer::from(s))
    }
}

impl<'a> std::convert::TryFrom<tokenizer::Tokenizer<'a, &'a [u8], u8>> for Method {
    type Error = Error;

    fn try_from(tokenizer: tokenizer::Tokenizer<'a, &'a [u8], u8>) -> Result<Self, Self::Error> {
        use std::str::from_utf8;

        let value = from_utf8(tokenizer.value)?;

        Method::try_from(Tokenizer::from(value))
    }
}

#[doc(hidden)]
pub mod tokenizer {
    use crate::{AbstractInput, AbstractInputItem, GResult, GenericNomError, TokenizerError};
    use std::marker::PhantomData;

    #[derive(Debug, PartialEq, Eq, Clone)]
    pub struct Tokenizer<'a, T, I>
    where
        T: AbstractInput<'a, I>,
        I: AbstractInputItem<I>,
    {
        pub value: T,
        phantom1: PhantomData<&'a T>,
        phantom2: PhantomData<I>,
    }

    impl<'a, T, I> From<T> for Tokenizer<'a, T, I>
    where
        T: AbstractInput<'a, I>,
        I: AbstractInputItem<I>,
    {
        fn from(value: T) -> Self {
            Self {
                value,
                phantom1: Default::default(),
                phantom2: Default::default(),
            }
        }
    }

    impl<'a, T, I> Tokenizer<'a, T, I>
    where
        T: AbstractInput<'a, I>,
        I: AbstractInputItem<I>,
    {
        //works for request line
        pub fn tokenize(part: T) -> GResult<T, Self> {
            use nom::bytes::complete::{tag, take_while1};

            let (rem, method) =
                take_while1(I::is_token)(part).map_err(|_: GenericNomError<'a, T>| {
                    TokenizerError::from(("method", part)).into()
                })?;
            //TODO: helpful to return early in case we parse a response but maybe it should not
            //be checked here though
            match tag::<_, _, nom::error::VerboseError<T>>("SIP/")(method) {
                Err(_) => Ok((rem, Self::from(method))),
                Ok(_) => Err(TokenizerError::from(("method", part)).into()),
            }
        }
    }
}

#[cfg(feature = "test-utils")]
impl testing_utils::Randomize for Method {
    fn random() -> Self {
        testing_utils::sample_vec(&Self::all())
    }
}
