//! Native accelerators that pure-Python packages look for under their own names, so an
//! unchanged app gets them: CPython users get these from the packages' C extensions, which
//! cannot load here.
//!
//! - `markupsafe._speedups._escape_inner` (MarkupSafe 3.x): the HTML escape that Jinja2 runs
//!   for every autoescaped value. MarkupSafe imports it when present and falls back to its
//!   `_native` chain of five `str.replace` calls otherwise. Ours makes one pass and returns
//!   the string itself when nothing needs escaping, as the C version does.

pub(crate) use speedups::module_def as markupsafe_speedups_def;

/// `text` with `& > < ' "` escaped as MarkupSafe escapes them; `None` when nothing changes.
pub fn escape_html(text: &str) -> Option<String> {
    let special = |b: &u8| matches!(b, b'&' | b'>' | b'<' | b'\'' | b'"');
    let first = text.bytes().position(|b| special(&b))?;
    let mut out = String::with_capacity(text.len() + text.len() / 8 + 8);
    out.push_str(&text[..first]);
    let mut start = first;
    for (i, b) in text.bytes().enumerate().skip(first) {
        let entity = match b {
            b'&' => "&amp;",
            b'>' => "&gt;",
            b'<' => "&lt;",
            b'\'' => "&#39;",
            b'"' => "&#34;",
            _ => continue,
        };
        // Special bytes are ASCII, so `i` is a character boundary.
        out.push_str(&text[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&text[start..]);
    Some(out)
}

#[rustpython_vm::pymodule(name = "markupsafe._speedups")]
mod speedups {
    use rustpython_vm::{PyResult, VirtualMachine, builtins::PyStrRef};

    /// Escape `& > < ' "` for HTML (MarkupSafe's `_escape_inner`).
    #[pyfunction]
    fn _escape_inner(s: PyStrRef, vm: &VirtualMachine) -> PyResult<PyStrRef> {
        let Some(text) = s.to_str() else {
            // Lone surrogates: MarkupSafe's own way, str.replace, handles them.
            let mut out: rustpython_vm::PyObjectRef = s.into();
            for (from, to) in [
                ("&", "&amp;"),
                (">", "&gt;"),
                ("<", "&lt;"),
                ("'", "&#39;"),
                ("\"", "&#34;"),
            ] {
                out = vm.call_method(&out, "replace", (from, to))?;
            }
            return out
                .downcast()
                .map_err(|_| vm.new_type_error("str.replace returned a non-str"));
        };
        Ok(match super::escape_html(text) {
            Some(escaped) => vm.ctx.new_str(escaped),
            None => s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::escape_html;

    /// MarkupSafe's pure-Python fallback, the reference.
    fn reference(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('>', "&gt;")
            .replace('<', "&lt;")
            .replace('\'', "&#39;")
            .replace('"', "&#34;")
    }

    #[test]
    fn escapes_as_markupsafes_fallback_on_generated_inputs() {
        let alphabet: Vec<char> = "&<>'\"aé中 \n😀;#x".chars().collect();
        // A fixed linear congruential sequence: many strings, reproducible.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (state >> 58) as usize;
            let s: String = (0..len)
                .map(|i| {
                    let k = (state >> (i % 50)) as usize ^ i.wrapping_mul(31);
                    alphabet[k % alphabet.len()]
                })
                .collect();
            let ours = escape_html(&s).unwrap_or_else(|| s.clone());
            assert_eq!(ours, reference(&s), "{s:?}");
        }
        assert_eq!(escape_html("plain"), None);
        assert_eq!(
            escape_html("<a href=\"x\">&</a>").as_deref(),
            Some("&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;")
        );
    }
}
