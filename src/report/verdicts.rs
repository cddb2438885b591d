//! docs/verdicts.md, generated from the judge's tables (`judge::FINDINGS`
//! and `judge::fixes::FIXES`), so the doc names exactly the findings, codes
//! and fixes the commands print. The unit test below fails when the
//! committed file is out of date; `PPCTL_REGENERATE=1 cargo test --lib
//! report::verdicts` rewrites it.

use std::fmt::Write as _;

use crate::judge::fixes::FIXES;
use crate::judge::{Finding, Fix, FINDINGS};
use crate::protocol::Protocol;

const INTRO: &str = "\
# Findings: what ppctl concludes, and how to fix it

A *finding* is ppctl's judgement of one exchange between a sender and a
receiver: what was sent (no header, a v1 or v2 PROXY header, a LOCAL health
check, a malformed or stacked header), what came back (an HTTP status, a TLS
alert, a banner, a close, silence) or, for `listen`, what arrived. Every
command that judges an exchange names the result with the same kebab-case
name and the same stable `PP-…` code, in its human output, in every JSON
document, in `--finding`/`--expect` values and on this page. The code is
the name in capitals after `PP-` (`unexpected-header` is
`PP-UNEXPECTED-HEADER`), for every finding.

Each finding has a severity: `ok` (works as configured), `info` (a fact,
neither right nor wrong), `warning` (works, but is risky) or `problem`
(broken). Exit codes follow one rule for every command (the README's
table, the end of every `--help`): a `problem` finding in what a command
judges makes it exit 1, the other severities leave it at 0, and an
`--expect…`, when given, decides alone. `probe` and `repro --target`
conclude a profile, which is a fact about the endpoint and exits 0 though
its mismatched senders meet problem findings.
The fixes of a finding link to the [Fixes](#fixes) section: the exact
change, on which side, and the upstream documentation.
";

const FIXES_INTRO: &str = "
## Fixes

Every fix ppctl knows: `send`, `listen`, `probe`, `repro`, `pcap` and
`explain` all take theirs from this one table. The side is the end of the
connection where the change is made: the sender (the load balancer or proxy
that adds the header), the receiver (the server that reads it), a client
that connects directly, or the platform around both.
";

/// The whole of docs/verdicts.md.
pub(crate) fn markdown() -> String {
    let mut out = String::from(INTRO);
    out.push_str(
        "\n<!-- Generated from src/judge/table.rs and src/judge/fixes.rs by \
         src/report/verdicts.rs.\n     Do not edit: run `PPCTL_REGENERATE=1 cargo test --lib \
         report::verdicts`. -->\n",
    );
    out.push_str("\n## Findings\n\n");
    out.push_str("| finding | code | severity | what it means | reported by | fixes |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for (f, info) in Finding::ALL.into_iter().zip(FINDINGS) {
        let fixes: Vec<String> = f
            .fixes()
            .iter()
            .map(|x| format!("[`{0}`](#{0})", x.id))
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} | {} | {} |",
            f.name(),
            f.code(),
            f.severity().name(),
            cell(f.meaning()),
            info.reported_by
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", "),
            if fixes.is_empty() {
                "—".to_string()
            } else {
                fixes.join("<br>")
            },
        );
    }
    by_protocol(&mut out);
    out.push_str(FIXES_INTRO);
    for fix in FIXES {
        fix_section(&mut out, fix);
    }
    out
}

const BY_PROTOCOL_INTRO: &str = "
## Fixes by protocol

Behind a mail, database or SSH server the same finding needs that server's
change, not nginx's: when the protocol is known (`send` and `probe` with
`--protocol`, a `pcap` flow's port or greeting, the server of an `explain`
log line), these fixes replace the finding's own. The protocols and what
ppctl sends in each are in [protocols.md](protocols.md).

| protocol | finding | fixes |
|---|---|---|
";

/// The fixes a protocol chooses instead of a finding's own.
fn by_protocol(out: &mut String) {
    out.push_str(BY_PROTOCOL_INTRO);
    for p in Protocol::ALL {
        for f in Finding::ALL {
            let Some(ids) = p.fixes(f) else {
                continue;
            };
            let fixes: Vec<String> = ids.iter().map(|id| format!("[`{id}`](#{id})")).collect();
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} |",
                p.name(),
                f.name(),
                fixes.join("<br>")
            );
        }
    }
}

/// One fix: its id as the heading (GitHub's anchor for it is the id), then
/// the change and the link.
fn fix_section(out: &mut String, fix: &Fix) {
    let mut named_by: Vec<String> = Finding::ALL
        .into_iter()
        .filter(|f| f.fixes().iter().any(|x| x.id == fix.id))
        .map(|f| format!("`{}`", f.name()))
        .collect();
    for p in Protocol::ALL {
        for f in Finding::ALL {
            if p.fixes(f).is_some_and(|ids| ids.contains(&fix.id)) {
                named_by.push(format!("`{}` ({})", f.name(), p.name()));
            }
        }
    }
    let _ = writeln!(out, "\n### `{}`\n", fix.id);
    let _ = writeln!(out, "**{}**\n", fix.title);
    let _ = writeln!(out, "- side: {}", fix.side.name());
    let _ = writeln!(out, "- applies to: {}", fix.applies_to);
    if !named_by.is_empty() {
        let _ = writeln!(out, "- for: {}", named_by.join(", "));
    }
    let _ = writeln!(out, "- upstream doc: <{}>", fix.doc);
    let _ = writeln!(
        out,
        "\n```text\n{}\n```",
        fix.change_for(crate::judge::fixes::Case::default())
    );
}

/// Text fit for one table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn reported_by_is_in_column_order() {
        // cmd::generate's tests check that these are real subcommands.
        for info in FINDINGS {
            assert!(!info.reported_by.is_empty(), "{}: no command", info.name);
            assert!(
                info.reported_by.windows(2).all(|w| w[0] < w[1]),
                "{}: out of order or twice: {:?}",
                info.name,
                info.reported_by
            );
        }
    }

    #[test]
    fn every_fix_is_listed_and_linked() {
        let doc = markdown();
        for fix in FIXES {
            assert!(doc.contains(&format!("\n### `{}`\n", fix.id)), "{}", fix.id);
            assert!(doc.contains(fix.doc), "{}", fix.id);
        }
        for f in Finding::ALL {
            let row = format!("| `{}` | `{}` |", f.name(), f.code());
            assert!(doc.contains(&row), "{row}");
        }
    }

    #[test]
    fn docs_verdicts_md_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verdicts.md");
        let want = markdown();
        if std::env::var_os("PPCTL_REGENERATE").is_some() {
            std::fs::write(&path, &want).expect("write docs/verdicts.md");
            return;
        }
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            got == want,
            "docs/verdicts.md is out of step with src/judge; run: \
             PPCTL_REGENERATE=1 cargo test --lib report::verdicts"
        );
    }
}
