//! Sealed output shares: each department's additive share of a request's outputs,
//! SM2-encrypted to the requester and SM2-signed by the department that computed it, kept
//! on disk until the requester fetches them.
//!
//! A node stores its own sealed share and the two its peers hand it (after `assess`
//! checked the request and the signature, see [`crate::assess::Assessor::accept_sealed`]), so the
//! requester can fetch all three from any one node. The blobs are opaque here: only the
//! requester's key opens them, and nothing in this module looks inside; the signature
//! (over `weinong_mpc::model::share_signature_message`) is kept beside the blob so the
//! requester and auditors can check who made it.
//!
//! File format (`p<party>.share`, version 1): magic `WNSS`, version 1, the signer's key id
//! (32 bytes), the SM2 signature r‖s (64), then the ciphertext. Shares stored by older
//! builds (`p<party>.sealed`, unsigned) are not read: a requester would refuse them.
//!
//! Must not know: MPC, HTTP or the ledger. Files are written to a temporary name, synced
//! and renamed, so a crash leaves either the whole share or none.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use weinong_contracts::RequestId;
use weinong_keys::KeyId;

use crate::limits::SEALED_SHARE_BYTES_MAX;

/// Magic bytes of a stored signed share.
const FILE_MAGIC: [u8; 4] = *b"WNSS";
/// Version of the stored file format.
const FILE_VERSION: u8 = 1;
/// Bytes before the ciphertext: magic, version, signer, signature.
const FILE_HEADER_BYTES: usize = 4 + 1 + 32 + 64;

/// Where sealed shares live: `DIR/<request hex>/p<party>.share`.
#[derive(Clone, Debug)]
pub struct ResultStore {
    dir: PathBuf,
}

/// One department's sealed share of a request's outputs, with its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedShare {
    /// The MPC party that computed it (0 civil affairs, 1 health, 2 medical insurance).
    pub party: u8,
    /// The key that signed it: the department's ledger key.
    pub signer: KeyId,
    /// SM2 signature (r‖s) over `weinong_mpc::model::share_signature_message` of the
    /// consortium, request, party, model and SM3 of `blob`.
    pub signature: [u8; 64],
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
    /// A stored file is not a signed share (corrupt, or written by another build).
    #[error("result store {path}: not a signed share file ({reason})")]
    Corrupt {
        /// The path.
        path: String,
        /// What is wrong.
        reason: &'static str,
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

    /// The directory the shares live in.
    pub fn dir(&self) -> &Path {
        &self.dir
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
        let path = dir.join(format!("p{}.share", share.party));
        let tmp = dir.join(format!("p{}.share.tmp", share.party));
        {
            let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
            let mut header = Vec::with_capacity(FILE_HEADER_BYTES);
            header.extend_from_slice(&FILE_MAGIC);
            header.push(FILE_VERSION);
            header.extend_from_slice(share.signer.as_bytes());
            header.extend_from_slice(&share.signature);
            file.write_all(&header).map_err(io(&tmp))?;
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
            let path = dir.join(format!("p{party}.share"));
            match fs::metadata(&path) {
                Ok(meta) if meta.len() > (SEALED_SHARE_BYTES_MAX + FILE_HEADER_BYTES) as u64 => {
                    return Err(ResultStoreError::Corrupt {
                        path: path.display().to_string(),
                        reason: "larger than any share this node stores",
                    });
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&path)(e)),
            }
            let bytes = fs::read(&path).map_err(io(&path))?;
            out.push(
                parse(party, &bytes).map_err(|reason| ResultStoreError::Corrupt {
                    path: path.display().to_string(),
                    reason,
                })?,
            );
        }
        Ok(out)
    }
}

/// A stored file's share.
fn parse(party: u8, bytes: &[u8]) -> Result<SealedShare, &'static str> {
    let (header, blob) = bytes
        .split_at_checked(FILE_HEADER_BYTES)
        .ok_or("shorter than its header")?;
    if header[..4] != FILE_MAGIC {
        return Err("bad magic bytes");
    }
    if header[4] != FILE_VERSION {
        return Err("unknown file version");
    }
    if blob.is_empty() {
        return Err("no ciphertext");
    }
    let mut signer = [0u8; 32];
    signer.copy_from_slice(&header[5..37]);
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&header[37..FILE_HEADER_BYTES]);
    Ok(SealedShare {
        party,
        signer: KeyId::from_bytes(signer),
        signature,
        blob: blob.to_vec(),
    })
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
            signer: KeyId::from_bytes([4; 32]),
            signature: [5; 64],
            blob: vec![1, 2, 3],
        };
        // Another department's share: only `party` and `blob` vary below.
        let other = |party, blob| SealedShare {
            party,
            signer: KeyId::from_bytes([1; 32]),
            signature: [2; 64],
            blob,
        };
        store.put(&request, &share).unwrap();
        store.put(&request, &other(0, vec![9])).unwrap();
        let got = store.get(&request).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].party, 0);
        assert_eq!(got[1], share);
        assert!(matches!(
            store.put(&request, &other(3, vec![1])),
            Err(ResultStoreError::Party(3))
        ));
        assert!(matches!(
            store.put(&request, &other(1, vec![])),
            Err(ResultStoreError::Size { .. })
        ));
        // A damaged file is named, not served.
        let path = dir.path().join(request.to_hex()).join("p2.share");
        std::fs::write(&path, b"WNSS").unwrap();
        assert!(matches!(
            store.get(&request),
            Err(ResultStoreError::Corrupt { .. })
        ));
    }
}
