use rsip_derives::UntypedHeader;

/// The `RAck` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "RAck")]
pub struct RAck(String);

impl RAck {
    /// Parses the value into its [typed](crate::headers::typed::RAck) form.
    pub fn typed(&self) -> Result<crate::headers::typed::RAck, crate::Error> {
        use crate::headers::untyped::UntypedHeader;
        self.value().parse()
    }
}
