//! rwsgi: one static binary that serves Python WSGI (PEP 3333) applications on an embedded
//! RustPython interpreter.
//!
//! # Layout
//!
//! Layers, bottom to top. A module uses only the layers below its own and the modules of its
//! own part, never one above (the test `layers` holds every file under `src/` to this table,
//! and allows no cycle between modules). The folders show the layers: [`edge`], [`process`],
//! [`observe`], [`http`], [`job`], [`wsgi`], [`python`]; [`process`] spans three of them, so
//! the table names its modules one by one:
//!
//! | layer | part | modules |
//! |---|---|---|
//! | 0 | raw calls | [`process::sys`] (the raw Unix calls) |
//! | 1 | PEP 3333 | [`wsgi`] (environ, response head checks, input buffering: pure Rust) |
//! | 2 | observe | [`observe::log`] (server and access logs), [`observe::access_log`] (its line formats), [`observe::metrics`] (the shared Prometheus counters), [`process::lifecycle`] (why a worker retires) |
//! | 3 | contract | [`job`] (the one crossing between HTTP and Python: jobs, replies, the body stream) |
//! | 4 | HTTP | [`http`] (request → job, reply → response; limits; errors → status codes), [`http::server`] (accept loop), [`http::drain`] (graceful drain), [`http::occupancy`] (admission by free Python threads), [`http::tls`] (rustls configuration) |
//! | 4 | Python | [`python`] (interpreters, the app's threads, the native `_rwsgi` module) and the frozen `pylib/` |
//! | 5 | edge | [`edge::cli`] (clap), [`edge::config`] (validated settings), [`edge::config_file`] (`--config`), [`edge::bundle`] (bundled executables), [`edge::check`] (`rwsgi check`, `run --check`), [`process::reload`] (`--reload`), [`process::supervisor`] (master process: binds, forks workers, restarts, signals), [`process::worker`] (one worker process) |
//!
//! HTTP (tokio + hyper, never Python) and Python (the only code naming RustPython types) are
//! siblings: neither imports the other; they meet in [`job`]. Python takes plain parameters,
//! never the edge's types; the edge converts. Within the edge, `config` uses `cli` (never the
//! reverse), `bundle` uses `config`, `supervisor` uses `worker`, `check` uses `worker`.

pub mod edge;
pub mod http;
pub mod job;
pub mod observe;
pub mod process;
pub mod python;
pub mod wsgi;

/// Holds every file under `src/` to the layer table of the crate docs (`# Layout`).
#[cfg(test)]
mod layers {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    /// The layer table of the crate docs: each module (a file under `src/`, or a folder with all
    /// its files not named here on their own), its rank and its part. A module is keyed by its
    /// path below the crate root (`process::sys`); a file or an import takes the entry of its
    /// two-segment path if the table has one, else that of its folder. A module may use the
    /// modules of a lower rank and those of its own part; never a higher rank, nor another part
    /// of its own rank (HTTP and Python are siblings that meet only in `job`).
    const LAYERS: &[(&str, u8, &str)] = &[
        ("process::sys", 0, "sys"),
        ("wsgi", 1, "wsgi"),
        ("observe", 2, "observe"),
        ("observe::log", 2, "observe"),
        ("observe::access_log", 2, "observe"),
        ("observe::metrics", 2, "observe"),
        ("process::lifecycle", 2, "observe"),
        ("job", 3, "job"),
        ("python", 4, "python"),
        ("http", 4, "http"),
        ("http::server", 4, "http"),
        ("http::drain", 4, "http"),
        ("http::occupancy", 4, "http"),
        ("http::tls", 4, "http"),
        ("edge", 5, "edge"),
        ("edge::cli", 5, "edge"),
        ("edge::config", 5, "edge"),
        ("edge::config_file", 5, "edge"),
        ("edge::bundle", 5, "edge"),
        ("edge::check", 5, "edge"),
        ("process", 5, "edge"),
        ("process::reload", 5, "edge"),
        ("process::supervisor", 5, "edge"),
        ("process::worker", 5, "edge"),
        // The crate root and the binary (which names the library `rwsgi::`).
        ("lib", 6, "root"),
        ("main", 6, "root"),
    ];

    /// The table's key for `path` (`process::sys::fork` → `process::sys`,
    /// `http::guard::scan` → `http`): its first two segments if the table names them, else its
    /// first.
    fn module_of(path: &str) -> String {
        let mut segments = path.split("::");
        let first = segments.next().unwrap_or_default();
        match segments.next() {
            Some(second)
                if LAYERS
                    .iter()
                    .any(|(m, ..)| *m == format!("{first}::{second}")) =>
            {
                format!("{first}::{second}")
            }
            _ => first.to_owned(),
        }
    }

    /// Imports let through against the table: (file under `src/`, module it uses, why).
    /// Each one is a debt; keep the list empty.
    const ALLOWED: &[(&str, &str, &str)] = &[];

    /// Every `.rs` file under `dir`, in order.
    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("src/ is readable")
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// `text` with its comments, strings and character literals blanked out (newlines kept),
    /// so that only code is left to search.
    fn code_only(text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let ident = |c: char| c == '_' || c.is_alphanumeric();
        let blank = |out: &mut String, skipped: &[char]| {
            out.extend(skipped.iter().map(|&c| if c == '\n' { '\n' } else { ' ' }));
        };
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            let next = chars.get(i + 1).copied();
            let before = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
            let end = if c == '/' && next == Some('/') {
                (i..chars.len())
                    .find(|&j| chars[j] == '\n')
                    .unwrap_or(chars.len())
            } else if c == '/' && next == Some('*') {
                // Block comments nest.
                let (mut depth, mut j) = (0usize, i);
                while j < chars.len() {
                    match (chars[j], chars.get(j + 1)) {
                        ('/', Some('*')) => (depth, j) = (depth + 1, j + 2),
                        ('*', Some('/')) => {
                            (depth, j) = (depth - 1, j + 2);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => j += 1,
                    }
                }
                j
            } else if (c == 'r' || c == 'b' && next == Some('r')) && !before.is_some_and(ident) {
                // A raw string: r"..", r#".."#, br#".."#.
                let start = if c == 'b' { i + 2 } else { i + 1 };
                let hashes = chars[start..].iter().take_while(|&&h| h == '#').count();
                if chars.get(start + hashes) == Some(&'"') {
                    let close: Vec<char> = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    let body = start + hashes + 1;
                    (body..chars.len())
                        .find(|&j| chars[j..].starts_with(&close))
                        .map_or(chars.len(), |j| j + close.len())
                } else {
                    i
                }
            } else if c == '"' {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                j + 1
            } else if c == '\'' && next == Some('\\') {
                // An escaped character literal: '\n', '\'', '\u{1F600}'.
                (i + 3..chars.len())
                    .find(|&j| chars[j] == '\'')
                    .map_or(chars.len(), |j| j + 1)
            } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
                i + 3
            } else {
                i
            };
            if end > i {
                let end = end.min(chars.len());
                blank(&mut out, &chars[i..end]);
                i = end;
            } else {
                out.push(c);
                i += 1;
            }
        }
        out
    }

    /// The module paths, up to two segments, that `code` names through `root::`
    /// (`crate::observe::log::info(..)` names `observe::log`, `use crate::{job, wsgi::environ}`
    /// names `job` and `wsgi::environ`), with the line of each.
    fn references(code: &str, root: &str) -> Vec<(usize, String)> {
        let ident = |c: char| c == '_' || c.is_alphanumeric();
        let word = |s: &str| -> String { s.chars().take_while(|&c| ident(c)).collect() };
        // The first segment of each item of the group that `group` opens (just past its `{`),
        // at its top level, with what follows that segment.
        let items = |group: &str| -> Vec<(String, String)> {
            let mut out = Vec::new();
            let mut depth = 0usize;
            let mut item_start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if depth == 0 && item_start && ident(c) => {
                        let name = word(&group[k..]);
                        out.push((name.clone(), group[k + name.len()..].to_owned()));
                        item_start = false;
                    }
                    _ => {}
                }
            }
            out
        };
        // `first` and, when `after` (what follows it) goes on with `::`, each second segment.
        let paths = |first: String, after: &str| -> Vec<String> {
            let Some(rest) = after.strip_prefix("::") else {
                return vec![first];
            };
            let seconds: Vec<String> = match rest.strip_prefix('{') {
                Some(group) => items(group).into_iter().map(|(name, _)| name).collect(),
                None => vec![word(rest)],
            };
            let seconds: Vec<String> = seconds.into_iter().filter(|s| !s.is_empty()).collect();
            if seconds.is_empty() {
                return vec![first];
            }
            seconds.iter().map(|s| format!("{first}::{s}")).collect()
        };
        let mut found = Vec::new();
        for (n, line) in code.lines().enumerate() {
            let pattern = format!("{root}::");
            let mut rest = line;
            while let Some(at) = rest.find(&pattern) {
                let before = rest[..at].chars().next_back();
                let after = &rest[at + pattern.len()..];
                rest = after;
                if before.is_some_and(|c| ident(c) || c == ':') {
                    continue;
                }
                if let Some(group) = after.strip_prefix('{') {
                    for (first, tail) in items(group) {
                        for path in paths(first, &tail) {
                            found.push((n + 1, path));
                        }
                    }
                } else {
                    let name = word(after);
                    if !name.is_empty() {
                        let tail = &after[name.len()..];
                        for path in paths(name, tail) {
                            found.push((n + 1, path));
                        }
                    }
                }
            }
        }
        found
    }

    #[test]
    fn no_module_imports_upward_and_none_in_a_cycle() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let layer = |module: &str| LAYERS.iter().find(|(m, ..)| *m == module);
        let describe = |m: &str| match layer(m) {
            Some((_, rank, part)) => format!("layer {rank} {part}"),
            None => "not in the layer table".to_owned(),
        };
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut problems = Vec::new();
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for path in &files {
            let rel = path.strip_prefix(&src).expect("under src/");
            let name = rel.to_string_lossy().into_owned();
            let path_name = name.strip_suffix(".rs").unwrap_or(&name);
            let path_name = path_name.strip_suffix("/mod").unwrap_or(path_name);
            let module = module_of(&path_name.replace('/', "::"));
            let Some(&(_, rank, part)) = layer(&module) else {
                problems.push(format!(
                    "src/{name}: module {module} is not in the layer table"
                ));
                continue;
            };
            let text = std::fs::read_to_string(path).expect("a readable source file");
            let root = if module == "main" { "rwsgi" } else { "crate" };
            for (line, path) in references(&code_only(&text), root) {
                let target = module_of(&path);
                if target == module {
                    continue;
                }
                graph
                    .entry(module.clone())
                    .or_default()
                    .insert(target.clone());
                let upward = match layer(&target) {
                    Some(&(_, r, p)) => r > rank || r == rank && p != part,
                    None => true,
                };
                let allowed = ALLOWED.iter().any(|(f, t, _)| *f == name && *t == target);
                if upward && !allowed {
                    problems.push(format!(
                        "src/{name}:{line} ({}) imports {root}::{target} ({})",
                        describe(&module),
                        describe(&target)
                    ));
                }
            }
        }
        // A cycle: a path from a module back to itself.
        let mut cycles = BTreeSet::new();
        for start in graph.keys() {
            let mut paths = vec![vec![start.clone()]];
            let mut seen = BTreeSet::new();
            while let Some(path) = paths.pop() {
                let last = path.last().expect("a non-empty path");
                for next in graph.get(last).into_iter().flatten() {
                    if next == start {
                        let mut members = path.clone();
                        members.sort();
                        if cycles.insert(members) {
                            problems.push(format!("cycle: {} -> {start}", path.join(" -> ")));
                        }
                    } else if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        paths.push(longer);
                    }
                }
            }
        }
        // The table here and the one in the crate docs name the same modules.
        let docs = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
        for (module, ..) in LAYERS.iter().filter(|(_, rank, _)| *rank < 6) {
            if !docs.contains(&format!("[`{module}`]")) {
                problems.push(format!(
                    "the crate docs' layer table does not name {module}"
                ));
            }
            let file = src.join(format!("{}.rs", module.replace("::", "/")));
            if !file.is_file() && !src.join(module.replace("::", "/")).is_dir() {
                problems.push(format!(
                    "the layer table names {module}, which is not under src/"
                ));
            }
        }
        assert!(problems.is_empty(), "layering:\n{}", problems.join("\n"));
    }

    #[test]
    fn the_scan_sees_code_only() {
        let code = code_only(
            "use crate::a; // crate::b\n/* crate::c /* crate::d */ */ let s = \"crate::e\";\n\
             let r = r#\"crate::\"f\"#; let c = '\"'; crate::g::h(); x::crate::i;\n\
             use crate::{j, k::{l, m}, n};\n",
        );
        let names: Vec<String> = references(&code, "crate")
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        assert_eq!(names, ["a", "g::h", "j", "k::l", "k::m", "n"]);
        let mut firsts: Vec<&str> = names.iter().filter_map(|m| m.split("::").next()).collect();
        firsts.dedup();
        assert_eq!(firsts, ["a", "g", "j", "k", "n"]);
    }
}
