//! The expression language of derived quantities and outputs.
//!
//! ```text
//! expr    := or
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | compare
//! compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
//! sum     := product (("+" | "-") product)*
//! product := unary ("*" unary)*
//! unary   := "-" unary | atom
//! atom    := INTEGER | NAME | NAME "(" expr ("," expr)* ")" | "(" expr ")"
//! ```
//!
//! Names are inputs, parameters, derived quantities or (as a call's second argument) tables.
//! Calls: `sum(a, ...)`, `min(a, ...)`, `max(a, ...)`, `if(cond, a, b)`, `band(x, TABLE)`.
//! There is deliberately no division: every rule in the instruments is a comparison or a
//! sum, and division would make exact agreement between backends harder.

use super::limits::{EXPR_BYTES_MAX, EXPR_DEPTH_MAX};

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

/// A parsed expression; `pos` is a byte offset in the expression string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    Int(i64),
    Name {
        name: String,
        pos: usize,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        pos: usize,
    },
    Call {
        name: String,
        args: Vec<Expr>,
        pos: usize,
    },
}

impl Expr {
    /// `lhs op rhs`, the operator at byte `pos`.
    fn binary(op: BinOp, lhs: Expr, rhs: Expr, pos: usize) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            pos,
        }
    }
}

/// A parse error at byte `pos` of the expression.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub pos: usize,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Int(i64),
    Name(String),
    Sym(&'static str),
    End,
}

fn tokenize(src: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    const SYMBOLS: [&str; 12] = [
        "<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "(", ")", ",",
    ];
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
            let digits: String = src[start..i].chars().filter(|c| *c != '_').collect();
            let value = digits.parse::<i64>().map_err(|_| ParseError {
                pos: start,
                reason: format!("integer `{}` is too large", &src[start..i]),
            })?;
            tokens.push((Token::Int(value), start));
        } else if c.is_ascii_lowercase() || c == b'_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit() || bytes[i] == b'_')
            {
                i += 1;
            }
            tokens.push((Token::Name(src[start..i].to_owned()), start));
        } else if let Some(sym) = SYMBOLS.iter().find(|s| src[i..].starts_with(**s)) {
            tokens.push((Token::Sym(sym), i));
            i += sym.len();
        } else {
            let found = src[i..].chars().next().unwrap_or('?');
            return Err(ParseError {
                pos: i,
                reason: format!(
                    "unexpected character `{found}` (names are lower-case ASCII, there is no division)"
                ),
            });
        }
    }
    tokens.push((Token::End, src.len()));
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    next: usize,
    depth: u32,
}

/// Parses one expression.
pub(crate) fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.len() > EXPR_BYTES_MAX {
        return Err(ParseError {
            pos: 0,
            reason: format!(
                "expression is {} bytes, over the limit of {EXPR_BYTES_MAX}",
                src.len()
            ),
        });
    }
    let mut parser = Parser {
        tokens: tokenize(src)?,
        next: 0,
        depth: 0,
    };
    let expr = parser.or()?;
    match parser.peek() {
        Token::End => Ok(expr),
        other => Err(parser.error(format!(
            "unexpected {} after a complete expression",
            describe(other)
        ))),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Int(v) => format!("number `{v}`"),
        Token::Name(n) => format!("name `{n}`"),
        Token::Sym(s) => format!("`{s}`"),
        Token::End => "end of expression".to_owned(),
    }
}

/// One rule of the grammar below.
type Parse = fn(&mut Parser) -> Result<Expr, ParseError>;

impl Parser {
    fn peek(&self) -> &Token {
        self.tokens.get(self.next).map_or(&Token::End, |(t, _)| t)
    }
    fn pos(&self) -> usize {
        self.tokens.get(self.next).map_or(0, |(_, p)| *p)
    }
    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.next < self.tokens.len() {
            self.next += 1;
        }
        token
    }
    fn error(&self, reason: String) -> ParseError {
        ParseError {
            pos: self.pos(),
            reason,
        }
    }
    fn eat_sym(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Token::Sym(s) if *s == sym) {
            self.next += 1;
            true
        } else {
            false
        }
    }
    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Token::Name(n) if n == word) {
            self.next += 1;
            true
        } else {
            false
        }
    }
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > EXPR_DEPTH_MAX {
            return Err(self.error(format!("expression nests deeper than {EXPR_DEPTH_MAX}")));
        }
        Ok(())
    }

    /// Parses with `parse` one nesting level deeper, within [`EXPR_DEPTH_MAX`].
    fn nested(&mut self, parse: Parse) -> Result<Expr, ParseError> {
        self.enter()?;
        let inner = parse(self)?;
        self.depth -= 1;
        Ok(inner)
    }

    /// A left-associative chain `next (op next)*`; `op` eats an operator if one follows.
    fn chain(
        &mut self,
        next: Parse,
        op: fn(&mut Self) -> Option<BinOp>,
    ) -> Result<Expr, ParseError> {
        let mut lhs = next(self)?;
        loop {
            let pos = self.pos();
            let Some(op) = op(self) else {
                break;
            };
            let rhs = next(self)?;
            lhs = Expr::binary(op, lhs, rhs, pos);
        }
        Ok(lhs)
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.nested(|p| p.chain(Self::and, |p| p.eat_word("or").then_some(BinOp::Or)))
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        self.chain(Self::not, |p| p.eat_word("and").then_some(BinOp::And))
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if !self.eat_word("not") {
            return self.compare();
        }
        Ok(Expr::Not(Box::new(self.nested(Self::not)?)))
    }

    fn compare(&mut self) -> Result<Expr, ParseError> {
        let lhs = self.sum()?;
        let pos = self.pos();
        let op = match self.peek() {
            Token::Sym("<") => BinOp::Lt,
            Token::Sym("<=") => BinOp::Le,
            Token::Sym(">") => BinOp::Gt,
            Token::Sym(">=") => BinOp::Ge,
            Token::Sym("==") => BinOp::Eq,
            Token::Sym("!=") => BinOp::Ne,
            _ => return Ok(lhs),
        };
        self.bump();
        let rhs = self.sum()?;
        if matches!(
            self.peek(),
            Token::Sym("<" | "<=" | ">" | ">=" | "==" | "!=")
        ) {
            return Err(self.error("comparisons do not chain; join them with `and`".to_owned()));
        }
        Ok(Expr::binary(op, lhs, rhs, pos))
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        self.chain(Self::product, |p| {
            if p.eat_sym("+") {
                Some(BinOp::Add)
            } else if p.eat_sym("-") {
                Some(BinOp::Sub)
            } else {
                None
            }
        })
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        self.chain(Self::unary, |p| p.eat_sym("*").then_some(BinOp::Mul))
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_sym("-") {
            return Ok(Expr::Neg(Box::new(self.nested(Self::unary)?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        match self.bump() {
            Token::Int(v) => Ok(Expr::Int(v)),
            Token::Name(name) if ["and", "or", "not"].contains(&name.as_str()) => Err(ParseError {
                pos,
                reason: format!("`{name}` needs an operand before it"),
            }),
            Token::Name(name) => {
                if !self.eat_sym("(") {
                    return Ok(Expr::Name { name, pos });
                }
                let mut args = vec![self.or()?];
                while self.eat_sym(",") {
                    args.push(self.or()?);
                }
                if !self.eat_sym(")") {
                    return Err(self.error(format!("expected `,` or `)` in the call of `{name}`")));
                }
                Ok(Expr::Call { name, args, pos })
            }
            Token::Sym("(") => {
                let inner = self.or()?;
                if !self.eat_sym(")") {
                    return Err(self.error("expected `)`".to_owned()));
                }
                Ok(inner)
            }
            other => Err(ParseError {
                pos,
                reason: format!("expected a value, found {}", describe(&other)),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_binds_product_over_sum_over_compare_over_and_over_or() {
        let e = parse("a + 2 * b < c or not d and e").expect("valid");
        let Expr::Binary {
            op: BinOp::Or,
            lhs,
            rhs,
            ..
        } = e
        else {
            panic!("or at the top")
        };
        assert!(matches!(*lhs, Expr::Binary { op: BinOp::Lt, .. }));
        assert!(matches!(*rhs, Expr::Binary { op: BinOp::And, .. }));
    }

    #[test]
    fn errors_point_at_the_offending_byte() {
        assert_eq!(parse("a / b").expect_err("no division").pos, 2);
        assert_eq!(parse("a < b < c").expect_err("no chains").pos, 6);
        assert_eq!(parse("sum(a, b").expect_err("unclosed").pos, 8);
        assert!(parse(&"(".repeat(100)).is_err());
    }
}
