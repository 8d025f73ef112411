//! The evaluator: the model's IR run homomorphically over the departments' ciphertexts.
//!
//! It holds a rayon pool whose every worker has the requester's server key installed
//! (tfhe keeps the server key per thread; the pool's start handler installs it, so no task
//! can run on a thread without it). The IR runs level by level; the nodes of one level are
//! independent and run in parallel, and tfhe parallelises each operation over its blocks
//! on the same pool.
//!
//! Per node: constants stay public and fold ([`Value::Public`]); an operation with a public
//! side uses tfhe's scalar form; a comparison that the operands' ranges already decide
//! becomes a public constant; conditions stay `FheBool` and combine by boolean gates where a
//! select or product only mixes conditions and 0/1; sums and range lookups use tfhe's
//! multi-operand addition (carry-save tree) instead of a chain of additions. A range lookup
//! compares the value with every band bound in parallel and adds the band steps grouped by
//! step size: `v0 + Σ_d d · #{j : d_j = d, x ≥ min_j}`.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use tfhe::conformance::ListSizeConstraint;
use tfhe::prelude::*;
use tfhe::safe_serialization::DeserializationConfig;
use tfhe::{CompactCiphertextList, CompactCiphertextListConformanceParams, FheBool, ServerKey};

use crate::model::{Band, CompareOp, Holder, Ir, Model, Node, NodeId, Op, ValueRange};

use super::cipher::{Cipher, Cmp, Kind, width_for};
use super::error::FheError;
use super::keys::EvaluationKey;
use super::limits::INPUT_LIST_BYTES_MAX;
use super::params::{BLOCK_BITS, PARAMETER_SET_NAME, pke_parameters};
use super::plan::{Plan, int_kind};
use super::wire::EncryptedOutputs;

/// A node's value: a public constant, or a ciphertext.
#[derive(Clone)]
enum Value {
    Public(i64),
    Enc(Cipher),
}

/// Time and count per kind of encrypted operation, for reports and benchmarks.
#[derive(Clone, Debug, Default)]
pub struct EvalReport {
    /// Deserializing, checking and expanding the departments' compact lists.
    pub expand: Duration,
    /// Running the IR (wall clock).
    pub evaluate: Duration,
    /// Per operation kind (`add`, `compare`, `range_lookup` …): encrypted nodes and the sum
    /// of their durations (nodes of one level overlap, so the sum exceeds the wall clock).
    pub by_kind: BTreeMap<&'static str, (u64, Duration)>,
    /// Nodes that folded to public constants (no ciphertext work).
    pub folded: u64,
}

/// Where an evaluator computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// tfhe's CPU backend, parallel over the worker pool.
    Cpu,
    /// tfhe's CUDA backend (feature `gpu`): the server key is decompressed onto GPU 0 once
    /// and shared; each worker has its own CUDA streams, so the nodes of one IR level run
    /// concurrently on the device. Ciphertexts move to the GPU on first use.
    #[cfg(feature = "gpu")]
    Gpu,
}

impl Device {
    /// The GPU where this build has the `gpu` feature and a CUDA device is visible, else
    /// the CPU.
    pub fn available() -> Device {
        #[cfg(feature = "gpu")]
        if tfhe::core_crypto::gpu::get_number_of_gpus() > 0 {
            return Device::Gpu;
        }
        Device::Cpu
    }

    /// `cpu` or `gpu`, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            #[cfg(feature = "gpu")]
            Device::Gpu => "gpu",
        }
    }
}

/// Drops a pool's own copy of its server key (see `Drop for Evaluator`).
type ReleaseKey = Box<dyn Fn() + Send + Sync>;

/// The evaluating node: the server key installed on a worker pool.
pub struct Evaluator {
    pool: rayon::ThreadPool,
    device: Device,
    release_key: ReleaseKey,
}

impl Evaluator {
    /// Decompresses the requester's server key onto the best [`Device::available`] and
    /// starts `threads` workers (0: one per core) with it installed.
    pub fn new(key: &EvaluationKey, threads: usize) -> Result<Evaluator, FheError> {
        Evaluator::on(Device::available(), key, threads)
    }

    /// As [`Evaluator::new`], on `device`.
    pub fn on(device: Device, key: &EvaluationKey, threads: usize) -> Result<Evaluator, FheError> {
        match device {
            Device::Cpu => {
                let server_key: ServerKey = key.compressed().decompress();
                Evaluator::with_server_key(server_key, threads)
            }
            #[cfg(feature = "gpu")]
            Device::Gpu => {
                // The key was checked against the pinned parameters when it was read, and
                // those are a set the CUDA backend supports.
                // Cloning a CUDA server key shares its device memory and opens new streams.
                let server_key = key.compressed().decompress_to_gpu();
                let (pool, release_key) =
                    worker_pool(device, threads, server_key, tfhe::set_server_key)?;
                Ok(Evaluator {
                    pool,
                    device,
                    release_key,
                })
            }
        }
    }

    /// Starts `threads` CPU workers (0: one per core) with `server_key` installed.
    pub fn with_server_key(server_key: ServerKey, threads: usize) -> Result<Evaluator, FheError> {
        let (pool, release_key) =
            worker_pool(Device::Cpu, threads, server_key, tfhe::set_server_key)?;
        Ok(Evaluator {
            pool,
            device: Device::Cpu,
            release_key,
        })
    }

    /// Where this evaluator computes.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Evaluates `model` for one subject from each holding department's encrypted inputs
    /// and returns the encrypted outputs (for the requester) with timings.
    pub fn evaluate(
        &self,
        model: &Model,
        plan: &Plan,
        department_inputs: &[(Holder, &[u8])],
    ) -> Result<(EncryptedOutputs, EvalReport), FheError> {
        self.pool.install(|| {
            let mut report = EvalReport::default();
            let started = Instant::now();
            let inputs = expand_inputs(model, plan, department_inputs)?;
            report.expand = started.elapsed();
            let started = Instant::now();
            let outputs = run(model, plan, &inputs, &mut report)?;
            report.evaluate = started.elapsed();
            Ok((outputs, report))
        })
    }
}

thread_local! {
    /// The device of the key this worker installed (set with the key, read by operations
    /// whose form differs per device).
    static WORKER_DEVICE: Cell<Device> = const { Cell::new(Device::Cpu) };
}

/// A rayon pool whose every worker installs a clone of `server_key` before any task (tfhe
/// keeps the server key in a thread-local), and a function that drops the pool's own copy.
fn worker_pool<K>(
    device: Device,
    threads: usize,
    server_key: K,
    install: fn(K),
) -> Result<(rayon::ThreadPool, ReleaseKey), FheError>
where
    K: Clone + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Some(server_key)));
    let for_workers = Arc::clone(&slot);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("weinong-fhe-{i}"))
        .start_handler(move |_| {
            let key = for_workers.lock().ok().and_then(|k| k.clone());
            if let Some(key) = key {
                install(key);
            }
            WORKER_DEVICE.with(|d| d.set(device));
        })
        .build()
        .map_err(|e| FheError::Pool(e.to_string()))?;
    let release = move || {
        if let Ok(mut key) = slot.lock() {
            key.take();
        }
    };
    Ok((pool, Box::new(release)))
}

impl Drop for Evaluator {
    fn drop(&mut self) {
        // Every copy of the key goes now, while this thread runs: a CUDA key's streams must
        // be destroyed while the driver is up, not by worker thread-local destructors
        // racing the process's exit (tfhe-cuda aborts on "driver shutting down").
        self.pool.broadcast(|_| tfhe::unset_server_key());
        (self.release_key)();
    }
}

/// Whether this worker's key is on a GPU.
fn on_gpu() -> bool {
    WORKER_DEVICE.with(|d| d.get()) != Device::Cpu
}

/// Reads each holder's compact list (size limit, header, parameters, element count),
/// expands it and checks every element's kind against the plan.
fn expand_inputs(
    model: &Model,
    plan: &Plan,
    department_inputs: &[(Holder, &[u8])],
) -> Result<Vec<Option<Cipher>>, FheError> {
    const WHAT: &str = "encrypted department inputs";
    let mut inputs: Vec<Option<Cipher>> = vec![None; model.inputs().len()];
    for holder in model.holders() {
        let mut given = department_inputs.iter().filter(|(h, _)| *h == holder);
        let Some((_, bytes)) = given.next() else {
            return Err(FheError::Shape {
                what: WHAT,
                reason: format!("none from {holder}, which holds model inputs"),
            });
        };
        if given.next().is_some() {
            return Err(FheError::Shape {
                what: WHAT,
                reason: format!("two lists from {holder}"),
            });
        }
        let indexes = Plan::holder_inputs(model, holder);
        let list = read_input_list(bytes, indexes.len())?;
        let expanded = list.expand().map_err(|e| FheError::Tfhe(e.to_string()))?;
        for (position, index) in indexes.iter().enumerate() {
            inputs[*index] = Some(Cipher::from_expanded(
                &expanded,
                position,
                plan.input_kind(*index),
            )?);
        }
    }
    if let Some((holder, _)) = department_inputs
        .iter()
        .find(|(h, _)| !model.holders().contains(h))
    {
        return Err(FheError::Shape {
            what: WHAT,
            reason: format!(
                "a list from {holder}, which holds no input of {}",
                model.name()
            ),
        });
    }
    Ok(inputs)
}

/// tfhe's safe deserialization of one department's list, then conformance with the pinned
/// public-key parameters and the exact element count the model gives that department.
pub(crate) fn read_input_list(
    bytes: &[u8],
    elements: usize,
) -> Result<CompactCiphertextList, FheError> {
    const WHAT: &str = "encrypted department inputs";
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if len > INPUT_LIST_BYTES_MAX {
        return Err(FheError::TooLarge {
            what: WHAT,
            len,
            max: INPUT_LIST_BYTES_MAX,
        });
    }
    let list: CompactCiphertextList = DeserializationConfig::new(INPUT_LIST_BYTES_MAX)
        .disable_conformance()
        .deserialize_from(bytes)
        .map_err(|reason| FheError::Malformed { what: WHAT, reason })?;
    let conformance = CompactCiphertextListConformanceParams::from_parameters_and_size_constraint(
        pke_parameters(),
        ListSizeConstraint::exact_size(elements),
    );
    if !list.is_conformant(&conformance) {
        return Err(FheError::NotConformant {
            what: WHAT,
            expected: format!("a packed list of {elements} values under {PARAMETER_SET_NAME}"),
        });
    }
    Ok(list)
}

fn run(
    model: &Model,
    plan: &Plan,
    inputs: &[Option<Cipher>],
    report: &mut EvalReport,
) -> Result<EncryptedOutputs, FheError> {
    let ir = model.ir();
    let mut values: Vec<Option<Value>> = vec![None; ir.nodes().len()];
    // Readers not yet run, per node; outputs count one extra reader so they are kept.
    let mut readers_left = vec![0u32; ir.nodes().len()];
    for index in plan.levels().iter().flatten() {
        for operand in operands(ir, plan, *index) {
            readers_left[operand.index()] += 1;
        }
    }
    for output in model.outputs() {
        readers_left[output.node.index()] += 1;
    }
    let timings: Mutex<Vec<(&'static str, bool, Duration)>> = Mutex::new(Vec::new());
    for level in plan.levels() {
        let computed: Vec<Result<(usize, Value), FheError>> = level
            .par_iter()
            .map(|index| {
                let started = Instant::now();
                let node = &ir.nodes()[*index];
                let value = match plan.sum_terms(*index) {
                    Some(terms) => eval_sum(ir, node, terms, &values)?,
                    None => eval_node(ir, node, &values, inputs)?,
                };
                let encrypted = matches!(value, Value::Enc(_))
                    && !matches!(node.op, Op::Input(_) | Op::Const(_));
                let name = if plan.sum_terms(*index).is_some() {
                    "sum"
                } else {
                    op_name(&node.op)
                };
                if let Ok(mut t) = timings.lock() {
                    t.push((name, encrypted, started.elapsed()));
                }
                Ok((*index, value))
            })
            .collect();
        for result in computed {
            let (index, value) = result?;
            values[index] = Some(value);
        }
        // Free ciphertexts no later node reads.
        for index in level {
            for operand in operands(ir, plan, *index) {
                let left = &mut readers_left[operand.index()];
                *left = left.saturating_sub(1);
                if *left == 0 {
                    values[operand.index()] = None;
                }
            }
        }
    }
    for (name, encrypted, took) in timings.into_inner().unwrap_or_default() {
        if matches!(name, "input" | "const") {
            continue;
        }
        if encrypted {
            let entry = report.by_kind.entry(name).or_default();
            entry.0 += 1;
            entry.1 += took;
        } else {
            report.folded += 1;
        }
    }
    let mut ciphers = Vec::with_capacity(model.outputs().len());
    for (output, kind) in model.outputs().iter().zip(plan.output_kinds()) {
        let Kind::Int(bits) = *kind else {
            return Err(FheError::Internal("outputs are integers".into()));
        };
        let value = values[output.node.index()]
            .as_ref()
            .ok_or_else(|| FheError::Internal(format!("output {} not computed", output.name)))?;
        ciphers.push(as_int(value, bits)?);
    }
    Ok(EncryptedOutputs::new(ciphers))
}

/// The nodes node `index` reads (its fused terms when it runs as one sum).
fn operands(ir: &Ir, plan: &Plan, index: usize) -> Vec<NodeId> {
    match plan.sum_terms(index) {
        Some(terms) => terms.to_vec(),
        None => ir.nodes()[index].op.operands(),
    }
}

/// A chain of additions fused into one multi-operand sum (see `Plan`).
fn eval_sum(
    ir: &Ir,
    node: &Node,
    terms: &[NodeId],
    values: &[Option<Value>],
) -> Result<Value, FheError> {
    let terms = terms
        .iter()
        .map(|t| {
            let value = values[t.index()].as_ref().ok_or_else(|| {
                FheError::Internal(format!("node {} read before it ran", t.index()))
            })?;
            Ok((value, ir.node(*t).range.min >= 0))
        })
        .collect::<Result<Vec<_>, FheError>>()?;
    sum(&terms, 0, width_of(node))
}

/// `x` at `bits` bits: zero-filled when its range is non-negative, sign-extended otherwise.
fn widen(x: &Cipher, bits: u32, nonneg: bool) -> Result<Cipher, FheError> {
    if nonneg {
        x.to_int_nonneg(bits)
    } else {
        x.to_int(bits)
    }
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Input(_) => "input",
        Op::Const(_) => "const",
        Op::Add(..) => "add",
        Op::Sub(..) => "sub",
        Op::Mul(..) => "mul",
        Op::ConstMul(..) => "const_mul",
        Op::Compare(..) => "compare",
        Op::Select { .. } => "select",
        Op::Sum(_) => "sum",
        Op::RangeLookup { .. } => "range_lookup",
    }
}

/// `value` as a `bits`-bit integer ciphertext (a public constant as a trivial one).
fn as_int(value: &Value, bits: u32) -> Result<Cipher, FheError> {
    match value {
        Value::Public(c) => Cipher::trivial(bits, *c),
        Value::Enc(c) => c.to_int(bits),
    }
}

/// The width of a node's own range.
fn width_of(node: &Node) -> u32 {
    match int_kind(node.range) {
        Kind::Int(bits) => bits,
        Kind::Bool => width_for(node.range.signed_bits()),
    }
}

/// The integer width a ciphertext has (a bool counts as 2 bits, enough for 0 and 1).
fn width_of_cipher(c: &Cipher) -> u32 {
    match c.kind() {
        Kind::Bool => 2,
        Kind::Int(bits) => bits,
    }
}

/// A public result of checked arithmetic; `None` (overflow) is a compiler bug.
fn public(checked: Option<i64>, what: &str) -> Result<Value, FheError> {
    checked.map(Value::Public).ok_or_else(|| overflow(what))
}

fn overflow(what: &str) -> FheError {
    FheError::Internal(format!(
        "public {what} left the i64 range the compiler proved"
    ))
}

fn eval_node(
    ir: &Ir,
    node: &Node,
    values: &[Option<Value>],
    inputs: &[Option<Cipher>],
) -> Result<Value, FheError> {
    let get = |id: NodeId| -> Result<&Value, FheError> {
        values[id.index()]
            .as_ref()
            .ok_or_else(|| FheError::Internal(format!("node {} read before it ran", id.index())))
    };
    let range = |id: NodeId| ir.node(id).range;
    let bits = width_of(node);
    match &node.op {
        Op::Input(id) => inputs
            .get(id.index())
            .cloned()
            .flatten()
            .map(Value::Enc)
            .ok_or_else(|| FheError::Internal(format!("input {} not expanded", id.index()))),
        Op::Const(c) => Ok(Value::Public(*c)),
        Op::Add(a, b) => {
            let terms = [
                (get(*a)?, range(*a).min >= 0),
                (get(*b)?, range(*b).min >= 0),
            ];
            sum(&terms, 0, bits)
        }
        Op::Sub(a, b) => sub(get(*a)?, get(*b)?, bits),
        Op::Mul(a, b) => mul(get(*a)?, get(*b)?, bits),
        Op::ConstMul(a, c) => const_mul(get(*a)?, *c, bits),
        Op::Compare(op, a, b) => compare(*op, get(*a)?, range(*a), get(*b)?, range(*b)),
        Op::Select {
            cond,
            if_true,
            if_false,
        } => select(
            get(*cond)?,
            get(*if_true)?,
            get(*if_false)?,
            node.range,
            bits,
        ),
        Op::Sum(terms) => {
            let terms = terms
                .iter()
                .map(|t| Ok((get(*t)?, range(*t).min >= 0)))
                .collect::<Result<Vec<_>, FheError>>()?;
            sum(&terms, 0, bits)
        }
        Op::RangeLookup { x, bands } => range_lookup(get(*x)?, range(*x), bands, bits),
    }
}

fn sub(a: &Value, b: &Value, bits: u32) -> Result<Value, FheError> {
    match (a, b) {
        (Value::Public(x), Value::Public(y)) => public(x.checked_sub(*y), "difference"),
        (Value::Enc(x), Value::Public(c)) => {
            let x = x.to_int(bits)?;
            let minus_c = c.checked_neg().ok_or_else(|| overflow("negation"))?;
            Ok(Value::Enc(if *c == 0 { x } else { x.add_scalar(minus_c)? }))
        }
        (Value::Public(c), Value::Enc(x)) => Ok(Value::Enc(x.to_int(bits)?.scalar_sub(*c)?)),
        (Value::Enc(x), Value::Enc(y)) => Ok(Value::Enc(x.to_int(bits)?.sub(&y.to_int(bits)?)?)),
    }
}

fn mul(a: &Value, b: &Value, bits: u32) -> Result<Value, FheError> {
    match (a, b) {
        (Value::Public(x), Value::Public(y)) => public(x.checked_mul(*y), "product"),
        (Value::Enc(x), Value::Public(c)) | (Value::Public(c), Value::Enc(x)) => {
            const_mul(&Value::Enc(x.clone()), *c, bits)
        }
        (Value::Enc(Cipher::Bool(p)), Value::Enc(Cipher::Bool(q))) => {
            // A product of conditions is their AND: one gate instead of a multiplication.
            Ok(Value::Enc(Cipher::Bool(p & q)))
        }
        (Value::Enc(Cipher::Bool(p)), Value::Enc(x))
        | (Value::Enc(x), Value::Enc(Cipher::Bool(p))) => {
            // cond * x is a select against zero: no multiplication circuit.
            let x = x.to_int(bits)?;
            let zero = Cipher::trivial(bits, 0)?;
            Ok(Value::Enc(Cipher::select(p, &x, &zero)?))
        }
        (Value::Enc(x), Value::Enc(y)) => Ok(Value::Enc(x.to_int(bits)?.mul(&y.to_int(bits)?)?)),
    }
}

fn const_mul(a: &Value, c: i64, bits: u32) -> Result<Value, FheError> {
    match a {
        Value::Public(x) => public(x.checked_mul(c), "product"),
        Value::Enc(_) if c == 0 => Ok(Value::Public(0)),
        Value::Enc(Cipher::Bool(b)) if c != 1 => {
            // A condition times a constant is a select between two trivial ciphertexts:
            // one bootstrap per block in parallel, where a scalar multiplication shifts and
            // adds with carry propagation.
            let if_true = Cipher::trivial(bits, c)?;
            let if_false = Cipher::trivial(bits, 0)?;
            Ok(Value::Enc(Cipher::select(b, &if_true, &if_false)?))
        }
        Value::Enc(x) => {
            let x = x.to_int(bits)?;
            Ok(Value::Enc(match c {
                1 => x,
                -1 => x.scalar_sub(0)?,
                _ => x.mul_scalar(c)?,
            }))
        }
    }
}

/// Whether the ranges alone decide `a op b`.
fn decided(op: CompareOp, a: ValueRange, b: ValueRange) -> Option<bool> {
    match op {
        CompareOp::Lt if a.max < b.min => Some(true),
        CompareOp::Lt if a.min >= b.max => Some(false),
        CompareOp::Le if a.max <= b.min => Some(true),
        CompareOp::Le if a.min > b.max => Some(false),
        CompareOp::Eq if a.max < b.min || b.max < a.min => Some(false),
        CompareOp::Eq if a.min == a.max && b.min == b.max && a.min == b.min => Some(true),
        _ => None,
    }
}

fn compare(
    op: CompareOp,
    a: &Value,
    a_range: ValueRange,
    b: &Value,
    b_range: ValueRange,
) -> Result<Value, FheError> {
    if let Some(known) = decided(op, a_range, b_range) {
        return Ok(Value::Public(i64::from(known)));
    }
    let cmp = match op {
        CompareOp::Lt => Cmp::Lt,
        CompareOp::Le => Cmp::Le,
        CompareOp::Eq => Cmp::Eq,
    };
    let bit = match (a, b) {
        (Value::Public(x), Value::Public(y)) => {
            return Ok(Value::Public(i64::from(op.apply(*x, *y))));
        }
        (Value::Enc(x), Value::Public(c)) => compare_scalar(x, cmp, *c)?,
        (Value::Public(c), Value::Enc(x)) => {
            // c < x is x > c; c <= x is x >= c.
            let flipped = match cmp {
                Cmp::Lt => Cmp::Gt,
                Cmp::Le => Cmp::Ge,
                other => other,
            };
            compare_scalar(x, flipped, *c)?
        }
        (Value::Enc(x), Value::Enc(y)) => {
            let mut w = width_of_cipher(x).max(width_of_cipher(y));
            if cmp != Cmp::Eq && on_gpu() {
                // tfhe-cuda-backend 0.16 orders two signed ciphertexts only at an even
                // block count, and aborts at two blocks (seen on an H200): four at least.
                w = w.max(4 * BLOCK_BITS);
                w += (w / BLOCK_BITS) % 2 * BLOCK_BITS;
            }
            x.to_int(w)?.compare(cmp, &y.to_int(w)?)?
        }
    };
    Ok(Value::Enc(Cipher::Bool(bit)))
}

/// `x op c` for a constant inside `x`'s range (the caller folded the rest). On a condition
/// this is the condition or its negation, with no bootstrapping.
fn compare_scalar(x: &Cipher, op: Cmp, c: i64) -> Result<FheBool, FheError> {
    if let Cipher::Bool(b) = x {
        // Undecided comparisons of a 0/1 value with a constant are the bit or its negation.
        let is_bit = match (op, c) {
            (Cmp::Eq, 1) | (Cmp::Gt, 0) | (Cmp::Ge, 1) => true,
            (Cmp::Eq, 0) | (Cmp::Lt, 1) | (Cmp::Le, 0) => false,
            _ => {
                return Err(FheError::Internal(format!(
                    "undecided {op:?} of a condition with {c}"
                )));
            }
        };
        return Ok(if is_bit { b.clone() } else { !b });
    }
    x.compare_scalar(op, c)
}

/// A condition from a 0/1 value.
fn condition(v: &Cipher) -> Result<FheBool, FheError> {
    match v {
        Cipher::Bool(b) => Ok(b.clone()),
        x => x.compare_scalar(Cmp::Eq, 1),
    }
}

fn select(
    cond: &Value,
    if_true: &Value,
    if_false: &Value,
    range: ValueRange,
    bits: u32,
) -> Result<Value, FheError> {
    let c = match cond {
        Value::Public(c) => {
            return Ok(if *c == 1 {
                if_true.clone()
            } else {
                if_false.clone()
            });
        }
        Value::Enc(c) => condition(c)?,
    };
    if let (Value::Public(t), Value::Public(f)) = (if_true, if_false)
        && t == f
    {
        return Ok(Value::Public(*t));
    }
    if range == ValueRange::BOOL
        && let Some(bit) = boolean_select(&c, if_true, if_false)
    {
        return Ok(Value::Enc(Cipher::Bool(bit)));
    }
    let t = as_int(if_true, bits)?;
    let f = as_int(if_false, bits)?;
    Ok(Value::Enc(Cipher::select(&c, &t, &f)?))
}

/// `c ? t : f` by gates when both branches are conditions or 0/1 constants.
fn boolean_select(c: &FheBool, t: &Value, f: &Value) -> Option<FheBool> {
    use Value::{Enc, Public};
    Some(match (t, f) {
        (Public(1), Public(0)) => c.clone(),
        (Public(0), Public(1)) => !c,
        (Enc(Cipher::Bool(t)), Public(0)) => c & t,
        (Enc(Cipher::Bool(t)), Public(1)) => !c | t,
        (Public(1), Enc(Cipher::Bool(f))) => c | f,
        (Public(0), Enc(Cipher::Bool(f))) => !c & f,
        (Enc(Cipher::Bool(t)), Enc(Cipher::Bool(f))) => c.select(t, f),
        _ => return None,
    })
}

/// `constant + Σ terms` at `bits`, with tfhe's multi-operand addition.
/// Each term comes with whether its proven range is non-negative (free widening).
fn sum(terms: &[(&Value, bool)], constant: i64, bits: u32) -> Result<Value, FheError> {
    let mut k = constant;
    let mut encrypted = Vec::new();
    for (term, nonneg) in terms {
        match term {
            Value::Public(c) => k = k.checked_add(*c).ok_or_else(|| overflow("sum"))?,
            Value::Enc(x) => encrypted.push(widen(x, bits, *nonneg)?),
        }
    }
    let total = match encrypted.len() {
        0 => return Ok(Value::Public(k)),
        1 => encrypted.swap_remove(0),
        _ => Cipher::sum(bits, &encrypted)?,
    };
    Ok(Value::Enc(if k == 0 {
        total
    } else {
        total.add_scalar(k)?
    }))
}

fn range_lookup(
    x: &Value,
    x_range: ValueRange,
    bands: &[Band],
    bits: u32,
) -> Result<Value, FheError> {
    let x = match x {
        Value::Public(v) => return Ok(Value::Public(crate::model::plain::lookup(bands, *v))),
        Value::Enc(x) => x,
    };
    let Some(first) = bands.first() else {
        return Err(FheError::Internal("a range lookup without bands".into()));
    };
    let mut constant = first.value;
    // (step, bound) for each band step the range leaves undecided.
    let mut open: Vec<(i64, i64)> = Vec::new();
    for pair in bands.windows(2) {
        let step = pair[1]
            .value
            .checked_sub(pair[0].value)
            .ok_or_else(|| overflow("band step"))?;
        let bound = pair[1].min;
        if step == 0 || bound > x_range.max {
            continue;
        }
        if bound <= x_range.min {
            constant = constant
                .checked_add(step)
                .ok_or_else(|| overflow("band value"))?;
            continue;
        }
        open.push((step, bound));
    }
    let bits_at: Vec<Result<(i64, FheBool), FheError>> = open
        .par_iter()
        .map(|(step, bound)| Ok((*step, compare_scalar(x, Cmp::Ge, *bound)?)))
        .collect();
    // One multi-operand sum: a step of +1 adds the bit, a step of -1 adds its negation
    // (-b = !b - 1, and NOT is free on a condition), any other step adds a select of the
    // step or zero.
    let mut terms = Vec::with_capacity(bits_at.len());
    for item in bits_at {
        let (step, bit) = item?;
        terms.push(match step {
            1 => Value::Enc(Cipher::Bool(bit)),
            -1 => {
                constant = constant
                    .checked_sub(1)
                    .ok_or_else(|| overflow("band value"))?;
                Value::Enc(Cipher::Bool(!bit))
            }
            _ => const_mul(&Value::Enc(Cipher::Bool(bit)), step, bits)?,
        });
    }
    // Conditions widen for free; the selects are already at `bits`.
    let refs: Vec<(&Value, bool)> = terms.iter().map(|t| (t, true)).collect();
    sum(&refs, constant, bits)
}
