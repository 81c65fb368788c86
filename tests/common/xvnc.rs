//! TigerVNC `Xvnc` servers the tests start themselves, and X clients on them: `xev`, which
//! reports the keys and clicks it receives, and `xsetroot`.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hangar::vnc::VncStream;

/// How long to wait for a server or a client to show what a test expects.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.local_addr().expect("address").port()
}

/// Xvnc servers start one at a time: picking a free port has a moment of race.
pub fn xvnc_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub enum Security {
    None,
    Password(&'static str),
    /// VeNCrypt with TLS, which vnc-rs lacks.
    TlsOnly,
}

/// A TigerVNC X server on a free display and port of 127.0.0.1, killed by PID when dropped.
pub struct Xvnc {
    child: Child,
    pub display: u32,
    pub port: u16,
    dir: PathBuf,
}

impl Xvnc {
    /// An 800x600 screen.
    pub fn start(security: Security) -> Self {
        Self::start_with_size(security, (800, 600))
    }

    pub fn start_with_size(security: Security, (width, height): (u32, u32)) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "hangar-xvnc-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port = free_port();
        let display_file = dir.join("display");
        let mut arguments = format!(
            "exec Xvnc -displayfd 3 -rfbport {port} -localhost -nolisten tcp \
             -geometry {width}x{height} -depth 24 -AlwaysShared 3>'{}'",
            display_file.display()
        );
        match security {
            Security::None => arguments.push_str(" -SecurityTypes None"),
            Security::TlsOnly => arguments.push_str(" -SecurityTypes X509None,TLSNone"),
            Security::Password(password) => {
                let password_file = write_password_file(&dir, password);
                arguments.push_str(&format!(
                    " -SecurityTypes VncAuth -PasswordFile '{}'",
                    password_file.display()
                ));
            }
        }
        let log = std::fs::File::create(dir.join("xvnc.log")).expect("log");
        let child = Command::new("sh")
            .args(["-c", &arguments])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start Xvnc (package tigervnc-standalone-server)");
        let mut xvnc = Self {
            child,
            display: 0,
            port,
            dir,
        };
        xvnc.display = xvnc.wait_until_ready(&display_file);
        xvnc
    }

    fn wait_until_ready(&mut self, display_file: &Path) -> u32 {
        let display = super::wait_for(Duration::from_secs(20), || {
            let text = std::fs::read_to_string(display_file).ok()?;
            text.trim().parse::<u32>().ok()
        });
        let listening = super::wait_for(Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", self.port)).ok()
        });
        match (display, listening) {
            (Some(display), Some(_)) => display,
            _ => panic!("Xvnc did not start: {}", self.log()),
        }
    }

    pub fn stream(&self) -> VncStream {
        VncStream::Tcp {
            host: "127.0.0.1".into(),
            port: self.port,
        }
    }

    /// `HOST:PORT`, as `hangar --vnc` takes it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Runs an X client on this server's display and waits for it to finish.
    pub fn run_client(&self, program: &str, args: &[&str]) {
        let output = Command::new(program)
            .args(args)
            .env("DISPLAY", format!(":{}", self.display))
            .env_remove("XAUTHORITY")
            .output()
            .unwrap_or_else(|error| panic!("run {program}: {error}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("xvnc.log")).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Xvnc {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_password_file(dir: &Path, password: &str) -> PathBuf {
    let path = dir.join("passwd");
    let output = Command::new("sh")
        .args(["-c", "printf '%s\\n' \"$1\" | vncpasswd -f", "sh", password])
        .output()
        .expect("run vncpasswd (package tigervnc-tools)");
    assert!(output.status.success(), "vncpasswd failed");
    std::fs::write(&path, output.stdout).expect("write the password file");
    path
}

/// `xev` on an Xvnc display, its output collected line by line; killed by PID when dropped.
pub struct Xev {
    child: Child,
    output: Arc<Mutex<String>>,
}

/// One button press `xev` reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ButtonPress {
    pub button: u32,
    /// Where on the X screen (`root:(x,y)`).
    pub root: (i32, i32),
}

impl Xev {
    /// A 300x200 window at the top left that gets keys and buttons.
    pub fn start(display: u32) -> Self {
        Self::start_with(
            display,
            &[
                "-geometry",
                "300x200+0+0",
                "-event",
                "keyboard",
                "-event",
                "button",
                "-event",
                "structure",
            ],
        )
    }

    /// The buttons pressed anywhere on the screen's root window; no window of its own, so
    /// the screen keeps its root colour.
    pub fn start_on_root(display: u32) -> Self {
        Self::start_with(display, &["-root", "-event", "button"])
    }

    fn start_with(display: u32, args: &[&str]) -> Self {
        let mut child = Command::new("stdbuf")
            .args(["-oL", "xev"])
            .args(args)
            .env("DISPLAY", format!(":{display}"))
            .env_remove("XAUTHORITY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start xev (package x11-utils)");
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let collected = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut text = collected.lock().unwrap_or_else(|p| p.into_inner());
                text.push_str(&line);
                text.push('\n');
            }
        });
        Self { child, output }
    }

    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Polls often: the time this takes is the reported key latency.
    pub fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        while !self.output().contains(text) {
            assert!(
                Instant::now() < deadline,
                "xev never printed {text:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Every button press so far, in order.
    pub fn button_presses(&self) -> Vec<ButtonPress> {
        parse_button_presses(&self.output())
    }

    /// Waits until xev has reported `count` button presses, and returns them all.
    pub fn wait_for_button_presses(&self, count: usize) -> Vec<ButtonPress> {
        super::wait_for(EVENT_TIMEOUT, || {
            let presses = self.button_presses();
            (presses.len() >= count).then_some(presses)
        })
        .unwrap_or_else(|| {
            panic!(
                "xev did not report {count} button presses:\n{}",
                self.output()
            )
        })
    }
}

impl Drop for Xev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ButtonPress events in xev's output, which prints each over three lines:
///
/// ```text
/// ButtonPress event, serial 17, synthetic NO, window 0x1e3,
///     root 0x1e3, subw 0x0, time 1234, (400,840), root:(400,840),
///     state 0x0, button 1, same_screen YES
/// ```
pub fn parse_button_presses(output: &str) -> Vec<ButtonPress> {
    let mut presses = Vec::new();
    let mut root = None;
    let mut in_press = false;
    for line in output.lines() {
        if !line.starts_with(' ') {
            in_press = line.starts_with("ButtonPress event");
            root = None;
            continue;
        }
        if !in_press {
            continue;
        }
        if let Some(rest) = line.split("root:(").nth(1) {
            let pair = rest.split(')').next().unwrap_or_default();
            if let Some((x, y)) = pair.split_once(',') {
                root = x.trim().parse().ok().zip(y.trim().parse().ok());
            }
        }
        if let Some(rest) = line.split("button ").nth(1) {
            let button = rest.split(',').next().unwrap_or_default().trim().parse();
            if let (Ok(button), Some(root)) = (button, root) {
                presses.push(ButtonPress { button, root });
                in_press = false;
            }
        }
    }
    presses
}
