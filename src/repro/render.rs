//! The human view of a [`Matrix`]: a table, then each broken cell's cause
//! and fix. The JSON view is the serde form of the same data.

use comfy_table::{presets::UTF8_FULL, Cell as TableCell, ContentArrangement, Table};

use super::{Cell, Matrix, Outcome, Sender, RECEIVERS};
use crate::report::Style;

pub fn human(m: &Matrix, style: Style) -> String {
    let mut out = String::new();
    match &m.target {
        None => out.push_str(&format!(
            "{} every sender x receiver pair on loopback, through ppctl send and ppctl listen (headers claim {})\n\n",
            style.bold("repro:"),
            m.claimed_source
        )),
        Some(t) => out.push_str(&format!(
            "{} each sender against {t} (headers claim {})\n\n",
            style.bold("repro:"),
            m.claimed_source
        )),
    }
    if m.target.is_none() {
        out.push_str(&style.dim(LEGEND));
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(TABLE_WIDTH);
    if m.target.is_none() {
        let mut head = vec![TableCell::new("sender")];
        head.extend(
            RECEIVERS
                .iter()
                .map(|r| TableCell::new(receiver_title(r.name()))),
        );
        table.set_header(head);
        for s in Sender::ALL {
            let mut row = vec![TableCell::new(sender_title(s))];
            for c in m.cells.iter().filter(|c| c.sender == s) {
                row.push(TableCell::new(cell_text(c, style)));
            }
            table.add_row(row);
        }
    } else {
        table.set_header(vec!["sender", "the client got", "reading"]);
        for c in &m.cells {
            table.add_row(vec![
                sender_title(c.sender),
                client_got(c),
                c.explanation.clone(),
            ]);
        }
    }
    out.push_str(&table.to_string());
    out.push('\n');

    if m.target.is_some() {
        out.push('\n');
        out.push_str(&match m.matches.as_slice() {
            [] => style.bad("it matches none of the predicted receivers (off, require, auto): see the replies above\n"),
            cols => {
                let names: Vec<String> = cols.iter().map(|c| receiver_title(c)).collect();
                style.good(&format!("it behaves like: {}\n", names.join(", ")))
            }
        });
        return out;
    }

    let mut spoof_shown = false;
    let mut page_shown = false;
    let mut ordered: Vec<&Cell> = m.cells.iter().filter(|c| c.broken).collect();
    ordered.extend(m.cells.iter().filter(|c| !c.broken));
    for c in ordered {
        let Some(d) = &c.diagnosis else { continue };
        if d.id == "PP-SPOOF" {
            if spoof_shown {
                continue;
            }
            spoof_shown = true;
        }
        out.push('\n');
        let title = if c.broken {
            style.bad(&format!(
                "{} -> {}: broken [{}]",
                c.sender.name(),
                c.receiver,
                d.id
            ))
        } else {
            style.warn(&format!("{} column: works, but [{}]", c.receiver, d.id))
        };
        out.push_str(&format!("{title}\n"));
        if c.broken {
            out.push_str(&format!("  client got:      {}\n", client_got(c)));
            if let Some(r) = &c.response {
                if c.outcome == Outcome::BadRequest && !page_shown {
                    page_shown = true;
                    for l in r.lines() {
                        out.push_str(&format!("                   {}\n", style.dim(l)));
                    }
                }
            }
            if let Some(l) = &c.receiver_log {
                out.push_str(&format!("  receiver logged: {l}\n"));
            }
        }
        out.push_str(&format!("  cause: {}\n", d.cause));
        out.push_str("  fixes:\n");
        for line in crate::report::finding::fixes_human(&d.fixes, style).lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out.push('\n');
    out.push_str(&if m.all_as_predicted {
        style.good("every cell behaved as predicted\n")
    } else {
        let bad: Vec<String> = m
            .cells
            .iter()
            .filter(|c| c.as_predicted == Some(false))
            .map(|c| format!("{} -> {}", c.sender.name(), c.receiver))
            .collect();
        style.bad(&format!("NOT as predicted: {}\n", bad.join(", ")))
    });
    out
}

/// Wide enough for the three columns, narrow enough for a terminal.
const TABLE_WIDTH: u16 = 120;

fn receiver_title(name: &str) -> String {
    format!("receiver: {name}")
}

/// What the receiver columns stand for.
const LEGEND: &str = "receivers: off = nginx without proxy_protocol; require = nginx `listen ... proxy_protocol`; auto = either (spoofable)\n";

fn sender_title(s: Sender) -> String {
    match s {
        Sender::None => "no header".into(),
        Sender::V1 => "v1 header".into(),
        Sender::V2 => "v2 header".into(),
    }
}

fn client_got(c: &Cell) -> String {
    match (c.outcome, &c.client_ip, &c.status_line) {
        (Outcome::HttpOk, Some(ip), _) => format!("200, client {ip}"),
        (_, _, Some(line)) => format!("{line} ({})", c.end),
        (o, _, None) => format!("{} ({})", o.name(), c.end),
    }
}

/// Characters of the receiver's log line shown in a table cell.
const LOG_SHOWN: usize = 70;

fn cell_text(c: &Cell, style: Style) -> String {
    let mark = match (c.as_predicted, c.broken) {
        (Some(false), _) => style.bad("NOT as predicted"),
        (_, true) => style.bad("broken (as predicted)"),
        _ => style.good("ok"),
    };
    let log = c.receiver_log.clone().unwrap_or_else(|| "-".into());
    let log = match log.char_indices().nth(LOG_SHOWN) {
        Some((i, _)) => format!("{}...", &log[..i]),
        None => log,
    };
    format!("{}\nlog: {log}\n{mark}", client_got(c))
}
