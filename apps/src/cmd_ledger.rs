//! `weinong ledger …`: read a ledger store on disk (until the node serves these over HTTP).
//!
//! `fsck` checks everything and names the first bad block, transaction or log node;
//! `head` prints the tip and can write it as a certified head for `weinong audit
//! consistency`; `export-bundle` writes a proof bundle for `weinong audit verify`;
//! `consistency` writes the consistency proof between two blocks; `demo` builds a small
//! signed ledger with throw-away keys, for trying the audit commands.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use weinong_keys::KeyPair;
use weinong_ledger::store::{LedgerStore, StoreError};
use weinong_ledger::{
    BlockHash, BlockHeader, CommitCertificate, Hash32, MemberSet, SignedTreeHead, Transaction,
    TreeHead, TxBody, TxHash, TxKind,
};

use crate::Outcome;

/// `weinong ledger` subcommands.
#[derive(Subcommand)]
pub enum LedgerCmd {
    /// Check every block, certificate, transaction signature and log node: exit 0 clean,
    /// 1 naming the first bad record.
    Fsck(DirArgs),
    /// Print the last committed block; `--out` writes it as a certified head (JSON).
    Head(HeadArgs),
    /// Write the proof bundle of one transaction (JSON) for `weinong audit verify`.
    ExportBundle(ExportArgs),
    /// Write the consistency proof between the logs of two blocks (JSON).
    Consistency(ConsistencyArgs),
    /// Build a small ledger signed by throw-away keys (for trying the audit commands).
    Demo(DemoArgs),
}

/// A store directory.
#[derive(Args)]
pub struct DirArgs {
    /// The ledger store directory.
    #[arg(long)]
    dir: PathBuf,
}

/// `weinong ledger head`.
#[derive(Args)]
pub struct HeadArgs {
    /// The ledger store directory.
    #[arg(long)]
    dir: PathBuf,
    /// Block height (default: the tip).
    #[arg(long)]
    height: Option<u64>,
    /// Write the certified head JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the member set (hex) here, for `--members` of the audit commands.
    #[arg(long)]
    members_out: Option<PathBuf>,
}

/// `weinong ledger export-bundle`.
#[derive(Args)]
pub struct ExportArgs {
    /// The ledger store directory.
    #[arg(long)]
    dir: PathBuf,
    /// Transaction hash (64 hex characters).
    #[arg(long)]
    tx: String,
    /// Prove against this block's head (default: the block holding the transaction; with
    /// `--chain`, the tip).
    #[arg(long)]
    height: Option<u64>,
    /// Prove the transaction in the block that holds it and link that block to the head
    /// by the headers between them, with the head's co-signed tree head if recorded
    /// (format weinong-proof-bundle/2).
    #[arg(long)]
    chain: bool,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
}

/// `weinong ledger consistency`.
#[derive(Args)]
pub struct ConsistencyArgs {
    /// The ledger store directory.
    #[arg(long)]
    dir: PathBuf,
    /// The older block height.
    #[arg(long)]
    old: u64,
    /// The newer block height.
    #[arg(long)]
    new: u64,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
}

/// `weinong ledger demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// New store directory (must not hold a database).
    #[arg(long)]
    dir: PathBuf,
    /// Blocks to append.
    #[arg(long, default_value_t = 4)]
    blocks: u64,
    /// Transactions per block.
    #[arg(long, default_value_t = 10)]
    txs: u64,
}

/// Dispatches `weinong ledger`.
pub fn ledger(cmd: LedgerCmd) -> Result<Outcome> {
    match cmd {
        LedgerCmd::Fsck(args) => fsck(&args.dir),
        LedgerCmd::Head(args) => head(args),
        LedgerCmd::ExportBundle(args) => export_bundle(args),
        LedgerCmd::Consistency(args) => consistency(args),
        LedgerCmd::Demo(args) => demo(args),
    }
}

/// Opens a store; damage found on open is a failed check (exit 1), not a usage error.
/// The store in `dir`; `None` when it is corrupt, after printing the failed check (the
/// command's outcome is then a failed check, not an input error).
fn open(dir: &Path) -> Result<Option<LedgerStore>> {
    match LedgerStore::open(dir) {
        Ok(s) => Ok(Some(s)),
        Err(e @ StoreError::Corrupt { .. }) => {
            println!("FAILED on open: {e}");
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("opening the ledger in {}", dir.display())),
    }
}

fn fsck(dir: &Path) -> Result<Outcome> {
    let Some(store) = open(dir)? else {
        return Ok(Outcome::CheckFailed);
    };
    let started = std::time::Instant::now();
    match store.fsck() {
        Ok(report) => {
            println!(
                "ok: {} blocks, {} transactions (signatures verified), {} log nodes recomputed, {} co-signed tree heads checked in {:.2} s",
                report.blocks,
                report.transactions,
                report.nodes,
                report.tree_heads,
                started.elapsed().as_secs_f64()
            );
            if let Some(tip) = store.tip() {
                print_header(tip);
            }
            Ok(Outcome::Ok)
        }
        Err(e @ StoreError::Corrupt { .. }) => {
            println!("FAILED: {e}");
            Ok(Outcome::CheckFailed)
        }
        Err(e) => Err(e).context("fsck"),
    }
}

fn print_header(h: &BlockHeader) {
    println!("height:       {}", h.height);
    println!("block hash:   {}", h.hash());
    println!("previous:     {}", h.previous);
    println!("log size:     {}", h.log_size);
    println!("log root:     {}", h.log_root);
    println!("state digest: {}", h.state_digest);
    println!("time (ms):    {}", h.time_ms);
    println!("proposer:     {}", h.proposer);
}

fn head(args: HeadArgs) -> Result<Outcome> {
    let Some(store) = open(&args.dir)? else {
        return Ok(Outcome::CheckFailed);
    };
    let Some(tip) = store.tip() else {
        bail!("the ledger in {} has no blocks yet", args.dir.display());
    };
    let height = args.height.unwrap_or(tip.height);
    let header = store.header(height)?;
    print_header(&header);
    let cert = store.certificate(height)?;
    let members = store.members_at(height);
    println!(
        "certificate:  {} of {} members signed (quorum {})",
        cert.signatures.len(),
        members.keys().len(),
        members.quorum()
    );
    for id in members.keys().keys() {
        println!("member:       {id}");
    }
    for (from, set) in store.member_history() {
        println!(
            "member set:   {} from block {from} ({} keys, quorum {})",
            set.digest(),
            set.keys().len(),
            set.quorum()
        );
    }
    if let Some(out) = args.out {
        let head = store.certified_head(height)?;
        write_new(&out, &serde_json::to_string_pretty(&head)?)?;
        println!("wrote certified head to {}", out.display());
    }
    if let Some(out) = args.members_out {
        // What an auditor pins: the genesis set (proof files carry the changes from it).
        write_new(&out, &hex::encode(store.genesis_members().encode()))?;
        println!("wrote the genesis member set to {}", out.display());
    }
    Ok(Outcome::Ok)
}

fn export_bundle(args: ExportArgs) -> Result<Outcome> {
    let hash: TxHash = args.tx.parse().context("--tx")?;
    let Some(store) = open(&args.dir)? else {
        return Ok(Outcome::CheckFailed);
    };
    let bundle = if args.chain {
        store.export_linked_bundle(&hash, args.height)?
    } else {
        store.export_bundle(&hash, args.height)?
    };
    write_new(&args.out, &serde_json::to_string_pretty(&bundle)?)?;
    println!(
        "wrote the proof bundle of transaction {hash} (leaf {}, {}, {} linking headers{}) to {}",
        bundle.leaf_index,
        bundle.format,
        bundle.chain.len(),
        if bundle.tree_head.is_some() {
            ", co-signed tree head"
        } else {
            ""
        },
        args.out.display()
    );
    Ok(Outcome::Ok)
}

fn consistency(args: ConsistencyArgs) -> Result<Outcome> {
    let Some(store) = open(&args.dir)? else {
        return Ok(Outcome::CheckFailed);
    };
    if args.old > args.new {
        bail!("--old {} is after --new {}", args.old, args.new);
    }
    let proof = store.consistency_between(args.old, args.new)?;
    write_new(&args.out, &serde_json::to_string_pretty(&proof)?)?;
    println!(
        "wrote the consistency proof from log size {} (block {}) to {} (block {}) to {}",
        proof.old_size,
        args.old,
        proof.new_size,
        args.new,
        args.out.display()
    );
    Ok(Outcome::Ok)
}

fn demo(args: DemoArgs) -> Result<Outcome> {
    if args.blocks == 0 || args.blocks > 10_000 || args.txs > 10_000 {
        bail!("--blocks must be 1..=10000 and --txs at most 10000");
    }
    fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let members: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
    let set = MemberSet::new(members.iter().map(|k| k.public_key().clone()).collect(), 2)?;
    let signer = KeyPair::generate();
    let mut store = LedgerStore::create(&args.dir, &set)?;
    let mut nonce = 0u64;
    for height in 0..args.blocks {
        let txs = (0..args.txs)
            .map(|_| {
                nonce += 1;
                let body = TxBody {
                    kind: TxKind::TEST_MIN,
                    signer: signer.key_id(),
                    nonce,
                    time_ms: 1_764_000_000_000 + nonce,
                    payload: format!("demo transaction {nonce}").into_bytes(),
                };
                Transaction::sign(body, &signer)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (log_size, log_root) = store.preview(&txs);
        let previous = store.tip().map(BlockHeader::hash).unwrap_or_default();
        let header = BlockHeader {
            height,
            previous: BlockHash(previous.0),
            log_size,
            log_root,
            state_digest: Hash32::default(),
            time_ms: 1_764_000_000_000 + height * 1_000,
            proposer: members[0].key_id(),
            members: set.digest(),
            next_members: set.digest(),
        };
        let cert = CommitCertificate::from_votes(
            &header,
            members.iter().map(|m| header.vote(m)).collect(),
        );
        let new_keys = if height == 0 {
            vec![signer.public_key().clone()]
        } else {
            vec![]
        };
        store.append_block(&header, &cert, &txs, &new_keys)?;
        // The members co-sign each block's tree head, as the node does.
        let head = TreeHead::of_header(&header);
        store.record_tree_head(&SignedTreeHead::from_cosignatures(
            head,
            members.iter().map(|m| head.cosign(m)).collect(),
        ))?;
        if let Some(first) = txs.first().filter(|_| height == 0) {
            println!("first transaction: {}", first.hash());
        }
    }
    println!(
        "built {} blocks of {} transactions in {}",
        args.blocks,
        args.txs,
        args.dir.display()
    );
    Ok(Outcome::Ok)
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    if path.exists() {
        bail!("{} exists; refusing to overwrite", path.display());
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
