//! `check`'s two views: the chain (a table of links, ✔ or ✗ each) and the
//! findings with their file:line and fixes; or one JSON document.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use super::finding;
use super::table::{self, Tone};
use super::Style;
use crate::check::live::{self, Probed, Probes, Skip};
use crate::check::{
    Check, FileRead, Header, Hop, Link, Listener, Seen, SkipReason, Trust, Warning,
};
use crate::diagnose::probe::Class;
use crate::judge::{Expects, Finding, Severity};

fn link_ok(l: &Link) -> bool {
    matches!(l.finding, Finding::Proxied | Finding::Plain)
}

/// A listener's address as a user reads it: `:443`, `127.0.0.1:8443`, a
/// socket's path.
fn listen_addr(l: &Listener) -> String {
    match (&l.host, l.port) {
        (Some(h), _) if h.starts_with("unix:") => h.clone(),
        (Some(h), Some(p)) if h.contains(':') => format!("[{h}]:{p}"),
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (None, Some(p)) => format!(":{p}"),
        (Some(h), None) => h.clone(),
        (None, None) => "?".into(),
    }
}

/// Prose indented by two columns, wrapped to the width.
fn para(style: Style, text: &str) -> String {
    table::fill(style, "  ", "  ", text)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn reason_text(s: SkipReason) -> &'static str {
    match s {
        SkipReason::NotRead => "not read by check",
        SkipReason::NoProxySettings => "no PROXY settings",
        SkipReason::NoLoadBalancer => "no load balancer: not of type LoadBalancer",
        SkipReason::Disabled => "turned off",
        SkipReason::NotAboutProxy => "not about PROXY protocol",
        SkipReason::OtherVersion => "read only by another server version",
    }
}

fn reason_json(s: SkipReason) -> &'static str {
    match s {
        SkipReason::NotRead => "not-read",
        SkipReason::NoProxySettings => "no-proxy-settings",
        SkipReason::NoLoadBalancer => "no-load-balancer",
        SkipReason::Disabled => "disabled",
        SkipReason::NotAboutProxy => "not-about-proxy",
        SkipReason::OtherVersion => "other-version",
    }
}

fn warning_text(w: &Warning) -> String {
    match w {
        Warning::MissingInclude { error, .. } => {
            format!("{error} (not read; the rest is: nginx -t would fail here)")
        }
        Warning::UnsupportedInclude { error, .. } => error.clone(),
        Warning::SystemInclude { path } => format!(
            "{path} was read from this machine, not from a copy of the server's tree (give --root DIR)"
        ),
        Warning::Embedded { what, error } => format!("{what} could not be read: {error}"),
    }
}

/// `ConfigMap a, ConfigMap b`, or by object kind with counts when long.
fn object_list(names: &[&str]) -> String {
    if names.len() <= 4 {
        return names.join(", ");
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for n in names {
        let kind = n.split_whitespace().next().unwrap_or(n);
        match counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, c)) => *c += 1,
            None => counts.push((kind, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, c)| format!("{c} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_label(f: &FileRead) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(k) = f.kind {
        parts.push(k.name().to_string());
    }
    if let Some(fl) = f.flavour {
        parts.push(fl.to_string());
    }
    if f.forced {
        parts.push("--kind".into());
    }
    if let Some(from) = &f.included_from {
        parts.push(format!("included at {from}"));
    }
    parts.join(", ")
}

/// What a file gave the chain, in a few words.
fn contribution(f: &FileRead) -> String {
    if let Some(main) = &f.not_included_by {
        return format!("skipped (not read: {main} does not include it by this name)");
    }
    if f.kind.is_none() {
        return "not read (see the error)".into();
    }
    if f.gave_nothing() {
        return match f.looks_like {
            Some(what) => format!(
                "nothing about PROXY protocol understood: it looks like {what}, which check does not read"
            ),
            None => "nothing about PROXY protocol understood".into(),
        };
    }
    let mut parts = Vec::new();
    if f.hops > 0 {
        parts.push(plural(f.hops, "hop", "hops"));
    }
    if f.listeners > 0 {
        parts.push(plural(f.listeners, "listener", "listeners"));
    }
    if f.upstreams > 0 {
        parts.push(plural(f.upstreams, "upstream", "upstreams"));
    }
    if parts.is_empty() && f.through_includes {
        "through its includes".into()
    } else if parts.is_empty() {
        "settings only".into()
    } else {
        parts.join(", ")
    }
}

/// The "Read:" block: every file, with what it gave and what was skipped.
fn read_block(c: &Check, style: Style, out: &mut String) {
    let _ = writeln!(out, "{}", style.bold("Read:"));
    for f in &c.files {
        let indent = if f.included_from.is_some() {
            "    "
        } else {
            "  "
        };
        let deeper = format!("{indent}    ");
        let label = kind_label(f);
        let head = if label.is_empty() {
            format!("{}: {}", f.name, contribution(f))
        } else {
            format!("{} ({label}): {}", f.name, contribution(f))
        };
        let line = table::fill(style, indent, &deeper, &head);
        if f.gave_nothing() {
            let _ = writeln!(out, "{}", style.warn(&line));
        } else {
            let _ = writeln!(out, "{line}");
        }
        let used: Vec<&str> = f
            .objects
            .iter()
            .filter(|o| o.seen == Seen::Used)
            .map(|o| o.name.as_str())
            .collect();
        if !used.is_empty() {
            table::fill_line(
                out,
                style,
                &format!("{indent}  used: "),
                &deeper,
                &object_list(&used),
            );
        }
        let mut whys: Vec<SkipReason> = Vec::new();
        for o in &f.objects {
            if let Seen::Skipped(w) = o.seen {
                if !whys.contains(&w) {
                    whys.push(w);
                }
            }
        }
        for w in whys {
            let names: Vec<&str> = f
                .objects
                .iter()
                .filter(|o| o.seen == Seen::Skipped(w))
                .map(|o| o.name.as_str())
                .collect();
            let text = format!("{} ({})", object_list(&names), reason_text(w));
            let line = table::fill(style, &format!("{indent}  skipped: "), &deeper, &text);
            let _ = writeln!(out, "{}", style.dim(&line));
        }
        for (at, w) in &f.warnings {
            let line = table::fill(
                style,
                &format!("{indent}  ! "),
                &deeper,
                &format!("{at}: {}", warning_text(w)),
            );
            let _ = writeln!(out, "{}", style.warn(&line));
        }
    }
}

/// What a link carries and what its receiver does with it: `v1 → none`.
fn carries(c: &Check, l: &Link) -> String {
    let lis = &c.hops[l.to.0].listeners[l.to.1];
    let mut sends = header_json(l.carried).to_string();
    if l.stacked {
        sends.push_str(" (stacked)");
    } else if l.from.is_some_and(|(h, u)| {
        c.hops[h].upstreams[u].sends == Header::None && l.carried != Header::None
    }) {
        sends.push_str(" (passed on)");
    }
    let expects = match (lis.passthrough, lis.refuses) {
        (true, _) => "passes it on".to_string(),
        (false, Some(v)) => format!("{} (not {})", expects_json(lis.expects), header_json(v)),
        (false, None) => expects_json(lis.expects).to_string(),
    };
    format!("{sends} → {expects}")
}

/// A hop as the chain draws it: its name, the listener's address and
/// where it is written.
fn hop_line(c: &Check, to: (usize, usize)) -> String {
    let hop: &Hop = &c.hops[to.0];
    let lis = &hop.listeners[to.1];
    let addr = listen_addr(lis);
    if hop.name.contains(&addr) && hop.listeners.len() == 1 {
        format!("{} ({})", hop.name, lis.at)
    } else {
        format!("{} {addr} ({})", hop.name, lis.at)
    }
}

/// The chain, drawn as paths: one hop per line, each link's verdict on
/// the arrow between two hops. A hop whose onward path was drawn already
/// says so instead of drawing it again (the output stays linear).
fn chain_block(c: &Check, style: Style, out: &mut String) {
    let _ = writeln!(
        out,
        "{}",
        style.bold("Chain (client → load balancer → ingress/proxy → app):")
    );
    let arrow = if style.unicode { "↓ " } else { "| " };
    let mut by_from: Vec<Vec<usize>> = vec![Vec::new(); c.hops.len()];
    let mut reached = vec![false; c.hops.len()];
    for (i, l) in c.links.iter().enumerate() {
        if let Some((h, _)) = l.from {
            by_from[h].push(i);
        }
        reached[l.to.0] = true;
    }
    let onward = |hop: usize, port: Option<u16>| -> Vec<usize> {
        by_from[hop]
            .iter()
            .copied()
            .filter(|&i| {
                c.links[i].from.is_some_and(|(h, u)| {
                    let from_port = c.hops[h].upstreams[u].from_port;
                    from_port.is_none() || port.is_none() || from_port == port
                })
            })
            .collect()
    };
    // Links out of each hop and port, once, so paths are drawn in linear
    // time.
    let mut drawn_from: std::collections::HashSet<(usize, Option<u16>)> =
        std::collections::HashSet::new();
    let starts: Vec<usize> = (0..c.links.len())
        .filter(|&i| match c.links[i].from {
            None => true,
            // A sender that nothing in the input reaches.
            Some((h, _)) => !reached[h],
        })
        .collect();
    // Many hops that clients reach directly and that lead nowhere, alike
    // (a configuration of many servers): a few drawn, the rest counted.
    const ALIKE: usize = 20;
    let lone = |i: usize| {
        let l = &c.links[i];
        l.from.is_none() && link_ok(l) && by_from[l.to.0].is_empty()
    };
    let lone_count = starts.iter().filter(|&&i| lone(i)).count();
    let mut lone_drawn = 0usize;
    let mut started_from = vec![false; c.hops.len()];
    for start in starts {
        if lone_count > ALIKE && lone(start) {
            lone_drawn += 1;
            if lone_drawn > 3 {
                continue;
            }
        }
        let first = &c.links[start];
        let origin = match first.from {
            None => "client".to_string(),
            Some((h, _)) => {
                if started_from[h] {
                    continue;
                }
                started_from[h] = true;
                c.hops[h].name.to_string()
            }
        };
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", table::fill(style, "  ", "    ", &origin));
        let mut todo: Vec<usize> = match first.from {
            None => vec![start],
            Some((h, _)) => onward(h, None),
        };
        if let Some((h, _)) = first.from {
            drawn_from.insert((h, None));
        }
        // Depth-first: a path, then its branches, each under the last hop
        // drawn.
        while let Some(i) = todo.pop() {
            let l = &c.links[i];
            let mark = if link_ok(l) { "✔" } else { "✗" };
            let from_at = match l.from {
                Some((h, u)) => format!(", from {}", c.hops[h].upstreams[u].at),
                None => String::new(),
            };
            let text = format!(
                "{}: {mark} {} ({}){from_at}",
                carries(c, l),
                l.finding.name(),
                l.finding.code()
            );
            let line = table::fill(style, &format!("  {arrow}"), "    ", &text);
            let tone = if link_ok(l) {
                Tone::Good
            } else {
                finding::tone(l.finding)
            };
            let _ = writeln!(out, "{}", finding::paint(style, &line, tone));
            let _ = writeln!(
                out,
                "{}",
                table::fill(style, "  ", "    ", &hop_line(c, l.to))
            );
            let to = l.to.0;
            let port = c.hops[to].listeners[l.to.1].port;
            let next = onward(to, port);
            if next.is_empty() {
                continue;
            }
            if !drawn_from.insert((to, port)) {
                let _ = writeln!(
                    out,
                    "{}",
                    style.dim(&format!("  {arrow}… onward as drawn above"))
                );
                continue;
            }
            todo.extend(next.into_iter().rev());
        }
    }
    if lone_count > ALIKE {
        let _ = writeln!(out);
        let text = format!(
            "… and {} more hops that clients reach directly and that send nowhere, each ✔ plain as above (--json lists them all)",
            lone_count - 3
        );
        let _ = writeln!(out, "{}", style.dim(&table::fill(style, "  ", "  ", &text)));
    }
}

/// The human view.
pub(crate) fn human(c: &Check, style: Style) -> String {
    let mut out = String::new();
    read_block(c, style, &mut out);
    let _ = writeln!(out);
    if !c.errors.is_empty() {
        let n = c.errors.len();
        let _ = writeln!(
            out,
            "{}",
            style.bad(&format!(
                "✗ nothing checked: {} could not be read (the error is on stderr)",
                plural(n, "input", "inputs")
            ))
        );
        return out;
    }
    if c.nothing() {
        let _ = writeln!(
            out,
            "{}",
            style.bad(
                para(style, "✗ nothing to check: none of the input describes a hop (a listener, a proxy, a load balancer, an ingress controller); see what was read above")
                    .trim_start()
            )
        );
        return out;
    }
    if c.links.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            para(
                style,
                "No link: no hop of the input reaches another, and none takes clients directly."
            )
        );
    } else {
        chain_block(c, style, &mut out);
    }
    if let Some(p) = &c.probes {
        let _ = writeln!(out);
        out.push_str(&probes_human(c, p, style));
    }
    if !c.assumed.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            style.bold("Assumed (not in the input; confirm on the wire):")
        );
        // The same assumption about many hops (a configuration of many
        // servers) is said once, with where.
        let mut groups: Vec<(&str, Vec<&crate::check::Assumption>)> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for a in &c.assumed {
            match index.get(&*a.text) {
                Some(&g) => groups[g].1.push(a),
                None => {
                    index.insert(&a.text, groups.len());
                    groups.push((&a.text, vec![a]));
                }
            }
        }
        for (text, all) in groups {
            let a = all[0];
            let more = match all.len() {
                1 => String::new(),
                n if n <= 4 => format!(
                    " (also {})",
                    all[1..]
                        .iter()
                        .map(|a| a.at.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                n => format!(
                    " (and {} more hops alike, from {}; --json lists them all)",
                    n - 1,
                    all[1].at
                ),
            };
            let _ = writeln!(
                out,
                "{}",
                para(style, &format!("{} {}: {text}{more}", a.at, a.hop))
            );
        }
    }
    let _ = writeln!(out);
    if c.found.is_empty() {
        let said = if c.links.is_empty() {
            "✓ no finding: no link to judge, see what was assumed"
        } else {
            "✓ no finding: every link agrees"
        };
        let _ = writeln!(out, "{}", style.good(said));
        return out;
    }
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!("Findings ({}):", c.found.len()))
    );
    let mut shown: Vec<&str> = Vec::new();
    for f in &c.found {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}  {}",
            finding::label(f.finding, style),
            style.accent(&f.at.to_string())
        );
        let _ = writeln!(out, "{}", style.bold(&para(style, &f.hop)));
        let _ = writeln!(out, "{}", para(style, &f.message));
        // The first fix in full (once per report), the others by id.
        let fixes = c.fixes_of(f);
        if let Some((first, rest)) = fixes.split_first() {
            if shown.contains(&first.id) {
                let _ = writeln!(
                    out,
                    "{} {}",
                    style.accent("▸"),
                    style.dim(&format!("fix: {} (above)", first.id))
                );
            } else {
                out.push_str(&finding::fixes_human(
                    &[first],
                    crate::judge::fixes::Case::default(),
                    style,
                ));
                shown.push(first.id);
            }
            if !rest.is_empty() {
                let ids: Vec<&str> = rest.iter().map(|f| f.id).collect();
                let _ = writeln!(
                    out,
                    "{}",
                    style.dim(&para(
                        style,
                        &format!("or: {} (docs/verdicts.md#fixes)", ids.join(", "))
                    ))
                );
            }
        }
    }
    let problems = c.found.iter().filter(|f| f.finding.is_problem()).count();
    let warnings = c
        .found
        .iter()
        .filter(|f| f.finding.severity() == Severity::Warning)
        .count();
    let _ = writeln!(out);
    let summary = format!(
        "{problems} problem(s), {warnings} warning(s); every finding is in docs/verdicts.md"
    );
    let _ = writeln!(
        out,
        "{}",
        if problems > 0 {
            style.bad(&summary)
        } else {
            style.warn(&summary)
        }
    );
    out
}

/// The errors for stderr, one per line: each input that could not be
/// read (with the kind it was read as and how to force another), or that
/// nothing was there to check.
pub(crate) fn errors(c: &Check) -> String {
    let mut out = String::new();
    for e in &c.errors {
        let _ = write!(out, "{e}");
        if let Some((kind, forced)) = e.read_as {
            if forced {
                let _ = write!(out, " (read as {}: --kind said so)", kind.name());
            } else {
                let _ = write!(
                    out,
                    " (read as {}, detected from the content or the file name; force another kind with --kind KIND={})",
                    kind.name(),
                    e.at.file
                );
            }
        }
        out.push('\n');
    }
    if c.errors.is_empty() && c.nothing() {
        out.push_str(NOTHING);
        out.push('\n');
    }
    out
}

const NOTHING: &str = "nothing to check: none of the input describes a hop (a listener, a proxy, a load balancer, an ingress controller)";

/// One line per probed listener (`✔ probed 127.0.0.1:8443: …, as
/// configured`), then what was not probed and why.
fn probes_human(c: &Check, p: &Probes, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", style.bold("Probed (live, from here; --probe):"));
    if p.probed.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            para(style, "no listener has an address to probe from here")
        );
    }
    for probed in p.probed.iter() {
        let (mark, ascii, tone) = match probed.agrees {
            Some(true) => ("✔", "ok", Tone::Good),
            Some(false) => ("✗", "FAILED", Tone::Bad),
            None => ("·", "-", Tone::Dim),
        };
        let mark = if style.unicode { mark } else { ascii };
        let text = probe_text(c, probed);
        let line = table::fill(style, &format!("  {mark} "), "    ", &text);
        let _ = writeln!(out, "{}", finding::paint(style, &line, tone));
    }
    let count = |why: Skip| p.skipped.iter().filter(|(_, w)| *w == why).count();
    let mut not: Vec<String> = Vec::new();
    let wild = count(Skip::Wildcard);
    if wild > 0 {
        not.push(format!(
            "{wild} wildcard listener(s) without an address (give --probe-host HOST)"
        ));
    }
    let lb = count(Skip::PassesOn);
    if lb > 0 {
        not.push(format!(
            "{lb} load balancer port(s) (they pass bytes on; probe the address clients use with `ppctl probe`)"
        ));
    }
    let unix = count(Skip::NotTcp);
    if unix > 0 {
        not.push(format!("{unix} listener(s) that are no TCP port"));
    }
    if !not.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&para(style, &format!("not probed: {}", not.join("; "))))
        );
    }
    out
}

/// `probed 127.0.0.1:8443 (tls): requires-v1-or-v2, as configured`, or
/// what disagrees and where the configuration says otherwise.
fn probe_text(c: &Check, p: &Probed) -> String {
    let at = &c.hops[p.to.0].listeners[p.to.1].at;
    let mode = if p.mode == crate::diagnose::probe::Mode::Tls {
        " (tls)"
    } else {
        ""
    };
    let head = format!("probed {}{mode}:", p.target);
    match (p.agrees, p.class) {
        (Some(true), class) => format!("{head} {}, as configured ({at})", class.name()),
        (Some(false), class) => format!(
            "{head} {}, but the configuration ({at}) says it {}",
            class.name(),
            live::says(p.expected)
        ),
        (None, Class::Unreachable) => match &p.error {
            Some(e) => format!("{head} not reachable from here ({e})"),
            None => format!("{head} not reachable from here (no connection; no finding)"),
        },
        (None, class) => format!(
            "{head} {}: the probe could not tell ({at} not confirmed); {}",
            class.name(),
            class.summary()
        ),
    }
}

fn skip_json(s: Skip) -> &'static str {
    match s {
        Skip::Wildcard => "wildcard",
        Skip::NotTcp => "not-tcp",
        Skip::PassesOn => "passes-on",
    }
}

/// An element of `probes` (`--probe`): a listener probed, and whether the
/// wire agrees with the configuration.
#[derive(Serialize)]
struct ProbeJson<'a> {
    target: super::json::TargetJson,
    mode: &'static str,
    listener: ToJson,
    listener_at: String,
    hop: &'a str,
    expected: &'static str,
    class: &'static str,
    agrees: Option<bool>,
    finding: Option<finding::FindingJson>,
    error: &'a Option<String>,
}

/// An element of `not_probed`: a listener left out, and why.
#[derive(Serialize)]
struct NotProbedJson<'a> {
    listener: ToJson,
    listener_at: String,
    hop: &'a str,
    why: &'static str,
}

impl<'a> ProbeJson<'a> {
    fn of(c: &'a Check, x: &'a Probed) -> Self {
        ProbeJson {
            target: super::json::TargetJson::from(&x.target),
            mode: x.mode.name(),
            listener: ToJson {
                hop: x.to.0,
                listener: x.to.1,
            },
            listener_at: c.hops[x.to.0].listeners[x.to.1].at.to_string(),
            hop: &c.hops[x.to.0].name,
            expected: expects_json(x.expected),
            class: x.class.name(),
            agrees: x.agrees,
            finding: x.finding.map(finding::FindingJson::of),
            error: &x.error,
        }
    }
}

impl<'a> NotProbedJson<'a> {
    fn of(c: &'a Check, (h, l): (usize, usize), why: Skip) -> Self {
        NotProbedJson {
            listener: ToJson {
                hop: h,
                listener: l,
            },
            listener_at: c.hops[h].listeners[l].at.to_string(),
            hop: &c.hops[h].name,
            why: skip_json(why),
        }
    }
}

/// A place in a file: `{file, line}`.
#[derive(Serialize)]
struct LocJson<'a> {
    file: &'a str,
    line: usize,
}

fn header_json(h: Header) -> &'static str {
    match h {
        Header::None => "none",
        Header::V1 => "v1",
        Header::V2 => "v2",
    }
}

fn expects_json(e: Expects) -> &'static str {
    match e {
        Expects::Nothing => "none",
        Expects::Header => "header",
        Expects::Optional => "optional",
    }
}

/// An element of `files`: what was read of one input.
#[derive(Serialize)]
struct FileJson<'a> {
    file: &'a str,
    kind: Option<&'static str>,
    forced: bool,
    flavour: Option<&'static str>,
    included_from: Option<LocJson<'a>>,
    hops: usize,
    listeners: usize,
    upstreams: usize,
    understood: bool,
    looks_like: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_included_by: Option<&'a str>,
    used: Vec<ObjectJson<'a>>,
    skipped: Vec<ObjectJson<'a>>,
    warnings: Vec<FileWarningJson<'a>>,
}

/// An object of a file (a Kubernetes object, a Helm value): used, or
/// skipped with `why`.
#[derive(Serialize)]
struct ObjectJson<'a> {
    object: &'a str,
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<&'static str>,
}

#[derive(Serialize)]
struct FileWarningJson<'a> {
    file: &'a str,
    line: usize,
    warning: &'static str,
    message: String,
}

impl<'a> FileJson<'a> {
    fn of(f: &'a FileRead) -> Self {
        let objects = |used: bool| -> Vec<ObjectJson<'a>> {
            f.objects
                .iter()
                .filter_map(|o| {
                    let why = match (o.seen, used) {
                        (Seen::Used, true) => None,
                        (Seen::Skipped(why), false) => Some(reason_json(why)),
                        _ => return None,
                    };
                    Some(ObjectJson {
                        object: &o.name,
                        line: o.at.line,
                        why,
                    })
                })
                .collect()
        };
        FileJson {
            file: &f.name,
            kind: f.kind.map(|k| k.name()),
            forced: f.forced,
            flavour: f.flavour,
            included_from: f.included_from.as_ref().map(|at| LocJson {
                file: &at.file,
                line: at.line,
            }),
            hops: f.hops,
            listeners: f.listeners,
            upstreams: f.upstreams,
            understood: !f.gave_nothing() && f.kind.is_some() && f.not_included_by.is_none(),
            looks_like: f.looks_like,
            not_included_by: f.not_included_by.as_deref(),
            used: objects(true),
            skipped: objects(false),
            warnings: f
                .warnings
                .iter()
                .map(|(at, w)| FileWarningJson {
                    file: &at.file,
                    line: at.line,
                    warning: match w {
                        Warning::MissingInclude { .. } => "missing-include",
                        Warning::UnsupportedInclude { .. } => "unsupported-include",
                        Warning::SystemInclude { .. } => "system-include",
                        Warning::Embedded { .. } => "embedded-unreadable",
                    },
                    message: warning_text(w),
                })
                .collect(),
        }
    }
}

/// An element of `errors`: an input that could not be read, or the one
/// "nothing to check"; none when the chain was judged.
#[derive(Serialize)]
struct InputErrorJson<'a> {
    error: &'static str,
    file: Option<&'a str>,
    line: Option<usize>,
    read_as: Option<&'static str>,
    forced: bool,
    message: &'a str,
}

fn errors_json(c: &Check) -> Vec<InputErrorJson<'_>> {
    let mut out: Vec<InputErrorJson<'_>> = c
        .errors
        .iter()
        .map(|e| InputErrorJson {
            error: "unreadable",
            file: Some(&e.at.file),
            line: (e.at.line > 0).then_some(e.at.line),
            read_as: e.read_as.map(|(k, _)| k.name()),
            forced: e.read_as.is_some_and(|(_, f)| f),
            message: &e.message,
        })
        .collect();
    if c.errors.is_empty() && c.nothing() {
        out.push(InputErrorJson {
            error: "nothing-to-check",
            file: None,
            line: None,
            read_as: None,
            forced: false,
            message: NOTHING,
        });
    }
    out
}

/// The JSON view: one document of type `check` (docs/json.md).
/// Several chains (`check old/ new/`), each under a heading.
pub(crate) fn human_chains(chains: &[(String, &Check)], style: Style) -> String {
    let mut out = String::new();
    for (i, (name, c)) in chains.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let rule = if style.unicode { "━━" } else { "==" };
        let _ = writeln!(
            out,
            "{}",
            style.bold(&format!(
                "{rule} chain {} of {}: {name} {rule}",
                i + 1,
                chains.len()
            ))
        );
        let _ = writeln!(out);
        out.push_str(&human(c, style));
    }
    out
}

/// Several chains as one document: `chains[]`, each the fields of a
/// single chain's document after its `name`.
pub(crate) fn json_chains(chains: &[(String, &Check)]) -> String {
    let ok = chains.iter().all(|(_, c)| !c.failed() && !c.unusable());
    let list = chains.iter().map(|(name, c)| {
        let mut fields = vec![("name", Part::One(pretty_at(name, 3)))];
        fields.extend(chain_fields(c, 2));
        // An element of `chains`, with its indent.
        std::iter::once("    ".to_string())
            .chain(object(fields, 2))
            .collect::<String>()
    });
    let fields = vec![
        ("type", Part::One(pretty_at(&"check", 1))),
        ("schema", Part::One(pretty_at(&crate::JSON_SCHEMA, 1))),
        ("ok", Part::One(pretty_at(&ok, 1))),
        ("chains", Part::Many(Box::new(list))),
    ];
    object(fields, 0)
        .chain(std::iter::once("\n".to_string()))
        .collect()
}

#[cfg(test)]
pub(crate) fn json(c: &Check) -> String {
    json_parts(c).collect()
}

/// A hop of the JSON view, serialized as it is (the document of a large
/// chain is mostly hops and links: no `Value` is built for them).
#[derive(Serialize)]
struct HopJson<'a> {
    name: &'a str,
    role: &'static str,
    kind: &'static str,
    file: &'a str,
    line: usize,
    listeners: Vec<ListenerJson<'a>>,
    upstreams: Vec<UpstreamJson<'a>>,
}

#[derive(Serialize)]
struct ListenerJson<'a> {
    host: Option<&'a str>,
    port: Option<u16>,
    expects: &'static str,
    passthrough: bool,
    refuses: Option<&'static str>,
    ssl: bool,
    trust: TrustJson<'a>,
    file: &'a str,
    line: usize,
}

#[derive(Serialize)]
#[serde(untagged)]
enum TrustJson<'a> {
    Word(&'static str),
    List {
        sources: Sources<'a>,
        file: &'a str,
        line: usize,
    },
}

/// A trust list's sources: as text when [`SourcesText`] holds that list.
#[derive(Serialize)]
#[serde(untagged)]
enum Sources<'a> {
    Text(&'a [String]),
    Nets(&'a [ipnet::IpNet]),
}

/// The last trust list written, as text: the listeners of many servers
/// share one list (`set_real_ip_from` in `http`), formatted once, not once
/// per listener.
#[derive(Default)]
struct SourcesText {
    list: Option<std::sync::Arc<[ipnet::IpNet]>>,
    text: Vec<String>,
}

impl SourcesText {
    /// Hold the first trust list of this hop's listeners.
    fn hold(&mut self, h: &Hop) {
        let first = h.listeners.iter().find_map(|l| match &l.trust {
            Trust::List(nets, _) => Some(nets),
            _ => None,
        });
        if let Some(nets) = first {
            if !self
                .list
                .as_ref()
                .is_some_and(|held| std::sync::Arc::ptr_eq(held, nets))
            {
                self.text = nets.iter().map(ToString::to_string).collect();
                self.list = Some(nets.clone());
            }
        }
    }

    fn of<'a>(&'a self, nets: &'a std::sync::Arc<[ipnet::IpNet]>) -> Sources<'a> {
        match &self.list {
            Some(held) if std::sync::Arc::ptr_eq(held, nets) => Sources::Text(&self.text),
            _ => Sources::Nets(nets),
        }
    }
}

#[derive(Serialize)]
struct UpstreamJson<'a> {
    host: Option<&'a str>,
    port: Option<u16>,
    sends: &'static str,
    source: Option<IpAddr>,
    file: &'a str,
    line: usize,
}

impl<'a> HopJson<'a> {
    fn of(h: &'a Hop, sources: &'a SourcesText) -> Self {
        HopJson {
            name: &h.name,
            role: h.role.name(),
            kind: h.kind.name(),
            file: &h.at.file,
            line: h.at.line,
            listeners: h
                .listeners
                .iter()
                .map(|l| ListenerJson {
                    host: l.host.as_deref(),
                    port: l.port,
                    expects: expects_json(l.expects),
                    passthrough: l.passthrough,
                    refuses: l.refuses.map(header_json),
                    ssl: l.ssl,
                    trust: TrustJson::of(&l.trust, sources),
                    file: &l.at.file,
                    line: l.at.line,
                })
                .collect(),
            upstreams: h
                .upstreams
                .iter()
                .map(|u| UpstreamJson {
                    host: u.host.as_deref(),
                    port: u.port,
                    sends: header_json(u.sends),
                    source: u.source,
                    file: &u.at.file,
                    line: u.at.line,
                })
                .collect(),
        }
    }
}

impl<'a> TrustJson<'a> {
    fn of(t: &'a Trust, sources: &'a SourcesText) -> Self {
        match t {
            Trust::Anyone => TrustJson::Word("anyone"),
            Trust::Unused => TrustJson::Word("unused"),
            Trust::List(nets, at) => TrustJson::List {
                sources: sources.of(nets),
                file: &at.file,
                line: at.line,
            },
        }
    }
}

#[derive(Serialize)]
struct LinkJson {
    from: Option<FromJson>,
    to: ToJson,
    carried: &'static str,
    stacked: bool,
    ok: bool,
    finding: finding::FindingJson,
}

#[derive(Serialize)]
struct FromJson {
    hop: usize,
    upstream: usize,
}

#[derive(Serialize)]
struct ToJson {
    hop: usize,
    listener: usize,
}

impl LinkJson {
    fn of(l: &Link) -> Self {
        LinkJson {
            from: l.from.map(|(hop, upstream)| FromJson { hop, upstream }),
            to: ToJson {
                hop: l.to.0,
                listener: l.to.1,
            },
            carried: header_json(l.carried),
            stacked: l.stacked,
            ok: link_ok(l),
            finding: finding::FindingJson::of(l.finding),
        }
    }
}

#[derive(Serialize)]
struct AssumedJson<'a> {
    file: &'a str,
    line: usize,
    hop: &'a str,
    text: &'a str,
}

/// An element of `findings`: a finding where the configuration says so,
/// with its fixes.
#[derive(Serialize)]
struct FoundJson<'a> {
    finding: finding::FindingJson,
    file: &'a str,
    line: usize,
    hop: &'a str,
    message: &'a str,
    fixes: Vec<finding::FixJson>,
}

impl<'a> FoundJson<'a> {
    fn of(c: &Check, f: &'a crate::check::Found) -> Self {
        let case = crate::judge::fixes::Case::default();
        FoundJson {
            finding: finding::FindingJson::of(f.finding),
            file: &f.at.file,
            line: f.at.line,
            hop: &f.hop,
            message: &f.message,
            fixes: finding::FixJson::list(&c.fixes_of(f), case),
        }
    }
}

/// A field of a document: its value pretty-printed at its depth, or an
/// array made one element at a time (each element indented and
/// pretty-printed at its depth, in one pass).
enum Part<'a> {
    One(String),
    Many(Box<dyn Iterator<Item = String> + 'a>),
}

/// serde_json's pretty printer (two spaces) starting `depth` levels deep:
/// an element of a large array comes out indented as in the whole
/// document, in one pass (no second pass to indent each line).
struct Nested {
    depth: usize,
    has_value: bool,
}

impl Nested {
    fn indent<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(b)
    }

    fn item<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// `lead`, then `v` pretty-printed as if it sat `depth` levels deep in a
/// document.
fn pretty_after(lead: &str, v: &impl Serialize, depth: usize) -> String {
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(lead.as_bytes());
    let formatter = Nested {
        depth,
        has_value: false,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    if v.serialize(&mut ser).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// `v` pretty-printed as if it sat `depth` levels deep in a document.
fn pretty_at(v: &impl Serialize, depth: usize) -> String {
    pretty_after("", v, depth)
}

/// The fields of one chain's document, for an object `depth` levels deep.
fn chain_fields(c: &Check, depth: usize) -> Vec<(&'static str, Part<'_>)> {
    // Each element of an array: its indent, then itself at its depth.
    let item = depth + 2;
    let lead: std::rc::Rc<str> = "  ".repeat(item).into();
    let mut fields = vec![
        ("ok", one(&(!c.failed() && !c.unusable()), depth)),
        (
            "files",
            Part::Many(Box::new(c.files.iter().map({
                let lead = lead.clone();
                move |f| pretty_after(&lead, &FileJson::of(f), item)
            }))),
        ),
        ("errors", one(&errors_json(c), depth)),
        (
            "hops",
            Part::Many(Box::new(c.hops.iter().scan(SourcesText::default(), {
                let lead = lead.clone();
                move |sources, h| {
                    sources.hold(h);
                    Some(pretty_after(&lead, &HopJson::of(h, sources), item))
                }
            }))),
        ),
        (
            "links",
            Part::Many(Box::new(c.links.iter().map({
                let lead = lead.clone();
                move |l| pretty_after(&lead, &LinkJson::of(l), item)
            }))),
        ),
        (
            "findings",
            Part::Many(Box::new(c.found.iter().map({
                let lead = lead.clone();
                move |f| pretty_after(&lead, &FoundJson::of(c, f), item)
            }))),
        ),
        (
            "assumed",
            Part::Many(Box::new(c.assumed.iter().map(move |a| {
                let a = AssumedJson {
                    file: &a.at.file,
                    line: a.at.line,
                    hop: &a.hop,
                    text: &a.text,
                };
                pretty_after(&lead, &a, item)
            }))),
        ),
    ];
    if let Some(p) = &c.probes {
        let probed: Vec<ProbeJson<'_>> = p.probed.iter().map(|x| ProbeJson::of(c, x)).collect();
        let skipped: Vec<NotProbedJson<'_>> = p
            .skipped
            .iter()
            .map(|(at, why)| NotProbedJson::of(c, *at, *why))
            .collect();
        fields.push(("probes", one(&probed, depth)));
        fields.push(("not_probed", one(&skipped, depth)));
    }
    fields
}

/// A field's one value, pretty-printed for an object `depth` levels deep.
fn one<'a>(v: &impl Serialize, depth: usize) -> Part<'a> {
    Part::One(pretty_at(v, depth + 1))
}

/// An object `depth` levels deep, field by field, byte for byte what
/// `to_string_pretty` makes of it there (without a newline after it).
fn object<'a>(
    fields: Vec<(&'static str, Part<'a>)>,
    depth: usize,
) -> impl Iterator<Item = String> + 'a {
    let n = fields.len();
    let key_at = "  ".repeat(depth + 1);
    let end = format!("{}}}", "  ".repeat(depth));
    std::iter::once("{\n".to_string())
        .chain(
            fields
                .into_iter()
                .enumerate()
                .flat_map(move |(i, (key, part))| {
                    let sep = if i + 1 == n { "\n" } else { ",\n" };
                    let key_at = key_at.clone();
                    let out: Box<dyn Iterator<Item = String>> = match part {
                        Part::One(v) => {
                            Box::new(std::iter::once(format!("{key_at}\"{key}\": {v}{sep}")))
                        }
                        Part::Many(items) => {
                            let mut items = items.peekable();
                            if items.peek().is_none() {
                                Box::new(std::iter::once(format!("{key_at}\"{key}\": []{sep}")))
                            } else {
                                let head = std::iter::once(format!("{key_at}\"{key}\": [\n"));
                                let body = std::iter::from_fn(move || {
                                    let mut v = items.next()?;
                                    if items.peek().is_some() {
                                        v.push(',');
                                    }
                                    v.push('\n');
                                    Some(v)
                                });
                                let tail = std::iter::once(format!("{key_at}]{sep}"));
                                Box::new(head.chain(body).chain(tail))
                            }
                        }
                    };
                    out
                }),
        )
        .chain(std::iter::once(end))
}

/// The JSON view in pieces, byte for byte what `to_string_pretty` makes of
/// the whole document, without holding the whole document: a chain of
/// 200,000 hops is written as it is rendered.
pub(crate) fn json_parts(c: &Check) -> impl Iterator<Item = String> + '_ {
    let mut fields = vec![
        ("type", Part::One(pretty_at(&"check", 1))),
        ("schema", Part::One(pretty_at(&crate::JSON_SCHEMA, 1))),
    ];
    fields.extend(chain_fields(c, 0));
    object(fields, 0).chain(std::iter::once("\n".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{self, Input};

    #[test]
    fn the_json_in_pieces_is_the_pretty_printed_document() {
        let inputs = vec![Input {
            name: "n.conf".into(),
            text: Ok("http { server { listen 80 proxy_protocol; } server { listen 81; } }".into()),
            kind: None,
            listed: false,
        }];
        let none = |_: &str, _: &str, p: &str| {
            Err(crate::check::nginx::IncludeError::Fatal(format!("no {p}")))
        };
        let c = check::check(inputs, &none);
        let text = json(&c);
        insta::assert_snapshot!("check_json", text);
        // Two chains: each one's fields after its name (docs/json.md).
        let two = json_chains(&[("old/".to_string(), &c), ("new/".to_string(), &c)]);
        let doc: serde_json::Value = serde_json::from_str(&two).expect("one JSON document");
        assert_eq!(
            two,
            serde_json::to_string_pretty(&doc).expect("pretty") + "\n"
        );
        insta::assert_snapshot!("check_chains_json", two);
        let doc: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
        let whole = serde_json::to_string_pretty(&doc).expect("pretty") + "\n";
        assert_eq!(text, whole);
        assert_eq!(doc["type"], "check");
        assert_eq!(doc["hops"].as_array().map(Vec::len), Some(2));
        // :80 reads the header and uses no address from it.
        assert_eq!(doc["findings"][0]["finding"]["name"], "real-ip-lost");
    }
}
