//! Property tests: random well-typed expressions over signed, bounded and boolean inputs are
//! compiled and run by both backends; both must equal a direct evaluation of the expression
//! tree written here (independent of the compiler's folding, sharing and band trimming).

use proptest::prelude::*;
use weinong_mpc::model::sample::random_batch;
use weinong_mpc::model::{Backend, Mpc, Plaintext, compile};

/// Integer expressions.
#[derive(Clone, Debug)]
enum IntExpr {
    Const(i64),
    X,
    Y,
    Add(Box<IntExpr>, Box<IntExpr>),
    Sub(Box<IntExpr>, Box<IntExpr>),
    Mul(Box<IntExpr>, Box<IntExpr>),
    Neg(Box<IntExpr>),
    Min(Box<IntExpr>, Box<IntExpr>),
    Max(Box<IntExpr>, Box<IntExpr>),
    If(Box<BoolExpr>, Box<IntExpr>, Box<IntExpr>),
    Band(Box<IntExpr>),
    FromBool(Box<BoolExpr>),
}

/// Conditions.
#[derive(Clone, Debug)]
enum BoolExpr {
    B,
    Lt(Box<IntExpr>, Box<IntExpr>),
    Le(Box<IntExpr>, Box<IntExpr>),
    Gt(Box<IntExpr>, Box<IntExpr>),
    Ge(Box<IntExpr>, Box<IntExpr>),
    Eq(Box<IntExpr>, Box<IntExpr>),
    Ne(Box<IntExpr>, Box<IntExpr>),
    And(Box<BoolExpr>, Box<BoolExpr>),
    Or(Box<BoolExpr>, Box<BoolExpr>),
    Not(Box<BoolExpr>),
}

/// The table `steps`: bands at the lowest value the IR admits (-(2^62 - 1), so every
/// expression that compiles is covered), -100, 0, 7, 300 → values 5, -3, 0, 11, 2.
const BANDS: [(i64, i64); 5] = [(-((1 << 62) - 1), 5), (-100, -3), (0, 0), (7, 11), (300, 2)];

fn band(x: i64) -> i64 {
    BANDS
        .iter()
        .rev()
        .find(|(min, _)| x >= *min)
        .map_or(BANDS[0].1, |(_, v)| *v)
}

impl IntExpr {
    fn render(&self) -> String {
        match self {
            IntExpr::Const(c) => {
                if *c < 0 {
                    format!("(0 - {})", -c)
                } else {
                    c.to_string()
                }
            }
            IntExpr::X => "x".into(),
            IntExpr::Y => "y".into(),
            IntExpr::Add(a, b) => format!("({} + {})", a.render(), b.render()),
            IntExpr::Sub(a, b) => format!("({} - {})", a.render(), b.render()),
            IntExpr::Mul(a, b) => format!("({} * {})", a.render(), b.render()),
            IntExpr::Neg(a) => format!("(-{})", a.render()),
            IntExpr::Min(a, b) => format!("min({}, {})", a.render(), b.render()),
            IntExpr::Max(a, b) => format!("max({}, {})", a.render(), b.render()),
            IntExpr::If(c, a, b) => format!("if({}, {}, {})", c.render(), a.render(), b.render()),
            IntExpr::Band(a) => format!("band({}, steps)", a.render()),
            IntExpr::FromBool(c) => format!("({} + 0)", c.render()),
        }
    }

    fn eval(&self, x: i64, y: i64, b: i64) -> i64 {
        match self {
            IntExpr::Const(c) => *c,
            IntExpr::X => x,
            IntExpr::Y => y,
            IntExpr::Add(p, q) => p.eval(x, y, b) + q.eval(x, y, b),
            IntExpr::Sub(p, q) => p.eval(x, y, b) - q.eval(x, y, b),
            IntExpr::Mul(p, q) => p.eval(x, y, b) * q.eval(x, y, b),
            IntExpr::Neg(p) => -p.eval(x, y, b),
            IntExpr::Min(p, q) => p.eval(x, y, b).min(q.eval(x, y, b)),
            IntExpr::Max(p, q) => p.eval(x, y, b).max(q.eval(x, y, b)),
            IntExpr::If(c, p, q) => {
                if c.eval(x, y, b) {
                    p.eval(x, y, b)
                } else {
                    q.eval(x, y, b)
                }
            }
            IntExpr::Band(p) => band(p.eval(x, y, b)),
            IntExpr::FromBool(c) => i64::from(c.eval(x, y, b)),
        }
    }
}

impl BoolExpr {
    fn render(&self) -> String {
        let cmp =
            |a: &IntExpr, op: &str, b: &IntExpr| format!("({} {op} {})", a.render(), b.render());
        match self {
            BoolExpr::B => "b".into(),
            BoolExpr::Lt(a, b) => cmp(a, "<", b),
            BoolExpr::Le(a, b) => cmp(a, "<=", b),
            BoolExpr::Gt(a, b) => cmp(a, ">", b),
            BoolExpr::Ge(a, b) => cmp(a, ">=", b),
            BoolExpr::Eq(a, b) => cmp(a, "==", b),
            BoolExpr::Ne(a, b) => cmp(a, "!=", b),
            BoolExpr::And(a, b) => format!("({} and {})", a.render(), b.render()),
            BoolExpr::Or(a, b) => format!("({} or {})", a.render(), b.render()),
            BoolExpr::Not(a) => format!("(not {})", a.render()),
        }
    }

    fn eval(&self, x: i64, y: i64, b: i64) -> bool {
        match self {
            BoolExpr::B => b == 1,
            BoolExpr::Lt(p, q) => p.eval(x, y, b) < q.eval(x, y, b),
            BoolExpr::Le(p, q) => p.eval(x, y, b) <= q.eval(x, y, b),
            BoolExpr::Gt(p, q) => p.eval(x, y, b) > q.eval(x, y, b),
            BoolExpr::Ge(p, q) => p.eval(x, y, b) >= q.eval(x, y, b),
            BoolExpr::Eq(p, q) => p.eval(x, y, b) == q.eval(x, y, b),
            BoolExpr::Ne(p, q) => p.eval(x, y, b) != q.eval(x, y, b),
            BoolExpr::And(p, q) => p.eval(x, y, b) && q.eval(x, y, b),
            BoolExpr::Or(p, q) => p.eval(x, y, b) || q.eval(x, y, b),
            BoolExpr::Not(p) => !p.eval(x, y, b),
        }
    }
}

fn int_expr() -> impl Strategy<Value = IntExpr> {
    let leaf = prop_oneof![
        (-5i64..=5).prop_map(IntExpr::Const),
        Just(IntExpr::X),
        Just(IntExpr::Y)
    ];
    leaf.prop_recursive(6, 200, 2, |inner| {
        let cond = bool_of(inner.clone());
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| IntExpr::Add(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| IntExpr::Sub(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| IntExpr::Mul(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| IntExpr::Neg(Box::new(a))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| IntExpr::Min(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| IntExpr::Max(Box::new(a), Box::new(b))),
            (cond.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| IntExpr::If(
                Box::new(c),
                Box::new(a),
                Box::new(b)
            )),
            inner.clone().prop_map(|a| IntExpr::Band(Box::new(a))),
            cond.prop_map(|c| IntExpr::FromBool(Box::new(c))),
        ]
    })
}

fn bool_of(
    int: impl Strategy<Value = IntExpr> + Clone + 'static,
) -> impl Strategy<Value = BoolExpr> + Clone {
    let pair = (int.clone(), int);
    // A comparison `op` of two generated operands.
    let compare = |op: fn(Box<IntExpr>, Box<IntExpr>) -> BoolExpr| {
        pair.clone()
            .prop_map(move |(a, b)| op(Box::new(a), Box::new(b)))
    };
    prop_oneof![
        Just(BoolExpr::B),
        compare(BoolExpr::Lt),
        compare(BoolExpr::Le),
        compare(BoolExpr::Gt),
        compare(BoolExpr::Ge),
        compare(BoolExpr::Eq),
        compare(BoolExpr::Ne),
        (pair.clone(), pair.clone()).prop_map(|((a, b), (c, d))| BoolExpr::And(
            Box::new(BoolExpr::Lt(Box::new(a), Box::new(b))),
            Box::new(BoolExpr::Eq(Box::new(c), Box::new(d)))
        )),
        pair.clone().prop_map(|(a, b)| BoolExpr::Or(
            Box::new(BoolExpr::B),
            Box::new(BoolExpr::Ge(Box::new(a), Box::new(b)))
        )),
        pair.prop_map(|(a, b)| BoolExpr::Not(Box::new(BoolExpr::Le(Box::new(a), Box::new(b))))),
    ]
}

fn spec(expr: &str) -> String {
    let bands: Vec<String> = BANDS.iter().map(|(m, v)| format!("[{m}, {v}]")).collect();
    format!(
        r#"format_version = 1
[model]
name = "property"
version = "1"
title = "random expression"
[inputs]
x = {{ holder = "civil_affairs", category = "ability_assessment", type = "int", range = [-1000, 1000], doc = "signed" }}
y = {{ holder = "health", category = "screens", type = "int", range = [0, 50], doc = "small" }}
b = {{ holder = "medical_insurance", category = "insurance_claims", type = "bool", doc = "flag" }}
[tables.steps]
bands = [{}]
doc = "a step function with negative bounds and values"
[outputs.guard]
value = "x + y + b"
to = ["requester"]
doc = "reads every input"
[outputs.value]
value = "{expr}"
to = ["requester"]
doc = "the random expression"
"#,
        bands.join(", ")
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn both_backends_equal_direct_evaluation(expr in int_expr(), seed in 0u64..1_000_000) {
        let text = expr.render();
        let model = match compile(&spec(&text)) {
            Ok(m) => m,
            // Products of products can leave the ±2^62 bound: the compiler must say so,
            // and then there is nothing to run.
            Err(e) => {
                prop_assert!(e.to_string().contains("exceeds"), "{text}: {e}");
                return Ok(());
            }
        };
        let batch = random_batch(&model, 96, seed).expect("valid batch");
        let plain = Plaintext.evaluate(&model, &batch).expect("plaintext");
        let secure = Mpc::default().evaluate(&model, &batch).expect("mpc");
        let value = model.output_index("value").expect("declared");
        let column = |name: &str| batch.column(model.input(name).expect("declared").0.index()).to_vec();
        let (xs, ys, bs) = (column("x"), column("y"), column("b"));
        for row in 0..batch.len() {
            let expected = expr.eval(xs[row], ys[row], bs[row]);
            prop_assert_eq!(plain.column(value)[row], expected, "plain, {} at x={} y={} b={}", text, xs[row], ys[row], bs[row]);
            prop_assert_eq!(secure.column(value)[row], expected, "mpc, {} at x={} y={} b={}", text, xs[row], ys[row], bs[row]);
        }
    }
}
