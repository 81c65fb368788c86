//! A line graph of one or two series over the last ten minutes, with its scale written in
//! the corner ("12 MB/s"): the Performance section's graphs. Points are (seconds ago,
//! value); a `NaN` value leaves a gap.

use std::cell::RefCell;

use gettextrs::gettext;
use gtk::prelude::*;
use gtk::subclass::prelude::*;
use gtk::{cairo, gdk, glib, graphene, pango};

use crate::model::domain_history::SPAN;
use crate::ui::usage_graph::{draw_series, rgb};

/// How opaque the area under a line is: lighter than the sidebar sparkline's, as two
/// series may overlap.
const RUN_FILL_ALPHA: f64 = 0.18;

/// Used when the theme does not name its colours (GNOME's blue and orange).
const FALLBACK_FIRST: (f64, f64, f64) = (0.21, 0.52, 0.89);
const FALLBACK_SECOND: (f64, f64, f64) = (0.90, 0.38, 0.0);

/// What the graph shows.
#[derive(Debug, Clone, Default)]
pub struct GraphData {
    /// One or two series of (seconds ago, value).
    pub series: Vec<Vec<(f32, f32)>>,
    /// The value at the top edge.
    pub top: f64,
    /// `top` in words, written in the top left corner.
    pub top_label: String,
}

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct PerformanceGraph {
        pub(super) data: RefCell<GraphData>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for PerformanceGraph {
        const NAME: &'static str = "HangarPerformanceGraph";
        type Type = super::PerformanceGraph;
        type ParentType = gtk::Widget;

        fn class_init(klass: &mut Self::Class) {
            klass.set_accessible_role(gtk::AccessibleRole::Img);
        }
    }

    impl ObjectImpl for PerformanceGraph {
        fn constructed(&self) {
            self.parent_constructed();
            let graph = self.obj();
            graph.set_size_request(-1, 120);
            graph.set_hexpand(true);
        }
    }

    impl WidgetImpl for PerformanceGraph {
        fn snapshot(&self, snapshot: &gtk::Snapshot) {
            let graph = self.obj();
            let (width, height) = (graph.width() as f32, graph.height() as f32);
            if width <= 0.0 || height <= 0.0 {
                return;
            }
            let colours = graph.colours();
            let cr = snapshot.append_cairo(&graphene::Rect::new(0.0, 0.0, width, height));
            let data = self.data.borrow();
            draw(&cr, f64::from(width), f64::from(height), &data, &colours);
            drop(cr);
            graph.write_labels(snapshot, &data.top_label, height, colours.0);
        }
    }
}

glib::wrapper! {
    pub struct PerformanceGraph(ObjectSubclass<imp::PerformanceGraph>)
        @extends gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl Default for PerformanceGraph {
    fn default() -> Self {
        glib::Object::new()
    }
}

/// Text colour and the two series' colours.
type Colours = (gdk::RGBA, (f64, f64, f64), (f64, f64, f64));

impl PerformanceGraph {
    pub fn set_data(&self, data: GraphData) {
        self.imp().data.replace(data);
        self.queue_draw();
    }

    /// The colour of series `index` as `#rrggbb`, for a legend in Pango markup.
    pub fn series_colour(&self, index: usize) -> String {
        let (_, first, second) = self.colours();
        let (red, green, blue) = if index == 0 { first } else { second };
        let byte = |share: f64| (share * 255.0).round().clamp(0.0, 255.0) as u8;
        format!("#{:02x}{:02x}{:02x}", byte(red), byte(green), byte(blue))
    }

    /// The theme's text, accent and warning colours, so the graph follows dark and
    /// high-contrast styles.
    // GtkStyleContext (deprecated in GTK 4.10) is the only way to read them in GTK 4.8.
    #[allow(deprecated)]
    fn colours(&self) -> Colours {
        let style = self.style_context();
        let look = |name: &str, fallback| style.lookup_color(name).map_or(fallback, |c| rgb(&c));
        (
            style.color(),
            look("accent_color", FALLBACK_FIRST),
            look("warning_color", FALLBACK_SECOND),
        )
    }

    /// The scale in the top left corner and the time span in the bottom left, small and dim.
    fn write_labels(&self, snapshot: &gtk::Snapshot, top: &str, height: f32, text: gdk::RGBA) {
        let dim = gdk::RGBA::new(text.red(), text.green(), text.blue(), 0.7);
        let span = gettext("10 minutes ago");
        let attributes = pango::AttrList::new();
        attributes.insert(pango::AttrFloat::new_scale(0.8));
        for (words, at_bottom) in [(top, false), (span.as_str(), true)] {
            if words.is_empty() {
                continue;
            }
            let layout = self.create_pango_layout(Some(words));
            layout.set_attributes(Some(&attributes));
            let (_, logical) = layout.pixel_extents();
            let y = if at_bottom {
                height - logical.height() as f32 - 3.0
            } else {
                3.0
            };
            snapshot.save();
            snapshot.translate(&graphene::Point::new(5.0, y));
            snapshot.append_layout(&layout, &dim);
            snapshot.restore();
        }
    }
}

fn draw(cr: &cairo::Context, width: f64, height: f64, data: &GraphData, colours: &Colours) {
    let (text, first, second) = colours;
    let (red, green, blue) = rgb(text);
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
    for (index, series) in data.series.iter().enumerate() {
        let colour = if index == 0 { *first } else { *second };
        for run in runs(series, data.top, width, height) {
            draw_series(cr, &run, height, colour, RUN_FILL_ALPHA);
        }
    }
}

/// The series as screen points, split where values are missing; the newest at the right
/// edge, ten minutes ago at the left.
fn runs(series: &[(f32, f32)], top: f64, width: f64, height: f64) -> Vec<Vec<(f64, f64)>> {
    let span = SPAN.as_secs_f64();
    let top = if top > 0.0 { top } else { 1.0 };
    let mut runs = vec![Vec::new()];
    for &(age, value) in series {
        if !value.is_finite() {
            runs.push(Vec::new());
            continue;
        }
        let x = width * (1.0 - f64::from(age) / span);
        let y = height * (1.0 - (f64::from(value) / top).clamp(0.0, 1.0));
        if let Some(run) = runs.last_mut() {
            run.push((x, y));
        }
    }
    runs.retain(|run| !run.is_empty());
    runs
}

/// A round top for a rate graph at or above `peak`: 1, 2 or 5 times a power of ten, and
/// never below 1 kB/s, so idle noise stays flat at the bottom.
pub fn nice_top(peak: f64) -> f64 {
    let peak = if peak.is_finite() {
        peak.max(1000.0)
    } else {
        1000.0
    };
    let power = 10f64.powf(peak.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|top| *top >= peak)
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tops_are_round_numbers() {
        assert_eq!(nice_top(0.0), 1000.0);
        assert_eq!(nice_top(f64::NAN), 1000.0);
        assert_eq!(nice_top(1500.0), 2000.0);
        assert_eq!(nice_top(2000.0), 2000.0);
        assert_eq!(nice_top(11_000_000.0), 20_000_000.0);
        assert_eq!(nice_top(4_200_000.0), 5_000_000.0);
        assert_eq!(nice_top(7_000.0), 10_000.0);
    }

    #[test]
    fn the_newest_point_is_at_the_right_and_gaps_split_the_line() {
        let series = [(600.0, 0.0), (300.0, f32::NAN), (0.0, 50.0), (0.0, 100.0)];
        let runs = runs(&series, 100.0, 600.0, 100.0);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0], vec![(0.0, 100.0)]);
        assert_eq!(runs[1], vec![(600.0, 50.0), (600.0, 0.0)]);
    }
}
