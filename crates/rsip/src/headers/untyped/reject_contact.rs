use rsip_derives::UntypedHeader;

/// The `Reject-Contact` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Reject-Contact")]
pub struct RejectContact(String);
