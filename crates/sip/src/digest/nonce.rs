//! Stateless nonces with bounded replay tracking.
//!
//! A nonce is `hex(issued_ms) ‖ hex(salt) ‖ hex(mac)` where `issued_ms` counts milliseconds since
//! the service first saw the clock, `salt` is random (so two challenges in the same millisecond
//! differ), and `mac` is the first 16 bytes of `SHA-256(key ‖ issued_ms ‖ salt ‖ realm)`. The key
//! is secret, so only this server can mint a nonce that verifies; the issue time inside it makes
//! the lifetime checkable without remembering the challenge (RFC 7616 §5.4 suggests exactly this
//! shape: a time stamp and a hash over it with a private key).
//!
//! Used nonces are remembered with their highest `nc` so a replayed request is refused
//! (RFC 7616 §3.4.5 "the server should check the nc value"). The table is bounded: when full, the
//! entries past their lifetime go first, then the oldest. Forgetting a nonce must not let it be
//! replayed, so the service keeps a *floor*: the latest issue time ever evicted; a nonce issued
//! at or before the floor and not in the table is treated as stale, and the client is simply
//! re-challenged with `stale=true`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

/// What a nonce is, as far as the server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Issued by this server and within its lifetime.
    Fresh,
    /// Issued by this server, but older than the lifetime (answer with `stale=true`).
    Stale,
    /// Not a nonce this server issued (forged, truncated, from before a restart, or garbage).
    Invalid,
}

/// Why a nonce-count was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceReuse {
    /// The `nc` is not higher than one already accepted for this nonce: a replay.
    Replayed,
    /// The nonce fell out of the bounded table; it can no longer be checked for replays.
    Forgotten,
}

#[derive(Debug, Clone, Copy)]
struct UsedNonce {
    issued_ms: u64,
    last_nc: u32,
}

/// Mints and checks nonces; remembers used ones (bounded) to refuse replays.
#[derive(Debug)]
pub struct NonceService {
    key: [u8; 32],
    realm: String,
    lifetime: Duration,
    epoch: Option<Instant>,
    used: HashMap<String, UsedNonce>,
    capacity: usize,
    floor_ms: Option<u64>,
}

const NONCE_LEN: usize = 16 + 16 + 32;

impl NonceService {
    /// A service with a secret `key` (from a seeded RNG or configuration), valid for `realm`,
    /// whose nonces live `lifetime` and which remembers at most `capacity` used nonces.
    pub fn new(key: [u8; 32], realm: &str, lifetime: Duration, capacity: usize) -> Self {
        NonceService {
            key,
            realm: realm.to_string(),
            lifetime,
            epoch: None,
            used: HashMap::new(),
            capacity: capacity.max(1),
            floor_ms: None,
        }
    }

    /// A new nonce issued at `now`; `salt` makes it unique.
    pub fn issue(&mut self, now: Instant, salt: u64) -> String {
        let issued_ms = self.millis(now);
        format!("{issued_ms:016x}{salt:016x}{}", self.mac(issued_ms, salt))
    }

    /// Checks a nonce's authenticity and age at `now`.
    pub fn check(&self, now: Instant, nonce: &str) -> NonceCheck {
        let Some((issued_ms, _)) = self.decode(nonce) else {
            return NonceCheck::Invalid;
        };
        let Some(epoch) = self.epoch else {
            return NonceCheck::Invalid;
        };
        let now_ms = duration_ms(now.saturating_duration_since(epoch));
        if issued_ms > now_ms {
            // From the future: cannot be ours (or the key leaked); refuse outright.
            return NonceCheck::Invalid;
        }
        if now_ms - issued_ms > duration_ms(self.lifetime) {
            NonceCheck::Stale
        } else {
            NonceCheck::Fresh
        }
    }

    /// Records that `nonce` (already checked [`NonceCheck::Fresh`]) was used with count `nc`.
    pub(crate) fn record_use(
        &mut self,
        now: Instant,
        nonce: &str,
        nc: u32,
    ) -> Result<(), NonceReuse> {
        let Some((issued_ms, _)) = self.decode(nonce) else {
            return Err(NonceReuse::Forgotten);
        };
        if let Some(entry) = self.used.get_mut(nonce) {
            if nc <= entry.last_nc {
                return Err(NonceReuse::Replayed);
            }
            entry.last_nc = nc;
            return Ok(());
        }
        if self.floor_ms.is_some_and(|floor| issued_ms <= floor) {
            return Err(NonceReuse::Forgotten);
        }
        if self.used.len() >= self.capacity {
            self.make_room(now);
        }
        self.used.insert(
            nonce.to_string(),
            UsedNonce {
                issued_ms,
                last_nc: nc,
            },
        );
        Ok(())
    }

    /// How many used nonces are remembered.
    pub fn tracked(&self) -> usize {
        self.used.len()
    }

    fn make_room(&mut self, now: Instant) {
        let now_ms = self.millis(now);
        let lifetime_ms = duration_ms(self.lifetime);
        // Expired nonces are refused as stale by their time stamp alone; no need to keep them.
        self.used
            .retain(|_, u| now_ms.saturating_sub(u.issued_ms) <= lifetime_ms);
        while self.used.len() >= self.capacity {
            let Some((oldest, issued_ms)) = self
                .used
                .iter()
                .min_by_key(|(_, u)| u.issued_ms)
                .map(|(k, u)| (k.clone(), u.issued_ms))
            else {
                break;
            };
            self.used.remove(&oldest);
            self.floor_ms = Some(self.floor_ms.map_or(issued_ms, |f| f.max(issued_ms)));
        }
    }

    fn millis(&mut self, now: Instant) -> u64 {
        let epoch = *self.epoch.get_or_insert(now);
        duration_ms(now.saturating_duration_since(epoch))
    }

    fn mac(&self, issued_ms: u64, salt: u64) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(issued_ms.to_be_bytes());
        hasher.update(salt.to_be_bytes());
        hasher.update(self.realm.as_bytes());
        let digest = hasher.finalize();
        hex::encode(digest.get(..16).unwrap_or_default())
    }

    fn decode(&self, nonce: &str) -> Option<(u64, u64)> {
        if nonce.len() != NONCE_LEN || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        // All ASCII hex, so every byte offset is a char boundary.
        let issued_ms = u64::from_str_radix(nonce.get(..16)?, 16).ok()?;
        let salt = u64::from_str_radix(nonce.get(16..32)?, 16).ok()?;
        let mac = nonce.get(32..)?.to_ascii_lowercase();
        constant_time_eq(mac.as_bytes(), self.mac(issued_ms, salt).as_bytes())
            .then_some((issued_ms, salt))
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Compares without an early exit, so the time taken does not reveal how many leading bytes of a
/// guessed MAC or response were right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(capacity: usize) -> NonceService {
        NonceService::new([7; 32], "sb", Duration::from_secs(30), capacity)
    }

    #[test]
    fn issued_nonce_is_fresh_until_its_lifetime_then_stale() {
        let t0 = Instant::now();
        let mut s = service(8);
        let n = s.issue(t0, 1);
        assert_eq!(s.check(t0, &n), NonceCheck::Fresh);
        assert_eq!(s.check(t0 + Duration::from_secs(30), &n), NonceCheck::Fresh);
        assert_eq!(s.check(t0 + Duration::from_secs(31), &n), NonceCheck::Stale);
    }

    #[test]
    fn tampered_or_foreign_nonces_are_invalid() {
        let t0 = Instant::now();
        let mut s = service(8);
        let n = s.issue(t0, 1);
        let mut tampered = n.clone();
        tampered.replace_range(0..1, "1");
        assert_eq!(s.check(t0, &tampered), NonceCheck::Invalid);
        let mut other = NonceService::new([8; 32], "sb", Duration::from_secs(30), 8);
        let foreign = other.issue(t0, 1);
        assert_eq!(s.check(t0, &foreign), NonceCheck::Invalid);
        assert_eq!(s.check(t0, "short"), NonceCheck::Invalid);
        assert_eq!(s.check(t0, &"é".repeat(32)), NonceCheck::Invalid);
    }

    #[test]
    fn nonce_count_must_increase() {
        let t0 = Instant::now();
        let mut s = service(8);
        let n = s.issue(t0, 1);
        assert_eq!(s.record_use(t0, &n, 1), Ok(()));
        assert_eq!(s.record_use(t0, &n, 1), Err(NonceReuse::Replayed));
        assert_eq!(s.record_use(t0, &n, 2), Ok(()));
    }

    #[test]
    fn evicted_nonces_cannot_be_replayed() {
        let t0 = Instant::now();
        let mut s = service(2);
        let nonces: Vec<_> = (0..3)
            .map(|i| s.issue(t0 + Duration::from_millis(i), i))
            .collect();
        let t1 = t0 + Duration::from_millis(10);
        for n in &nonces {
            assert_eq!(s.record_use(t1, n, 1), Ok(()));
        }
        assert!(s.tracked() <= 2);
        // The first was evicted: a replay of it is refused, not accepted as new.
        assert_eq!(s.record_use(t1, &nonces[0], 1), Err(NonceReuse::Forgotten));
    }
}
