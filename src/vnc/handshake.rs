//! The RFB handshake through vnc-rs, and what its failures mean to the user.
//!
//! vnc-rs reports a server that offers only security types it lacks (VeNCrypt, TLS, SASL) as a
//! general error with an English sentence. Rather than matching that sentence, the stream is
//! watched on its way in: the security types the server offered are read off the wire.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use gettextrs::gettext;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use vnc::{PixelFormat, VncClient, VncConnector, VncEncoding, VncError};

use crate::backend::password::Password;
use crate::i18n::gettext_f;

/// RFB security types vnc-rs can answer: None and VNC Authentication.
const SUPPORTED_SECURITY: [u8; 2] = [1, 2];

/// In order of preference: QEMU uses the first one it knows. ZRLE is lossless and compact;
/// the pseudo-encodings bring the pointer shape and size changes.
const ENCODINGS: [VncEncoding; 9] = [
    VncEncoding::Zrle,
    VncEncoding::Tight,
    VncEncoding::Trle,
    VncEncoding::CopyRect,
    VncEncoding::Raw,
    VncEncoding::CursorPseudo,
    VncEncoding::DesktopSizePseudo,
    VncEncoding::ExtendedDesktopSizePseudo,
    VncEncoding::LastRectPseudo,
];

/// Why connecting failed.
#[derive(Debug)]
pub(super) enum ConnectFailure {
    Auth(String),
    Other(String),
    /// The UI closed the session first.
    Closed,
}

pub(super) async fn handshake<S>(
    stream: S,
    password: Option<Password>,
) -> Result<VncClient, ConnectFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
{
    // vnc-rs asks for the password only when the server wants one; knowing whether it did
    // tells a refused password apart from other refusals.
    let password_asked = Arc::new(AtomicBool::new(false));
    let asked = password_asked.clone();
    let credential = async move {
        asked.store(true, Ordering::Relaxed);
        // vnc-rs wants a plain String (used for the DES challenge, then dropped unwiped):
        // made only now, when the server asks, and kept no longer than vnc-rs keeps it.
        password
            .map(|password| password.expose().to_owned())
            .ok_or(VncError::NoPassword)
    };
    let offered = Arc::new(Mutex::new(SecurityOffer::default()));
    let stream = SecurityProbe {
        inner: stream,
        offer: offered.clone(),
    };
    let connector = VncConnector::new(stream)
        .set_auth_method(credential)
        .allow_shared(true)
        .set_pixel_format(PixelFormat::bgra());
    let connector = ENCODINGS.iter().fold(connector, |connector, encoding| {
        connector.add_encoding(*encoding)
    });
    let result = async { connector.build()?.try_start().await?.finish() }.await;
    result.map_err(|error| {
        let offer = offered.lock().unwrap_or_else(PoisonError::into_inner);
        describe_handshake_error(error, password_asked.load(Ordering::Relaxed), &offer)
    })
}

pub(super) fn describe_handshake_error(
    error: VncError,
    password_asked: bool,
    offer: &SecurityOffer,
) -> ConnectFailure {
    match error {
        VncError::NoPassword => ConnectFailure::Auth(gettext("This console needs a password.")),
        VncError::WrongPassword => {
            ConnectFailure::Auth(gettext("The console did not accept the password."))
        }
        VncError::General(_) if offer.only_unsupported() => ConnectFailure::Other(gettext(
            "The console wants TLS or SASL security, which Hangar does not support yet.",
        )),
        VncError::General(message) if password_asked => ConnectFailure::Auth(gettext_f(
            "The console did not accept the password ({reason}).",
            &[("reason", &server_text(&message))],
        )),
        VncError::General(message) => ConnectFailure::Other(gettext_f(
            "The console refused the connection: {reason}.",
            &[("reason", &server_text(&message))],
        )),
        other => ConnectFailure::Other(gettext_f(
            "The console connection failed during the handshake: {error}.",
            &[("error", &other.to_string())],
        )),
    }
}

/// A message from the server, tidied: QEMU ends its reasons with a NUL byte.
pub(super) fn server_text(message: &str) -> String {
    message
        .trim_end_matches(['\0', '.', ' ', '\n'])
        .trim_start()
        .to_owned()
}

/// The start of what the server sent: its version line, then the security types it offers.
#[derive(Debug, Default)]
pub(super) struct SecurityOffer {
    received: Vec<u8>,
}

/// "RFB 003.008\n"
const VERSION_LENGTH: usize = 12;

impl SecurityOffer {
    fn record(&mut self, mut bytes: &[u8]) {
        // The count, once in, tells how many more bytes matter.
        loop {
            let wanted = self.length_needed().saturating_sub(self.received.len());
            let taken = wanted.min(bytes.len());
            if taken == 0 {
                return;
            }
            self.received.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
        }
    }

    /// How many leading bytes tell the offered types (grows as the count arrives).
    fn length_needed(&self) -> usize {
        if self.is_version_3_3() {
            // RFB 3.3: the server picks one type, as a 32-bit number.
            return VERSION_LENGTH + 4;
        }
        match self.received.get(VERSION_LENGTH) {
            Some(&count) => VERSION_LENGTH + 1 + usize::from(count),
            None => VERSION_LENGTH + 1,
        }
    }

    fn is_version_3_3(&self) -> bool {
        self.received.starts_with(b"RFB 003.003")
    }

    /// The security types offered, once all of them arrived.
    pub(super) fn types(&self) -> Option<Vec<u8>> {
        if self.received.len() < self.length_needed() {
            return None;
        }
        let rest = &self.received[VERSION_LENGTH..];
        if self.is_version_3_3() {
            let chosen = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
            return Some(u8::try_from(chosen).map_or_else(|_| vec![u8::MAX], |t| vec![t]));
        }
        Some(rest[1..].to_vec())
    }

    /// The server offered types, and none that vnc-rs can use.
    pub(super) fn only_unsupported(&self) -> bool {
        self.types().is_some_and(|types| {
            !types.is_empty() && !types.iter().any(|t| SUPPORTED_SECURITY.contains(t))
        })
    }
}

/// A stream that passes everything through and notes the server's first bytes.
struct SecurityProbe<S> {
    inner: S,
    offer: Arc<Mutex<SecurityOffer>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for SecurityProbe<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &result {
            let mut offer = self.offer.lock().unwrap_or_else(PoisonError::into_inner);
            offer.record(&buf.filled()[before..]);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SecurityProbe<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(bytes: &[&[u8]]) -> SecurityOffer {
        let mut offer = SecurityOffer::default();
        for chunk in bytes {
            offer.record(chunk);
        }
        offer
    }

    #[test]
    fn reads_the_offered_types_across_reads() {
        let offered = offer(&[b"RFB 003.008\n", &[2], &[19], &[18, 0xAA, 0xBB]]);
        assert_eq!(offered.types(), Some(vec![19, 18]));
        assert!(offered.only_unsupported(), "VeNCrypt and TLS only");
        let vnc_auth = offer(&[b"RFB 003.008\n\x02\x13\x02"]);
        assert!(!vnc_auth.only_unsupported());
        assert!(!offer(&[b"RFB 003.0"]).only_unsupported(), "not known yet");
    }

    #[test]
    fn version_3_3_servers_name_one_type() {
        let sasl = offer(&[b"RFB 003.003\n", &[0, 0, 0, 20]]);
        assert_eq!(sasl.types(), Some(vec![20]));
        assert!(sasl.only_unsupported());
        assert!(!offer(&[b"RFB 003.003\n\0\0\0\x02"]).only_unsupported());
    }

    #[test]
    fn a_refusal_with_no_types_is_not_called_tls() {
        // Zero types: the server refuses and says why, as text.
        let refused = offer(&[b"RFB 003.008\n\0\0\0\0\x05Busy!"]);
        assert!(!refused.only_unsupported());
    }

    #[test]
    fn unsupported_security_is_told_from_the_types_not_the_text() {
        let tls_only = offer(&[b"RFB 003.008\n\x01\x13"]);
        let failure = describe_handshake_error(VncError::General(String::new()), false, &tls_only);
        let ConnectFailure::Other(sentence) = failure else {
            panic!("expected a plain failure, got {failure:?}");
        };
        assert!(sentence.contains("TLS or SASL"), "{sentence}");
    }

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
        let none = SecurityOffer::default();
        let failure = describe_handshake_error(
            VncError::General("Authentication failed\0".into()),
            true,
            &none,
        );
        let ConnectFailure::Auth(sentence) = failure else {
            panic!("expected an auth failure, got {failure:?}");
        };
        assert_eq!(
            sentence,
            "The console did not accept the password (Authentication failed)."
        );
        assert!(matches!(
            describe_handshake_error(VncError::NoPassword, true, &none),
            ConnectFailure::Auth(_)
        ));
        assert!(matches!(
            describe_handshake_error(
                VncError::General("Too many security failures".into()),
                false,
                &none
            ),
            ConnectFailure::Other(_)
        ));
    }
}
