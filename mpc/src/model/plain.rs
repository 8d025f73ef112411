//! The plaintext backend: the reference every other backend must match exactly.
//!
//! It runs the IR node by node, each node over the whole batch, on `i64`. The compiler has
//! proved every node's range within ±(2^62 − 1), so no operation can overflow; the release
//! profile keeps overflow checks on, so a wrong range proof would stop here rather than
//! produce a wrapped value.

use super::batch::{Backend, InputBatch, OutputBatch};
use super::decl::Model;
use super::error::EvalError;
use super::ir::{Band, Op};

/// The plaintext reference backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Plaintext;

impl Backend for Plaintext {
    fn name(&self) -> &'static str {
        "plain"
    }

    fn evaluate(&self, model: &Model, inputs: &InputBatch) -> Result<OutputBatch, EvalError> {
        Ok(evaluate_plain(model, inputs))
    }
}

/// Runs `model` on `inputs` in the clear.
pub fn evaluate_plain(model: &Model, inputs: &InputBatch) -> OutputBatch {
    let ir = model.ir();
    let n = inputs.len();
    let last_uses = ir.last_uses();
    let is_output: Vec<bool> = {
        let mut flags = vec![false; ir.nodes().len()];
        for output in model.outputs() {
            flags[output.node.index()] = true;
        }
        flags
    };
    let mut values: Vec<Option<Vec<i64>>> = vec![None; ir.nodes().len()];
    for (i, node) in ir.nodes().iter().enumerate() {
        let get = |id: super::ir::NodeId| {
            values[id.index()]
                .as_deref()
                .expect("operands run first and live until last use")
        };
        let column: Vec<i64> = match &node.op {
            Op::Input(id) => inputs.column(id.index()).to_vec(),
            Op::Const(c) => vec![*c; n],
            Op::Add(a, b) => zip(get(*a), get(*b), |x, y| x + y),
            Op::Sub(a, b) => zip(get(*a), get(*b), |x, y| x - y),
            Op::Mul(a, b) => zip(get(*a), get(*b), |x, y| x * y),
            Op::ConstMul(a, c) => get(*a).iter().map(|x| x * c).collect(),
            Op::Compare(cmp, a, b) => zip(get(*a), get(*b), |x, y| i64::from(cmp.apply(x, y))),
            Op::Select {
                cond,
                if_true,
                if_false,
            } => {
                let (c, t, f) = (get(*cond), get(*if_true), get(*if_false));
                (0..n)
                    .map(|k| if c[k] == 1 { t[k] } else { f[k] })
                    .collect()
            }
            Op::Sum(terms) => {
                let mut acc = vec![0i64; n];
                for term in terms {
                    for (a, x) in acc.iter_mut().zip(get(*term)) {
                        *a += x;
                    }
                }
                acc
            }
            Op::RangeLookup { x, bands } => get(*x).iter().map(|v| lookup(bands, *v)).collect(),
        };
        debug_assert!(
            column.iter().all(|v| node.range.contains(*v)),
            "node {i} left its proven range"
        );
        values[i] = Some(column);
        for operand in node.op.operands() {
            if last_uses[operand.index()] == i && !is_output[operand.index()] {
                values[operand.index()] = None;
            }
        }
    }
    let columns = model
        .outputs()
        .iter()
        .map(|o| values[o.node.index()].clone().expect("outputs are kept"))
        .collect();
    OutputBatch { columns }
}

fn zip(a: &[i64], b: &[i64], f: impl Fn(i64, i64) -> i64) -> Vec<i64> {
    a.iter().zip(b).map(|(x, y)| f(*x, *y)).collect()
}

/// The value of the last band whose lower bound is at most `x` (the first band's value
/// below all bounds, which the compiler makes unreachable).
pub(crate) fn lookup(bands: &[Band], x: i64) -> i64 {
    let mut value = bands.first().map_or(0, |b| b.value);
    for band in bands.iter().skip(1) {
        if x >= band.min {
            value = band.value;
        }
    }
    value
}
