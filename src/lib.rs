//! rwsgi: one static binary that serves Python WSGI (PEP 3333) applications on an embedded
//! RustPython interpreter.
//!
//! # Layout
//!
//! Layers, bottom to top. A module uses only the layers below its own and the modules of its
//! own part, never one above (the test `layers` holds every file under `src/` to this table,
//! and allows no cycle between modules):
//!
//! | layer | part | modules |
//! |---|---|---|
//! | 0 | raw calls | [`sys`] (the raw Unix calls) |
//! | 1 | PEP 3333 | [`wsgi`] (environ, response head checks, input buffering: pure Rust) |
//! | 2 | observe | [`log`] (server and access logs), [`access_log`] (its line formats), [`metrics`] (the shared Prometheus counters), [`lifecycle`] (why a worker retires) |
//! | 3 | contract | [`job`] (the one crossing between HTTP and Python: jobs, replies, the body stream) |
//! | 4 | HTTP | [`http`] (request → job, reply → response; limits; errors → status codes), [`server`] (accept loop), [`drain`] (graceful drain), [`load`] (admission by free Python threads), [`tls`] (rustls configuration) |
//! | 4 | Python | [`python`] (interpreters, the app's threads, the native `_rwsgi` module) and the frozen `pylib/` |
//! | 5 | edge | [`cli`] (clap), [`config`] (validated settings), [`config_file`] (`--config`), [`bundle`] (bundled executables), [`check`] (`rwsgi check`, `run --check`), [`reload`] (`--reload`), [`supervisor`] (master process: binds, forks workers, restarts, signals), [`worker`] (one worker process) |
//!
//! HTTP (tokio + hyper, never Python) and Python (the only code naming RustPython types) are
//! siblings: neither imports the other; they meet in [`job`]. Python takes plain parameters,
//! never the edge's types; the edge converts. Within the edge, `config` uses `cli` (never the
//! reverse), `bundle` uses `config`, `supervisor` uses `worker`, `check` uses `worker`.

pub mod access_log;
pub mod bundle;
pub mod check;
pub mod cli;
pub mod config;
pub mod config_file;
pub mod drain;
pub mod http;
pub mod job;
pub mod lifecycle;
pub mod load;
pub mod log;
pub mod metrics;
pub mod python;
pub mod reload;
pub mod server;
pub mod supervisor;
pub mod sys;
pub mod tls;
pub mod worker;
pub mod wsgi;

/// Holds every file under `src/` to the layer table of the crate docs (`# Layout`).
#[cfg(test)]
mod layers {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    /// The layer table of the crate docs: each top-level module (a file under `src/`, or a
    /// folder with all its files), its rank and its part. A module may use the modules of a
    /// lower rank and those of its own part; never a higher rank, nor another part of its own
    /// rank (HTTP and Python are siblings that meet only in `job`).
    const LAYERS: &[(&str, u8, &str)] = &[
        ("sys", 0, "sys"),
        ("wsgi", 1, "wsgi"),
        ("log", 2, "observe"),
        ("access_log", 2, "observe"),
        ("metrics", 2, "observe"),
        ("lifecycle", 2, "observe"),
        ("job", 3, "job"),
        ("python", 4, "python"),
        ("http", 4, "http"),
        ("server", 4, "http"),
        ("drain", 4, "http"),
        ("load", 4, "http"),
        ("tls", 4, "http"),
        ("cli", 5, "edge"),
        ("config", 5, "edge"),
        ("config_file", 5, "edge"),
        ("bundle", 5, "edge"),
        ("check", 5, "edge"),
        ("reload", 5, "edge"),
        ("supervisor", 5, "edge"),
        ("worker", 5, "edge"),
        // The crate root and the binary (which names the library `rwsgi::`).
        ("lib", 6, "root"),
        ("main", 6, "root"),
    ];

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

    /// The top-level modules that `code` names through `root::` (`crate::log::info(..)`,
    /// `use crate::{job, wsgi::environ}`), with the line of each.
    fn references(code: &str, root: &str) -> Vec<(usize, String)> {
        let ident = |c: char| c == '_' || c.is_alphanumeric();
        let word = |s: &str| -> String { s.chars().take_while(|&c| ident(c)).collect() };
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
                    // The first segment of each item of a group, at its top level.
                    let mut depth = 0usize;
                    let mut item_start = true;
                    for (k, c) in group.char_indices() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => break,
                            '}' => depth -= 1,
                            ',' if depth == 0 => item_start = true,
                            c if item_start && ident(c) => {
                                found.push((n + 1, word(&group[k..])));
                                item_start = false;
                            }
                            _ => {}
                        }
                    }
                } else {
                    let name = word(after);
                    if !name.is_empty() {
                        found.push((n + 1, name));
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
            let first = rel.components().next().expect("a path");
            let module = first.as_os_str().to_string_lossy();
            let module = module.strip_suffix(".rs").unwrap_or(&module).to_owned();
            let Some(&(_, rank, part)) = layer(&module) else {
                problems.push(format!(
                    "src/{name}: module {module} is not in the layer table"
                ));
                continue;
            };
            let text = std::fs::read_to_string(path).expect("a readable source file");
            let root = if module == "main" { "rwsgi" } else { "crate" };
            for (line, target) in references(&code_only(&text), root) {
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
            let file = src.join(format!("{module}.rs"));
            if !file.is_file() && !src.join(module).is_dir() {
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
        assert_eq!(names, ["a", "g", "j", "k", "n"]);
    }
}
