//! The loader: reads the files named on the command line (or stdin) and
//! resolves nginx's `include` globs relative to the including file. The
//! only part of `check` that touches the file system.

use std::path::{Path, PathBuf};

/// Whether `name` matches a shell-style pattern of `*` and `?` (nginx's
/// `include` takes glob(3) patterns; `[…]` classes are not supported).
pub(crate) fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

fn show(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Resolve an `include` written in `from`: the files it names (sorted, as
/// nginx reads them), with their text.
pub(crate) fn include(from: &str, pattern: &str) -> Result<Vec<(String, String)>, String> {
    let base = if from == "-" {
        PathBuf::from(".")
    } else {
        Path::new(from)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        base.join(pattern)
    };
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map_err(|e| format!("include {pattern}: reading {}: {e}", show(p)))
    };
    let last = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !last.contains(['*', '?']) {
        return Ok(vec![(show(&full), read(&full)?)]);
    }
    let dir = full.parent().map(Path::to_path_buf).unwrap_or_default();
    let entries = match std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &dir
    }) {
        Ok(e) => e,
        // glob(3) matching nothing is not an error for nginx.
        Err(_) => return Ok(Vec::new()),
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| wildcard(&last, &n.to_string_lossy()))
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| Ok((show(&p), read(&p)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*.conf", "a.conf"));
        assert!(!wildcard("*.conf", "a.conf.bak"));
        assert!(wildcard("site-?.conf", "site-1.conf"));
        assert!(wildcard("*", ""));
    }
}
