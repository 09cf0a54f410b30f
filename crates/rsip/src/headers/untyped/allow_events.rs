use rsip_derives::UntypedHeader;

/// The `Allow-Events` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Allow-Events")]
pub struct AllowEvents(String);
