//! Parsing and validation of request fields: AIP-122 resource names, request ids, targets,
//! digits, call data. Every failure is `INVALID_ARGUMENT` naming the field.

use std::collections::HashMap;

use crate::error::ApiError;
use crate::pb;
use crate::seam::{LegRef, Target};

/// Largest total call data (sum of key and value bytes), as Genesys' UserData default.
pub const CALL_DATA_LIMIT: usize = 16 * 1024;

/// Longest call data key.
const MAX_KEY: usize = 64;

/// Longest request id (a UUID's text form).
const MAX_REQUEST_ID: usize = 36;

/// Longest id or configuration name.
const MAX_ID: usize = 64;

fn id(field: &'static str, value: &str) -> Result<String, ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if value.len() > MAX_ID {
        return Err(ApiError::invalid(
            field,
            format!("longer than {MAX_ID} bytes"),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+' | b'@'))
    {
        return Err(ApiError::invalid(
            field,
            format!("{value:?} has characters outside [A-Za-z0-9-_.+@]"),
        ));
    }
    Ok(value.to_owned())
}

/// `calls/{call_id}` or a bare call id.
pub(crate) fn call(field: &'static str, name: &str) -> Result<String, ApiError> {
    id(field, name.strip_prefix("calls/").unwrap_or(name))
}

/// `calls/{call_id}/legs/{leg_id}`.
pub(crate) fn leg(field: &'static str, name: &str) -> Result<LegRef, ApiError> {
    let rest = name
        .strip_prefix("calls/")
        .ok_or_else(|| ApiError::invalid(field, "expected calls/{call_id}/legs/{leg_id}"))?;
    let (call_id, leg_id) = rest
        .split_once("/legs/")
        .ok_or_else(|| ApiError::invalid(field, "expected calls/{call_id}/legs/{leg_id}"))?;
    Ok(LegRef {
        call_id: id(field, call_id)?,
        leg_id: id(field, leg_id)?,
    })
}

/// `agents/{agent}` or a bare agent id.
pub(crate) fn agent(field: &'static str, name: &str) -> Result<String, ApiError> {
    id(field, name.strip_prefix("agents/").unwrap_or(name))
}

/// `queues/{queue}` or a bare queue name.
pub(crate) fn queue(field: &'static str, name: &str) -> Result<String, ApiError> {
    id(field, name.strip_prefix("queues/").unwrap_or(name))
}

/// The client's request id, or a new UUIDv7.
pub(crate) fn request_id(value: &str) -> Result<String, ApiError> {
    if value.is_empty() {
        return Ok(uuid::Uuid::now_v7().to_string());
    }
    if value.len() > MAX_REQUEST_ID || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "request_id",
            format!("at most {MAX_REQUEST_ID} printable ASCII characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A client-chosen call id (a UUID), or a new UUIDv7.
pub(crate) fn new_call_id(value: &str) -> Result<String, ApiError> {
    if value.is_empty() {
        return Ok(uuid::Uuid::now_v7().to_string());
    }
    uuid::Uuid::parse_str(value)
        .map(|u| u.hyphenated().to_string())
        .map_err(|e| ApiError::invalid("call_id", format!("not a UUID: {e}")))
}

/// A transfer or consultation target.
pub(crate) fn target(target: Option<&pb::TransferTarget>) -> Result<Target, ApiError> {
    use pb::transfer_target::Target as T;
    match target.and_then(|t| t.target.as_ref()) {
        Some(T::Agent(a)) => Ok(Target::Agent(agent("target.agent", a)?)),
        Some(T::Queue(q)) => Ok(Target::Queue(queue("target.queue", q)?)),
        Some(T::Number(n)) => Ok(Target::Number(number("target.number", n)?)),
        None => Err(ApiError::invalid(
            "target",
            "one of agent, queue, number is required",
        )),
    }
}

/// A dialable number or SIP URI.
pub(crate) fn number(field: &'static str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.len() > 256 {
        return Err(ApiError::invalid(field, "1 to 256 characters"));
    }
    if value
        .bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'<' || b == b'>')
    {
        return Err(ApiError::invalid(
            field,
            "contains spaces, controls or angle brackets",
        ));
    }
    Ok(value.to_owned())
}

/// DTMF digits: 0-9 * # A-D, 1 to 32 of them.
pub(crate) fn digits(value: &str) -> Result<String, ApiError> {
    if value.is_empty() || value.len() > 32 {
        return Err(ApiError::invalid("digits", "1 to 32 digits"));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !matches!(c, '0'..='9' | '*' | '#' | 'A'..='D' | 'a'..='d'))
    {
        return Err(ApiError::invalid(
            "digits",
            format!("{bad:?} is not a DTMF digit"),
        ));
    }
    Ok(value.to_ascii_uppercase())
}

/// Checks call data keys and the total size of what is set.
pub(crate) fn call_data(
    field: &'static str,
    data: &HashMap<String, String>,
) -> Result<HashMap<String, String>, ApiError> {
    let mut size = 0;
    for (key, value) in data {
        if key.is_empty() || key.len() > MAX_KEY {
            return Err(ApiError::invalid(
                field,
                format!("key {key:?}: 1 to {MAX_KEY} bytes"),
            ));
        }
        size += key.len() + value.len();
    }
    if size > CALL_DATA_LIMIT {
        return Err(ApiError::CallDataTooLarge {
            size,
            limit: CALL_DATA_LIMIT,
        });
    }
    Ok(data.clone())
}

/// An optional string: empty is none.
pub(crate) fn optional(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leg_names_need_both_ids() {
        let l = leg("leg", "calls/c1/legs/l2").unwrap();
        assert_eq!((l.call_id.as_str(), l.leg_id.as_str()), ("c1", "l2"));
        for bad in [
            "c1/legs/l2",
            "calls/c1",
            "calls//legs/l2",
            "calls/c1/legs/",
            "calls/c 1/legs/x",
        ] {
            assert_eq!(
                leg("leg", bad).unwrap_err().reason(),
                "INVALID_ARGUMENT",
                "{bad}"
            );
        }
    }

    #[test]
    fn call_data_over_16_kib_is_refused_with_its_size() {
        let data = HashMap::from([("k".to_owned(), "x".repeat(CALL_DATA_LIMIT))]);
        assert_eq!(
            call_data("set", &data).unwrap_err(),
            ApiError::CallDataTooLarge {
                size: CALL_DATA_LIMIT + 1,
                limit: CALL_DATA_LIMIT
            }
        );
    }

    #[test]
    fn dtmf_accepts_rfc4733_digits_only() {
        assert_eq!(digits("12*#ab").unwrap(), "12*#AB");
        assert!(digits("12e").is_err());
        assert!(digits("").is_err());
    }

    #[test]
    fn missing_request_id_is_generated_and_long_one_refused() {
        assert_eq!(request_id("").unwrap().len(), 36);
        assert!(request_id(&"x".repeat(37)).is_err());
    }
}
