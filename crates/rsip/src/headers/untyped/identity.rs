use rsip_derives::UntypedHeader;

/// The `Identity` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Identity")]
pub struct Identity(String);
