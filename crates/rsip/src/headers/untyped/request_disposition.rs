use rsip_derives::UntypedHeader;

/// The `Request-Disposition` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Request-Disposition")]
pub struct RequestDisposition(String);
