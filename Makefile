# Hangar: `make run` opens the app on the demo host; `make test` runs every check and test.
# Both install the Debian packages that are missing first (tools/install-deps.sh).

CARGO ?= cargo
# The test bed gives tests a private HOME; cargo and rustup must still find the toolchain.
export CARGO_HOME ?= $(HOME)/.cargo
export RUSTUP_HOME ?= $(HOME)/.rustup
export PATH := $(CARGO_HOME)/bin:$(PATH)

.PHONY: run test bench deps toolchain build lint pot screenshot clean

run: deps toolchain
	$(CARGO) run --bin hangar -- --demo

test: deps toolchain lint
	$(CARGO) build --all-targets
	HANGAR_REQUIRE_TESTBED=1 tests/testbed/run.sh $(CARGO) test --all-targets --no-fail-fast

# The domain-list benchmark (benches/domain_list.rs) in the test bed: the real app on its
# desktop, and the backend through its libvirtd. Built with the dev profile, the one `make
# test` builds: a second (release) profile would cost another full build (about 11 min on
# 2 cores), and unoptimised Rust only makes the figures pessimistic. Built before the test
# bed starts, so no service idles through a build.
#
# Then the console benchmark (benches/vnc_console.rs): Hangar and TigerVNC's viewer against a
# 1080p RFB server, on the test bed's desktop alone. It needs optimised code, so it builds
# with the bench-opt profile (Cargo.toml): Hangar optimised, most dependencies as in dev.
bench: deps toolchain
	$(CARGO) bench --profile dev --bench domain_list --no-run
	$(CARGO) bench --profile dev --bench upload_job --no-run
	$(CARGO) bench --profile bench-opt --bench vnc_console --no-run
	tests/testbed/run.sh $(CARGO) bench --profile dev --bench domain_list
	TESTBED_SERVICES=libvirtd tests/testbed/run.sh $(CARGO) bench --profile dev --bench upload_job
	TESTBED_SERVICES=desktop tests/testbed/run.sh $(CARGO) bench --profile bench-opt --bench vnc_console

deps:
	@tools/install-deps.sh

toolchain:
	@command -v $(CARGO) >/dev/null || { echo "Rust is missing: install it from https://rustup.rs (Debian's cargo is too old)"; exit 1; }
	@if command -v rustup >/dev/null; then \
	  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt; \
	  rustup component list --installed | grep -q '^clippy' || rustup component add clippy; \
	fi

build: deps toolchain
	$(CARGO) build

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# Regenerates po/hangar.pot and merges it into the translations.
pot:
	po/update-pot.sh

# The README's screenshots: the demo host and a machine's details page in a headless desktop.
screenshot: build
	TESTBED_SERVICES=desktop tests/testbed/run.sh tools/screenshot.sh data/screenshots/main-window.png --demo
	SCREENSHOT_WINDOW='win11-desktop — Details' TESTBED_SERVICES=desktop tests/testbed/run.sh \
		tools/screenshot.sh data/screenshots/details-page.png --demo --show-domain-editor win11-desktop

clean:
	$(CARGO) clean
