//! The real `cdht-server` binary as a child process: `init --demo`, and
//! `serve` on a port of the test's choosing (devices keep its address when
//! it is stopped and started again).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `cdht-server` of this build.
pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cdht-server"))
}

/// `init --demo` in `data` (with `flags`, such as `--database URL`): the
/// demo tree, as printed (units with their join keys, officers with their
/// passwords).
pub fn init_demo(data: &Path, flags: &[String]) -> serde_json::Value {
    let init = binary()
        .args(flags)
        .args(["init", "--demo", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    serde_json::from_slice(&init.stdout).unwrap()
}

/// A unit's join key in the demo tree.
pub fn join_key(tree: &serde_json::Value, unit: &str) -> String {
    tree["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == unit)
        .unwrap_or_else(|| panic!("no unit {unit} in the demo tree"))["join_key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The demo tree's officer of `role` in `unit`: (username, password).
pub fn officer<'a>(tree: &'a serde_json::Value, role: &str, unit: &str) -> (&'a str, &'a str) {
    let o = tree["officers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["role"] == role && o["unit"] == unit)
        .unwrap_or_else(|| panic!("no {role} of {unit} in the demo tree"));
    (
        o["username"].as_str().unwrap(),
        o["password"].as_str().unwrap(),
    )
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `cdht-server serve` process, killed on drop.
pub struct ServeProcess {
    pub url: String,
    child: Child,
}

impl ServeProcess {
    /// `serve --data DATA --listen 127.0.0.1:PORT`, plus what `configure`
    /// adds; returns once it listens.
    pub fn start(data: &Path, port: u16, configure: impl FnOnce(&mut Command)) -> Self {
        let mut command = binary();
        command
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        configure(&mut command);
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut said = Vec::new();
        loop {
            let line = lines.next().and_then(Result::ok).unwrap_or_else(|| {
                panic!("the server ended before listening: {}", said.join("\n"))
            });
            if line.starts_with("cdht-server listening on ") {
                break;
            }
            said.push(line);
        }
        // Keep reading its log, so it never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
        }
    }

    /// Stops it (SIGKILL; the database is crash-safe) and waits.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
