//! `mon-ipc-conformance`: verify the in-tree core against the vectors,
//! regenerate the vectors, record live ones over real sockets, replay every
//! vector against another program (`replay --exec`, docs/VECTORS.md), or
//! verify another program over real sockets (`peer --exec`, docs/SHIM.md).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};
use mon_ipc::SocketKind;

use mon_ipc_conformance::bridge;
use mon_ipc_conformance::peer::runner;
use mon_ipc_conformance_core::{generate, report, verify};

#[derive(Parser)]
#[command(
    name = "mon-ipc-conformance",
    about = "Test vectors for the mon-ipc protocol"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay every vector against the in-tree core.
    Verify {
        /// The vectors directory (default: `./vectors`, else the crate's `vectors/`).
        #[arg(long)]
        vectors: Option<PathBuf>,
        /// Only cases whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Also write the JSON report here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Rewrite the generated vector files from the spec-derived cases.
    Generate {
        /// Where to write them.
        #[arg(long)]
        out: PathBuf,
    },
    /// Record vectors from live sockets through `mon-ipc-std` (writes DIR/recorded.json).
    Record {
        /// Where to write them.
        #[arg(long)]
        out: PathBuf,
    },
    /// Replay every vector against PROGRAM through the JSON-lines protocol (docs/VECTORS.md).
    #[command(
        override_usage = REPLAY_USAGE,
        after_help = REPLAY_HELP,
        disable_help_flag = true
    )]
    Replay {
        /// `--exec PROGRAM [ARGS...]` and the options below, parsed by hand
        /// (`parse_replay`): PROGRAM's own arguments may look like options.
        #[arg(
            num_args = 0..,
            allow_hyphen_values = true,
            trailing_var_arg = true,
            value_name = "OPTIONS",
            hide = true
        )]
        args: Vec<String>,
    },
    /// Run every shim case (docs/SHIM.md) against PROGRAM over real sockets.
    #[command(
        override_usage = PEER_USAGE,
        after_help = PEER_HELP,
        disable_help_flag = true
    )]
    Peer {
        /// `--exec PROGRAM [ARGS...]` and the options below, parsed by hand
        /// (`parse_peer`): PROGRAM's own arguments may look like options.
        #[arg(
            num_args = 0..,
            allow_hyphen_values = true,
            trailing_var_arg = true,
            value_name = "OPTIONS",
            hide = true
        )]
        args: Vec<String>,
    },
}

const PEER_USAGE: &str = "mon-ipc-conformance peer --exec PROGRAM [ARGS...] [--filter NAME] \
[--socket stream|seqpacket] [--json FILE] [--timeout SECS]";

const PEER_HELP: &str = "\
Options:
  --exec PROGRAM [ARGS...]     The program under test and its own arguments,
                               which run up to the next of the four options
                               below (so -h and --help after it are PROGRAM's)
  --filter NAME                Only cases whose name contains NAME
  --socket stream|seqpacket    Only this socket type (default: both)
  --json FILE                  Also write the JSON report here
  --timeout SECS               Limit per case (default: 10)
  -h, --help                   Print this help

Exit status: 0 if at least one case passed and none failed; 1 if a case
failed or none passed (every case unimplemented); 2 on a usage error.";

const REPLAY_USAGE: &str = "mon-ipc-conformance replay --exec PROGRAM [ARGS...] \
[--vectors DIR] [--filter NAME] [--json FILE] [--timeout SECS]";

const REPLAY_HELP: &str = "\
Options:
  --exec PROGRAM [ARGS...]     The program under test and its own arguments,
                               which run up to the next of the four options
                               below (so -h and --help after it are PROGRAM's)
  --vectors DIR                The vectors directory (default: vectors/)
  --filter NAME                Only cases whose name contains NAME
  --json FILE                  Also write the JSON report here
  --timeout SECS               Limit per case (default: 10)
  -h, --help                   Print this help

PROGRAM speaks the JSON-lines protocol of docs/VECTORS.md on its standard
input and output. Exit status: 0 if at least one case passed and none
failed; 1 if a case failed or none passed (every case unimplemented); 2 on
a usage error or vectors that do not load.";

/// A subcommand's help, as `help NAME` prints it.
fn help_of(name: &str, fallback: &str) -> String {
    let mut cli = Cli::command();
    match cli.find_subcommand_mut(name) {
        Some(p) => p.render_help().to_string(),
        None => fallback.to_owned(),
    }
}

/// What `peer ...` or `replay ...` asks for.
enum ExecArgs {
    /// `--help` or `-h` (outside PROGRAM's own arguments).
    Help,
    /// PROGRAM with its arguments, and the runner's options with their values.
    Run(Vec<String>, Vec<(String, String)>),
}

/// Parses `--exec PROGRAM [ARGS...]` and the value options `own` by hand:
/// the program's own arguments may look like options, so they run up to
/// the next of `own`.
fn parse_exec(args: &[String], own: &[&str], usage: &str) -> Result<ExecArgs, String> {
    let mut program = Vec::new();
    let mut options = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--exec" {
            i += 1;
            while i < args.len() && args[i] != "--exec" && !own.contains(&args[i].as_str()) {
                program.push(args[i].clone());
                i += 1;
            }
            continue;
        }
        if a == "--help" || a == "-h" {
            return Ok(ExecArgs::Help);
        }
        if !own.contains(&a) {
            return Err(format!("unknown option {a}\nUsage: {usage}"));
        }
        let v = args
            .get(i + 1)
            .ok_or_else(|| format!("{a} needs a value"))?;
        options.push((a.to_owned(), v.clone()));
        i += 2;
    }
    if program.is_empty() {
        return Err(format!("--exec PROGRAM is missing\nUsage: {usage}"));
    }
    Ok(ExecArgs::Run(program, options))
}

/// `--timeout SECS`.
fn seconds(v: &str) -> Result<Duration, String> {
    let s: f64 = v.parse().map_err(|_| format!("--timeout {v}: seconds"))?;
    Duration::try_from_secs_f64(s).map_err(|_| format!("--timeout {v}: seconds"))
}

/// What `peer ...` asks for.
enum PeerArgs {
    /// `--help` or `-h` (outside PROGRAM's own arguments).
    Help,
    /// A run, and where to write its JSON report.
    Run(runner::Options, Option<PathBuf>),
}

/// Parses `peer ...` ([`parse_exec`]).
fn parse_peer(args: &[String]) -> Result<PeerArgs, String> {
    let own = ["--filter", "--socket", "--json", "--timeout"];
    let (program, options) = match parse_exec(args, &own, PEER_USAGE)? {
        ExecArgs::Help => return Ok(PeerArgs::Help),
        ExecArgs::Run(p, o) => (p, o),
    };
    let mut opts = runner::Options {
        program,
        filter: None,
        sockets: vec![SocketKind::Stream, SocketKind::Seqpacket],
        timeout: Duration::from_secs(10),
    };
    let mut json = None;
    for (a, v) in options {
        match a.as_str() {
            "--filter" => opts.filter = Some(v),
            "--socket" => {
                opts.sockets = vec![match v.as_str() {
                    "stream" => SocketKind::Stream,
                    "seqpacket" => SocketKind::Seqpacket,
                    _ => return Err(format!("--socket {v}: stream or seqpacket")),
                }]
            }
            "--json" => json = Some(PathBuf::from(v)),
            _ => opts.timeout = seconds(&v)?,
        }
    }
    Ok(PeerArgs::Run(opts, json))
}

/// What `replay ...` asks for: the options, the vectors and the report.
struct ReplayArgs {
    opts: bridge::Options,
    vectors: PathBuf,
    json: Option<PathBuf>,
}

/// Parses `replay ...` ([`parse_exec`]); `None` for `--help`.
fn parse_replay(args: &[String]) -> Result<Option<ReplayArgs>, String> {
    let own = ["--vectors", "--filter", "--json", "--timeout"];
    let (program, options) = match parse_exec(args, &own, REPLAY_USAGE)? {
        ExecArgs::Help => return Ok(None),
        ExecArgs::Run(p, o) => (p, o),
    };
    let mut r = ReplayArgs {
        opts: bridge::Options {
            program,
            filter: None,
            timeout: bridge::DEFAULT_TIMEOUT,
        },
        vectors: PathBuf::new(),
        json: None,
    };
    let mut vectors = None;
    for (a, v) in options {
        match a.as_str() {
            "--vectors" => vectors = Some(PathBuf::from(v)),
            "--filter" => r.opts.filter = Some(v),
            "--json" => r.json = Some(PathBuf::from(v)),
            _ => r.opts.timeout = seconds(&v)?,
        }
    }
    r.vectors = match vectors {
        Some(v) => v,
        None => default_vectors()?,
    };
    Ok(Some(r))
}

/// Writes a report to `--json`'s file, if given.
fn write_json(path: Option<&Path>, report: &impl serde::Serialize) -> Result<(), ExitCode> {
    let Some(path) = path else { return Ok(()) };
    std::fs::write(path, report::render(report)).map_err(|e| {
        eprintln!("error: cannot write {}: {e}", path.display());
        ExitCode::from(2)
    })
}

/// Exit status of a run: 0 if it verified something and found nothing
/// wrong, else 1 (saying so if nothing failed yet nothing passed).
fn verdict(passed: usize, failed: usize) -> ExitCode {
    if failed == 0 && passed > 0 {
        return ExitCode::SUCCESS;
    }
    if failed == 0 {
        eprintln!("error: no case passed: nothing was verified");
    }
    ExitCode::FAILURE
}

fn replay(args: &[String]) -> ExitCode {
    let r = match parse_replay(args) {
        Ok(Some(r)) => r,
        Ok(None) => {
            print!("{}", help_of("replay", REPLAY_HELP));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match bridge::run(&r.vectors, &r.opts) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for line in bridge::lines(&report) {
        println!("{line}");
    }
    if let Err(code) = write_json(r.json.as_deref(), &report) {
        return code;
    }
    verdict(report.passed, report.failed)
}

fn peer(args: &[String]) -> ExitCode {
    let (opts, json) = match parse_peer(args) {
        Ok(PeerArgs::Run(opts, json)) => (opts, json),
        Ok(PeerArgs::Help) => {
            print!("{}", help_of("peer", PEER_HELP));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let report = runner::run(&opts);
    for line in runner::lines(&report) {
        println!("{line}");
    }
    if let Err(code) = write_json(json.as_deref(), &report) {
        return code;
    }
    verdict(report.passed, report.failed)
}

/// `./vectors` when run from a checkout, else the crate's own `vectors/`
/// (in the repository a link to the workspace's; in the published package
/// a copy), or an error that says how to name them.
fn default_vectors() -> Result<PathBuf, String> {
    let here = PathBuf::from("vectors");
    if here.is_dir() {
        return Ok(here);
    }
    let packaged = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors");
    if packaged.is_dir() {
        return Ok(packaged);
    }
    Err(format!(
        "no vectors: neither ./vectors nor {} is a directory; \
         pass --vectors DIR (the `vectors/` of the mon-ipc repository)",
        packaged.display()
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // `peer` and `replay` are parsed by hand (see `parse_exec`); clap
    // only lists them.
    match args.get(1).map(String::as_str) {
        Some("peer") => return peer(&args[2..]),
        Some("replay") => return replay(&args[2..]),
        _ => {}
    }
    match Cli::parse().command {
        Command::Peer { args } => peer(&args),
        Command::Replay { args } => replay(&args),
        Command::Verify {
            vectors,
            filter,
            json,
        } => {
            let dir = match vectors.map_or_else(default_vectors, Ok) {
                Ok(dir) => dir,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let run = match verify::verify(&dir, filter.as_deref()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            for line in report::lines(&run.report.results) {
                println!("{line}");
            }
            if let Err(code) = write_json(json.as_deref(), &run.report) {
                return code;
            }
            if run.report.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Generate { out } => match generate::write_all(&out) {
            Ok(files) => {
                for (name, n) in files {
                    println!("{n:4} cases  {}", out.join(name).display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write into {}: {e}", out.display());
                ExitCode::from(2)
            }
        },
        Command::Record { out } => match mon_ipc_conformance::record::record(&out) {
            Ok(n) => {
                println!(
                    "{n:4} cases  {}",
                    out.join(mon_ipc_conformance::record::FILE).display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: recording failed: {e}");
                ExitCode::from(2)
            }
        },
    }
}
