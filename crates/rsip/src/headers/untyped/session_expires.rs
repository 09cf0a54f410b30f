use rsip_derives::UntypedHeader;

/// The `Session-Expires` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Session-Expires")]
pub struct SessionExpires(String);

impl SessionExpires {
    /// Parses the value into its [typed](crate::headers::typed::SessionExpires) form.
    pub fn typed(&self) -> Result<crate::headers::typed::SessionExpires, crate::Error> {
        use crate::headers::untyped::UntypedHeader;
        self.value().parse()
    }
}
