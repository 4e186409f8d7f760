//! Recursive descent from tokens to an expression tree: `OR` binds loosest, then `AND`, then
//! `NOT`.

use super::FilterError;
use super::lexer::{Op, Tok, Token, tokenize};

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// What a comparison looks at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Annotation(String),
    HttpStatus,
    HttpUrl,
    HttpMethod,
    ResponseTime,
    Duration,
    Error,
    Fault,
    Throttle,
    Ok,
    Partial,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Num,
    Bool,
    Any,
}

impl Field {
    fn kind(&self) -> Kind {
        match self {
            Field::Annotation(_) => Kind::Any,
            Field::HttpStatus | Field::ResponseTime | Field::Duration => Kind::Num,
            Field::HttpUrl | Field::HttpMethod => Kind::Str,
            Field::Error | Field::Fault | Field::Throttle | Field::Ok | Field::Partial => {
                Kind::Bool
            }
        }
    }
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Service(String),
    Edge(String, String),
    Compare { field: Field, op: Op, value: Value },
}

pub(crate) fn parse(text: &str) -> Result<Expr, FilterError> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, at: 0 };
    if p.peek().tok == Tok::End {
        return Err(FilterError::new(0, "the expression is empty"));
    }
    let expr = p.or()?;
    let next = p.peek();
    if next.tok != Tok::End {
        return Err(FilterError::new(
            next.pos,
            format!(
                "expected AND, OR or the end of the expression, found {}",
                next.tok.describe()
            ),
        ));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The last token is always `End`, and `next` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<Token, FilterError> {
        let t = self.next();
        if &t.tok == want {
            Ok(t)
        } else {
            Err(unexpected(&t, what))
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.peek().tok == Tok::Or {
            self.next();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.peek().tok == Tok::And {
            self.next();
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.peek().tok == Tok::Not {
            self.next();
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let t = self.next();
        match &t.tok {
            Tok::LParen => {
                let inner = self.or()?;
                self.expect(&Tok::RParen, "`)`")?;
                Ok(inner)
            }
            Tok::Ident(word) => match word.to_ascii_lowercase().as_str() {
                "service" => {
                    self.expect(&Tok::LParen, "`(` after service")?;
                    let name = self.string("a service name in quotes")?;
                    self.expect(&Tok::RParen, "`)`")?;
                    self.no_block()?;
                    Ok(Expr::Service(name))
                }
                "edge" => {
                    self.expect(&Tok::LParen, "`(` after edge")?;
                    let from = self.string("the calling service's name in quotes")?;
                    self.expect(&Tok::Comma, "`,` between the two names")?;
                    let to = self.string("the called service's name in quotes")?;
                    self.expect(&Tok::RParen, "`)`")?;
                    self.no_block()?;
                    Ok(Expr::Edge(from, to))
                }
                "annotation" => {
                    // annotation[key] or annotation["key"], for keys a dotted name cannot spell.
                    self.expect(&Tok::LBracket, "`.key` or `[key]` after annotation")?;
                    let key = match self.next() {
                        Token {
                            tok: Tok::Ident(k) | Tok::Str(k),
                            ..
                        } => k,
                        other => return Err(unexpected(&other, "an annotation key")),
                    };
                    self.expect(&Tok::RBracket, "`]`")?;
                    self.comparison(Field::Annotation(key), &t)
                }
                lower => {
                    let field = match lower {
                        "http.status" => Field::HttpStatus,
                        "http.url" => Field::HttpUrl,
                        "http.method" => Field::HttpMethod,
                        "responsetime" => Field::ResponseTime,
                        "duration" => Field::Duration,
                        "error" => Field::Error,
                        "fault" => Field::Fault,
                        "throttle" => Field::Throttle,
                        "ok" => Field::Ok,
                        "partial" => Field::Partial,
                        _ => match word.split_once('.') {
                            Some((prefix, key))
                                if prefix.eq_ignore_ascii_case("annotation") && !key.is_empty() =>
                            {
                                Field::Annotation(key.to_owned())
                            }
                            _ => {
                                return Err(FilterError::new(
                                    t.pos,
                                    format!(
                                        "unknown keyword `{word}` (expected service(..), edge(..), \
                                         annotation.KEY, http.status, http.url, http.method, \
                                         responsetime, duration, ok, error, fault, throttle or partial)"
                                    ),
                                ));
                            }
                        },
                    };
                    self.comparison(field, &t)
                }
            },
            _ => Err(unexpected(&t, "a condition")),
        }
    }

    /// X-Ray's `service("a") { fault }` narrows to the service's own figures; not supported.
    fn no_block(&self) -> Result<(), FilterError> {
        let t = self.peek();
        if t.tok == Tok::LBrace {
            return Err(FilterError::new(
                t.pos,
                "complex filters in `{ }` after service/edge are not supported; combine \
                 conditions with AND instead",
            ));
        }
        Ok(())
    }

    fn string(&mut self, what: &str) -> Result<String, FilterError> {
        match self.next() {
            Token {
                tok: Tok::Str(s), ..
            } => Ok(s),
            other => Err(unexpected(&other, what)),
        }
    }

    /// `field op value`; a boolean field alone means `field = true`.
    fn comparison(&mut self, field: Field, at: &Token) -> Result<Expr, FilterError> {
        let kind = field.kind();
        let Tok::Op(op) = self.peek().tok else {
            if kind == Kind::Bool {
                return Ok(Expr::Compare {
                    field,
                    op: Op::Eq,
                    value: Value::Bool(true),
                });
            }
            let t = self.peek().clone();
            return Err(unexpected(&t, "a comparison such as `=`, `>` or CONTAINS"));
        };
        let op_pos = self.next().pos;
        let v = self.next();
        let value = match v.tok {
            Tok::Str(s) => Value::Str(s),
            Tok::Num(n) => Value::Num(n),
            Tok::Bool(b) => Value::Bool(b),
            _ => return Err(unexpected(&v, "a value (a string, number, true or false)")),
        };
        let value_kind = match value {
            Value::Str(_) => Kind::Str,
            Value::Num(_) => Kind::Num,
            Value::Bool(_) => Kind::Bool,
        };
        if kind != Kind::Any && kind != value_kind {
            let want = match kind {
                Kind::Str => "a string",
                Kind::Num => "a number",
                _ => "true or false",
            };
            return Err(FilterError::new(
                v.pos,
                format!("{} compares with {want}", token_text(at)),
            ));
        }
        if op.is_string_only() && value_kind != Kind::Str {
            return Err(FilterError::new(
                op_pos,
                format!("{} needs a string on its right", op.as_str()),
            ));
        }
        if op.is_ordering() && value_kind != Kind::Num {
            return Err(FilterError::new(
                op_pos,
                format!("{} needs a number on its right", op.as_str()),
            ));
        }
        if value_kind == Kind::Bool && !matches!(op, Op::Eq | Op::Ne) {
            return Err(FilterError::new(op_pos, "true and false take `=` or `!=`"));
        }
        Ok(Expr::Compare { field, op, value })
    }
}

fn token_text(t: &Token) -> String {
    match &t.tok {
        Tok::Ident(w) => format!("`{w}`"),
        other => other.describe(),
    }
}

fn unexpected(t: &Token, what: &str) -> FilterError {
    FilterError::new(
        t.pos,
        format!("expected {what}, found {}", t.tok.describe()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_shapes() {
        let e = parse("ok OR NOT fault AND service(\"a\")").unwrap();
        let Expr::Or(left, right) = e else {
            panic!("{e:?}")
        };
        assert!(matches!(
            *left,
            Expr::Compare {
                field: Field::Ok,
                ..
            }
        ));
        let Expr::And(not, svc) = *right else {
            panic!()
        };
        assert!(matches!(*not, Expr::Not(_)));
        assert_eq!(*svc, Expr::Service("a".into()));
        assert_eq!(
            parse("annotation[\"odd key\"] = 3").unwrap(),
            Expr::Compare {
                field: Field::Annotation("odd key".into()),
                op: Op::Eq,
                value: Value::Num(3.0)
            }
        );
        assert_eq!(
            parse("(edge('a', 'b'))").unwrap(),
            Expr::Edge("a".into(), "b".into())
        );
    }

    #[test]
    fn errors_have_positions() {
        for (text, pos) in [
            ("", 0),
            ("fault AND", 9),
            ("http.status = \"500\"", 14),
            ("http.url > \"a\"", 9),
            ("responsetime CONTAINS 1", 13),
            ("(ok", 3),
            ("ok ok", 3),
            ("bogus = 1", 0),
            ("service(a)", 8),
            ("service(\"a\") { fault }", 13),
            ("edge(\"a\" \"b\")", 9),
            ("annotation.k", 12),
            ("ok = true = false", 10),
            ("fault > true", 6),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.position(), pos, "{text:?}: {e}");
        }
    }
}
