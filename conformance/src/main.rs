//! `mon-ipc-conformance`: verify the in-tree core against the vectors,
//! regenerate the vectors, record live ones over real sockets, or verify
//! another program over real sockets (`peer --exec`, docs/SHIM.md).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use mon_ipc::SocketKind;

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

/// `peer`'s help, as `help peer` prints it.
fn peer_help() -> String {
    let mut cli = Cli::command();
    match cli.find_subcommand_mut("peer") {
        Some(p) => p.render_help().to_string(),
        None => PEER_HELP.to_owned(),
    }
}

/// What `peer ...` asks for.
enum PeerArgs {
    /// `--help` or `-h` (outside PROGRAM's own arguments).
    Help,
    /// A run, and where to write its JSON report.
    Run(runner::Options, Option<PathBuf>),
}

/// Parses `peer ...` by hand: the program's own arguments may look like
/// options, so they run up to the next option of the runner.
fn parse_peer(args: &[String]) -> Result<PeerArgs, String> {
    let own = ["--filter", "--socket", "--json", "--timeout", "--exec"];
    let mut opts = runner::Options {
        program: Vec::new(),
        filter: None,
        sockets: vec![SocketKind::Stream, SocketKind::Seqpacket],
        timeout: std::time::Duration::from_secs(10),
    };
    let mut json = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--exec" {
            i += 1;
            while i < args.len() && !own.contains(&args[i].as_str()) {
                opts.program.push(args[i].clone());
                i += 1;
            }
            continue;
        }
        if a == "--help" || a == "-h" {
            return Ok(PeerArgs::Help);
        }
        let v = args
            .get(i + 1)
            .ok_or_else(|| format!("{a} needs a value"))?
            .clone();
        match a {
            "--filter" => opts.filter = Some(v),
            "--socket" => {
                opts.sockets = vec![match v.as_str() {
                    "stream" => SocketKind::Stream,
                    "seqpacket" => SocketKind::Seqpacket,
                    _ => return Err(format!("--socket {v}: stream or seqpacket")),
                }]
            }
            "--json" => json = Some(PathBuf::from(v)),
            "--timeout" => {
                let s: f64 = v.parse().map_err(|_| format!("--timeout {v}: seconds"))?;
                opts.timeout = std::time::Duration::try_from_secs_f64(s)
                    .map_err(|_| format!("--timeout {v}: seconds"))?;
            }
            _ => return Err(format!("unknown option {a}\nUsage: {PEER_USAGE}")),
        }
        i += 2;
    }
    if opts.program.is_empty() {
        return Err(format!("peer needs --exec PROGRAM\nUsage: {PEER_USAGE}"));
    }
    Ok(PeerArgs::Run(opts, json))
}

fn peer(args: &[String]) -> ExitCode {
    let (opts, json) = match parse_peer(args) {
        Ok(PeerArgs::Run(opts, json)) => (opts, json),
        Ok(PeerArgs::Help) => {
            print!("{}", peer_help());
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
    if let Some(path) = json {
        if let Err(e) = std::fs::write(&path, report::render(&report)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if report.verdict() {
        ExitCode::SUCCESS
    } else {
        if report.failed == 0 {
            eprintln!("error: no case passed: nothing was verified");
        }
        ExitCode::FAILURE
    }
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
    // `peer` is parsed by hand (see `parse_peer`); clap only lists it.
    if args.get(1).map(String::as_str) == Some("peer") {
        return peer(&args[2..]);
    }
    match Cli::parse().command {
        Command::Peer { args } => peer(&args),
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
            if let Some(path) = json {
                if let Err(e) = std::fs::write(&path, report::render(&run.report)) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::from(2);
                }
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
