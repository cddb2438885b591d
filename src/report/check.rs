//! `check`'s two views: the chain (a table of links, ✔ or ✗ each) and the
//! findings with their file:line and fixes; or one JSON document.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::finding::{self, document};
use super::table::{self, Tone};
use super::Style;
use crate::check::live::{self, Probed, Probes, Skip};
use crate::check::{Check, Header, Hop, Link, Loc, Role, Trust};
use crate::diagnose::probe::Class;
use crate::judge::{Expects, Finding, Severity};

fn link_ok(l: &Link) -> bool {
    matches!(l.finding, Finding::Proxied | Finding::Plain)
}

fn port(p: Option<u16>) -> String {
    p.map_or("?".into(), |p| format!(":{p}"))
}

fn from_name(c: &Check, l: &Link) -> (String, Option<Loc>) {
    match l.from {
        Some((h, u)) => {
            let up = &c.hops[h].upstreams[u];
            (c.hops[h].name.clone(), Some(up.at.clone()))
        }
        None => ("client".into(), None),
    }
}

/// Prose indented by two columns, wrapped to the width.
fn para(style: Style, text: &str) -> String {
    let narrow = Style {
        width: style.width.saturating_sub(2),
        ..style
    };
    format!("  {}", table::wrap(narrow, text, 2))
}

/// The human view.
pub(crate) fn human(c: &Check, style: Style) -> String {
    let mut out = String::new();
    let files: Vec<String> = c
        .files
        .iter()
        .map(|(f, k)| format!("{f} ({})", k.name()))
        .collect();
    let _ = writeln!(
        out,
        "{} {}",
        style.bold("Read:"),
        table::wrap(style, &files.join(", "), 6)
    );
    let _ = writeln!(out);
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
        let _ = writeln!(
            out,
            "{}",
            style.bold("Chain (client → load balancer → ingress/proxy → app):")
        );
        let mut t = table::new(style, &["from", "to", "sends → expects", "link"]);
        for l in &c.links {
            let (from, at) = from_name(c, l);
            let from = match at {
                Some(at) => format!("{from}\n{at}"),
                None => from,
            };
            let to: &Hop = &c.hops[l.to.0];
            let lis = &to.listeners[l.to.1];
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
                (false, Some(v)) => {
                    format!("{} (not {})", expects_json(lis.expects), header_json(v))
                }
                (false, None) => expects_json(lis.expects).to_string(),
            };
            let to_name = if to.role == Role::Proxy {
                format!("{}\n{}", to.name, lis.at)
            } else {
                format!("{} {}\n{}", to.name, port(lis.port), lis.at)
            };
            let mark = if link_ok(l) { "✔" } else { "✗" };
            let verdict = format!("{mark} {}\n{}", l.finding.name(), l.finding.code());
            let tone = if link_ok(l) {
                Tone::Good
            } else {
                finding::tone(l.finding)
            };
            t.add_row(vec![
                table::cell(style, &from, Tone::Plain),
                table::cell(style, &to_name, Tone::Plain),
                table::cell(style, &format!("{sends} → {expects}"), Tone::Plain),
                table::cell(style, &verdict, tone),
            ]);
        }
        let _ = writeln!(out, "{t}");
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
        for a in &c.assumed {
            let _ = writeln!(
                out,
                "{}",
                para(style, &format!("{} {}: {}", a.at, a.hop, a.text))
            );
        }
    }
    let _ = writeln!(out);
    if c.found.is_empty() {
        let _ = writeln!(out, "{}", style.good("✓ no finding: every link agrees"));
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
        let fixes = f.fixes();
        if let Some((first, rest)) = fixes.split_first() {
            if shown.contains(&first.id) {
                let _ = writeln!(
                    out,
                    "{} {}",
                    style.accent("▸"),
                    style.dim(&format!("fix: {} (above)", first.id))
                );
            } else {
                out.push_str(&finding::fixes_human(&[first], style));
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

/// The `probes` and `not_probed` arrays of `--probe`.
fn probes_json(c: &Check, p: &Probes) -> (Value, Value) {
    let probed: Vec<Value> = p
        .probed
        .iter()
        .map(|x| {
            let at = &c.hops[x.to.0].listeners[x.to.1].at;
            json!({
                "address": x.target.to_string(),
                "mode": x.mode.name(),
                "listener": {"hop": x.to.0, "listener": x.to.1},
                "listener_at": at.to_string(),
                "hop": c.hops[x.to.0].name,
                "expected": expects_json(x.expected),
                "class": x.class.name(),
                "agrees": x.agrees,
                "finding": x.finding.map(finding::json),
                "error": x.error,
            })
        })
        .collect();
    let skipped: Vec<Value> = p
        .skipped
        .iter()
        .map(|((h, l), why)| {
            json!({
                "listener": {"hop": h, "listener": l},
                "listener_at": c.hops[*h].listeners[*l].at.to_string(),
                "hop": c.hops[*h].name,
                "why": skip_json(*why),
            })
        })
        .collect();
    (Value::Array(probed), Value::Array(skipped))
}

fn loc(at: &Loc) -> Value {
    json!({"file": at.file, "line": at.line})
}

fn trust_json(t: &Trust) -> Value {
    match t {
        Trust::Anyone => json!("anyone"),
        Trust::Unused => json!("unused"),
        Trust::List(nets, at) => json!({
            "sources": nets.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "file": at.file,
            "line": at.line,
        }),
    }
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

/// The JSON view: one document of type `check` (docs/json.md).
pub(crate) fn json(c: &Check) -> String {
    let hops: Vec<Value> = c
        .hops
        .iter()
        .map(|h| {
            json!({
                "name": h.name,
                "role": h.role.name().replace(' ', "-"),
                "kind": h.kind.name(),
                "file": h.at.file,
                "line": h.at.line,
                "listeners": h.listeners.iter().map(|l| json!({
                    "host": l.host,
                    "port": l.port,
                    "expects": expects_json(l.expects),
                    "passthrough": l.passthrough,
                    "refuses": l.refuses.map(header_json),
                    "ssl": l.ssl,
                    "trust": trust_json(&l.trust),
                    "file": l.at.file,
                    "line": l.at.line,
                })).collect::<Vec<_>>(),
                "upstreams": h.upstreams.iter().map(|u| json!({
                    "host": u.host,
                    "port": u.port,
                    "sends": header_json(u.sends),
                    "source": u.source.map(|s| s.to_string()),
                    "file": u.at.file,
                    "line": u.at.line,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let links: Vec<Value> = c
        .links
        .iter()
        .map(|l| {
            json!({
                "from": l.from.map(|(h, u)| json!({"hop": h, "upstream": u})),
                "to": {"hop": l.to.0, "listener": l.to.1},
                "carried": header_json(l.carried),
                "stacked": l.stacked,
                "ok": link_ok(l),
                "finding": finding::json(l.finding),
            })
        })
        .collect();
    let found: Vec<Value> = c
        .found
        .iter()
        .map(|f| {
            json!({
                "finding": finding::json(f.finding),
                "file": f.at.file,
                "line": f.at.line,
                "hop": f.hop,
                "message": f.message,
                "fixes": finding::fixes_json(&f.fixes()),
            })
        })
        .collect();
    let mut body = json!({
        "ok": !c.failed(),
        "files": c.files.iter().map(|(f, k)| json!({"file": f, "kind": k.name()})).collect::<Vec<_>>(),
        "hops": hops,
        "links": links,
        "findings": found,
        "assumed": c.assumed.iter().map(|a| json!({"file": a.at.file, "line": a.at.line, "hop": a.hop, "text": a.text})).collect::<Vec<_>>(),
    });
    if let (Some(p), Some(obj)) = (&c.probes, body.as_object_mut()) {
        let (probed, skipped) = probes_json(c, p);
        obj.insert("probes".into(), probed);
        obj.insert("not_probed".into(), skipped);
    }
    let _ = loc;
    let mut s = serde_json::to_string_pretty(&document("check", body)).unwrap_or_default();
    s.push('\n');
    s
}
