//! What the requester, the departments and the evaluator agree on from the model alone:
//! how each input and output is encrypted, and the order the evaluator runs the nodes in.
//!
//! Everything here is derived from the compiled model, never from ciphertexts, so all three
//! roles compute the same plan independently and a mismatch in a blob is a typed error.

use crate::model::{Holder, Ir, Model, NodeId, Op, ValueRange, ValueType};

use super::cipher::{Kind, width_for};

/// The encryption of a value of `range`: a bool for conditions, else the smallest signed
/// width that holds the range.
pub(crate) fn int_kind(range: ValueRange) -> Kind {
    Kind::Int(width_for(range.signed_bits()))
}

/// The plan of one model.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Per model input: how it is encrypted.
    input_kinds: Vec<Kind>,
    /// Per model output: how it is returned.
    output_kinds: Vec<Kind>,
    /// Per node: the terms of the one sum it runs as, when it is an addition or sum whose
    /// single-reader addition/sum operands were folded into it.
    sum_terms: Vec<Option<Vec<NodeId>>>,
    /// Node indexes grouped by level: a node's level is one more than its deepest operand's,
    /// so the nodes of one level are independent and run in parallel. Nodes folded into a
    /// sum appear in no level.
    levels: Vec<Vec<usize>>,
}

impl Plan {
    /// The plan of `model`.
    pub fn new(model: &Model) -> Plan {
        let input_kinds = model
            .inputs()
            .iter()
            .map(|input| match input.value_type {
                ValueType::Bool if input.range == ValueRange::BOOL => Kind::Bool,
                _ => int_kind(input.range),
            })
            .collect();
        let output_kinds = model.outputs().iter().map(|o| int_kind(o.range)).collect();
        let (sum_terms, folded) = fuse_sums(model);
        let levels = levels(model.ir(), &sum_terms, &folded);
        Plan {
            input_kinds,
            output_kinds,
            sum_terms,
            levels,
        }
    }

    /// The terms node `index` sums, if it runs as one fused multi-operand sum.
    pub(crate) fn sum_terms(&self, index: usize) -> Option<&[NodeId]> {
        self.sum_terms[index].as_deref()
    }

    /// How input `index` is encrypted.
    pub fn input_kind(&self, index: usize) -> Kind {
        self.input_kinds[index]
    }

    /// How each output is returned, in model output order.
    pub fn output_kinds(&self) -> &[Kind] {
        &self.output_kinds
    }

    /// The model inputs `holder` encrypts, in model input order (one compact list element
    /// each).
    pub fn holder_inputs(model: &Model, holder: Holder) -> Vec<usize> {
        model
            .inputs()
            .iter()
            .enumerate()
            .filter(|(_, input)| input.holder == holder)
            .map(|(index, _)| index)
            .collect()
    }

    /// Node indexes by level.
    pub(crate) fn levels(&self) -> &[Vec<usize>] {
        &self.levels
    }
}

/// Folds chains of additions into single sums: `a + b + c + d` compiles to three `Add`
/// nodes, each a full carry propagation under FHE, while one multi-operand sum propagates
/// carries once. An `Add` or `Sum` operand is folded into its reader when that reader is its
/// only one and it is not an output; modular arithmetic keeps this exact (the fused sum runs
/// at the reader's width, which holds the result).
fn fuse_sums(model: &Model) -> (Vec<Option<Vec<NodeId>>>, Vec<bool>) {
    let ir = model.ir();
    let n = ir.nodes().len();
    let mut readers = vec![0u32; n];
    for node in ir.nodes() {
        for operand in node.op.operands() {
            readers[operand.index()] += 1;
        }
    }
    for output in model.outputs() {
        readers[output.node.index()] += 1;
    }
    let is_sum = |op: &Op| matches!(op, Op::Add(..) | Op::Sum(_));
    let mut folded = vec![false; n];
    let mut sum_terms: Vec<Option<Vec<NodeId>>> = vec![None; n];
    // Readers come after their operands, so walking backwards reaches each fused sum from
    // its outermost node first.
    for index in (0..n).rev() {
        let op = &ir.nodes()[index].op;
        if folded[index] || !is_sum(op) {
            continue;
        }
        let mut terms = Vec::new();
        let mut stack: Vec<NodeId> = op.operands().into_iter().rev().collect();
        let mut fused_any = false;
        while let Some(term) = stack.pop() {
            let inner = &ir.node(term).op;
            if is_sum(inner) && readers[term.index()] == 1 {
                folded[term.index()] = true;
                fused_any = true;
                stack.extend(inner.operands().into_iter().rev());
            } else {
                terms.push(term);
            }
        }
        if fused_any {
            sum_terms[index] = Some(terms);
        }
    }
    (sum_terms, folded)
}

fn levels(ir: &Ir, sum_terms: &[Option<Vec<NodeId>>], folded: &[bool]) -> Vec<Vec<usize>> {
    let mut level_of = vec![0usize; ir.nodes().len()];
    let mut levels: Vec<Vec<usize>> = Vec::new();
    for (index, node) in ir.nodes().iter().enumerate() {
        if folded[index] {
            continue;
        }
        let operands = match &sum_terms[index] {
            Some(terms) => terms.clone(),
            None => node.op.operands(),
        };
        let level = match node.op {
            Op::Input(_) | Op::Const(_) => 0,
            _ => {
                operands
                    .iter()
                    .map(|o| level_of[o.index()])
                    .max()
                    .unwrap_or(0)
                    + 1
            }
        };
        level_of[index] = level;
        if levels.len() <= level {
            levels.resize_with(level + 1, Vec::new);
        }
        levels[level].push(index);
    }
    levels
}
