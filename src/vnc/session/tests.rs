//! Tests of `session`.

use super::*;

#[test]
fn ipv6_addresses_get_brackets() {
    assert_eq!(display_address("::1", 5900), "[::1]:5900");
    assert_eq!(display_address("nas.local", 5901), "nas.local:5901");
}

#[test]
fn cursor_pixels_turn_from_bgra_to_rgba() {
    let rect = vnc::Rect {
        x: 3,
        y: 4,
        width: 1,
        height: 1,
    };
    let event = cursor_event(rect, vec![1, 2, 3, 255]);
    assert_eq!(
        event,
        VncEvent::Cursor {
            width: 1,
            height: 1,
            hot_x: 3,
            hot_y: 4,
            rgba: vec![3, 2, 1, 255]
        }
    );
}
