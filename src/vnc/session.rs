//! One VNC connection. vnc-rs runs on a tokio runtime on its own thread; the UI sends commands
//! (keys, pointer) and gets small events back, while the pixels go into a shared framebuffer.
//!
//! One task waits on both the server and the command channel: vnc-rs's `recv_event` holds a
//! lock while it waits, so an `input` call from another task would stall until the server
//! next speaks (seconds on a still screen).

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gettextrs::gettext;
use tokio::sync::mpsc;
use vnc::{VncClient, VncError, X11Event};

use super::framebuffer::{self, Framebuffer, SharedFramebuffer};
use super::handshake::{handshake, server_text, ConnectFailure};
use super::keysyms::{self, KeyStroke};
use crate::backend::password::Password;
use crate::i18n::gettext_f;

/// How long connecting and the RFB handshake may take together.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A spare update request after this long without one, in case a server answered one with
/// nothing at all (no event tells us a request is used up). Costs ten bytes on a still screen.
const SPARE_REFRESH_INTERVAL: Duration = Duration::from_secs(2);
/// Events handled in one go before commands get a turn, so keys never wait behind a long
/// update.
const MAX_EVENTS_PER_BATCH: usize = 256;
/// Where the VNC server is.
#[derive(Debug)]
pub enum VncStream {
    /// A TCP address; `host` may be a name, an IPv4 or an IPv6 address (brackets optional).
    Tcp { host: String, port: u16 },
    /// A connected socket, such as the one `virDomainOpenGraphicsFD` returns.
    Fd(OwnedFd),
}

/// What the session tells the UI. Pixels are not in here: they are in the framebuffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VncEvent {
    /// The handshake worked; the framebuffer has this size. vnc-rs 0.6 does not pass on the
    /// desktop name, so `name` is `None` for now.
    Connected {
        width: u32,
        height: u32,
        name: Option<String>,
    },
    /// The remote screen changed size; the framebuffer was cleared to black.
    Resized {
        width: u32,
        height: u32,
    },
    /// The framebuffer changed: take its damage. Sent again only after the damage was taken.
    Damage,
    /// The pointer's shape, RGBA (not premultiplied); an empty image hides the pointer.
    Cursor {
        width: u32,
        height: u32,
        hot_x: u32,
        hot_y: u32,
        rgba: Vec<u8>,
    },
    Bell,
    /// The guest's clipboard (Latin-1 servers only carry ASCII intact through vnc-rs).
    ClipboardText(String),
    /// The password was missing or refused; a sentence for the user.
    AuthFailed(String),
    /// The session is over: `None` when closed on our side, otherwise why, as a sentence.
    Disconnected(Option<String>),
}

#[derive(Debug)]
enum Command {
    Key { keysym: u32, down: bool },
    Pointer { x: u16, y: u16, buttons: u8 },
    FullRefresh,
    Close,
}

/// A running VNC connection. Dropping it closes the connection.
#[derive(Debug)]
pub struct VncSession {
    commands: mpsc::UnboundedSender<Command>,
    framebuffer: SharedFramebuffer,
}

impl VncSession {
    /// Starts connecting on a new thread and returns at once; events tell how it goes.
    pub fn connect(
        stream: VncStream,
        password: Option<Password>,
    ) -> (VncSession, async_channel::Receiver<VncEvent>) {
        let (command_sender, commands) = mpsc::unbounded_channel();
        let (events, event_receiver) = async_channel::unbounded();
        let framebuffer = Arc::new(std::sync::Mutex::new(Framebuffer::new(0, 0)));
        let shared = framebuffer.clone();
        let thread_events = events.clone();
        let spawned = std::thread::Builder::new()
            .name("vnc-session".into())
            .spawn(move || run_thread(stream, password, commands, thread_events, shared));
        if let Err(error) = spawned {
            let reason = gettext_f(
                "Could not start the console connection: {error}.",
                &[("error", &error.to_string())],
            );
            let _ = events.try_send(VncEvent::Disconnected(Some(reason)));
        }
        let session = VncSession {
            commands: command_sender,
            framebuffer,
        };
        (session, event_receiver)
    }

    /// The remote screen, written by the session thread.
    pub fn framebuffer(&self) -> &SharedFramebuffer {
        &self.framebuffer
    }

    /// Presses or releases the key with this X keysym.
    pub fn key(&self, keysym: u32, down: bool) {
        self.send(Command::Key { keysym, down });
    }

    /// Moves the pointer to framebuffer pixel (x, y) with these buttons held (bit 0 is the
    /// left button, bits 3-6 are scroll up, down, left, right).
    pub fn pointer(&self, x: u16, y: u16, buttons: u8) {
        self.send(Command::Pointer { x, y, buttons });
    }

    /// Asks the server for the whole screen again (updates are requested on their own).
    pub fn refresh(&self) {
        self.send(Command::FullRefresh);
    }

    /// Types `text` key by key; characters without a key (control characters) are skipped.
    pub fn type_text(&self, text: &str) {
        self.send_strokes(&keysyms::strokes_for_text(text));
    }

    /// Sends presses and releases in order, such as a `KeyCombo`'s.
    pub fn send_strokes(&self, strokes: &[KeyStroke]) {
        for stroke in strokes {
            self.key(stroke.keysym, stroke.down);
        }
    }

    /// Ends the connection; a `Disconnected(None)` event follows.
    pub fn close(&self) {
        self.send(Command::Close);
    }

    fn send(&self, command: Command) {
        // Fails only once the session has ended, and then there is nobody to tell.
        let _ = self.commands.send(command);
    }
}

impl Drop for VncSession {
    fn drop(&mut self) {
        self.close();
    }
}

fn run_thread(
    stream: VncStream,
    password: Option<Password>,
    commands: mpsc::UnboundedReceiver<Command>,
    events: async_channel::Sender<VncEvent>,
    framebuffer: SharedFramebuffer,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => {
            runtime.block_on(run_session(
                stream,
                password,
                commands,
                &events,
                framebuffer,
            ));
            // Dropping the runtime cancels vnc-rs's tasks and closes the socket.
        }
        Err(error) => {
            let reason = gettext_f(
                "Could not start the console connection: {error}.",
                &[("error", &error.to_string())],
            );
            let _ = events.try_send(VncEvent::Disconnected(Some(reason)));
        }
    }
}

/// Connects, then runs the session until either side ends it; always ends with an
/// `AuthFailed` or `Disconnected` event.
async fn run_session(
    stream: VncStream,
    password: Option<Password>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: &async_channel::Sender<VncEvent>,
    framebuffer: SharedFramebuffer,
) {
    let address = stream_address(&stream);
    let connecting = tokio::select! {
        result = tokio::time::timeout(CONNECT_TIMEOUT, connect(stream, password)) => result,
        () = wait_for_close(&mut commands) => Ok(Err(ConnectFailure::Closed)),
    };
    let client = match connecting {
        Ok(Ok(client)) => client,
        Ok(Err(failure)) => {
            let _ = events.try_send(failure.into_event());
            return;
        }
        Err(_elapsed) => {
            let _ = events.try_send(VncEvent::Disconnected(Some(timeout_reason(&address))));
            return;
        }
    };
    let mut pump = Pump::new(client, events.clone(), framebuffer);
    let reason = pump.run(&mut commands).await;
    let _ = pump.client.close().await;
    let _ = events.try_send(VncEvent::Disconnected(reason));
}

/// Returns once the UI closes the session; input sent before the connection is up is dropped.
async fn wait_for_close(commands: &mut mpsc::UnboundedReceiver<Command>) {
    while let Some(command) = commands.recv().await {
        if matches!(command, Command::Close) {
            return;
        }
    }
}

impl ConnectFailure {
    fn into_event(self) -> VncEvent {
        match self {
            ConnectFailure::Auth(reason) => VncEvent::AuthFailed(reason),
            ConnectFailure::Other(reason) => VncEvent::Disconnected(Some(reason)),
            ConnectFailure::Closed => VncEvent::Disconnected(None),
        }
    }
}

async fn connect(
    stream: VncStream,
    password: Option<Password>,
) -> Result<VncClient, ConnectFailure> {
    match stream {
        VncStream::Tcp { host, port } => {
            let tcp = connect_tcp(&host, port).await?;
            handshake(tcp, password).await
        }
        VncStream::Fd(fd) => handshake(unix_stream(fd)?, password).await,
    }
}

async fn connect_tcp(host: &str, port: u16) -> Result<tokio::net::TcpStream, ConnectFailure> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let address = display_address(host, port);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|error| ConnectFailure::Other(describe_connect_error(&error, &address)))?;
    // Keys and pointer moves are tiny messages that must leave at once.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// The server's address for messages; `None` for a socket handed over.
fn stream_address(stream: &VncStream) -> Option<String> {
    match stream {
        VncStream::Tcp { host, port } => Some(display_address(
            host.trim_start_matches('[').trim_end_matches(']'),
            *port,
        )),
        VncStream::Fd(_) => None,
    }
}

fn timeout_reason(address: &Option<String>) -> String {
    let seconds = CONNECT_TIMEOUT.as_secs().to_string();
    match address {
        Some(address) => gettext_f(
            "The console at {address} did not answer within {seconds} seconds.",
            &[("address", address), ("seconds", &seconds)],
        ),
        None => gettext_f(
            "The console did not answer within {seconds} seconds.",
            &[("seconds", &seconds)],
        ),
    }
}

/// `host:port`, with brackets around an IPv6 address.
pub fn display_address(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn describe_connect_error(error: &std::io::Error, address: &str) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => gettext_f(
            "Nothing accepts console connections at {address}: the connection was refused.",
            &[("address", address)],
        ),
        _ => gettext_f(
            "Could not connect to the console at {address}: {error}.",
            &[("address", address), ("error", &error.to_string())],
        ),
    }
}

fn unix_stream(fd: OwnedFd) -> Result<tokio::net::UnixStream, ConnectFailure> {
    let stream = std::os::unix::net::UnixStream::from(fd);
    stream
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(stream))
        .map_err(|error| {
            ConnectFailure::Other(gettext_f(
                "Could not use the console's socket: {error}.",
                &[("error", &error.to_string())],
            ))
        })
}

/// What woke the session task.
enum Wake {
    Server(Result<vnc::VncEvent, VncError>),
    Command(Option<Command>),
    SpareRefresh,
}

/// What to do after handling something.
enum Flow {
    Continue,
    /// End the session; the reason is for `Disconnected`.
    Stop(Option<String>),
}

/// Moves server events into the framebuffer and events channel, and commands to the server.
struct Pump {
    client: VncClient,
    events: async_channel::Sender<VncEvent>,
    framebuffer: SharedFramebuffer,
    connected: bool,
    last_request: Instant,
}

impl Pump {
    fn new(
        client: VncClient,
        events: async_channel::Sender<VncEvent>,
        framebuffer: SharedFramebuffer,
    ) -> Self {
        Self {
            client,
            events,
            framebuffer,
            connected: false,
            last_request: Instant::now(),
        }
    }

    async fn run(&mut self, commands: &mut mpsc::UnboundedReceiver<Command>) -> Option<String> {
        let mut spare_refresh = tokio::time::interval(SPARE_REFRESH_INTERVAL);
        spare_refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let wake = tokio::select! {
                event = self.client.recv_event() => Wake::Server(event),
                command = commands.recv() => Wake::Command(command),
                _ = spare_refresh.tick() => Wake::SpareRefresh,
            };
            let flow = match wake {
                Wake::Server(event) => self.on_server_event(event).await,
                Wake::Command(command) => self.on_command(command).await,
                Wake::SpareRefresh if self.last_request.elapsed() >= SPARE_REFRESH_INTERVAL => {
                    self.request_update().await
                }
                Wake::SpareRefresh => Flow::Continue,
            };
            if let Flow::Stop(reason) = flow {
                return reason;
            }
            if self.events.is_closed() {
                return None;
            }
        }
    }

    /// Handles an event and everything right behind it (one update is many events), then
    /// tells the UI and asks for the next update (incremental: the server answers once
    /// something changed). There is no rate limit: the viewer draws at most once per display
    /// frame however fast updates come.
    async fn on_server_event(&mut self, first: Result<vnc::VncEvent, VncError>) -> Flow {
        let Ok(first) = first else {
            return Flow::Stop(Some(gettext("The console closed the connection.")));
        };
        if let Flow::Stop(reason) = self.handle(first) {
            return Flow::Stop(reason);
        }
        let update_complete = match self.handle_queued_events().await {
            Ok(complete) => complete,
            Err(reason) => return Flow::Stop(reason),
        };
        self.announce_damage();
        if update_complete {
            // Asked only now: vnc-rs does not say where an update ends, and the pause after
            // one is how we tell. A request sent earlier could bring the next update right
            // behind this one, with no pause to see.
            return self.request_update().await;
        }
        Flow::Continue
    }

    /// An incremental request: the server answers once something changed.
    async fn request_update(&mut self) -> Flow {
        self.last_request = Instant::now();
        self.input(X11Event::Refresh).await
    }

    /// Handles the events vnc-rs has ready. True when it ran out of them, so the update is
    /// over; false when it stopped to give commands a turn.
    async fn handle_queued_events(&mut self) -> Result<bool, Option<String>> {
        let mut yielded = false;
        for _ in 1..MAX_EVENTS_PER_BATCH {
            match self.client.poll_event().await {
                Ok(Some(event)) => {
                    if let Flow::Stop(reason) = self.handle(event) {
                        return Err(reason);
                    }
                    yielded = false;
                }
                // Give vnc-rs's decoder a turn; if it has nothing either, it waits for the
                // network, so this update is over.
                Ok(None) if !yielded => {
                    tokio::task::yield_now().await;
                    yielded = true;
                }
                Ok(None) => return Ok(true),
                Err(_) => return Err(Some(gettext("The console closed the connection."))),
            }
        }
        Ok(false)
    }

    fn handle(&mut self, event: vnc::VncEvent) -> Flow {
        match event {
            vnc::VncEvent::SetResolution(screen) => self.on_size(screen.width, screen.height),
            vnc::VncEvent::DesktopUpdate(update) => {
                if let Some(layout) = update.layout {
                    self.on_size(layout.width, layout.height);
                }
            }
            vnc::VncEvent::RawImage(rect, pixels) => {
                let applied =
                    framebuffer::lock(&self.framebuffer).apply_raw_owned(rect.into(), pixels);
                report_bad_update(applied);
            }
            vnc::VncEvent::Copy(destination, source) => {
                let copied = framebuffer::lock(&self.framebuffer)
                    .copy_rect(source.into(), destination.into());
                report_bad_update(copied);
            }
            vnc::VncEvent::SetCursor(rect, bgra) => self.emit(cursor_event(rect, bgra)),
            vnc::VncEvent::Bell => self.emit(VncEvent::Bell),
            vnc::VncEvent::Text(text) => self.emit(VncEvent::ClipboardText(text)),
            vnc::VncEvent::Error(message) => {
                return Flow::Stop(Some(gettext_f(
                    "The console connection failed: {reason}.",
                    &[("reason", &server_text(&message))],
                )));
            }
            // JPEG needs a quality level we never ask for; the pixel format is ours.
            _ => {}
        }
        Flow::Continue
    }

    fn on_size(&mut self, width: u16, height: u16) {
        let (width, height) = (u32::from(width), u32::from(height));
        let mut framebuffer = framebuffer::lock(&self.framebuffer);
        if !self.connected {
            framebuffer.resize(width, height);
            drop(framebuffer);
            self.connected = true;
            self.emit(VncEvent::Connected {
                width,
                height,
                name: None,
            });
        } else if (framebuffer.width(), framebuffer.height()) != (width, height) {
            framebuffer.resize(width, height);
            drop(framebuffer);
            self.emit(VncEvent::Resized { width, height });
        }
    }

    fn announce_damage(&mut self) {
        if framebuffer::lock(&self.framebuffer).announce_damage() {
            self.emit(VncEvent::Damage);
        }
    }

    async fn on_command(&mut self, command: Option<Command>) -> Flow {
        let event = match command {
            None | Some(Command::Close) => return Flow::Stop(None),
            Some(Command::Key { keysym, down }) => X11Event::KeyEvent((keysym, down).into()),
            Some(Command::Pointer { x, y, buttons }) => {
                X11Event::PointerEvent((x, y, buttons).into())
            }
            Some(Command::FullRefresh) => X11Event::FullRefresh,
        };
        self.input(event).await
    }

    async fn input(&self, event: X11Event) -> Flow {
        match self.client.input(event).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop(Some(gettext("The console closed the connection."))),
        }
    }

    fn emit(&self, event: VncEvent) {
        // Fails only when the UI has gone; the loop notices and stops.
        let _ = self.events.try_send(event);
    }
}

fn report_bad_update(result: Result<(), framebuffer::UpdateError>) {
    if let Err(error) = result {
        eprintln!("hangar: ignored a VNC update that does not fit the screen: {error:?}");
    }
}

/// vnc-rs gives the pointer image in our pixel format (BGRA) with the hotspot as x, y.
fn cursor_event(rect: vnc::Rect, mut pixels: Vec<u8>) -> VncEvent {
    for pixel in pixels.chunks_exact_mut(framebuffer::BYTES_PER_PIXEL) {
        pixel.swap(0, 2);
    }
    VncEvent::Cursor {
        width: rect.width.into(),
        height: rect.height.into(),
        hot_x: rect.x.into(),
        hot_y: rect.y.into(),
        rgba: pixels,
    }
}

#[cfg(test)]
mod tests;
