//! The embedded broker's password file: one `NAME:HASH` line per client
//! (`telltale passwd NAME` prints one), `#` comments and blank lines
//! ignored. A hash is PBKDF2-HMAC-SHA256 with a random 16-byte salt:
//! `$pbkdf2-sha256$ROUNDS$SALT$KEY` (salt and key in unpadded base64).
//!
//! Checking a password costs its rounds (tens of milliseconds), once per
//! client and password: a match is remembered (as a keyed digest, never the
//! password) so reconnecting fleets do not pay it again.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use hmac::Hmac;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// PBKDF2 rounds of a new hash.
pub const ROUNDS: u32 = 100_000;

/// Fewest rounds a hash in a file may have (fewer is refused as too weak).
pub const MIN_ROUNDS: u32 = 10_000;

const PREFIX: &str = "$pbkdf2-sha256$";

/// A stored hash, read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hash {
    rounds: u32,
    salt: Vec<u8>,
    key: Vec<u8>,
}

impl Hash {
    fn parse(text: &str) -> std::result::Result<Hash, String> {
        let rest = text.strip_prefix(PREFIX).ok_or_else(|| format!("the hash must start with {PREFIX}"))?;
        let mut parts = rest.split('$');
        let (Some(rounds), Some(salt), Some(key), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the hash must be $pbkdf2-sha256$ROUNDS$SALT$KEY".into());
        };
        let rounds: u32 = rounds.parse().map_err(|_| format!("rounds {rounds:?} is not a number"))?;
        if rounds < MIN_ROUNDS {
            return Err(format!("{rounds} rounds is too weak (at least {MIN_ROUNDS})"));
        }
        let salt = B64.decode(salt).map_err(|_| "the salt is not base64".to_owned())?;
        let key = B64.decode(key).map_err(|_| "the key is not base64".to_owned())?;
        if salt.len() < 8 || key.len() != 32 {
            return Err("the salt must be 8 bytes or more and the key 32 bytes".into());
        }
        Ok(Hash { rounds, salt, key })
    }

    fn matches(&self, password: &str) -> bool {
        derive(password, &self.salt, self.rounds).ct_eq(&self.key).into()
    }
}

fn derive(password: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2::<Hmac<Sha256>>(password.as_bytes(), salt, rounds, &mut key);
    key
}

/// A new `$pbkdf2-sha256$…` hash of `password` (a fresh random salt each time).
pub fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| Error::config("passwd", format!("no random salt: {e}")))?;
    let key = derive(password, &salt, ROUNDS);
    Ok(format!("{PREFIX}{ROUNDS}${}${}", B64.encode(salt), B64.encode(key)))
}

/// The `NAME:HASH` line for `name` and `password`; names are 1–128 characters, without `:` or whitespace.
pub fn line(name: &str, password: &str) -> Result<String> {
    check_name(name).map_err(|reason| Error::config("passwd", reason))?;
    if password.is_empty() {
        return Err(Error::config("passwd", "the password is empty"));
    }
    Ok(format!("{name}:{}", hash(password)?))
}

fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.chars().count() > 128 || name.contains(':') || name.chars().any(char::is_whitespace) {
        return Err(format!("user name {name:?}: use 1 to 128 characters, no ':' and no spaces"));
    }
    Ok(())
}

/// The clients the embedded broker lets in, by name.
#[derive(Default)]
pub struct Passwords {
    users: HashMap<String, Hash>,
    /// Keyed digests of `name:password` pairs that matched.
    verified: Mutex<HashSet<[u8; 32]>>,
    /// The key of those digests: random, for this process only.
    key: [u8; 32],
}

impl std::fmt::Debug for Passwords {
    /// The number of users only: hashes and keys stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").field("users", &self.users.len()).finish_non_exhaustive()
    }
}

impl Passwords {
    /// Reads a password file; a bad line is an error naming the file and the line.
    pub fn read(path: &Path) -> Result<Passwords> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::config(&shown, format!("cannot read: {e}")))?;
        Passwords::parse(&text).map_err(|(line, reason)| Error::config(format!("{shown}:{line}"), reason))
    }

    /// Reads a password file's text; a bad line is `(line number, reason)`.
    pub fn parse(text: &str) -> std::result::Result<Passwords, (usize, String)> {
        let mut users = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |reason: String| (i + 1, reason);
            let (name, hash) = line.split_once(':').ok_or_else(|| at("expected NAME:HASH".into()))?;
            check_name(name).map_err(at)?;
            let hash = Hash::parse(hash).map_err(at)?;
            if users.insert(name.to_owned(), hash).is_some() {
                return Err(at(format!("user {name:?} is listed twice")));
            }
        }
        if users.is_empty() {
            return Err((0, "lists no user (add lines printed by `telltale passwd NAME`)".into()));
        }
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(|e| (0, format!("no random key: {e}")))?;
        Ok(Passwords { users, verified: Mutex::default(), key })
    }

    /// How many users it lists.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether it lists nobody (never, once read).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `name` may connect with `password`. Slow the first time a pair matches (the hash's rounds),
    /// fast after; a wrong password always pays the rounds.
    pub fn check(&self, name: &str, password: &str) -> bool {
        let Some(hash) = self.users.get(name) else {
            return false;
        };
        let mut d = Sha256::new();
        d.update(self.key);
        d.update((name.len() as u64).to_le_bytes());
        d.update(name.as_bytes());
        d.update(password.as_bytes());
        let digest: [u8; 32] = d.finalize().into();
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.contains(&digest) {
            return true;
        }
        drop(verified);
        if !hash.matches(password) {
            return false;
        }
        verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: at most a few entries per user (a password changed while running leaves its old one here).
        if verified.len() < 4 * self.users.len() + 16 {
            verified.insert(digest);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_from_passwd_lets_its_user_in_and_nobody_else() {
        let ann = line("ann", "correct horse").expect("line");
        assert!(ann.starts_with("ann:$pbkdf2-sha256$100000$"), "{ann}");
        assert_ne!(ann, line("ann", "correct horse").expect("line"), "a fresh salt each time");
        let p = Passwords::parse(&format!("# fleet\n\n{ann}\n")).expect("file");
        assert_eq!(p.len(), 1);
        assert!(p.check("ann", "correct horse"));
        assert!(p.check("ann", "correct horse"), "again, from what was remembered");
        assert!(!p.check("ann", "correct horse "));
        assert!(!p.check("bob", "correct horse"));
        assert!(!p.check("ann", ""));
    }

    #[test]
    fn bad_files_name_the_line() {
        let good = line("ann", "pw").expect("line");
        let e = |text: &str| Passwords::parse(text).expect_err("refused");
        assert_eq!(e("ann").0, 1);
        assert!(e("ann").1.contains("NAME:HASH"));
        assert_eq!(e(&format!("{good}\nbob:$md5$x")).0, 2);
        assert!(e(&format!("{good}\n{good}")).1.contains("listed twice"));
        assert!(e("ann:$pbkdf2-sha256$10$c2FsdHNhbHQ$a2V5").1.contains("too weak"));
        assert!(e("ann:$pbkdf2-sha256$100000$!!$a2V5").1.contains("salt is not base64"));
        assert!(e("# nobody\n").1.contains("lists no user"));
        assert!(line("a b", "pw").is_err() && line("a:b", "pw").is_err() && line("ann", "").is_err());
        let missing = Passwords::read(Path::new("/nonexistent/telltale.passwd")).expect_err("missing");
        assert!(missing.to_string().starts_with("/nonexistent/telltale.passwd: cannot read"), "{missing}");
    }
}
