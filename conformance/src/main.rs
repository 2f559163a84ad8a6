//! `mon-ipc-conformance`: verify the in-tree core against the vectors,
//! regenerate the vectors, or record live ones over real sockets.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use mon_ipc_conformance::{generate, verify};

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
        /// The vectors directory (default: the workspace's `vectors/`).
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
}

fn default_vectors() -> PathBuf {
    let here = PathBuf::from("vectors");
    if here.is_dir() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Verify {
            vectors,
            filter,
            json,
        } => {
            let dir = vectors.unwrap_or_else(default_vectors);
            let run = match verify::verify(&dir, filter.as_deref()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            for line in verify::lines(&run.report) {
                println!("{line}");
            }
            if let Some(path) = json {
                if let Err(e) = std::fs::write(&path, verify::render(&run.report)) {
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
