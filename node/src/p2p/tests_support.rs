//! Test double for the ledger's membership: a fixed key list with revocation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use weinong_keys::{KeyId, PublicKey};

use super::PeerAuthority;

/// Admits the listed keys until revoked.
pub struct FixedAuthority {
    keys: BTreeMap<KeyId, PublicKey>,
    revoked: Mutex<BTreeSet<KeyId>>,
}

impl FixedAuthority {
    /// Admits exactly `keys`.
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        Self {
            keys: keys.into_iter().map(|k| (k.key_id(), k)).collect(),
            revoked: Mutex::new(BTreeSet::new()),
        }
    }

    /// Lists `id` with `key` (which may not be the key `id` names).
    pub fn with_key_override(mut self, id: KeyId, key: PublicKey) -> Self {
        self.keys.insert(id, key);
        self
    }

    /// Stops admitting `id`.
    pub fn revoke(&self, id: KeyId) {
        self.revoked.lock().expect("test lock").insert(id);
    }
}

impl PeerAuthority for FixedAuthority {
    fn admits(&self, key: &KeyId) -> bool {
        self.keys.contains_key(key) && !self.revoked.lock().expect("test lock").contains(key)
    }

    fn public_key(&self, key: &KeyId) -> Option<PublicKey> {
        self.keys.get(key).cloned()
    }
}
