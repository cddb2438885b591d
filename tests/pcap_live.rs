//! `ppctl pcap` on real captures: tcpdump records loopback traffic while
//! real nginx and HAProxy talk PROXY protocol (v1, v2 with TLVs, the 400
//! mismatch, a missing header), then every flow's verdict is checked and
//! cross-checked with tshark.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::peers::{self, Haproxy, Nginx, Peer};
use common::{exchange, free_port, ppctl, HTTP_GET};
use ppctl::codec::encode::HeaderSpec;
use ppctl::codec::{tlv, Version};
use serde_json::Value;

/// Bound on every wait (tcpdump start/stop, a streamed result).
const WAIT: Duration = Duration::from_secs(15);

/// One capture at a time: concurrent tcpdumps on a small machine lose
/// packets (especially `-i any`), which would change verdicts.
static ONE_CAPTURE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_capture() -> std::sync::MutexGuard<'static, ()> {
    ONE_CAPTURE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running tcpdump, stopped by pid with SIGINT (so it flushes).
struct Tcpdump {
    child: Child,
}

impl Tcpdump {
    /// Capture `filter` on `iface` into `out` (a path, or "-" for stdout).
    fn start(iface: &str, filter: &str, out: &str) -> Tcpdump {
        Tcpdump::start_as(iface, None, filter, out)
    }

    /// The same, with a link-layer type (`-y LINUX_SLL`).
    fn start_as(iface: &str, link: Option<&str>, filter: &str, out: &str) -> Tcpdump {
        let exe = peers::path(Peer::Tcpdump).expect("tcpdump is installed");
        let stdout = if out == "-" {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let child = Command::new(exe)
            // --immediate-mode: without it, packets still in a kernel block when
            // SIGINT arrives are lost.
            .args([
                "-i",
                iface,
                "-U",
                "--immediate-mode",
                "-n",
                "-s",
                "0",
                "-w",
                out,
            ])
            .args(link.map(|l| ["-y", l]).into_iter().flatten())
            .arg(filter)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcpdump");
        Tcpdump { child }
    }

    /// Wait until tcpdump really captures: connect to `canary` (a port in
    /// its filter) until a packet shows up in `file` (`-U` writes each one).
    fn wait_capturing(&self, file: &Path, canary: u16) {
        let deadline = Instant::now() + WAIT;
        while std::fs::metadata(file).map(|m| m.len()).unwrap_or(0) <= 24 {
            assert!(
                Instant::now() < deadline,
                "tcpdump captured nothing within {WAIT:?}"
            );
            let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, canary));
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGINT, then wait (bounded) for it to exit.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

fn have_all() -> bool {
    [Peer::Tcpdump, Peer::Nginx, Peer::Haproxy]
        .into_iter()
        .all(peers::require)
}

fn v1_header() -> Vec<u8> {
    let src: SocketAddr = "203.0.113.7:51000".parse().unwrap();
    let dst: SocketAddr = "198.51.100.1:80".parse().unwrap();
    HeaderSpec::tcp(Version::V1, src, dst).encode().unwrap()
}

fn v2_header_with_tlvs() -> Vec<u8> {
    let src: SocketAddr = "[2001:db8::7]:51000".parse().unwrap();
    let dst: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
    HeaderSpec::tcp(Version::V2, src, dst)
        .with_tlv(tlv::AUTHORITY, b"live.example".to_vec())
        .encode()
        .unwrap()
}

fn connect_and_close(port: u16) {
    let s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    drop(s);
}

struct Ports {
    pp_nginx: u16,
    plain_nginx: u16,
    accept_haproxy: u16,
    v2_haproxy: u16,
    v1_haproxy: u16,
}

/// The peers, running.
struct Peers {
    _nginx: (Nginx, Nginx),
    _haproxy: (Haproxy, Haproxy, Haproxy),
    ports: Ports,
}

fn start_peers() -> Peers {
    let ports = Ports {
        pp_nginx: free_port(),
        plain_nginx: free_port(),
        accept_haproxy: free_port(),
        v2_haproxy: free_port(),
        v1_haproxy: free_port(),
    };
    let s = |p: u16| p.to_string();
    let pp = Nginx::start("pp_http", &[("PORT", &s(ports.pp_nginx))]);
    let plain = Nginx::start("plain_http", &[("PORT", &s(ports.plain_nginx))]);
    let accept = Haproxy::start("accept_proxy", &[("PORT", &s(ports.accept_haproxy))]);
    let v2 = Haproxy::start(
        "send_proxy_v2",
        &[
            ("PORT", &s(ports.v2_haproxy)),
            ("PP_PORT", &s(free_port())),
            ("UPSTREAM", &s(ports.pp_nginx)),
        ],
    );
    let v1 = Haproxy::start(
        "send_proxy_v1",
        &[
            ("PORT", &s(ports.v1_haproxy)),
            ("UPSTREAM", &s(ports.plain_nginx)),
        ],
    );
    Peers {
        _nginx: (pp, plain),
        _haproxy: (accept, v2, v1),
        ports,
    }
}

fn port_filter(p: &Ports) -> String {
    [
        p.pp_nginx,
        p.plain_nginx,
        p.accept_haproxy,
        p.v2_haproxy,
        p.v1_haproxy,
    ]
    .iter()
    .map(|p| format!("tcp port {p}"))
    .collect::<Vec<_>>()
    .join(" or ")
}

/// Every case, one connection at a time; returns the expected verdicts per
/// server port.
fn traffic(p: &Ports) -> BTreeMap<u16, Vec<&'static str>> {
    let with = |h: &[u8]| [h, HTTP_GET].concat();
    // One connection at a time, with a pause: `-i any` loses packets of
    // back-to-back loopback connections on small machines.
    let pause = || thread::sleep(Duration::from_millis(100));
    // HAProxy send-proxy-v2 (CRC32C, UNIQUE_ID TLVs) to nginx proxy_protocol.
    exchange(p.v2_haproxy, HTTP_GET);
    pause();
    // HAProxy send-proxy (v1) to nginx without proxy_protocol: the 400.
    exchange(p.v1_haproxy, HTTP_GET);
    pause();
    // Our own headers.
    exchange(p.pp_nginx, &with(&v1_header()));
    pause();
    exchange(p.plain_nginx, &with(&v1_header()));
    pause();
    exchange(p.accept_haproxy, &with(&v2_header_with_tlvs()));
    pause();
    // Missing headers.
    exchange(p.pp_nginx, HTTP_GET);
    pause();
    exchange(p.accept_haproxy, HTTP_GET);
    pause();
    // A TCP health check: connect and close.
    connect_and_close(p.pp_nginx);
    pause();
    // A v2 LOCAL header (a health check that says so).
    exchange(p.pp_nginx, &with(&HeaderSpec::local().encode().unwrap()));
    pause();
    // A health check that gets an error: a LOCAL header to nginx without
    // proxy_protocol, which answers 400.
    exchange(p.plain_nginx, &with(&HeaderSpec::local().encode().unwrap()));
    pause();
    // Two headers (an NLB in front of another PROXY hop): nginx takes the
    // first and reads the second as the request line.
    exchange(p.pp_nginx, &with(&[v1_header(), v1_header()].concat()));
    let mut want = BTreeMap::new();
    want.insert(p.v2_haproxy, vec!["plain"]);
    // The client's own flow carries no header and gets the 400 nginx gave
    // HAProxy: judged by the hop behind it (the relayed flow to plain_nginx,
    // whose header claims this client, is the unexpected header).
    want.insert(p.v1_haproxy, vec!["upstream-failed"]);
    want.insert(
        p.pp_nginx,
        vec![
            "proxied",
            "proxied",
            "missing-header",
            "health-check",
            "health-check",
            "stacked-header",
        ],
    );
    want.insert(
        p.plain_nginx,
        vec![
            "unexpected-header",
            "unexpected-header",
            // The LOCAL one too: nginx's stock 400 says it read the header
            // as the request line.
            "unexpected-header",
        ],
    );
    want.insert(p.accept_haproxy, vec!["proxied", "missing-header"]);
    for v in want.values_mut() {
        v.sort_unstable();
    }
    want
}

/// Direct connections only, one at a time: on this kernel/libpcap `-i any`
/// loses loopback packets of overlapping connections (HAProxy's relayed
/// ones; `tcpdump -r` shows them absent from the file), which would change
/// their verdicts.
fn direct_traffic(p: &Ports) -> BTreeMap<u16, Vec<&'static str>> {
    let pause = || thread::sleep(Duration::from_millis(100));
    exchange(p.pp_nginx, &[v1_header().as_slice(), HTTP_GET].concat());
    pause();
    exchange(p.plain_nginx, &[v1_header().as_slice(), HTTP_GET].concat());
    pause();
    exchange(
        p.accept_haproxy,
        &[v2_header_with_tlvs().as_slice(), HTTP_GET].concat(),
    );
    pause();
    exchange(p.pp_nginx, HTTP_GET);
    let mut want = BTreeMap::new();
    want.insert(p.pp_nginx, vec!["missing-header", "proxied"]);
    want.insert(p.plain_nginx, vec!["unexpected-header"]);
    want.insert(p.accept_haproxy, vec!["proxied"]);
    want
}

fn pcap_json(file: &Path) -> (i32, Vec<Value>) {
    let out = ppctl().args(["pcap", "--json"]).arg(file).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.pop(); // the summary
    (out.status.code().unwrap_or(-1), lines)
}

fn verdicts_by_server_port(flows: &[Value]) -> BTreeMap<u16, Vec<String>> {
    let mut got: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for f in flows {
        let port = f["server"]["port"].as_u64().unwrap() as u16;
        got.entry(port)
            .or_default()
            .push(f["finding"]["name"].as_str().unwrap().to_string());
    }
    for v in got.values_mut() {
        v.sort_unstable();
    }
    got
}

/// (client, server, claimed source, claimed destination) of every header
/// tshark finds.
fn tshark_headers(file: &Path) -> BTreeSet<(String, String, String, String)> {
    let out = Command::new(peers::path(Peer::Tshark).unwrap())
        .args(["-r"])
        .arg(file)
        .args([
            "-o",
            "tcp.try_heuristic_first:TRUE",
            "-Y",
            "proxy",
            "-T",
            "fields",
            "-E",
            "separator=|",
        ])
        .args([
            "-e",
            "ip.src",
            "-e",
            "tcp.srcport",
            "-e",
            "ip.dst",
            "-e",
            "tcp.dstport",
        ])
        .args([
            "-e",
            "proxy.src.ipv4",
            "-e",
            "proxy.src.ipv6",
            "-e",
            "proxy.srcport",
        ])
        .args([
            "-e",
            "proxy.dst.ipv4",
            "-e",
            "proxy.dst.ipv6",
            "-e",
            "proxy.dstport",
        ])
        .output()
        .expect("run tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut set = BTreeSet::new();
    for line in text.lines() {
        // Two headers in one packet (stacked) give two values per field:
        // the first is the header the receiver takes.
        let c: Vec<&str> = line
            .split('|')
            .map(|f| f.split(',').next().unwrap_or(""))
            .collect();
        if c.len() < 10 || c[6].is_empty() {
            continue; // LOCAL or UNKNOWN: no addresses to compare
        }
        let ep = |ip: &str, port: &str| {
            if ip.contains(':') {
                format!("[{ip}]:{port}")
            } else {
                format!("{ip}:{port}")
            }
        };
        let src = if c[4].is_empty() { c[5] } else { c[4] };
        let dst = if c[7].is_empty() { c[8] } else { c[7] };
        set.insert((ep(c[0], c[1]), ep(c[2], c[3]), ep(src, c[6]), ep(dst, c[9])));
    }
    set
}

fn ppctl_headers(flows: &[Value]) -> BTreeSet<(String, String, String, String)> {
    let ep = |v: &Value| {
        let ip = v["address"].as_str().unwrap_or("");
        let port = &v["port"];
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    flows
        .iter()
        .filter(|f| f["header"]["verdict"] == "valid" && !f["header"]["source"].is_null())
        .map(|f| {
            let h = &f["header"];
            (
                ep(&f["client"]),
                ep(&f["server"]),
                ep(&h["source"]),
                ep(&h["destination"]),
            )
        })
        .collect()
}

/// Check the verdicts of every flow but the canary's.
fn check_capture(file: &Path, canary: u16, want: &BTreeMap<u16, Vec<&'static str>>) -> Vec<Value> {
    let (code, flows) = pcap_json(file);
    let flows: Vec<Value> = flows
        .into_iter()
        .filter(|f| f["server"]["port"] != canary)
        .collect();
    let got = verdicts_by_server_port(&flows);
    let want: BTreeMap<u16, Vec<String>> = want
        .iter()
        .map(|(p, v)| (*p, v.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(got, want, "verdicts per server port in {}", file.display());
    assert_eq!(code, 1, "problem verdicts exit with 1");
    flows
}

/// Capture the whole scenario on `iface` (a fresh set of peers each time:
/// two tcpdumps at once lose packets on a small machine).
fn capture_scenario(
    iface: &str,
    file: &Path,
    traffic: fn(&Ports) -> BTreeMap<u16, Vec<&'static str>>,
) -> (BTreeMap<u16, Vec<&'static str>>, u16, u16) {
    capture_scenario_as(iface, None, file, traffic)
}

fn capture_scenario_as(
    iface: &str,
    link: Option<&str>,
    file: &Path,
    traffic: fn(&Ports) -> BTreeMap<u16, Vec<&'static str>>,
) -> (BTreeMap<u16, Vec<&'static str>>, u16, u16) {
    let peers = start_peers();
    let canary = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let canary_port = canary.local_addr().unwrap().port();
    let filter = format!("{} or tcp port {canary_port}", port_filter(&peers.ports));
    let mut dump = Tcpdump::start_as(iface, link, &filter, file.to_str().unwrap());
    dump.wait_capturing(file, canary_port);
    let want = traffic(&peers.ports);
    // Let the last FIN/ACKs land before stopping.
    thread::sleep(Duration::from_millis(300));
    dump.stop();
    (want, canary_port, peers.ports.pp_nginx)
}

#[test]
fn live_nginx_and_haproxy_on_lo() {
    if !have_all() {
        return;
    }
    let _one = one_capture();
    let dir = tempfile::tempdir().unwrap();
    let lo: PathBuf = dir.path().join("lo.pcap");
    let (want, canary, pp_nginx) = capture_scenario("lo", &lo, traffic);
    let flows = check_capture(&lo, canary, &want);
    // The v2 header HAProxy sent carries CRC32C and UNIQUE_ID.
    let v2 = flows
        .iter()
        .find(|f| f["header"]["version"] == 2 && f["server"]["port"] == pp_nginx)
        .expect("HAProxy's v2 flow");
    assert!(!v2["header"]["crc32c"].is_null(), "{v2}");
    let tlvs: Vec<&str> = v2["header"]["tlvs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(tlvs.contains(&"UNIQUE_ID"), "{tlvs:?}");
    // Our v2 header's AUTHORITY to HAProxy.
    assert!(flows
        .iter()
        .any(|f| f["header"]["tlvs"][0]["decoded"] == "live.example"));
    // HAProxy's v1 hop to nginx without proxy_protocol is chained to the
    // client's flow it relays.
    let front = flows
        .iter()
        .find(|f| f["finding"]["name"] == "upstream-failed")
        .expect("the client's flow through HAProxy");
    let back = &front["chain"]["back"];
    assert_eq!(back["finding"]["name"], "unexpected-header", "{front}");
    assert!(flows
        .iter()
        .any(|f| f["id"] == back["id"] && f["chain"]["front"]["id"] == front["id"]));
    check_streams_against_tshark(&lo);
    // The stacked headers show in the table.
    let out = ppctl()
        .args(["pcap", "--finding", "stacked-header"])
        .arg(&lo)
        .env("COLUMNS", "120")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| v1+v1 "), "{text}");
    // Rows in capture order.
    let ids: Vec<u64> = flows.iter().map(|f| f["id"].as_u64().unwrap()).collect();
    let chained: BTreeSet<u64> = flows
        .iter()
        .filter_map(|f| f["chain"]["front"]["id"].as_u64())
        .collect();
    let fronts: Vec<u64> = ids
        .iter()
        .copied()
        .filter(|i| !chained.contains(i))
        .collect();
    assert!(fronts.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // The same capture gzip-compressed reads the same, and rolls up.
    let gz = dir.path().join("lo.pcap.gz");
    let status = Command::new("gzip")
        .arg("-k")
        .arg(&lo)
        .status()
        .expect("gzip");
    assert!(status.success());
    let (_, again) = pcap_json(&gz);
    assert_eq!(again.len(), ppctl_flow_count(&lo));
    let out = ppctl()
        .args(["pcap", "--json", "--group-by", "server"])
        .arg(&gz)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let groups: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|g| g["type"] == "group")
        .collect();
    let plain = groups
        .iter()
        .find(|g| g["key"] == format!("127.0.0.1:{}", peers_plain_port(&flows)))
        .expect("a group for nginx without proxy_protocol");
    assert_eq!(plain["findings"]["unexpected-header"], 3, "{plain}");

    // Cross-check: every header tshark finds, ppctl finds with the same addresses.
    if peers::require(Peer::Tshark) {
        let theirs = tshark_headers(&lo);
        let ours = ppctl_headers(&flows);
        assert!(theirs.len() >= 3, "tshark found {theirs:?}");
        let missing: Vec<_> = theirs.difference(&ours).collect();
        assert!(
            missing.is_empty(),
            "tshark found headers ppctl did not: {missing:?}\nppctl: {ours:?}"
        );
    }
}

#[test]
fn live_nginx_and_haproxy_on_any_is_sll2() {
    if !have_all() {
        return;
    }
    let _one = one_capture();
    // Under heavy load `-i any` can still drop a loopback packet (`tcpdump
    // -r` shows it absent from the file), which changes that flow's verdict:
    // up to three captures, each on fresh peers; the last one must match.
    const ATTEMPTS: usize = 3;
    for attempt in 1..=ATTEMPTS {
        let dir = tempfile::tempdir().unwrap();
        let any: PathBuf = dir.path().join("any.pcap");
        let (want, canary, _) = capture_scenario("any", &any, direct_traffic);
        // `-i any` writes Linux cooked v2 (SLL2) frames.
        let bytes = std::fs::read(&any).unwrap();
        assert_eq!(
            u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]),
            276,
            "SLL2"
        );
        let (_, flows) = pcap_json(&any);
        let flows: Vec<Value> = flows
            .into_iter()
            .filter(|f| f["server"]["port"] != canary)
            .collect();
        let got = verdicts_by_server_port(&flows);
        let same = got.len() == want.len()
            && want
                .iter()
                .all(|(p, v)| got.get(p).is_some_and(|g| g.iter().eq(v.iter())));
        if same || attempt == ATTEMPTS {
            check_capture(&any, canary, &want);
            return;
        }
        eprintln!("attempt {attempt}: -i any capture differs (lost packets?): {got:?}, retrying");
    }
}

/// Read lines from ppctl's stdout on a thread, so the test can wait with a bound.
fn lines_of(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn live_stdin_pipe_reports_each_flow_as_it_is_decided() {
    if !have_all() {
        return;
    }
    let _one = one_capture();
    let port = free_port();
    let _nginx = Nginx::start("pp_http", &[("PORT", &port.to_string())]);
    let canary = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let canary_port = canary.local_addr().unwrap().port();
    let mut dump = Tcpdump::start(
        "lo",
        &format!("tcp port {port} or tcp port {canary_port}"),
        "-",
    );
    let tcpdump_out = dump.child.stdout.take().unwrap();
    let mut pcap = Command::new(assert_cmd::cargo::cargo_bin("ppctl"))
        .args(["pcap", "-", "--json"])
        .stdin(Stdio::from(tcpdump_out))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(pcap.stdout.take().unwrap());
    // Capturing once a canary connection (connect, close) is reported.
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(
            Instant::now() < deadline,
            "no canary flow reported within {WAIT:?}"
        );
        connect_and_close(canary_port);
        if lines.recv_timeout(Duration::from_millis(300)).is_ok() {
            break;
        }
    }
    exchange(port, &[v1_header().as_slice(), HTTP_GET].concat());
    // The flow must be reported while tcpdump is still running.
    let flow = loop {
        let line = lines
            .recv_timeout(WAIT)
            .expect("a flow line while the capture is still open");
        let flow: Value = serde_json::from_str(&line).unwrap();
        if flow["server"]["port"] == port {
            break flow;
        }
    };
    assert_eq!(flow["finding"]["name"], "proxied", "{flow}");
    assert!(
        dump.child.try_wait().unwrap().is_none(),
        "tcpdump is still capturing"
    );

    dump.stop();
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(s) = pcap.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = pcap.kill();
            panic!("ppctl did not end after tcpdump stopped");
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    // The reader thread may forward the last lines after ppctl has exited:
    // read until it reaches the end of ppctl's output (the channel closes).
    let mut rest = Vec::new();
    while let Ok(line) = lines.recv_timeout(WAIT) {
        rest.push(line);
    }
    assert!(
        rest.last()
            .is_some_and(|l| l.contains("\"type\":\"summary\"")),
        "{rest:?}"
    );
}

fn ppctl_flow_count(file: &Path) -> usize {
    pcap_json(file).1.len()
}

/// The server port of nginx without proxy_protocol: the one whose three
/// flows (v1, v2, v2 LOCAL) are all unexpected-header.
fn peers_plain_port(flows: &[Value]) -> u64 {
    let mut per_port: BTreeMap<u64, usize> = BTreeMap::new();
    for f in flows {
        if f["finding"]["name"] == "unexpected-header" {
            if let Some(port) = f["server"]["port"].as_u64() {
                *per_port.entry(port).or_default() += 1;
            }
        }
    }
    per_port
        .into_iter()
        .find(|(_, n)| *n == 3)
        .map(|(port, _)| port)
        .expect("nginx without proxy_protocol: three unexpected-header flows")
}

/// Every flow's `stream` is tshark's `tcp.stream` of its `first_frame`,
/// and (every connection of these tests is captured from its SYN) that
/// frame is the first of the stream.
fn check_streams_against_tshark(file: &Path) {
    if !peers::require(Peer::Tshark) {
        return;
    }
    let out = Command::new(peers::path(Peer::Tshark).unwrap())
        .arg("-r")
        .arg(file)
        .args(["-T", "fields", "-e", "tcp.stream", "-e", "frame.number"])
        .output()
        .expect("run tshark");
    let mut first: BTreeMap<u64, u64> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut c = line.split('\t');
        let (Some(Ok(stream)), Some(Ok(frame))) = (
            c.next().map(str::parse::<u64>),
            c.next().map(str::parse::<u64>),
        ) else {
            continue;
        };
        first.entry(stream).or_insert(frame);
    }
    let (_, flows) = pcap_json(file);
    assert!(!flows.is_empty());
    for f in &flows {
        let stream = f["stream"].as_u64().unwrap();
        assert_eq!(
            first.get(&stream).copied(),
            f["first_frame"].as_u64(),
            "tcp.stream {stream} in {}: {f}",
            file.display()
        );
    }
}

/// `tcpdump -i any -y LINUX_SLL` (cooked v1, as older libpcaps and many
/// containers write) and `-y LINUX_SLL2` on loopback traffic: ARPHRD 772
/// in every frame, which etherparse's own SLL parser refuses.
#[test]
fn live_any_as_sll_and_sll2() {
    if !have_all() {
        return;
    }
    let _one = one_capture();
    for (link, code) in [("LINUX_SLL", 113u32), ("LINUX_SLL2", 276)] {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            let dir = tempfile::tempdir().unwrap();
            let any: PathBuf = dir.path().join("any.pcap");
            let (want, canary, _) = capture_scenario_as("any", Some(link), &any, direct_traffic);
            let bytes = std::fs::read(&any).unwrap();
            let linktype = u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
            if linktype != code {
                // This libpcap can't write it: say so, loudly.
                eprintln!("SKIP: tcpdump -y {link} wrote link type {linktype}");
                break;
            }
            let out = ppctl().args(["pcap", "--json"]).arg(&any).output().unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
            assert_eq!(summary["undecodable_frames"], 0, "{link}: {summary}");
            let (_, flows) = pcap_json(&any);
            let flows: Vec<Value> = flows
                .into_iter()
                .filter(|f| f["server"]["port"] != canary)
                .collect();
            let got = verdicts_by_server_port(&flows);
            let same = want
                .iter()
                .all(|(p, v)| got.get(p).is_some_and(|g| g.iter().eq(v.iter())));
            if same || attempt == ATTEMPTS {
                check_capture(&any, canary, &want);
                check_streams_against_tshark(&any);
                break;
            }
            eprintln!("attempt {attempt}: -y {link} capture differs (lost packets?): {got:?}");
        }
    }
}

/// The seed's failure, captured on the proxy host: a client talks plain
/// HTTP to an nginx stream proxy with `proxy_protocol on`, which sends a v1
/// header to an nginx http server without `proxy_protocol`: its 400 comes
/// back. The user sees one chain: the client's flow (upstream-failed),
/// then the proxy's flow behind it (unexpected-header), with the fix.
#[test]
fn live_seed_failure_through_nginx_stream_is_one_chain() {
    if !have_all() {
        return;
    }
    let _one = one_capture();
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("chain.pcap");
    let backend_port = free_port();
    let proxy_port = free_port();
    let _backend = Nginx::start("plain_http", &[("PORT", &backend_port.to_string())]);
    let _proxy = Nginx::start(
        "stream_pp",
        &[
            ("PORT", &proxy_port.to_string()),
            ("UPSTREAM", &backend_port.to_string()),
        ],
    );
    let canary = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let canary_port = canary.local_addr().unwrap().port();
    let filter =
        format!("tcp port {proxy_port} or tcp port {backend_port} or tcp port {canary_port}");
    let mut dump = Tcpdump::start("lo", &filter, file.to_str().unwrap());
    dump.wait_capturing(&file, canary_port);
    let answer = exchange(proxy_port, HTTP_GET);
    assert!(
        String::from_utf8_lossy(&answer).contains("400"),
        "nginx answers the header with 400: {}",
        String::from_utf8_lossy(&answer)
    );
    thread::sleep(Duration::from_millis(300));
    dump.stop();

    let (code, flows) = pcap_json(&file);
    assert_eq!(code, 1);
    let flows: Vec<&Value> = flows
        .iter()
        .filter(|f| f["server"]["port"] != canary_port)
        .collect();
    assert_eq!(flows.len(), 2, "{flows:?}");
    let (front, back) = (flows[0], flows[1]);
    assert_eq!(front["server"]["port"], proxy_port, "{front}");
    assert_eq!(front["finding"]["name"], "upstream-failed", "{front}");
    assert_eq!(back["server"]["port"], backend_port, "{back}");
    assert_eq!(back["finding"]["name"], "unexpected-header", "{back}");
    assert_eq!(back["header"]["version"], 1);
    // The header claims the client of the front flow.
    assert_eq!(back["header"]["source"]["port"], front["client"]["port"]);
    assert_eq!(front["chain"]["back"]["id"], back["id"]);
    assert_eq!(back["chain"]["front"]["id"], front["id"]);
    assert_eq!(back["fixes"][0]["id"], "ingress-nginx-use-proxy-protocol");
    check_streams_against_tshark(&file);

    // The table: one chain, the back hop under the front one, and the fix.
    let out = ppctl()
        .args(["pcap"])
        .arg(&file)
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let front_at = text.find(&format!(":{proxy_port}")).expect(&text);
    let back_at = text.find("`-> 127.0.0.1:").expect(&text);
    assert!(front_at < back_at, "{text}");
    assert!(text.contains("upstream-failed"), "{text}");
    assert!(
        text.contains("✗ unexpected-header (PP-UNEXPECTED-HEADER)"),
        "{text}"
    );
    assert!(text.contains("use-proxy-protocol: \"true\""), "{text}");
    assert!(text.contains("[nginx-listen-proxy-protocol]"), "{text}");
}

/// The 443 mistakes, captured live from `send --tls` against nginx `listen
/// ssl` (a header in front of TLS) and `listen ssl proxy_protocol` (a
/// ClientHello without a header, then a header in front of TLS): the capture
/// names them as `send --tls` does.
/// `ppctl send 127.0.0.1:PORT ARGS --json`: the finding's name.
fn send_finding(port: u16, args: &[&str]) -> String {
    let out = ppctl()
        .arg("send")
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["finding"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn live_tls_mistakes_get_the_tls_findings() {
    if !have_all() {
        return;
    }
    let _one = one_capture();
    let Some(ingress) = common::TlsIngress::start() else {
        return;
    };
    let (pp_ssl, ssl, plain) = (ingress.pp_ssl, ingress.ssl, ingress.pp_plain);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tls.pcap");
    let filter = format!("tcp port {pp_ssl} or tcp port {ssl} or tcp port {plain}");
    let mut dump = Tcpdump::start("lo", &filter, &file.to_string_lossy());
    dump.wait_capturing(&file, plain);
    let send = |port: u16, args: &[&str]| {
        send_finding(port, &[&["--tls", "-k", "--timeout", "3s"], args].concat())
    };
    assert_eq!(send(ssl, &["-2"]), "tls-handshake-failed");
    assert_eq!(send(pp_ssl, &["--no-header"]), "tls-before-proxy");
    assert_eq!(send(pp_ssl, &["-2"]), "proxied");
    thread::sleep(Duration::from_millis(300));
    dump.stop();
    let (_, flows) = pcap_json(&file);
    let got = verdicts_by_server_port(&flows);
    // send's second opinion adds a plain connection to the ssl port.
    assert!(
        got[&ssl].contains(&"tls-handshake-failed".to_string()),
        "{got:?}"
    );
    assert_eq!(
        got[&pp_ssl],
        vec!["proxied".to_string(), "tls-before-proxy".to_string()],
        "{got:?}"
    );
}

/// A mail exchange on the wire: ppctl send speaks SMTP to a real Postfix
/// (a header to smtpd without PROXY support, a v2 header to smtpd with
/// `smtpd_upstream_proxy_protocol = haproxy`, no header there, and a header
/// then STARTTLS), tcpdump records it, and pcap judges each flow in
/// Postfix's words: the 500 to the header line, the greeting, the silence
/// until the 421, the upgrade. The ports are not SMTP's: `auto` finds the
/// protocol from what the server said first.
#[test]
fn live_mail_exchange_is_judged_in_the_servers_words() {
    if !peers::require(Peer::Tcpdump) || !peers::require(Peer::Postfix) {
        return;
    }
    let _one = one_capture();
    let ports = common::Ports::new(&["SMTP_PORT", "PP_PORT", "SCREEN_PORT", "TLS_PORT"]);
    let postfix = peers::Server::postfix(&ports.vars(&[("PROXY_TIMEOUT", "1s")]));
    let (plain, pp, tls) = (
        ports.port("SMTP_PORT"),
        ports.port("PP_PORT"),
        ports.port("TLS_PORT"),
    );
    let canary = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let canary_port = canary.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mail.pcap");
    let filter =
        format!("tcp port {plain} or tcp port {pp} or tcp port {tls} or tcp port {canary_port}");
    let mut dump = Tcpdump::start("lo", &filter, &file.to_string_lossy());
    dump.wait_capturing(&file, canary_port);
    let ca = postfix.tls_ca();
    let send = |port: u16, args: &[&str]| {
        send_finding(
            port,
            &[&["--protocol", "smtp", "--greeting-timeout", "4s"], args].concat(),
        )
    };
    assert_eq!(send(plain, &[]), "unexpected-header");
    assert_eq!(send(pp, &["-2"]), "proxied");
    assert_eq!(send(pp, &["--no-header"]), "missing-header");
    let ca = ca.to_string_lossy();
    assert_eq!(send(tls, &["--starttls", "--cacert", &ca]), "proxied");
    thread::sleep(Duration::from_millis(300));
    dump.stop();
    let (code, flows) = pcap_json(&file);
    assert_eq!(code, 1, "problem flows exit 1");
    let flows: Vec<&Value> = flows
        .iter()
        .filter(|f| f["server"]["port"] != canary_port)
        .collect();
    let at = |port: u16| -> Vec<&Value> {
        flows
            .iter()
            .copied()
            .filter(|f| f["server"]["port"] == port)
            .collect()
    };
    let show = || serde_json::to_string_pretty(&flows).unwrap_or_default();
    let [refused] = at(plain)[..] else {
        panic!("one flow to the plain port: {}", show())
    };
    assert_eq!(
        refused["finding"]["name"],
        "unexpected-header",
        "{}",
        show()
    );
    assert_eq!(refused["protocol"]["name"], "smtp", "{}", show());
    assert_eq!(
        refused["protocol"]["reply"]["words"],
        "500 5.5.2 Error: command not recognized",
        "{}",
        show()
    );
    assert_eq!(
        refused["fixes"][0]["id"],
        "postfix-upstream-proxy-protocol",
        "{}",
        show()
    );
    let mut to_pp: Vec<&Value> = at(pp);
    to_pp.sort_by_key(|f| {
        f["finding"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    });
    let [waited, proxied] = to_pp[..] else {
        panic!("two flows to the haproxy port: {}", show())
    };
    assert_eq!(waited["finding"]["name"], "missing-header", "{}", show());
    assert_eq!(
        waited["protocol"]["reply"]["words"],
        "421 4.3.0 mail.ppctl.test Server local error",
        "{}",
        show()
    );
    // The silence before the 421 is on the wire (smtpd waited 1 s).
    assert!(
        waited["protocol"]["waited_ms"].as_u64().unwrap_or(0) >= 900,
        "{}",
        show()
    );
    assert!(
        waited["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("the server waits for a PROXY header"),
        "{}",
        show()
    );
    assert_eq!(proxied["finding"]["name"], "proxied", "{}", show());
    let [upgraded] = at(tls)[..] else {
        panic!("one flow to the TLS port: {}", show())
    };
    assert_eq!(upgraded["finding"]["name"], "proxied", "{}", show());
    assert_eq!(upgraded["protocol"]["starttls"], true, "{}", show());
}
