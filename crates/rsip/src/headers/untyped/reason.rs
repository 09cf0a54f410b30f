use rsip_derives::UntypedHeader;

/// The `Reason` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Reason")]
pub struct Reason(String);

impl Reason {
    /// Parses the value into its [typed](crate::headers::typed::Reason) form.
    pub fn typed(&self) -> Result<crate::headers::typed::Reason, crate::Error> {
        use crate::headers::untyped::UntypedHeader;
        self.value().parse()
    }
}
