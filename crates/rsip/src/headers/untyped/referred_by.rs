use rsip_derives::UntypedHeader;

/// The `Referred-By` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Referred-By")]
pub struct ReferredBy(String);

impl ReferredBy {
    /// Parses the value into its [typed](crate::headers::typed::ReferredBy) form.
    pub fn typed(&self) -> Result<crate::headers::typed::ReferredBy, crate::Error> {
        use crate::headers::untyped::UntypedHeader;
        self.value().parse()
    }
}
