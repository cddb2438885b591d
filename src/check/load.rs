//! The loader: reads the files named on the command line (or stdin), the
//! files of a directory, and nginx's `include`s. The only part of `check`
//! that touches the file system.
//!
//! Every read is bounded: a file holds at most [`MAX_FILE`] bytes, all the
//! includes of a run at most [`MAX_TOTAL`] bytes and [`MAX_INCLUDES`]
//! files, and a pipe or FIFO that stays silent for [`IDLE`] is given up.
//! Binary data (a NUL byte) and text that is not UTF-8 are refused with
//! the byte offset. A FIFO is opened without blocking (no writer: it is
//! empty), and an `include` of anything but a regular file is refused.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::nginx::{IncludeError, Included};

/// The most `check` reads from one file or from stdin.
pub(crate) const MAX_FILE: usize = 64 << 20;
/// The most all of a run's includes may add up to.
pub(crate) const MAX_TOTAL: usize = 256 << 20;
/// The most files a run's includes may read.
pub(crate) const MAX_INCLUDES: usize = 10_000;
/// How long stdin, a pipe or a FIFO may stay silent before `check` gives up.
pub(crate) const IDLE: Duration = Duration::from_secs(30);

/// One piece of a glob(3) pattern: each but `*` takes one character.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Star,
    Any,
    Char(char),
    /// `[…]`: ranges (a lone character is a range of one), named classes
    /// (`[:digit:]`), negated by a leading `!` or `^`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
        named: Vec<&'static str>,
    },
}

impl Piece {
    fn takes(&self, c: char) -> bool {
        match self {
            Piece::Star => true,
            Piece::Any => true,
            Piece::Char(x) => *x == c,
            Piece::Class {
                negated,
                ranges,
                named,
            } => {
                let hit = ranges.iter().any(|&(a, b)| a <= c && c <= b)
                    || named.iter().any(|name| in_class(name, c));
                hit != *negated
            }
        }
    }
}

/// The POSIX class names of a bracket expression (`[[:digit:]]`).
const CLASSES: [&str; 12] = [
    "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
    "upper", "xdigit",
];

/// Whether `c` is in the POSIX class `name` (one of [`CLASSES`]; the C
/// locale's, as nginx runs).
fn in_class(name: &str, c: char) -> bool {
    match name {
        "alnum" => c.is_ascii_alphanumeric(),
        "alpha" => c.is_ascii_alphabetic(),
        "blank" => c == ' ' || c == '\t',
        "cntrl" => c.is_ascii_control(),
        "digit" => c.is_ascii_digit(),
        "graph" => c.is_ascii_graphic(),
        "lower" => c.is_ascii_lowercase(),
        "print" => c.is_ascii_graphic() || c == ' ',
        "punct" => c.is_ascii_punctuation(),
        "space" => c.is_ascii_whitespace() || c == '\x0b',
        "upper" => c.is_ascii_uppercase(),
        "xdigit" => c.is_ascii_hexdigit(),
        _ => false,
    }
}

/// The class that starts after the `[` at `p[i]`, and where the pattern
/// goes on after its `]`; `Ok(None)` when no `]` closes it (glob(3) then
/// takes the `[` as itself); `Err` for a form `check` does not match as
/// glob(3) does (`[[=a=]]`, `[[.a.]]`, an unknown `[:name:]`).
fn class_at(p: &[char], i: usize) -> Result<Option<(Piece, usize)>, String> {
    let mut j = i + 1;
    let negated = matches!(p.get(j), Some('!' | '^'));
    if negated {
        j += 1;
    }
    let mut ranges: Vec<(char, char)> = Vec::new();
    let mut named: Vec<&'static str> = Vec::new();
    let mut first = true;
    loop {
        let Some(&c) = p.get(j) else {
            return Ok(None);
        };
        if c == ']' && !first {
            return Ok(Some((
                Piece::Class {
                    negated,
                    ranges,
                    named,
                },
                j + 1,
            )));
        }
        first = false;
        if c == '[' && matches!(p.get(j + 1), Some(':' | '=' | '.')) {
            let kind = p[j + 1];
            let rest: String = p[j + 2..].iter().collect();
            let Some(end) = rest.find(&format!("{kind}]")) else {
                return Err(format!(
                    "`[{kind}` without its `{kind}]` in a bracket expression"
                ));
            };
            let name = &rest[..end];
            if kind != ':' {
                return Err(format!(
                    "`[{kind}{name}{kind}]` (a collating element or an equivalence class)"
                ));
            }
            let Some(known) = CLASSES.iter().find(|c| **c == name) else {
                return Err(format!("`[:{name}:]` (no such character class)"));
            };
            named.push(known);
            j += 2 + name.chars().count() + 2;
            continue;
        }
        j += 1;
        let Some(lo) = escaped(c, p, &mut j) else {
            return Ok(None);
        };
        let mut hi = lo;
        if p.get(j) == Some(&'-') && p.get(j + 1).is_some_and(|&n| n != ']') {
            j += 2;
            let Some(h) = escaped(p[j - 1], p, &mut j) else {
                return Ok(None);
            };
            hi = h;
        }
        ranges.push((lo, hi));
    }
}

/// A bracket expression's character `c`, read just before `p[*j]`: a
/// backslash takes the next one as itself (`j` moves past it); `None` when
/// the pattern ends after the backslash.
fn escaped(c: char, p: &[char], j: &mut usize) -> Option<char> {
    if c != '\\' {
        return Some(c);
    }
    let e = *p.get(*j)?;
    *j += 1;
    Some(e)
}

/// A glob(3) pattern of one path component, in pieces.
fn pieces(pattern: &str) -> Result<Vec<Piece>, String> {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '*' => {
                if out.last() != Some(&Piece::Star) {
                    out.push(Piece::Star);
                }
                i += 1;
            }
            '?' => {
                out.push(Piece::Any);
                i += 1;
            }
            '\\' if i + 1 < p.len() => {
                out.push(Piece::Char(p[i + 1]));
                i += 2;
            }
            '[' => match class_at(&p, i)? {
                Some((class, next)) => {
                    out.push(class);
                    i = next;
                }
                None => {
                    out.push(Piece::Char('['));
                    i += 1;
                }
            },
            c => {
                out.push(Piece::Char(c));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Whether a file name matches a glob(3) pattern of one path component,
/// as nginx's `include` (glob(3), flags 0) matches it: `*`, `?`, `[…]`
/// classes (ranges, `!`/`^`, `[:digit:]`), `\` escapes; a name starting
/// with `.` only by a pattern starting with a literal `.`. `Err` names a
/// form `check` does not match (see [`class_at`]). Linear in practice: a
/// `*` remembers where to resume.
pub(crate) fn glob_match(pattern: &str, name: &str) -> Result<bool, String> {
    let p = pieces(pattern)?;
    let n: Vec<char> = name.chars().collect();
    if n.first() == Some(&'.') && p.first() != Some(&Piece::Char('.')) {
        return Ok(false);
    }
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        match p.get(i) {
            Some(Piece::Star) => {
                star = Some((i, j));
                i += 1;
            }
            Some(piece) if piece.takes(n[j]) => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((si, sj)) => {
                    i = si + 1;
                    j = sj + 1;
                    star = Some((si, sj + 1));
                }
                None => return Ok(false),
            },
        }
    }
    Ok(p[i..].iter().all(|x| *x == Piece::Star))
}

/// Whether `name` matches a glob(3) pattern (see [`glob_match`]); a form
/// `check` does not match matches nothing.
pub(crate) fn wildcard(pattern: &str, name: &str) -> bool {
    glob_match(pattern, name).unwrap_or(false)
}

/// Whether a path (or a component) holds glob(3)'s special characters:
/// nginx hands such an `include` to glob(3), any other it opens as is.
pub(crate) fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn show(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Bytes read, as text: refused when binary or not UTF-8.
fn text_of(what: &str, bytes: Vec<u8>) -> Result<String, String> {
    if let Some(at) = memchr::memchr(0, &bytes) {
        return Err(format!(
            "{what} holds binary data (a NUL byte at offset {at}): check reads text configurations"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        format!("{what} is not UTF-8 text (at byte offset {at}, line {line}): check reads text configurations; convert it (iconv -t UTF-8)")
    })
}

fn too_large(what: &str) -> String {
    format!(
        "{what} is larger than {} MiB: check reads configurations, not data; give the configuration file itself",
        MAX_FILE >> 20
    )
}

/// Wait until `fd` has something to read (or its end), at most [`IDLE`].
fn wait_readable(what: &str, fd: i32) -> Result<(), String> {
    let deadline = Instant::now() + IDLE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd, for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n > 0 {
            return Ok(());
        }
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if n == 0 || left.is_zero() {
            return Err(format!(
                "{what}: nothing came for {} s (a pipe or FIFO with nobody writing?); check gives up",
                IDLE.as_secs()
            ));
        }
        return Err(format!("reading {what}: {}", io::Error::last_os_error()));
    }
}

/// Read a pipe, FIFO or device: at most [`MAX_FILE`] bytes, waiting at
/// most [`IDLE`] for each chunk. A non-blocking descriptor is read first
/// (a FIFO without a writer reads as empty at once), a blocking one
/// (stdin) only once poll says it will not block.
fn read_stream(what: &str, r: &mut dyn Read, fd: i32, nonblocking: bool) -> Result<String, String> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    if !nonblocking {
        wait_readable(what, fd)?;
    }
    loop {
        match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if memchr::memchr(0, &chunk[..n]).is_some() {
                    // Say so now, not after 64 MiB of /dev/zero.
                    return text_of(what, buf);
                }
                if buf.len() > MAX_FILE {
                    return Err(too_large(what));
                }
                if !nonblocking {
                    wait_readable(what, fd)?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait_readable(what, fd)?,
            Err(e) => return Err(format!("reading {what}: {e}")),
        }
    }
    text_of(what, buf)
}

/// Read a regular file: at most [`MAX_FILE`] bytes.
fn read_regular(what: &str, f: &mut File) -> Result<String, String> {
    // Sized from the start: doubling to fit would hold up to twice the
    // file.
    let size = f.metadata().map_or(0, |m| m.len()).min(MAX_FILE as u64 + 1);
    let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
    f.take(MAX_FILE as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("reading {what}: {e}"))?;
    if buf.len() > MAX_FILE {
        return Err(too_large(what));
    }
    text_of(what, buf)
}

/// Read stdin (`-`).
pub(crate) fn read_stdin() -> Result<String, String> {
    let stdin = io::stdin();
    let mut lock = stdin.lock();
    read_stream("stdin", &mut lock, 0, false)
}

/// Read a file named on the command line: a regular file, or a FIFO or
/// pipe (`<(kubectl …)`), opened without blocking.
pub(crate) fn read_file(path: &Path) -> Result<String, String> {
    let what = show(path);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("reading {what}: {e}"))?;
    let meta = f.metadata().map_err(|e| format!("reading {what}: {e}"))?;
    let ty = meta.file_type();
    if ty.is_file() {
        return read_regular(&what, &mut f);
    }
    if ty.is_fifo() || ty.is_char_device() || ty.is_socket() {
        let fd = f.as_raw_fd();
        return read_stream(&what, &mut f, fd, true);
    }
    Err(format!(
        "{what} is not a regular file (a block device?): check reads configuration files"
    ))
}

/// File names a directory argument stands for: every configuration file
/// under it (`*.yaml`, `*.yml`, `*.json`, `*.conf`, `*.cfg`, `*.toml`,
/// `Caddyfile*`, Postfix's `main.cf` and `master.cf`, `*.cnf`), sorted,
/// hidden entries (`.git`) left out.
pub(crate) fn files_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    const EXTENSIONS: [&str; 7] = ["yaml", "yml", "json", "conf", "cfg", "toml", "caddyfile"];
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("reading directory {}: {e}", show(&d)))?;
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let Ok(ty) = e.file_type() else { continue };
            if ty.is_dir() {
                todo.push(p);
                continue;
            }
            let ext = p
                .extension()
                .map(|x| x.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            // Postfix's two files by name (its other *.cf are maps), my.cnf
            // and its *.cnf.
            let mail = matches!(name.as_str(), "main.cf" | "master.cf") || ext == "cnf";
            if EXTENSIONS.contains(&ext.as_str()) || name.starts_with("Caddyfile") || mail {
                out.push(p);
            }
            if out.len() > MAX_INCLUDES {
                return Err(format!(
                    "{} holds more than {MAX_INCLUDES} configuration files: give the ones to check",
                    show(dir)
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Resolves nginx's `include`s for one run: relative patterns against the
/// main configuration's directory (nginx's prefix) first, then the
/// including file's; absolute ones under `root` when given.
#[derive(Debug, Default)]
pub(crate) struct Loader {
    /// `--root DIR`: where a copied production tree's absolute paths are.
    pub root: Option<PathBuf>,
    /// `root` without symlinks (`/tmp` may be one), to tell a link inside
    /// the copy.
    real_root: Option<PathBuf>,
    read: Cell<usize>,
    files: Cell<usize>,
}

impl Loader {
    pub(crate) fn new(root: Option<PathBuf>) -> Loader {
        let real_root = root
            .as_ref()
            .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()));
        Loader {
            root,
            real_root,
            ..Loader::default()
        }
    }

    /// Where `path` is, its symlinks followed as on the server: a link
    /// inside the `--root` copy whose target is absolute (Debian's
    /// `sites-enabled/default -> /etc/nginx/sites-available/default`)
    /// points into the copy (as [`Loader::under_root`] places an absolute
    /// include), not at this machine's file. Without `--root`, `path`.
    fn in_copy(&self, path: &Path) -> PathBuf {
        use std::path::Component;
        let Some(root) = &self.real_root else {
            return path.to_path_buf();
        };
        let Ok(abs) = std::path::absolute(path) else {
            return path.to_path_buf();
        };
        let owned = |c: Component<'_>| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        };
        let mut todo: std::collections::VecDeque<std::ffi::OsString> =
            abs.components().filter_map(owned).collect();
        let mut cur = PathBuf::from("/");
        let mut links = 0;
        // Whether a link was sent into the copy: else the system follows
        // the links as the server does, and `path` is read as it is.
        let mut moved = false;
        while let Some(c) = todo.pop_front() {
            if c == ".." {
                cur.pop();
                continue;
            }
            let next = cur.join(&c);
            let is_link = next
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink());
            if !is_link {
                cur = next;
                continue;
            }
            links += 1;
            // A loop: opening it says so (ELOOP), as for nginx.
            let Ok(target) = std::fs::read_link(&next) else {
                return path.to_path_buf();
            };
            if links > 40 {
                return path.to_path_buf();
            }
            let target = if target.is_absolute() && next.starts_with(root) {
                moved = true;
                Self::under_root(root, &target)
            } else {
                target
            };
            if target.is_absolute() {
                cur = PathBuf::from("/");
            }
            for c in target.components().rev().filter_map(owned) {
                todo.push_front(c);
            }
        }
        if moved {
            cur
        } else {
            path.to_path_buf()
        }
    }

    fn dir_of(file: &str) -> PathBuf {
        if file == "-" {
            return PathBuf::from(".");
        }
        Path::new(file)
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// Where an absolute path is under `--root`: the whole path below it,
    /// or the path without its first components (`/etc/nginx/x.conf` in a
    /// copy of `/etc/nginx` is `ROOT/x.conf`); the first that exists.
    fn under_root(root: &Path, abs: &Path) -> PathBuf {
        let rel: Vec<_> = abs
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .collect();
        // A glob needs the directory before its first pattern found, not
        // just ROOT itself.
        let magic = rel
            .iter()
            .position(|c| is_glob(&c.as_os_str().to_string_lossy()));
        let tries = magic.unwrap_or(rel.len());
        for skip in 0..tries {
            let found = match magic {
                Some(m) => root.join(rel[skip..m].iter().collect::<PathBuf>()).is_dir(),
                None => root.join(rel[skip..].iter().collect::<PathBuf>()).exists(),
            };
            if found {
                return root.join(rel[skip..].iter().collect::<PathBuf>());
            }
        }
        root.join(rel.iter().collect::<PathBuf>())
    }

    /// The candidates for a pattern: where nginx would look, then where a
    /// copied tree may have put it.
    fn candidates(&self, top: &str, from: &str, pattern: &str) -> (Vec<PathBuf>, bool) {
        let p = Path::new(pattern);
        if p.is_absolute() {
            return match &self.root {
                Some(root) => (vec![Self::under_root(root, p)], false),
                None => (vec![p.to_path_buf()], true),
            };
        }
        let mut dirs = vec![Self::dir_of(top), Self::dir_of(from)];
        // A server block file given alone (sites-enabled/app.conf) whose
        // includes are relative to the tree's top (snippets/…).
        if let Some(up) = Self::dir_of(top).parent() {
            dirs.push(if up.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                up.to_path_buf()
            });
        }
        dirs.dedup();
        let join = |d: PathBuf| {
            if d == Path::new(".") {
                p.to_path_buf()
            } else {
                d.join(p)
            }
        };
        (dirs.into_iter().map(join).collect(), false)
    }

    fn budget(&self, n: usize) -> Result<(), IncludeError> {
        self.read.set(self.read.get() + n);
        self.files.set(self.files.get() + 1);
        if self.read.get() > MAX_TOTAL {
            return Err(IncludeError::Fatal(format!(
                "includes add up to more than {} MiB: check stops here",
                MAX_TOTAL >> 20
            )));
        }
        if self.files.get() > MAX_INCLUDES {
            return Err(IncludeError::Fatal(format!(
                "includes read more than {MAX_INCLUDES} files (a loop of globs?): check stops here"
            )));
        }
        Ok(())
    }

    fn read_one(&self, path: &Path, pattern: &str, system: bool) -> Result<Included, IncludeError> {
        let real = self.in_copy(path);
        let shown = if real == path {
            show(path)
        } else {
            format!("{} (a link to {} in the copy)", show(path), show(&real))
        };
        let meta = std::fs::metadata(&real)
            .map_err(|e| IncludeError::Missing(format!("include {pattern}: {shown}: {e}")))?;
        if !meta.is_file() {
            return Err(IncludeError::Fatal(format!(
                "include {pattern}: {} is not a regular file (a FIFO, a device, a directory): nginx includes files",
                show(path)
            )));
        }
        let mut f = File::open(&real)
            .map_err(|e| IncludeError::Fatal(format!("include {pattern}: {shown}: {e}")))?;
        let text = read_regular(&show(path), &mut f)
            .map_err(|e| IncludeError::Fatal(format!("include {pattern}: {e}")))?;
        self.budget(text.len())?;
        Ok(Included {
            name: show(path),
            text,
            system,
        })
    }

    /// Resolve an `include` written in `from` (a file of the configuration
    /// whose main file is `top`): the files it names, sorted as nginx reads
    /// them, with their text.
    pub(crate) fn include(
        &self,
        top: &str,
        from: &str,
        pattern: &str,
    ) -> Result<Vec<Included>, IncludeError> {
        let (candidates, system) = self.candidates(top, from, pattern);
        if !is_glob(pattern) {
            let mut missing = None;
            for c in &candidates {
                match self.read_one(c, pattern, system) {
                    Err(IncludeError::Missing(m)) => {
                        missing.get_or_insert(m);
                    }
                    other => return other.map(|i| vec![i]),
                }
            }
            return Err(IncludeError::Missing(missing.unwrap_or_default()));
        }
        for full in &candidates {
            let names = expand(full).map_err(|e| {
                IncludeError::Unsupported(format!(
                    "include {pattern}: check does not match {e} as glob(3) does, so it read none of the files nginx includes here (`nginx -T` lists them)"
                ))
            })?;
            // glob(3) matching nothing is not an error for nginx.
            if names.is_empty() {
                continue;
            }
            return names
                .iter()
                .map(|p| self.read_one(p, pattern, system))
                .collect();
        }
        Ok(Vec::new())
    }
}

/// The paths a glob(3) pattern names, as glob(3) lists them: each
/// component with special characters matched against a directory's
/// entries (only directories are gone into), the other components as
/// they are (the path is there, or it is not listed), the whole sorted by
/// bytes (the C locale's `strcmp`, as nginx runs). `Err` names a form of
/// pattern `check` does not match.
fn expand(full: &Path) -> Result<Vec<PathBuf>, String> {
    use std::os::unix::ffi::OsStrExt;
    let comps: Vec<std::path::Component<'_>> = full.components().collect();
    // Every pattern is checked, even where no directory is there to list:
    // a form not understood is said, not taken for "matches nothing".
    for c in &comps {
        let name = c.as_os_str().to_string_lossy();
        if is_glob(&name) {
            pieces(&name)?;
        }
    }
    let mut found = vec![PathBuf::new()];
    let mut globbed = false;
    for (k, c) in comps.iter().enumerate() {
        let name = c.as_os_str().to_string_lossy();
        if !matches!(c, std::path::Component::Normal(_)) || !is_glob(&name) {
            for f in &mut found {
                f.push(c.as_os_str());
            }
            continue;
        }
        globbed = true;
        let last = k + 1 == comps.len();
        let mut next = Vec::new();
        for dir in &found {
            let list = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            let Ok(entries) = std::fs::read_dir(list) else {
                continue;
            };
            for e in entries.filter_map(Result::ok) {
                if !glob_match(&name, &e.file_name().to_string_lossy())? {
                    continue;
                }
                let p = dir.join(e.file_name());
                if last || p.is_dir() {
                    next.push(p);
                }
            }
            if next.len() > MAX_INCLUDES {
                break;
            }
        }
        found = next;
        if found.is_empty() {
            break;
        }
    }
    if !globbed {
        found.clear();
    }
    // A name written after a pattern (`*/site.conf`) is listed only where
    // it is.
    found.retain(|p| p.symlink_metadata().is_ok());
    found.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absolute_link_in_the_copy_points_into_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("etc");
        std::fs::create_dir_all(root.join("nginx/sites-available")).unwrap();
        std::fs::create_dir_all(root.join("nginx/sites-enabled")).unwrap();
        std::fs::write(root.join("nginx/sites-available/site"), "server {}\n").unwrap();
        let link = root.join("nginx/sites-enabled/site");
        std::os::unix::fs::symlink("/etc/nginx/sites-available/site", &link).unwrap();
        let rel = root.join("nginx/sites-enabled/rel");
        std::os::unix::fs::symlink("../sites-available/site", &rel).unwrap();
        let loader = Loader::new(Some(root.clone()));
        let real = std::fs::canonicalize(root.join("nginx/sites-available/site")).unwrap();
        assert_eq!(std::fs::canonicalize(loader.in_copy(&link)).unwrap(), real);
        // A relative link is followed by the system, as on the server.
        assert_eq!(loader.in_copy(&rel), rel);
        // Without --root, a path is read as it is.
        assert_eq!(Loader::new(None).in_copy(&link), link);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.conf", "a.conf"));
        assert!(!wildcard("*.conf", "a.conf.bak"));
        assert!(wildcard("site-?.conf", "site-1.conf"));
        assert!(wildcard("*", ""));
        assert!(wildcard("a*b*c", "aXbYbZc"));
        assert!(!wildcard("a*b*c", "aXbYbZ"));
        // Linear, not exponential, on many stars.
        let long = "a".repeat(10_000);
        assert!(!wildcard(
            &"*a".repeat(50).replace("**", "*"),
            &(long + "b")
        ));
    }

    #[test]
    fn globs_as_glob3_matches_them() {
        // Bracket classes: ranges, negation, named classes, `]` first.
        assert!(wildcard("[0-9][0-9]-*.conf", "10-app.conf"));
        assert!(!wildcard("[0-9][0-9]-*.conf", "xx-app.conf"));
        assert!(wildcard("[!a]*", "b.conf"));
        assert!(!wildcard("[^a]*", "a.conf"));
        assert!(wildcard("[[:digit:]]*", "9.conf"));
        assert!(wildcard("[]x]", "]"));
        assert!(wildcard("a[-]b", "a-b"));
        // An unclosed `[` is itself; `\` escapes.
        assert!(wildcard("a[b", "a[b"));
        assert!(wildcard("\\*x", "*x"));
        assert!(!wildcard("\\*x", "ax"));
        // A leading dot is matched only by a literal one.
        assert!(!wildcard("*", ".app.orig"));
        assert!(!wildcard("?app", ".app"));
        assert!(!wildcard("[.]app", ".app"));
        assert!(wildcard(".*", ".app.orig"));
        // Forms not matched as glob(3) does are said, not guessed.
        assert!(glob_match("[[=a=]]", "a").is_err());
        assert!(glob_match("[[:nope:]]", "a").is_err());
        assert!(is_glob("conf.d/[0-9]*.conf"));
        assert!(!is_glob("mime.types"));
    }

    #[test]
    fn expand_lists_as_glob3() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "sites/a",
            "sites/.a.swp",
            "sites/b",
            "conf.d/10-x.conf",
            "conf.d/x.conf",
        ] {
            std::fs::create_dir_all(d.join(f).parent().unwrap()).unwrap();
            std::fs::write(d.join(f), "").unwrap();
        }
        let names = |p: &str| -> Vec<String> {
            expand(&d.join(p))
                .unwrap()
                .iter()
                .map(|x| x.strip_prefix(d).unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names("sites/*"), ["sites/a", "sites/b"]);
        assert_eq!(names("conf.d/[0-9]*.conf"), ["conf.d/10-x.conf"]);
        assert_eq!(names("*/a"), ["sites/a"]);
        assert!(names("nowhere/*").is_empty());
        assert!(expand(&d.join("conf.d/[[.a.]]")).is_err());
        assert!(expand(&d.join("nowhere/[[:nope:]]")).is_err());
    }

    #[test]
    fn binary_and_non_utf8_are_refused_with_the_offset() {
        let e = text_of("x", b"ab\0c".to_vec()).unwrap_err();
        assert!(e.contains("offset 2"), "{e}");
        let e = text_of("x", b"a\nb\xff".to_vec()).unwrap_err();
        assert!(e.contains("byte offset 3, line 2"), "{e}");
    }
}
