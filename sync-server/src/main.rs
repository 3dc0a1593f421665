//! `cdht-server`: the operator's command line, and (from the sync issue on) the
//! sync server itself.

use cdht_core::catalog::{Catalog, Rules, Text};
use cdht_core::ids::{CatalogId, GroupId};
use cdht_core::{AssessmentInput, Completeness, ScoreError};
use clap::{Parser, Subcommand};
use serde::Serialize;
use std::io::{Read, Write};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cdht-server",
    version,
    about = "CDHT (Công dân học tập) server and operator tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score an assessment (JSON file, or `-` for standard input) and print the result as JSON.
    Score {
        /// {"catalog":"244-2022","group":"farmers","area":"normal","answers":{"1.1":8,"1.2":"a",…}}
        file: String,
        /// Score a draft: unanswered indicators count 0 and are listed instead of being an error.
        #[arg(long)]
        draft: bool,
    },
    /// List the criteria catalogs built into this binary, as JSON.
    Catalogs {
        /// Print every catalog in full (indicators, levels, evidence hints).
        #[arg(long)]
        full: bool,
    },
}

/// A failure the operator can act on: a stable code and one line of text.
struct CliError {
    code: &'static str,
    message: String,
}

impl From<ScoreError> for CliError {
    fn from(e: ScoreError) -> Self {
        Self {
            code: e.code(),
            message: format!("{e} ({})", e.message_vi()),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Score { file, draft } => run_score(&file, draft),
        Command::Catalogs { full } => run_catalogs(full),
    };
    match outcome {
        Ok(json) => {
            // Not println!: a closed pipe (`| head`) must not panic.
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{json}").and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error [output]: cannot write the result: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(e) => {
            // One line, no backtrace: the message says what to fix.
            eprintln!("error [{}]: {}", e.code, e.message.replace('\n', " "));
            ExitCode::from(1)
        }
    }
}

fn run_score(file: &str, draft: bool) -> Result<String, CliError> {
    let text = read_input(file)?;
    let input: AssessmentInput = serde_json::from_str(&text).map_err(|e| CliError {
        code: "malformed_assessment",
        message: format!("{file}: not a valid assessment: {e}"),
    })?;
    let completeness = if draft {
        Completeness::Draft
    } else {
        Completeness::Complete
    };
    let result = cdht_core::score(&input, completeness)?;
    to_json(&result)
}

fn read_input(file: &str) -> Result<String, CliError> {
    let mut text = String::new();
    let read = if file == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(file).map(|t| text = t)
    };
    read.map_err(|e| CliError {
        code: "unreadable_input",
        message: format!("cannot read {file}: {e}"),
    })?;
    Ok(text)
}

#[derive(Serialize)]
struct CatalogSummary<'a> {
    id: &'a CatalogId,
    decision: &'a str,
    issued_on: &'a str,
    title: &'a Text,
    draft: bool,
    rules: &'a Rules,
    groups: Vec<GroupSummary<'a>>,
}

#[derive(Serialize)]
struct GroupSummary<'a> {
    id: &'a GroupId,
    name: &'a Text,
    indicators: usize,
}

fn run_catalogs(full: bool) -> Result<String, CliError> {
    let catalogs = cdht_core::embedded_catalogs().map_err(|e| CliError {
        code: "broken_catalog",
        message: e.to_string(),
    })?;
    if full {
        return to_json(&catalogs);
    }
    let summaries: Vec<CatalogSummary<'_>> = catalogs.iter().map(summary).collect();
    to_json(&summaries)
}

fn summary(c: &Catalog) -> CatalogSummary<'_> {
    CatalogSummary {
        id: &c.id,
        decision: &c.decision,
        issued_on: &c.issued_on,
        title: &c.title,
        draft: c.draft,
        rules: &c.rules,
        groups: c
            .groups
            .iter()
            .map(|g| GroupSummary {
                id: &g.id,
                name: &g.name,
                indicators: g.indicators().count(),
            })
            .collect(),
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(|e| CliError {
        code: "internal",
        message: format!("could not write JSON: {e}"),
    })
}
