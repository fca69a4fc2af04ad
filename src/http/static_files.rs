//! `--static /url=DIR`: files served by Rust, never by Python. GET and HEAD, ETag and
//! Last-Modified with 304, single byte ranges with 206/416, Content-Type from the extension, and
//! precompressed `.br`/`.gz` siblings when the client accepts them. Bodies go out with
//! sendfile(2) (see `zero_copy`). A path can never leave DIR:
//! `..` segments (also percent-encoded) are refused and symlinks are resolved and checked.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

use crate::http::body::ReplyBody;
use crate::wsgi::environ::percent_decode;

/// One `--static` mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticMount {
    /// URL prefix without a trailing slash (`/static`).
    pub prefix: String,
    /// The directory, canonical.
    pub dir: PathBuf,
}

impl StaticMount {
    /// Parse `/url=DIR`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (prefix, dir) = spec
            .split_once('=')
            .ok_or_else(|| format!("`{spec}` is not /url=DIR"))?;
        if !prefix.starts_with('/') {
            return Err(format!("`{prefix}` must start with '/'"));
        }
        let dir = std::fs::canonicalize(dir).map_err(|e| format!("{dir}: {e}"))?;
        if !dir.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
        Ok(Self {
            prefix: prefix.trim_end_matches('/').to_owned(),
            dir,
        })
    }

    /// Whether a raw request path lies under this mount (no filesystem access).
    fn owns(&self, raw_path: &[u8]) -> bool {
        let decoded = percent_decode(raw_path);
        decoded
            .strip_prefix(self.prefix.as_bytes())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
    }

    /// The file for a raw request path under this mount: `None` when the path is not ours,
    /// `Some(None)` when it is ours but names nothing servable.
    fn resolve(&self, raw_path: &[u8]) -> Option<Option<PathBuf>> {
        let decoded = percent_decode(raw_path);
        let rest = decoded.strip_prefix(self.prefix.as_bytes())?;
        if !(rest.is_empty() || rest.starts_with(b"/")) {
            return None;
        }
        let mut path = self.dir.clone();
        for segment in rest.split(|&b| b == b'/') {
            match segment {
                b"" | b"." => {}
                b".." => return Some(None),
                s if s.contains(&0) => return Some(None),
                s => path.push(OsStr::from_bytes(s)),
            }
        }
        // Symlinks are followed, but the target must still lie inside the directory.
        let Ok(mut real) = std::fs::canonicalize(&path) else {
            return Some(None);
        };
        if !real.starts_with(&self.dir) {
            return Some(None);
        }
        if real.is_dir() {
            real.push("index.html");
        }
        Some(real.is_file().then_some(real))
    }
}

/// Content-Type by extension; the common web types, else a safe default.
fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

/// Which precompressed sibling to send: `.br` before `.gz`, when accepted and present.
fn precompressed(path: &Path, headers: &HeaderMap) -> Option<(PathBuf, &'static str)> {
    let accepted: Vec<String> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter(|item| !item.replace(' ', "").ends_with(";q=0"))
        .map(|item| {
            item.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .filter(|(coding, _)| accepted.iter().any(|a| a == coding))
        .map(|(coding, suffix)| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            (PathBuf::from(name), coding)
        })
        .find(|(p, _)| p.is_file())
}

/// A single `bytes=` range against `len`: `Ok(None)` serves the whole file (no header, or a
/// form we do not split: several ranges), `Err(())` is unsatisfiable (416).
fn byte_range(value: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let parse = |s: &str| s.trim().parse::<u64>().map_err(|_| ());
    let (first, last) = match (start.trim().is_empty(), end.trim().is_empty()) {
        (true, false) => {
            let suffix = parse(end)?;
            if suffix == 0 || len == 0 {
                return Err(());
            }
            (len.saturating_sub(suffix), len - 1)
        }
        (false, true) => (parse(start)?, len.saturating_sub(1)),
        (false, false) => (parse(start)?, parse(end)?.min(len.saturating_sub(1))),
        (true, true) => return Ok(None),
    };
    if first >= len || first > last {
        return Err(());
    }
    Ok(Some((first, last)))
}

fn simple(status: StatusCode) -> Response<ReplyBody> {
    let text = format!("{}\n", status.canonical_reason().unwrap_or("Error"));
    let mut response = Response::new(ReplyBody::full(Bytes::from(text)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Whether a `--static` mount owns `raw_path` (decided without touching the filesystem).
pub fn owned(mounts: &[StaticMount], raw_path: &str) -> bool {
    mounts.iter().any(|m| m.owns(raw_path.as_bytes()))
}

/// Serve the request if a `--static` mount owns its path. It touches the filesystem
/// (canonicalize, open, metadata): call it off the runtime.
pub fn serve(
    mounts: &[StaticMount],
    method: &Method,
    raw_path: &str,
    headers: &HeaderMap,
) -> Option<Response<ReplyBody>> {
    let resolved = mounts.iter().find_map(|m| m.resolve(raw_path.as_bytes()))?;
    if method != Method::GET && method != Method::HEAD {
        let mut r = simple(StatusCode::METHOD_NOT_ALLOWED);
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(r);
    }
    let Some(path) = resolved else {
        return Some(simple(StatusCode::NOT_FOUND));
    };
    Some(respond(&path, headers).unwrap_or_else(|_| simple(StatusCode::NOT_FOUND)))
}

fn respond(path: &Path, headers: &HeaderMap) -> std::io::Result<Response<ReplyBody>> {
    let (file_path, encoding) = match precompressed(path, headers) {
        Some((p, coding)) => (p, Some(coding)),
        None => (path.to_path_buf(), None),
    };
    let file = std::fs::File::open(&file_path)?;
    let meta = file.metadata()?;
    let len = meta.len();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let etag = format!(
        "\"{len:x}-{mtime:x}{}\"",
        encoding.map_or(String::new(), |e| format!("-{e}"))
    );
    let last_modified = crate::observe::log::http_date(mtime);

    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, content_type(path))
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, &last_modified)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::VARY, "Accept-Encoding");
    if let Some(coding) = encoding {
        builder = builder.header(header::CONTENT_ENCODING, coding);
    }
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let not_modified = match header_str(header::IF_NONE_MATCH) {
        Some(tags) => tags
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == etag),
        None => header_str(header::IF_MODIFIED_SINCE) == Some(last_modified.as_str()),
    };
    let empty = || ReplyBody::full(Bytes::new());
    if not_modified {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(empty())
            .map_err(std::io::Error::other);
    }
    let range_applies =
        header_str(header::IF_RANGE).is_none_or(|v| v == etag || v == last_modified);
    let range = match header_str(header::RANGE).filter(|_| range_applies) {
        Some(value) => byte_range(value, len),
        None => Ok(None),
    };
    let response = match range {
        Err(()) => builder
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{len}"))
            .body(empty()),
        Ok(Some((first, last))) => builder
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, format!("bytes {first}-{last}/{len}"))
            .header(header::CONTENT_LENGTH, last - first + 1)
            .body(ReplyBody::file(file, first, last - first + 1)),
        Ok(None) => builder
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, len)
            .body(ReplyBody::file(file, 0, len)),
    };
    response.map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(byte_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(byte_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(byte_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(byte_range("bytes=50-500", 100), Ok(Some((50, 99))));
        assert_eq!(byte_range("bytes=100-", 100), Err(()));
        assert_eq!(byte_range("bytes=5-4", 100), Err(()));
        assert_eq!(byte_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(byte_range("items=0-1", 100), Ok(None));
        assert_eq!(byte_range("bytes=x-1", 100), Err(()));
    }

    #[test]
    fn traversal_never_leaves_the_directory() {
        let dir = std::env::temp_dir().join(format!("rwsgi-static-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pub")).expect("dir");
        std::fs::write(dir.join("pub/a.txt"), "a").expect("file");
        std::fs::write(dir.join("secret.txt"), "s").expect("file");
        let _ = std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("pub/link.txt"));
        let mount =
            StaticMount::parse(&format!("/s={}", dir.join("pub").display())).expect("mount");
        assert!(matches!(mount.resolve(b"/s/a.txt"), Some(Some(_))));
        assert_eq!(mount.resolve(b"/s/../secret.txt"), Some(None));
        assert_eq!(mount.resolve(b"/s/%2e%2e/secret.txt"), Some(None));
        assert_eq!(mount.resolve(b"/s/%2E%2E%2Fsecret.txt"), Some(None));
        assert_eq!(mount.resolve(b"/s/link.txt"), Some(None));
        assert_eq!(mount.resolve(b"/other/a.txt"), None);
        assert_eq!(mount.resolve(b"/sx/a.txt"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
