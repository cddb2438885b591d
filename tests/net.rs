//! The client exchange (ppctl::net) against in-test std listeners.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use ppctl::net::{exchange, End, Message, Options, Split};

/// A one-shot server: reads what arrives for a moment, then `respond`.
fn server(respond: fn(&mut std::net::TcpStream)) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        respond(&mut s);
        got
    });
    (addr, handle)
}

fn opts() -> Options {
    Options {
        reply_timeout: Duration::from_millis(800),
        ..Options::default()
    }
}

fn run(addr: SocketAddr, opts: &Options) -> ppctl::net::Transcript {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(exchange(&[addr], opts, |local, peer| {
        Ok::<_, ()>(Message {
            header: format!("L={local} P={peer}\n").into_bytes(),
            payload: b"payload".to_vec(),
        })
    }))
    .unwrap()
}

#[test]
fn header_is_built_from_the_real_socket_ends_and_reply_is_read() {
    let (addr, h) = server(|s| {
        s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
    });
    let reply = run(addr, &opts());
    let got = h.join().unwrap();
    let local = reply.local.unwrap();
    assert_eq!(got, format!("L={local} P={addr}\npayload").into_bytes());
    assert_eq!(reply.received, b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(reply.end, End::EofAfterData);
    assert!(reply.connected);
}

#[test]
fn close_without_data_and_timeout_are_told_apart() {
    let (addr, h) = server(|_| {});
    let reply = run(addr, &opts());
    h.join().unwrap();
    assert_eq!(reply.end, End::EofWithoutData);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reply = run(addr, &opts()); // accepted by the kernel, never answered
    assert_eq!(reply.end, End::Timeout);
    drop(listener);
}

#[test]
fn refused_is_not_connected() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let reply = run(addr, &opts());
    assert!(!reply.connected);
    assert_eq!(reply.end, End::Refused);
}

#[test]
fn split_sends_the_same_bytes() {
    let (addr, h) = server(|_| {});
    let o = Options {
        split: Split::Bytewise,
        split_delay: Duration::from_millis(1),
        ..opts()
    };
    let reply = run(addr, &o);
    let got = h.join().unwrap();
    assert_eq!(got.len(), reply.sent);
    assert!(got.ends_with(b"payload"));
}
