//! The VNC session against real servers: the test bed's QEMU guest (SeaBIOS), and TigerVNC
//! `Xvnc` servers these tests start themselves, with an X client (`xev`) that reports the
//! keys and clicks it receives (helpers in tests/common/xvnc.rs).

mod common;

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::xvnc::{free_port, xvnc_turn, Security, Xev, Xvnc, EVENT_TIMEOUT};
use hangar::backend::password::Password;
use hangar::vnc::framebuffer::{self, Framebuffer};
use hangar::vnc::keysyms::KeyCombo;
use hangar::vnc::{VncEvent, VncSession, VncStream};

/// A session and its events; damage is taken as it is announced, as the viewer does.
struct Console {
    session: VncSession,
    events: async_channel::Receiver<VncEvent>,
    seen: Vec<String>,
    damage_events: usize,
}

impl Console {
    fn connect(stream: VncStream, password: Option<&str>) -> Self {
        let (session, events) = VncSession::connect(stream, password.map(Password::from_text));
        Self {
            session,
            events,
            seen: Vec::new(),
            damage_events: 0,
        }
    }

    fn tcp(port: u16, password: Option<&str>) -> Self {
        let host = "127.0.0.1".to_owned();
        Self::connect(VncStream::Tcp { host, port }, password)
    }

    /// Handles events until `pick` accepts one; panics after `timeout` with what was seen.
    fn expect(&mut self, timeout: Duration, pick: impl Fn(&VncEvent) -> bool) -> VncEvent {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(event) = self.next_event(deadline) {
                if pick(&event) {
                    return event;
                }
            }
            assert!(
                Instant::now() < deadline,
                "nothing matched within {timeout:?}; saw {:#?}",
                self.seen
            );
        }
    }

    /// Handles events until the framebuffer passes `check`; false after `timeout`.
    fn wait_for_screen(&mut self, timeout: Duration, check: impl Fn(&Framebuffer) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if check(&framebuffer::lock(self.session.framebuffer())) {
                return true;
            }
            self.next_event(Instant::now() + Duration::from_millis(100));
        }
        false
    }

    /// Handles events for `period`, for counting what arrives.
    fn idle(&mut self, period: Duration) {
        let deadline = Instant::now() + period;
        while Instant::now() < deadline {
            self.next_event(deadline);
        }
    }

    fn next_event(&mut self, deadline: Instant) -> Option<VncEvent> {
        loop {
            match self.events.try_recv() {
                Ok(event) => {
                    self.seen
                        .push(format!("{event:?}").chars().take(200).collect());
                    if event == VncEvent::Damage {
                        self.damage_events += 1;
                        framebuffer::lock(self.session.framebuffer()).take_damage();
                    }
                    return Some(event);
                }
                Err(async_channel::TryRecvError::Empty) if Instant::now() < deadline => {
                    // async_channel has no timed blocking receive: poll.
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(async_channel::TryRecvError::Empty) => return None,
                Err(async_channel::TryRecvError::Closed) => {
                    panic!("the session ended; saw {:#?}", self.seen)
                }
            }
        }
    }

    fn expect_connected(&mut self) -> (u32, u32) {
        let event = self.expect(EVENT_TIMEOUT, |event| {
            !matches!(event, VncEvent::Cursor { .. } | VncEvent::Damage)
        });
        let VncEvent::Connected { width, height, .. } = event else {
            panic!("expected Connected, got {event:?}; saw {:#?}", self.seen);
        };
        (width, height)
    }

    fn close_and_expect_disconnected(self) {
        self.close_and_expect_disconnected_within(EVENT_TIMEOUT);
    }

    fn close_and_expect_disconnected_within(mut self, timeout: Duration) {
        self.session.close();
        let event = self.expect(timeout, |event| matches!(event, VncEvent::Disconnected(_)));
        assert_eq!(event, VncEvent::Disconnected(None));
    }
}

fn expect_first_event(stream: VncStream, password: Option<&str>) -> VncEvent {
    let mut console = Console::connect(stream, password);
    console.expect(EVENT_TIMEOUT, |_| true)
}

fn testbed_vnc_port() -> Option<u16> {
    let port = common::testbed_var("HANGAR_TEST_VNC_PORT")?;
    Some(port.parse().expect("HANGAR_TEST_VNC_PORT is a port number"))
}

/// CPU seconds used so far by the VNC session threads of this process (named "vnc-session"),
/// not by the test's own polling or the other tests running beside it. A session that ended
/// meanwhile takes its time with it, so differences are clamped at zero by the callers.
/// Fails when there is no such thread: a figure of nothing must not pass as "idle".
fn cpu_seconds_of_sessions() -> f64 {
    let tasks = std::fs::read_dir("/proc/self/task").expect("read /proc/self/task");
    let mut ticks = 0.0;
    let mut sessions = 0;
    for task in tasks.map_while(Result::ok) {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended
        };
        let Some((name, after_name)) = stat
            .split_once(" (")
            .and_then(|(_, rest)| rest.rsplit_once(')'))
        else {
            continue;
        };
        if name != "vnc-session" {
            continue;
        }
        sessions += 1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let used: f64 = [11, 12]
            .iter()
            .filter_map(|index| fields.get(*index)?.parse::<f64>().ok())
            .sum();
        ticks += used;
    }
    assert!(sessions > 0, "no vnc-session thread to measure");
    ticks / 100.0
}

/// An idle console (nothing changes on screen) may use at most this much CPU over 3 s: 5 %
/// of one core.
const IDLE_CPU_BOUND_S: f64 = 0.15;

#[test]
fn qemu_guest_console_shows_the_bios_screen() {
    let Some(port) = testbed_vnc_port() else {
        return;
    };
    let started = Instant::now();
    let mut console = Console::tcp(port, None);
    let (width, height) = console.expect_connected();
    let connected_after = started.elapsed();
    assert!(
        (320..=1280).contains(&width) && (200..=1024).contains(&height),
        "odd size {width}x{height}"
    );
    console.expect(EVENT_TIMEOUT, |event| *event == VncEvent::Damage);
    let first_damage_after = started.elapsed();
    let shows_text = console.wait_for_screen(EVENT_TIMEOUT, |screen| screen.count_colours(8) > 1);
    let colours = framebuffer::lock(console.session.framebuffer()).count_colours(64);
    assert!(
        shows_text,
        "the screen stayed one colour; saw {:#?}",
        console.seen
    );

    let (cpu_before, damage_before) = (cpu_seconds_of_sessions(), console.damage_events);
    console.idle(Duration::from_secs(3));
    let idle_damage = console.damage_events - damage_before;
    let idle_cpu = (cpu_seconds_of_sessions() - cpu_before).max(0.0);
    eprintln!(
        "QEMU {width}x{height}: connected after {connected_after:?}, first damage after \
         {first_damage_after:?}, {colours} colours; 3 s idle: {idle_damage} damage events, \
         {idle_cpu:.3} s CPU (VNC session threads)"
    );
    assert!(connected_after < Duration::from_secs(5), "slow connect");
    assert!(
        first_damage_after < Duration::from_secs(5),
        "slow first frame"
    );
    // SeaBIOS's blinking cursor: a few small updates a second, no more.
    assert!(idle_damage <= 30, "{idle_damage} updates of a still screen");
    assert!(
        idle_cpu < IDLE_CPU_BOUND_S,
        "idle console used {idle_cpu:.3} s CPU in 3 s"
    );
    console.session.refresh();
    console.expect(EVENT_TIMEOUT, |event| *event == VncEvent::Damage);
    console.close_and_expect_disconnected();
}

/// The same guest through a unix socket pair, as `virDomainOpenGraphicsFD` hands over.
#[test]
fn qemu_guest_console_works_through_a_socket() {
    let Some(port) = testbed_vnc_port() else {
        return;
    };
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socket pair");
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect to QEMU");
    relay(ours, tcp);
    let mut console = Console::connect(VncStream::Fd(theirs.into()), None);
    console.expect_connected();
    let shows_text = console.wait_for_screen(EVENT_TIMEOUT, |screen| screen.count_colours(8) > 1);
    assert!(
        shows_text,
        "the screen stayed one colour; saw {:#?}",
        console.seen
    );
    console.close_and_expect_disconnected();
}

/// Copies bytes both ways between a unix socket and a TCP connection until either closes.
fn relay(unix: std::os::unix::net::UnixStream, tcp: TcpStream) {
    let (mut unix_reader, mut tcp_writer) = (
        unix.try_clone().expect("clone"),
        tcp.try_clone().expect("clone"),
    );
    let (mut tcp_reader, mut unix_writer) = (tcp, unix);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut unix_reader, &mut tcp_writer);
        let _ = tcp_writer.shutdown(std::net::Shutdown::Both);
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut tcp_reader, &mut unix_writer);
        let _ = unix_writer.shutdown(std::net::Shutdown::Both);
    });
}

#[test]
fn refused_connections_get_a_sentence() {
    let port = free_port();
    let event = expect_first_event(
        VncStream::Tcp {
            host: "127.0.0.1".into(),
            port,
        },
        None,
    );
    let VncEvent::Disconnected(Some(reason)) = event else {
        panic!("expected a refusal, got {event:?}");
    };
    assert!(
        reason.contains("refused") && reason.contains(&format!("127.0.0.1:{port}")),
        "{reason}"
    );

    let event = expect_first_event(
        VncStream::Tcp {
            host: "[::1]".into(),
            port,
        },
        None,
    );
    let VncEvent::Disconnected(Some(reason)) = event else {
        panic!("expected a failure, got {event:?}");
    };
    assert!(reason.contains(&format!("[::1]:{port}")), "{reason}");
}

#[test]
fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    let started = Instant::now();
    let event = expect_first_event(
        VncStream::Tcp {
            host: "127.0.0.1".into(),
            port,
        },
        None,
    );
    let VncEvent::Disconnected(Some(reason)) = event else {
        panic!("expected a time-out, got {event:?}");
    };
    assert!(
        reason.contains("did not answer within 10 seconds"),
        "{reason}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    drop(listener);
}

#[test]
fn closing_while_connecting_ends_the_session_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    let console = Console::tcp(port, None);
    // Connecting: the server took the TCP connection and says nothing.
    listener.set_nonblocking(true).expect("non-blocking");
    let _silent = common::wait_for(Duration::from_secs(10), || listener.accept().ok())
        .expect("the console connects");
    let started = Instant::now();
    console.close_and_expect_disconnected_within(Duration::from_secs(2));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn xvnc_with_only_tls_security_is_refused_with_a_sentence() {
    if common::testbed_var("HANGAR_TESTBED").is_none() {
        return;
    }
    let _turn = xvnc_turn();
    let xvnc = Xvnc::start(Security::TlsOnly);
    let event = expect_first_event(xvnc.stream(), None);
    assert_eq!(
        event,
        VncEvent::Disconnected(Some(
            "The console wants TLS or SASL security, which Hangar does not support yet.".into()
        ))
    );
}

#[test]
fn xvnc_password_right_wrong_and_missing() {
    if common::testbed_var("HANGAR_TESTBED").is_none() {
        return;
    }
    let _turn = xvnc_turn();
    let xvnc = Xvnc::start(Security::Password("hangar-pw"));

    let mut console = Console::tcp(xvnc.port, Some("hangar-pw"));
    assert_eq!(console.expect_connected(), (800, 600));
    console.close_and_expect_disconnected();

    let event = expect_first_event(xvnc.stream(), Some("wrong-pw"));
    let VncEvent::AuthFailed(reason) = event else {
        panic!("expected AuthFailed, got {event:?}");
    };
    assert_eq!(
        reason,
        "The console did not accept the password (Authentication failure)."
    );

    let event = expect_first_event(xvnc.stream(), None);
    assert_eq!(
        event,
        VncEvent::AuthFailed("This console needs a password.".into())
    );
}

#[test]
fn xvnc_gets_typed_keys_clicks_and_shows_new_windows() {
    if common::testbed_var("HANGAR_TESTBED").is_none() {
        return;
    }
    let _turn = xvnc_turn();
    let mut xvnc = Xvnc::start(Security::None);
    let mut console = Console::tcp(xvnc.port, None);
    assert_eq!(console.expect_connected(), (800, 600));
    console.expect(EVENT_TIMEOUT, |event| *event == VncEvent::Damage);
    // The first screen may come in more than one update.
    console.idle(Duration::from_millis(500));

    let (cpu_before, damage_before) = (cpu_seconds_of_sessions(), console.damage_events);
    console.idle(Duration::from_secs(3));
    let idle_damage = console.damage_events - damage_before;
    let idle_cpu = (cpu_seconds_of_sessions() - cpu_before).max(0.0);
    assert_eq!(
        idle_damage, 0,
        "a still screen sent damage: {:#?}",
        console.seen
    );

    // The window appears after the first frame: the incremental updates must bring it.
    let xev = Xev::start(xvnc.display);
    xev.wait_for("MapNotify");
    let white = [0xFF, 0xFF, 0xFF, 0xFF];
    let shows_window = console.wait_for_screen(EVENT_TIMEOUT, |screen| {
        screen.pixel(150, 100) == Some(white)
    });
    assert!(
        shows_window,
        "the xev window never showed; saw {:#?}",
        console.seen
    );

    // With no window manager the keyboard follows the pointer.
    console.session.pointer(120, 80, 0);
    console.session.pointer(120, 80, 1);
    console.session.pointer(120, 80, 0);
    xev.wait_for("button 1,");
    assert!(xev.output().contains("(120,80)"), "{}", xev.output());

    let typed_at = Instant::now();
    console.session.type_text("hI!");
    xev.wait_for("keysym 0x21, exclam");
    let key_latency = typed_at.elapsed();
    let output = xev.output();
    for expected in ["keysym 0x68, h", "keysym 0xffe1, Shift_L", "keysym 0x49, I"] {
        assert!(output.contains(expected), "no {expected:?} in {output}");
    }

    console
        .session
        .send_strokes(&KeyCombo::CtrlAltF(3).strokes());
    xev.wait_for("keysym 0xffc0, F3");
    assert!(xev.output().contains("Control_L"), "{}", xev.output());

    eprintln!(
        "Xvnc 800x600: 3 s idle: {idle_damage} damage events, {idle_cpu:.3} s CPU (VNC \
         session threads); typing 3 characters reached xev after {key_latency:?}"
    );
    assert!(
        idle_cpu < IDLE_CPU_BOUND_S,
        "idle console used {idle_cpu:.3} s CPU in 3 s"
    );
    assert!(
        key_latency < Duration::from_secs(1),
        "typing took {key_latency:?}"
    );

    // The server going away ends the session with a reason.
    xvnc.kill();
    let event = console.expect(EVENT_TIMEOUT, |event| {
        matches!(event, VncEvent::Disconnected(_))
    });
    assert_eq!(
        event,
        VncEvent::Disconnected(Some("The console closed the connection.".into()))
    );
}
