//! `check --probe`: confirm each listener's expectation on the wire.
//!
//! The one part of `check` that touches the network (reading files is
//! [`super::load`]'s). For every listener whose address is written in the
//! configuration (`listen 127.0.0.1:8443`, `bind 10.0.0.5:443`), and with
//! [`Options::host`] every wildcard listener (`listen 80`, `*:80`,
//! `0.0.0.0`) at that host, it runs `probe`'s engine (TLS when the listener
//! says `ssl`, else HTTP) and asks the judge ([`judge::wire`]) whether the
//! profile found is what the configuration says. A disagreement is a
//! `config-wire-mismatch` finding on the listener's file:line; a listener
//! that cannot be reached, or that the probe cannot read, is said so and is
//! no finding. Every wait is bounded by [`Options::timeout`].

use std::time::Duration;

use tokio::task::JoinSet;

use super::{Check, Found, Listener, Role};
use crate::diagnose::probe::{self, Class, Mode};
use crate::judge::{self, fixes, Expects, Finding};
use crate::net::{self, Target, Watch};

/// The wait for a connect, each reply and a name's lookup when
/// `--probe-timeout` is not given (probe's own default).
pub(crate) const DEFAULT_TIMEOUT: Duration = probe::DEFAULT_TIMEOUT;

/// How to probe.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Bound on the lookup, the connect and each wait for a reply.
    pub timeout: Duration,
    /// Where to probe wildcard listeners (`listen 80;`); `None`: they are
    /// not probed.
    pub host: Option<String>,
}

/// Why a listener was not probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// No address written (`listen 80`, `*:80`, `0.0.0.0`, `[::]`, a
    /// Kubernetes port) and no `--probe-host`.
    Wildcard,
    /// Not a TCP port (`unix:` sockets, no port).
    NotTcp,
    /// A load balancer's port: it passes bytes on and expects nothing itself.
    PassesOn,
}

/// One listener probed, and how the wire compares with its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probed {
    /// Index into [`Check::hops`] and that hop's listeners.
    pub to: (usize, usize),
    pub target: Target,
    pub mode: Mode,
    /// What the configuration says.
    pub expected: Expects,
    /// What the probe found (`Unreachable` also when the name did not
    /// resolve: see `error`).
    pub class: Class,
    /// Why there was no connection to try, when the name did not resolve.
    pub error: Option<String>,
    /// `None` when the probe is no evidence (unreachable, inconclusive).
    pub agrees: Option<bool>,
    /// The judge's finding when the wire disagrees.
    pub finding: Option<Finding>,
}

/// What `--probe` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Probes {
    pub probed: Vec<Probed>,
    /// Listeners not probed, and why.
    pub skipped: Vec<((usize, usize), Skip)>,
}

/// A host as written means "every address" (or nothing was written).
fn is_wildcard(host: Option<&str>) -> bool {
    host.is_none_or(|h| matches!(h, "" | "*" | "0.0.0.0" | "::" | "[::]"))
}

/// Where to probe a listener, or why not.
fn address(hop_role: Role, l: &Listener, host: Option<&str>) -> Result<(Target, Mode), Skip> {
    if l.passthrough || hop_role == Role::LoadBalancer {
        return Err(Skip::PassesOn);
    }
    let port = match l.port {
        Some(p) if p > 0 && !l.host.as_deref().is_some_and(|h| h.starts_with("unix:")) => p,
        _ => return Err(Skip::NotTcp),
    };
    let host = if is_wildcard(l.host.as_deref()) {
        host.ok_or(Skip::Wildcard)?
    } else {
        l.host.as_deref().unwrap_or_default()
    };
    let mode = if l.ssl { Mode::Tls } else { Mode::Http };
    Ok((
        Target {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
        },
        mode,
    ))
}

/// The expectation a profile shows; `None` when the probe is no evidence.
fn seen(class: Class) -> Option<Expects> {
    match class {
        Class::RequiresV1 | Class::RequiresV2 | Class::RequiresV1OrV2 => Some(Expects::Header),
        Class::NoHeader => Some(Expects::Nothing),
        Class::Optional => Some(Expects::Optional),
        Class::Unreachable | Class::Inconclusive => None,
    }
}

/// What a configuration says a listener expects, in words.
pub(crate) fn says(e: Expects) -> &'static str {
    match e {
        Expects::Header => "requires a header",
        Expects::Nothing => "expects no header",
        Expects::Optional => "takes a header when there is one",
    }
}

/// One probe: the class, or why the target could not be tried.
async fn run(target: Target, mode: Mode, timeout: Duration) -> (Class, Option<String>) {
    let addrs = match tokio::time::timeout(timeout, target.resolve()).await {
        Ok(Ok(addrs)) => addrs,
        Ok(Err(e)) => return (Class::Unreachable, Some(e.to_string())),
        Err(_) => {
            return (
                Class::Unreachable,
                Some(format!(
                    "looking up {} took longer than {timeout:?}",
                    target.host
                )),
            )
        }
    };
    let opts = probe::Options {
        mode,
        timeout,
        max_time: net::MAX_TIME.max(timeout),
        sni: None,
        expect: probe::Expect::default(),
    };
    (probe::probe(&target, &addrs, &opts).await.class, None)
}

/// Where each listener is probed (hop, listener, address and mode), the
/// listeners that can't be and why, and the probes to run: one per address
/// and mode.
type Plan = (
    Vec<((usize, usize), Target, Mode)>,
    Vec<((usize, usize), Skip)>,
    Vec<(Target, Mode)>,
);

fn plan(c: &Check, opts: &Options) -> Plan {
    let (mut wanted, mut skipped) = (Vec::new(), Vec::new());
    for (h, hop) in c.hops.iter().enumerate() {
        for (i, l) in hop.listeners.iter().enumerate() {
            match address(hop.role, l, opts.host.as_deref()) {
                // A mail or database server is spoken to in its protocol.
                Ok((t, m)) => {
                    wanted.push(((h, i), t, super::mail::probe_mode(hop, l).unwrap_or(m)))
                }
                Err(why) => skipped.push(((h, i), why)),
            }
        }
    }
    let mut unique: Vec<(Target, Mode)> = Vec::new();
    for (_, t, m) in &wanted {
        if !unique.iter().any(|(ut, um)| ut == t && um == m) {
            unique.push((t.clone(), *m));
        }
    }
    (wanted, skipped, unique)
}

/// How many probes [`confirm`] will run.
pub(crate) fn probe_count(c: &Check, opts: &Options) -> usize {
    plan(c, opts).2.len()
}

/// Probe every listener of `c` that can be reached from here, in parallel
/// (one probe per address and mode), record what was found in
/// [`Check::probes`], and add a `config-wire-mismatch` finding for each
/// listener the wire disagrees with. `watch` hears of each probe's class
/// as it comes; on its interrupt the probes under way are dropped (their
/// listeners say so) and the rest is judged.
pub(crate) async fn confirm(c: &mut Check, opts: &Options, watch: &Watch<Class>) {
    let mut out = Probes::default();
    let (wanted, skipped, unique) = plan(c, opts);
    out.skipped = skipped;
    let mut tasks = JoinSet::new();
    for (n, (t, m)) in unique.iter().enumerate() {
        let (t, m, timeout) = (t.clone(), *m, opts.timeout);
        tasks.spawn(async move { (n, run(t, m, timeout).await) });
    }
    let mut finished: Vec<Option<(Class, Option<String>)>> = vec![None; unique.len()];
    loop {
        let joined = tokio::select! {
            joined = tasks.join_next() => joined,
            () = watch.interrupt.wait() => break,
        };
        match joined {
            Some(Ok((n, r))) => {
                watch.tell(&r.0);
                finished[n] = Some(r);
            }
            Some(Err(_)) => {}
            None => break,
        }
    }
    let unfinished = if watch.interrupt.requested() {
        "interrupted (Ctrl-C) before the probe finished"
    } else {
        "the probe did not finish"
    };
    let results: Vec<(Class, Option<String>)> = finished
        .into_iter()
        .map(|r| r.unwrap_or((Class::Inconclusive, Some(unfinished.into()))))
        .collect();
    for (to, target, mode) in wanted {
        let n = unique
            .iter()
            .position(|(t, m)| *t == target && *m == mode)
            .unwrap_or_default();
        let (class, error) = results[n].clone();
        let l = &c.hops[to.0].listeners[to.1];
        let expected = l.expects;
        let verdict = seen(class).map(|s| judge::wire(expected, s));
        let finding = verdict.flatten();
        if let Some(f) = finding {
            c.found.push(Found {
                finding: f,
                at: l.at.clone(),
                hop: c.hops[to.0].name.clone(),
                message: format!(
                    "the configuration says this listener {}, but a live probe of {target} ({}) found {}: the server there {}. It is not running this configuration (not reloaded since the change, another server on the port, or a different file).",
                    says(expected),
                    mode.name(),
                    class.name(),
                    seen(class).map_or("", says)
                ),
                fix: Some(fixes::get("reload-after-change")),
            });
        }
        out.probed.push(Probed {
            to,
            target,
            mode,
            expected,
            class,
            error,
            agrees: verdict.map(|v| v.is_none()),
            finding,
        });
    }
    // The order `chain::build` gives: problems first, then by file:line.
    c.found
        .sort_by(|a, b| (b.finding.severity(), &a.at).cmp(&(a.finding.severity(), &b.at)));
    c.probes = Some(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Loc, Trust};

    fn listener(host: Option<&str>, port: Option<u16>, ssl: bool) -> Listener {
        Listener {
            host: host.map(str::to_string),
            port,
            expects: Expects::Header,
            passthrough: false,
            refuses: None,
            ssl,
            trust: Trust::Anyone,
            fix: "nginx-listen-proxy-protocol",
            at: Loc::new("n.conf", 1),
        }
    }

    #[test]
    fn only_written_addresses_are_probed_unless_a_host_is_given() {
        let t = |host: &str, port| Target {
            host: host.to_string(),
            port,
        };
        let l = listener(Some("127.0.0.1"), Some(8443), true);
        assert_eq!(
            address(Role::Proxy, &l, None),
            Ok((t("127.0.0.1", 8443), Mode::Tls))
        );
        let l = listener(Some("::1"), Some(80), false);
        assert_eq!(
            address(Role::Proxy, &l, None),
            Ok((t("::1", 80), Mode::Http))
        );
        for host in [None, Some("0.0.0.0"), Some("::"), Some("*")] {
            let l = listener(host, Some(80), false);
            assert_eq!(address(Role::Proxy, &l, None), Err(Skip::Wildcard));
            assert_eq!(
                address(Role::Ingress, &l, Some("127.0.0.1")),
                Ok((t("127.0.0.1", 80), Mode::Http))
            );
        }
        // A written address is probed there, whatever --probe-host says.
        let l = listener(Some("127.0.0.2"), Some(80), false);
        assert_eq!(
            address(Role::Proxy, &l, Some("127.0.0.1")),
            Ok((t("127.0.0.2", 80), Mode::Http))
        );
        let l = listener(Some("unix:/run/n.sock"), None, false);
        assert_eq!(address(Role::Proxy, &l, Some("h")), Err(Skip::NotTcp));
        let mut l = listener(None, Some(443), false);
        l.passthrough = true;
        assert_eq!(
            address(Role::LoadBalancer, &l, Some("h")),
            Err(Skip::PassesOn)
        );
    }

    #[test]
    fn unreachable_and_inconclusive_are_no_evidence() {
        assert_eq!(seen(Class::Unreachable), None);
        assert_eq!(seen(Class::Inconclusive), None);
        assert_eq!(seen(Class::RequiresV2), Some(Expects::Header));
        assert_eq!(seen(Class::NoHeader), Some(Expects::Nothing));
        assert_eq!(seen(Class::Optional), Some(Expects::Optional));
    }

    #[test]
    fn a_refused_port_is_not_reachable_and_no_finding() {
        // Bind a loopback port, learn its number, and free it: nothing
        // listens there now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let mut c = Check {
            hops: vec![crate::check::Hop {
                name: "server".into(),
                role: Role::Proxy,
                kind: crate::check::Kind::Nginx,
                at: Loc::new("n.conf", 1),
                listeners: vec![
                    listener(Some("127.0.0.1"), Some(port), false),
                    listener(None, Some(80), false),
                ],
                upstreams: Vec::new(),
            }],
            ..Check::default()
        };
        let opts = Options {
            timeout: Duration::from_millis(500),
            host: None,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(confirm(&mut c, &opts, &Watch::default()));
        let p = c.probes.expect("probes");
        assert_eq!(p.probed.len(), 1);
        assert_eq!(p.probed[0].class, Class::Unreachable);
        assert_eq!(p.probed[0].agrees, None);
        assert_eq!(p.skipped, vec![((0, 1), Skip::Wildcard)]);
        assert!(c.found.is_empty());
    }
}
