use rsip_derives::UntypedHeader;

/// The `RSeq` header in its [untyped](super) form (added by the Switchboard fork).
#[derive(UntypedHeader, Debug, PartialEq, Eq, Clone)]
#[header(display_name = "RSeq")]
pub struct RSeq(String);

impl RSeq {
    /// Parses the value into its [typed](crate::headers::typed::RSeq) form.
    pub fn typed(&self) -> Result<crate::headers::typed::RSeq, crate::Error> {
        use crate::headers::untyped::UntypedHeader;
        self.value().parse()
    }
}
