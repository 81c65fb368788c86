//! The shell lexer's tokens to commands: the first word of each, past assignments, keywords,
//! `[[ … ]]` and the options of wrappers such as `timeout`.

use super::{scan, ShellScan, Token};

/// Words that keep the parser waiting for the command's real first word.
const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
    "esac", "exec",
];

/// Programs that run the command given after their own options and arguments.
enum Wrapper {
    /// Options (words starting with `-`, those listed taking a value) then N arguments.
    Arguments(&'static [&'static str], usize),
    /// Everything up to `--`.
    AfterDoubleDash,
}

fn wrapper(name: &str) -> Option<Wrapper> {
    Some(match name {
        "timeout" => Wrapper::Arguments(&["-s", "-k", "--signal", "--kill-after"], 1),
        "stdbuf" | "env" | "nice" | "nohup" | "sudo" | "command" => Wrapper::Arguments(&[], 0),
        // The test bed's own: testbed_wait_for [-p PID] SECONDS WHAT CMD…, _tb_wait SECONDS PID CMD….
        "testbed_wait_for" => Wrapper::Arguments(&["-p"], 2),
        "_tb_wait" => Wrapper::Arguments(&[], 2),
        "nsenter" | "unshare" => Wrapper::AfterDoubleDash,
        _ => return None,
    })
}

pub fn commands(tokens: &[Token]) -> ShellScan {
    Parser::default().run(tokens)
}

#[derive(Default)]
struct Parser {
    scan: ShellScan,
}

/// Where the parser is within one simple command.
#[derive(Clone, Copy, Default)]
enum State {
    /// Waiting for the command's first word.
    #[default]
    Start,
    /// Inside `[[ … ]]`.
    Test,
    /// Past the first word: arguments.
    Arguments,
    /// Inside a wrapper's own arguments: options taking a value, then `count` words.
    WrapperArguments {
        wrapper: &'static str,
        value_next: bool,
        count: usize,
    },
    /// After `nsenter`/`unshare`, waiting for `--`.
    UntilDoubleDash,
    /// After `command -v`: the next word is a program the script checks for.
    CheckedName,
}

impl Parser {
    fn run(mut self, tokens: &[Token]) -> ShellScan {
        let mut state = State::Start;
        let mut saved = Vec::new();
        let mut redirected = false;
        // A command word is kept only once the token after it shows it is not a case
        // pattern or a function name.
        let mut pending: Option<(String, usize)> = None;
        for token in tokens {
            match token {
                Token::PatternEnd => {
                    pending = None;
                    state = State::Start;
                    continue;
                }
                Token::FunctionDefinition => {
                    if let Some((name, _)) = pending.take() {
                        self.scan.functions.insert(name);
                    }
                    state = State::Start;
                    continue;
                }
                _ => {}
            }
            if let Some(command) = pending.take() {
                self.scan.commands.push(command);
            }
            match token {
                Token::Separator => {
                    if !matches!(state, State::Test) {
                        state = State::Start;
                    }
                    redirected = false;
                }
                Token::SubstitutionStart => {
                    saved.push(state);
                    state = State::Start;
                    redirected = false;
                }
                Token::SubstitutionEnd => state = saved.pop().unwrap_or_default(),
                Token::Redirection => redirected = true,
                Token::Word { literal, line } => {
                    if std::mem::take(&mut redirected) {
                        continue;
                    }
                    state = self.word(state, literal.as_deref(), *line, &mut pending);
                }
                Token::PatternEnd | Token::FunctionDefinition => {}
            }
        }
        if let Some(command) = pending {
            self.scan.commands.push(command);
        }
        self.scan
    }

    fn word(
        &mut self,
        state: State,
        literal: Option<&str>,
        line: usize,
        pending: &mut Option<(String, usize)>,
    ) -> State {
        match state {
            State::Start => self.first_word(literal, line, pending),
            State::Test => match literal {
                Some("]]") => State::Arguments,
                _ => State::Test,
            },
            State::Arguments => State::Arguments,
            State::CheckedName => {
                if let Some(name) = literal {
                    self.scan.optional.insert(name.to_string());
                }
                State::Arguments
            }
            State::UntilDoubleDash => match literal {
                Some("--") => State::Start,
                _ => State::UntilDoubleDash,
            },
            State::WrapperArguments {
                wrapper,
                value_next,
                count,
            } => match wrapper_argument(wrapper, value_next, count, literal) {
                // This word is the wrapped command.
                State::Start => self.first_word(literal, line, pending),
                next => next,
            },
        }
    }

    fn first_word(
        &mut self,
        literal: Option<&str>,
        line: usize,
        pending: &mut Option<(String, usize)>,
    ) -> State {
        // `$SUDO apt-get …`, `"$cmd" -t …`: an expanded first word; the next may be the program.
        let Some(word) = literal else {
            return State::Start;
        };
        if is_assignment(word) {
            self.embedded_script(word, line);
            return State::Start;
        }
        if KEYWORDS.contains(&word) {
            return State::Start;
        }
        match word {
            "[[" => return State::Test,
            "for" | "case" | "select" | "local" | "export" | "declare" | "readonly" => {
                return State::Arguments
            }
            _ => {}
        }
        if !is_program_name(word) {
            return State::Arguments;
        }
        *pending = Some((word.to_string(), line));
        match wrapper(word) {
            Some(Wrapper::AfterDoubleDash) => State::UntilDoubleDash,
            Some(Wrapper::Arguments(_, count)) => State::WrapperArguments {
                wrapper: wrapper_name(word),
                value_next: false,
                count,
            },
            None => State::Arguments,
        }
    }
}

/// Every name `wrapper` knows, as a `'static` string the parser's state can hold.
const WRAPPERS: &[&str] = &[
    "timeout",
    "stdbuf",
    "env",
    "nice",
    "nohup",
    "sudo",
    "command",
    "testbed_wait_for",
    "_tb_wait",
];

fn wrapper_name(word: &str) -> &'static str {
    WRAPPERS
        .iter()
        .find(|name| **name == word)
        .copied()
        .unwrap_or("env")
}

impl Parser {
    /// `NAME_SCRIPT='…'`: a script another shell runs (`bash -c "$NAME_SCRIPT"`).
    fn embedded_script(&mut self, assignment: &str, line: usize) {
        let Some((name, script)) = assignment.split_once('=') else {
            return;
        };
        if name.ends_with("_SCRIPT") {
            let inner = scan(script);
            let commands = inner.commands.into_iter();
            self.scan
                .commands
                .extend(commands.map(|(program, at)| (program, line + at - 1)));
            self.scan.functions.extend(inner.functions);
            self.scan.optional.extend(inner.optional);
        }
    }
}

fn wrapper_argument(
    wrapper: &'static str,
    value_next: bool,
    count: usize,
    literal: Option<&str>,
) -> State {
    if value_next {
        return State::WrapperArguments {
            wrapper,
            value_next: false,
            count,
        };
    }
    if wrapper == "command" && matches!(literal, Some("-v" | "-V")) {
        return State::CheckedName;
    }
    if let Some(option) = literal.filter(|word| word.starts_with('-')) {
        let takes_value = match self::wrapper(wrapper) {
            Some(Wrapper::Arguments(with_value, _)) => with_value.contains(&option),
            _ => false,
        };
        return State::WrapperArguments {
            wrapper,
            value_next: takes_value,
            count,
        };
    }
    if wrapper == "env" && literal.is_some_and(is_assignment) {
        return State::WrapperArguments {
            wrapper,
            value_next: false,
            count,
        };
    }
    if count > 0 {
        return State::WrapperArguments {
            wrapper,
            value_next: false,
            count: count - 1,
        };
    }
    State::Start
}

fn is_assignment(word: &str) -> bool {
    let Some((name, _)) = word.split_once('=') else {
        return false;
    };
    let name = name.trim_end_matches('+');
    let name = name.split('[').next().unwrap_or(name);
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// A word that can name a program: a plain name or an absolute path.
fn is_program_name(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with('-')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./+-:[".contains(c))
}
