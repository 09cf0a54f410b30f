use rsip_derives::UntypedHeader;

/// The `Min-SE` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "Min-SE")]
pub struct MinSe(String);

impl MinSe {
    /// Parses the value into its [typed](crate::headers::typed::MinSe) form.
    pub fn typed(&self) -> Result<crate::headers::typed::MinSe, crate::Error> {
        use crate::headers::untyped::UntypedHeader;
        self.value().parse()
    }
}
