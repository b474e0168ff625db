//! High-entropy secrets (session ids, setup and invite tokens, CSRF tokens) and
//! the hash under which they are stored. They are random, so SHA-256 suffices:
//! a slow hash protects guessable secrets, and these are not guessable.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url without padding (43 characters).
pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The form a secret is stored and looked up in: lowercase hex SHA-256.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_distinct_and_url_safe() {
        let mut rng = rand::rngs::OsRng;
        let a = generate(&mut rng);
        let b = generate(&mut rng);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
