//! A small shell lexer: enough of bash to find the first word of every command in the test bed
//! and tool scripts, including those inside `$(…)`, `<(…)` and behind wrappers (`timeout`,
//! `nsenter --`, the test bed's own `testbed_wait_for`). Quoted strings, heredoc bodies,
//! arithmetic, `[[ … ]]`, assignments, redirections and case patterns are not commands.

mod parse;

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A word; `literal` is its unquoted text when it has no expansion in it.
    Word {
        literal: Option<String>,
        line: usize,
    },
    /// `;`, `&`, `|`, `&&`, `||`, newline, `(`: a new command may start.
    Separator,
    /// `$(` / `<(` / `>(`: a nested command list starts.
    SubstitutionStart,
    SubstitutionEnd,
    /// `name()`: the word before it names a function.
    FunctionDefinition,
    /// An unmatched `)`: the word before it was a case pattern.
    PatternEnd,
    /// `>`, `<`, `>>`, `2>&1`…: the next word is a file, not a command.
    Redirection,
}

/// What a script runs.
#[derive(Debug, Default)]
pub struct ShellScan {
    /// (program, line) for every command's first word that is a plain name or path.
    pub commands: Vec<(String, usize)>,
    /// Functions the script defines (calls to them are not programs).
    pub functions: BTreeSet<String>,
    /// Programs the script checks with `command -v NAME` before running them.
    pub optional: BTreeSet<String>,
}

pub fn scan(script: &str) -> ShellScan {
    let chars: Vec<char> = script.chars().collect();
    let mut lexer = Lexer {
        chars,
        pos: 0,
        line: 1,
        tokens: Vec::new(),
        heredocs: Vec::new(),
    };
    lexer.command_list(false);
    parse::commands(&lexer.tokens)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    tokens: Vec<Token>,
    /// Delimiters of heredocs whose bodies start after the current line.
    heredocs: Vec<String>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Lexes commands until the end, or (inside a substitution) its closing `)`.
    fn command_list(&mut self, nested: bool) {
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            match c {
                '\n' => {
                    self.bump();
                    self.tokens.push(Token::Separator);
                    self.skip_heredoc_bodies();
                }
                ' ' | '\t' => {
                    self.bump();
                }
                '\\' if self.peek(1) == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                '#' => self.skip_to_line_end(),
                ';' | '&' | '|' => {
                    self.bump();
                    if self.peek(0) == Some('>') {
                        self.redirection();
                    } else {
                        self.tokens.push(Token::Separator);
                    }
                }
                '(' if self.peek(1) == Some('(') => {
                    self.bump();
                    self.bump();
                    self.arithmetic();
                }
                '(' => {
                    self.bump();
                    if self.skip_blanks_then(')') {
                        self.tokens.push(Token::FunctionDefinition);
                    } else {
                        depth += 1;
                        self.tokens.push(Token::Separator);
                    }
                }
                ')' => {
                    self.bump();
                    if depth > 0 {
                        depth -= 1;
                        self.tokens.push(Token::Separator);
                    } else if nested {
                        return;
                    } else {
                        self.tokens.push(Token::PatternEnd);
                    }
                }
                '<' | '>' if self.peek(1) == Some('(') => {
                    self.bump();
                    self.bump();
                    self.substitution();
                }
                '<' | '>' => self.redirection(),
                _ => self.word(),
            }
        }
    }

    fn skip_blanks_then(&mut self, wanted: char) -> bool {
        let mut ahead = 0;
        while matches!(self.peek(ahead), Some(' ' | '\t')) {
            ahead += 1;
        }
        if self.peek(ahead) == Some(wanted) {
            for _ in 0..=ahead {
                self.bump();
            }
            true
        } else {
            false
        }
    }

    fn skip_to_line_end(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    fn skip_heredoc_bodies(&mut self) {
        for delimiter in std::mem::take(&mut self.heredocs) {
            while self.peek(0).is_some() {
                let start = self.pos;
                self.skip_to_line_end();
                let line: String = self.chars[start..self.pos].iter().collect();
                self.bump();
                if line.trim() == delimiter {
                    break;
                }
            }
        }
    }

    fn substitution(&mut self) {
        self.tokens.push(Token::SubstitutionStart);
        self.command_list(true);
        self.tokens.push(Token::SubstitutionEnd);
    }

    /// After `((` or `$((`: skips to the matching `))`, lexing any `$(…)` inside.
    fn arithmetic(&mut self) {
        let mut depth = 2usize;
        while let Some(c) = self.bump() {
            match c {
                '$' if self.peek(0) == Some('(') && self.peek(1) != Some('(') => {
                    self.bump();
                    self.substitution();
                }
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn redirection(&mut self) {
        if self.peek(0) == Some('<') && self.peek(1) == Some('<') && self.peek(2) != Some('<') {
            self.bump();
            self.bump();
            self.heredoc_operator();
            return;
        }
        while matches!(self.peek(0), Some('<' | '>' | '&' | '|')) {
            self.bump();
        }
        self.tokens.push(Token::Redirection);
    }

    /// `<<[-]DELIM`, `<<'DELIM'`, `<<"DELIM"`: the body starts on the next line.
    fn heredoc_operator(&mut self) {
        if self.peek(0) == Some('-') {
            self.bump();
        }
        while matches!(self.peek(0), Some(' ' | '\t')) {
            self.bump();
        }
        let mut delimiter = String::new();
        while let Some(c) = self
            .peek(0)
            .filter(|c| !c.is_whitespace() && !";&|<>)".contains(*c))
        {
            self.bump();
            if c != '\'' && c != '"' {
                delimiter.push(c);
            }
        }
        self.heredocs.push(delimiter);
    }

    fn word(&mut self) {
        let line = self.line;
        let mut text = String::new();
        let mut expanded = false;
        while let Some(c) = self.peek(0) {
            match c {
                ' ' | '\t' | '\n' | ';' | '&' | '|' | ')' => break,
                '<' | '>' if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) => {
                    // "2>": the digits name a file descriptor, not a word.
                    self.redirection();
                    return;
                }
                '<' | '>' => break,
                '(' if text.ends_with('=') => {
                    self.bump();
                    self.skip_balanced('(', ')');
                    expanded = true;
                }
                '(' => break,
                '\\' => {
                    self.bump();
                    if let Some(escaped) = self.bump() {
                        if escaped != '\n' {
                            text.push(escaped);
                        }
                    }
                }
                '\'' => {
                    self.bump();
                    while let Some(quoted) = self.bump() {
                        if quoted == '\'' {
                            break;
                        }
                        text.push(quoted);
                    }
                }
                '"' => {
                    self.bump();
                    expanded |= self.double_quoted(&mut text);
                }
                '$' => {
                    self.bump();
                    self.expansion();
                    expanded = true;
                }
                '`' => {
                    self.bump();
                    while self.bump().is_some_and(|c| c != '`') {}
                    expanded = true;
                }
                _ => {
                    self.bump();
                    text.push(c);
                }
            }
        }
        let literal = (!expanded).then_some(text);
        self.tokens.push(Token::Word { literal, line });
    }

    /// Inside "…" after the opening quote; returns whether anything was expanded.
    fn double_quoted(&mut self, text: &mut String) -> bool {
        let mut expanded = false;
        while let Some(c) = self.bump() {
            match c {
                '"' => break,
                '\\' => {
                    if let Some(escaped) = self.bump() {
                        text.push(escaped);
                    }
                }
                '$' => {
                    self.expansion();
                    expanded = true;
                }
                '`' => {
                    while self.bump().is_some_and(|c| c != '`') {}
                    expanded = true;
                }
                _ => text.push(c),
            }
        }
        expanded
    }

    /// After a `$`: `$(…)`, `$((…))`, `${…}`, `$'…'` or a name.
    fn expansion(&mut self) {
        match self.peek(0) {
            Some('(') if self.peek(1) == Some('(') => {
                self.bump();
                self.bump();
                self.arithmetic();
            }
            Some('(') => {
                self.bump();
                self.substitution();
            }
            Some('{') => {
                self.bump();
                self.skip_balanced('{', '}');
            }
            Some('\'') => {
                self.bump();
                while let Some(c) = self.bump() {
                    match c {
                        '\\' => {
                            self.bump();
                        }
                        '\'' => break,
                        _ => {}
                    }
                }
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.bump();
                }
            }
            Some('#' | '?' | '@' | '*' | '!' | '$' | '-' | '0'..='9') => {
                self.bump();
            }
            // A lone `$` (as in a regex's `+$ ]]`) is just a character.
            _ => {}
        }
    }

    /// After an opening bracket: skips to its match, minding quotes.
    fn skip_balanced(&mut self, open: char, close: char) {
        let mut depth = 1usize;
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '\'' => while self.bump().is_some_and(|c| c != '\'') {},
                '"' => {
                    let mut ignored = String::new();
                    self.double_quoted(&mut ignored);
                }
                c if c == open => depth += 1,
                c if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}
