//! The Guest Agent group under the Overview: whether the agent inside the running machine
//! answers, and what it reports (OS, hostname, time zone, users, file systems with use).
//! Asked on the host's worker when the page opens, when the machine starts and every 30 s
//! while the page is open and the machine runs; never on the main thread.

use std::cell::{Cell, RefCell};

use adw::prelude::*;
use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::glib;

use crate::backend::domain::guest_info::{guest_info, GuestFilesystem, GuestInfo};
use crate::backend::error::{BackendError, ErrorKind};
use crate::i18n::gettext_f;
use crate::model::domain::format_memory;
use crate::model::Domain;

/// How often the agent is asked again while the page is open and the machine runs.
const POLL_SECONDS: u32 = 30;

/// Above this share used, a file system's bar turns to the warning colour.
const NEARLY_FULL: f64 = 0.9;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_page/guest_agent.ui")]
    pub struct GuestAgentSection {
        #[template_child]
        pub(super) status_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) status_icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub(super) os_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) hostname_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) timezone_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub(super) users_row: TemplateChild<adw::ActionRow>,
        /// One row per file system the agent reported, replaced on every answer.
        pub(super) filesystem_rows: RefCell<Vec<adw::ActionRow>>,
        pub(super) domain: glib::WeakRef<Domain>,
        /// Follows the domain starting and stopping; disconnected when the page goes, as the
        /// domain outlives it.
        pub(super) active_handler: RefCell<Option<glib::SignalHandlerId>>,
        pub(super) poll: RefCell<Option<glib::SourceId>>,
        /// A question to the agent is on its way: the next waits for its answer.
        pub(super) asking: Cell<bool>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for GuestAgentSection {
        const NAME: &'static str = "HangarGuestAgentSection";
        type Type = super::GuestAgentSection;
        type ParentType = adw::PreferencesGroup;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for GuestAgentSection {
        fn dispose(&self) {
            if let Some(poll) = self.poll.take() {
                poll.remove();
            }
            let handler = self.active_handler.take();
            if let (Some(domain), Some(handler)) = (self.domain.upgrade(), handler) {
                domain.disconnect(handler);
            }
        }
    }

    impl WidgetImpl for GuestAgentSection {}
    impl PreferencesGroupImpl for GuestAgentSection {}
}

glib::wrapper! {
    pub struct GuestAgentSection(ObjectSubclass<imp::GuestAgentSection>)
        @extends gtk::Widget, adw::PreferencesGroup,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl GuestAgentSection {
    /// Asks `domain`'s agent now, whenever it starts, and every 30 s until the page goes.
    pub fn follow(&self, domain: &Domain) {
        let imp = self.imp();
        imp.domain.set(Some(domain));
        let section = self.downgrade();
        let handler = domain.connect_is_active_notify(move |_| {
            if let Some(section) = section.upgrade() {
                section.refresh();
            }
        });
        imp.active_handler.replace(Some(handler));
        let section = self.downgrade();
        let poll = glib::timeout_add_seconds_local(POLL_SECONDS, move || match section.upgrade() {
            Some(section) => {
                section.refresh();
                glib::ControlFlow::Continue
            }
            None => glib::ControlFlow::Break,
        });
        if let Some(old) = imp.poll.replace(Some(poll)) {
            old.remove();
        }
        self.refresh();
    }

    /// Asks the agent on the host's worker, unless the machine is off or a question is out.
    fn refresh(&self) {
        let imp = self.imp();
        let Some(domain) = imp.domain.upgrade() else {
            return;
        };
        if !domain.is_active() {
            self.show_not_connected(&gettext(
                "The guest agent answers only while the virtual machine runs.",
            ));
            return;
        }
        let Some(host) = domain.host() else { return };
        if imp.asking.replace(true) {
            return;
        }
        let uuid = domain.uuid();
        glib::spawn_future_local(glib::clone!(
            #[weak(rename_to = section)]
            self,
            async move {
                let answer = host.run(move |session| guest_info(session, &uuid)).await;
                section.imp().asking.set(false);
                section.show_answer(answer);
            }
        ));
    }

    fn show_answer(&self, answer: Result<GuestInfo, BackendError>) {
        // The machine may have stopped while the question was out.
        let running = self.imp().domain.upgrade().is_some_and(|d| d.is_active());
        match answer {
            Ok(info) if running => self.show_info(&info),
            Ok(_) => self.refresh(),
            Err(error) if error.kind == ErrorKind::GuestAgentUnavailable => {
                self.show_not_connected(&gettext(
                    "Install qemu-guest-agent in the guest and give the virtual machine a guest agent channel.",
                ))
            }
            Err(error) if error.kind == ErrorKind::Unsupported => {
                self.show_not_connected(&gettext("This host cannot ask guest agents."))
            }
            Err(error) => self.show_not_connected(&error.user_message()),
        }
    }

    fn show_not_connected(&self, reason: &str) {
        let imp = self.imp();
        imp.status_row.set_title(&gettext("Not connected"));
        imp.status_row.set_subtitle(reason);
        imp.status_icon
            .set_icon_name(Some("network-offline-symbolic"));
        for row in [
            &imp.os_row,
            &imp.hostname_row,
            &imp.timezone_row,
            &imp.users_row,
        ] {
            row.set_visible(false);
        }
        self.show_filesystems(&[]);
    }

    fn show_info(&self, info: &GuestInfo) {
        let imp = self.imp();
        imp.status_row.set_title(&gettext("Connected"));
        imp.status_row.set_subtitle("");
        imp.status_icon.set_icon_name(Some("network-idle-symbolic"));
        let unknown = gettext("Unknown");
        let show = |row: &adw::ActionRow, text: Option<String>| {
            row.set_subtitle(text.as_deref().unwrap_or(&unknown));
            row.set_visible(true);
        };
        show(&imp.os_row, os_text(info));
        show(&imp.hostname_row, info.hostname.clone());
        show(&imp.timezone_row, timezone_text(info));
        let users = users_text(info);
        imp.users_row
            .set_subtitle(users.as_deref().unwrap_or(&gettext("Nobody is logged in")));
        imp.users_row.set_visible(true);
        self.show_filesystems(&info.filesystems);
    }

    /// Replaces the file system rows: mount point, type and use, with a bar of the use.
    fn show_filesystems(&self, filesystems: &[GuestFilesystem]) {
        let mut rows = self.imp().filesystem_rows.borrow_mut();
        for row in rows.drain(..) {
            self.remove(&row);
        }
        for filesystem in filesystems {
            let row = adw::ActionRow::builder()
                .title(&filesystem.mountpoint)
                .subtitle(filesystem_text(filesystem))
                .use_markup(false)
                .build();
            let icon = gtk::Image::from_icon_name("drive-harddisk-symbolic");
            row.add_prefix(&icon);
            if let Some(share) = used_share(filesystem) {
                let level = level_bar(share);
                crate::ui::a11y::set_label(
                    &level,
                    &gettext_f(
                        "{mountpoint} use",
                        &[("mountpoint", &filesystem.mountpoint)],
                    ),
                );
                row.add_suffix(&level);
            }
            self.add(&row);
            rows.push(row);
        }
    }
}

/// "Fedora Linux 40 (Workstation Edition)", or the id and version when no pretty name.
fn os_text(info: &GuestInfo) -> Option<String> {
    let os = &info.os;
    os.pretty_name.clone().or_else(|| {
        let parts: Vec<&str> = [os.id.as_deref(), os.version.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

/// "Europe/Berlin (UTC+01:00)".
fn timezone_text(info: &GuestInfo) -> Option<String> {
    let offset = info.timezone.offset_seconds.map(|seconds| {
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.abs() / 60;
        format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    });
    match (info.timezone.name.clone(), offset) {
        (Some(name), Some(offset)) => Some(format!("{name} ({offset})")),
        (name, offset) => name.or(offset),
    }
}

/// "alice, CORP\bob", each user once.
fn users_text(info: &GuestInfo) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    for user in &info.users {
        let name = match &user.domain {
            Some(domain) if !domain.is_empty() => format!("{domain}\\{}", user.name),
            _ => user.name.clone(),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    (!names.is_empty()).then(|| names.join(", "))
}

/// "ext4 · 3.2 GiB of 20 GiB used".
fn filesystem_text(filesystem: &GuestFilesystem) -> String {
    let mut parts = Vec::new();
    if let Some(fstype) = &filesystem.fstype {
        parts.push(fstype.clone());
    }
    if let (Some(used), Some(total)) = (filesystem.used_bytes, filesystem.total_bytes) {
        parts.push(gettext_f(
            "{used} of {capacity} used",
            &[
                ("used", &format_memory(used / 1024)),
                ("capacity", &format_memory(total / 1024)),
            ],
        ));
    }
    parts.join(" · ")
}

fn used_share(filesystem: &GuestFilesystem) -> Option<f64> {
    match (filesystem.used_bytes, filesystem.total_bytes) {
        (Some(used), Some(total)) if total > 0 => {
            Some((used as f64 / total as f64).clamp(0.0, 1.0))
        }
        _ => None,
    }
}

/// A bar in the accent colour that turns to the warning colour when nearly full.
fn level_bar(share: f64) -> gtk::LevelBar {
    let level = gtk::LevelBar::builder()
        .min_value(0.0)
        .max_value(1.0)
        .value(share)
        .valign(gtk::Align::Center)
        .width_request(120)
        .build();
    for name in ["low", "high", "full"] {
        level.remove_offset_value(Some(name));
    }
    level.add_offset_value("high", NEARLY_FULL);
    level.add_offset_value("low", 1.0);
    level
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::domain::guest_info::{GuestTimezone, GuestUser};

    #[test]
    fn what_the_agent_reports_reads_naturally() {
        let info = GuestInfo {
            timezone: GuestTimezone {
                name: Some("CET".into()),
                offset_seconds: Some(3600),
            },
            users: vec![
                GuestUser {
                    name: "alice".into(),
                    ..GuestUser::default()
                },
                GuestUser {
                    name: "alice".into(),
                    ..GuestUser::default()
                },
                GuestUser {
                    name: "bob".into(),
                    domain: Some("CORP".into()),
                    login_time_ms: None,
                },
            ],
            ..GuestInfo::default()
        };
        assert_eq!(timezone_text(&info).as_deref(), Some("CET (UTC+01:00)"));
        assert_eq!(users_text(&info).as_deref(), Some("alice, CORP\\bob"));
        assert_eq!(os_text(&info), None);
        let root = GuestFilesystem {
            mountpoint: "/".into(),
            fstype: Some("xfs".into()),
            total_bytes: Some(20 * 1024 * 1024 * 1024),
            used_bytes: Some(5 * 1024 * 1024 * 1024),
            ..GuestFilesystem::default()
        };
        assert_eq!(filesystem_text(&root), "xfs · 5 GiB of 20 GiB used");
        assert_eq!(used_share(&root), Some(0.25));
    }
}
