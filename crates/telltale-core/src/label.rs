//! Label rules over columns (`wconfid != 1`, `anomaly == 1`). Labels from
//! time intervals are in [`crate::intervals`].
//!
//! # Rule grammar
//!
//! ```text
//! rule    := or
//! or      := and (("||" | "or") and)*
//! and     := not (("&&" | "and") not)*
//! not     := ("!" | "not") not | "(" rule ")" | compare
//! compare := operand (("==" | "=" | "!=" | "<" | "<=" | ">" | ">=") operand)?
//! operand := number | 'text' | "text" | column | `column with spaces`
//! ```
//!
//! A bare column means "the column is not 0", so `anomaly` labels every row
//! whose `anomaly` cell is non-zero.

use crate::error::{Error, Result};
use crate::table::{ColumnData, Table};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==` or `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A column, by name.
    Column(String),
    /// A number literal.
    Number(f64),
    /// A quoted text literal.
    Text(String),
}

/// A parsed label rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Either side true.
    Or(Box<Expr>, Box<Expr>),
    /// Both sides true.
    And(Box<Expr>, Box<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// A comparison of two operands.
    Cmp(Operand, CmpOp, Operand),
    /// A bare operand: a numeric column that is not 0.
    Truthy(Operand),
}

/// A label rule: its text and its parsed form.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRule {
    text: String,
    expr: Expr,
}

impl LabelRule {
    /// Parses `text`; errors give the character position.
    pub fn parse(text: &str) -> Result<LabelRule> {
        let tokens = lex(text)?;
        let mut parser = Parser { text, tokens, pos: 0 };
        let expr = parser.or()?;
        if let Some((at, tok)) = parser.tokens.get(parser.pos) {
            return Err(rule_err(text, *at, format!("unexpected '{}'", tok.show())));
        }
        Ok(LabelRule { text: text.to_owned(), expr })
    }

    /// The rule as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Names of the columns the rule reads, in order of first use.
    pub fn columns(&self) -> Vec<&str> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
            let mut add = |o: &'a Operand| {
                if let Operand::Column(c) = o
                    && !out.contains(&c.as_str())
                {
                    out.push(c);
                }
            };
            match e {
                Expr::Or(a, b) | Expr::And(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Not(a) => walk(a, out),
                Expr::Cmp(a, _, b) => {
                    add(a);
                    add(b);
                }
                Expr::Truthy(a) => add(a),
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }

    /// Evaluates the rule on every row of `table`. `value(column, row)` returns
    /// the cell to use (after missing-value handling); rows for which it
    /// returns `None` for some column are labelled `None`.
    pub fn evaluate(
        &self,
        table: &Table,
        rows: &[usize],
        cell: &dyn Fn(usize, usize) -> Option<Cell>,
    ) -> Result<Vec<u8>> {
        let bound = self.bind(table)?;
        rows.iter()
            .map(|&row| {
                eval(&bound, row, cell).map(u8::from).map_err(|message| Error::LabelEval {
                    path: table.path().to_owned(),
                    line: table.line(row),
                    rule: self.text.clone(),
                    message,
                })
            })
            .collect()
    }

    /// Resolves column names to indexes and checks operand types.
    fn bind(&self, table: &Table) -> Result<Bound> {
        fn operand(o: &Operand, table: &Table) -> Result<BOperand> {
            Ok(match o {
                Operand::Column(name) => {
                    let idx = table.index_of(name)?;
                    BOperand::Column(idx, table.columns()[idx].is_numeric())
                }
                Operand::Number(v) => BOperand::Number(*v),
                Operand::Text(t) => BOperand::Text(t.clone()),
            })
        }
        fn walk(e: &Expr, table: &Table, rule: &str) -> Result<Bound> {
            Ok(match e {
                Expr::Or(a, b) => Bound::Or(Box::new(walk(a, table, rule)?), Box::new(walk(b, table, rule)?)),
                Expr::And(a, b) => Bound::And(Box::new(walk(a, table, rule)?), Box::new(walk(b, table, rule)?)),
                Expr::Not(a) => Bound::Not(Box::new(walk(a, table, rule)?)),
                Expr::Cmp(a, op, b) => {
                    let (a, b) = (operand(a, table)?, operand(b, table)?);
                    let numeric = |o: &BOperand| match o {
                        BOperand::Column(_, n) => *n,
                        BOperand::Number(_) => true,
                        BOperand::Text(_) => false,
                    };
                    if numeric(&a) != numeric(&b) {
                        // A text column compared with a number: name its first non-number.
                        for o in [&a, &b] {
                            if let BOperand::Column(idx, false) = o {
                                return Err(not_numeric(table, *idx, rule));
                            }
                        }
                        return Err(Error::LabelRule {
                            rule: rule.to_owned(),
                            message: "compares a number with text".into(),
                        });
                    }
                    if !numeric(&a) && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                        return Err(Error::LabelRule {
                            rule: rule.to_owned(),
                            message: "text can only be compared with == or !=".into(),
                        });
                    }
                    Bound::Cmp(a, *op, b)
                }
                Expr::Truthy(a) => match operand(a, table)? {
                    BOperand::Column(idx, true) => Bound::Truthy(idx),
                    BOperand::Column(idx, false) => return Err(not_numeric(table, idx, rule)),
                    _ => {
                        return Err(Error::LabelRule {
                            rule: rule.to_owned(),
                            message: "a literal alone is not a condition".into(),
                        });
                    }
                },
            })
        }
        walk(&self.expr, table, &self.text)
    }
}

/// The error for text column `idx` used as a number: its first non-numeric cell.
fn not_numeric(table: &Table, idx: usize, rule: &str) -> Error {
    let name = table.columns()[idx].name();
    table.numeric(name).err().unwrap_or_else(|| Error::LabelRule {
        rule: rule.to_owned(),
        message: format!("column '{name}' is not numeric"),
    })
}

/// A cell value handed to [`LabelRule::evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
}

/// Cell accessor over a table's raw cells: missing cells give `None`.
pub fn raw_cell(table: &Table) -> impl Fn(usize, usize) -> Option<Cell> + '_ {
    move |col, row| match table.columns()[col].data() {
        ColumnData::Numeric(v) => (!v[row].is_nan()).then(|| Cell::Number(v[row])),
        ColumnData::Text(t) => (!t[row].is_empty()).then(|| Cell::Text(t[row].clone())),
    }
}

#[derive(Debug)]
enum BOperand {
    Column(usize, bool),
    Number(f64),
    Text(String),
}

#[derive(Debug)]
enum Bound {
    Or(Box<Bound>, Box<Bound>),
    And(Box<Bound>, Box<Bound>),
    Not(Box<Bound>),
    Cmp(BOperand, CmpOp, BOperand),
    Truthy(usize),
}

fn eval(b: &Bound, row: usize, cell: &dyn Fn(usize, usize) -> Option<Cell>) -> Result<bool, String> {
    let get = |o: &BOperand| -> Result<Cell, String> {
        match o {
            BOperand::Column(idx, _) => cell(*idx, row).ok_or_else(|| "a column it reads is missing".to_owned()),
            BOperand::Number(v) => Ok(Cell::Number(*v)),
            BOperand::Text(t) => Ok(Cell::Text(t.clone())),
        }
    };
    Ok(match b {
        Bound::Or(x, y) => eval(x, row, cell)? || eval(y, row, cell)?,
        Bound::And(x, y) => eval(x, row, cell)? && eval(y, row, cell)?,
        Bound::Not(x) => !eval(x, row, cell)?,
        Bound::Truthy(idx) => match cell(*idx, row) {
            Some(Cell::Number(v)) => v != 0.0,
            _ => return Err("a column it reads is missing".into()),
        },
        Bound::Cmp(a, op, c) => match (get(a)?, get(c)?) {
            (Cell::Number(x), Cell::Number(y)) => match op {
                CmpOp::Eq => x == y,
                CmpOp::Ne => x != y,
                CmpOp::Lt => x < y,
                CmpOp::Le => x <= y,
                CmpOp::Gt => x > y,
                CmpOp::Ge => x >= y,
            },
            (Cell::Text(x), Cell::Text(y)) => match op {
                CmpOp::Ne => x != y,
                _ => x == y,
            },
            _ => return Err("compares a number with text".into()),
        },
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Number(f64),
    Text(String),
    Op(CmpOp),
    And,
    Or,
    Not,
    LParen,
    RParen,
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Number(v) => v.to_string(),
            Tok::Text(s) => format!("'{s}'"),
            Tok::Op(op) => match op {
                CmpOp::Eq => "==",
                CmpOp::Ne => "!=",
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
                CmpOp::Gt => ">",
                CmpOp::Ge => ">=",
            }
            .into(),
            Tok::And => "&&".into(),
            Tok::Or => "||".into(),
            Tok::Not => "!".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
        }
    }
}

fn rule_err(rule: &str, at: usize, message: String) -> Error {
    Error::LabelRule { rule: rule.to_owned(), message: format!("{message} (at character {})", at + 1) }
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        let two = |a: char, b: char| c == a && next == Some(b);
        let tok = if c.is_whitespace() {
            i += 1;
            continue;
        } else if two('=', '=') || two('!', '=') || two('<', '=') || two('>', '=') || two('&', '&') || two('|', '|') {
            i += 2;
            match c {
                '=' => Tok::Op(CmpOp::Eq),
                '!' => Tok::Op(CmpOp::Ne),
                '<' => Tok::Op(CmpOp::Le),
                '>' => Tok::Op(CmpOp::Ge),
                '&' => Tok::And,
                _ => Tok::Or,
            }
        } else if "=<>!()".contains(c) {
            i += 1;
            match c {
                '=' => Tok::Op(CmpOp::Eq),
                '<' => Tok::Op(CmpOp::Lt),
                '>' => Tok::Op(CmpOp::Gt),
                '!' => Tok::Not,
                '(' => Tok::LParen,
                _ => Tok::RParen,
            }
        } else if c == '\'' || c == '"' || c == '`' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .ok_or_else(|| rule_err(text, i, format!("unclosed {c}")))?;
            let inner: String = chars[i + 1..i + 1 + end].iter().collect();
            i += end + 2;
            if c == '`' { Tok::Ident(inner) } else { Tok::Text(inner) }
        } else if c.is_ascii_digit() || ((c == '-' || c == '.') && next.is_some_and(|d| d.is_ascii_digit() || d == '.'))
        {
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            Tok::Number(s.parse().map_err(|_| rule_err(text, start, format!("'{s}' is not a number")))?)
        } else if c.is_alphanumeric() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            match s.as_str() {
                "and" | "AND" => Tok::And,
                "or" | "OR" => Tok::Or,
                "not" | "NOT" => Tok::Not,
                _ => Tok::Ident(s),
            }
        } else {
            return Err(rule_err(text, i, format!("unexpected character '{c}'")));
        };
        out.push((start, tok));
    }
    Ok(out)
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<(usize, Tok)>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn here(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.text.chars().count(), |(at, _)| *at)
    }

    fn or(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.not()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr> {
        match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.not()?)))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(rule_err(self.text, self.here(), "expected ')'".into()));
                }
                self.pos += 1;
                Ok(inner)
            }
            _ => self.compare(),
        }
    }

    fn compare(&mut self) -> Result<Expr> {
        let left = self.operand()?;
        if let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            self.pos += 1;
            let right = self.operand()?;
            return Ok(Expr::Cmp(left, op, right));
        }
        Ok(Expr::Truthy(left))
    }

    fn operand(&mut self) -> Result<Operand> {
        let at = self.here();
        let operand = match self.peek() {
            Some(Tok::Ident(s)) => Operand::Column(s.clone()),
            Some(Tok::Number(v)) => Operand::Number(*v),
            Some(Tok::Text(s)) => Operand::Text(s.clone()),
            Some(t) => {
                return Err(rule_err(self.text, at, format!("expected a column or a value, found '{}'", t.show())));
            }
            None => return Err(rule_err(self.text, at, "the rule ends too early".into())),
        };
        self.pos += 1;
        Ok(operand)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::detect_separator;
    use std::path::Path;

    fn table(text: &str) -> Table {
        Table::from_reader(Path::new("t.csv"), detect_separator(text), text.as_bytes()).unwrap()
    }

    fn labels(rule: &str, t: &Table) -> Result<Vec<u8>> {
        let rows: Vec<usize> = (0..t.n_rows()).collect();
        LabelRule::parse(rule)?.evaluate(t, &rows, &raw_cell(t))
    }

    #[test]
    fn parses_and_evaluates() {
        let t = table("wconfid,pctid,status,Flow Rate\n1,20,ok,3\n2,20,fault,4\n3,45,ok,5\n");
        assert_eq!(labels("wconfid != 1", &t).unwrap(), vec![0, 1, 1]);
        assert_eq!(labels("wconfid == 2 || pctid >= 45", &t).unwrap(), vec![0, 1, 1]);
        assert_eq!(labels("wconfid > 1 and not (pctid > 40)", &t).unwrap(), vec![0, 1, 0]);
        assert_eq!(labels("status == 'fault'", &t).unwrap(), vec![0, 1, 0]);
        assert_eq!(labels("`Flow Rate` >= 4.5", &t).unwrap(), vec![0, 0, 1]);
        assert_eq!(
            labels("wconfid - 1", &t).unwrap_err().to_string(),
            "label rule 'wconfid - 1': unexpected character '-' (at character 9)"
        );
        assert_eq!(
            labels("wconfid -1", &t).unwrap_err().to_string(),
            "label rule 'wconfid -1': unexpected '-1' (at character 9)"
        );
        assert_eq!(labels("pctid", &t).unwrap(), vec![1, 1, 1]);
        assert_eq!(labels("!(wconfid=1)", &t).unwrap(), vec![0, 1, 1]);
        assert_eq!(labels("x >= -1.5e0", &table("x\n-2\n-1\n")).unwrap(), vec![0, 1]);
    }

    #[test]
    fn reports_rule_errors() {
        let t = table("a,b\n1,x\n");
        let msg = |r: &str| labels(r, &t).unwrap_err().to_string();
        assert!(msg("a ==").contains("the rule ends too early (at character 5)"), "{}", msg("a =="));
        assert!(msg("(a == 1").contains("expected ')'"));
        assert!(msg("a == 1)").contains("unexpected ')'"));
        assert!(msg("c == 1").contains("no column named 'c'"));
        assert_eq!(msg("b == 1"), "t.csv, line 2, column 'b': 'x' is not a number");
        assert!(msg("a # 1").contains("unexpected character '#' (at character 3)"));
        assert!(msg("a == 'x").contains("unclosed '"));
        assert!(msg("b < 'y'").contains("only be compared with == or !="));
        assert!(msg("1").contains("a literal alone"));
        assert_eq!(
            msg("a == == 1"),
            "label rule 'a == == 1': expected a column or a value, found '==' (at character 6)"
        );
    }

    #[test]
    fn lists_columns() {
        let rule = LabelRule::parse("a == 1 || (b > 2 && a < 5) || `c d`").unwrap();
        assert_eq!(rule.columns(), vec!["a", "b", "c d"]);
    }

    #[test]
    fn missing_cell_is_an_evaluation_error() {
        let t = table("a\n1\n\n2\nNA\n");
        let err = labels("a == 1", &t).unwrap_err().to_string();
        assert_eq!(err, "t.csv, line 5: label rule 'a == 1': a column it reads is missing");
    }
}
