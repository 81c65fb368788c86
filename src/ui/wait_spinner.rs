//! A spinner for long waits (a host that does not answer), drawn with cairo.
//!
//! GTK 4.8's GtkSpinner animates through CSS, which re-sizes the whole window on every frame;
//! on X11 each re-size asks the X server for the monitor's work area (two round trips, about
//! 150 a second). On a busy machine those round trips held the main loop for 50–100 ms while
//! a host hung. This one only redraws itself on each frame.

use std::cell::RefCell;
use std::f64::consts::PI;

use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::{cairo, glib};

/// One turn per second, as GtkSpinner.
const TURNS_PER_SECOND: f64 = 1.0;
/// The arc covers three quarters of the circle.
const ARC: f64 = 1.5 * PI;

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct WaitSpinner {
        /// The frame callback while spinning.
        pub(super) ticking: RefCell<Option<gtk::TickCallbackId>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for WaitSpinner {
        const NAME: &'static str = "HangarWaitSpinner";
        type Type = super::WaitSpinner;
        type ParentType = gtk::DrawingArea;

        fn class_init(klass: &mut Self::Class) {
            klass.set_accessible_role(gtk::AccessibleRole::ProgressBar);
        }
    }

    impl ObjectImpl for WaitSpinner {
        fn constructed(&self) {
            self.parent_constructed();
            let spinner = self.obj();
            spinner.set_content_width(16);
            spinner.set_content_height(16);
            spinner.set_draw_func(|area, cr, width, height| {
                if let Some(spinner) = area.downcast_ref::<super::WaitSpinner>() {
                    spinner.draw(cr, f64::from(width), f64::from(height));
                }
            });
        }
    }

    impl WidgetImpl for WaitSpinner {}
    impl DrawingAreaImpl for WaitSpinner {}
}

glib::wrapper! {
    pub struct WaitSpinner(ObjectSubclass<imp::WaitSpinner>)
        @extends gtk::Widget, gtk::DrawingArea,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl Default for WaitSpinner {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl WaitSpinner {
    /// Starts or stops the animation (a stopped spinner draws nothing).
    pub fn set_spinning(&self, spinning: bool) {
        let ticking = &self.imp().ticking;
        if spinning == ticking.borrow().is_some() {
            return;
        }
        if spinning {
            let id = self.add_tick_callback(|spinner, _| {
                spinner.queue_draw();
                glib::ControlFlow::Continue
            });
            ticking.replace(Some(id));
        } else if let Some(id) = ticking.take() {
            id.remove();
        }
        self.queue_draw();
    }

    pub fn is_spinning(&self) -> bool {
        self.imp().ticking.borrow().is_some()
    }

    fn draw(&self, cr: &cairo::Context, width: f64, height: f64) {
        if !self.is_spinning() {
            return;
        }
        let seconds = self
            .frame_clock()
            .map_or(0.0, |clock| clock.frame_time() as f64 / 1_000_000.0);
        let start = (seconds * TURNS_PER_SECOND).fract() * 2.0 * PI;
        let radius = (width.min(height) / 2.0 - 1.5).max(1.0);
        let colour = self.foreground();
        cr.set_source_rgba(
            f64::from(colour.red()),
            f64::from(colour.green()),
            f64::from(colour.blue()),
            f64::from(colour.alpha()),
        );
        cr.set_line_width((radius / 5.0).max(1.5));
        cr.set_line_cap(cairo::LineCap::Round);
        cr.arc(width / 2.0, height / 2.0, radius, start, start + ARC);
        // A failed stroke only leaves this frame blank.
        let _ = cr.stroke();
    }

    /// The theme's text colour, so the spinner follows dark and high-contrast styles.
    // GtkStyleContext (deprecated in GTK 4.10) is the only way to read it in GTK 4.8.
    #[allow(deprecated)]
    fn foreground(&self) -> gtk::gdk::RGBA {
        self.style_context().color()
    }
}
