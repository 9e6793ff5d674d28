//! Recurring run triggers: a cron schedule or a fixed interval, with optional start and end
//! times, and the computation of the next time a trigger fires.
//!
//! Cron expressions follow the KFP API server, which uses the Go `robfig/cron` format with a
//! seconds field: `sec min hour day-of-month month day-of-week` (`"0 */5 * * * *"`), with
//! day-of-week 0-6 for Sunday to Saturday (7 is also Sunday). Weir also accepts the 5-field form
//! without seconds and the descriptors `@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`,
//! `@yearly` and `@annually`. Times are UTC, as in a KFP cluster.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use crate::convert::timestamp;

#[derive(Debug, Clone)]
enum Schedule {
    Cron { expression: String, schedule: Box<cron::Schedule> },
    Periodic { interval_seconds: i64 },
}

/// A parsed `Trigger`.
#[derive(Debug, Clone)]
pub struct Trigger {
    schedule: Schedule,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

impl Trigger {
    /// Parses a KFP `Trigger` object (`cron_schedule` or `periodic_schedule`).
    pub fn from_json(value: &Value) -> Result<Trigger, String> {
        let cron = field(value, "cron_schedule").filter(|v| !v.is_null());
        let periodic = field(value, "periodic_schedule").filter(|v| !v.is_null());
        let (schedule_json, schedule) = match (cron, periodic) {
            (Some(cron), None) => {
                let expression = match field(cron, "cron") {
                    Some(Value::String(text)) if !text.trim().is_empty() => text.trim(),
                    _ => return Err("trigger.cron_schedule.cron is required".to_string()),
                };
                let schedule = parse_cron(expression)?;
                (cron, Schedule::Cron { expression: expression.to_string(), schedule })
            }
            (None, Some(periodic)) => {
                let interval_seconds = match field(periodic, "interval_second") {
                    Some(Value::Number(n)) => n.as_i64(),
                    Some(Value::String(text)) => text.trim().parse().ok(),
                    _ => None,
                };
                match interval_seconds {
                    Some(seconds) if seconds > 0 => {
                        (periodic, Schedule::Periodic { interval_seconds: seconds })
                    }
                    _ => {
                        return Err(
                            "trigger.periodic_schedule.interval_second must be a whole number \
                             of seconds above 0"
                                .to_string(),
                        )
                    }
                }
            }
            (Some(_), Some(_)) => {
                return Err("trigger has both cron_schedule and periodic_schedule; set one".into())
            }
            (None, None) => {
                return Err("trigger is required: set cron_schedule {cron} or periodic_schedule \
                     {interval_second}"
                    .to_string())
            }
        };
        let start = time_field(schedule_json, "start_time")?;
        let end = time_field(schedule_json, "end_time")?;
        if let (Some(start), Some(end)) = (start, end) {
            if end < start {
                return Err(format!(
                    "trigger end_time {} is before its start_time {}",
                    timestamp(end),
                    timestamp(start)
                ));
            }
        }
        Ok(Trigger { schedule, start, end })
    }

    /// Returns the trigger as KFP JSON, with snake_case names and unset times left out.
    pub fn to_json(&self) -> Value {
        let mut fields = Map::new();
        if let Some(start) = self.start {
            fields.insert("start_time".into(), json!(timestamp(start)));
        }
        if let Some(end) = self.end {
            fields.insert("end_time".into(), json!(timestamp(end)));
        }
        match &self.schedule {
            Schedule::Cron { expression, .. } => {
                fields.insert("cron".into(), json!(expression));
                json!({ "cron_schedule": fields })
            }
            Schedule::Periodic { interval_seconds } => {
                fields.insert("interval_second".into(), json!(interval_seconds.to_string()));
                json!({ "periodic_schedule": fields })
            }
        }
    }

    /// Returns the time the first run is due after: the start time when set, else `created_at`.
    /// As in the KFP scheduled workflow controller, a start time in the past backfills the
    /// schedule times since then, and the first run fires at the first schedule time after it.
    pub fn first_base(&self, created_at: DateTime<Utc>) -> DateTime<Utc> {
        self.start.unwrap_or(created_at)
    }

    /// Returns the first fire time strictly after `after`, or `None` past the end time.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let next = match &self.schedule {
            Schedule::Cron { schedule, .. } => schedule.after(&after).next()?,
            Schedule::Periodic { interval_seconds } => {
                after.checked_add_signed(Duration::seconds(*interval_seconds))?
            }
        };
        match self.end {
            Some(end) if next > end => None,
            _ => Some(next),
        }
    }
}

fn field<'a>(value: &'a Value, snake: &str) -> Option<&'a Value> {
    value.get(snake).or_else(|| value.get(camel_case(snake)))
}

fn camel_case(snake: &str) -> String {
    let mut parts = snake.split('_');
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

fn time_field(value: &Value, name: &str) -> Result<Option<DateTime<Utc>>, String> {
    match field(value, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| {
                format!(
                    "invalid trigger {name} {text:?}: {e}; expected RFC 3339 such as \
                     2024-01-01T12:00:00Z"
                )
            }),
        Some(other) => Err(format!("trigger {name} must be an RFC 3339 string, got {other}")),
    }
}

/// Parses a robfig-style cron expression into the `cron` crate's form, whose day-of-week
/// numbers run 1-7 from Sunday where robfig's run 0-6.
fn parse_cron(expression: &str) -> Result<Box<cron::Schedule>, String> {
    let invalid = |reason: String| {
        format!(
            "invalid cron expression {expression:?}: {reason}. Use 6 fields `sec min hour \
             day-of-month month day-of-week`, such as \"0 */5 * * * *\""
        )
    };
    let converted = match expression {
        "@yearly" | "@annually" => "0 0 0 1 1 *".to_string(),
        "@monthly" => "0 0 0 1 * *".to_string(),
        "@weekly" => "0 0 0 * * 1".to_string(),
        "@daily" | "@midnight" => "0 0 0 * * *".to_string(),
        "@hourly" => "0 0 * * * *".to_string(),
        other if other.starts_with('@') => {
            return Err(invalid(
                "unknown descriptor; for a fixed interval use periodic_schedule".to_string(),
            ))
        }
        other => {
            let mut fields: Vec<String> = other.split_whitespace().map(str::to_string).collect();
            match fields.len() {
                5 => fields.insert(0, "0".to_string()),
                6 => {}
                n => return Err(invalid(format!("found {n} fields"))),
            }
            fields[5] = shift_days_of_week(&fields[5]).map_err(invalid)?;
            fields.join(" ")
        }
    };
    cron::Schedule::from_str(&converted).map(Box::new).map_err(|e| invalid(e.to_string()))
}

/// Rewrites robfig day-of-week numbers (0-7, Sunday is 0 and 7) as 1-7 (Sunday is 1).
fn shift_days_of_week(field: &str) -> Result<String, String> {
    let mut items = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        let with_step = |range: String| match step {
            Some(step) => format!("{range}/{step}"),
            None => range,
        };
        match range.split_once('-') {
            Some((from, to)) => {
                let from = shift_day(from)?;
                // A range ending on Sunday (7) wraps to the start of the cron crate's week.
                if to == "7" && step.is_none() {
                    items.push(format!("{from}-7"));
                    items.push("1".to_string());
                } else {
                    items.push(with_step(format!("{from}-{}", shift_day(to)?)));
                }
            }
            None => items.push(with_step(shift_day(range)?)),
        }
    }
    Ok(items.join(","))
}

fn shift_day(day: &str) -> Result<String, String> {
    match day.parse::<u32>() {
        Ok(number @ 0..=6) => Ok((number + 1).to_string()),
        Ok(7) => Ok("1".to_string()),
        Ok(number) => Err(format!("day-of-week {number} is out of range 0-7")),
        // `*`, `?` and names such as MON pass through.
        Err(_) => Ok(day.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        match DateTime::parse_from_rfc3339(text) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => panic!("bad test time {text}: {e}"),
        }
    }

    fn trigger(value: Value) -> Trigger {
        match Trigger::from_json(&value) {
            Ok(trigger) => trigger,
            Err(e) => panic!("trigger {value} rejected: {e}"),
        }
    }

    fn next(trigger: &Trigger, after: &str) -> Option<String> {
        trigger.next_after(at(after)).map(timestamp)
    }

    #[test]
    fn cron_with_seconds() {
        let t = trigger(json!({"cron_schedule": {"cron": "*/5 * * * * *"}}));
        assert_eq!(next(&t, "2024-01-01T00:00:02Z").as_deref(), Some("2024-01-01T00:00:05Z"));
        assert_eq!(next(&t, "2024-01-01T00:00:05Z").as_deref(), Some("2024-01-01T00:00:10Z"));
    }

    #[test]
    fn cron_five_fields_fire_on_the_minute() {
        let t = trigger(json!({"cronSchedule": {"cron": "*/15 * * * *"}}));
        assert_eq!(next(&t, "2024-01-01T00:01:30Z").as_deref(), Some("2024-01-01T00:15:00Z"));
    }

    #[test]
    fn cron_days_of_week_use_sunday_zero() {
        // 2024-01-06 is a Saturday; robfig's 1-5 is Monday to Friday.
        let t = trigger(json!({"cron_schedule": {"cron": "0 0 9 ? * 1-5"}}));
        assert_eq!(next(&t, "2024-01-06T00:00:00Z").as_deref(), Some("2024-01-08T09:00:00Z"));
        let sunday = trigger(json!({"cron_schedule": {"cron": "0 0 9 * * 0"}}));
        assert_eq!(next(&sunday, "2024-01-06T00:00:00Z").as_deref(), Some("2024-01-07T09:00:00Z"));
        let weekend = trigger(json!({"cron_schedule": {"cron": "0 0 9 * * 6-7"}}));
        assert_eq!(next(&weekend, "2024-01-06T10:00:00Z").as_deref(), Some("2024-01-07T09:00:00Z"));
    }

    #[test]
    fn cron_descriptors() {
        let t = trigger(json!({"cron_schedule": {"cron": "@hourly"}}));
        assert_eq!(next(&t, "2024-01-01T00:10:00Z").as_deref(), Some("2024-01-01T01:00:00Z"));
    }

    #[test]
    fn periodic_adds_the_interval() {
        let t = trigger(json!({"periodic_schedule": {"interval_second": "60"}}));
        assert_eq!(next(&t, "2024-01-01T00:00:00Z").as_deref(), Some("2024-01-01T00:01:00Z"));
        let t = trigger(json!({"periodic_schedule": {"intervalSecond": 30}}));
        assert_eq!(next(&t, "2024-01-01T00:00:00Z").as_deref(), Some("2024-01-01T00:00:30Z"));
    }

    #[test]
    fn start_and_end_bound_the_schedule() {
        let t = trigger(json!({"periodic_schedule": {
            "interval_second": "60",
            "start_time": "2024-01-01T01:00:00Z",
            "end_time": "2024-01-01T01:01:00Z"
        }}));
        let base = t.first_base(at("2024-01-01T00:00:00Z"));
        assert_eq!(timestamp(base), "2024-01-01T01:00:00Z");
        assert_eq!(t.next_after(base).map(timestamp).as_deref(), Some("2024-01-01T01:01:00Z"));
        assert_eq!(next(&t, "2024-01-01T01:01:00Z"), None);
        let backfill = t.first_base(at("2024-01-01T02:00:00Z"));
        assert_eq!(timestamp(backfill), "2024-01-01T01:00:00Z");
        let unset = trigger(json!({"periodic_schedule": {"interval_second": "60"}}));
        assert_eq!(timestamp(unset.first_base(at("2024-01-01T02:00:00Z"))), "2024-01-01T02:00:00Z");
    }

    #[test]
    fn to_json_is_normalized() {
        let t = trigger(json!({"periodicSchedule": {"intervalSecond": 30, "startTime": ""}}));
        assert_eq!(t.to_json(), json!({"periodic_schedule": {"interval_second": "30"}}));
    }

    #[test]
    fn invalid_triggers_name_the_problem() {
        let cases = [
            (
                json!({}),
                "trigger is required: set cron_schedule {cron} or periodic_schedule \
                 {interval_second}",
            ),
            (
                json!({"periodic_schedule": {"interval_second": "0"}}),
                "trigger.periodic_schedule.interval_second must be a whole number of seconds \
                 above 0",
            ),
            (
                json!({"cron_schedule": {"cron": "* * *"}}),
                "invalid cron expression \"* * *\": found 3 fields. Use 6 fields `sec min hour \
                 day-of-month month day-of-week`, such as \"0 */5 * * * *\"",
            ),
            (
                json!({"cron_schedule": {"cron": "0 0 0 * * 9"}}),
                "invalid cron expression \"0 0 0 * * 9\": day-of-week 9 is out of range 0-7. \
                 Use 6 fields `sec min hour day-of-month month day-of-week`, such as \
                 \"0 */5 * * * *\"",
            ),
        ];
        for (value, expected) in cases {
            match Trigger::from_json(&value) {
                Ok(t) => panic!("{value} was accepted: {t:?}"),
                Err(message) => assert_eq!(message, expected, "{value}"),
            }
        }
    }
}
