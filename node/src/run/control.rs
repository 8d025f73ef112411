//! The node's control socket, `DATA_DIR/control.sock`: a Unix socket only the node's own
//! user may open (mode 0600, in a directory that user owns), so file permissions are its
//! authentication, as for the keystore beside it. One JSON line in, one JSON line out.
//!
//! `weinong-node backup --config FILE --to DIR` asks the running node for an online backup
//! here ([`crate::backup::take`]).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use weinong_keys::KeyPair;

use crate::config::NodeConfig;
use crate::raft::log_store::LogStore;
use crate::shared::Shared;

/// The socket's file name in `data_dir`.
pub const SOCKET: &str = "control.sock";
/// The longest request line read.
const REQUEST_BYTES_MAX: usize = 64 * 1024;
/// How long a client waits for a backup before giving up on the answer (the node goes on).
pub const BACKUP_WAIT: Duration = Duration::from_secs(4 * 3600);

/// What the operator asks.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlRequest {
    /// Take a backup into this directory (absolute; must not exist).
    Backup {
        /// Where.
        to: PathBuf,
    },
}

/// What the node answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlResponse {
    /// The backup is complete and signed.
    BackedUp {
        /// Where it is.
        dir: PathBuf,
        /// Certified blocks in it.
        blocks: u64,
        /// Files listed in its manifest.
        files: usize,
        /// Their total size.
        bytes: u64,
    },
    /// The request failed; nothing was left behind.
    Failed {
        /// Why.
        message: String,
    },
}

/// What serving a backup needs.
pub(super) struct Control {
    pub(super) config: NodeConfig,
    pub(super) shared: Arc<Shared>,
    pub(super) log: LogStore,
    pub(super) key: Arc<KeyPair>,
    /// One backup at a time.
    pub(super) busy: tokio::sync::Mutex<()>,
}

/// Binds the socket (replacing a stale one: the stores' locks already prove no other node
/// runs on this data_dir) and serves it until the task is dropped.
pub(super) fn bind(data_dir: &Path) -> anyhow::Result<tokio::net::UnixListener> {
    use anyhow::Context;
    let path = data_dir.join(SOCKET);
    if path.exists() {
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove the stale {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("cannot bind the control socket {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    Ok(listener)
}

pub(super) async fn serve(listener: tokio::net::UnixListener, control: Arc<Control>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let control = control.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut reader = tokio::io::BufReader::new(read).take(REQUEST_BYTES_MAX as u64);
            let answer = match reader.read_line(&mut line).await {
                Ok(_) => match serde_json::from_str::<ControlRequest>(&line) {
                    Ok(request) => control.handle(request).await,
                    Err(e) => ControlResponse::Failed {
                        message: format!("the request is not one this node knows: {e}"),
                    },
                },
                Err(e) => ControlResponse::Failed {
                    message: format!("cannot read the request: {e}"),
                },
            };
            if let Ok(mut bytes) = serde_json::to_vec(&answer) {
                bytes.push(b'\n');
                let _ = write.write_all(&bytes).await;
            }
        });
    }
}

impl Control {
    async fn handle(&self, request: ControlRequest) -> ControlResponse {
        match request {
            ControlRequest::Backup { to } => {
                if !to.is_absolute() {
                    return ControlResponse::Failed {
                        message: format!("{} is not an absolute path", to.display()),
                    };
                }
                let _one = self.busy.lock().await;
                tracing::info!(to = %to.display(), "backup started");
                // Checkpoints, copies and digests are blocking file work, minutes on a
                // large ledger: off the async workers.
                let taken = tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(crate::backup::take(
                        &self.config,
                        &self.shared,
                        &self.log,
                        &self.key,
                        &to,
                    ))
                });
                match taken {
                    Ok(manifest) => {
                        tracing::info!(
                            to = %to.display(),
                            blocks = manifest.ledger_blocks,
                            files = manifest.files.len(),
                            "backup written"
                        );
                        ControlResponse::BackedUp {
                            dir: to,
                            blocks: manifest.ledger_blocks,
                            files: manifest.files.len(),
                            bytes: manifest.files.iter().map(|f| f.bytes).sum(),
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "backup failed");
                        ControlResponse::Failed {
                            message: e.to_string(),
                        }
                    }
                }
            }
        }
    }
}

/// Sends `request` to the node running on `data_dir` and waits for its answer (blocking).
pub fn ask(data_dir: &Path, request: &ControlRequest) -> anyhow::Result<ControlResponse> {
    use anyhow::Context;
    let path = data_dir.join(SOCKET);
    let mut stream = std::os::unix::net::UnixStream::connect(&path).with_context(|| {
        format!(
            "cannot reach the node's control socket {} (is the node running, and are you its user?)",
            path.display()
        )
    })?;
    stream.set_read_timeout(Some(BACKUP_WAIT))?;
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .context("the node closed the control socket without answering")?;
    serde_json::from_str(&answer)
        .with_context(|| format!("the node's answer does not parse: {answer:?}"))
}
