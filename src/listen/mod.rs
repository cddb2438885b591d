//! `ppctl listen` as a library: the HTTP stand-in
//! ([`crate::server::standin::Http`], nginx with and without
//! `proxy_protocol`), or with `--protocol` the protocol stand-in
//! ([`crate::server::standin::talk::Talk`]: Postfix, Dovecot, MariaDB), on
//! every TCP address, or every datagram's v2 header
//! on UDP, each connection checked against `--expect-src` and
//! `--expect-version`.

mod config;
mod udp;

use std::future::Future;
use std::sync::Arc;

use crate::server::standin::talk::Talk;
use crate::server::standin::{Answered, Http};
use crate::server::{self, Accepted, Hub, Listeners, Served, Service, Sink, Summary};

pub(crate) use config::{Config, Expect};

/// The stand-in, with listen's expectations.
struct Listen {
    http: Http,
    talk: Option<Talk>,
    expect: Expect,
}

impl Service for Listen {
    type Facts = Answered;

    async fn serve(&self, c: Accepted) -> Served<Answered> {
        let mut served = match &self.talk {
            Some(talk) => talk.serve(c).await,
            None => self.http.serve(c).await,
        };
        served.record.matched = self.expect.check(&served.record);
        served
    }
}

/// Run a server until `shutdown` resolves or `--count` connections were
/// handled; once `now` resolves (a second signal, or nobody reads the
/// output any more) the drain ends at once: connections still in flight
/// stop and are reported as `interrupted`. Every record goes to `sink`
/// before this returns.
pub(crate) async fn run(
    listeners: Listeners,
    cfg: Config,
    shutdown: impl Future,
    now: impl Future,
    sink: impl Into<Sink<Answered>>,
) -> Summary {
    let limits = cfg.limits;
    let hub = Hub::new(Summary::new(cfg.expect.any()), sink)
        .metered(cfg.meter)
        .conforming(cfg.conform);
    let hub = Arc::new(hub);
    let listen = Arc::new(Listen {
        http: cfg.http,
        talk: cfg.talk,
        expect: cfg.expect,
    });
    for l in &listeners.tcp {
        server::bind::delay_first_ack(l);
    }
    let udp = listeners.udp;
    let for_udp = (hub.clone(), listen.clone());
    server::run(
        listeners.tcp,
        limits,
        listen,
        hub,
        shutdown,
        now,
        move |gate, tasks| {
            for u in udp {
                let (hub, listen) = for_udp.clone();
                tasks.spawn(udp::serve(u, listen, hub, gate.clone()));
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::server::bind;
    use crate::server::standin::SentBack;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::mpsc;

    /// The server as a library: injected listener, shutdown future and sink.
    #[tokio::test]
    async fn runs_in_process_with_injected_listener_and_shutdown() {
        let listener = bind::bind_tcp(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, mut rx) = mpsc::channel(8);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(
            Listeners {
                tcp: vec![listener],
                udp: Vec::new(),
            },
            Config::default(),
            async move {
                let _ = stop_rx.await;
            },
            std::future::pending::<()>(),
            tx,
        ));
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\nGET /json HTTP/1.1\r\n\r\n")
            .await
            .expect("write");
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).await.expect("read");
        assert!(reply.starts_with(b"HTTP/1.1 200 OK\r\n"));
        let rec = rx.recv().await.expect("a record");
        assert_eq!(rec.finding, crate::judge::Finding::Proxied);
        assert_eq!(rec.pairing, Some(crate::judge::Finding::Spoofable));
        assert_eq!(rec.client, SocketAddr::from(([192, 0, 2, 1], 1000)));
        assert_eq!(rec.service.reply, SentBack::WhoamiJson);
        let _ = stop_tx.send(());
        let summary = server.await.expect("server task");
        assert_eq!(summary.connections, 1);
        assert!(summary.interrupted);
    }
}
