//! Tests of `session`.

use super::*;

#[test]
fn qemu_reasons_lose_their_nul_byte() {
    assert_eq!(
        server_text("Authentication failed\0"),
        "Authentication failed"
    );
    assert_eq!(
        server_text("Authentication failure"),
        "Authentication failure"
    );
}

#[test]
fn refused_passwords_are_auth_failures_with_a_sentence() {
    let failure =
        describe_handshake_error(VncError::General("Authentication failed\0".into()), true);
    let ConnectFailure::Auth(sentence) = failure else {
        panic!("expected an auth failure, got {failure:?}");
    };
    assert_eq!(
        sentence,
        "The console did not accept the password (Authentication failed)."
    );
    assert!(matches!(
        describe_handshake_error(VncError::NoPassword, true),
        ConnectFailure::Auth(_)
    ));
    assert!(matches!(
        describe_handshake_error(
            VncError::General("Too many security failures".into()),
            false
        ),
        ConnectFailure::Other(_)
    ));
}

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
