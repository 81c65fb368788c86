//! One console tab: finds where the domain's VNC server is, asks for its password when
//! needed, shows the screen, and reconnects when the guest reboots or QEMU restarts. A tab
//! can also show a bare VNC address (`hangar --vnc HOST:PORT`), with no domain behind it.

use std::cell::{Cell, RefCell};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use adw::subclass::prelude::*;
use gettextrs::gettext;
use gtk::prelude::*;
use gtk::{gio, glib};

use crate::backend::actions::DomainAction;
use crate::backend::console::{ConsoleEndpoint, ConsoleTarget};
use crate::backend::password::Password;
use crate::backend::secrets;
use crate::i18n::gettext_f;
use crate::model::Domain;
use crate::vnc::session::{display_address, VncSession, VncStream};
use crate::vnc::viewer::{ConsoleStatus, ScaleMode, VncViewer};

use super::password_entry::take_password;

/// Attempts to reconnect after the server went away while the guest still runs.
const RECONNECT_ATTEMPTS: u32 = 5;

/// Where the password of the current connection attempt came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum PasswordSource {
    /// None was sent: the server may not want one.
    #[default]
    None,
    /// Typed on the password page.
    Typed,
    /// The domain's secure XML.
    Domain,
    /// The keyring.
    Saved,
}

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/console_page.ui")]
    pub struct ConsolePage {
        #[template_child]
        pub(super) warning_bar: TemplateChild<gtk::Revealer>,
        #[template_child]
        pub(super) warning_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub(super) spinner: TemplateChild<gtk::Spinner>,
        #[template_child]
        pub(super) scroller: TemplateChild<gtk::ScrolledWindow>,
        #[template_child]
        pub(super) viewer: TemplateChild<VncViewer>,
        #[template_child]
        pub(super) password_page: TemplateChild<adw::StatusPage>,
        #[template_child]
        pub(super) password_entry: TemplateChild<gtk::PasswordEntry>,
        #[template_child]
        pub(super) remember_check: TemplateChild<gtk::CheckButton>,
        #[template_child]
        pub(super) password_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) start_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub(super) problem_page: TemplateChild<adw::StatusPage>,
        #[template_child]
        pub(super) retry_button: TemplateChild<gtk::Button>,
        pub(super) domain: RefCell<Option<Domain>>,
        /// The server's host and port, for a tab opened on an address rather than a domain.
        pub(super) address: RefCell<Option<(String, u16)>>,
        /// The password of the current attempt, kept only until the server accepts it.
        pub(super) typed_password: RefCell<Option<Password>>,
        pub(super) password_source: Cell<PasswordSource>,
        /// The server asked for a password although none seemed needed (a bare address,
        /// or a password set host-wide): the keyring is looked at before connecting.
        pub(super) server_asks_password: Cell<bool>,
        pub(super) reconnects_left: Cell<u32>,
        pub(super) tunnel: RefCell<Option<Child>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ConsolePage {
        const NAME: &'static str = "HangarConsolePage";
        type Type = super::ConsolePage;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            VncViewer::ensure_type();
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ConsolePage {
        fn constructed(&self) {
            self.parent_constructed();
            self.obj().setup_controls();
            crate::ui::a11y::name_controls(&*self.obj());
        }

        fn dispose(&self) {
            self.viewer.end_session();
            self.obj().stop_tunnel();
        }
    }

    impl WidgetImpl for ConsolePage {}
    impl BoxImpl for ConsolePage {}
}

glib::wrapper! {
    pub struct ConsolePage(ObjectSubclass<imp::ConsolePage>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl ConsolePage {
    /// A tab for `domain`'s console; it starts connecting at once.
    pub fn new(domain: &Domain) -> Self {
        let page: Self = glib::Object::new();
        page.imp().domain.replace(Some(domain.clone()));
        page.follow_domain_state(domain);
        page.connect_console();
        page
    }

    /// A tab for the VNC server at `host`:`port`; it starts connecting at once. Without a
    /// domain there is nothing to start and no reconnecting on its own; a remembered
    /// password is kept under the address.
    pub fn for_address(host: &str, port: u16) -> Self {
        let page: Self = glib::Object::new();
        page.imp().address.replace(Some((host.to_owned(), port)));
        page.connect_console();
        page
    }

    pub fn domain(&self) -> Option<Domain> {
        self.imp().domain.borrow().clone()
    }

    /// The host and port of a tab made with `for_address`.
    pub fn address(&self) -> Option<(String, u16)> {
        self.imp().address.borrow().clone()
    }

    pub fn viewer(&self) -> VncViewer {
        self.imp().viewer.get()
    }

    /// Fit the window (true) or show one remote pixel per screen pixel, with scrolling.
    pub fn set_fit_to_window(&self, fit: bool) {
        let imp = self.imp();
        imp.viewer.set_scale_mode(if fit {
            ScaleMode::Fit
        } else {
            ScaleMode::OneToOne
        });
        let policy = if fit {
            gtk::PolicyType::Never
        } else {
            gtk::PolicyType::Automatic
        };
        imp.scroller.set_policy(policy, policy);
    }

    fn setup_controls(&self) {
        let imp = self.imp();
        imp.viewer.connect_status(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move |_, status| page.on_status(status)
        ));
        imp.retry_button.connect_clicked(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move |_| page.connect_console()
        ));
        imp.start_button.connect_clicked(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move |_| page.start_guest()
        ));
        let submit = glib::clone!(
            #[weak(rename_to = page)]
            self,
            move || page.submit_password()
        );
        let submit_again = submit.clone();
        imp.password_button.connect_clicked(move |_| submit());
        imp.password_entry.connect_activate(move |_| submit_again());
        self.set_fit_to_window(true);
    }

    /// Reconnects by itself when the guest comes back (reboot, restart of QEMU).
    fn follow_domain_state(&self, domain: &Domain) {
        domain.connect_is_active_notify(glib::clone!(
            #[weak(rename_to = page)]
            self,
            move |domain| {
                let showing = page.imp().stack.visible_child_name();
                let waiting = matches!(showing.as_deref(), Some("not-running" | "problem"));
                if domain.is_active() && waiting {
                    // QEMU opens its VNC port a moment after the domain starts.
                    glib::timeout_add_local_once(Duration::from_millis(800), move || {
                        page.connect_console();
                    });
                } else if !domain.is_active() {
                    page.imp().viewer.end_session();
                    page.show("not-running");
                }
            }
        ));
    }

    fn show(&self, name: &str) {
        let imp = self.imp();
        imp.spinner.set_spinning(name == "connecting");
        imp.stack.set_visible_child_name(name);
        if name == "viewer" {
            imp.viewer.grab_focus();
        }
    }

    /// A standing warning above the screen, e.g. for a console open to everyone.
    fn show_warning(&self, warning: Option<&str>) {
        let imp = self.imp();
        imp.warning_label.set_label(warning.unwrap_or_default());
        imp.warning_bar.set_reveal_child(warning.is_some());
    }

    fn show_problem(&self, reason: &str) {
        self.imp().problem_page.set_description(Some(reason));
        self.show("problem");
    }

    /// Asks the host where the console is (a bare address needs no asking), then connects.
    fn connect_console(&self) {
        if let Some((host, port)) = self.address() {
            self.show("connecting");
            let page = self.downgrade();
            glib::spawn_future_local(async move {
                let Some(page) = page.upgrade() else { return };
                // Whether it wants a password is known only once the server says so.
                let endpoint = ConsoleEndpoint::Tcp { host, port };
                page.open(endpoint, None, false).await;
            });
            return;
        }
        let Some(domain) = self.domain() else { return };
        let Some(host) = domain.host() else {
            self.show_problem(&gettext("The host of this virtual machine is gone."));
            return;
        };
        self.show("connecting");
        let page = self.downgrade();
        glib::spawn_future_local(async move {
            let target = host.console_target(&domain.uuid()).await;
            let Some(page) = page.upgrade() else { return };
            match target {
                Err(error) => page.show_problem(&error.user_message()),
                Ok(ConsoleTarget::NotRunning) => page.show("not-running"),
                Ok(ConsoleTarget::NoVnc) => page.show_problem(&gettext(
                    "This virtual machine has no VNC display. Add one in its settings to see its screen here.",
                )),
                Ok(ConsoleTarget::Unreachable(reason)) => page.show_problem(&reason),
                Ok(ConsoleTarget::Ready {
                    endpoint,
                    password,
                    needs_password,
                    warning,
                }) => {
                    page.show_warning(warning.as_deref());
                    page.open(endpoint, password, needs_password).await;
                }
            }
        });
    }

    async fn open(&self, endpoint: ConsoleEndpoint, known: Option<Password>, needs_password: bool) {
        let needs_password = needs_password || self.imp().server_asks_password.get();
        let (password, source) = self.choose_password(known, needs_password).await;
        if needs_password && password.is_none() {
            self.ask_password(None);
            return;
        }
        let stream = match self.stream_for(endpoint) {
            Ok(stream) => stream,
            Err(reason) => return self.show_problem(&reason),
        };
        self.imp().password_source.set(source);
        let (session, events) = VncSession::connect(stream, password);
        self.imp().viewer.connect_session(session, events);
    }

    /// A typed password first, then the one in the domain's XML, then the keyring's (only
    /// when the server wants one: looking may wait for the keyring to be unlocked).
    async fn choose_password(
        &self,
        known: Option<Password>,
        needs_password: bool,
    ) -> (Option<Password>, PasswordSource) {
        let typed = self.imp().typed_password.borrow().clone();
        if let Some(typed) = typed {
            return (Some(typed), PasswordSource::Typed);
        }
        if let Some(known) = known {
            return (Some(known), PasswordSource::Domain);
        }
        if needs_password {
            if let Some(saved) = self.saved_password().await {
                return (Some(saved), PasswordSource::Saved);
            }
        }
        (None, PasswordSource::None)
    }

    fn stream_for(&self, endpoint: ConsoleEndpoint) -> Result<VncStream, String> {
        Ok(match endpoint {
            ConsoleEndpoint::Tcp { host, port } => VncStream::Tcp { host, port },
            ConsoleEndpoint::Socket(socket) => VncStream::Fd(socket),
            ConsoleEndpoint::SshTunnel {
                destination,
                ssh_port,
                keyfile,
                target_host,
                target_port,
            } => VncStream::Fd(self.start_tunnel(
                &destination,
                ssh_port,
                keyfile.as_deref(),
                &format!("{target_host}:{target_port}"),
            )?),
        })
    }

    /// Runs `ssh -W` with one end of a socket pair as its stdin and stdout; the other end
    /// carries RFB. ssh uses the user's agent and keys, never a password from Hangar.
    fn start_tunnel(
        &self,
        destination: &str,
        ssh_port: Option<u16>,
        keyfile: Option<&str>,
        target: &str,
    ) -> Result<OwnedFd, String> {
        self.stop_tunnel();
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(|e| e.to_string())?;
        let theirs_out = theirs.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new("ssh");
        command.args(["-o", "BatchMode=yes", "-W", target]);
        if let Some(port) = ssh_port {
            command.args(["-p", &port.to_string()]);
        }
        if let Some(keyfile) = keyfile {
            command.args(["-i", keyfile]);
        }
        let child = command
            .arg(destination)
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::from(OwnedFd::from(theirs_out)))
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| {
                gettext_f(
                    "Could not start ssh for the console: {error}",
                    &[("error", &error.to_string())],
                )
            })?;
        self.imp().tunnel.replace(Some(child));
        Ok(OwnedFd::from(ours))
    }

    fn stop_tunnel(&self) {
        if let Some(mut child) = self.imp().tunnel.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `vnc:<domain uuid>`, or `vnc:HOST:PORT` for a tab on an address.
    fn keyring_key(&self) -> Option<String> {
        match (self.domain(), self.address()) {
            (Some(domain), _) => Some(secrets::vnc_password_key(&domain.uuid())),
            (None, Some((host, port))) => Some(format!("vnc:{}", display_address(&host, port))),
            (None, None) => None,
        }
    }

    /// The domain's name, or the address of a tab on an address.
    fn console_name(&self) -> Option<String> {
        match (self.domain(), self.address()) {
            (Some(domain), _) => Some(domain.name()),
            (None, Some((host, port))) => Some(display_address(&host, port)),
            (None, None) => None,
        }
    }

    async fn saved_password(&self) -> Option<Password> {
        let key = self.keyring_key()?;
        gio::spawn_blocking(move || secrets::lookup_password(&key).ok().flatten())
            .await
            .ok()
            .flatten()
    }

    fn ask_password(&self, reason: Option<&str>) {
        let imp = self.imp();
        imp.typed_password.replace(None);
        let description = match reason {
            Some(reason) => format!("{reason} {}", gettext("Try again.")),
            None => gettext("This console asks for its VNC password."),
        };
        imp.password_page.set_description(Some(&description));
        imp.password_entry.set_text("");
        self.show("password");
        imp.password_entry.grab_focus();
    }

    fn submit_password(&self) {
        let imp = self.imp();
        let password = take_password(&*imp.password_entry);
        imp.typed_password.replace(Some(password));
        self.connect_console();
    }

    fn on_status(&self, status: &ConsoleStatus) {
        let imp = self.imp();
        match status {
            ConsoleStatus::Idle => {}
            ConsoleStatus::Connecting => self.show("connecting"),
            ConsoleStatus::Connected => {
                imp.reconnects_left.set(RECONNECT_ATTEMPTS);
                self.remember_typed_password();
                self.show("viewer");
            }
            ConsoleStatus::AuthFailed(reason) => self.after_auth_failed(reason),
            ConsoleStatus::Disconnected(None) => {}
            ConsoleStatus::Disconnected(Some(reason)) => self.after_disconnect(reason),
        }
    }

    /// The server wants a password, or refused the one it got. A refused password, typed or
    /// saved, is never tried again on its own: the password page says why.
    fn after_auth_failed(&self, reason: &str) {
        let imp = self.imp();
        if imp.password_source.get() != PasswordSource::None {
            self.ask_password(Some(reason));
        } else if !imp.server_asks_password.replace(true) {
            // Asked for one that nothing said it needs: try the keyring's, if any.
            self.connect_console();
        } else {
            self.ask_password(None);
        }
    }

    /// The guest rebooted or QEMU restarted: try again a few times while it still runs.
    fn after_disconnect(&self, reason: &str) {
        let imp = self.imp();
        if self.address().is_some() {
            // No domain to ask whether the server should be back: the user may try again.
            self.show_problem(reason);
            return;
        }
        let still_running = self.domain().is_some_and(|domain| domain.is_active());
        if !still_running {
            self.show("not-running");
            return;
        }
        let left = imp.reconnects_left.get();
        if left == 0 {
            self.show_problem(reason);
            return;
        }
        imp.reconnects_left.set(left - 1);
        self.show("connecting");
        let page = self.downgrade();
        glib::timeout_add_local_once(Duration::from_secs(1), move || {
            if let Some(page) = page.upgrade() {
                page.connect_console();
            }
        });
    }

    /// Stores a typed VNC password once the server accepted it, if the user asked to.
    fn remember_typed_password(&self) {
        let imp = self.imp();
        let Some(password) = imp.typed_password.take() else {
            return;
        };
        if !imp.remember_check.is_active() {
            return;
        }
        let (Some(key), Some(name)) = (self.keyring_key(), self.console_name()) else {
            return;
        };
        let label = secrets::vnc_password_label(&name);
        gio::spawn_blocking(move || {
            let _ = secrets::store_password(&key, &label, &password);
        });
    }

    fn start_guest(&self) {
        let Some(domain) = self.domain() else { return };
        if let Some(host) = domain.host() {
            host.run_action(vec![domain.uuid()], DomainAction::Start);
        }
        self.show("connecting");
    }
}
