//! The two secrets of one consent: PKCE's code verifier and its S256
//! challenge (RFC 7636), and the `state` that ties the browser's redirect to
//! this authorization (RFC 6749 §10.12).
//!
//! Written here rather than taken from the `oauth2` crate: that crate would
//! bring its own HTTP client abstraction (liaison's requests go through
//! `calendar::http`), its own token types (ours live in `token_store`) and a
//! second `rand`, and has no loopback listener, the part that matters; what
//! is left of PKCE is 32 random bytes, one SHA-256 and base64url, done with
//! `rand`, `sha2` and `data-encoding`, which liaison already uses.

use data_encoding::BASE64URL_NOPAD;
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};

/// Random bytes in a verifier or a state: 256 bits, base64url gives 43
/// characters (RFC 7636 §4.1 asks for 43 to 128).
const RANDOM_BYTES: usize = 32;

/// PKCE for one authorization: the verifier stays here until the code
/// exchange; only the challenge travels through the browser.
pub(super) struct Pkce {
    pub(super) verifier: SecretString,
    pub(super) challenge: String,
}

impl Pkce {
    /// A fresh verifier from the thread's CSPRNG and its S256 challenge.
    pub(super) fn new() -> Pkce {
        let verifier = random_text();
        let challenge = s256(&verifier);
        Pkce {
            verifier: SecretString::from(verifier),
            challenge,
        }
    }

    /// `code_challenge_method`.
    pub(super) const METHOD: &'static str = "S256";

    /// The verifier, for the token request.
    pub(super) fn verifier(&self) -> &str {
        self.verifier.expose_secret()
    }
}

/// The S256 challenge of a verifier: base64url(SHA-256(verifier)), unpadded.
pub(super) fn s256(verifier: &str) -> String {
    BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()))
}

/// A fresh `state`: as unguessable as a verifier.
pub(super) fn new_state() -> String {
    random_text()
}

fn random_text() -> String {
    let mut bytes = [0u8; RANDOM_BYTES];
    // ThreadRng: ChaCha seeded from the operating system, a CSPRNG.
    rand::rng().fill_bytes(&mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

/// Compares a received `state` with ours in time that does not depend on
/// where they differ (a local process timing the listener's answers learns
/// nothing). Hand-written: four lines, no crate needed.
pub(super) fn same_state(received: &str, ours: &str) -> bool {
    let (a, b) = (received.as_bytes(), ours.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_s256() {
        // RFC 7636, Appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let pkce = Pkce::new();
        assert_eq!(pkce.challenge, s256(pkce.verifier()));
    }

    #[test]
    fn verifiers_and_states_are_43_unreserved_characters_and_never_repeat() {
        let a = Pkce::new();
        let b = Pkce::new();
        assert_ne!(a.verifier(), b.verifier());
        assert_ne!(new_state(), new_state());
        for text in [a.verifier().to_string(), new_state()] {
            assert_eq!(text.len(), 43, "{text}");
            assert!(
                text.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
                "{text}"
            );
        }
    }

    #[test]
    fn states_match_only_when_equal() {
        let state = new_state();
        assert!(same_state(&state, &state.clone()));
        assert!(!same_state(&state[..42], &state));
        assert!(!same_state("", &state));
        let mut other = state.clone().into_bytes();
        other[42] = if other[42] == b'A' { b'B' } else { b'A' };
        assert!(!same_state(&String::from_utf8(other).unwrap(), &state));
    }
}
