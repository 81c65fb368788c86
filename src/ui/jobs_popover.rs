//! The header bar's Jobs popover: each running job with its progress bar, speed and time
//! left, and a Cancel button.

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use crate::i18n::gettext_f;
use crate::model::{JobItem, JobList};

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/jobs_popover.ui")]
    pub struct JobsPopover {
        #[template_child]
        pub(super) job_list: TemplateChild<gtk::ListBox>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for JobsPopover {
        const NAME: &'static str = "HangarJobsPopover";
        type Type = super::JobsPopover;
        type ParentType = gtk::Popover;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for JobsPopover {
        fn constructed(&self) {
            self.parent_constructed();
            let placeholder = gtk::Label::new(Some(&gettext("No jobs are running.")));
            placeholder.add_css_class("dim-label");
            placeholder.set_margin_top(12);
            placeholder.set_margin_bottom(12);
            self.job_list.set_placeholder(Some(&placeholder));
            self.job_list
                .bind_model(Some(&JobList::get().store()), |object| {
                    match object.downcast_ref::<JobItem>() {
                        Some(job) => job_row(job).upcast(),
                        None => gtk::ListBoxRow::new().upcast(),
                    }
                });
        }
    }

    impl WidgetImpl for JobsPopover {}
    impl PopoverImpl for JobsPopover {}
}

glib::wrapper! {
    pub struct JobsPopover(ObjectSubclass<imp::JobsPopover>)
        @extends gtk::Widget, gtk::Popover,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native, gtk::ShortcutManager;
}

impl Default for JobsPopover {
    fn default() -> Self {
        glib::Object::new()
    }
}

/// A job's row: title, progress bar, speed and time left, Cancel.
fn job_row(job: &JobItem) -> gtk::ListBoxRow {
    // One line, shortened in the middle (file names keep their ends), the whole title in
    // the tooltip: a wrapped label makes the popover measure its height for another width.
    let title = gtk::Label::builder()
        .label(job.title())
        .xalign(0.0)
        .ellipsize(gtk::pango::EllipsizeMode::Middle)
        .tooltip_text(job.title())
        .build();
    let bar = gtk::ProgressBar::new();
    bar.set_fraction(job.fraction());
    crate::ui::a11y::set_label(&bar, &job.title());
    let status = gtk::Label::builder()
        .label(job.status())
        .xalign(0.0)
        .hexpand(true)
        .build();
    status.add_css_class("dim-label");
    status.add_css_class("caption");
    status.add_css_class("numeric");
    let cancel = gtk::Button::builder()
        .icon_name("process-stop-symbolic")
        .tooltip_text(gettext("Cancel"))
        .valign(gtk::Align::Center)
        .build();
    cancel.add_css_class("flat");
    cancel.add_css_class("circular");
    crate::ui::a11y::set_label(
        &cancel,
        &gettext_f("Cancel {job}", &[("job", &job.title())]),
    );
    cancel.connect_clicked(glib::clone!(
        #[weak]
        job,
        move |button| {
            job.cancel();
            button.set_sensitive(false);
        }
    ));
    job.bind_property("fraction", &bar, "fraction")
        .sync_create()
        .build();
    job.bind_property("status", &status, "label")
        .sync_create()
        .build();
    let text = gtk::Box::new(gtk::Orientation::Vertical, 6);
    text.set_hexpand(true);
    text.append(&title);
    text.append(&bar);
    text.append(&status);
    let content = gtk::Box::new(gtk::Orientation::Horizontal, 12);
    content.set_margin_top(12);
    content.set_margin_bottom(12);
    content.set_margin_start(12);
    content.set_margin_end(12);
    content.append(&text);
    content.append(&cancel);
    let row = gtk::ListBoxRow::builder()
        .child(&content)
        .activatable(false)
        .build();
    crate::ui::a11y::set_label(&row, &job.title());
    row
}
