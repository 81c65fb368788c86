//! The console benchmark: `make bench`, which runs it inside tests/testbed/run.sh (desktop).
//!
//! A small RFB 3.8 server of its own (127.0.0.1, security type None, 1920×1080 at 32 bpp)
//! answers every FramebufferUpdateRequest with one rectangle covering the whole screen, Raw
//! or ZRLE, each frame different from the one before. A client gets one frame per request,
//! so the frames the server sends per second are the client's pace: how fast it takes in a
//! busy 1080p screen. CPU per frame is the client process's user + system time (every
//! thread, from /proc/PID/stat) over the run divided by those frames; the X server's share
//! (drawing into Xvfb) is shown apart.
//!
//! Clients, one at a time, each against a fresh server: Hangar (`hangar --vnc`) with GTK's
//! cairo renderer (the test bed's setting), Hangar with GTK's default renderer (GL, in
//! software under Xvfb), and TigerVNC's `vncviewer` (Debian package tigervnc-viewer).
//!
//! The picture: the top third a moving colour gradient (ZRLE: raw pixel tiles), the middle
//! third two-colour "text" (ZRLE: 1-bit palette tiles), the rest flat colours (ZRLE: solid
//! tiles). Frames are encoded before a client connects, FRAME_CYCLE of them played in turn,
//! so the server's own work is a socket write. For ZRLE every frame ends with a zlib full
//! flush: no frame refers back to another, so the precomputed frames can follow each other
//! in any order within one zlib stream.
//!
//! Each client runs twice for half the time, in the order A B C C B A, so a change in the
//! machine's load during the run weighs on every client alike.
//!
//! Prints a markdown table and writes it to target/bench/vnc_console.md. BENCH_SECONDS
//! (default 20) sets the time per run; BENCH_CLIENTS (e.g. "hangar-cairo,tigervnc") and
//! BENCH_ENCODINGS (e.g. "raw") pick the runs; BENCH_HANGAR measures another Hangar binary
//! (an older build, say) instead of this one.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WIDTH: usize = 1920;
const HEIGHT: usize = 1080;
const BYTES_PER_PIXEL: usize = 4;
/// ZRLE's tile side.
const TILE: usize = 64;
/// Different frames encoded up front and played in turn.
const FRAME_CYCLE: usize = 8;
/// Time after the first frame before counting starts: the window settles.
const WARM_UP: Duration = Duration::from_secs(3);
/// How long a client may take to connect and get its first frame.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(60);
/// USER_HZ: the unit of /proc/PID/stat times, 100 on every Linux architecture.
const TICKS_PER_SECOND: f64 = 100.0;
const APP_ID: &str = "io.github.hangarvm.Hangar";

fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`: stay out of its way.
    if !std::env::args().any(|arg| arg == "--bench") {
        eprintln!("vnc_console: a benchmark; run it with `make bench`");
        return;
    }
    if std::env::var_os("HANGAR_TEST_DESKTOP").is_none() {
        eprintln!(
            "vnc_console: needs the test bed's desktop; run `make bench`, or \
             TESTBED_SERVICES=desktop tests/testbed/run.sh cargo bench --profile bench-opt \
             --bench vnc_console"
        );
        std::process::exit(2);
    }
    let seconds = std::env::var("BENCH_SECONDS")
        .map(|value| value.parse().expect("BENCH_SECONDS: a number"))
        .unwrap_or(20);
    let window = Duration::from_secs(seconds);
    let picked = |variable: &str, name: &str| {
        std::env::var(variable).map_or(true, |list| list.split(',').any(|item| item == name))
    };
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out_dir).expect("create target/bench");

    let frames = Arc::new(FrameCache::default());
    let clients: Vec<Client> = CLIENTS
        .into_iter()
        .filter(|client| picked("BENCH_CLIENTS", client.id))
        .collect();
    let mut rows = Vec::new();
    for encoding in [Encoding::Raw, Encoding::Zrle] {
        if !picked("BENCH_ENCODINGS", encoding.name()) {
            continue;
        }
        // Half the time in client order, half in reverse (A B C C B A): the machine's load
        // drifting during the run weighs on every client alike.
        let order = clients.iter().chain(clients.iter().rev());
        let mut totals: Vec<Result<Sample, String>> = vec![Ok(Sample::default()); clients.len()];
        for (turn, client) in order.enumerate() {
            let slot = if turn < clients.len() {
                turn
            } else {
                2 * clients.len() - 1 - turn
            };
            let Ok(total) = &mut totals[slot] else {
                continue;
            };
            eprintln!("vnc_console: {} on {}", client.label, encoding.label());
            match measure(*client, encoding, window / 2, &frames) {
                Ok(sample) => total.add(&sample),
                Err(error) => {
                    eprintln!(
                        "vnc_console: {} on {} failed: {error}",
                        client.label,
                        encoding.label()
                    );
                    totals[slot] = Err(error);
                }
            }
        }
        for (client, total) in clients.iter().zip(totals) {
            rows.push((*client, encoding, total.and_then(Sample::figures)));
        }
    }

    let table = table(&rows, window);
    print!("{table}");
    let report = out_dir.join("vnc_console.md");
    std::fs::write(&report, &table).expect("write the report");
    eprintln!("vnc_console: written to {}", report.display());
}

// ---------------------------------------------------------------------------------------
// Clients and measuring
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Client {
    id: &'static str,
    label: &'static str,
    kind: ClientKind,
}

#[derive(Clone, Copy, PartialEq)]
enum ClientKind {
    /// Hangar with GSK_RENDERER set to this, or unset (GTK's default) for `None`.
    Hangar(Option<&'static str>),
    TigerVnc,
}

const CLIENTS: [Client; 3] = [
    Client {
        id: "hangar-cairo",
        label: "Hangar (GTK cairo renderer)",
        kind: ClientKind::Hangar(Some("cairo")),
    },
    Client {
        id: "hangar-gl",
        label: "Hangar (GTK default renderer: GL, llvmpipe)",
        kind: ClientKind::Hangar(None),
    },
    Client {
        id: "tigervnc",
        label: "TigerVNC vncviewer 1.12",
        kind: ClientKind::TigerVnc,
    },
];

struct Figures {
    frames_per_second: f64,
    cpu_ms_per_frame: f64,
    x_server_ms_per_frame: Option<f64>,
}

/// What one or more measuring windows counted.
#[derive(Clone, Default)]
struct Sample {
    frames: u64,
    seconds: f64,
    /// CPU time of the client, and of the X server when known, in clock ticks.
    ticks: u64,
    x_ticks: Option<u64>,
}

impl Sample {
    fn add(&mut self, other: &Sample) {
        // The first sample sets whether the X server's time is known.
        let first = self.frames == 0;
        self.frames += other.frames;
        self.seconds += other.seconds;
        self.ticks += other.ticks;
        self.x_ticks = match (first, self.x_ticks, other.x_ticks) {
            (true, _, known) => known,
            (false, Some(sum), Some(more)) => Some(sum + more),
            _ => None,
        };
    }

    fn figures(self) -> Result<Figures, String> {
        if self.frames == 0 {
            return Err("no frames while measuring".into());
        }
        let ms_per_frame =
            |ticks: u64| ticks as f64 / TICKS_PER_SECOND * 1000.0 / self.frames as f64;
        Ok(Figures {
            frames_per_second: self.frames as f64 / self.seconds,
            cpu_ms_per_frame: ms_per_frame(self.ticks),
            x_server_ms_per_frame: self.x_ticks.map(ms_per_frame),
        })
    }
}

/// One client against a fresh server for `window`, after it got its first frame and warmed up.
fn measure(
    client: Client,
    encoding: Encoding,
    window: Duration,
    frames: &Arc<FrameCache>,
) -> Result<Sample, String> {
    let server = Server::start(encoding, frames.clone())?;
    let mut process = ClientProcess::start(client.kind, encoding, server.port)?;
    let first = wait_for(FIRST_FRAME_TIMEOUT, || {
        (server.frames() > 0 || !process.is_running() || server.failed().is_some()).then_some(())
    });
    let check = |process: &mut ClientProcess| -> Result<(), String> {
        if let Some(error) = server.failed() {
            return Err(format!("server: {error}\n{}", process.log()));
        }
        if !process.is_running() {
            return Err(format!("the client quit\n{}", process.log()));
        }
        Ok(())
    };
    check(&mut process)?;
    if first.is_none() || server.frames() == 0 {
        return Err(format!(
            "no frame within {FIRST_FRAME_TIMEOUT:?}\n{}",
            process.log()
        ));
    }
    // A fixed period on purpose: frame rates are counted once the window's start is behind.
    std::thread::sleep(WARM_UP);
    check(&mut process)?;

    let x_server = x_server_pid();
    let x_ticks = || x_server.and_then(cpu_ticks);
    let pid = process.pid();
    let (frames_before, ticks_before, x_before, started) = (
        server.frames(),
        cpu_ticks(pid).ok_or("no CPU times")?,
        x_ticks(),
        Instant::now(),
    );
    // The measurement window itself: frames and CPU are rates over this period.
    std::thread::sleep(window);
    let (frames_after, ticks_after, x_after, elapsed) = (
        server.frames(),
        cpu_ticks(pid).ok_or("no CPU times")?,
        x_ticks(),
        started.elapsed(),
    );
    check(&mut process)?;
    let frames = frames_after - frames_before;
    if frames == 0 {
        return Err(format!("no frames while measuring\n{}", process.log()));
    }
    Ok(Sample {
        frames,
        seconds: elapsed.as_secs_f64(),
        ticks: ticks_after - ticks_before,
        x_ticks: x_before.zip(x_after).map(|(before, after)| after - before),
    })
}

/// A viewer under the test bed's desktop; killed by PID when dropped.
struct ClientProcess {
    child: Child,
    log_path: PathBuf,
}

impl ClientProcess {
    fn start(kind: ClientKind, encoding: Encoding, port: u16) -> Result<Self, String> {
        let log_path =
            std::env::temp_dir().join(format!("hangar-vnc-bench-{}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut command = match kind {
            ClientKind::Hangar(renderer) => {
                // A Hangar killed a moment ago may still own the app's D-Bus name; a new one
                // would hand its command line over to it and quit.
                wait_for(Duration::from_secs(10), || {
                    (!app_name_owned()).then_some(())
                })
                .ok_or("another Hangar still owns the session bus name")?;
                let binary = std::env::var_os("BENCH_HANGAR")
                    .unwrap_or_else(|| env!("CARGO_BIN_EXE_hangar").into());
                let mut command = Command::new(binary);
                command.arg("--vnc").arg(format!("127.0.0.1:{port}"));
                match renderer {
                    Some(renderer) => command.env("GSK_RENDERER", renderer),
                    None => command.env_remove("GSK_RENDERER"),
                };
                command
            }
            ClientKind::TigerVnc => {
                let mut command = Command::new("vncviewer");
                command.args([
                    "-SecurityTypes=None",
                    "-AutoSelect=0",
                    "-FullColor=1",
                    "-Shared=1",
                    "-RemoteResize=0",
                    "-AlertOnFatalError=0",
                    "-ReconnectOnError=0",
                ]);
                command.arg(format!("-PreferredEncoding={}", encoding.tigervnc_name()));
                command.arg(format!("127.0.0.1::{port}"));
                command
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|error| format!("could not start the client: {error}"))?;
        Ok(Self { child, log_path })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        format!("--- the client's output ---\n{text}")
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log_path);
    }
}

fn app_name_owned() -> bool {
    Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
        ])
        .arg(format!("string:{APP_ID}"))
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("boolean true"))
}

/// Polls `check` every 50 ms until it returns `Some` or `timeout` passes.
fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// User plus system CPU time of every thread of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// The test bed's Xvfb, from the PIDs it recorded.
fn x_server_pid() -> Option<u32> {
    let pids = std::fs::read_to_string(Path::new(&std::env::var_os("TESTBED_DIR")?).join("pids"));
    pids.ok()?
        .lines()
        .filter_map(|line| line.trim().parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|name| name.trim() == "Xvfb")
        })
}

fn table(rows: &[(Client, Encoding, Result<Figures, String>)], window: Duration) -> String {
    let date = Command::new("date")
        .arg("+%F")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    let mut out = format!(
        "VNC console, {date}, {cores} cores, Xvfb 1280×800, bench-opt profile, \
         {WIDTH}×{HEIGHT} frames, {}s per run\n\n",
        window.as_secs()
    );
    out.push_str(
        "| client | encoding | frames/s | CPU ms/frame | Xvfb CPU ms/frame |\n\
         |---|---|---:|---:|---:|\n",
    );
    let mut failures = Vec::new();
    for (client, encoding, figures) in rows {
        let cells = match figures {
            Ok(f) => format!(
                "{:.1} | {:.2} | {}",
                f.frames_per_second,
                f.cpu_ms_per_frame,
                f.x_server_ms_per_frame
                    .map_or("–".to_owned(), |ms| format!("{ms:.2}"))
            ),
            Err(error) => {
                failures.push(format!("{} on {}: {error}", client.label, encoding.label()));
                "failed | – | –".to_owned()
            }
        };
        let _ = writeln!(out, "| {} | {} | {cells} |", client.label, encoding.label());
    }
    for failure in failures {
        let _ = writeln!(out, "\nFailed: {failure}");
    }
    out
}

// ---------------------------------------------------------------------------------------
// The RFB server
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Encoding {
    Raw,
    Zrle,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Raw => "raw",
            Encoding::Zrle => "zrle",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Encoding::Raw => "Raw",
            Encoding::Zrle => "ZRLE",
        }
    }

    fn tigervnc_name(self) -> &'static str {
        match self {
            Encoding::Raw => "raw",
            Encoding::Zrle => "ZRLE",
        }
    }

    fn wire(self) -> i32 {
        match self {
            Encoding::Raw => 0,
            Encoding::Zrle => 16,
        }
    }
}

/// A listener on 127.0.0.1 serving every connection on its own thread.
struct Server {
    port: u16,
    frames: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(encoding: Encoding, cache: Arc<FrameCache>) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let frames = Arc::new(AtomicU64::new(0));
        let failure = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, failed, stopping) = (frames.clone(), failure.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (count, failed, cache, stopping) = (
                    count.clone(),
                    failed.clone(),
                    cache.clone(),
                    stopping.clone(),
                );
                std::thread::spawn(move || {
                    let mut connection = Connection {
                        stream,
                        encoding,
                        cache,
                        count,
                        stop: stopping,
                        format: PixelFormat::SERVER,
                        zrle_accepted: false,
                        zlib_started: false,
                    };
                    if let Err(error) = connection.serve() {
                        failed.lock().unwrap().get_or_insert(error);
                    }
                });
            }
        });
        Ok(Self {
            port,
            frames,
            failure,
            stop,
        })
    }

    /// Frames sent so far, over every connection.
    fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    fn failed(&self) -> Option<String> {
        self.failure.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Wake the accepting thread so it sees the flag and lets the port go.
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

struct Connection {
    stream: TcpStream,
    encoding: Encoding,
    cache: Arc<FrameCache>,
    count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    format: PixelFormat,
    zrle_accepted: bool,
    /// Whether the zlib stream's two-byte header went out already.
    zlib_started: bool,
}

impl Connection {
    fn serve(&mut self) -> Result<(), String> {
        self.handshake().map_err(|e| format!("handshake: {e}"))?;
        let mut next = 0;
        loop {
            let mut kind = [0u8; 1];
            if self.stream.read_exact(&mut kind).is_err() || self.stop.load(Ordering::Relaxed) {
                // The client went away: that is how every run ends.
                return Ok(());
            }
            match kind[0] {
                0 => {
                    let message = self.read_bytes(19)?;
                    self.format = PixelFormat::parse(&message[3..])?;
                }
                2 => {
                    let head = self.read_bytes(3)?;
                    let count = usize::from(u16::from_be_bytes([head[1], head[2]]));
                    let list = self.read_bytes(4 * count)?;
                    self.zrle_accepted = list
                        .chunks_exact(4)
                        .any(|e| i32::from_be_bytes([e[0], e[1], e[2], e[3]]) == 16);
                }
                3 => {
                    self.read_bytes(9)?;
                    if self.send_frame(next).is_err() {
                        return Ok(());
                    }
                    next = (next + 1) % FRAME_CYCLE;
                    self.count.fetch_add(1, Ordering::Relaxed);
                }
                // Keys and pointer moves: ignored.
                4 => {
                    self.read_bytes(7)?;
                }
                5 => {
                    self.read_bytes(5)?;
                }
                6 => {
                    let head = self.read_bytes(7)?;
                    let length = u32::from_be_bytes([head[3], head[4], head[5], head[6]]);
                    self.read_bytes(length as usize)?;
                }
                other => return Err(format!("unexpected client message type {other}")),
            }
        }
    }

    fn read_bytes(&mut self, count: usize) -> Result<Vec<u8>, String> {
        let mut bytes = vec![0; count];
        self.stream
            .read_exact(&mut bytes)
            .map_err(|e| format!("reading from the client: {e}"))?;
        Ok(bytes)
    }

    /// RFB 3.8, security type None, then ServerInit.
    fn handshake(&mut self) -> std::io::Result<()> {
        self.stream.set_nodelay(true)?;
        self.stream.write_all(b"RFB 003.008\n")?;
        let mut version = [0u8; 12];
        self.stream.read_exact(&mut version)?;
        // One security type, None; then the result (OK) and the client's shared flag.
        self.stream.write_all(&[1, 1])?;
        let mut chosen = [0u8; 1];
        self.stream.read_exact(&mut chosen)?;
        self.stream.write_all(&0u32.to_be_bytes())?;
        self.stream.read_exact(&mut chosen)?;
        let name = b"Hangar benchmark";
        let mut init = Vec::new();
        init.extend_from_slice(&(WIDTH as u16).to_be_bytes());
        init.extend_from_slice(&(HEIGHT as u16).to_be_bytes());
        init.extend_from_slice(&PixelFormat::SERVER.wire());
        init.extend_from_slice(&(name.len() as u32).to_be_bytes());
        init.extend_from_slice(name);
        self.stream.write_all(&init)
    }

    fn send_frame(&mut self, index: usize) -> Result<(), String> {
        if self.encoding == Encoding::Zrle && !self.zrle_accepted {
            return Err("the client did not offer ZRLE".into());
        }
        let encoded = self.cache.get(self.encoding, self.format);
        let frame = &encoded.frames[index];
        // FramebufferUpdate with one rectangle: the whole screen.
        let mut head = vec![0, 0, 0, 1];
        for value in [0, 0, WIDTH as u16, HEIGHT as u16] {
            head.extend_from_slice(&value.to_be_bytes());
        }
        head.extend_from_slice(&self.encoding.wire().to_be_bytes());
        let write = |stream: &mut TcpStream, bytes: &[u8]| {
            stream
                .write_all(bytes)
                .map_err(|e| format!("writing to the client: {e}"))
        };
        match self.encoding {
            Encoding::Raw => {
                write(&mut self.stream, &head)?;
                write(&mut self.stream, frame)
            }
            Encoding::Zrle => {
                let header: &[u8] = if self.zlib_started {
                    &[]
                } else {
                    &encoded.zlib_header
                };
                self.zlib_started = true;
                head.extend_from_slice(&((header.len() + frame.len()) as u32).to_be_bytes());
                head.extend_from_slice(header);
                write(&mut self.stream, &head)?;
                write(&mut self.stream, frame)
            }
        }
    }
}

/// A 32 bpp true-colour pixel format with 8 bits per colour (the only kind served).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct PixelFormat {
    big_endian: bool,
    red_shift: u8,
    green_shift: u8,
    blue_shift: u8,
}

impl PixelFormat {
    /// What ServerInit announces: little-endian 0x00RRGGBB.
    const SERVER: PixelFormat = PixelFormat {
        big_endian: false,
        red_shift: 16,
        green_shift: 8,
        blue_shift: 0,
    };

    fn parse(wire: &[u8]) -> Result<Self, String> {
        let max = |at: usize| u16::from_be_bytes([wire[at], wire[at + 1]]);
        let supported = wire[0] == 32
            && wire[3] != 0
            && [max(4), max(6), max(8)] == [255; 3]
            && [wire[10], wire[11], wire[12]]
                .iter()
                .all(|shift| shift % 8 == 0 && *shift <= 24);
        if !supported {
            return Err(format!("unsupported pixel format {wire:?}"));
        }
        Ok(Self {
            big_endian: wire[2] != 0,
            red_shift: wire[10],
            green_shift: wire[11],
            blue_shift: wire[12],
        })
    }

    fn wire(self) -> [u8; 16] {
        let mut wire = [0u8; 16];
        wire[0] = 32; // bits per pixel
        wire[1] = 24; // depth
        wire[2] = u8::from(self.big_endian);
        wire[3] = 1; // true colour
        for at in [4, 6, 8] {
            wire[at..at + 2].copy_from_slice(&255u16.to_be_bytes());
        }
        wire[10] = self.red_shift;
        wire[11] = self.green_shift;
        wire[12] = self.blue_shift;
        wire
    }

    fn pixel(self, [red, green, blue]: [u8; 3]) -> [u8; 4] {
        let value = u32::from(red) << self.red_shift
            | u32::from(green) << self.green_shift
            | u32::from(blue) << self.blue_shift;
        if self.big_endian {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        }
    }

    /// Where ZRLE's 3-byte CPIXEL sits in a pixel: the three bytes that hold the colours.
    fn cpixel_bytes(self) -> std::ops::Range<usize> {
        let unused_byte = self
            .pixel([255, 255, 255])
            .iter()
            .position(|byte| *byte == 0);
        match unused_byte {
            Some(0) => 1..4,
            _ => 0..3,
        }
    }
}

/// Frames encoded for one encoding and pixel format.
struct EncodedFrames {
    frames: Vec<Vec<u8>>,
    /// ZRLE: the zlib header, sent once before the first frame of a connection.
    zlib_header: Vec<u8>,
}

/// Encoded frames, made once per encoding and pixel format and kept across runs.
#[derive(Default)]
struct FrameCache {
    encoded: Mutex<HashMap<(Encoding, PixelFormat), Arc<EncodedFrames>>>,
}

impl FrameCache {
    fn get(&self, encoding: Encoding, format: PixelFormat) -> Arc<EncodedFrames> {
        let mut encoded = self.encoded.lock().unwrap();
        if let Some(frames) = encoded.get(&(encoding, format)) {
            return frames.clone();
        }
        let started = Instant::now();
        let frames = Arc::new(match encoding {
            Encoding::Raw => EncodedFrames {
                frames: (0..FRAME_CYCLE).map(|f| raw_frame(f, format)).collect(),
                zlib_header: Vec::new(),
            },
            Encoding::Zrle => zrle_frames(format),
        });
        eprintln!(
            "vnc_console: encoded {FRAME_CYCLE} {} frames in {:.1}s",
            encoding.label(),
            started.elapsed().as_secs_f64()
        );
        encoded.insert((encoding, format), frames.clone());
        frames
    }
}

/// The colour of pixel (x, y) in frame `frame`; see the module comment for the layout.
fn colour(frame: usize, x: usize, y: usize) -> [u8; 3] {
    let f = frame * 37;
    if y < 6 * TILE {
        // A gradient drifting with the frame: every tile has hundreds of colours.
        [
            (x / 2 + f) as u8,
            (y + x / 5 + 2 * f) as u8,
            ((x ^ y) / 3 + 3 * f) as u8,
        ]
    } else if y < 12 * TILE {
        // "Text": 8×16 cells with a changing bit pattern, dark on light.
        let cell = (x / 8) * 131 + (y / 16) * 977 + frame * 7919;
        let bits = hash(cell as u32);
        let lit = (bits >> ((x % 8) + 8 * ((y / 4) % 4))) & 1 == 1;
        if lit {
            [30, 30, (40 + frame * 20) as u8]
        } else {
            [250, 250, (240 - frame * 10) as u8]
        }
    } else {
        // Flat areas, one colour per tile.
        let tile = hash(((x / TILE) * 64 + (y / TILE) + frame * 4096) as u32);
        [tile as u8, (tile >> 8) as u8, (tile >> 16) as u8]
    }
}

fn hash(mut value: u32) -> u32 {
    value ^= value >> 16;
    value = value.wrapping_mul(0x7feb_352d);
    value ^= value >> 15;
    value = value.wrapping_mul(0x846c_a68b);
    value ^ (value >> 16)
}

fn raw_frame(frame: usize, format: PixelFormat) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(WIDTH * HEIGHT * BYTES_PER_PIXEL);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            bytes.extend_from_slice(&format.pixel(colour(frame, x, y)));
        }
    }
    bytes
}

/// ZRLE frames in one zlib stream, each ending with a full flush so none refers to another.
fn zrle_frames(format: PixelFormat) -> EncodedFrames {
    use flate2::{Compress, Compression, FlushCompress};
    let mut compress = Compress::new(Compression::fast(), true);
    let mut frames = Vec::new();
    for frame in 0..FRAME_CYCLE {
        let tiles = zrle_tiles(frame, format);
        let mut out = Vec::with_capacity(tiles.len() + 1024);
        let mut input = &tiles[..];
        loop {
            out.reserve(64 * 1024);
            let before = compress.total_in();
            compress
                .compress_vec(input, &mut out, FlushCompress::Full)
                .expect("zlib compression");
            input = &input[(compress.total_in() - before) as usize..];
            // Done once all input is in and the flush left room to spare.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        frames.push(out);
    }
    // The stream's header opens the first frame: keep it apart, so any frame can go first.
    let zlib_header = frames[0].drain(..2).collect();
    let encoded = EncodedFrames {
        frames,
        zlib_header,
    };
    check_zrle_stream(&encoded, format);
    encoded
}

/// The uncompressed ZRLE data of a frame: 64×64 tiles, left to right, top to bottom.
fn zrle_tiles(frame: usize, format: PixelFormat) -> Vec<u8> {
    let cpixel = format.cpixel_bytes();
    let mut out = Vec::new();
    let mut tile = Vec::with_capacity(TILE * TILE);
    for top in (0..HEIGHT).step_by(TILE) {
        for left in (0..WIDTH).step_by(TILE) {
            let (width, height) = (TILE.min(WIDTH - left), TILE.min(HEIGHT - top));
            tile.clear();
            for y in top..top + height {
                tile.extend((left..left + width).map(|x| colour(frame, x, y)));
            }
            let mut palette: Vec<[u8; 3]> = Vec::new();
            for pixel in &tile {
                if !palette.contains(pixel) {
                    palette.push(*pixel);
                    if palette.len() > 16 {
                        break;
                    }
                }
            }
            let cpixel_of = |colour: [u8; 3], out: &mut Vec<u8>| {
                out.extend_from_slice(&format.pixel(colour)[cpixel.clone()]);
            };
            match palette.len() {
                // Subencoding 1: one colour.
                1 => {
                    out.push(1);
                    cpixel_of(palette[0], &mut out);
                }
                // Subencodings 2–16: packed palette indices, rows padded to whole bytes.
                2..=16 => {
                    out.push(palette.len() as u8);
                    for colour in &palette {
                        cpixel_of(*colour, &mut out);
                    }
                    let bits = match palette.len() {
                        2 => 1,
                        3..=4 => 2,
                        _ => 4,
                    };
                    for row in tile.chunks_exact(width) {
                        let (mut byte, mut used) = (0u8, 0);
                        for pixel in row {
                            let index = palette.iter().position(|c| c == pixel).unwrap() as u8;
                            byte |= index << (8 - bits - used);
                            used += bits;
                            if used == 8 {
                                out.push(byte);
                                (byte, used) = (0, 0);
                            }
                        }
                        if used > 0 {
                            out.push(byte);
                        }
                    }
                }
                // Subencoding 0: raw CPIXELs.
                _ => {
                    out.push(0);
                    for pixel in &tile {
                        cpixel_of(*pixel, &mut out);
                    }
                }
            }
        }
    }
    out
}

/// Inflates the header and the frames in an order that differs from encoding's, checking
/// the full flushes really made them independent.
fn check_zrle_stream(encoded: &EncodedFrames, format: PixelFormat) {
    let mut inflate = flate2::Decompress::new(true);
    let order = (1..FRAME_CYCLE).chain([0, FRAME_CYCLE - 1]);
    for (position, frame) in order.enumerate() {
        let expected = zrle_tiles(frame, format);
        let mut input = encoded.frames[frame].clone();
        if position == 0 {
            input.splice(0..0, encoded.zlib_header.iter().copied());
        }
        let mut output = Vec::with_capacity(expected.len() + 16);
        inflate
            .decompress_vec(&input, &mut output, flate2::FlushDecompress::Sync)
            .expect("the benchmark's own ZRLE stream inflates");
        assert!(
            output == expected,
            "ZRLE frame {frame} does not inflate alone"
        );
    }
}
