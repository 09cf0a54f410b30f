use rsip_derives::UntypedHeader;

/// The `P-Asserted-Identity` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "P-Asserted-Identity")]
pub struct PAssertedIdentity(String);

impl PAssertedIdentity {
    /// Parses the value into its [typed](crate::headers::typed::PAssertedIdentity) form.
    pub fn typed(&self) -> Result<crate::headers::typed::PAssertedIdentity, crate::Error> {
        use crate::headers::untyped::UntypedHeader;
        self.value().parse()
    }
}
