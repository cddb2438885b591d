//! Value parsers shared by every command's flags: one duration syntax, and
//! enums defined outside the CLI (the codec's, the judge's).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

/// A clap value parser for an enum that lives outside this crate (the
/// codec's, which must not depend on clap): the names, each with its help
/// line, come from the enum's own tables.
#[derive(Clone)]
pub(crate) struct Choice<T: 'static> {
    all: &'static [T],
    name: fn(T) -> &'static str,
    help: fn(T) -> &'static str,
}

impl<T: Copy + Send + Sync + 'static> Choice<T> {
    pub(crate) const fn new(
        all: &'static [T],
        name: fn(T) -> &'static str,
        help: fn(T) -> &'static str,
    ) -> Self {
        Choice { all, name, help }
    }
}

impl<T: Copy + Send + Sync + 'static> clap::builder::TypedValueParser for Choice<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let names = self.all.iter().map(|v| (self.name)(*v));
        let text = clap::builder::PossibleValuesParser::new(names).parse_ref(cmd, arg, value)?;
        self.all
            .iter()
            .copied()
            .find(|v| (self.name)(*v) == text)
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(cmd))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.all.iter().map(|v| {
            clap::builder::PossibleValue::new((self.name)(*v)).help((self.help)(*v))
        })))
    }
}

/// Every duration flag's parser (one for all commands): `250ms`, `5s`, `2m`, or a bare number of seconds (`1.5`).
pub(crate) fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    crate::duration::parse(s)
        .ok_or_else(|| format!("'{s}' is not a duration: use e.g. 250ms, 5s, 1.5s or 2m"))
}

/// A duration flag's value, shown in `--help` the way it is typed (`5s`,
/// `250ms`), so clap's defaults can be the engine's constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wait(pub(crate) Duration);

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::duration::show(self.0))
    }
}

pub(crate) fn wait(s: &str) -> std::result::Result<Wait, String> {
    parse_duration(s).map(Wait)
}

/// A timeout that must leave a client some time: 0 would time out every
/// connection at once (issue 11).
pub(crate) fn timeout(s: &str) -> std::result::Result<Wait, String> {
    let w = wait(s)?;
    if w.0.is_zero() {
        return Err(format!(
            "'{s}' would time out every connection before its first byte: give a positive duration, e.g. 5s or 250ms"
        ));
    }
    Ok(w)
}

/// A `--trust` value: a CIDR, or one address.
pub(crate) fn parse_cidr(s: &str) -> std::result::Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("'{s}' is not a CIDR or IP (e.g. 10.0.0.0/8, 192.0.2.1, ::1)"))
}

/// Cap `wanted` connections of `per` descriptors each (`flag`'s value) to
/// what this process may hold open at once, after raising the soft
/// descriptor limit to the hard one and keeping `reserved` more free;
/// lowered, it says so on stderr.
pub(crate) fn fit_descriptors(
    flag: &str,
    wanted: usize,
    per: u64,
    reserved: u64,
) -> crate::error::Result<usize> {
    match crate::net::fit(wanted, per, reserved) {
        Ok(fit) if fit.concurrency < wanted => {
            eprintln!(
                "ppctl: {flag} {wanted} lowered to {}: {} file descriptors may be open at once (ulimit -n) and {} already are{}",
                fit.concurrency,
                fit.limit,
                fit.open,
                if per > 1 {
                    format!("; each connection holds {per}")
                } else {
                    String::new()
                }
            );
            Ok(fit.concurrency)
        }
        Ok(fit) => Ok(fit.concurrency),
        Err(limit) => Err(crate::error::Error::usage(format!(
            "no file descriptor to spare for a connection (ulimit -n is {limit}); raise it"
        ))),
    }
}
