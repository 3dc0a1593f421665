//! `cdht-server`: the operator's command line, and (from the sync issue on) the
//! sync server itself.

use cdht_core::catalog::{Catalog, Rules, Text};
use cdht_core::ids::{CatalogId, GroupId};
use cdht_core::{AssessmentInput, Completeness};
use clap::{Parser, Subcommand};
use serde::Serialize;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

mod cli_error;
mod cli_migrate;
mod cli_serve;
mod score_text;

use cli_error::{error_line, CliError, Coded, UnreadableInput};
use cli_serve::config_of;

#[derive(Parser)]
#[command(
    name = "cdht-server",
    version,
    about = "CDHT (Công dân học tập) server and operator tools"
)]
struct Cli {
    /// The database: a postgres://user@host/database URL (PostgreSQL, which
    /// several `serve` instances share), or none for DIR/cdht.sqlite3. The
    /// data directory keeps the secret and photos either way.
    #[arg(long, global = true, env = "CDHT_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
    /// Connections to the database this process holds.
    #[arg(long, global = true, env = "CDHT_DB_POOL", default_value_t = cdht_server::DB_POOL_SIZE)]
    db_pool: u32,
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
    /// List the criteria catalogs built into this binary, as JSON; `add` and
    /// `list` manage the catalogs installed on a server.
    Catalogs {
        /// Print every catalog in full (indicators, levels, evidence hints).
        #[arg(long)]
        full: bool,
        #[command(subcommand)]
        command: Option<CatalogsCommand>,
    },
    /// Run the sync server on a data directory (SQLite database, photos, secret).
    Serve(cli_serve::ServeArgs),
    /// Move a stopped server's data (database and photos) to a new place;
    /// enrolled devices keep syncing.
    MigrateStorage(cli_migrate::MigrateArgs),
    /// Create a data directory; with --demo, a demo unit tree and officers.
    Init {
        #[arg(long, env = "CDHT_DATA")]
        data: PathBuf,
        /// Add the demo tree: a province, two communes (one in a difficult area), branches.
        #[arg(long)]
        demo: bool,
        /// The server's address as phones reach it; printed in each unit's QR URL.
        #[arg(long, env = "CDHT_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        public_url: String,
    },
    /// Manage officers.
    Officer {
        #[command(subcommand)]
        command: OfficerCommand,
    },
    /// Manage units: import a tree from CSV, list, rotate a join key, print a QR poster.
    Units {
        #[command(subcommand)]
        command: UnitsCommand,
    },
}

#[derive(Subcommand)]
enum CatalogsCommand {
    /// Install a catalog file (a correction with a higher "revision", or a new
    /// decision) on a server; every device pulls it and scores with it.
    Add {
        /// The catalog, in the format of crates/core/catalogs/*.json.
        file: PathBuf,
        #[arg(long, env = "CDHT_DATA")]
        data: PathBuf,
    },
    /// List the catalogs a server scores with (built in and installed), as JSON.
    List {
        #[arg(long, env = "CDHT_DATA")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum UnitsCommand {
    /// Add units from a CSV file (header code,name,kind,parent,area), all or none;
    /// prints the new units with their join keys as JSON.
    Import {
        /// UTF-8 CSV, with or without a byte-order mark.
        file: PathBuf,
        #[arg(long, env = "CDHT_DATA")]
        data: PathBuf,
    },
    /// List every unit with its join key and QR URL, as JSON.
    List {
        #[arg(long, env = "CDHT_DATA")]
        data: PathBuf,
    },
    /// Give a unit a new join key (enrolled devices keep working; old posters stop enrolling).
    RotateKey {
        code: String,
        #[arg(long, env = "CDHT_DATA")]
        data: PathBuf,
    },
    /// Print a unit's A4 poster: its QR, name, code and join key.
    Qr {
        code: String,
        #[arg(long, env = "CDHT_DATA")]
        data: PathBuf,
        /// FILE.png or FILE.pdf.
        #[arg(long)]
        out: PathBuf,
        /// The server's address as phones reach it; by default the one given to `init`.
        #[arg(long, env = "CDHT_PUBLIC_URL")]
        public_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum OfficerCommand {
    /// Add an officer (or add roles to one). The password comes from
    /// CDHT_OFFICER_PASSWORD, or a new one is generated and printed.
    Add {
        #[arg(long, env = "CDHT_DATA")]
        data: PathBuf,
        #[arg(long)]
        username: String,
        /// ROLE:UNIT, e.g. reviewer:DEMO-X1; ROLE is collector, reviewer,
        /// recogniser, viewer or admin. Repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
}

/// The file's name (for messages that point into it) and its bytes.
fn read_input_file(file: &std::path::Path) -> Result<(String, Vec<u8>), UnreadableInput> {
    let bytes = std::fs::read(file).map_err(|e| UnreadableInput {
        message: format!("cannot read {}: {e}", file.display()),
    })?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok((name, bytes))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            let first = first.trim_start_matches("error: ");
            eprintln!("{}", error_line("usage", first, None));
            return ExitCode::from(2);
        }
    };
    cli_serve::set_database(cli.database, cli.db_pool);
    let outcome = match cli.command {
        Command::Score { file, draft } => run_score(&file, draft),
        Command::Catalogs {
            full,
            command: None,
        } => run_catalogs(full),
        Command::Catalogs {
            command: Some(command),
            ..
        } => run_catalogs_command(command).map_err(CliError::failed),
        Command::Serve(args) => cli_serve::run(args).map_err(CliError::failed),
        Command::MigrateStorage(args) => cli_migrate::run(args).map_err(CliError::failed),
        Command::Init {
            data,
            demo,
            public_url,
        } => run_init(data, demo, &public_url).map_err(CliError::failed),
        Command::Officer {
            command:
                OfficerCommand::Add {
                    data,
                    username,
                    roles,
                },
        } => run_officer_add(data, &username, &roles).map_err(CliError::failed),
        Command::Units { command } => run_units(command).map_err(CliError::failed),
    };
    match outcome {
        Ok(json) => {
            // Not println!: a closed pipe (`| head`) must not panic.
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{json}").and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    let message = format!("cannot write the result: {e}");
                    eprintln!("{}", error_line("output", &message, None));
                    ExitCode::from(1)
                }
            }
        }
        Err(e) => {
            // One line, no backtrace: the message says what to fix.
            eprintln!("{}", error_line(e.code, &e.message, e.vi.as_deref()));
            for (code, message) in e.more.iter().take(99) {
                eprintln!("{}", error_line(code, message, None));
            }
            ExitCode::from(1)
        }
    }
}

fn run_score(file: &str, draft: bool) -> Result<String, CliError> {
    let text = read_input(file)?;
    let input: AssessmentInput = serde_json::from_str(&text).map_err(|e| {
        CliError::new(
            "malformed_assessment",
            format!("{file}: not a valid assessment: {e}"),
        )
    })?;
    let completeness = if draft {
        Completeness::Draft
    } else {
        Completeness::Complete
    };
    let result = cdht_core::score(&input, completeness)?;
    let json = score_text::with_messages(&result)
        .map_err(|e| CliError::new("internal", format!("could not write JSON: {e}")))?;
    to_json(&json)
}

fn read_input(file: &str) -> Result<String, CliError> {
    let mut text = String::new();
    let read = if file == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(file).map(|t| text = t)
    };
    read.map_err(|e| CliError::new("unreadable_input", format!("cannot read {file}: {e}")))?;
    Ok(text)
}

#[derive(Serialize)]
struct CatalogSummary<'a> {
    id: &'a CatalogId,
    decision: &'a str,
    issued_on: &'a str,
    title: &'a Text,
    draft: bool,
    revision: u32,
    rules: &'a Rules,
    /// Where each rule comes from: confirmed, or provisional and how to
    /// switch it off.
    rule_provenance: &'static [cdht_core::provenance::RuleProvenance],
    groups: Vec<GroupSummary<'a>>,
}

#[derive(Serialize)]
struct GroupSummary<'a> {
    id: &'a GroupId,
    name: &'a Text,
    indicators: usize,
}

fn run_catalogs(full: bool) -> Result<String, CliError> {
    let catalogs = cdht_core::embedded_catalogs()
        .map_err(|e| CliError::new("broken_catalog", e.to_string()))?;
    if full {
        return to_json(&catalogs);
    }
    let summaries: Vec<CatalogSummary<'_>> = catalogs.iter().map(summary).collect();
    to_json(&summaries)
}

fn run_catalogs_command(command: CatalogsCommand) -> anyhow::Result<String> {
    let open = |data: PathBuf| cdht_server::AppState::open(config_of(data));
    match command {
        CatalogsCommand::Add { file, data } => {
            let (name, bytes) = read_input_file(&file)?;
            let json = String::from_utf8(bytes).map_err(|_| UnreadableInput {
                message: format!("{name} is not UTF-8 text"),
            })?;
            let state = open(data)?;
            let added = cdht_server::catalogs::add(state.storage.as_ref(), &name, &json)?;
            Ok(serde_json::to_string_pretty(&added)?)
        }
        CatalogsCommand::List { data } => {
            let state = open(data)?;
            Ok(serde_json::to_string_pretty(&cdht_server::catalogs::list(
                state.storage.as_ref(),
            )?)?)
        }
    }
}

fn summary(c: &Catalog) -> CatalogSummary<'_> {
    CatalogSummary {
        id: &c.id,
        decision: &c.decision,
        issued_on: &c.issued_on,
        title: &c.title,
        draft: c.draft,
        revision: c.revision,
        rules: &c.rules,
        rule_provenance: &cdht_core::provenance::RULES,
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
    serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new("internal", format!("could not write JSON: {e}")))
}

fn run_init(data: PathBuf, demo: bool, public_url: &str) -> anyhow::Result<String> {
    let public_url = checked_public_url(public_url)?;
    let public_url = public_url.as_str();
    let state = cdht_server::AppState::open(config_of(data.clone()))?;
    let out = if demo {
        let tree = cdht_server::init::init_demo(state.storage.as_ref(), public_url)?;
        serde_json::to_string_pretty(&tree)?
    } else {
        serde_json::json!({ "data": data, "demo": false }).to_string()
    };
    // Kept for `units qr` and `units list`; only once the rest succeeded, so
    // a failed init leaves the stored address as it was.
    state
        .storage
        .set_setting(cdht_server::units::PUBLIC_URL, public_url)?;
    Ok(out)
}

fn run_officer_add(data: PathBuf, username: &str, roles: &[String]) -> anyhow::Result<String> {
    use cdht_core::sync::{Role, RoleGrant};
    let grants = roles
        .iter()
        .map(|r| {
            let (role, unit) = r.split_once(':').ok_or_else(|| Coded {
                code: "bad_role",
                message: format!("--role {r:?}: write ROLE:UNIT"),
            })?;
            let role = Role::parse(role).ok_or_else(|| Coded {
                code: "bad_role",
                message: format!(
                    "--role {r:?}: ROLE is collector, reviewer, recogniser, viewer or admin"
                ),
            })?;
            Ok(RoleGrant {
                role,
                unit: cdht_core::ids::UnitCode::new(unit.trim().to_ascii_uppercase()),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (password, generated) = match std::env::var("CDHT_OFFICER_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (cdht_server::random_code(12)?.to_ascii_lowercase(), true),
    };
    let state = cdht_server::AppState::open(config_of(data))?;
    cdht_server::init::add_officer(state.storage.as_ref(), username, &password, &grants)?;
    let mut out = serde_json::json!({ "username": username, "roles": grants });
    if generated {
        out["password"] = serde_json::Value::String(password);
    }
    Ok(serde_json::to_string_pretty(&out)?)
}

/// The public URL as the QR carries it (no trailing slash), or a clear error.
fn checked_public_url(url: &str) -> anyhow::Result<String> {
    cdht_core::qr::JoinPayload::from_typed(url, "ABC", "ABCDEF")
        .map(|p| p.server)
        .map_err(|e| {
            cdht_server::poster::PosterError {
                code: "bad_public_url",
                message: format!(
                    "--public-url {url:?}: {e}; write it as https://host[:port][/path]"
                ),
            }
            .into()
        })
}

fn run_units(command: UnitsCommand) -> anyhow::Result<String> {
    let open = |data: PathBuf| cdht_server::AppState::open(config_of(data));
    match command {
        UnitsCommand::Import { file, data } => {
            let (name, bytes) = read_input_file(&file)?;
            let state = open(data)?;
            let units = cdht_server::units::import(state.storage.as_ref(), &name, &bytes)?;
            Ok(serde_json::to_string_pretty(&units)?)
        }
        UnitsCommand::List { data } => {
            let state = open(data)?;
            Ok(serde_json::to_string_pretty(&cdht_server::units::list(
                state.storage.as_ref(),
            )?)?)
        }
        UnitsCommand::RotateKey { code, data } => {
            let state = open(data)?;
            Ok(serde_json::to_string_pretty(
                &cdht_server::units::rotate_key(state.storage.as_ref(), &code)?,
            )?)
        }
        UnitsCommand::Qr {
            code,
            data,
            out,
            public_url,
        } => {
            // Refuse a wrong extension before touching the data directory.
            cdht_server::poster::Format::from_path(&out)?;
            let state = open(data)?;
            let storage = state.storage.as_ref();
            let public_url = match public_url {
                Some(url) => checked_public_url(&url)?,
                None => storage
                    .setting(cdht_server::units::PUBLIC_URL)?
                    .ok_or_else(|| cdht_server::poster::PosterError {
                        code: "no_public_url",
                        message: "this data directory has no public URL: give --public-url \
                                  (the server's address as phones reach it)"
                            .to_owned(),
                    })?,
            };
            let code = code.trim().to_ascii_uppercase();
            let unit = storage
                .unit(&code)?
                .ok_or_else(|| cdht_server::poster::PosterError {
                    code: "unknown_unit",
                    message: format!("no unit {code} (see `cdht-server units list`)"),
                })?;
            let payload =
                cdht_core::qr::JoinPayload::from_typed(&public_url, &code, &unit.join_key)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            let poster = cdht_server::poster::Poster {
                unit_code: code.clone(),
                unit_name: unit.name.clone(),
                join_key: unit.join_key.clone(),
                server: payload.server.clone(),
                qr_text: payload.to_url(),
            };
            let format = cdht_server::poster::write(&poster, &out)?;
            Ok(serde_json::to_string_pretty(&serde_json::json!({
                "unit": code,
                "name": unit.name,
                "join_key": unit.join_key,
                "qr_url": payload.to_url(),
                "out": out,
                "format": match format {
                    cdht_server::poster::Format::Png => "png",
                    cdht_server::poster::Format::Pdf => "pdf",
                },
            }))?)
        }
    }
}
