//! `--config FILE`: settings from TOML, applied as `RWSGI_*` environment defaults before the
//! command line is parsed, so the precedence is command line > environment > file > built-in
//! default with a single parser (clap) deciding every value.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::CommandFactory;

use crate::edge::cli::Cli;

/// The `--config` path from the arguments or `RWSGI_CONFIG`.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let arg = arg.to_string_lossy();
        if arg == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("RWSGI_CONFIG").map(PathBuf::from)
}

/// The environment variable of every `rwsgi run` option.
fn known_variables() -> Vec<String> {
    let cli = Cli::command();
    cli.find_subcommand("run")
        .map(|run| {
            run.get_arguments()
                .filter_map(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn scalar(key: &str, value: &toml::Value) -> anyhow::Result<String> {
    Ok(match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        _ => bail!("setting `{key}` must be a string, number, boolean or a list of them"),
    })
}

/// Read the config file, if one is named, into the environment.
pub fn apply(args: &[OsString]) -> anyhow::Result<()> {
    let Some(path) = config_path(args) else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let known = known_variables();
    for (key, value) in &table {
        let variable = format!("RWSGI_{}", key.to_ascii_uppercase().replace('-', "_"));
        if !known.contains(&variable) {
            bail!(
                "{}: unknown setting `{key}` (see rwsgi run --help)",
                path.display()
            );
        }
        if std::env::var_os(&variable).is_some() {
            continue;
        }
        let text = match value {
            toml::Value::Array(items) => items
                .iter()
                .map(|v| scalar(key, v))
                .collect::<anyhow::Result<Vec<_>>>()?
                .join(","),
            other => scalar(key, other)?,
        };
        // Called from main before any thread exists; `set_env` checks that it is so.
        crate::process::sys::set_env(&variable, &text)
            .with_context(|| format!("cannot set {variable} from the config file"))?;
    }
    Ok(())
}
