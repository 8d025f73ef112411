//! The model IR: a DAG of vector operations over signed integers, each node with its range.
//!
//! Nodes are stored in topological order (every operand precedes its user), so a backend
//! runs them front to back, each over the whole batch of subjects. Every value is an integer
//! (fixed-point units are declared by the inputs); there is no floating point and no
//! division. Each node carries the inclusive range its value can take on any valid input;
//! the compiler proves every range within [`VALUE_MAGNITUDE_MAX`], which backends rely on
//! (comparison by the sign of a difference, integer widths in FHE).

use std::fmt;

use super::limits::VALUE_MAGNITUDE_MAX;

/// Index of a node in [`Ir::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The id of position `index`; node counts are bounded by `NODES_MAX`, far below 2^32.
    pub(crate) fn from_index(index: usize) -> NodeId {
        NodeId(u32::try_from(index).expect("node counts are bounded by NODES_MAX < 2^32"))
    }

    /// The node's position in [`Ir::nodes`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Index of an input in [`super::Model::inputs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InputId(pub(crate) u32);

impl InputId {
    /// The input's position in [`super::Model::inputs`].
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The id of position `index`; a spec of at most `SPEC_BYTES_MAX` bytes declares far
    /// fewer than 2^32 inputs.
    pub(crate) fn from_index(index: usize) -> InputId {
        InputId(u32::try_from(index).expect("input counts are bounded by the spec size < 2^32"))
    }
}

/// An inclusive range of integer values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValueRange {
    /// Smallest possible value.
    pub min: i64,
    /// Largest possible value.
    pub max: i64,
}

impl ValueRange {
    /// The range `[0, 1]` of a condition.
    pub const BOOL: ValueRange = ValueRange { min: 0, max: 1 };

    /// A range, if `min <= max` and both lie within ±[`VALUE_MAGNITUDE_MAX`].
    pub fn new(min: i64, max: i64) -> Option<ValueRange> {
        let bounded = |v: i64| (-VALUE_MAGNITUDE_MAX..=VALUE_MAGNITUDE_MAX).contains(&v);
        (min <= max && bounded(min) && bounded(max)).then_some(ValueRange { min, max })
    }

    /// The one-value range `[v, v]`.
    pub fn point(v: i64) -> Option<ValueRange> {
        ValueRange::new(v, v)
    }

    /// Whether `v` lies in the range.
    pub fn contains(self, v: i64) -> bool {
        (self.min..=self.max).contains(&v)
    }

    /// Bits of a two's-complement integer that holds every value of the range.
    pub fn signed_bits(self) -> u32 {
        let need = |v: i64| {
            if v < 0 {
                65 - (!v).leading_zeros()
            } else {
                65 - v.leading_zeros()
            }
        };
        need(self.min).max(need(self.max))
    }
}

impl fmt::Display for ValueRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.min, self.max)
    }
}

/// A comparison; `>` and `>=` compile to these with the operands swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `a < b`
    Lt,
    /// `a <= b`
    Le,
    /// `a == b`
    Eq,
}

impl CompareOp {
    /// The comparison on plain integers.
    pub fn apply(self, a: i64, b: i64) -> bool {
        match self {
            CompareOp::Lt => a < b,
            CompareOp::Le => a <= b,
            CompareOp::Eq => a == b,
        }
    }
}

/// One band of a range lookup: values `x >= min` (up to the next band's `min`) map to `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Band {
    /// Inclusive lower bound of the band.
    pub min: i64,
    /// The lookup's result inside the band.
    pub value: i64,
}

/// One IR operation. Operands are earlier nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// A model input (one column of the batch).
    Input(InputId),
    /// A public constant.
    Const(i64),
    /// `a + b`
    Add(NodeId, NodeId),
    /// `a - b`
    Sub(NodeId, NodeId),
    /// `a * b`, both secret.
    Mul(NodeId, NodeId),
    /// `a * c` for a public constant `c`.
    ConstMul(NodeId, i64),
    /// `op(a, b)` as 0 or 1.
    Compare(CompareOp, NodeId, NodeId),
    /// `cond ? if_true : if_false`, `cond` being 0 or 1.
    Select {
        /// The condition (range `[0, 1]`).
        cond: NodeId,
        /// The value where `cond` is 1.
        if_true: NodeId,
        /// The value where `cond` is 0.
        if_false: NodeId,
    },
    /// The sum of any number of nodes.
    Sum(Vec<NodeId>),
    /// Range lookup (piecewise constant table): the value of the last band whose `min <= x`.
    /// Bands are sorted by strictly increasing `min`, and the first band's `min` is at most
    /// the least value `x` can take.
    RangeLookup {
        /// The looked-up value.
        x: NodeId,
        /// The table, sorted by `min`.
        bands: Vec<Band>,
    },
}

impl Op {
    /// The operands of this operation, in order.
    pub fn operands(&self) -> Vec<NodeId> {
        match self {
            Op::Input(_) | Op::Const(_) => Vec::new(),
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Compare(_, a, b) => vec![*a, *b],
            Op::ConstMul(a, _) => vec![*a],
            Op::Select {
                cond,
                if_true,
                if_false,
            } => vec![*cond, *if_true, *if_false],
            Op::Sum(terms) => terms.clone(),
            Op::RangeLookup { x, .. } => vec![*x],
        }
    }
}

/// An IR node: an operation and the range of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// What the node computes.
    pub op: Op,
    /// Every value the node can take on valid inputs.
    pub range: ValueRange,
}

/// The compiled DAG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ir {
    pub(crate) nodes: Vec<Node>,
}

impl Ir {
    /// The nodes in topological order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// One node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// For each node, the index of the last node that reads it (or its own index if none
    /// does), so that backends can drop intermediate vectors early.
    pub fn last_uses(&self) -> Vec<usize> {
        let mut last: Vec<usize> = (0..self.nodes.len()).collect();
        for (i, node) in self.nodes.iter().enumerate() {
            for operand in node.op.operands() {
                last[operand.index()] = i;
            }
        }
        last
    }

    /// Counts of each operation kind, for reports and benchmarks.
    pub fn op_counts(&self) -> OpCounts {
        let mut counts = OpCounts::default();
        for node in &self.nodes {
            match &node.op {
                Op::Input(_) => counts.inputs += 1,
                Op::Const(_) => counts.constants += 1,
                Op::Add(..) | Op::Sub(..) | Op::ConstMul(..) | Op::Sum(_) => counts.linear += 1,
                Op::Mul(..) => counts.multiplications += 1,
                Op::Compare(..) => counts.comparisons += 1,
                Op::Select { .. } => counts.selects += 1,
                Op::RangeLookup { bands, .. } => {
                    counts.range_lookups += 1;
                    counts.range_lookup_bands += bands.len();
                }
            }
        }
        counts
    }
}

/// How many nodes of each kind an IR has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Input nodes.
    pub inputs: usize,
    /// Constant nodes.
    pub constants: usize,
    /// Local linear nodes: add, sub, constant mul, sum.
    pub linear: usize,
    /// Secret-by-secret multiplications.
    pub multiplications: usize,
    /// Comparisons.
    pub comparisons: usize,
    /// Selects.
    pub selects: usize,
    /// Range lookups.
    pub range_lookups: usize,
    /// Bands over all range lookups.
    pub range_lookup_bands: usize,
}

impl fmt::Display for OpCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} inputs, {} constants, {} linear, {} mul, {} compare, {} select, {} range lookups ({} bands)",
            self.inputs,
            self.constants,
            self.linear,
            self.multiplications,
            self.comparisons,
            self.selects,
            self.range_lookups,
            self.range_lookup_bands
        )
    }
}
