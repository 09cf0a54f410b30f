use rsip_derives::UntypedHeader;

/// The `Replaces` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Replaces")]
pub struct Replaces(String);

impl Replaces {
    /// Parses the value into its [typed](crate::headers::typed::Replaces) form.
    pub fn typed(&self) -> Result<crate::headers::typed::Replaces, crate::Error> {
        use crate::headers::untyped::UntypedHeader;
        self.value().parse()
    }
}
