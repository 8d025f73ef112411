//! The API's wire types: one definition, in `weinong-api` (shared with every client), so
//! the node's answers and the OpenAPI document are built from the very types clients parse.

pub use weinong_api::dto::*;
pub use weinong_api::error::ErrorBody;
