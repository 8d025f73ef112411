//! The node API client: `weinong-api`'s typed, signed client (requests signed under
//! `weinong_keys::request_auth`, retries on `Retry-After`, typed answers), re-exported for
//! the commands.

pub use weinong_api::client::{Client, now_ms, sign_call};

/// Runs `future`, a command's client work, to completion on a current-thread runtime (one
/// command is one client: nothing to spread over threads).
pub fn block_on<T>(
    future: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}
