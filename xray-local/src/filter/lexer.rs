//! Splitting a filter expression into tokens, each with its character position.

use super::FilterError;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    BeginsWith,
    EndsWith,
}

impl Op {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "CONTAINS",
            Op::BeginsWith => "BEGINSWITH",
            Op::EndsWith => "ENDSWITH",
        }
    }

    pub(crate) fn is_string_only(self) -> bool {
        matches!(self, Op::Contains | Op::BeginsWith | Op::EndsWith)
    }

    pub(crate) fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A name such as `service`, `annotation.customer` or `http.status`.
    Ident(String),
    Str(String),
    Num(f64),
    Bool(bool),
    And,
    Or,
    Not,
    Op(Op),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    End,
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Str(s) => format!("the string {s:?}"),
            Tok::Num(n) => format!("the number {n}"),
            Tok::Bool(b) => format!("`{b}`"),
            Tok::And => "AND".to_owned(),
            Tok::Or => "OR".to_owned(),
            Tok::Not => "NOT".to_owned(),
            Tok::Op(op) => format!("`{}`", op.as_str()),
            Tok::LParen => "`(`".to_owned(),
            Tok::RParen => "`)`".to_owned(),
            Tok::LBracket => "`[`".to_owned(),
            Tok::RBracket => "`]`".to_owned(),
            Tok::LBrace => "`{`".to_owned(),
            Tok::RBrace => "`}`".to_owned(),
            Tok::Comma => "`,`".to_owned(),
            Tok::End => "the end of the expression".to_owned(),
        }
    }
}

/// A token and the character offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i;
        let single = |tok| Token { tok, pos };
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => out.push(single(Tok::LParen)),
            ')' => out.push(single(Tok::RParen)),
            '[' => out.push(single(Tok::LBracket)),
            ']' => out.push(single(Tok::RBracket)),
            '{' => out.push(single(Tok::LBrace)),
            '}' => out.push(single(Tok::RBrace)),
            ',' => out.push(single(Tok::Comma)),
            '=' => {
                // `==` is accepted as `=`.
                if chars.get(i + 1) == Some(&'=') {
                    i += 1;
                }
                out.push(single(Tok::Op(Op::Eq)));
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 1;
                out.push(single(Tok::Op(Op::Ne)));
            }
            '!' => out.push(single(Tok::Not)),
            '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let op = match (c, eq) {
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    (_, false) => Op::Gt,
                    (_, true) => Op::Ge,
                };
                if eq {
                    i += 1;
                }
                out.push(single(Tok::Op(op)));
            }
            '&' | '|' if chars.get(i + 1) == Some(&c) => {
                i += 1;
                out.push(single(if c == '&' { Tok::And } else { Tok::Or }));
            }
            '"' | '\'' => {
                let (s, next) = string(&chars, i)?;
                out.push(Token {
                    tok: Tok::Str(s),
                    pos,
                });
                i = next;
                continue;
            }
            c if c.is_ascii_digit()
                || (c == '-' || c == '.')
                    && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || chars[i] == '.'
                        || chars[i] == 'e'
                        || chars[i] == 'E'
                        || ((chars[i] == '-' || chars[i] == '+')
                            && matches!(chars[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse::<f64>()
                    .map_err(|_| FilterError::new(start, format!("`{text}` is not a number")))?;
                out.push(Token {
                    tok: Tok::Num(n),
                    pos,
                });
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '-' | ':'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let tok = match word.to_ascii_uppercase().as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    "CONTAINS" => Tok::Op(Op::Contains),
                    "BEGINSWITH" => Tok::Op(Op::BeginsWith),
                    "ENDSWITH" => Tok::Op(Op::EndsWith),
                    "TRUE" => Tok::Bool(true),
                    "FALSE" => Tok::Bool(false),
                    _ => Tok::Ident(word),
                };
                out.push(Token { tok, pos });
                continue;
            }
            other => {
                return Err(FilterError::new(
                    pos,
                    format!("unexpected character `{other}`"),
                ));
            }
        }
        i += 1;
    }
    out.push(Token {
        tok: Tok::End,
        pos: chars.len(),
    });
    Ok(out)
}

/// A quoted string starting at `start`; returns it and the index after the closing quote.
fn string(chars: &[char], start: usize) -> Result<(String, usize), FilterError> {
    let quote = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                s.push(chars[i + 1]);
                i += 2;
            }
            c if c == quote => return Ok((s, i + 1)),
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    Err(FilterError::new(start, "unterminated string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens_and_positions() {
        assert_eq!(
            toks(r#"annotation.k >= -1.5e2 and !fault || http.url contains "a\"b""#),
            [
                Tok::Ident("annotation.k".into()),
                Tok::Op(Op::Ge),
                Tok::Num(-150.0),
                Tok::And,
                Tok::Not,
                Tok::Ident("fault".into()),
                Tok::Or,
                Tok::Ident("http.url".into()),
                Tok::Op(Op::Contains),
                Tok::Str("a\"b".into()),
                Tok::End,
            ]
        );
        let t = tokenize("ok  != 'x'").unwrap();
        assert_eq!((t[1].pos, t[2].pos, t[3].pos), (4, 7, 10));
    }

    #[test]
    fn errors_point_at_the_character() {
        let e = tokenize("service(\"a) ").unwrap_err();
        assert_eq!(e.position(), 8);
        let e = tokenize("é = #").unwrap_err();
        assert_eq!(e.position(), 4);
    }
}
