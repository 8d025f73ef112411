//! Shared test fixtures: a small consortium that signs transactions and certifies blocks.
#![allow(dead_code, reason = "each test binary uses a different part")]

use weinong_keys::KeyPair;
use weinong_ledger::store::LedgerStore;
use weinong_ledger::{
    BlockHash, BlockHeader, CommitCertificate, Hash32, MemberSet, SignedTreeHead, Transaction,
    TreeHead, TxBody, TxKind,
};

/// Three members (quorum 2) and two transaction signers.
pub struct Consortium {
    pub members: Vec<KeyPair>,
    pub set: MemberSet,
    pub signers: Vec<KeyPair>,
    nonce: u64,
}

impl Consortium {
    pub fn new() -> Self {
        let members: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
        let set = MemberSet::new(members.iter().map(|k| k.public_key().clone()).collect(), 2)
            .expect("2 of 3");
        Self {
            members,
            set,
            signers: (0..2).map(|_| KeyPair::generate()).collect(),
            nonce: 0,
        }
    }

    /// A consortium with fixed keys, so a child process and its parent share it.
    /// `nonce` continues numbering (use the log size) so transactions never repeat.
    pub fn fixed(nonce: u64) -> Self {
        let key = |i: u8| KeyPair::from_secret_bytes(&[i; 32]).expect("small fixed scalar");
        let members: Vec<KeyPair> = (1..=3).map(key).collect();
        let set = MemberSet::new(members.iter().map(|k| k.public_key().clone()).collect(), 2)
            .expect("2 of 3");
        Self {
            members,
            set,
            signers: (4..=5).map(key).collect(),
            nonce,
        }
    }

    pub fn tx(&mut self, payload_len: usize) -> Transaction {
        self.nonce += 1;
        let signer = &self.signers[(self.nonce % 2) as usize];
        let mut payload = self.nonce.to_be_bytes().to_vec();
        payload.resize(payload_len.max(8), 0x5A);
        let body = TxBody {
            kind: TxKind(0xF000),
            signer: signer.key_id(),
            nonce: self.nonce,
            time_ms: self.nonce,
            payload,
        };
        Transaction::sign(body, signer).expect("small payload")
    }

    /// The next block over `txs`, certified by members 0 and 1.
    pub fn block(
        &self,
        store: &LedgerStore,
        txs: &[Transaction],
    ) -> (BlockHeader, CommitCertificate) {
        let (log_size, log_root) = store.preview(txs);
        let (height, previous, time_ms) = match store.tip() {
            Some(t) => (t.height + 1, t.hash(), t.time_ms + 1),
            None => (0, BlockHash::default(), 1),
        };
        let header = BlockHeader {
            height,
            previous,
            log_size,
            log_root,
            state_digest: Hash32([0x33; 32]),
            time_ms,
            proposer: self.members[0].key_id(),
            members: store.members().digest(),
            next_members: store.members().digest(),
        };
        let votes = vec![header.vote(&self.members[0]), header.vote(&self.members[1])];
        (header, CommitCertificate::from_votes(&header, votes))
    }

    /// Appends one block of `n` fresh transactions; the first block registers the signers.
    pub fn append(&mut self, store: &mut LedgerStore, n: usize) -> Vec<Transaction> {
        self.append_sized(store, n, 24)
    }

    /// As [`Self::append`], with payloads of `payload_len` bytes.
    pub fn append_sized(
        &mut self,
        store: &mut LedgerStore,
        n: usize,
        payload_len: usize,
    ) -> Vec<Transaction> {
        let txs: Vec<Transaction> = (0..n).map(|_| self.tx(payload_len)).collect();
        let (header, cert) = self.block(store, &txs);
        let keys: Vec<_> = self
            .signers
            .iter()
            .map(|k| k.public_key().clone())
            .collect();
        let new_keys = if store.tip().is_none() { keys } else { vec![] };
        store
            .append_block(&header, &cert, &txs, &new_keys)
            .expect("valid block appends");
        txs
    }

    /// The tree head of `header`, co-signed by members 1 and 2.
    pub fn cosign(&self, header: &BlockHeader) -> SignedTreeHead {
        let head = TreeHead::of_header(header);
        SignedTreeHead::from_cosignatures(
            head,
            vec![head.cosign(&self.members[2]), head.cosign(&self.members[1])],
        )
    }

    /// Records the co-signed tree head of the store's tip.
    pub fn record_tip_head(&self, store: &mut LedgerStore) -> SignedTreeHead {
        let tip = *store.tip().expect("a block");
        let sth = self.cosign(&tip);
        store.record_tree_head(&sth).expect("valid tree head");
        sth
    }
}
