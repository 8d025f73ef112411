//! The compiler: spec text → checked [`Model`] with its IR.
//!
//! Checks, each failing with the line and field: the format version, names (syntax, length,
//! uniqueness, no keywords), parameter values inside their allowed range, inputs (holder,
//! a data category that holder holds, type, range, decimals, optional fill and flag),
//! tables (sorted bounds, parameters known), expressions (syntax, names, types: conditions where conditions belong, no cycles),
//! value ranges within the IR limit, and data minimisation: every input must reach an
//! output, and an optional input's known-flag must be read (otherwise the fill value would
//! enter the result silently).
//!
//! Lowering folds constants, drops comparisons and table bands that the value ranges decide,
//! shares identical nodes, and removes nodes no output needs.

use std::collections::{BTreeMap, HashMap};

use toml::Spanned;

use super::canonical::{CANONICAL_PREFIX, canonical_bytes, model_id};
use super::decl::{
    Category, Holder, InputDecl, InputSource, Model, OutputDecl, ParamDecl, Recipient, ValueType,
};
use super::error::{SpecError, SpecLocation};
use super::expr::{self, BinOp, Expr};
use super::ir::{Band, CompareOp, InputId, Ir, Node, NodeId, Op, ValueRange};
use super::limits::{
    BANDS_MAX, DECIMALS_MAX, INPUTS_MAX, NAME_BYTES_MAX, NODES_MAX, SPEC_BYTES_MAX,
    VALUE_MAGNITUDE_MAX,
};
use super::spec::{Bound, InputSpec, SpecFile};

/// The one spec format version this compiler reads.
pub const FORMAT_VERSION: i64 = 1;

/// Makes the error for an invalid field: byte offset in the source, field path, reason.
type Invalid<'a> = dyn Fn(usize, &str, String) -> SpecError + 'a;

const RESERVED: [&str; 8] = ["and", "or", "not", "sum", "min", "max", "if", "band"];

/// Compiles a spec; the error names the line, column and field of the first problem.
pub fn compile(source: &str) -> Result<Model, SpecError> {
    if source.len() > SPEC_BYTES_MAX {
        return Err(SpecError::TooLarge {
            len: source.len(),
            max: SPEC_BYTES_MAX,
        });
    }
    let spec: SpecFile = toml::from_str(source).map_err(|e| syntax(source, &e))?;
    let canonical = canonical_form(source)?;
    let at = |offset: usize, field: &str| SpecLocation::at(source, offset, field);
    let invalid = |offset: usize, field: &str, reason: String| SpecError::Invalid {
        at: at(offset, field),
        reason,
    };

    if *spec.format_version.get_ref() != FORMAT_VERSION {
        return Err(invalid(
            spec.format_version.span().start,
            "format_version",
            format!("this compiler reads format_version {FORMAT_VERSION}"),
        ));
    }
    let model_name = spec.model.name.get_ref();
    if model_name.is_empty()
        || model_name.len() > NAME_BYTES_MAX
        || !model_name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(invalid(
            spec.model.name.span().start,
            "model.name",
            "a model name is 1-64 characters of a-z, 0-9 and `-`".to_owned(),
        ));
    }
    if spec.model.version.get_ref().trim().is_empty() {
        return Err(invalid(
            spec.model.version.span().start,
            "model.version",
            "empty".to_owned(),
        ));
    }
    if spec.model.title.trim().is_empty() {
        return Err(invalid(
            spec.model.name.span().start,
            "model.title",
            "empty".to_owned(),
        ));
    }

    let mut names = Names::default();
    let params = compile_params(&spec, &mut names, &invalid)?;
    let inputs = compile_inputs(&spec, &mut names, &invalid)?;
    let param_values: BTreeMap<String, i64> =
        params.iter().map(|p| (p.name.clone(), p.value)).collect();
    let tables = compile_tables(&spec, &mut names, &param_values, &invalid)?;
    for name in spec.derived.keys() {
        names.claim(name, "derived", &invalid)?;
    }

    let mut builder = Builder {
        source,
        nodes: Vec::new(),
        shared: HashMap::new(),
        params: param_values,
        tables,
        inputs: BTreeMap::new(),
        derived: spec
            .derived
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), v))
            .collect(),
        done: BTreeMap::new(),
        visiting: Vec::new(),
    };
    for (index, input) in inputs.iter().enumerate() {
        let id = InputId::from_index(index);
        let ty = input.value_type;
        let node = builder.push_raw(Op::Input(id), input.range, 0, "inputs")?;
        builder.inputs.insert(input.name.clone(), Val { node, ty });
    }
    for name in spec.derived.keys() {
        builder.derived_value(name.get_ref(), name.span().start)?;
    }
    let mut outputs = Vec::new();
    for (name, output) in &spec.outputs {
        let field = format!("outputs.{}", name.get_ref());
        check_name(name.get_ref()).map_err(|r| invalid(name.span().start, &field, r))?;
        let val = builder.expression(&output.value, &format!("{field}.value"))?;
        let mut recipients = Vec::new();
        for to in output.to.get_ref() {
            let recipient = Recipient::parse(to.get_ref()).ok_or_else(|| {
                invalid(
                    to.span().start,
                    &format!("{field}.to"),
                    format!(
                        "unknown recipient `{}`; use requester, civil_affairs, health or medical_insurance",
                        to.get_ref()
                    ),
                )
            })?;
            recipients.push(recipient);
        }
        recipients.sort();
        recipients.dedup();
        if recipients.is_empty() {
            return Err(invalid(
                output.to.span().start,
                &format!("{field}.to"),
                "an output needs at least one recipient".to_owned(),
            ));
        }
        outputs.push((name, val, recipients, output.doc.clone()));
    }
    if outputs.is_empty() {
        return Err(invalid(
            0,
            "outputs",
            "a model needs at least one output".to_owned(),
        ));
    }

    let roots: Vec<NodeId> = outputs.iter().map(|(_, v, _, _)| v.node).collect();
    let (nodes, remap) = prune(&builder.nodes, &roots);
    check_inputs_used(&spec, &inputs, &builder, &remap, &invalid)?;
    let outputs = outputs
        .into_iter()
        .map(|(name, val, recipients, doc)| {
            let node = remap[val.node.index()].expect("roots survive pruning");
            OutputDecl {
                name: name.get_ref().clone(),
                node,
                range: nodes[node.index()].range,
                recipients,
                doc,
            }
        })
        .collect();
    Ok(Model {
        id: model_id(&canonical),
        name: model_name.clone(),
        version: spec.model.version.get_ref().clone(),
        inputs,
        params,
        outputs,
        ir: Ir { nodes },
    })
}

/// The canonical bytes of a spec (what the model id hashes), after the same parse checks
/// as [`compile`]; for anyone recomputing an id with another SM3 implementation.
pub fn canonical_form(source: &str) -> Result<Vec<u8>, SpecError> {
    if source.len() > SPEC_BYTES_MAX {
        return Err(SpecError::TooLarge {
            len: source.len(),
            max: SPEC_BYTES_MAX,
        });
    }
    let table: toml::Table = toml::from_str(source).map_err(|e| syntax(source, &e))?;
    canonical_bytes(&table).map_err(|path| SpecError::Invalid {
        at: SpecLocation {
            line: 0,
            column: 0,
            field: path,
        },
        reason: "floats and datetimes have no place in a model spec; use integers in a scaled unit"
            .to_owned(),
    })
}

/// Compiles the canonical bytes of a spec (what a model registration carries and its id
/// hashes), refusing bytes that are not exactly the canonical form of a valid spec: the
/// model returned has `id() == SM3(canonical)`. Used where only the registered bytes are
/// at hand, e.g. to derive the data categories a registration must declare.
pub fn compile_canonical(canonical: &[u8]) -> Result<Model, SpecError> {
    if canonical.len() > SPEC_BYTES_MAX {
        return Err(SpecError::TooLarge {
            len: canonical.len(),
            max: SPEC_BYTES_MAX,
        });
    }
    let not_canonical = |reason: String| SpecError::NotCanonical { reason };
    let body = canonical.strip_prefix(CANONICAL_PREFIX).ok_or_else(|| {
        not_canonical("it does not start with the line `weinong-model-spec/1`".to_owned())
    })?;
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| not_canonical(format!("its body does not parse: {e}")))?;
    let toml::Value::Table(table) = json_to_toml(&value, "")? else {
        return Err(not_canonical("its body is not a table".to_owned()));
    };
    let source = toml::to_string(&table)
        .map_err(|e| not_canonical(format!("cannot write it as TOML: {e}")))?;
    let model = compile(&source)?;
    if model.id != model_id(canonical) {
        return Err(not_canonical(
            "it differs from the canonical form of the spec it encodes (key order, spacing or escapes)"
                .to_owned(),
        ));
    }
    Ok(model)
}

/// A JSON value of a canonical body as TOML; integers only (the canonical grammar has no
/// floats or nulls).
fn json_to_toml(value: &serde_json::Value, path: &str) -> Result<toml::Value, SpecError> {
    use serde_json::Value as J;
    let refuse = |what: &str| SpecError::NotCanonical {
        reason: format!("`{path}` is {what}, which the canonical grammar has not"),
    };
    Ok(match value {
        J::Null => return Err(refuse("null")),
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => toml::Value::Integer(n.as_i64().ok_or_else(|| refuse("not an i64"))?),
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(items) => toml::Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| json_to_toml(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => toml::Value::Table(
            map.iter()
                .map(|(k, v)| {
                    let child = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    Ok((k.clone(), json_to_toml(v, &child)?))
                })
                .collect::<Result<_, SpecError>>()?,
        ),
    })
}

fn syntax(source: &str, e: &toml::de::Error) -> SpecError {
    let (line, column) = match e.span() {
        Some(span) => {
            let at = SpecLocation::at(source, span.start, "");
            (at.line, at.column)
        }
        None => (0, 0),
    };
    SpecError::Syntax {
        line,
        column,
        message: e.message().trim().to_owned(),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
    if !first_ok
        || name.len() > NAME_BYTES_MAX
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "`{name}` is not a name: start with a-z, then a-z, 0-9 or `_`, at most {NAME_BYTES_MAX} bytes"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "`{name}` is reserved (an operator or function of expressions)"
        ));
    }
    Ok(())
}

/// Names of params, inputs, tables and derived quantities share one namespace.
#[derive(Default)]
struct Names {
    kinds: BTreeMap<String, &'static str>,
}

impl Names {
    fn claim(
        &mut self,
        name: &Spanned<String>,
        kind: &'static str,
        invalid: &Invalid<'_>,
    ) -> Result<(), SpecError> {
        self.claim_str(name.get_ref(), name.span().start, kind, invalid)
    }

    fn claim_str(
        &mut self,
        name: &str,
        offset: usize,
        kind: &'static str,
        invalid: &Invalid<'_>,
    ) -> Result<(), SpecError> {
        let field = format!("{kind}.{name}");
        check_name(name).map_err(|r| invalid(offset, &field, r))?;
        if let Some(other) = self.kinds.insert(name.to_owned(), kind) {
            return Err(invalid(
                offset,
                &field,
                format!(
                    "`{name}` is already declared in `{other}`; names are shared by params, inputs, tables and derived"
                ),
            ));
        }
        Ok(())
    }
}

fn compile_params(
    spec: &SpecFile,
    names: &mut Names,
    invalid: &Invalid<'_>,
) -> Result<Vec<ParamDecl>, SpecError> {
    let mut params = Vec::new();
    for (name, param) in &spec.params {
        names.claim(name, "params", invalid)?;
        let field = format!("params.{}", name.get_ref());
        let [min, max] = *param.allowed.get_ref();
        let allowed = ValueRange::new(min, max).ok_or_else(|| {
            invalid(
                param.allowed.span().start,
                &format!("{field}.allowed"),
                format!(
                    "allowed = [{min}, {max}] must be [min, max] with min <= max within ±(2^62 - 1)"
                ),
            )
        })?;
        let value = *param.value.get_ref();
        if !allowed.contains(value) {
            return Err(invalid(
                param.value.span().start,
                &format!("{field}.value"),
                format!("{value} is outside the allowed range {allowed}"),
            ));
        }
        if param.doc.trim().is_empty() {
            return Err(invalid(
                name.span().start,
                &format!("{field}.doc"),
                "a parameter must say why it is one (its sources)".to_owned(),
            ));
        }
        params.push(ParamDecl {
            name: name.get_ref().clone(),
            value,
            allowed,
            doc: param.doc.clone(),
        });
    }
    Ok(params)
}

fn compile_inputs(
    spec: &SpecFile,
    names: &mut Names,
    invalid: &Invalid<'_>,
) -> Result<Vec<InputDecl>, SpecError> {
    let mut columns: BTreeMap<(Holder, String), String> = BTreeMap::new();
    let mut inputs = Vec::new();
    for (name, input) in &spec.inputs {
        names.claim(name, "inputs", invalid)?;
        let mut decl = compile_input(name, input, invalid)?;
        let field = format!("inputs.{}", name.get_ref());
        let InputSource::Column {
            column, optional, ..
        } = &mut decl.source
        else {
            unreachable!("compile_input builds column inputs")
        };
        let offset = input
            .column
            .as_ref()
            .map_or(name.span().start, |c| c.span().start);
        if let Some(other) = columns.insert((decl.holder, column.clone()), decl.name.clone()) {
            return Err(invalid(
                offset,
                &format!("{field}.column"),
                format!(
                    "column `{column}` of {} already feeds input `{other}`",
                    decl.holder
                ),
            ));
        }
        let flag = match (optional.as_mut(), &input.optional) {
            (Some((fill, flag_id)), Some(opt)) => {
                let flag_name = opt.get_ref().flag.get_ref();
                names.claim_str(
                    flag_name,
                    opt.get_ref().flag.span().start,
                    "inputs",
                    invalid,
                )?;
                *flag_id = InputId::from_index(inputs.len() + 1);
                Some(InputDecl {
                    name: flag_name.clone(),
                    holder: decl.holder,
                    category: decl.category,
                    value_type: ValueType::Bool,
                    range: ValueRange::BOOL,
                    unit: "1 if the cell was present".to_owned(),
                    doc: format!("whether `{}` was present (else it reads {fill})", decl.name),
                    source: InputSource::KnownFlag(InputId::from_index(inputs.len())),
                })
            }
            _ => None,
        };
        inputs.push(decl);
        inputs.extend(flag);
    }
    if inputs.len() > INPUTS_MAX {
        return Err(invalid(
            0,
            "inputs",
            format!("{} inputs, over the limit of {INPUTS_MAX}", inputs.len()),
        ));
    }
    Ok(inputs)
}

fn compile_input(
    name: &Spanned<String>,
    input: &InputSpec,
    invalid: &Invalid<'_>,
) -> Result<InputDecl, SpecError> {
    let field = format!("inputs.{}", name.get_ref());
    let holder = Holder::from_name(input.holder.get_ref()).ok_or_else(|| {
        invalid(
            input.holder.span().start,
            &format!("{field}.holder"),
            format!(
                "unknown holder `{}`; use civil_affairs, health or medical_insurance",
                input.holder.get_ref()
            ),
        )
    })?;
    let category = Category::parse(input.category.get_ref()).ok_or_else(|| {
        let names: Vec<&str> = Category::ALL
            .iter()
            .filter(|c| c.holder() == holder)
            .map(|c| c.as_str())
            .collect();
        invalid(
            input.category.span().start,
            &format!("{field}.category"),
            format!(
                "unknown data category `{}`; {holder} holds {}",
                input.category.get_ref(),
                names.join(", ")
            ),
        )
    })?;
    if category.holder() != holder {
        let names: Vec<&str> = Category::ALL
            .iter()
            .filter(|c| c.holder() == holder)
            .map(|c| c.as_str())
            .collect();
        return Err(invalid(
            input.category.span().start,
            &format!("{field}.category"),
            format!(
                "data category `{category}` is held by {}, not by the input's holder {holder}; use one of {}",
                category.holder(),
                names.join(", ")
            ),
        ));
    }
    let value_type = match input.value_type.get_ref().as_str() {
        "int" => ValueType::Int,
        "bool" => ValueType::Bool,
        other => {
            return Err(invalid(
                input.value_type.span().start,
                &format!("{field}.type"),
                format!("unknown type `{other}`; use int (with a range) or bool"),
            ));
        }
    };
    let range = match (value_type, &input.range) {
        (ValueType::Int, Some(range)) => {
            let [min, max] = *range.get_ref();
            ValueRange::new(min, max).ok_or_else(|| {
                invalid(range.span().start, &format!("{field}.range"), format!(
                    "range = [{min}, {max}] must be [min, max] with min <= max within ±(2^62 - 1)"
                ))
            })?
        }
        (ValueType::Int, None) => {
            return Err(invalid(
                name.span().start,
                &format!("{field}.range"),
                "an int input needs range = [min, max]".to_owned(),
            ));
        }
        (ValueType::Bool, Some(range)) => {
            return Err(invalid(
                range.span().start,
                &format!("{field}.range"),
                "a bool input is 0 or 1; drop the range".to_owned(),
            ));
        }
        (ValueType::Bool, None) => ValueRange::BOOL,
    };
    let decimals = match &input.decimals {
        Some(d) if value_type == ValueType::Bool => {
            return Err(invalid(
                d.span().start,
                &format!("{field}.decimals"),
                "a bool input has no decimals".to_owned(),
            ));
        }
        Some(d) if *d.get_ref() > DECIMALS_MAX => {
            return Err(invalid(
                d.span().start,
                &format!("{field}.decimals"),
                format!("at most {DECIMALS_MAX} decimals"),
            ));
        }
        Some(d) => *d.get_ref(),
        None => 0,
    };
    let column = match &input.column {
        Some(c) if c.get_ref().trim().is_empty() || c.get_ref() == "subject" => {
            return Err(invalid(
                c.span().start,
                &format!("{field}.column"),
                "a column needs a name other than `subject`".to_owned(),
            ));
        }
        Some(c) => c.get_ref().clone(),
        None => name.get_ref().clone(),
    };
    let optional = match &input.optional {
        Some(opt) => {
            let fill = &opt.get_ref().fill;
            if !range.contains(*fill.get_ref()) {
                return Err(invalid(
                    fill.span().start,
                    &format!("{field}.optional.fill"),
                    format!(
                        "fill {} is outside the input's range {range}",
                        fill.get_ref()
                    ),
                ));
            }
            Some((*fill.get_ref(), InputId(u32::MAX)))
        }
        None => None,
    };
    if input.doc.trim().is_empty() {
        return Err(invalid(
            name.span().start,
            &format!("{field}.doc"),
            "an input must say what it is".to_owned(),
        ));
    }
    Ok(InputDecl {
        name: name.get_ref().clone(),
        holder,
        category,
        value_type,
        range,
        unit: input.unit.clone().unwrap_or_default(),
        doc: input.doc.clone(),
        source: InputSource::Column {
            column,
            decimals,
            optional,
        },
    })
}

fn compile_tables(
    spec: &SpecFile,
    names: &mut Names,
    params: &BTreeMap<String, i64>,
    invalid: &Invalid<'_>,
) -> Result<BTreeMap<String, Vec<Band>>, SpecError> {
    let mut tables = BTreeMap::new();
    for (name, table) in &spec.tables {
        names.claim(name, "tables", invalid)?;
        let field = format!("tables.{}.bands", name.get_ref());
        let entries = table.bands.get_ref();
        if table.doc.trim().is_empty() {
            return Err(invalid(
                name.span().start,
                &format!("tables.{}.doc", name.get_ref()),
                "a table must say what its values mean".to_owned(),
            ));
        }
        if entries.is_empty() || entries.len() > BANDS_MAX {
            return Err(invalid(
                table.bands.span().start,
                &field,
                format!("a table has 1 to {BANDS_MAX} bands"),
            ));
        }
        let mut bands: Vec<Band> = Vec::with_capacity(entries.len());
        for entry in entries {
            let resolve = |bound: &Bound| -> Result<i64, SpecError> {
                let value = match bound {
                    Bound::Int(v) => *v,
                    Bound::Param(p) => *params.get(p).ok_or_else(|| {
                        invalid(
                            entry.span().start,
                            &field,
                            format!("`{p}` is not a parameter"),
                        )
                    })?,
                };
                if value.abs() > VALUE_MAGNITUDE_MAX {
                    return Err(invalid(
                        entry.span().start,
                        &field,
                        format!("{value} exceeds ±(2^62 - 1)"),
                    ));
                }
                Ok(value)
            };
            let (min, value) = entry.get_ref();
            let band = Band {
                min: resolve(min)?,
                value: resolve(value)?,
            };
            if let Some(last) = bands.last()
                && band.min <= last.min
            {
                return Err(invalid(
                    entry.span().start,
                    &field,
                    format!(
                        "band lower bounds must increase: {} follows {}",
                        band.min, last.min
                    ),
                ));
            }
            bands.push(band);
        }
        tables.insert(name.get_ref().clone(), bands);
    }
    Ok(tables)
}

fn check_inputs_used(
    spec: &SpecFile,
    inputs: &[InputDecl],
    builder: &Builder<'_>,
    remap: &[Option<NodeId>],
    invalid: &Invalid<'_>,
) -> Result<(), SpecError> {
    for input in inputs {
        let node = builder.inputs.get(&input.name).map(|v| v.node);
        if node.and_then(|n| remap[n.index()]).is_some() {
            continue;
        }
        let (offset, reason) = match &input.source {
            InputSource::KnownFlag(of) => {
                let of = &inputs[of.index()].name;
                let offset = spec
                    .inputs
                    .get_key_value(of.as_str())
                    .map_or(0, |(k, _)| k.span().start);
                (
                    offset,
                    format!(
                        "the known-flag `{}` of optional input `{of}` is never used: without it the fill value would enter the results silently",
                        input.name
                    ),
                )
            }
            InputSource::Column { .. } => {
                let offset = spec
                    .inputs
                    .get_key_value(input.name.as_str())
                    .map_or(0, |(k, _)| k.span().start);
                (offset, "declared but no output depends on it; a model requests only the data it needs (PIPL Art. 6)".to_owned())
            }
        };
        return Err(invalid(offset, &format!("inputs.{}", input.name), reason));
    }
    Ok(())
}

/// Keeps the nodes that some root needs, in order; returns them and the old → new ids.
fn prune(nodes: &[Node], roots: &[NodeId]) -> (Vec<Node>, Vec<Option<NodeId>>) {
    let mut needed = vec![false; nodes.len()];
    for root in roots {
        needed[root.index()] = true;
    }
    for i in (0..nodes.len()).rev() {
        if needed[i] {
            for operand in nodes[i].op.operands() {
                needed[operand.index()] = true;
            }
        }
    }
    let mut remap = vec![None; nodes.len()];
    let mut kept = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if !needed[i] {
            continue;
        }
        let map = |id: NodeId| remap[id.index()].expect("operands precede users and are needed");
        let op = match &node.op {
            Op::Input(id) => Op::Input(*id),
            Op::Const(c) => Op::Const(*c),
            Op::Add(a, b) => Op::Add(map(*a), map(*b)),
            Op::Sub(a, b) => Op::Sub(map(*a), map(*b)),
            Op::Mul(a, b) => Op::Mul(map(*a), map(*b)),
            Op::ConstMul(a, c) => Op::ConstMul(map(*a), *c),
            Op::Compare(op, a, b) => Op::Compare(*op, map(*a), map(*b)),
            Op::Select {
                cond,
                if_true,
                if_false,
            } => Op::Select {
                cond: map(*cond),
                if_true: map(*if_true),
                if_false: map(*if_false),
            },
            Op::Sum(terms) => Op::Sum(terms.iter().map(|t| map(*t)).collect()),
            Op::RangeLookup { x, bands } => Op::RangeLookup {
                x: map(*x),
                bands: bands.clone(),
            },
        };
        remap[i] = Some(NodeId::from_index(kept.len()));
        kept.push(Node {
            op,
            range: node.range,
        });
    }
    (kept, remap)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Val {
    node: NodeId,
    ty: ValueType,
}

struct Builder<'a> {
    source: &'a str,
    nodes: Vec<Node>,
    shared: HashMap<Op, NodeId>,
    params: BTreeMap<String, i64>,
    tables: BTreeMap<String, Vec<Band>>,
    inputs: BTreeMap<String, Val>,
    derived: BTreeMap<String, &'a Spanned<String>>,
    done: BTreeMap<String, Val>,
    visiting: Vec<String>,
}

/// Where an expression error is: the expression's field and the byte in the spec.
#[derive(Clone)]
struct ExprSite {
    field: String,
    base: usize,
}

impl Builder<'_> {
    fn error(&self, site: &ExprSite, pos: usize, reason: String) -> SpecError {
        SpecError::Invalid {
            at: SpecLocation::at(self.source, site.base + pos, &site.field),
            reason,
        }
    }

    fn derived_value(&mut self, name: &str, offset: usize) -> Result<Val, SpecError> {
        if let Some(val) = self.done.get(name) {
            return Ok(*val);
        }
        let field = format!("derived.{name}");
        if self.visiting.iter().any(|v| v == name) {
            let cycle = self.visiting.join(" → ");
            return Err(SpecError::Invalid {
                at: SpecLocation::at(self.source, offset, &field),
                reason: format!("`{name}` depends on itself: {cycle} → {name}"),
            });
        }
        let Some(text) = self.derived.get(name).copied() else {
            return Err(SpecError::Invalid {
                at: SpecLocation::at(self.source, offset, &field),
                reason: format!("`{name}` is not declared"),
            });
        };
        self.visiting.push(name.to_owned());
        let val = self.expression(text, &field)?;
        self.visiting.pop();
        self.done.insert(name.to_owned(), val);
        Ok(val)
    }

    fn expression(&mut self, text: &Spanned<String>, field: &str) -> Result<Val, SpecError> {
        let start = text.span().start;
        let raw = self.source.get(start..).unwrap_or("");
        // The span covers the quotes; a multi-line string also skips its first newline.
        let mut base = start
            + if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
                3
            } else {
                1
            };
        if self.source.get(base..).is_some_and(|s| s.starts_with('\n')) && base > start + 1 {
            base += 1;
        }
        let site = ExprSite {
            field: field.to_owned(),
            base,
        };
        let parsed = expr::parse(text.get_ref()).map_err(|e| self.error(&site, e.pos, e.reason))?;
        self.lower(&parsed, &site)
    }

    fn lower(&mut self, e: &Expr, site: &ExprSite) -> Result<Val, SpecError> {
        match e {
            Expr::Int(v) => {
                if v.abs() > VALUE_MAGNITUDE_MAX {
                    return Err(self.error(site, 0, format!("{v} exceeds ±(2^62 - 1)")));
                }
                Ok(Val {
                    node: self.constant(*v, site)?,
                    ty: ValueType::Int,
                })
            }
            Expr::Name { name, pos } => self.name(name, *pos, site),
            Expr::Neg(inner) => {
                let v = self.lower(inner, site)?;
                Ok(Val {
                    node: self.const_mul(v.node, -1, site, 0)?,
                    ty: ValueType::Int,
                })
            }
            Expr::Not(inner) => {
                let v = self.condition(inner, site, "not")?;
                let one = self.constant(1, site)?;
                Ok(Val {
                    node: self.push(Op::Sub(one, v), site, 0)?,
                    ty: ValueType::Bool,
                })
            }
            Expr::Binary { op, lhs, rhs, pos } => self.binary(*op, lhs, rhs, *pos, site),
            Expr::Call { name, args, pos } => self.call(name, args, *pos, site),
        }
    }

    fn name(&mut self, name: &str, pos: usize, site: &ExprSite) -> Result<Val, SpecError> {
        if let Some(v) = self.params.get(name).copied() {
            return Ok(Val {
                node: self.constant(v, site)?,
                ty: ValueType::Int,
            });
        }
        if let Some(val) = self.inputs.get(name) {
            return Ok(*val);
        }
        if self.derived.contains_key(name) {
            return self.derived_value(name, site.base + pos);
        }
        if self.tables.contains_key(name) {
            return Err(self.error(
                site,
                pos,
                format!("`{name}` is a table; use band(x, {name})"),
            ));
        }
        Err(self.error(
            site,
            pos,
            format!("unknown name `{name}` (not an input, parameter or derived quantity)"),
        ))
    }

    fn condition(&mut self, e: &Expr, site: &ExprSite, what: &str) -> Result<NodeId, SpecError> {
        let v = self.lower(e, site)?;
        if v.ty != ValueType::Bool {
            return Err(self.error(site, expr_pos(e), format!(
                "`{what}` needs a condition (a comparison, a bool input, and/or/not), found an integer"
            )));
        }
        Ok(v.node)
    }

    fn binary(
        &mut self,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
        pos: usize,
        site: &ExprSite,
    ) -> Result<Val, SpecError> {
        let int = ValueType::Int;
        let boolean = ValueType::Bool;
        if matches!(op, BinOp::And | BinOp::Or) {
            let word = if op == BinOp::And { "and" } else { "or" };
            let a = self.condition(lhs, site, word)?;
            let b = self.condition(rhs, site, word)?;
            let both = self.mul(a, b, site, pos)?;
            if op == BinOp::And {
                return Ok(Val {
                    node: both,
                    ty: boolean,
                });
            }
            let either = self.push(Op::Add(a, b), site, pos)?;
            return Ok(Val {
                node: self.push(Op::Sub(either, both), site, pos)?,
                ty: boolean,
            });
        }
        let a = self.lower(lhs, site)?.node;
        let b = self.lower(rhs, site)?.node;
        let (node, ty) = match op {
            BinOp::Add => (self.push(Op::Add(a, b), site, pos)?, int),
            BinOp::Sub => (self.push(Op::Sub(a, b), site, pos)?, int),
            BinOp::Mul => (self.mul(a, b, site, pos)?, int),
            // `>` and `>=` are `<` and `<=` with the operands swapped.
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq => {
                let (cmp, l, r) = match op {
                    BinOp::Lt => (CompareOp::Lt, a, b),
                    BinOp::Le => (CompareOp::Le, a, b),
                    BinOp::Gt => (CompareOp::Lt, b, a),
                    BinOp::Ge => (CompareOp::Le, b, a),
                    // Eq: the arm admits no other operator.
                    _ => (CompareOp::Eq, a, b),
                };
                (self.push(Op::Compare(cmp, l, r), site, pos)?, boolean)
            }
            BinOp::Ne => {
                let eq = self.push(Op::Compare(CompareOp::Eq, a, b), site, pos)?;
                let one = self.constant(1, site)?;
                (self.push(Op::Sub(one, eq), site, pos)?, boolean)
            }
            BinOp::And | BinOp::Or => unreachable!("handled above"),
        };
        Ok(Val { node, ty })
    }

    fn call(
        &mut self,
        name: &str,
        args: &[Expr],
        pos: usize,
        site: &ExprSite,
    ) -> Result<Val, SpecError> {
        let int = ValueType::Int;
        match (name, args.len()) {
            ("sum", n) if n >= 1 => {
                let terms = args
                    .iter()
                    .map(|a| self.lower(a, site).map(|v| v.node))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Val {
                    node: self.push(Op::Sum(terms), site, pos)?,
                    ty: int,
                })
            }
            ("min" | "max", n) if n >= 2 => self.min_max(name == "min", args, pos, site),
            ("if", 3) => {
                let cond = self.condition(&args[0], site, "if")?;
                let a = self.lower(&args[1], site)?;
                let b = self.lower(&args[2], site)?;
                let ty = if a.ty == ValueType::Bool && b.ty == ValueType::Bool {
                    ValueType::Bool
                } else {
                    int
                };
                Ok(Val {
                    node: self.push(
                        Op::Select {
                            cond,
                            if_true: a.node,
                            if_false: b.node,
                        },
                        site,
                        pos,
                    )?,
                    ty,
                })
            }
            ("band", 2) => {
                let x = self.lower(&args[0], site)?.node;
                let Expr::Name {
                    name: table,
                    pos: table_pos,
                } = &args[1]
                else {
                    return Err(self.error(
                        site,
                        expr_pos(&args[1]),
                        "band's second argument is a table name".to_owned(),
                    ));
                };
                let Some(bands) = self.tables.get(table).cloned() else {
                    return Err(self.error(site, *table_pos, format!("`{table}` is not a table")));
                };
                self.band(x, bands, table, site, pos)
            }
            ("sum", _) => Err(self.error(site, pos, "sum needs at least one argument".to_owned())),
            ("min" | "max", _) => {
                Err(self.error(site, pos, format!("{name} needs at least two arguments")))
            }
            ("if", _) => Err(self.error(
                site,
                pos,
                "if takes (condition, value if true, value if false)".to_owned(),
            )),
            ("band", _) => Err(self.error(site, pos, "band takes (value, table)".to_owned())),
            _ => Err(self.error(
                site,
                pos,
                format!("unknown function `{name}`; use sum, min, max, if or band"),
            )),
        }
    }

    /// `min(a, b, …)` or `max(a, b, …)` as a chain of compare-and-select.
    fn min_max(
        &mut self,
        is_min: bool,
        args: &[Expr],
        pos: usize,
        site: &ExprSite,
    ) -> Result<Val, SpecError> {
        let mut acc = self.lower(&args[0], site)?.node;
        for arg in &args[1..] {
            let b = self.lower(arg, site)?.node;
            let a_lt_b = self.push(Op::Compare(CompareOp::Lt, acc, b), site, pos)?;
            let (if_true, if_false) = if is_min { (acc, b) } else { (b, acc) };
            let (ra, rb) = (self.nodes[acc.index()].range, self.nodes[b.index()].range);
            acc = self.push(
                Op::Select {
                    cond: a_lt_b,
                    if_true,
                    if_false,
                },
                site,
                pos,
            )?;
            // The select's generic range is the union of both branches; as a min or max it
            // is tighter, which later backends use to size integers.
            let tight = if is_min {
                ValueRange {
                    min: ra.min.min(rb.min),
                    max: ra.max.min(rb.max),
                }
            } else {
                ValueRange {
                    min: ra.min.max(rb.min),
                    max: ra.max.max(rb.max),
                }
            };
            let node = &mut self.nodes[acc.index()];
            if matches!(node.op, Op::Select { .. }) {
                node.range = tight;
            }
        }
        Ok(Val {
            node: acc,
            ty: ValueType::Int,
        })
    }

    fn band(
        &mut self,
        x: NodeId,
        bands: Vec<Band>,
        table: &str,
        site: &ExprSite,
        pos: usize,
    ) -> Result<Val, SpecError> {
        let range = self.nodes[x.index()].range;
        let first = bands.first().map_or(i64::MAX, |b| b.min);
        if first > range.min {
            return Err(self.error(site, pos, format!(
                "table `{table}` starts at {first}, but the value can be as low as {}: add a band for the values below",
                range.min
            )));
        }
        // Keep only the bands the value's range can reach; the first kept band covers
        // everything below the next bound, so its own bound no longer matters.
        let from = bands.iter().rposition(|b| b.min <= range.min).unwrap_or(0);
        let to = bands.iter().rposition(|b| b.min <= range.max).unwrap_or(0);
        let reachable = bands[from..=to].to_vec();
        let node = self.push(
            Op::RangeLookup {
                x,
                bands: reachable,
            },
            site,
            pos,
        )?;
        Ok(Val {
            node,
            ty: ValueType::Int,
        })
    }

    fn constant(&mut self, v: i64, site: &ExprSite) -> Result<NodeId, SpecError> {
        let range = ValueRange::point(v)
            .ok_or_else(|| self.error(site, 0, format!("{v} exceeds ±(2^62 - 1)")))?;
        self.push_raw(Op::Const(v), range, 0, &site.field)
    }

    fn const_value(&self, id: NodeId) -> Option<i64> {
        match self.nodes[id.index()].op {
            Op::Const(c) => Some(c),
            _ => None,
        }
    }

    fn const_mul(
        &mut self,
        a: NodeId,
        c: i64,
        site: &ExprSite,
        pos: usize,
    ) -> Result<NodeId, SpecError> {
        self.push(Op::ConstMul(a, c), site, pos)
    }

    fn mul(
        &mut self,
        a: NodeId,
        b: NodeId,
        site: &ExprSite,
        pos: usize,
    ) -> Result<NodeId, SpecError> {
        match (self.const_value(a), self.const_value(b)) {
            (_, Some(c)) => self.const_mul(a, c, site, pos),
            (Some(c), None) => self.const_mul(b, c, site, pos),
            (None, None) => self.push(Op::Mul(a, b), site, pos),
        }
    }

    /// Adds a node after simplifying it; the range is computed and checked.
    fn push(&mut self, op: Op, site: &ExprSite, pos: usize) -> Result<NodeId, SpecError> {
        let ranges: Vec<ValueRange> = op
            .operands()
            .iter()
            .map(|o| self.nodes[o.index()].range)
            .collect();
        let range = range_of(&op, &ranges).ok_or_else(|| {
            self.error(
                site,
                pos,
                "the value range of this expression exceeds ±(2^62 - 1)".to_owned(),
            )
        })?;
        if range.min == range.max {
            // Every valid input gives the same value: a public constant, no work for backends.
            return self.push_raw(Op::Const(range.min), range, pos, &site.field);
        }
        let simplified = match &op {
            Op::ConstMul(a, 1) => Some(*a),
            Op::Add(a, b) if self.const_value(*b) == Some(0) => Some(*a),
            Op::Add(a, b) if self.const_value(*a) == Some(0) => Some(*b),
            Op::Sub(a, b) if self.const_value(*b) == Some(0) => Some(*a),
            Op::Sum(terms) if terms.len() == 1 => Some(terms[0]),
            Op::Select {
                cond,
                if_true,
                if_false,
            } => match self.const_value(*cond) {
                Some(1) => Some(*if_true),
                Some(_) => Some(*if_false),
                None if if_true == if_false => Some(*if_true),
                None => None,
            },
            _ => None,
        };
        if let Some(id) = simplified {
            return Ok(id);
        }
        self.push_raw(op, range, pos, &site.field)
    }

    fn push_raw(
        &mut self,
        op: Op,
        range: ValueRange,
        offset: usize,
        field: &str,
    ) -> Result<NodeId, SpecError> {
        if let Some(id) = self.shared.get(&op) {
            return Ok(*id);
        }
        if self.nodes.len() >= NODES_MAX {
            return Err(SpecError::Invalid {
                at: SpecLocation::at(self.source, offset, field),
                reason: format!("the model compiles to more than {NODES_MAX} IR nodes"),
            });
        }
        let id = NodeId::from_index(self.nodes.len());
        self.nodes.push(Node {
            op: op.clone(),
            range,
        });
        self.shared.insert(op, id);
        Ok(id)
    }
}

fn expr_pos(e: &Expr) -> usize {
    match e {
        Expr::Name { pos, .. } | Expr::Binary { pos, .. } | Expr::Call { pos, .. } => *pos,
        Expr::Neg(inner) | Expr::Not(inner) => expr_pos(inner),
        Expr::Int(_) => 0,
    }
}

/// The range of `op`'s value given its operands' ranges, or `None` past the IR limit.
pub(crate) fn range_of(op: &Op, operands: &[ValueRange]) -> Option<ValueRange> {
    let r = |i: usize| operands[i];
    match op {
        Op::Input(_) => None,
        Op::Const(c) => ValueRange::point(*c),
        Op::Add(..) => ValueRange::new(
            r(0).min.checked_add(r(1).min)?,
            r(0).max.checked_add(r(1).max)?,
        ),
        Op::Sub(..) => ValueRange::new(
            r(0).min.checked_sub(r(1).max)?,
            r(0).max.checked_sub(r(1).min)?,
        ),
        Op::Mul(..) => {
            let products = [
                r(0).min.checked_mul(r(1).min)?,
                r(0).min.checked_mul(r(1).max)?,
                r(0).max.checked_mul(r(1).min)?,
                r(0).max.checked_mul(r(1).max)?,
            ];
            ValueRange::new(*products.iter().min()?, *products.iter().max()?)
        }
        Op::ConstMul(_, c) => {
            let (a, b) = (r(0).min.checked_mul(*c)?, r(0).max.checked_mul(*c)?);
            ValueRange::new(a.min(b), a.max(b))
        }
        Op::Compare(cmp, ..) => {
            let (a, b) = (r(0), r(1));
            let (always, never) = match cmp {
                CompareOp::Lt => (a.max < b.min, a.min >= b.max),
                CompareOp::Le => (a.max <= b.min, a.min > b.max),
                CompareOp::Eq => (
                    a.min == a.max && b.min == b.max && a.min == b.min,
                    a.max < b.min || b.max < a.min,
                ),
            };
            Some(match (always, never) {
                (true, _) => ValueRange { min: 1, max: 1 },
                (_, true) => ValueRange { min: 0, max: 0 },
                _ => ValueRange::BOOL,
            })
        }
        Op::Select { .. } => match (r(0).min, r(0).max) {
            (1, 1) => Some(r(1)),
            (0, 0) => Some(r(2)),
            _ => ValueRange::new(r(1).min.min(r(2).min), r(1).max.max(r(2).max)),
        },
        Op::Sum(_) => {
            let mut min: i64 = 0;
            let mut max: i64 = 0;
            for range in operands {
                min = min.checked_add(range.min)?;
                max = max.checked_add(range.max)?;
            }
            ValueRange::new(min, max)
        }
        Op::RangeLookup { bands, .. } => {
            let x = r(0);
            let reachable = bands.iter().enumerate().filter(|(i, b)| {
                let next = bands.get(i + 1).map_or(i64::MAX, |n| n.min);
                b.min <= x.max && next > x.min
            });
            let values: Vec<i64> = reachable.map(|(_, b)| b.value).collect();
            ValueRange::new(*values.iter().min()?, *values.iter().max()?)
        }
    }
}
