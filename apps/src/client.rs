//! The node API client: `weinong-api`'s typed, signed client (requests signed under
//! `weinong_keys::request_auth`, retries on `Retry-After`, typed answers), re-exported for
//! the commands.

pub use weinong_api::client::{Client, now_ms, sign_call};
