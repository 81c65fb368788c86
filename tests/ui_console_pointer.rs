//! The pointer through the real app's scaled console: a click where the remote screen is
//! drawn reaches the VNC server at the remote pixel drawn there. The server is a TigerVNC
//! `Xvnc` with a one-colour screen larger than the window, and `xev` on its root window
//! reports the presses it gets (helpers in tests/common/xvnc.rs).

mod common;

use std::process::Command;
use std::time::Duration;

use common::screen::{Area, Screenshot};
use common::xvnc::{xvnc_turn, ButtonPress, Security, Xev, Xvnc};
use common::RunningApp;

/// The remote screen: larger than the console window, so fit-to-window shrinks it.
const REMOTE: (i32, i32) = (1600, 1200);
/// The remote root window's colour (xsetroot), to find where the screen is drawn.
const ROOT_COLOUR: [u8; 3] = [0x33, 0x66, 0xcc];
/// How far (in remote pixels) a press may land from where it was aimed.
const SLACK: i32 = 2;

/// Moves the test bed's pointer to (x, y) on its screen and presses `button` there.
fn click_at(x: i32, y: i32, button: u32) {
    let status = Command::new("xdotool")
        .args(["mousemove", &x.to_string(), &y.to_string()])
        .args(["click", &button.to_string()])
        .status()
        .expect("run xdotool");
    assert!(status.success(), "xdotool failed");
}

/// Where the remote screen is drawn: the one-coloured rectangle inside the viewer, once it
/// is complete (every pixel of it the root colour, in the remote screen's proportions).
fn drawn_screen(app: &RunningApp) -> Area {
    app.wait_for_names(60, &["Console"])
        .expect("the console shows a screen");
    // AT-SPI's extents can be off by a few pixels (GTK 4.8 under X11): look a little wider.
    let viewer = app.extents("Console").expect("where the console is");
    let around_viewer = viewer.grown(8);
    let mut last = (std::path::PathBuf::new(), None);
    let found = common::wait_for(Duration::from_secs(30), || {
        let shot = app.screenshot("console-pointer-scaled");
        let bounds = Screenshot::load(&shot).bounds_of(ROOT_COLOUR, 2, around_viewer);
        last = (shot, bounds);
        let (area, matching) = bounds?;
        let complete = matching == i64::from(area.width) * i64::from(area.height);
        let proportions = f64::from(area.width) / f64::from(area.height);
        let remote = f64::from(REMOTE.0) / f64::from(REMOTE.1);
        (complete && (proportions - remote).abs() < 0.01).then_some(area)
    });
    found.unwrap_or_else(|| {
        panic!(
            "no complete remote screen in the viewer {viewer:?}; last found {:?}: {}\n{}",
            last.1,
            last.0.display(),
            app.log()
        )
    })
}

#[test]
fn clicks_on_the_scaled_screen_reach_the_remote_pixel_under_them() {
    if common::testbed_var("HANGAR_TEST_DESKTOP").is_none() {
        return;
    }
    let _xvnc_turn = xvnc_turn();
    let xvnc = Xvnc::start_with_size(Security::None, (REMOTE.0 as u32, REMOTE.1 as u32));
    xvnc.run_client("xsetroot", &["-solid", "#3366cc"]);
    let xev = Xev::start_on_root(xvnc.display);
    let (app, _turn) = RunningApp::start(&["--vnc", &xvnc.address()]).expect("the desktop");

    // Fit to window is on by default: the screen is shrunk, not shown 1:1.
    let screen = drawn_screen(&app);
    let scale = f64::from(screen.width) / f64::from(REMOTE.0);
    assert!(
        (0.3..0.9).contains(&scale),
        "the remote screen is drawn at {screen:?}, scale {scale:.3}"
    );

    // Off the centre, where a wrong scale or offset would show: a left click, a right
    // click, then a wheel step down (button 5).
    let aims = [(0.25, 0.70, 1), (0.85, 0.15, 3), (0.60, 0.90, 5)];
    let mut expected = Vec::new();
    for (share_x, share_y, button) in aims {
        let x = screen.x + (share_x * f64::from(screen.width)) as i32;
        let y = screen.y + (share_y * f64::from(screen.height)) as i32;
        click_at(x, y, button);
        // The remote pixel drawn at the point clicked.
        let remote =
            |on_screen: i32, start: i32| (f64::from(on_screen - start) / scale).floor() as i32;
        expected.push(ButtonPress {
            button,
            root: (remote(x, screen.x), remote(y, screen.y)),
        });
    }
    let pressed = xev.wait_for_button_presses(expected.len());
    assert_eq!(
        pressed.len(),
        expected.len(),
        "xev got other presses too:\n{}",
        xev.output()
    );
    eprintln!(
        "screen drawn at {screen:?} (scale {scale:.3}); aimed {expected:?}; xev got {pressed:?}"
    );
    for (got, want) in pressed.iter().zip(&expected) {
        let close =
            (got.root.0 - want.root.0).abs() <= SLACK && (got.root.1 - want.root.1).abs() <= SLACK;
        assert!(
            got.button == want.button && close,
            "aimed {want:?} (screen drawn at {screen:?}, scale {scale:.3}), xev got {got:?}:\n{}",
            xev.output()
        );
    }
}
