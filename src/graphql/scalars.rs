//! Scalars with the descriptions client developers read.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// An instant in time (see the scalar's description in the schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

/// An instant as an RFC 3339 string. Answers are in UTC (`2026-12-01T08:30:00+00:00`); inputs
/// may carry any offset (`2026-12-01T16:30:00+08:00` is the same instant). A street keeps the
/// calendar of its `timeZone`, Asia/Shanghai (UTC+8) by default, where a day begins at 16:00
/// UTC the day before.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.to_utc()))
                .map_err(|_| InputValueError::custom("not an RFC 3339 date and time")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339())
    }
}

impl From<chrono::DateTime<chrono::Utc>> for DateTime {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Self {
        DateTime(t)
    }
}

/// A calendar date as `YYYY-MM-DD`, such as a birth date: a day, not an instant, with no time
/// zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub chrono::NaiveDate);

/// A calendar day as `YYYY-MM-DD` (`1958-03-21`), with no time of day or time zone.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("not a date as YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}
