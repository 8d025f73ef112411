//! Sealed output shares: each department's additive share of a request's outputs,
//! SM2-encrypted to the requester, kept on disk until the requester fetches them.
//!
//! A node stores its own sealed share and the two its peers hand it, so the requester can
//! fetch all three from any one node. The blobs are opaque here: only the requester's key
//! opens them, and nothing in this module looks inside.
//!
//! Must not know: MPC, HTTP or the ledger. Files are written to a temporary name, synced
//! and renamed, so a crash leaves either the whole share or none.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use weinong_contracts::RequestId;

use crate::limits::SEALED_SHARE_BYTES_MAX;

/// Where sealed shares live: `DIR/<request hex>/p<party>.sealed`.
#[derive(Clone, Debug)]
pub struct ResultStore {
    dir: PathBuf,
}

/// One department's sealed share of a request's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedShare {
    /// The MPC party that computed it (0 civil affairs, 1 health, 2 medical insurance).
    pub party: u8,
    /// SM2 ciphertext (DER, C1C3C2) of the encoded `weinong_mpc` output share.
    pub blob: Vec<u8>,
}

/// A sealed share that cannot be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum ResultStoreError {
    /// The party index is not 0, 1 or 2.
    #[error("sealed share names party {0}; parties are 0, 1 and 2")]
    Party(u8),
    /// The blob is empty or over the limit.
    #[error("sealed share of {len} bytes is outside 1..={max}")]
    Size {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The file system failed.
    #[error("result store {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ResultStoreError + '_ {
    move |source| ResultStoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl ResultStore {
    /// Opens (creating) the store in `dir`.
    pub fn open(dir: &Path) -> Result<ResultStore, ResultStoreError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        Ok(ResultStore {
            dir: dir.to_path_buf(),
        })
    }

    fn request_dir(&self, request: &RequestId) -> PathBuf {
        self.dir.join(request.to_hex())
    }

    /// Stores `share` for `request`, replacing one from the same party.
    pub fn put(&self, request: &RequestId, share: &SealedShare) -> Result<(), ResultStoreError> {
        if share.party > 2 {
            return Err(ResultStoreError::Party(share.party));
        }
        if share.blob.is_empty() || share.blob.len() > SEALED_SHARE_BYTES_MAX {
            return Err(ResultStoreError::Size {
                len: share.blob.len(),
                max: SEALED_SHARE_BYTES_MAX,
            });
        }
        let dir = self.request_dir(request);
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join(format!("p{}.sealed", share.party));
        let tmp = dir.join(format!("p{}.sealed.tmp", share.party));
        {
            let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
            file.write_all(&share.blob).map_err(io(&tmp))?;
            file.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        if let Ok(d) = fs::File::open(&dir) {
            // Makes the rename durable; a failure here only risks losing this copy, which
            // the other two nodes also hold.
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The sealed shares held for `request`, by party.
    pub fn get(&self, request: &RequestId) -> Result<Vec<SealedShare>, ResultStoreError> {
        let dir = self.request_dir(request);
        let mut out = Vec::new();
        for party in 0u8..3 {
            let path = dir.join(format!("p{party}.sealed"));
            match fs::read(&path) {
                Ok(blob) => out.push(SealedShare { party, blob }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_trip_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = ResultStore::open(dir.path()).unwrap();
        let request = RequestId::from_bytes([7; 32]);
        assert!(store.get(&request).unwrap().is_empty());
        let share = SealedShare {
            party: 2,
            blob: vec![1, 2, 3],
        };
        store.put(&request, &share).unwrap();
        store
            .put(
                &request,
                &SealedShare {
                    party: 0,
                    blob: vec![9],
                },
            )
            .unwrap();
        let got = store.get(&request).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].party, 0);
        assert_eq!(got[1], share);
        assert!(matches!(
            store.put(
                &request,
                &SealedShare {
                    party: 3,
                    blob: vec![1]
                }
            ),
            Err(ResultStoreError::Party(3))
        ));
        assert!(matches!(
            store.put(
                &request,
                &SealedShare {
                    party: 1,
                    blob: vec![]
                }
            ),
            Err(ResultStoreError::Size { .. })
        ));
    }
}
