//! Online backup and verified restore of one node.
//!
//! A backup is a directory: consistent RocksDB checkpoints of the ledger and the Raft log,
//! the result and proposal stores, the libp2p identity, the sealed keystore and data
//! secrets, and the department store (SQLite through `VACUUM INTO`; a PostgreSQL store is
//! the database server's to back up), listed in `MANIFEST.json` with each file's size and
//! SM3 digest, signed by the node's SM2 key (`MANIFEST.sig`). The running node takes it
//! ([`take`], asked over its control socket), so nothing stops while it is written, and it
//! appears under its final name only when complete.
//!
//! [`restore`] refuses a backup before touching the node unless every file matches the
//! manifest and the signature verifies; then it stages the data beside `data_dir`, checks
//! the staged ledger (`fsck`: every block, certificate and signature; then the contract
//! state replayed against the genesis, every block's state digest compared) and only then
//! moves it into place. The restored node has forgotten what it acknowledged and voted after
//! the backup (as a node whose disk was lost would have): it must be restored while the
//! other voters run, so it learns those blocks back before it counts in a quorum
//! (deploy/README.md, "Backup and restore").
//!
//! Must not know: the HTTP API or how the control socket frames requests.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use weinong_keys::{Digest, KeyPair, PublicKey, Signature, Sm3};
use weinong_ledger::store::LedgerStore;

use crate::config::NodeConfig;
use crate::raft::log_store::LogStore;
use crate::shared::Shared;

/// The manifest format this build writes and reads.
pub const FORMAT: u32 = 1;
/// The manifest's file name in a backup.
pub const MANIFEST: &str = "MANIFEST.json";
/// The manifest signature's file name (64-byte SM2 r‖s, hex).
pub const SIGNATURE: &str = "MANIFEST.sig";
/// The largest manifest read (a node's backup lists thousands of files, not millions).
const MANIFEST_BYTES_MAX: u64 = 64 << 20;

/// What went wrong taking, checking or restoring a backup.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file or directory could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The backup is not one this build can restore, or does not match its manifest.
    #[error("backup {dir} refused: {reason}")]
    Refused {
        /// The backup directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The node's data could not be copied or checked.
    #[error("{0}")]
    Node(String),
}

/// One file of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the backup, `/`-separated, relative.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SM3 of the contents, hex.
    pub sm3: String,
}

/// What a backup holds, signed by the node that took it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The node's configured name.
    pub node: String,
    /// The node's key id, hex.
    pub key_id: String,
    /// The node's SM2 public key (SEC1, hex), which verifies [`SIGNATURE`].
    pub public_key: String,
    /// The consortium id (SM3 of the genesis), hex.
    pub consortium: String,
    /// When the backup was taken, ms since the Unix epoch.
    pub created_ms: u64,
    /// Certified blocks in the ledger checkpoint.
    pub ledger_blocks: u64,
    /// The department store: `sqlite` (in `department.db`), `postgres` (not included: the
    /// server's own backup), or `none`.
    pub database: String,
    /// Every file, sorted by path.
    pub files: Vec<FileEntry>,
}

/// Where each part lives inside a backup.
mod layout {
    pub const DATA: &str = "data";
    pub const LEDGER: &str = "data/ledger";
    pub const RAFT: &str = "data/raft";
    pub const KEYSTORE: &str = "secrets/keystore.json";
    pub const DATA_SECRETS: &str = "secrets/data-secrets.json";
    pub const DATABASE: &str = "department.db";
    /// What of `data_dir` is copied as plain files (the RocksDB stores are checkpointed).
    pub const COPIED: [&str; 3] = ["results", "proposals", "p2p.key"];
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BackupError + 'a {
    move |source| BackupError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Takes a backup of the running node into `to`, which must not exist. Written first to
/// `to` with a `.partial` suffix and renamed when complete and signed.
pub async fn take(
    config: &NodeConfig,
    shared: &Shared,
    log: &LogStore,
    key: &KeyPair,
    to: &Path,
) -> Result<Manifest, BackupError> {
    if to.exists() {
        return Err(BackupError::Node(format!(
            "{} exists: name a new directory for the backup",
            to.display()
        )));
    }
    let partial = with_suffix(to, ".partial");
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(io_err("removing the unfinished", &partial))?;
    }
    let result = write_parts(config, shared, log, &partial).await;
    let blocks = match result {
        Ok(blocks) => blocks,
        Err(e) => {
            let _ = fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    let database = match &config.assessment {
        Some(a) if a.database.starts_with("sqlite:") => "sqlite",
        Some(_) => "postgres",
        None => "none",
    };
    let manifest = Manifest {
        format: FORMAT,
        node: config.name.clone(),
        key_id: key.key_id().to_string(),
        public_key: hex::encode(key.public_key().to_sec1_bytes()),
        consortium: hex::encode(shared.consortium.0),
        created_ms: now_ms(),
        ledger_blocks: blocks,
        database: database.to_owned(),
        files: Vec::new(),
    };
    let manifest = match seal(&partial, manifest, key) {
        Ok(m) => m,
        Err(e) => {
            let _ = fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    fs::rename(&partial, to).map_err(io_err("renaming the finished backup to", to))?;
    Ok(manifest)
}

/// Lists every file of `dir` into `manifest`, signs it with `key` and writes both.
fn seal(dir: &Path, mut manifest: Manifest, key: &KeyPair) -> Result<Manifest, BackupError> {
    manifest.files = list_files(dir)?;
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Node(format!("cannot encode the manifest: {e}")))?;
    let signature = key.sign(&text);
    write_synced(&dir.join(MANIFEST), &text)?;
    write_synced(
        &dir.join(SIGNATURE),
        hex::encode(signature.to_bytes()).as_bytes(),
    )?;
    Ok(manifest)
}

/// Writes every part into `dir`; answers the ledger's block count.
async fn write_parts(
    config: &NodeConfig,
    shared: &Shared,
    log: &LogStore,
    dir: &Path,
) -> Result<u64, BackupError> {
    fs::create_dir_all(dir.join("secrets")).map_err(io_err("creating", dir))?;
    fs::create_dir_all(dir.join(layout::DATA)).map_err(io_err("creating", dir))?;
    // The Raft log before the ledger: the log records how many blocks were applied, and a
    // node refuses a ledger holding fewer than that. A ledger ahead of the log is normal
    // (the restored node re-receives those entries and finds their blocks stored).
    log.checkpoint(&dir.join(layout::RAFT))
        .map_err(|e| BackupError::Node(format!("Raft log checkpoint: {e}")))?;
    let blocks = {
        let replica = shared
            .ledger()
            .map_err(|e| BackupError::Node(e.to_string()))?;
        replica
            .store
            .checkpoint(&dir.join(layout::LEDGER))
            .map_err(|e| BackupError::Node(format!("ledger checkpoint: {e}")))?;
        replica.store.tip().map_or(0, |t| t.height + 1)
    };
    for name in layout::COPIED {
        let from = config.data_dir.join(name);
        if from.exists() {
            copy_tree(&from, &dir.join(layout::DATA).join(name))?;
        }
    }
    copy_file(&config.keystore, &dir.join(layout::KEYSTORE))?;
    if let Some(a) = &config.assessment {
        copy_file(&a.data_secrets, &dir.join(layout::DATA_SECRETS))?;
        if a.database.starts_with("sqlite:") {
            let store = weinong_connectors::store::Store::open(&a.database)
                .await
                .map_err(|e| BackupError::Node(format!("department store: {e}")))?;
            let copied = store.backup_into(&dir.join(layout::DATABASE)).await;
            store.close().await;
            copied.map_err(|e| BackupError::Node(format!("department store: {e}")))?;
        }
    }
    Ok(blocks)
}

/// Checks a backup against its manifest and signature, reading every byte. Answers the
/// manifest; refuses (naming the file) a file that is missing, extra, of another size or
/// digest, or a manifest whose signature does not verify.
pub fn verify(dir: &Path) -> Result<Manifest, BackupError> {
    let refused = |reason: String| BackupError::Refused {
        dir: dir.to_owned(),
        reason,
    };
    let manifest_path = dir.join(MANIFEST);
    let meta = fs::metadata(&manifest_path)
        .map_err(|e| refused(format!("{MANIFEST}: {e} (is this a backup directory?)")))?;
    if meta.len() > MANIFEST_BYTES_MAX {
        return Err(refused(format!(
            "{MANIFEST} is {} bytes, over {MANIFEST_BYTES_MAX}",
            meta.len()
        )));
    }
    let text = fs::read(&manifest_path).map_err(io_err("reading", &manifest_path))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| refused(format!("{MANIFEST} does not parse: {e}")))?;
    if manifest.format != FORMAT {
        return Err(refused(format!(
            "format {} (this build restores format {FORMAT})",
            manifest.format
        )));
    }
    let sig_path = dir.join(SIGNATURE);
    let sig_hex =
        fs::read_to_string(&sig_path).map_err(|e| refused(format!("{SIGNATURE}: {e}")))?;
    let signature = hex::decode(sig_hex.trim())
        .ok()
        .and_then(|b| Signature::from_bytes(&b).ok())
        .ok_or_else(|| refused(format!("{SIGNATURE} is not a hex SM2 signature")))?;
    let public = hex::decode(&manifest.public_key)
        .ok()
        .and_then(|b| PublicKey::from_sec1_bytes(&b).ok())
        .ok_or_else(|| refused("the manifest's public_key is not an SM2 key".into()))?;
    if public.key_id().to_string() != manifest.key_id {
        return Err(refused(format!(
            "the manifest's public key is not key {}",
            manifest.key_id
        )));
    }
    public.verify(&text, &signature).map_err(|_| {
        refused(format!(
            "{SIGNATURE} does not verify: the manifest was changed after node {} signed it",
            manifest.node
        ))
    })?;
    let found = list_files(dir)?;
    let mut listed = manifest.files.iter().peekable();
    let mut present = found.iter().peekable();
    loop {
        match (listed.peek(), present.peek()) {
            (None, None) => break,
            (Some(want), Some(have)) if want.path == have.path => {
                if want.bytes != have.bytes {
                    return Err(refused(format!(
                        "{} is {} bytes, the manifest says {}",
                        want.path, have.bytes, want.bytes
                    )));
                }
                if want.sm3 != have.sm3 {
                    return Err(refused(format!(
                        "{} does not match its SM3 digest in the manifest: the file is damaged",
                        want.path
                    )));
                }
                listed.next();
                present.next();
            }
            (Some(want), have) if have.is_none_or(|h| want.path < h.path) => {
                return Err(refused(format!("{} is missing", want.path)));
            }
            (_, Some(have)) => {
                return Err(refused(format!(
                    "{} is not in the manifest: the backup was added to",
                    have.path
                )));
            }
            (Some(_), None) => unreachable!("handled above"),
        }
    }
    Ok(manifest)
}

/// What [`restore`] did.
#[derive(Debug)]
pub struct RestoreReport {
    /// The verified manifest.
    pub manifest: Manifest,
    /// Blocks checked by fsck and replay.
    pub blocks: u64,
    /// Transactions checked.
    pub transactions: u64,
    /// One line per decision worth telling the operator.
    pub notes: Vec<String>,
}

/// Restores the backup in `from` for the node of `config`, whose `data_dir` must be absent
/// or empty and which must not be running. Nothing is moved into place unless the backup
/// verifies and its ledger passes fsck and replay against the config's genesis.
pub fn restore(config: &NodeConfig, from: &Path) -> Result<RestoreReport, BackupError> {
    let manifest = verify(from)?;
    let refused = |reason: String| BackupError::Refused {
        dir: from.to_owned(),
        reason,
    };
    if manifest.node != config.name {
        return Err(refused(format!(
            "it is node {:?}'s, this config is node {:?}'s",
            manifest.node, config.name
        )));
    }
    let genesis_bytes = fs::read(&config.genesis).map_err(io_err(
        "reading the config's genesis (field `genesis`)",
        &config.genesis,
    ))?;
    let genesis = weinong_contracts::Genesis::decode(&genesis_bytes).map_err(|e| {
        BackupError::Node(format!(
            "genesis {} does not decode: {e}",
            config.genesis.display()
        ))
    })?;
    let consortium = genesis
        .consortium()
        .map_err(|e| BackupError::Node(format!("genesis does not encode: {e}")))?;
    if hex::encode(consortium.0) != manifest.consortium {
        return Err(refused(format!(
            "it is of consortium {}, the config's genesis is of {}",
            manifest.consortium,
            hex::encode(consortium.0)
        )));
    }
    let data_dir = &config.data_dir;
    if data_dir.exists()
        && fs::read_dir(data_dir)
            .map_err(io_err("reading", data_dir))?
            .next()
            .is_some()
    {
        return Err(BackupError::Node(format!(
            "data_dir {} is not empty: move it aside (keep it until the restored node serves), then restore again",
            data_dir.display()
        )));
    }
    let staged = with_suffix(data_dir, ".restoring");
    if staged.exists() {
        fs::remove_dir_all(&staged).map_err(io_err("removing the unfinished", &staged))?;
    }
    copy_tree(&from.join(layout::DATA), &staged)?;
    let checked = check_staged(&staged, &genesis);
    let (blocks, transactions) = match checked {
        Ok(c) => c,
        Err(e) => {
            let _ = fs::remove_dir_all(&staged);
            return Err(e);
        }
    };
    let mut notes = Vec::new();
    restore_file(
        &from.join(layout::KEYSTORE),
        &config.keystore,
        "keystore",
        &mut notes,
    )?;
    if let Some(a) = &config.assessment {
        restore_file(
            &from.join(layout::DATA_SECRETS),
            &a.data_secrets,
            "assessment.data_secrets",
            &mut notes,
        )?;
        match a.database.strip_prefix("sqlite://") {
            Some(path) if manifest.database == "sqlite" => restore_file(
                &from.join(layout::DATABASE),
                Path::new(path),
                "assessment.database",
                &mut notes,
            )?,
            _ => notes.push(format!(
                "the department store {} is not in this backup ({}): restore it from the database server's own backup",
                a.database, manifest.database
            )),
        }
    }
    if data_dir.exists() {
        fs::remove_dir(data_dir).map_err(io_err("removing the empty", data_dir))?;
    }
    fs::rename(&staged, data_dir).map_err(io_err("moving the restored data to", data_dir))?;
    Ok(RestoreReport {
        manifest,
        blocks,
        transactions,
        notes,
    })
}

/// fsck and replay of the staged ledger: blocks and transactions checked.
fn check_staged(
    staged: &Path,
    genesis: &weinong_contracts::Genesis,
) -> Result<(u64, u64), BackupError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        BackupError::Node(format!("the backup's ledger fails {what}: {e}"))
    };
    let (blocks, transactions) = {
        let store = LedgerStore::open(&staged.join("ledger")).map_err(|e| bad("to open", &e))?;
        let members = genesis
            .member_set()
            .map_err(|e| bad("the genesis member set", &e))?;
        if store.genesis_members() != &members {
            return Err(BackupError::Node(
                "the backup's ledger belongs to another member set than the config's genesis"
                    .into(),
            ));
        }
        let report = store.fsck().map_err(|e| bad("fsck", &e))?;
        crate::chain::replay::rebuild(&store, genesis)
            .map_err(|e| bad("replay against the genesis", &e))?;
        (report.blocks, report.transactions)
    };
    Ok((blocks, transactions))
}

/// Puts a backed-up file where the config expects it, if nothing is there; keeps an
/// existing file (noting whether it differs).
fn restore_file(
    from: &Path,
    to: &Path,
    field: &str,
    notes: &mut Vec<String>,
) -> Result<(), BackupError> {
    if to.exists() {
        let same = digest_file(from)? == digest_file(to)?;
        notes.push(if same {
            format!("{field}: {} is already the backed-up file", to.display())
        } else {
            format!(
                "{field}: kept the existing {} (it differs from the backup's)",
                to.display()
            )
        });
        return Ok(());
    }
    copy_file(from, to)?;
    notes.push(format!("{field}: restored {}", to.display()));
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Copies one file, keeping it private (0600): backups hold sealed secrets and data.
fn copy_file(from: &Path, to: &Path) -> Result<(), BackupError> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
    }
    let mut src = fs::File::open(from).map_err(io_err("reading", from))?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut dst = options.open(to).map_err(io_err("creating", to))?;
    io::copy(&mut src, &mut dst).map_err(io_err("writing", to))?;
    dst.sync_all().map_err(io_err("syncing", to))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), BackupError> {
    let meta = fs::symlink_metadata(from).map_err(io_err("reading", from))?;
    if meta.is_file() {
        return copy_file(from, to);
    }
    if !meta.is_dir() {
        return Err(BackupError::Node(format!(
            "{} is neither a file nor a directory",
            from.display()
        )));
    }
    fs::create_dir_all(to).map_err(io_err("creating", to))?;
    for entry in fs::read_dir(from).map_err(io_err("reading", from))? {
        let entry = entry.map_err(io_err("reading", from))?;
        copy_tree(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut file = fs::File::create(path).map_err(io_err("creating", path))?;
    file.write_all(bytes).map_err(io_err("writing", path))?;
    file.sync_all().map_err(io_err("syncing", path))
}

fn digest_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut file = fs::File::open(path).map_err(io_err("reading", path))?;
    let mut hasher = Sm3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_err("reading", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Every file under `root` but the manifest and its signature, sorted by path.
fn list_files(root: &Path) -> Result<Vec<FileEntry>, BackupError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).map_err(io_err("reading", &dir))? {
            let entry = entry.map_err(io_err("reading", &dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io_err("reading", &path))?;
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name = relative
                .components()
                .map(|c| match c {
                    Component::Normal(s) => s.to_str().map(str::to_owned),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    BackupError::Node(format!("{} has a name that is not UTF-8", path.display()))
                })?
                .join("/");
            if name == MANIFEST || name == SIGNATURE {
                continue;
            }
            if !kind.is_file() {
                return Err(BackupError::Refused {
                    dir: root.to_owned(),
                    reason: format!("{name} is not a plain file"),
                });
            }
            let (bytes, sm3) = digest_file(&path)?;
            out.push(FileEntry {
                path: name,
                bytes,
                sm3,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signed backup directory of a few files, as [`take`] seals one.
    fn sealed() -> (tempfile::TempDir, KeyPair) {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate();
        fs::create_dir_all(dir.path().join("data/ledger")).unwrap();
        fs::write(dir.path().join("data/ledger/000001.sst"), vec![7u8; 5000]).unwrap();
        fs::write(dir.path().join("data/p2p.key"), b"identity").unwrap();
        fs::write(dir.path().join("department.db"), b"rows").unwrap();
        let manifest = Manifest {
            format: FORMAT,
            node: "health-1".into(),
            key_id: key.key_id().to_string(),
            public_key: hex::encode(key.public_key().to_sec1_bytes()),
            consortium: "00".repeat(32),
            created_ms: 1,
            ledger_blocks: 3,
            database: "sqlite".into(),
            files: Vec::new(),
        };
        seal(dir.path(), manifest, &key).unwrap();
        (dir, key)
    }

    fn refusal(dir: &Path) -> String {
        verify(dir).unwrap_err().to_string()
    }

    #[test]
    fn a_sealed_backup_verifies_and_lists_every_file() {
        let (dir, _) = sealed();
        let m = verify(dir.path()).unwrap();
        let paths: Vec<_> = m.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["data/ledger/000001.sst", "data/p2p.key", "department.db"]
        );
        assert_eq!(m.files[0].bytes, 5000);
        // The digest is SM3 of the contents.
        assert_eq!(
            m.files[1].sm3,
            hex::encode(weinong_keys::sm3_digest(b"identity"))
        );
    }

    #[test]
    fn one_flipped_byte_anywhere_is_refused_naming_the_file() {
        let (dir, _) = sealed();
        let path = dir.path().join("data/ledger/000001.sst");
        let mut bytes = fs::read(&path).unwrap();
        bytes[4321] ^= 0x01;
        fs::write(&path, bytes).unwrap();
        let e = refusal(dir.path());
        assert!(
            e.contains("data/ledger/000001.sst") && e.contains("SM3"),
            "{e}"
        );
    }

    #[test]
    fn missing_added_and_resized_files_are_refused() {
        let (dir, _) = sealed();
        fs::remove_file(dir.path().join("department.db")).unwrap();
        let e = refusal(dir.path());
        assert!(e.contains("department.db is missing"), "{e}");

        let (dir, _) = sealed();
        fs::write(dir.path().join("data/extra"), b"x").unwrap();
        let e = refusal(dir.path());
        assert!(e.contains("data/extra is not in the manifest"), "{e}");

        let (dir, _) = sealed();
        fs::write(dir.path().join("data/p2p.key"), b"identity!").unwrap();
        let e = refusal(dir.path());
        assert!(e.contains("data/p2p.key is 9 bytes"), "{e}");
    }

    #[test]
    fn an_edited_or_re_signed_manifest_is_refused() {
        // A byte of the manifest changed (a digest, to hide a swapped file).
        let (dir, _) = sealed();
        let path = dir.path().join(MANIFEST);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(
            &path,
            text.replace("\"ledger_blocks\": 3", "\"ledger_blocks\": 4"),
        )
        .unwrap();
        let e = refusal(dir.path());
        assert!(e.contains("does not verify"), "{e}");

        // Signed by another key that claims the node's key id.
        let (dir, key) = sealed();
        let other = KeyPair::generate();
        let path = dir.path().join(MANIFEST);
        let mut m: Manifest = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        m.public_key = hex::encode(other.public_key().to_sec1_bytes());
        let text = serde_json::to_vec_pretty(&m).unwrap();
        fs::write(&path, &text).unwrap();
        fs::write(
            dir.path().join(SIGNATURE),
            hex::encode(other.sign(&text).to_bytes()),
        )
        .unwrap();
        let e = refusal(dir.path());
        assert!(e.contains(&format!("not key {}", key.key_id())), "{e}");

        // Not a backup at all.
        let empty = tempfile::tempdir().unwrap();
        let e = refusal(empty.path());
        assert!(e.contains("MANIFEST.json"), "{e}");
    }
}
