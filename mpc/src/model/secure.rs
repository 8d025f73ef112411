//! The MPC backend: the IR on the three-party engine of this crate ([`crate::Party`]).
//!
//! Each department is one party (civil affairs P0, health P1, medical insurance P2) and
//! secret-shares only the columns it holds, in one input call. The IR is then run level by
//! level: a node's level is the number of communicating steps on its longest path. All
//! comparisons of one level (compare nodes and the bands of range lookups) go into one
//! batched MSB extraction, and all multiplications of one level (mul and select nodes) into
//! one batched multiplication, so the round count depends on the model's depth, never on the
//! number of nodes or subjects. Linear nodes are local.
//!
//! Comparison by the sign of a difference is exact because the compiler proved every node
//! within ±(2^62 − 1), so every difference fits an `i64` (the ring is Z_2^64):
//! `a < b` is `msb(a − b)`; `a <= b` is `1 − msb(b − a)`; `a == b` is
//! `1 − msb(a − b) − msb(b − a)` (both cannot be 1); a range lookup is
//! `v0 + Σ_j (v_j − v_{j−1}) · (1 − msb(x − min_j))`; `select(c, t, f)` is `f + c · (t − f)`.
//!
//! Two ways out, over the same level loop (`for_each_output_chunk`):
//!
//! - [`evaluate_party_for_requester`], the deployment's: no party learns any output. Each
//!   party turns its replicated shares into a 3-out-of-3 additive share (its first
//!   component plus a fresh PRF zero share, as multiplication re-randomises; no extra
//!   round) and returns it as an [`OutputShare`]; the node encrypts it to the requester,
//!   who sums the three with [`reconstruct`](super::requester::reconstruct).
//! - [`evaluate_party`] and the [`Mpc`] backend reveal the outputs to one of the three
//!   parties: in-process tests, benchmarks and the CLI self-test, where that party stands
//!   in for the requester.
//!
//! A party's inputs are a [`PartyInputs`]: its department's columns only, borrowed from a
//! joined [`InputBatch`] or, on a node that never sees the other departments' data, built
//! from its own columns with [`PartyInputs::from_columns`].

use std::borrow::Cow;

use zeroize::Zeroize;

use crate::rss::{ArithShares, Party, RevealTo, Stats};
use crate::run::{RunOptions, run_three_with};
use crate::{MpcError, PartyId};

use super::batch::{
    Backend, InputBatch, OutputBatch, check_column, check_fill, check_len, optional_flag,
};
use super::decl::{Holder, Model, ModelId};
use super::error::{EvalError, InputError};
use super::ir::{CompareOp, Ir, NodeId, Op};
use super::limits::{MPC_SUBJECT_CHUNK_LEN, OUTPUT_COLUMNS_MAX, OUTPUT_SUBJECTS_MAX};
use super::requester::OutputShare;

/// The MPC backend: three parties in this process.
#[derive(Clone, Copy, Debug)]
pub struct Mpc {
    /// Transport and time-outs of the in-process run.
    pub options: RunOptions,
    /// The party that learns the outputs.
    pub output_party: PartyId,
}

impl Default for Mpc {
    fn default() -> Self {
        Mpc {
            options: RunOptions::default(),
            output_party: PartyId::P0,
        }
    }
}

impl Backend for Mpc {
    fn name(&self) -> &'static str {
        "mpc"
    }

    fn evaluate(&self, model: &Model, inputs: &InputBatch) -> Result<OutputBatch, EvalError> {
        self.evaluate_with_stats(model, inputs)
            .map(|(outputs, _)| outputs)
    }
}

impl Mpc {
    /// Like [`Backend::evaluate`], also returning each party's communication counters.
    pub fn evaluate_with_stats(
        &self,
        model: &Model,
        inputs: &InputBatch,
    ) -> Result<(OutputBatch, [Stats; 3]), EvalError> {
        let results = run_three_with(&self.options, |party| {
            let holder = Holder::ALL[party.id().index()];
            let own = PartyInputs::of(model, inputs, holder);
            let outputs = evaluate_party(party, model, inputs.len(), &own, self.output_party)?;
            Ok((outputs, party.stats()))
        })
        .map_err(|e| EvalError::Mpc(e.to_string()))?;
        let mut revealed = None;
        let mut stats = [Stats::default(); 3];
        for (index, result) in results.into_iter().enumerate() {
            let (outputs, party_stats) =
                result.map_err(|e| EvalError::Mpc(format!("party P{index}: {e}")))?;
            stats[index] = party_stats;
            if index == self.output_party.index() {
                revealed = outputs;
            }
        }
        let outputs = revealed
            .ok_or_else(|| EvalError::Mpc("the output party received no outputs".to_owned()))?;
        Ok((outputs, stats))
    }
}

/// The columns one party holds: for each model input, its values if this party's
/// department holds it. Borrowed from an [`InputBatch`] ([`PartyInputs::of`]) or owned
/// ([`PartyInputs::from_columns`], for a node that holds only its own department's data);
/// owned columns are wiped when dropped.
pub struct PartyInputs<'a> {
    model: ModelId,
    holder: Holder,
    len: usize,
    columns: Vec<Option<Cow<'a, [i64]>>>,
}

impl<'a> PartyInputs<'a> {
    /// The columns of `batch` that `holder` holds (and nothing else).
    pub fn of(model: &Model, batch: &'a InputBatch, holder: Holder) -> PartyInputs<'a> {
        let columns = model
            .inputs()
            .iter()
            .enumerate()
            .map(|(i, input)| (input.holder == holder).then(|| Cow::Borrowed(batch.column(i))))
            .collect();
        PartyInputs {
            model: model.id(),
            holder,
            len: batch.len(),
            columns,
        }
    }

    /// Builds `holder`'s inputs from its own columns only: `columns` pairs a model input
    /// index ([`Model::inputs`]) with that input's `len` values. Every input `holder` holds
    /// must be given exactly once and no other; each column is checked as
    /// [`InputBatch::new`] checks it (length, declared range, bools 0 or 1, an absent
    /// optional value equal to its fill). On error every given column is wiped.
    pub fn from_columns(
        model: &Model,
        holder: Holder,
        len: usize,
        mut columns: Vec<(usize, Vec<i64>)>,
    ) -> Result<PartyInputs<'static>, InputError> {
        if let Err(e) = check_own_columns(model, holder, len, &columns) {
            for (_, column) in &mut columns {
                column.zeroize();
            }
            return Err(e);
        }
        let mut slots: Vec<Option<Cow<'static, [i64]>>> = vec![None; model.inputs().len()];
        for (index, column) in columns {
            slots[index] = Some(Cow::Owned(column));
        }
        Ok(PartyInputs {
            model: model.id(),
            holder,
            len,
            columns: slots,
        })
    }

    /// The department whose columns these are.
    pub fn holder(&self) -> Holder {
        self.holder
    }

    /// Number of subjects.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no subjects.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Refuses inputs built for another model, department or batch length than this run.
    fn check_fits(&self, party: PartyId, model: &Model, len: usize) -> Result<(), MpcError> {
        let reason = if self.model != model.id() || self.columns.len() != model.inputs().len() {
            format!(
                "party inputs were built for model {}, not {}",
                self.model,
                model.id()
            )
        } else if self.holder.party() != party.index() {
            format!("party {party} was given the inputs of {}", self.holder)
        } else if self.len != len {
            format!(
                "party inputs hold {} subjects, the evaluation is over {len}",
                self.len
            )
        } else {
            return Ok(());
        };
        Err(MpcError::Setup { reason })
    }
}

impl Drop for PartyInputs<'_> {
    fn drop(&mut self) {
        for column in self.columns.iter_mut().flatten() {
            if let Cow::Owned(values) = column {
                values.zeroize();
            }
        }
    }
}

/// The checks of [`PartyInputs::from_columns`], by reference so a refused column can be
/// wiped.
fn check_own_columns(
    model: &Model,
    holder: Holder,
    len: usize,
    columns: &[(usize, Vec<i64>)],
) -> Result<(), InputError> {
    check_len(len)?;
    let inputs = model.inputs();
    let mut given: Vec<Option<&[i64]>> = vec![None; inputs.len()];
    for (index, column) in columns {
        let input = inputs.get(*index).ok_or(InputError::UnknownInput {
            index: *index,
            inputs: inputs.len(),
        })?;
        if input.holder != holder {
            return Err(InputError::NotHeldBy {
                input: input.name.clone(),
                holder: input.holder,
                given: holder,
            });
        }
        if given[*index].is_some() {
            return Err(InputError::DuplicateInput {
                input: input.name.clone(),
            });
        }
        check_column(input, column, len)?;
        given[*index] = Some(column);
    }
    for (index, input) in inputs.iter().enumerate() {
        if input.holder == holder && given[index].is_none() {
            return Err(InputError::MissingInput {
                input: input.name.clone(),
                holder,
            });
        }
    }
    for (index, input) in inputs.iter().enumerate() {
        // A known-flag has its value's holder, so both columns are here.
        let Some((flag, fill)) = optional_flag(input) else {
            continue;
        };
        if let (Some(values), Some(Some(known))) = (given[index], given.get(flag).copied()) {
            check_fill(model, index, values, flag, known, fill)?;
        }
    }
    Ok(())
}

/// Runs `model` as one party over `len` subjects; `own` are the columns this party's
/// department holds. Returns the outputs at `output_party`, `None` at the others.
pub fn evaluate_party(
    party: &mut Party,
    model: &Model,
    len: usize,
    own: &PartyInputs<'_>,
    output_party: PartyId,
) -> Result<Option<OutputBatch>, MpcError> {
    let receives = party.id() == output_party;
    let capacity = if receives { len } else { 0 };
    let mut columns: Vec<Vec<i64>> = vec![Vec::with_capacity(capacity); model.outputs().len()];
    for_each_output_chunk(party, model, len, own, |party, outputs, n| {
        if let Some(flat) = party.reveal(outputs, RevealTo::Party(output_party))? {
            for (column, values) in columns.iter_mut().zip(flat.chunks(n.max(1))) {
                column.extend(values.iter().map(|v| *v as i64));
            }
        }
        Ok(())
    })?;
    Ok(receives.then_some(OutputBatch { columns }))
}

/// Runs `model` as one party over `len` subjects, for a requester outside the three
/// parties: nothing is revealed to any party; each returns its [`OutputShare`], a
/// 3-out-of-3 additive sharing of the outputs re-randomised with a fresh zero sharing from
/// the pairwise PRF seeds (no extra round). Alone a share is uniformly random; the requester
/// sums the three with [`reconstruct`](super::requester::reconstruct).
///
/// Refuses models with more than [`OUTPUT_COLUMNS_MAX`] outputs and batches over
/// [`OUTPUT_SUBJECTS_MAX`] subjects before any round.
pub fn evaluate_party_for_requester(
    party: &mut Party,
    model: &Model,
    len: usize,
    own: &PartyInputs<'_>,
) -> Result<OutputShare, MpcError> {
    let subjects = u32::try_from(len)
        .ok()
        .filter(|_| len <= OUTPUT_SUBJECTS_MAX)
        .ok_or(MpcError::BatchTooLarge {
            len,
            max: OUTPUT_SUBJECTS_MAX,
        })?;
    if model.outputs().len() > OUTPUT_COLUMNS_MAX {
        return Err(MpcError::Setup {
            reason: format!(
                "model {} has {} outputs; an output share carries at most {OUTPUT_COLUMNS_MAX}",
                model.name(),
                model.outputs().len()
            ),
        });
    }
    let mut columns: Vec<Vec<u64>> = vec![Vec::with_capacity(len); model.outputs().len()];
    for_each_output_chunk(party, model, len, own, |party, outputs, n| {
        let mut flat = party.additive_share(outputs);
        for (column, values) in columns.iter_mut().zip(flat.chunks(n.max(1))) {
            column.extend_from_slice(values);
        }
        flat.zeroize();
        Ok(())
    })?;
    Ok(OutputShare::new(party.id(), model.id(), subjects, columns))
}

/// Runs the IR over `len` subjects in chunks and hands each chunk's outputs to `emit`: the
/// output columns concatenated (output 0's `n` subjects, then output 1's, ...) and `n`.
/// Every party cuts the same chunks and calls `emit` at the same points, so what `emit`
/// does on the engine lines up across parties.
fn for_each_output_chunk(
    party: &mut Party,
    model: &Model,
    len: usize,
    own: &PartyInputs<'_>,
    mut emit: impl FnMut(&mut Party, &ArithShares, usize) -> Result<(), MpcError>,
) -> Result<(), MpcError> {
    own.check_fits(party.id(), model, len)?;
    let plan = Plan::new(model.ir());
    // Chunks of subjects bound memory and the length of every engine call.
    for start in (0..len).step_by(MPC_SUBJECT_CHUNK_LEN) {
        let end = len.min(start + MPC_SUBJECT_CHUNK_LEN);
        let outputs = run_chunk(party, model, &plan, start..end, own)?;
        emit(party, &outputs, end - start)?;
    }
    Ok(())
}

/// Levels of the IR nodes, computed once per evaluation.
struct Plan {
    levels: Vec<u32>,
    level_count: u32,
    /// For each node, the highest level of a node that reads it (`None`: nothing reads it).
    read_until: Vec<Option<u32>>,
}

impl Plan {
    fn new(ir: &Ir) -> Plan {
        let mut levels = vec![0u32; ir.nodes().len()];
        for (i, node) in ir.nodes().iter().enumerate() {
            let deepest = node
                .op
                .operands()
                .iter()
                .map(|o| levels[o.index()])
                .max()
                .unwrap_or(0);
            levels[i] = if interactive(&node.op) {
                deepest + 1
            } else {
                deepest
            };
        }
        let level_count = levels.iter().copied().max().unwrap_or(0) + 1;
        let mut read_until: Vec<Option<u32>> = vec![None; levels.len()];
        for (i, node) in ir.nodes().iter().enumerate() {
            for operand in node.op.operands() {
                let slot = &mut read_until[operand.index()];
                *slot = Some(slot.map_or(levels[i], |l| l.max(levels[i])));
            }
        }
        Plan {
            levels,
            level_count,
            read_until,
        }
    }
}

fn interactive(op: &Op) -> bool {
    matches!(
        op,
        Op::Mul(..) | Op::Select { .. } | Op::Compare(..) | Op::RangeLookup { .. }
    )
}

fn ring(v: i64) -> u64 {
    v as u64
}

/// Values of the nodes of one chunk; dropped after their last use.
struct Values {
    shares: Vec<Option<ArithShares>>,
}

impl Values {
    fn get(&self, id: NodeId) -> Result<&ArithShares, MpcError> {
        self.shares[id.index()]
            .as_ref()
            .ok_or_else(|| MpcError::Setup {
                reason: format!(
                    "IR node {} read before it was computed or after its last use",
                    id.index()
                ),
            })
    }
}

fn run_chunk(
    party: &mut Party,
    model: &Model,
    plan: &Plan,
    rows: std::ops::Range<usize>,
    own: &PartyInputs<'_>,
) -> Result<ArithShares, MpcError> {
    let n = rows.len();
    let ir = model.ir();
    let mut values = Values {
        shares: vec![None; ir.nodes().len()],
    };
    let inputs = share_inputs(party, model, rows, own)?;
    let keep: Vec<bool> = {
        let mut keep = vec![false; ir.nodes().len()];
        for output in model.outputs() {
            keep[output.node.index()] = true;
        }
        keep
    };
    for level in 0..plan.level_count {
        run_interactive_level(party, ir, plan, level, n, &mut values)?;
        for (i, node) in ir.nodes().iter().enumerate() {
            if plan.levels[i] != level || interactive(&node.op) {
                continue;
            }
            let value = match &node.op {
                Op::Input(id) => inputs[id.index()].clone(),
                Op::Const(c) => party.public(&vec![ring(*c); n]),
                Op::Add(a, b) => values.get(*a)?.add(values.get(*b)?)?,
                Op::Sub(a, b) => values.get(*a)?.sub(values.get(*b)?)?,
                Op::ConstMul(a, c) => values.get(*a)?.mul_const(ring(*c)),
                Op::Sum(terms) => {
                    let mut acc = party.public(&vec![0; n]);
                    for term in terms {
                        acc = acc.add(values.get(*term)?)?;
                    }
                    acc
                }
                Op::Mul(..) | Op::Select { .. } | Op::Compare(..) | Op::RangeLookup { .. } => {
                    unreachable!("interactive nodes run in run_interactive_level")
                }
            };
            values.shares[i] = Some(value);
        }
        // Drop what no later node reads; every node of this level has run.
        for (i, slot) in values.shares.iter_mut().enumerate() {
            if slot.is_some() && !keep[i] && plan.read_until[i].is_some_and(|l| l <= level) {
                *slot = None;
            }
        }
    }
    let outputs: Vec<&ArithShares> = model
        .outputs()
        .iter()
        .map(|o| values.get(o.node))
        .collect::<Result<_, _>>()?;
    Ok(ArithShares::concat(&outputs))
}

/// Each holder secret-shares its columns of the chunk in one input call.
fn share_inputs(
    party: &mut Party,
    model: &Model,
    rows: std::ops::Range<usize>,
    own: &PartyInputs<'_>,
) -> Result<Vec<ArithShares>, MpcError> {
    let n = rows.len();
    let mut shares: Vec<Option<ArithShares>> = vec![None; model.inputs().len()];
    for holder in Holder::ALL {
        let ids: Vec<usize> = (0..model.inputs().len())
            .filter(|i| model.inputs()[*i].holder == holder)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let owner = PartyId::ALL[holder.party()];
        let data: Option<Vec<u64>> = if party.id() == owner {
            let mut data = Vec::with_capacity(ids.len() * n);
            for id in &ids {
                let column = own.columns[*id].as_deref().ok_or_else(|| MpcError::Setup {
                    reason: format!(
                        "party {owner} lacks its column `{}`",
                        model.inputs()[*id].name
                    ),
                })?;
                data.extend(column[rows.clone()].iter().map(|v| ring(*v)));
            }
            Some(data)
        } else {
            None
        };
        let joint = party.input(owner, data.as_deref(), ids.len() * n)?;
        for (k, id) in ids.iter().enumerate() {
            shares[*id] = Some(joint.slice(k * n..(k + 1) * n)?);
        }
    }
    shares
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            s.ok_or_else(|| MpcError::Setup {
                reason: format!("input {i} has no holder"),
            })
        })
        .collect()
}

/// Where a node's MSB results sit in the level's batch, and how to combine them.
enum Pending {
    Compare {
        node: usize,
        op: CompareOp,
        at: usize,
    },
    Lookup {
        node: usize,
        at: usize,
        base: i64,
        steps: Vec<i64>,
    },
    Product {
        node: usize,
        at: usize,
        add: Option<NodeId>,
    },
}

/// Runs every interactive node of `level`: one MSB batch, one bit injection, one product batch.
fn run_interactive_level(
    party: &mut Party,
    ir: &Ir,
    plan: &Plan,
    level: u32,
    n: usize,
    values: &mut Values,
) -> Result<(), MpcError> {
    let mut differences: Vec<ArithShares> = Vec::new();
    let mut left: Vec<ArithShares> = Vec::new();
    let mut right: Vec<ArithShares> = Vec::new();
    let mut pending = Vec::new();
    for (i, node) in ir.nodes().iter().enumerate() {
        if plan.levels[i] != level || !interactive(&node.op) {
            continue;
        }
        match &node.op {
            Op::Compare(op, a, b) => {
                let (a, b) = (values.get(*a)?, values.get(*b)?);
                pending.push(Pending::Compare {
                    node: i,
                    op: *op,
                    at: differences.len(),
                });
                match op {
                    CompareOp::Lt => differences.push(a.sub(b)?),
                    CompareOp::Le => differences.push(b.sub(a)?),
                    CompareOp::Eq => {
                        differences.push(a.sub(b)?);
                        differences.push(b.sub(a)?);
                    }
                }
            }
            Op::RangeLookup { x, bands } => {
                let x = values.get(*x)?;
                let base = bands.first().map_or(0, |b| b.value);
                let steps: Vec<i64> = bands.windows(2).map(|w| w[1].value - w[0].value).collect();
                pending.push(Pending::Lookup {
                    node: i,
                    at: differences.len(),
                    base,
                    steps,
                });
                for band in bands.iter().skip(1) {
                    differences.push(party.add_const(x, ring(band.min.wrapping_neg())));
                }
            }
            Op::Mul(a, b) => {
                pending.push(Pending::Product {
                    node: i,
                    at: left.len(),
                    add: None,
                });
                left.push(values.get(*a)?.clone());
                right.push(values.get(*b)?.clone());
            }
            Op::Select {
                cond,
                if_true,
                if_false,
            } => {
                pending.push(Pending::Product {
                    node: i,
                    at: left.len(),
                    add: Some(*if_false),
                });
                left.push(values.get(*cond)?.clone());
                right.push(values.get(*if_true)?.sub(values.get(*if_false)?)?);
            }
            _ => {}
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    let signs = if differences.is_empty() {
        None
    } else {
        let joined = ArithShares::concat(&differences.iter().collect::<Vec<_>>());
        drop(differences);
        let bits = party.msb(&joined)?;
        Some(party.bit_to_arith(&bits)?)
    };
    let products = if left.is_empty() {
        None
    } else {
        let l = ArithShares::concat(&left.iter().collect::<Vec<_>>());
        let r = ArithShares::concat(&right.iter().collect::<Vec<_>>());
        Some(party.mul(&l, &r)?)
    };
    let sign = |k: usize| -> Result<ArithShares, MpcError> {
        signs.as_ref().map_or_else(
            || {
                Err(MpcError::Setup {
                    reason: "sign batch missing".to_owned(),
                })
            },
            |s| s.slice(k * n..(k + 1) * n),
        )
    };
    for p in pending {
        let (node, value) = match p {
            Pending::Compare { node, op, at } => {
                let value = match op {
                    CompareOp::Lt => sign(at)?,
                    CompareOp::Le => party.add_const(&sign(at)?.neg(), 1),
                    CompareOp::Eq => party.add_const(&sign(at)?.add(&sign(at + 1)?)?.neg(), 1),
                };
                (node, value)
            }
            Pending::Lookup {
                node,
                at,
                base,
                steps,
            } => {
                // v0 + Σ Δ_j (1 − m_j) = (v0 + Σ Δ_j) − Σ Δ_j m_j
                let total: i64 = base + steps.iter().sum::<i64>();
                let mut acc = party.public(&vec![ring(total); n]);
                for (j, step) in steps.iter().enumerate() {
                    acc = acc.sub(&sign(at + j)?.mul_const(ring(*step)))?;
                }
                (node, acc)
            }
            Pending::Product { node, at, add } => {
                let product = products.as_ref().map_or_else(
                    || {
                        Err(MpcError::Setup {
                            reason: "product batch missing".to_owned(),
                        })
                    },
                    |p| p.slice(at * n..(at + 1) * n),
                )?;
                let value = match add {
                    Some(f) => product.add(values.get(f)?)?,
                    None => product,
                };
                (node, value)
            }
        };
        values.shares[node] = Some(value);
    }
    Ok(())
}
