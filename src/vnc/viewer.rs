//! The console widget: draws the remote screen, scaled to fit or at 1:1, and sends the keyboard
//! and pointer to the session.
//!
//! The screen is drawn as 256×256 tiles, each its own image, and only tiles the server
//! changed are copied again: an update of a few characters costs a few small images, not a
//! whole-screen upload. Damage is taken in `snapshot`, so however often the server updates,
//! the widget does the work at most once per frame.
//!
//! The tiles are textures for GPU renderers, which keep them on the GPU between frames, and
//! cairo image surfaces for GTK's cairo renderer: GTK 4.8's cairo renderer converts every
//! texture node through floats on every frame, changed or not, and scales it with cairo's
//! slowest filter. Drawing our own surfaces with a bilinear filter (what GPU renderers use)
//! costs a fraction of that.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use gettextrs::gettext;
use glib::translate::IntoGlib;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::{cairo, gdk, glib, graphene, gsk};

use super::framebuffer::{self, Framebuffer, Rect, BYTES_PER_PIXEL};
use super::keysyms::{self, KeyCombo};
use super::session::{VncEvent, VncSession};
use crate::i18n::gettext_f;

/// Side of a tile, in framebuffer pixels.
const TILE_SIZE: u32 = 256;
/// Smallest size the widget asks for in fit mode.
const MIN_FIT_SIZE: i32 = 32;

/// RFB pointer button bits: left, middle, right, then scroll up, down, left, right.
const BUTTON_LEFT: u8 = 1 << 0;
const BUTTON_MIDDLE: u8 = 1 << 1;
const BUTTON_RIGHT: u8 = 1 << 2;
const SCROLL_UP: u8 = 1 << 3;
const SCROLL_DOWN: u8 = 1 << 4;
const SCROLL_LEFT: u8 = 1 << 5;
const SCROLL_RIGHT: u8 = 1 << 6;

/// How the remote screen fills the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScaleMode {
    /// As large as fits, aspect ratio kept, centred.
    #[default]
    Fit,
    /// One remote pixel per (logical) screen pixel; put the viewer in a ScrolledWindow.
    OneToOne,
}

/// How the console connection stands, for the window around the viewer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ConsoleStatus {
    /// No session yet.
    #[default]
    Idle,
    Connecting,
    Connected,
    /// The password was missing or refused: a sentence to show, then ask again.
    AuthFailed(String),
    /// Over: `None` when closed on our side, otherwise why.
    Disconnected(Option<String>),
}

mod tiles;
use tiles::*;
pub use tiles::{damaged_tiles, Placement};

type StatusHandler = Rc<dyn Fn(&VncViewer, &ConsoleStatus)>;

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct VncViewer {
        pub(super) session: RefCell<Option<VncSession>>,
        pub(super) events_task: RefCell<Option<glib::JoinHandle<()>>>,
        pub(super) tiles: RefCell<Tiles>,
        pub(super) scale_mode: Cell<ScaleMode>,
        pub(super) status: RefCell<ConsoleStatus>,
        pub(super) status_handlers: RefCell<Vec<StatusHandler>>,
        /// Keys held, by hardware keycode, with the keysym sent on press: the release must
        /// send the same keysym even if Shift changed in between.
        pub(super) held_keys: RefCell<HashMap<u32, u32>>,
        pub(super) buttons: Cell<u8>,
        pub(super) pointer: Cell<(f64, f64)>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for VncViewer {
        const NAME: &'static str = "HangarVncViewer";
        type Type = super::VncViewer;
        type ParentType = gtk::Widget;

        fn class_init(klass: &mut Self::Class) {
            klass.set_css_name("vnc-viewer");
            klass.set_accessible_role(gtk::AccessibleRole::Img);
        }
    }

    impl ObjectImpl for VncViewer {
        fn constructed(&self) {
            self.parent_constructed();
            let viewer = self.obj();
            viewer.set_focusable(true);
            viewer.set_focus_on_click(true);
            viewer.set_overflow(gtk::Overflow::Hidden);
            viewer.add_input_controllers();
        }

        fn dispose(&self) {
            self.obj().end_session();
        }
    }

    impl WidgetImpl for VncViewer {
        fn measure(&self, orientation: gtk::Orientation, _for_size: i32) -> (i32, i32, i32, i32) {
            let tiles = self.tiles.borrow();
            let size = match orientation {
                gtk::Orientation::Horizontal => tiles.width,
                _ => tiles.height,
            };
            let size = i32::try_from(size).unwrap_or(i32::MAX);
            match self.scale_mode.get() {
                ScaleMode::OneToOne => (size, size, -1, -1),
                ScaleMode::Fit => (size.min(MIN_FIT_SIZE), size.max(MIN_FIT_SIZE), -1, -1),
            }
        }

        fn snapshot(&self, snapshot: &gtk::Snapshot) {
            let viewer = self.obj();
            let (width, height) = (viewer.width() as f32, viewer.height() as f32);
            snapshot.append_color(
                &gdk::RGBA::BLACK,
                &graphene::Rect::new(0.0, 0.0, width, height),
            );
            viewer.refresh_tiles();
            let tiles = self.tiles.borrow();
            let placement = viewer.placement();
            if tiles.kind == TileKind::CairoSurface {
                let bounds = graphene::Rect::new(0.0, 0.0, width, height);
                draw_surfaces(&snapshot.append_cairo(&bounds), &tiles, &placement);
                return;
            }
            for (index, image) in tiles.images.iter().enumerate() {
                let Some(TileImage::Texture(texture)) = image else {
                    continue;
                };
                let (x, y, w, h) =
                    placement.widget_rect(&tile_rect(tiles.width, tiles.height, index));
                snapshot.append_texture(texture, &graphene::Rect::new(x, y, w, h));
            }
        }
    }
}

glib::wrapper! {
    /// Shows a `VncSession`'s screen and sends it the keyboard and pointer.
    pub struct VncViewer(ObjectSubclass<imp::VncViewer>)
        @extends gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl Default for VncViewer {
    fn default() -> Self {
        Self::new()
    }
}

impl VncViewer {
    pub fn new() -> Self {
        glib::Object::new()
    }

    /// Shows this session from now on (ending any earlier one) and follows its events.
    pub fn connect_session(&self, session: VncSession, events: async_channel::Receiver<VncEvent>) {
        self.end_session();
        self.imp().session.replace(Some(session));
        self.set_status(ConsoleStatus::Connecting);
        let viewer = self.downgrade();
        let task = glib::spawn_future_local(async move {
            while let Ok(event) = events.recv().await {
                let Some(viewer) = viewer.upgrade() else {
                    break;
                };
                viewer.on_event(event);
            }
        });
        self.imp().events_task.replace(Some(task));
    }

    /// Closes the session, if any; no status change follows.
    pub fn end_session(&self) {
        let imp = self.imp();
        if let Some(task) = imp.events_task.take() {
            task.abort();
        }
        self.release_all_input();
        // Dropping the session closes it.
        imp.session.take();
    }

    pub fn set_scale_mode(&self, mode: ScaleMode) {
        if self.imp().scale_mode.replace(mode) != mode {
            self.queue_resize();
            self.queue_draw();
        }
    }

    pub fn scale_mode(&self) -> ScaleMode {
        self.imp().scale_mode.get()
    }

    pub fn status(&self) -> ConsoleStatus {
        self.imp().status.borrow().clone()
    }

    /// Calls `handler` whenever the status changes.
    pub fn connect_status<F: Fn(&Self, &ConsoleStatus) + 'static>(&self, handler: F) {
        self.imp()
            .status_handlers
            .borrow_mut()
            .push(Rc::new(handler));
    }

    /// Presses a key combination in the guest (Ctrl+Alt+Delete and the like).
    pub fn send_keys(&self, combo: KeyCombo) {
        if let Some(session) = self.imp().session.borrow().as_ref() {
            session.send_strokes(&combo.strokes());
        }
    }

    /// Types `text` in the guest, key by key.
    pub fn type_text(&self, text: &str) {
        if let Some(session) = self.imp().session.borrow().as_ref() {
            session.type_text(text);
        }
    }

    /// Saves the whole remote screen, at its own size, as a PNG file.
    pub fn screenshot_png(&self, path: &Path) -> Result<(), String> {
        let texture = {
            let session = self.imp().session.borrow();
            let Some(session) = session.as_ref() else {
                return Err(gettext(
                    "There is no screen to save: the console is not connected.",
                ));
            };
            let framebuffer = framebuffer::lock(session.framebuffer());
            if framebuffer.width() == 0 || framebuffer.height() == 0 {
                return Err(gettext("There is no screen to save yet."));
            }
            let Ok(pixels) = framebuffer.read_rect(framebuffer.bounds()) else {
                return Err(gettext("There is no screen to save yet."));
            };
            bgra_texture(framebuffer.width(), framebuffer.height(), pixels)
        };
        texture.save_to_png(path).map_err(|error| {
            gettext_f(
                "Could not save the screenshot to {path}: {error}.",
                &[
                    ("path", &path.display().to_string()),
                    ("error", &error.to_string()),
                ],
            )
        })
    }

    fn on_event(&self, event: VncEvent) {
        match event {
            VncEvent::Connected { .. } => {
                self.queue_resize();
                self.set_status(ConsoleStatus::Connected);
            }
            VncEvent::Resized { .. } => self.queue_resize(),
            VncEvent::Damage => self.queue_draw(),
            VncEvent::Cursor {
                width,
                height,
                hot_x,
                hot_y,
                rgba,
            } => self.show_remote_cursor(width, height, hot_x, hot_y, rgba),
            VncEvent::Bell => self.error_bell(),
            VncEvent::ClipboardText(text) => self.clipboard().set_text(&text),
            VncEvent::AuthFailed(reason) => self.finish(ConsoleStatus::AuthFailed(reason)),
            VncEvent::Disconnected(reason) => self.finish(ConsoleStatus::Disconnected(reason)),
        }
    }

    /// The session ended on its own: keep the last picture, drop the rest.
    fn finish(&self, status: ConsoleStatus) {
        self.imp().held_keys.borrow_mut().clear();
        self.imp().buttons.set(0);
        self.imp().session.take();
        self.set_cursor(None);
        self.set_status(status);
    }

    fn set_status(&self, status: ConsoleStatus) {
        if *self.imp().status.borrow() == status {
            return;
        }
        self.imp().status.replace(status.clone());
        // A copy, so handlers may add handlers.
        let handlers = self.imp().status_handlers.borrow().clone();
        for handler in handlers {
            handler(self, &status);
        }
    }

    /// Moves the server's new damage into the tiles.
    fn refresh_tiles(&self) {
        let imp = self.imp();
        let session = imp.session.borrow();
        let Some(session) = session.as_ref() else {
            return;
        };
        let kind = self.tile_kind();
        let copied = imp
            .tiles
            .borrow_mut()
            .copy_damaged(&mut framebuffer::lock(session.framebuffer()), kind);
        // Textures are made after the framebuffer lock is released.
        imp.tiles.borrow_mut().upload(copied);
    }

    /// Cairo surfaces for GTK's cairo renderer, textures for every other one (and on
    /// big-endian machines, where cairo's pixels are not in our byte order).
    fn tile_kind(&self) -> TileKind {
        let renderer = self.native().and_then(|native| native.renderer());
        let cairo = renderer.is_some_and(|renderer| renderer.is::<gsk::CairoRenderer>());
        if cairo && cfg!(target_endian = "little") {
            TileKind::CairoSurface
        } else {
            TileKind::Texture
        }
    }

    fn placement(&self) -> Placement {
        let tiles = self.imp().tiles.borrow();
        Placement::new(
            (f64::from(self.width()), f64::from(self.height())),
            (tiles.width, tiles.height),
            self.scale_mode(),
        )
    }

    fn framebuffer_size(&self) -> (u32, u32) {
        let tiles = self.imp().tiles.borrow();
        (tiles.width, tiles.height)
    }

    fn show_remote_cursor(&self, width: u32, height: u32, hot_x: u32, hot_y: u32, rgba: Vec<u8>) {
        if width == 0 || height == 0 || rgba.len() != (width * height) as usize * 4 {
            // The guest hides its pointer.
            self.set_cursor(gdk::Cursor::from_name("none", None).as_ref());
            return;
        }
        let texture = gdk::MemoryTexture::new(
            width as i32,
            height as i32,
            gdk::MemoryFormat::R8g8b8a8,
            &glib::Bytes::from_owned(rgba),
            width as usize * 4,
        );
        let hotspot = |value: u32, size: u32| value.min(size - 1) as i32;
        let cursor = gdk::Cursor::from_texture(
            &texture,
            hotspot(hot_x, width),
            hotspot(hot_y, height),
            None,
        );
        self.set_cursor(Some(&cursor));
    }

    fn add_input_controllers(&self) {
        self.add_key_controller();
        self.add_focus_controller();
        self.add_motion_controller();
        self.add_button_controller();
        self.add_scroll_controller();
    }

    fn add_key_controller(&self) {
        let keys = gtk::EventControllerKey::new();
        keys.connect_key_pressed(glib::clone!(
            #[weak(rename_to = viewer)]
            self,
            #[upgrade_or]
            glib::Propagation::Proceed,
            move |_, keyval, keycode, _| viewer.on_key(keyval, keycode, true)
        ));
        keys.connect_key_released(glib::clone!(
            #[weak(rename_to = viewer)]
            self,
            move |_, keyval, keycode, _| {
                viewer.on_key(keyval, keycode, false);
            }
        ));
        self.add_controller(keys);
    }

    /// Every key goes to the guest while the viewer has the focus (Tab included).
    fn on_key(&self, keyval: gdk::Key, keycode: u32, down: bool) -> glib::Propagation {
        let session = self.imp().session.borrow();
        let Some(session) = session.as_ref() else {
            return glib::Propagation::Proceed;
        };
        let mut held = self.imp().held_keys.borrow_mut();
        let keysym = if down {
            // A repeat keeps the keysym of the first press.
            let keysym = held
                .get(&keycode)
                .copied()
                .or_else(|| keysyms::keysym_from_keyval(keyval.into_glib()));
            if let Some(keysym) = keysym {
                held.insert(keycode, keysym);
            }
            keysym
        } else {
            held.remove(&keycode)
                .or_else(|| keysyms::keysym_from_keyval(keyval.into_glib()))
        };
        if let Some(keysym) = keysym {
            session.key(keysym, down);
        }
        glib::Propagation::Stop
    }

    fn add_focus_controller(&self) {
        let focus = gtk::EventControllerFocus::new();
        // Keys released while another window has the focus never reach us: release them
        // now, or the guest sees them held forever.
        focus.connect_leave(glib::clone!(
            #[weak(rename_to = viewer)]
            self,
            move |_| viewer.release_all_input()
        ));
        self.add_controller(focus);
    }

    fn release_all_input(&self) {
        let imp = self.imp();
        let held: Vec<u32> = imp.held_keys.borrow_mut().drain().map(|(_, k)| k).collect();
        let had_buttons = imp.buttons.replace(0) != 0;
        let session = imp.session.borrow();
        let Some(session) = session.as_ref() else {
            return;
        };
        for keysym in held {
            session.key(keysym, false);
        }
        if had_buttons {
            self.send_pointer(session);
        }
    }

    fn add_motion_controller(&self) {
        let motion = gtk::EventControllerMotion::new();
        motion.connect_enter(glib::clone!(
            #[weak(rename_to = viewer)]
            self,
            move |_, x, y| viewer.on_pointer_moved(x, y)
        ));
        motion.connect_motion(glib::clone!(
            #[weak(rename_to = viewer)]
            self,
            move |_, x, y| viewer.on_pointer_moved(x, y)
        ));
        self.add_controller(motion);
    }

    fn on_pointer_moved(&self, x: f64, y: f64) {
        self.imp().pointer.set((x, y));
        if let Some(session) = self.imp().session.borrow().as_ref() {
            self.send_pointer(session);
        }
    }

    /// Buttons come raw: GtkGestureClick is built for clicks, and a drag or a second button
    /// held at the same time would lose presses or releases the guest must see.
    fn add_button_controller(&self) {
        let buttons = gtk::EventControllerLegacy::new();
        buttons.connect_event(glib::clone!(
            #[weak(rename_to = viewer)]
            self,
            #[upgrade_or]
            glib::Propagation::Proceed,
            move |_, event| viewer.on_legacy_event(event)
        ));
        self.add_controller(buttons);
    }

    fn on_legacy_event(&self, event: &gdk::Event) -> glib::Propagation {
        let down = match event.event_type() {
            gdk::EventType::ButtonPress => true,
            gdk::EventType::ButtonRelease => false,
            _ => return glib::Propagation::Proceed,
        };
        let Some(button) = event.downcast_ref::<gdk::ButtonEvent>() else {
            return glib::Propagation::Proceed;
        };
        let bit = match button.button() {
            gdk::BUTTON_PRIMARY => BUTTON_LEFT,
            gdk::BUTTON_MIDDLE => BUTTON_MIDDLE,
            gdk::BUTTON_SECONDARY => BUTTON_RIGHT,
            _ => return glib::Propagation::Proceed,
        };
        if down && !self.has_focus() {
            self.grab_focus();
        }
        let imp = self.imp();
        let buttons = imp.buttons.get();
        imp.buttons
            .set(if down { buttons | bit } else { buttons & !bit });
        if let Some(session) = imp.session.borrow().as_ref() {
            self.send_pointer(session);
        }
        glib::Propagation::Stop
    }

    fn add_scroll_controller(&self) {
        let flags =
            gtk::EventControllerScrollFlags::BOTH_AXES | gtk::EventControllerScrollFlags::DISCRETE;
        let scroll = gtk::EventControllerScroll::new(flags);
        scroll.connect_scroll(glib::clone!(
            #[weak(rename_to = viewer)]
            self,
            #[upgrade_or]
            glib::Propagation::Proceed,
            move |_, dx, dy| viewer.on_scroll(dx, dy)
        ));
        self.add_controller(scroll);
    }

    /// A wheel step is a press and release of buttons 4-7.
    fn on_scroll(&self, dx: f64, dy: f64) -> glib::Propagation {
        let session = self.imp().session.borrow();
        let Some(session) = session.as_ref() else {
            return glib::Propagation::Proceed;
        };
        let steps = [
            (dy, SCROLL_DOWN, SCROLL_UP),
            (dx, SCROLL_RIGHT, SCROLL_LEFT),
        ];
        for (delta, positive, negative) in steps {
            let bit = if delta > 0.0 { positive } else { negative };
            for _ in 0..(delta.abs().round() as u32).min(10) {
                self.send_pointer_with(session, self.imp().buttons.get() | bit);
                self.send_pointer(session);
            }
        }
        glib::Propagation::Stop
    }

    fn send_pointer(&self, session: &VncSession) {
        self.send_pointer_with(session, self.imp().buttons.get());
    }

    fn send_pointer_with(&self, session: &VncSession, buttons: u8) {
        let size = self.framebuffer_size();
        if size.0 == 0 || size.1 == 0 {
            return;
        }
        let (x, y) = self.imp().pointer.get();
        let (x, y) = self.placement().to_framebuffer(x, y, size);
        session.pointer(x, y, buttons);
    }
}

#[cfg(test)]
mod tests;
