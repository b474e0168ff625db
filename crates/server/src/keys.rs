//! What makes this deployment's secrets its own: the server key, which seals
//! secrets that must wait in the database (a queued mail's invite link) and
//! signs what the server hands out before anyone signs in (the sign-in form's
//! CSRF cookie); and the instance id, under which this process claims jobs.
//!
//! Both come from the settings (`MUSTER_SECRET_KEY`, `MUSTER_INSTANCE_ID`) or
//! else from files in the data directory, made at the first start.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// The shortest `MUSTER_SECRET_KEY` taken: 32 characters of a random string
/// carry at least the 128 bits a key needs even in hexadecimal.
pub const MIN_SECRET_LEN: usize = 32;
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct ServerKey {
    seal: Aes256Gcm,
    sign: [u8; 32],
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(…)")
    }
}

impl ServerKey {
    /// The key from `configured` (`MUSTER_SECRET_KEY`), or else from
    /// `data_dir/secret.key`, made with 256 random bits if it is not there.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(secret) = configured {
            return Ok(Self::from_secret(secret.as_bytes()));
        }
        let secret = read_or_create(&data_dir.join("secret.key"), || {
            let bytes: [u8; 32] = rand::random();
            URL_SAFE_NO_PAD.encode(bytes)
        })?;
        Ok(Self::from_secret(secret.as_bytes()))
    }

    /// Two keys derived from one secret, so that a sealed value and a
    /// signature never share a key.
    pub fn from_secret(secret: &[u8]) -> Self {
        let derive = |purpose: &[u8]| -> [u8; 32] {
            let mut mac = <HmacSha256 as Mac>::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
            mac.update(purpose);
            mac.finalize().into_bytes().into()
        };
        let seal_key = derive(b"muster seal v1");
        Self {
            seal: Aes256Gcm::new(&seal_key.into()),
            sign: derive(b"muster sign v1"),
        }
    }

    /// `plain`, encrypted and authenticated: base64url of nonce and ciphertext.
    pub fn seal(&self, plain: &[u8]) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .seal
            .encrypt(&nonce, plain)
            .unwrap_or_else(|_| unreachable!("AES-GCM encrypts any message shorter than 64 GiB"));
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// What [`ServerKey::seal`] sealed with this key; `None` for anything else.
    pub fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        self.seal.decrypt(Nonce::from_slice(nonce), ciphertext).ok()
    }

    /// `value.signature`, for a value handed to a client and taken back later.
    pub fn sign(&self, value: &str) -> String {
        format!("{value}.{}", URL_SAFE_NO_PAD.encode(self.mac(value)))
    }

    /// A value only this key makes from `value`, for `purpose`, which shows
    /// nothing of `value` (e.g. a session's CSRF token from its id).
    pub fn tag(&self, purpose: &str, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(&format!("{purpose}\0{value}")))
    }

    /// The value of a [`ServerKey::sign`]ed text, if the signature is ours.
    pub fn verify<'a>(&self, signed: &'a str) -> Option<&'a str> {
        let (value, signature) = signed.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.sign)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(value.as_bytes());
        mac.verify_slice(&signature).ok().map(|()| value)
    }

    fn mac(&self, value: &str) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.sign)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// This process's name in the job table: from `configured`
/// (`MUSTER_INSTANCE_ID`) or `data_dir/instance-id`, made at the first start.
/// A restarted instance takes back the jobs it had claimed when it stopped.
pub fn instance_id(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<String> {
    if let Some(id) = configured {
        return Ok(id.to_owned());
    }
    read_or_create(&data_dir.join("instance-id"), || {
        uuid::Uuid::new_v4().to_string()
    })
}

/// The trimmed text of `path`, or `make()` written there first (readable by
/// this user only) when the file does not exist.
fn read_or_create(path: &Path, make: impl FnOnce() -> String) -> anyhow::Result<String> {
    use std::io::Write;
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => anyhow::bail!("{} is empty", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    let text = make();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(text)
        }
        // Another process made it first: take theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(text.trim().to_owned())
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_key_only() {
        let key = ServerKey::from_secret(b"a secret of at least thirty-two characters");
        let other = ServerKey::from_secret(b"another secret of thirty-two characters!");
        let sealed = key.seal(b"https://muster.example/invite/abc");
        assert!(!sealed.contains("invite"));
        assert_eq!(
            key.open(&sealed).as_deref(),
            Some(&b"https://muster.example/invite/abc"[..])
        );
        assert_eq!(other.open(&sealed), None);
        assert_eq!(key.open("not sealed"), None);
        assert_eq!(key.open(""), None);
        // Two seals of one text differ (a fresh nonce each).
        assert_ne!(key.seal(b"x"), key.seal(b"x"));
    }

    #[test]
    fn signatures_are_checked() {
        let key = ServerKey::from_secret(b"a secret of at least thirty-two characters");
        let other = ServerKey::from_secret(b"another secret of thirty-two characters!");
        let signed = key.sign("form-token");
        assert_eq!(key.verify(&signed), Some("form-token"));
        assert_eq!(other.verify(&signed), None);
        assert_eq!(key.verify("form-token"), None);
        assert_eq!(key.verify("form-token.AAAA"), None);
        let forged = signed.replacen("form", "farm", 1);
        assert_eq!(key.verify(&forged), None);
    }

    #[test]
    fn the_key_file_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = ServerKey::load(None, dir.path()).expect("made");
        let again = ServerKey::load(None, dir.path()).expect("read");
        assert_eq!(
            again.open(&first.seal(b"kept")).as_deref(),
            Some(&b"kept"[..])
        );
        let id = instance_id(None, dir.path()).expect("made");
        assert_eq!(instance_id(None, dir.path()).expect("read"), id);
        assert_eq!(instance_id(Some("a"), dir.path()).expect("given"), "a");
    }
}
