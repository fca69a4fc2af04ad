//! Python's own command line, as `rwsgi python` receives it: when an argument vector is
//! python's (`sys.executable -c ...`, a `python3` link, `rwsgi python -mpip`), and how its
//! one-letter options are laid out for clap ([`cli::PythonArgs`](super::cli::PythonArgs)).
//!
//! python accepts its one-letter options clustered and their values attached (`-uc CODE`,
//! `-mpip`, `-Wignore`, `-Xutf8`, `-bb`); clap, with the script's arguments taken as trailing
//! values, read an attached value as the script's name ("can't open file -mpip"). Each
//! cluster is spelled out here as separate options, each value as its own argument, and a
//! `--` ends the options after `-c CODE` or `-m MODULE`, as python ends them.

use std::ffi::OsString;

/// python's one-letter switches that take no value.
const SWITCHES: &str = "bBdEIOPqRsSuvV";

/// python's one-letter options that take a value (`-c` and `-m` also end the options).
const WITH_VALUE: &str = "cmWX";

/// Whether `flags` (an argument without its leading `-`) is a cluster of python's one-letter
/// options: switches, optionally ending in one that takes a value (attached or next).
fn is_cluster(flags: &str) -> bool {
    for c in flags.chars() {
        if WITH_VALUE.contains(c) {
            return true;
        }
        if !SWITCHES.contains(c) {
            return false;
        }
    }
    !flags.is_empty()
}

/// A first argument that only python's command line has (rwsgi's own are subcommands,
/// `--help`, `--version` and `-V`; a bundle's are `rwsgi run`'s options, none of these).
pub fn is_python_option(arg: &std::ffi::OsStr) -> bool {
    let arg = arg.to_string_lossy();
    // `sys.executable -`: the program comes on stdin.
    if arg == "-" {
        return true;
    }
    let Some(flags) = arg.strip_prefix('-').filter(|f| !f.starts_with('-')) else {
        return false;
    };
    // `-V` alone is rwsgi's own version flag; `-v`, `-q`, `-d`, `-b` and `-R` alone (or only
    // those) look too much like a tool's verbosity or version flags to turn rwsgi into a
    // python that reads its program from stdin: `rwsgi -v` stays an unknown option.
    let only_ambiguous = flags.chars().all(|c| "bdqvR".contains(c));
    flags != "V" && !only_ambiguous && is_cluster(flags)
}

/// Lay out python's options in `args` (which start `rwsgi python`) for clap: clusters split,
/// values detached, and `--` after `-c CODE` or `-m MODULE`, whose arguments follow (`-m
/// cProfile -s time x.py`). A script, the first positional argument, ends the options too
/// (clap's trailing arguments).
pub fn lay_out(args: &mut Vec<OsString>) {
    let mut i = 2;
    while let Some(arg) = args.get(i).map(|a| a.to_string_lossy().into_owned()) {
        if arg == "--" || !arg.starts_with('-') || arg == "-" {
            return;
        }
        if arg == "--pythonpath" {
            i += 2;
            continue;
        }
        if arg.starts_with("--") {
            i += 1;
            continue;
        }
        let flags = &arg[1..];
        if !is_cluster(flags) {
            return; // not python's: clap reports it
        }
        let mut spelled: Vec<OsString> = Vec::new();
        let mut ends = false;
        let mut needs_value = false;
        for (at, c) in flags.char_indices() {
            spelled.push(format!("-{c}").into());
            if WITH_VALUE.contains(c) {
                let value = &flags[at + c.len_utf8()..];
                if value.is_empty() {
                    needs_value = true;
                } else {
                    spelled.push(value.into());
                }
                ends = matches!(c, 'c' | 'm');
                break;
            }
        }
        let count = spelled.len();
        args.splice(i..=i, spelled);
        i += count + usize::from(needs_value);
        if ends {
            if i <= args.len() {
                args.insert(i, "--".into());
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn laid_out(line: &[&str]) -> Vec<String> {
        let mut args: Vec<OsString> = ["rwsgi", "python"]
            .iter()
            .chain(line)
            .map(OsString::from)
            .collect();
        lay_out(&mut args);
        args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn clusters_and_attached_values_are_spelled_out() {
        assert_eq!(
            laid_out(&["-mpip", "install"]),
            ["-m", "pip", "--", "install"]
        );
        assert_eq!(laid_out(&["-m", "pip", "-v"]), ["-m", "pip", "--", "-v"]);
        assert_eq!(
            laid_out(&["-cprint(1)", "a"]),
            ["-c", "print(1)", "--", "a"]
        );
        assert_eq!(
            laid_out(&["-uc", "print(1)"]),
            ["-u", "-c", "print(1)", "--"]
        );
        assert_eq!(
            laid_out(&["-Wignore", "-Xutf8", "-bb", "x.py", "-c"]),
            ["-W", "ignore", "-X", "utf8", "-b", "-b", "x.py", "-c"]
        );
        assert_eq!(
            laid_out(&["-W", "error", "-OO", "-m", "json.tool"]),
            ["-W", "error", "-O", "-O", "-m", "json.tool", "--"]
        );
        assert_eq!(
            laid_out(&["--pythonpath", "-odd", "-IPm", "x"]),
            ["--pythonpath", "-odd", "-I", "-P", "-m", "x", "--"]
        );
        assert_eq!(laid_out(&["-", "a"]), ["-", "a"]);
        assert_eq!(laid_out(&["-Z"]), ["-Z"]);
    }

    #[test]
    fn python_options_are_told_from_rwsgi_ones() {
        for python in [
            "-c", "-mpip", "-uc", "-Wignore", "-bbc", "-I", "-", "-VV", "-P", "-vm",
        ] {
            assert!(is_python_option(python.as_ref()), "{python}");
        }
        for ours in [
            "-V",
            "-h",
            "--version",
            "--help",
            "run",
            "-Z",
            "--bind",
            "-v",
            "-q",
        ] {
            assert!(!is_python_option(ours.as_ref()), "{ours}");
        }
    }
}
