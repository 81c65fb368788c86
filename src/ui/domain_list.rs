//! The domain list: one host's domains, or every host's while searching, filtered by state,
//! sorted, with several rows selectable at once. Rows are recycled, so thousands cost what
//! the visible ones do.

use std::cell::RefCell;

use adw::subclass::prelude::*;
use gtk::prelude::*;
use gtk::{gio, glib};

use super::DomainRow;
use crate::backend::domain::DomainState;
use crate::model::domain::state_rank;
use crate::model::{Domain, Host};

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(resource = "/io/github/hangarvm/Hangar/domain_list.ui")]
    pub struct DomainList {
        #[template_child]
        pub(super) search_bar: TemplateChild<gtk::SearchBar>,
        #[template_child]
        pub(super) search_entry: TemplateChild<gtk::SearchEntry>,
        #[template_child]
        pub(super) state_filter: TemplateChild<gtk::DropDown>,
        #[template_child]
        pub(super) sort_by: TemplateChild<gtk::DropDown>,
        #[template_child]
        pub(super) count_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub(super) stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub(super) list_view: TemplateChild<gtk::ListView>,
        pub(super) filter: RefCell<Option<gtk::CustomFilter>>,
        pub(super) filtered: RefCell<Option<gtk::FilterListModel>>,
        pub(super) sorted: RefCell<Option<gtk::SortListModel>>,
        pub(super) selection: RefCell<Option<gtk::MultiSelection>>,
        pub(super) host_domains: RefCell<Option<gio::ListModel>>,
        pub(super) all_domains: RefCell<Option<gio::ListModel>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for DomainList {
        const NAME: &'static str = "HangarDomainList";
        type Type = super::DomainList;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for DomainList {
        fn constructed(&self) {
            self.parent_constructed();
            let list = self.obj();
            list.build_pipeline();
            list.setup_factory();
            list.follow_controls();
        }
    }

    impl WidgetImpl for DomainList {}
    impl BoxImpl for DomainList {}
}

glib::wrapper! {
    pub struct DomainList(ObjectSubclass<imp::DomainList>)
        @extends gtk::Widget, gtk::Box,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl Default for DomainList {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl DomainList {
    /// Every host's domains, searched when the user types in the search bar.
    pub fn set_hosts(&self, hosts: &gio::ListStore) {
        let per_host = gtk::MapListModel::new(Some(hosts.clone()), |object| {
            object
                .downcast_ref::<Host>()
                .map(|host| host.domain_store().upcast::<glib::Object>())
                .unwrap_or_else(|| gio::ListStore::new::<Domain>().upcast())
        });
        let all = gtk::FlattenListModel::new(Some(per_host));
        self.imp().all_domains.replace(Some(all.upcast()));
        self.follow_hosts(hosts, 0, hosts.n_items());
        hosts.connect_items_changed(glib::clone!(
            #[weak(rename_to = list)]
            self,
            move |hosts, position, _, added| list.follow_hosts(hosts, position, added)
        ));
        self.update_source();
    }

    /// A filtered list must look again when a domain's state, title or address changes:
    /// the filter model only re-checks items it is told about.
    fn follow_hosts(&self, hosts: &gio::ListStore, first: u32, count: u32) {
        for position in first..first + count {
            let Some(host) = hosts.item(position).and_downcast::<Host>() else {
                continue;
            };
            host.connect_local(
                "domains-updated",
                false,
                glib::clone!(
                    #[weak(rename_to = list)]
                    self,
                    #[upgrade_or]
                    None,
                    move |_| {
                        list.refilter_if_filtering();
                        None
                    }
                ),
            );
        }
    }

    fn refilter_if_filtering(&self) {
        let imp = self.imp();
        if self.is_searching() || imp.state_filter.selected() != 0 {
            self.refilter();
        }
    }

    /// The host whose domains show when not searching.
    pub fn set_host(&self, host: Option<&Host>) {
        let domains = host.map(|host| host.domain_store().upcast::<gio::ListModel>());
        self.imp().host_domains.replace(domains);
        self.update_source();
    }

    /// Lets typing anywhere in `window` start a search.
    pub fn capture_typing_from(&self, window: &impl IsA<gtk::Widget>) {
        self.imp().search_bar.set_key_capture_widget(Some(window));
    }

    pub fn toggle_search(&self) {
        let bar = &self.imp().search_bar;
        bar.set_search_mode(!bar.is_search_mode());
        if bar.is_search_mode() {
            self.imp().search_entry.grab_focus();
        }
    }

    /// Calls `f` with a domain the user activated (double-click, Enter).
    pub fn connect_domain_activated<F: Fn(&Self, &Domain) + 'static>(&self, f: F) {
        let list = self.downgrade();
        self.imp()
            .list_view
            .connect_activate(move |view, position| {
                let Some(list) = list.upgrade() else { return };
                let Some(model) = view.model() else { return };
                model.select_item(position, true);
                if let Some(domain) = model.item(position).and_downcast::<Domain>() {
                    f(&list, &domain);
                }
            });
    }

    /// Calls `f` when the search text changes.
    pub fn connect_search_changed<F: Fn(&Self) + 'static>(&self, f: F) {
        let list = self.downgrade();
        self.imp().search_entry.connect_search_changed(move |_| {
            if let Some(list) = list.upgrade() {
                f(&list);
            }
        });
    }

    /// True while the list shows search results from every host.
    pub fn is_searching(&self) -> bool {
        !self.imp().search_entry.text().trim().is_empty()
    }

    /// The selected domains, or none.
    pub fn selected_domains(&self) -> Vec<Domain> {
        let Some(selection) = self.imp().selection.borrow().clone() else {
            return Vec::new();
        };
        let chosen = selection.selection();
        (0..chosen.size())
            .filter_map(|index| selection.item(chosen.nth(index as u32)))
            .filter_map(|object| object.downcast::<Domain>().ok())
            .collect()
    }

    /// Calls `f` whenever the selection changes.
    pub fn connect_selection_changed<F: Fn(&Self) + 'static>(&self, f: F) {
        if let Some(selection) = self.imp().selection.borrow().as_ref() {
            let list = self.downgrade();
            selection.connect_selection_changed(move |_, _, _| {
                if let Some(list) = list.upgrade() {
                    f(&list);
                }
            });
        }
    }

    fn build_pipeline(&self) {
        let imp = self.imp();
        let filter = gtk::CustomFilter::new(glib::clone!(
            #[weak(rename_to = list)]
            self,
            #[upgrade_or]
            true,
            move |object| object
                .downcast_ref::<Domain>()
                .is_some_and(|domain| list.matches(domain))
        ));
        let filtered = gtk::FilterListModel::new(None::<gio::ListModel>, Some(filter.clone()));
        let sorted = gtk::SortListModel::new(Some(filtered.clone()), Some(name_sorter()));
        let selection = gtk::MultiSelection::new(Some(sorted.clone()));
        imp.list_view.set_model(Some(&selection));
        filtered.connect_items_changed(glib::clone!(
            #[weak(rename_to = list)]
            self,
            move |_, _, _, _| list.show_count()
        ));
        imp.filter.replace(Some(filter));
        imp.filtered.replace(Some(filtered));
        imp.sorted.replace(Some(sorted));
        imp.selection.replace(Some(selection));
    }

    fn setup_factory(&self) {
        let factory = gtk::SignalListItemFactory::new();
        factory.connect_setup(|_, item| {
            if let Some(item) = item.downcast_ref::<gtk::ListItem>() {
                item.set_child(Some(&DomainRow::new()));
            }
        });
        let list = self.downgrade();
        factory.connect_bind(move |_, item| {
            let Some(item) = item.downcast_ref::<gtk::ListItem>() else {
                return;
            };
            let row = item.child().and_downcast::<DomainRow>();
            let domain = item.item().and_downcast::<Domain>();
            let searching = list.upgrade().is_some_and(|list| list.is_searching());
            if let (Some(row), Some(domain)) = (row, domain) {
                row.bind(&domain, searching);
                crate::diagnostics::first_rows_shown();
            }
        });
        factory.connect_unbind(|_, item| {
            let Some(item) = item.downcast_ref::<gtk::ListItem>() else {
                return;
            };
            if let Some(row) = item.child().and_downcast::<DomainRow>() {
                row.unbind();
            }
        });
        self.imp().list_view.set_factory(Some(&factory));
    }

    fn follow_controls(&self) {
        let imp = self.imp();
        imp.search_entry.connect_search_changed(glib::clone!(
            #[weak(rename_to = list)]
            self,
            move |_| list.update_source()
        ));
        imp.state_filter.connect_selected_notify(glib::clone!(
            #[weak(rename_to = list)]
            self,
            move |_| list.refilter()
        ));
        imp.sort_by.connect_selected_notify(glib::clone!(
            #[weak(rename_to = list)]
            self,
            move |dropdown| list.sort_by(dropdown.selected())
        ));
    }

    /// Searching looks at every host; otherwise only the current one.
    fn update_source(&self) {
        let imp = self.imp();
        let source = if self.is_searching() {
            imp.all_domains.borrow().clone()
        } else {
            imp.host_domains.borrow().clone()
        };
        if let Some(filtered) = imp.filtered.borrow().as_ref() {
            filtered.set_model(source.as_ref());
        }
        self.refilter();
    }

    fn refilter(&self) {
        if let Some(filter) = self.imp().filter.borrow().as_ref() {
            filter.changed(gtk::FilterChange::Different);
        }
        self.show_count();
    }

    fn matches(&self, domain: &Domain) -> bool {
        let imp = self.imp();
        let state_ok = match imp.state_filter.selected() {
            1 => domain.state().is_active() && domain.state() != DomainState::Paused,
            2 => matches!(domain.state(), DomainState::Paused | DomainState::Suspended),
            3 => !domain.state().is_active(),
            _ => true,
        };
        let query = imp.search_entry.text().trim().to_lowercase();
        state_ok
            && (query.is_empty()
                || [
                    domain.name(),
                    domain.title(),
                    domain.state_label(),
                    domain.addresses(),
                    domain.host_name(),
                ]
                .iter()
                .any(|text| text.to_lowercase().contains(&query)))
    }

    fn sort_by(&self, choice: u32) {
        let sorter: gtk::Sorter = match choice {
            1 => custom_sorter(|a, b| state_rank(a.state()).cmp(&state_rank(b.state()))),
            2 => custom_sorter(|a, b| b.cpu_percent().total_cmp(&a.cpu_percent())),
            3 => custom_sorter(|a, b| b.memory_kib().cmp(&a.memory_kib())),
            _ => name_sorter(),
        };
        if let Some(sorted) = self.imp().sorted.borrow().as_ref() {
            sorted.set_sorter(Some(&sorter));
        }
    }

    fn show_count(&self) {
        let imp = self.imp();
        let shown = imp
            .filtered
            .borrow()
            .as_ref()
            .map(|model| model.n_items())
            .unwrap_or(0);
        let text =
            gettextrs::ngettext("{count} virtual machine", "{count} virtual machines", shown)
                .replace("{count}", &shown.to_string());
        imp.count_label.set_label(&text);
        imp.stack
            .set_visible_child_name(if shown == 0 { "no-results" } else { "list" });
    }
}

fn name_sorter() -> gtk::Sorter {
    gtk::StringSorter::new(Some(gtk::PropertyExpression::new(
        Domain::static_type(),
        None::<gtk::Expression>,
        "name",
    )))
    .upcast()
}

/// A sorter comparing domains with `compare`, then by name so equal ones keep a stable order.
fn custom_sorter(compare: fn(&Domain, &Domain) -> std::cmp::Ordering) -> gtk::Sorter {
    gtk::CustomSorter::new(move |a, b| {
        let (Some(a), Some(b)) = (a.downcast_ref::<Domain>(), b.downcast_ref::<Domain>()) else {
            return gtk::Ordering::Equal;
        };
        compare(a, b).then_with(|| a.name().cmp(&b.name())).into()
    })
    .upcast()
}
