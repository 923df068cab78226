//! README.md's command-line section against the binary's own `--help`: each
//! `### spotdiff …` heading names exactly the flags its command takes, and
//! every choice it lists (`--layout visa|mvtec`) is one the command accepts.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The README's command headings: the subcommand words and the rest.
fn readme_commands() -> Vec<(Vec<String>, String)> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(&readme).expect("README.md is readable");
    text.lines()
        .filter_map(|line| line.strip_prefix("### `spotdiff"))
        .map(|heading| {
            let synopsis = heading.trim_end_matches('`').trim();
            let words: Vec<String> = synopsis
                .split_whitespace()
                .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase()))
                .map(String::from)
                .collect();
            (words, synopsis.to_string())
        })
        .collect()
}

/// `--name` tokens of `text`, without `--help` and `--version`.
fn flags(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|token| token.starts_with("--") && token.len() > 2)
        .filter(|token| *token != "--help" && *token != "--version")
        .map(String::from)
        .collect()
}

fn help(words: &[String]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_spotdiff"))
        .args(words)
        .arg("--help")
        .output()
        .expect("the spotdiff binary runs");
    assert!(output.status.success(), "spotdiff {words:?} --help failed");
    String::from_utf8(output.stdout).expect("utf-8 help")
}

#[test]
fn readme_headings_name_every_flag_of_each_command() {
    let commands = readme_commands();
    assert!(
        commands.len() >= 10,
        "found only {} headings",
        commands.len()
    );
    let mut disagreements = Vec::new();
    for (words, synopsis) in commands {
        // Only the usage and options name the flags, not the description
        // above them or the example below.
        let help = help(&words);
        let options = help.split("Usage:").nth(1).unwrap_or(&help);
        let options = options.split("Example").next().unwrap_or(options);
        let (readme, binary) = (flags(&synopsis), flags(options));
        if readme != binary {
            disagreements.push(format!(
                "`spotdiff {}`: README only {:?}, --help only {:?}",
                words.join(" "),
                readme.difference(&binary).collect::<Vec<_>>(),
                binary.difference(&readme).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "README's headings and --help disagree:\n{}",
        disagreements.join("\n")
    );
}

/// Backends the README lists that a build without their cargo feature lacks.
const GPU_BACKENDS: [&str; 2] = ["wgpu", "cuda"];

#[test]
fn readme_choices_are_accepted_values() {
    for (words, synopsis) in readme_commands() {
        let help = help(&words);
        let tokens: Vec<&str> = synopsis.split_whitespace().collect();
        for pair in tokens.windows(2) {
            let (flag, value) = (pair[0].trim_start_matches('['), pair[1]);
            let value = value.trim_end_matches(']');
            if !flag.starts_with("--") || !value.contains('|') {
                continue;
            }
            for choice in value.split('|') {
                if flag == "--backend" && GPU_BACKENDS.contains(&choice) && !help.contains(choice) {
                    continue;
                }
                assert!(
                    help.contains(choice),
                    "README lists `{flag} {choice}` for `spotdiff {}`, which its help does not",
                    words.join(" ")
                );
            }
        }
    }
}
