//! The server log (stderr: startup, worker life, app errors and tracebacks) and the access log
//! (stdout: one Apache combined-format line per request). Times are UTC: a static binary may run
//! where there is no time-zone database.

use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::observe::access_log::{self, Access, Format};

/// The least severe level written (`--log-level`).
static LEVEL: AtomicU8 = AtomicU8::new(0);

/// Where access-log lines go; stdout until `configure` says otherwise.
static ACCESS: OnceLock<Option<std::fs::File>> = OnceLock::new();

/// The access-log format; gunicorn's default until `configure` says otherwise.
static FORMAT: OnceLock<Format> = OnceLock::new();
static DEFAULT: std::sync::LazyLock<Format> =
    std::sync::LazyLock::new(|| Format::parse(access_log::DEFAULT_FORMAT).unwrap_or(Format::Json));

/// Server-log lines as JSON objects (`--log-format json`).
static JSON: AtomicBool = AtomicBool::new(false);

/// Where access-log lines go (`--access-log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLog {
    Stdout,
    File(std::path::PathBuf),
    Off,
}

/// Set the level and open the access log. Called once in the master before the workers are
/// forked, so they inherit both (an append-mode file keeps their lines whole).
pub fn configure(
    level: Level,
    access: &AccessLog,
    format: Format,
    json: bool,
) -> anyhow::Result<()> {
    LEVEL.store(level as u8, Ordering::Relaxed);
    JSON.store(json, Ordering::Relaxed);
    let _ = FORMAT.set(format);
    let sink = match access {
        AccessLog::Stdout => return Ok(()),
        AccessLog::Off => None,
        AccessLog::File(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the access log {}", path.display()))?,
        ),
    };
    let _ = ACCESS.set(sink);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info = 0,
    Warning = 1,
    Error = 2,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
        }
    }
}

/// Seconds since the epoch → (year, month, day, hour, minute, second), proleptic Gregorian UTC.
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `2026-11-25 01:51:04 +0000`
fn log_time(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} +0000")
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month_name(month: u32) -> &'static str {
    MONTHS[(month as usize).saturating_sub(1) % 12]
}

/// `2026-11-25T01:51:04Z`
fn iso_time(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 IMF-fixdate), for Last-Modified.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let (y, mo, d, h, mi, s) = civil(secs);
    let weekday = DAYS[((secs / 86_400) % 7) as usize];
    format!(
        "{weekday}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT",
        month_name(mo)
    )
}

/// `25/Nov/2026:01:51:04 +0000` (Apache's %t without the brackets)
fn clf_time(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    let month = month_name(mo);
    format!("{d:02}/{month}/{y:04}:{h:02}:{mi:02}:{s:02} +0000")
}

/// One server-log line.
pub fn write(level: Level, message: &str) {
    if (level as u8) < LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let secs = now_secs();
    let line = if JSON.load(Ordering::Relaxed) {
        format!(
            "{{\"time\":{},\"pid\":{},\"level\":{},\"message\":{}}}\n",
            access_log::json_string(&iso_time(secs)),
            std::process::id(),
            access_log::json_string(&level.name().to_ascii_lowercase()),
            access_log::json_string(message)
        )
    } else {
        format!(
            "[{}] [{}] [{}] {message}\n",
            log_time(secs),
            std::process::id(),
            level.name()
        )
    };
    // A closed stderr must not take the server down.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

pub fn info(message: &str) {
    write(Level::Info, message);
}

pub fn warning(message: &str) {
    write(Level::Warning, message);
}

pub fn error(message: &str) {
    write(Level::Error, message);
}

/// A line from Python (`wsgi.errors`, tracebacks), at the level it names.
pub fn python(level: &str, message: &str) {
    let level = match level {
        "info" => Level::Info,
        "warning" => Level::Warning,
        _ => Level::Error,
    };
    for line in message.split('\n') {
        write(level, line);
    }
}

/// One access-log line for a finished request, in the configured format.
pub fn access(entry: &Access, status: u16, bytes: u64) {
    if matches!(ACCESS.get(), Some(None)) {
        // `--access-log off`: nothing to render.
        return;
    }
    let secs = now_secs();
    let format = access_format();
    let mut line = access_log::render(
        format,
        entry,
        status,
        bytes,
        &clf_time(secs),
        &iso_time(secs),
    );
    line.push('\n');
    match ACCESS.get() {
        None => {
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
        // `&File` writes: one write per line, O_APPEND keeps workers' lines apart.
        Some(Some(file)) => {
            let _ = (&*file).write_all(line.as_bytes());
        }
        Some(None) => {}
    }
}

fn access_format() -> &'static Format {
    FORMAT.get().unwrap_or_else(|| &DEFAULT)
}

/// The request headers each request must record for the access-log format (worked out once).
pub fn access_request_headers() -> &'static [http::HeaderName] {
    static NAMES: OnceLock<Vec<http::HeaderName>> = OnceLock::new();
    NAMES.get_or_init(|| access_format().request_headers())
}

/// The response headers each request must record for the access-log format (worked out once).
pub fn access_response_headers() -> &'static [http::HeaderName] {
    static NAMES: OnceLock<Vec<http::HeaderName>> = OnceLock::new();
    NAMES.get_or_init(|| access_format().response_headers())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        // 2000-10-10 13:55:36 UTC, the Apache docs' example moment.
        assert_eq!(clf_time(971_186_136), "10/Oct/2000:13:55:36 +0000");
        assert_eq!(log_time(0), "1970-01-01 00:00:00 +0000");
        assert_eq!(log_time(1_709_208_000), "2024-02-29 12:00:00 +0000");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
