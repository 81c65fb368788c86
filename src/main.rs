fn main() -> gtk::glib::ExitCode {
    hangar::i18n::init();
    hangar::application::run()
}
