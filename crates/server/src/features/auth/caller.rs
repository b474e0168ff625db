//! Who is calling, and how they proved it.

use muster_domain::{DeviceId, TokenId, UserId};

/// An authenticated user and how they proved it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    Session {
        id_hash: String,
        csrf_token: String,
    },
    Token {
        id: TokenId,
    },
    /// A device token (`mst_dev_…`): only the app-facing API accepts it.
    Device {
        id: DeviceId,
    },
}
