//! The server-speaks-first peers: Postfix, Dovecot, MariaDB, OpenSSH's sshd
//! and PostgreSQL, each run from its config template in `tests/peers/` with
//! its own config, state and logs in a temp dir, on loopback ports, never as
//! a system service, and stopped by pid (the process group of its master).
//!
//! Each is set up to make no DNS lookup of a client address (a PROXY header's
//! address would otherwise be looked up): Postfix `smtpd_peername_lookup =
//! no`, MariaDB `skip-name-resolve`, sshd `UseDNS no`, PostgreSQL
//! `log_hostname = off`; Dovecot looks nothing up without an auth lookup.
//!
//! See tests/peers/README.md.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{
    check_config, path, render, temp_dir, template, wait_for_within, write, Instance, Peer,
};

/// Where Debian's postfix keeps its daemons (master, smtpd, postscreen).
const POSTFIX_DAEMONS: &str = "/usr/lib/postfix/sbin";
/// Where Debian's dovecot keeps its login processes.
const DOVECOT_LIBEXEC: &str = "/usr/lib/dovecot";
/// OpenSSH's privilege separation directory (compiled in; systemd's
/// tmpfiles makes it on a booted system, nothing does in a container).
const SSHD_PRIVSEP_DIR: &str = "/run/sshd";

/// How long a log line may take to appear: these servers log through
/// another process (Postfix's postlogd, Dovecot's log process), which a
/// loaded machine can hold up for seconds.
pub const SERVER_LOG_TIMEOUT: Duration = Duration::from_secs(20);

/// A running mail, database or SSH server; see the module doc.
pub struct Server {
    instance: Instance,
    /// The server's own log, relative to its temp dir.
    log_file: &'static str,
}

impl Server {
    /// Postfix 3.x: `tests/peers/postfix/main.cf` and `master.cf` in a
    /// private config_directory (with its queue_directory and
    /// data_directory in the temp dir), run as `master -d` (foreground).
    /// Logs go to `maillog` through postlogd (`maillog_file`).
    pub fn postfix(vars: &[(&str, &str)]) -> Server {
        let dir = open_temp_dir("postfix", "mail");
        write_tls_files(dir.path());
        let conf = dir.path().join("conf");
        for sub in ["conf", "queue", "data"] {
            mkdir(&dir.path().join(sub));
        }
        let mut config = String::new();
        for file in ["main.cf", "master.cf"] {
            let text = render(&template("postfix", file), dir.path(), vars);
            write(&conf.join(file), &text);
            config.push_str(&format!("--- {file} ---\n{text}"));
        }
        chown_to_user(&dir.path().join("data"), "postfix");
        // postfix(1) check makes the queue's subdirectories with their
        // owners (it is also the config check).
        let what = "postfix mail".to_string();
        let postfix =
            path(Peer::Postfix).expect("postfix is installed (call peers::require first)");
        check_config(
            &postfix,
            &["-c".into(), conf.clone().into(), "check".into()],
            &what,
            &config,
        );
        let mut command = Command::new(Path::new(POSTFIX_DAEMONS).join("master"));
        command.args(["-d", "-c"]).arg(&conf);
        let instance = Instance::launch_command(what, command, dir, vars, true);
        Server {
            instance,
            log_file: "maillog",
        }
    }

    /// Dovecot 2.3: `tests/peers/dovecot/<name>.conf`, run as `dovecot -F
    /// -c` (foreground) with base_dir, state_dir and `log_path` in the temp
    /// dir (log: `dovecot.log`).
    pub fn dovecot(name: &str, vars: &[(&str, &str)]) -> Server {
        let dir = open_temp_dir("dovecot", name);
        write_tls_files(dir.path());
        let text = render(
            &template("dovecot", &format!("{name}.conf")),
            dir.path(),
            vars,
        );
        let conf = dir.path().join("dovecot.conf");
        write(&conf, &text);
        for sub in ["run", "state"] {
            mkdir(&dir.path().join(sub));
        }
        let exe = path(Peer::Dovecot).expect("dovecot is installed (call peers::require first)");
        let what = format!("dovecot {name}");
        check_config(
            &exe,
            &["-n".into(), "-c".into(), conf.clone().into()],
            &what,
            &text,
        );
        let mut command = Command::new(&exe);
        command.arg("-F").arg("-c").arg(&conf);
        let instance = Instance::launch_command(what, command, dir, vars, true);
        Server {
            instance,
            log_file: "dovecot.log",
        }
    }

    /// MariaDB 10.x: `tests/peers/mariadb/<name>.cnf` as the only option
    /// file, a datadir made by `mariadb-install-db` in the temp dir, and
    /// `mariadbd` in the foreground (log: `error.log`).
    pub fn mariadb(name: &str, vars: &[(&str, &str)]) -> Server {
        let dir = open_temp_dir("mariadb", name);
        let text = render(
            &template("mariadb", &format!("{name}.cnf")),
            dir.path(),
            vars,
        );
        let cnf = dir.path().join("my.cnf");
        write(&cnf, &text);
        // The config's `tmpdir`: one per instance (see plain.cnf).
        mkdir(&dir.path().join("tmp"));
        let defaults = OsString::from(format!("--defaults-file={}", cnf.display()));
        let as_root = is_root().then_some("--user=root");
        let what = format!("mariadb {name}");
        let install =
            install_db().expect("mariadb-install-db is installed (peers::require checks)");
        let mut init: Vec<OsString> = vec![
            defaults.clone(),
            "--auth-root-authentication-method=normal".into(),
            "--skip-test-db".into(),
        ];
        init.extend(as_root.map(OsString::from));
        check_config(&install, &init, &what, &text);
        let exe = path(Peer::Mariadb).expect("mariadbd is installed (call peers::require first)");
        let mut command = Command::new(&exe);
        command.arg(&defaults).args(as_root);
        let instance = Instance::launch_command(what, command, dir, vars, false);
        Server {
            instance,
            log_file: "error.log",
        }
    }

    /// [`Server::mariadb`] with `name`'s config on a free port, when MariaDB
    /// is installed (a loud skip otherwise, a failure in CI): the server
    /// and its port.
    pub fn mariadb_on_free_port(name: &str) -> Option<(Server, u16)> {
        if !super::require(Peer::Mariadb) {
            return None;
        }
        let port = super::super::free_port();
        let server = Server::mariadb(name, &[("PORT", &port.to_string())]);
        Some((server, port))
    }

    /// OpenSSH: `tests/peers/sshd/sshd_config` with a host key made for
    /// the instance (`ssh-keygen`, ed25519), run as `sshd -D -E sshd.log`.
    pub fn sshd(vars: &[(&str, &str)]) -> Server {
        let dir = open_temp_dir("sshd", "plain");
        let key = dir.path().join("host_key");
        let keygen = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .output()
            .unwrap_or_else(|e| panic!("sshd: can't run ssh-keygen: {e}"));
        assert!(keygen.status.success(), "ssh-keygen: {keygen:?}");
        let text = render(&template("sshd", "sshd_config"), dir.path(), vars);
        let conf = dir.path().join("sshd_config");
        write(&conf, &text);
        if is_root() && !Path::new(SSHD_PRIVSEP_DIR).is_dir() {
            fs::create_dir_all(SSHD_PRIVSEP_DIR)
                .and_then(|()| {
                    fs::set_permissions(SSHD_PRIVSEP_DIR, fs::Permissions::from_mode(0o755))
                })
                .unwrap_or_else(|e| panic!("sshd: make {SSHD_PRIVSEP_DIR}: {e}"));
        }
        // sshd re-executes itself, so it must be started by its full path.
        let exe = path(Peer::Sshd).expect("sshd is installed (call peers::require first)");
        let what = "sshd plain".to_string();
        check_config(
            &exe,
            &["-t".into(), "-f".into(), conf.clone().into()],
            &what,
            &text,
        );
        let mut command = Command::new(&exe);
        command
            .args(["-D", "-f"])
            .arg(&conf)
            .arg("-E")
            .arg(dir.path().join("sshd.log"));
        let instance = Instance::launch_command(what, command, dir, vars, true);
        Server {
            instance,
            log_file: "sshd.log",
        }
    }

    /// PostgreSQL: a cluster made by `initdb` in the temp dir (trust auth),
    /// with `tests/peers/postgres/postgresql.conf` included, and `postgres
    /// -D` in the foreground (log: its stderr). PostgreSQL refuses to run
    /// as root, so under root both run as the `postgres` user.
    pub fn postgres(vars: &[(&str, &str)]) -> Server {
        let dir = open_temp_dir("postgres", "plain");
        let text = render(&template("postgres", "postgresql.conf"), dir.path(), vars);
        let conf = dir.path().join("postgresql.conf");
        write(&conf, &text);
        let user = is_root()
            .then(|| user_ids("postgres").expect("the postgres user exists (package postgresql)"));
        if user.is_some() {
            chown_to_user(dir.path(), "postgres");
        }
        let exe = path(Peer::Postgres).expect("postgres is installed (call peers::require first)");
        let data = dir.path().join("data");
        let as_user = |command: &mut Command| {
            if let Some((uid, gid)) = user {
                command.uid(uid).gid(gid);
            }
        };
        let mut initdb = Command::new(exe.with_file_name("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"]);
        as_user(&mut initdb);
        let out = initdb
            .output()
            .unwrap_or_else(|e| panic!("postgres: can't run initdb: {e}"));
        assert!(
            out.status.success(),
            "initdb failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let main = data.join("postgresql.conf");
        let mut base = fs::read_to_string(&main).expect("initdb wrote postgresql.conf");
        base.push_str(&format!("include '{}'\n", conf.display()));
        write(&main, &base);
        let mut command = Command::new(&exe);
        command.arg("-D").arg(&data);
        as_user(&mut command);
        let instance = Instance::launch_command("postgres plain".into(), command, dir, vars, true);
        Server {
            instance,
            log_file: "stderr.log",
        }
    }

    /// The temp dir holding the config, state and logs.
    pub fn dir(&self) -> &Path {
        self.instance.dir.path()
    }

    /// The CA of the certificate Postfix and Dovecot serve over STARTTLS
    /// (for `--cacert`; the certificate is for app.example.com, localhost
    /// and 127.0.0.1).
    pub fn tls_ca(&self) -> PathBuf {
        self.dir().join("tls/ca.pem")
    }

    /// The server's own log so far.
    pub fn log(&self) -> String {
        self.instance.read(self.log_file)
    }

    /// The log once `done` holds for it (or after [`SERVER_LOG_TIMEOUT`],
    /// whatever it holds then, for the assertion to show).
    pub fn wait_log_until(&self, done: impl Fn(&str) -> bool) -> String {
        wait_for_within(SERVER_LOG_TIMEOUT, || self.log(), done)
    }

    /// The log once it contains `needle` (or after [`SERVER_LOG_TIMEOUT`]).
    pub fn wait_log(&self, needle: &str) -> String {
        self.wait_log_until(|log| log.contains(needle))
    }
}

/// What `peers::require` needs beyond the executable: `None` when the
/// peer is complete.
pub(super) fn missing_part(peer: Peer) -> Option<String> {
    let needs_root = |what: &str| {
        (!is_root()).then(|| {
            format!("{what} must be started as root here (uid {})", unsafe {
                libc::geteuid()
            })
        })
    };
    match peer {
        Peer::Postfix if !Path::new(POSTFIX_DAEMONS).join("master").exists() => Some(format!(
            "postfix's master is missing ({POSTFIX_DAEMONS}/master)"
        )),
        Peer::Postfix => needs_root("postfix's master"),
        Peer::Dovecot => ["imap-login", "pop3-login"]
            .iter()
            .find(|login| !Path::new(DOVECOT_LIBEXEC).join(login).exists())
            .map(|login| format!("dovecot's {login} is missing ({DOVECOT_LIBEXEC}/{login})")),
        Peer::Mariadb if install_db().is_none() => Some("mariadb-install-db not installed".into()),
        Peer::Sshd => needs_root("sshd (privilege separation)"),
        Peer::Postgres => {
            let initdb = path(Peer::Postgres)?.with_file_name("initdb");
            (!initdb.exists()).then(|| format!("{} is missing", initdb.display()))
        }
        _ => None,
    }
}

/// Debian's PostgreSQL binary directories, newest version first.
pub(super) fn postgres_bin_dirs() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| {
                    let e = e.ok()?;
                    let version = e.file_name().to_str()?.parse().ok()?;
                    Some((version, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

fn install_db() -> Option<PathBuf> {
    ["mariadb-install-db", "mysql_install_db"]
        .iter()
        .flat_map(|name| {
            ["/usr/bin", "/usr/local/bin", "/usr/sbin"].map(|d| Path::new(d).join(name))
        })
        .find(|p| p.exists())
}

/// A certificate for STARTTLS in `dir/tls` (`cert.pem`, `key.pem`, and
/// the `ca.pem` that signed it), made by `common::certificates`: the
/// configs refer to it as `{{DIR}}/tls/...`.
fn write_tls_files(dir: &Path) {
    let certs = crate::common::certificates();
    let tls = dir.join("tls");
    mkdir(&tls);
    for (from, to) in [
        (&certs.cert, "cert.pem"),
        (&certs.key, "key.pem"),
        (&certs.ca, "ca.pem"),
    ] {
        fs::copy(from, tls.join(to))
            .unwrap_or_else(|e| panic!("copy {from} into {}: {e}", tls.display()));
    }
}

/// A temp dir the servers' unprivileged workers can enter (tempfile makes
/// it 0700, and Postfix's and Dovecot's workers run as their own users).
fn open_temp_dir(kind: &str, name: &str) -> tempfile::TempDir {
    let dir = temp_dir(kind, name);
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
        .expect("make the peer's temp dir readable by its workers");
    dir
}

fn mkdir(path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The uid and gid of a system user, from /etc/passwd.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        let uid = fields.nth(1)?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

/// Give `dir` (and what is in it) to `user`, when running as root.
fn chown_to_user(dir: &Path, user: &str) {
    let Some((uid, gid)) = user_ids(user).filter(|_| is_root()) else {
        return;
    };
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        std::os::unix::fs::chown(&p, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("chown {} to {user}: {e}", p.display()));
        if p.is_dir() {
            stack.extend(
                fs::read_dir(&p)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path()),
            );
        }
    }
}
