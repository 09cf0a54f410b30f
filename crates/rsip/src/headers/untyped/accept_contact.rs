use rsip_derives::UntypedHeader;

/// The `Accept-Contact` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Accept-Contact")]
pub struct AcceptContact(String);
