//! A small line graph of a share (0–100 %) over the last samples, drawn with cairo.

use std::cell::RefCell;
use std::collections::VecDeque;

use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::{cairo, gdk, glib};

/// How many samples the graph keeps: two minutes at one every two seconds.
pub const SAMPLES: usize = 60;

/// Used when the theme does not name an accent colour (GNOME's default blue).
const FALLBACK_ACCENT: (f64, f64, f64) = (0.21, 0.52, 0.89);

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct UsageGraph {
        pub(super) samples: RefCell<VecDeque<f64>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for UsageGraph {
        const NAME: &'static str = "HangarUsageGraph";
        type Type = super::UsageGraph;
        type ParentType = gtk::DrawingArea;

        fn class_init(klass: &mut Self::Class) {
            klass.set_accessible_role(gtk::AccessibleRole::Img);
        }
    }

    impl ObjectImpl for UsageGraph {
        fn constructed(&self) {
            self.parent_constructed();
            let graph = self.obj();
            graph.set_content_height(64);
            graph.set_hexpand(true);
            // The draw function gets the area itself, so it needs no reference of its own.
            graph.set_draw_func(|area, cr, width, height| {
                if let Some(graph) = area.downcast_ref::<super::UsageGraph>() {
                    graph.draw(cr, f64::from(width), f64::from(height));
                }
            });
        }
    }

    impl WidgetImpl for UsageGraph {}
    impl DrawingAreaImpl for UsageGraph {}
}

glib::wrapper! {
    pub struct UsageGraph(ObjectSubclass<imp::UsageGraph>)
        @extends gtk::Widget, gtk::DrawingArea,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl Default for UsageGraph {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl UsageGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample (clamped to 0.0–1.0), dropping the oldest beyond `SAMPLES`.
    pub fn push(&self, share: f64) {
        let mut samples = self.imp().samples.borrow_mut();
        samples.push_back(share.clamp(0.0, 1.0));
        while samples.len() > SAMPLES {
            samples.pop_front();
        }
        drop(samples);
        self.queue_draw();
    }

    pub fn clear(&self) {
        self.imp().samples.borrow_mut().clear();
        self.queue_draw();
    }

    pub fn samples(&self) -> Vec<f64> {
        self.imp().samples.borrow().iter().copied().collect()
    }

    fn draw(&self, cr: &cairo::Context, width: f64, height: f64) {
        let (foreground, accent) = self.colours();
        draw_grid(cr, width, height, foreground);
        let samples = self.imp().samples.borrow();
        let points = points(&samples, width, height);
        draw_series(cr, &points, height, accent, 0.25);
    }

    /// The theme's text and accent colours, so the graph follows dark and high-contrast styles.
    // GtkStyleContext (deprecated in GTK 4.10) is the only way to read them in GTK 4.8.
    #[allow(deprecated)]
    fn colours(&self) -> (gdk::RGBA, (f64, f64, f64)) {
        let style = self.style_context();
        let foreground = style.color();
        let accent = style
            .lookup_color("accent_color")
            .map(|colour| rgb(&colour))
            .unwrap_or(FALLBACK_ACCENT);
        (foreground, accent)
    }
}

pub(crate) fn rgb(colour: &gdk::RGBA) -> (f64, f64, f64) {
    (
        f64::from(colour.red()),
        f64::from(colour.green()),
        f64::from(colour.blue()),
    )
}

/// Where each sample goes: the newest at the right edge, one step per sample to the left.
fn points(samples: &VecDeque<f64>, width: f64, height: f64) -> Vec<(f64, f64)> {
    let step = width / (SAMPLES - 1) as f64;
    let first_x = width - step * samples.len().saturating_sub(1) as f64;
    samples
        .iter()
        .enumerate()
        .map(|(index, share)| (first_x + step * index as f64, height * (1.0 - share)))
        .collect()
}

/// Faint lines at 25, 50 and 75 % and a frame, so the eye can read levels.
fn draw_grid(cr: &cairo::Context, width: f64, height: f64, foreground: gdk::RGBA) {
    let (red, green, blue) = rgb(&foreground);
    cr.set_source_rgba(red, green, blue, 0.12);
    cr.set_line_width(1.0);
    for quarter in 1..4 {
        // Half-pixel offsets keep one-pixel lines sharp.
        let y = (height * f64::from(quarter) / 4.0).round() + 0.5;
        cr.move_to(0.0, y);
        cr.line_to(width, y);
    }
    cr.rectangle(0.5, 0.5, width - 1.0, height - 1.0);
    // Drawing errors only mean the surface is gone; the next frame tries again.
    let _ = cr.stroke();
}

/// The samples as a line over a lightly filled area (`fill_alpha` opaque).
pub(crate) fn draw_series(
    cr: &cairo::Context,
    points: &[(f64, f64)],
    height: f64,
    (red, green, blue): (f64, f64, f64),
    fill_alpha: f64,
) {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return;
    };
    trace(cr, points);
    cr.line_to(last.0, height);
    cr.line_to(first.0, height);
    cr.close_path();
    cr.set_source_rgba(red, green, blue, fill_alpha);
    let _ = cr.fill();
    trace(cr, points);
    cr.set_source_rgb(red, green, blue);
    cr.set_line_width(2.0);
    cr.set_line_join(cairo::LineJoin::Round);
    let _ = cr.stroke();
}

fn trace(cr: &cairo::Context, points: &[(f64, f64)]) {
    for (index, (x, y)) in points.iter().enumerate() {
        if index == 0 {
            cr.move_to(*x, *y);
        } else {
            cr.line_to(*x, *y);
        }
    }
    // A lone sample still shows, as a short flat line.
    if let [(x, y)] = points {
        cr.line_to(x - 2.0, *y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_sample_sits_at_the_right_edge() {
        let samples: VecDeque<f64> = [0.0, 0.5, 1.0].into_iter().collect();
        let points = points(&samples, 590.0, 100.0);
        assert_eq!(points.len(), 3);
        assert_eq!(points[2], (590.0, 0.0));
        assert_eq!(points[1], (580.0, 50.0));
        assert_eq!(points[0], (570.0, 100.0));
    }

    #[test]
    fn a_full_history_spans_the_width() {
        let samples: VecDeque<f64> = vec![0.25; SAMPLES].into_iter().collect();
        let points = points(&samples, 118.0, 40.0);
        assert_eq!(points[0], (0.0, 30.0));
        assert_eq!(points[SAMPLES - 1].0, 118.0);
    }
}
