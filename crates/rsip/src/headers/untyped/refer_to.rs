use rsip_derives::UntypedHeader;

/// The `Refer-To` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Refer-To")]
pub struct ReferTo(String);

impl ReferTo {
    /// Parses the value into its [typed](crate::headers::typed::ReferTo) form.
    pub fn typed(&self) -> Result<crate::headers::typed::ReferTo, crate::Error> {
        use crate::headers::untyped::UntypedHeader;
        self.value().parse()
    }
}
