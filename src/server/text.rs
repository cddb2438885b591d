//! Addresses and numbers as text, written into a line or page being
//! built. The servers say several addresses per connection (the whoami
//! page, listen's connection line) at the connection rate, and `fmt`'s
//! machinery (each IPv4 octet padded as an integer, a `String` grown per
//! piece) cost more than the rest of such a line (docs/performance.md).
//! The text is `Display`'s, byte for byte.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// `n` in decimal, by `itoa` (two digits a step from a table, no checks):
/// a line and its page say a dozen numbers a connection, and a digit a
/// division here cost 120 instructions a number (docs/performance.md).
pub(crate) fn push_decimal(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// ASCII bytes (digits, dots, a request line's printable run), pushed as
/// they are. `from_utf8`'s check costs more than the copy for the few bytes
/// of a number or an address (95 instructions a call, on 18 calls a
/// connection: docs/performance.md); `is_ascii` is a few instructions and
/// proves the same for ASCII. Anything else goes through `from_utf8_lossy`.
pub(crate) fn push_ascii(out: &mut String, bytes: &[u8]) {
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8 on their own, so the String
        // stays UTF-8 wherever they are appended.
        unsafe { out.as_mut_vec() }.extend_from_slice(bytes);
    } else {
        out.push_str(&String::from_utf8_lossy(bytes));
    }
}

/// `text` after what `all` holds, joined by "; ": a single text (a note
/// said on every connection's line and page) is kept as it is, a fixed one
/// with no copy.
pub(crate) fn push_joined(all: &mut Option<Cow<'static, str>>, text: Cow<'static, str>) {
    *all = Some(match all.take() {
        None => text,
        Some(mut joined) => {
            let s = joined.to_mut();
            s.push_str("; ");
            s.push_str(&text);
            joined
        }
    });
}

/// An IP address, as `Display` writes it.
pub(crate) fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(ip) => {
            // At most `255.255.255.255`, built on the stack.
            let mut text = [0u8; 15];
            let mut len = 0;
            for (i, octet) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    text[len] = b'.';
                    len += 1;
                }
                if octet >= 100 {
                    text[len] = b'0' + octet / 100;
                    len += 1;
                }
                if octet >= 10 {
                    text[len] = b'0' + octet / 10 % 10;
                    len += 1;
                }
                text[len] = b'0' + octet % 10;
                len += 1;
            }
            push_ascii(out, &text[..len]);
        }
        IpAddr::V6(ip) => {
            let _ = write!(out, "{ip}");
        }
    }
}

/// A socket address, as `Display` writes it (`a.b.c.d:port`; IPv6 with
/// its brackets and scope, by `Display` itself).
pub(crate) fn push_socket(out: &mut String, a: SocketAddr) {
    match a {
        SocketAddr::V4(_) => {
            push_ip(out, a.ip());
            out.push(':');
            push_decimal(out, u64::from(a.port()));
        }
        SocketAddr::V6(_) => {
            let _ = write!(out, "{a}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_pushed_as_it_is_and_anything_else_stays_utf8() {
        let mut s = String::from("é ");
        push_ascii(
            &mut s,
            b"GET / HTTP/1.1 and a run longer than sixteen bytes",
        );
        push_ascii(&mut s, b" 127.0.0.1");
        push_ascii(&mut s, b" \xff\xc3\xa9");
        assert_eq!(
            s,
            "é GET / HTTP/1.1 and a run longer than sixteen bytes 127.0.0.1 \u{fffd}é"
        );
    }

    #[test]
    fn texts_are_joined_and_a_single_one_is_not_copied() {
        let mut all = None;
        push_joined(&mut all, "first".into());
        assert!(matches!(all, Some(Cow::Borrowed("first"))));
        push_joined(&mut all, String::from("second").into());
        push_joined(&mut all, "third".into());
        assert_eq!(all.as_deref(), Some("first; second; third"));
    }

    #[test]
    fn the_text_is_display_s() {
        for n in [
            0,
            7,
            10,
            99,
            255,
            1000,
            65535,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        let addrs = [
            "0.0.0.0:0",
            "192.0.2.1:1234",
            "255.255.255.255:65535",
            "10.20.3.4:80",
            "100.9.10.99:0",
            "1.0.200.109:65535",
            "[::1]:8080",
            "[2001:db8::7]:443",
            "[::ffff:192.0.2.1]:9",
            "[fe80::1%3]:22",
        ];
        for a in addrs {
            let a: SocketAddr = a.parse().unwrap();
            let (mut ip, mut sock) = (String::new(), String::new());
            push_ip(&mut ip, a.ip());
            push_socket(&mut sock, a);
            assert_eq!(ip, a.ip().to_string());
            assert_eq!(sock, a.to_string());
        }
    }
}
