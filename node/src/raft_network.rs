//! openraft's network over the node's libp2p layer: each Raft RPC is one request-response
//! exchange addressed by the target's ledger key id.

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use weinong_keys::KeyId;

use crate::limits::RAFT_CONNECT_WAIT_MAX;
use crate::p2p::{P2p, P2pError};
use crate::raft::{NodeId, PeerNode, TypeConfig};
use crate::wire::{PeerRequest, PeerResponse};

/// The node's p2p handle, as Raft and the chain use it.
pub type NodeP2p = P2p<PeerRequest, PeerResponse>;

/// Makes one [`Connection`] per target.
#[derive(Clone)]
pub struct Network {
    /// The p2p layer.
    pub p2p: NodeP2p,
}

/// Raft's client for one target node.
pub struct Connection {
    p2p: NodeP2p,
    target: NodeId,
    node: PeerNode,
    key: Option<KeyId>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &PeerNode) -> Connection {
        Connection {
            p2p: self.p2p.clone(),
            target,
            node: node.clone(),
            key: node.key.parse().ok(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Unexpected(String);

impl Connection {
    async fn call<E: std::error::Error>(
        &self,
        req: PeerRequest,
        option: &RPCOption,
    ) -> Result<PeerResponse, RPCError<NodeId, PeerNode, E>> {
        let Some(key) = self.key else {
            return Err(RPCError::Unreachable(Unreachable::new(&Unexpected(
                format!("{} has no valid ledger key id", self.node),
            ))));
        };
        // At start-up (or a peer's restart) Raft often calls before the connection is up
        // both ways: give it part of the RPC's time instead of failing at once, which
        // openraft logs as an error. A peer that stays away still fails the call.
        let wait = (option.soft_ttl() / 2).min(RAFT_CONNECT_WAIT_MAX);
        let _ = self.p2p.wait_connected(&key, wait).await;
        self.p2p.request(&key, req).await.map_err(|e| match e {
            P2pError::NotConnected(_) => RPCError::Unreachable(Unreachable::new(&e)),
            other => RPCError::Network(NetworkError::new(&other)),
        })
    }

    fn unexpected<E: std::error::Error>(
        &self,
        what: &str,
        got: &PeerResponse,
    ) -> RPCError<NodeId, PeerNode, E> {
        let msg = match got {
            PeerResponse::Refused(why) => format!("{} refused {what}: {why}", self.node),
            other => format!("{} answered {what} with {other:?}", self.node),
        };
        RPCError::Network(NetworkError::new(&Unexpected(msg)))
    }

    fn remote<E: std::error::Error>(
        &self,
        e: RaftError<NodeId, E>,
    ) -> RPCError<NodeId, PeerNode, RaftError<NodeId, E>> {
        RPCError::RemoteError(RemoteError::new_with_node(
            self.target,
            self.node.clone(),
            e,
        ))
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, PeerNode, RaftError<NodeId>>> {
        match self.call(PeerRequest::AppendEntries(rpc), &option).await? {
            PeerResponse::AppendEntries(Ok(r)) => Ok(r),
            PeerResponse::AppendEntries(Err(e)) => Err(self.remote(e)),
            other => Err(self.unexpected("append-entries", &other)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, PeerNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        match self
            .call(PeerRequest::InstallSnapshot(rpc), &option)
            .await?
        {
            PeerResponse::InstallSnapshot(Ok(r)) => Ok(r),
            PeerResponse::InstallSnapshot(Err(e)) => Err(self.remote(e)),
            other => Err(self.unexpected("install-snapshot", &other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, PeerNode, RaftError<NodeId>>> {
        match self.call(PeerRequest::Vote(rpc), &option).await? {
            PeerResponse::Vote(Ok(r)) => Ok(r),
            PeerResponse::Vote(Err(e)) => Err(self.remote(e)),
            other => Err(self.unexpected("vote", &other)),
        }
    }
}
