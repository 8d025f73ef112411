//! The node's libp2p identity on disk: an ed25519 key in libp2p's protobuf encoding, in a
//! file only its owner may read (mode 0600).
//!
//! The libp2p identity is not a ledger key: it only names the transport endpoint. What a
//! peer may do follows from the SM2 member key it binds to that identity (see `binding`).
//! Keeping the identity across restarts keeps the peer id stable for the other nodes' logs.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use libp2p::identity::{KeyType, Keypair};
use zeroize::Zeroizing;

use super::error::P2pError;

/// Reads the ed25519 identity at `path`, or creates one there (mode 0600) if the file does
/// not exist. The parent directory must exist.
///
/// Refuses a file that group or others may read, a file that is not a protobuf-encoded
/// libp2p key, and a key of another type than ed25519.
pub fn load_or_create_identity(path: &Path) -> Result<Keypair, P2pError> {
    match fs::read(path) {
        Ok(bytes) => load(path, &Zeroizing::new(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => create(path),
        Err(e) => Err(identity_error(path, format!("cannot read it: {e}"))),
    }
}

fn identity_error(path: &Path, reason: String) -> P2pError {
    P2pError::Identity {
        path: path.to_path_buf(),
        reason,
    }
}

fn load(path: &Path, bytes: &[u8]) -> Result<Keypair, P2pError> {
    check_private(path)?;
    let keypair = Keypair::from_protobuf_encoding(bytes).map_err(|_| {
        identity_error(
            path,
            "not a protobuf-encoded libp2p key; move it away to create a new identity".into(),
        )
    })?;
    if keypair.key_type() != KeyType::Ed25519 {
        return Err(identity_error(
            path,
            format!("holds a {:?} key; weinong uses ed25519", keypair.key_type()),
        ));
    }
    Ok(keypair)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), P2pError> {
    let mode = fs::metadata(path)
        .map_err(|e| identity_error(path, format!("cannot stat it: {e}")))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(identity_error(
            path,
            format!(
                "group or others may access it (mode {:o}); run `chmod 600` on it",
                mode & 0o777
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), P2pError> {
    Ok(())
}

fn create(path: &Path) -> Result<Keypair, P2pError> {
    let keypair = Keypair::generate_ed25519();
    let encoded = Zeroizing::new(
        keypair
            .to_protobuf_encoding()
            .map_err(|e| identity_error(path, format!("cannot encode the new key: {e}")))?,
    );
    // Write a temporary file and rename it, so a crash never leaves a half-written identity
    // under the real name.
    let mut temporary = PathBuf::from(path);
    temporary.as_mut_os_string().push(".tmp");
    write_private(&temporary, &encoded)
        .map_err(|e| identity_error(&temporary, format!("cannot create it: {e}")))?;
    fs::rename(&temporary, path).map_err(|e| {
        identity_error(
            path,
            format!("cannot rename {} to it: {e}", temporary.display()),
        )
    })?;
    Ok(keypair)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    // A stale temporary file keeps its old mode when reopened: set it again.
    #[cfg(unix)]
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_identity_is_private_and_reloads_to_the_same_peer_id() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("p2p.key");
        let created = load_or_create_identity(&path).expect("create");
        #[cfg(unix)]
        assert_eq!(
            fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
            0o600
        );
        let loaded = load_or_create_identity(&path).expect("reload");
        assert_eq!(created.public().to_peer_id(), loaded.public().to_peer_id());
    }

    #[cfg(unix)]
    #[test]
    fn readable_by_others_is_refused_naming_the_mode() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("p2p.key");
        load_or_create_identity(&path).expect("create");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = load_or_create_identity(&path).expect_err("mode 0644 must be refused");
        assert!(error.to_string().contains("mode 644"), "{error}");
    }

    #[test]
    fn garbage_is_refused_and_left_in_place() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("p2p.key");
        write_private(&path, b"not a key").expect("write");
        let error = load_or_create_identity(&path).expect_err("garbage must be refused");
        assert!(
            error.to_string().contains("not a protobuf-encoded"),
            "{error}"
        );
        assert_eq!(fs::read(&path).expect("still there"), b"not a key");
    }

    #[test]
    fn missing_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("absent").join("p2p.key");
        let error = load_or_create_identity(&path).expect_err("no parent directory");
        assert!(matches!(error, P2pError::Identity { .. }), "{error}");
    }
}
