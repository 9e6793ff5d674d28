//! Metric histories: every point of one metric of a run (get-history), of several runs
//! (get-history-bulk, a web UI route), or an even sample over a step range
//! (get-history-bulk-interval).
//!
//! The orders follow MLflow's SQL store (3.17.2). get-history and get-history-bulk sort by
//! timestamp, then step, then value; the interval sample sorts by step, then timestamp, then
//! value. A NaN sorts as the value 0, as MLflow stores it.
//!
//! Histories can hold hundreds of thousands of points, so the responses are written straight
//! into one byte buffer rather than built as `serde_json::Value` trees.

use std::cmp::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rusqlite::{OptionalExtension, Transaction};
use serde_json::ser::{CompactFormatter, Formatter};

use crate::error::{Result, TrackingError};
use crate::fields::Fields;
use crate::search::page;
use crate::TrackingState;

/// Maximum number of points get-history-bulk returns, and its default.
const MAX_BULK_RESULTS: i64 = 25_000;
/// Maximum number of runs one bulk request may name.
const MAX_BULK_RUNS: usize = 100;
/// Maximum number of points per run get-history-bulk-interval returns, and its default.
const MAX_INTERVAL_RESULTS: i64 = 2500;

/// One stored point of a metric, as read for a history.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    step: i64,
    timestamp: i64,
    /// Stored value: 0 for a NaN.
    value: f64,
    is_nan: bool,
}

/// MLflow's get-history order: timestamp, then step, then value.
fn history_order(a: &Point, b: &Point) -> Ordering {
    (a.timestamp, a.step)
        .cmp(&(b.timestamp, b.step))
        .then(a.value.partial_cmp(&b.value).unwrap_or(Ordering::Equal))
}

pub(crate) async fn get_history(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Response> {
    let run_id = fields.run_id()?;
    let metric_key = fields.str("metric_key")?;
    let max_results = match fields.opt_i64("max_results")? {
        Some(n) if n <= 0 => {
            return Err(TrackingError::invalid(format!(
                "Invalid value {n} for parameter 'max_results' supplied. It must be a positive \
                 integer; leave it out to get the whole history."
            )))
        }
        other => other.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let offset = page::decode_offset(fields.opt_str("page_token")?.as_deref())?;
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);

    let body = state
        .db
        .read(move |tx| {
            // MLflow's SQL store returns an empty history for an unknown run, not an error.
            let mut points = match find_run_key(tx, &run_id)? {
                Some(run_key) => load_points(tx, run_key, &metric_key)?,
                None => Vec::new(),
            };
            // Rows come in primary key order (step first), which is usually already in
            // timestamp order as well, so this stable sort often just checks the order.
            points.sort_by(history_order);

            let start = offset.min(points.len());
            let end =
                max_results.map_or(points.len(), |max| start.saturating_add(max).min(points.len()));
            let next_token = (end < points.len() && max_results.is_some())
                .then(|| page::encode_offset(i64::try_from(end).unwrap_or(i64::MAX)));

            let mut out = MetricJson::new(&metric_key, end - start);
            out.begin("metrics");
            for point in &points[start..end] {
                out.point(point, None);
            }
            out.end_list();
            if let Some(token) = next_token {
                out.string_field("next_page_token", &token);
            }
            Ok(out.finish())
        })
        .await?;
    Ok(json_response(body))
}

pub(crate) async fn get_history_bulk(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Response> {
    let mut run_ids = fields.str_list("run_id")?;
    if run_ids.is_empty() {
        return Err(TrackingError::invalid(
            "GetMetricHistoryBulk needs at least one 'run_id'. Repeat run_id once per run.",
        ));
    }
    check_run_count(run_ids.len())?;
    let metric_key = fields.str("metric_key")?;
    let max_results = match fields.opt_i64("max_results")? {
        None => MAX_BULK_RESULTS,
        Some(n) if n < 0 => {
            return Err(TrackingError::invalid(format!(
                "Invalid value {n} for parameter 'max_results' supplied. It must be at least 0."
            )))
        }
        Some(n) => n.min(MAX_BULK_RESULTS),
    };
    let mut remaining = usize::try_from(max_results).unwrap_or(0);
    // MLflow returns the runs in run id order, each run's points in history order, and stops
    // after max_results points in all.
    run_ids.sort();
    run_ids.dedup();

    let body = state
        .db
        .read(move |tx| {
            let mut out = MetricJson::new(&metric_key, remaining.min(4096));
            out.begin("metrics");
            for run_id in &run_ids {
                if remaining == 0 {
                    break;
                }
                let Some(run_key) = find_run_key(tx, run_id)? else { continue };
                let mut points = load_points(tx, run_key, &metric_key)?;
                points.sort_by(history_order);
                points.truncate(remaining);
                remaining -= points.len();
                out.run_points(run_id, &points);
            }
            out.end_list();
            Ok(out.finish())
        })
        .await?;
    Ok(json_response(body))
}

pub(crate) async fn get_history_bulk_interval(
    State(state): State<TrackingState>,
    fields: Fields,
) -> Result<Response> {
    if fields.raw("run_ids").is_none() {
        return Err(TrackingError::missing("run_ids"));
    }
    let run_ids = fields.str_list("run_ids")?;
    check_run_count(run_ids.len())?;
    let metric_key = fields.str("metric_key")?;
    let max_results = fields.max_results(MAX_INTERVAL_RESULTS, MAX_INTERVAL_RESULTS)?;
    let max_results = usize::try_from(max_results).unwrap_or(1);
    let steps = match (fields.opt_i64("start_step")?, fields.opt_i64("end_step")?) {
        (Some(start), Some(end)) if start > end => {
            return Err(TrackingError::invalid(format!(
                "end_step must be greater than start_step. Found start_step={start} and \
                 end_step={end}."
            )))
        }
        (Some(start), Some(end)) => (start, end),
        (None, None) => (i64::MIN, i64::MAX),
        _ => {
            return Err(TrackingError::invalid(
                "If either start_step or end_step is given, both must be given.",
            ))
        }
    };

    let body = state
        .db
        .read(move |tx| {
            let mut out = MetricJson::new(&metric_key, run_ids.len() * max_results.min(256));
            out.begin("metrics");
            for run_id in &run_ids {
                let Some(run_key) = find_run_key(tx, run_id)? else { continue };
                let points = sample_points(tx, run_key, &metric_key, steps, max_results)?;
                out.run_points(run_id, &points);
            }
            out.end_list();
            Ok(out.finish())
        })
        .await?;
    Ok(json_response(body))
}

fn check_run_count(count: usize) -> Result<()> {
    if count > MAX_BULK_RUNS {
        return Err(TrackingError::invalid(format!(
            "A bulk metric history request can name at most {MAX_BULK_RUNS} runs, but it names \
             {count}. Split the runs across several requests."
        )));
    }
    Ok(())
}

fn find_run_key(tx: &Transaction<'_>, run_id: &str) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached("SELECT run_key FROM tracking_runs WHERE run_id = ?1")?
        .query_row([run_id], |row| row.get(0))
        .optional()?)
}

/// Reads every point of one metric of one run, in primary key order.
fn load_points(tx: &Transaction<'_>, run_key: i64, metric_key: &str) -> Result<Vec<Point>> {
    let mut statement = tx.prepare_cached(
        "SELECT step, timestamp, is_nan, value FROM tracking_metrics
         WHERE run_key = ?1 AND key = ?2",
    )?;
    let mut rows = statement.query((run_key, metric_key))?;
    let mut points = Vec::new();
    while let Some(row) = rows.next()? {
        points.push(Point {
            step: row.get(0)?,
            timestamp: row.get(1)?,
            is_nan: row.get(2)?,
            value: row.get(3)?,
        });
    }
    Ok(points)
}

/// Samples at most `max_results` points of one metric with steps in `steps`, as MLflow
/// 3.17.2 does. The points, in step order, are split into `max_results` buckets of equal size
/// (SQL `NTILE`) and the first point of each bucket is kept. The last point of all then
/// replaces the last kept point unless it is kept already, so one bucket returns only the last
/// point.
fn sample_points(
    tx: &Transaction<'_>,
    run_key: i64,
    metric_key: &str,
    (start_step, end_step): (i64, i64),
    max_results: usize,
) -> Result<Vec<Point>> {
    let total: i64 = tx
        .prepare_cached(
            "SELECT COUNT(*) FROM tracking_metrics
             WHERE run_key = ?1 AND key = ?2 AND step BETWEEN ?3 AND ?4",
        )?
        .query_row((run_key, metric_key, start_step, end_step), |row| row.get(0))?;
    let total = usize::try_from(total).unwrap_or(0);
    let sample = sample_indices(total, max_results);
    if sample.is_empty() {
        return Ok(Vec::new());
    }

    let mut statement = tx.prepare_cached(
        "SELECT step, timestamp, is_nan, value FROM tracking_metrics
         WHERE run_key = ?1 AND key = ?2 AND step BETWEEN ?3 AND ?4
         ORDER BY step, timestamp, value, is_nan",
    )?;
    let mut rows = statement.query((run_key, metric_key, start_step, end_step))?;
    let mut points = Vec::with_capacity(sample.len());
    let mut next_indices = sample.iter().peekable();
    let mut index = 0;
    while let Some(row) = rows.next()? {
        let Some(&&next) = next_indices.peek() else { break };
        if index == next {
            points.push(Point {
                step: row.get(0)?,
                timestamp: row.get(1)?,
                is_nan: row.get(2)?,
                value: row.get(3)?,
            });
            next_indices.next();
        }
        index += 1;
    }
    Ok(points)
}

/// Returns the row indices, in ascending order, that the interval sample keeps out of `total`
/// rows.
fn sample_indices(total: usize, buckets: usize) -> Vec<usize> {
    if total == 0 || buckets == 0 {
        return Vec::new();
    }
    if total <= buckets {
        return (0..total).collect();
    }
    // NTILE gives the first `total % buckets` buckets one row more than the others.
    let size = total / buckets;
    let larger = total % buckets;
    let mut indices: Vec<usize> =
        (0..buckets).map(|bucket| bucket * size + bucket.min(larger)).collect();
    if let Some(last) = indices.last_mut() {
        *last = total - 1;
    }
    indices
}

/// Serializes a string as JSON text, quotes included.
fn json_string(text: &str) -> Vec<u8> {
    serde_json::to_vec(text).unwrap_or_else(|_| b"\"\"".to_vec())
}

fn json_response(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A JSON response of metric points, written straight into a buffer: `{"metrics": [...]}`
/// plus optional string fields. Every point has the same key, so its JSON text is written
/// once and copied.
struct MetricJson {
    out: Vec<u8>,
    key_json: Vec<u8>,
    first_item: bool,
}

/// Bytes of one point apart from its key: the field names, two integers and a double.
const POINT_BYTES: usize = 96;

impl MetricJson {
    fn new(metric_key: &str, expected_points: usize) -> MetricJson {
        let key_json = json_string(metric_key);
        let capacity = 64 + expected_points * (POINT_BYTES + key_json.len());
        MetricJson { out: Vec::with_capacity(capacity), key_json, first_item: true }
    }

    fn begin(&mut self, list: &str) {
        self.out.extend_from_slice(b"{\"");
        self.out.extend_from_slice(list.as_bytes());
        self.out.extend_from_slice(b"\":[");
    }

    fn end_list(&mut self) {
        self.out.push(b']');
    }

    fn string_field(&mut self, name: &str, value: &str) {
        self.out.push(b',');
        self.out.extend_from_slice(&json_string(name));
        self.out.push(b':');
        self.out.extend_from_slice(&json_string(value));
    }

    /// Appends `{"key":..,"value":..,"timestamp":..,"step":..}`, with `"run_id"` when given
    /// (as JSON text).
    fn point(&mut self, point: &Point, run_id_json: Option<&[u8]>) {
        let out = &mut self.out;
        if !std::mem::take(&mut self.first_item) {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":");
        out.extend_from_slice(&self.key_json);
        out.extend_from_slice(b",\"value\":");
        write_double(out, if point.is_nan { f64::NAN } else { point.value });
        out.extend_from_slice(b",\"timestamp\":");
        write_integer(out, point.timestamp);
        out.extend_from_slice(b",\"step\":");
        write_integer(out, point.step);
        if let Some(run_id) = run_id_json {
            out.extend_from_slice(b",\"run_id\":");
            out.extend_from_slice(run_id);
        }
        out.push(b'}');
    }

    /// Appends the points of one run, each with that run's `run_id`.
    fn run_points(&mut self, run_id: &str, points: &[Point]) {
        let run_id_json = json_string(run_id);
        for point in points {
            self.point(point, Some(&run_id_json));
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

// `Vec<u8>` implements `io::Write` without ever returning an error, so the formatter's
// `io::Result` is always `Ok`.

fn write_integer(out: &mut Vec<u8>, value: i64) {
    let _ = CompactFormatter.write_i64(out, value);
}

/// Writes a double as proto JSON does: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn write_double(out: &mut Vec<u8>, value: f64) {
    if value.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if value == f64::INFINITY {
        out.extend_from_slice(b"\"Infinity\"");
    } else if value == f64::NEG_INFINITY {
        out.extend_from_slice(b"\"-Infinity\"");
    } else {
        let _ = CompactFormatter.write_f64(out, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_keeps_bucket_firsts_and_last() {
        assert_eq!(sample_indices(0, 5), Vec::<usize>::new());
        assert_eq!(sample_indices(3, 5), vec![0, 1, 2]);
        assert_eq!(sample_indices(10, 1), vec![9]);
        // NTILE(3) over 10 rows: buckets of 4, 3, 3 start at 0, 4, 7; the last becomes 9.
        assert_eq!(sample_indices(10, 3), vec![0, 4, 9]);
        // NTILE(4) over 6 rows: buckets of 2, 2, 1, 1 start at 0, 2, 4, 5.
        assert_eq!(sample_indices(6, 4), vec![0, 2, 4, 5]);
    }

    #[test]
    fn doubles_are_written_as_proto_json() {
        let mut out = Vec::new();
        for value in [1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.0, 1e300] {
            write_double(&mut out, value);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8_lossy(&out),
            "1.5 \"NaN\" \"Infinity\" \"-Infinity\" 1.0 1e+300 "
        );
    }
}
