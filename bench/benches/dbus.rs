//! The `dbus` benchmark: one whole connection to a private `dbus-daemon`
//! per iteration (connect, authenticate, close),
//! through our client and next to a libdbus-style client written with
//! bare system calls, the real libdbus, and our native handshake.
//!
//! Groups and variants:
//!
//! - `dbus_handshake/ours`: `mon_ipc_std::connect` + `mon_ipc_std::dbus::client`
//!   (the NUL byte with `SCM_CREDENTIALS`, `AUTH EXTERNAL`,
//!   `NEGOTIATE_UNIX_FD`, `BEGIN`), then close.
//! - `dbus_handshake/raw`: the same exchange as libdbus does it, with bare
//!   syscalls and no parsing beyond the answers' prefixes
//!   ([`mon_ipc_bench::dbus_raw`]): the floor.
//! - `dbus_handshake/libdbus`: `bench/c/libdbus_hello.c` (real libdbus):
//!   `dbus_connection_open_private`, `dbus_connection_read_write` until
//!   authenticated, close, unref.
//! - `dbus_handshake/native`: our native handshake (`mon_ipc_std::connect` +
//!   `mon_ipc_std::client`) against a `Listener` + `mon_ipc_std::server`
//!   thread in this process, for comparison (no dbus-daemon involved).
//! - `dbus_hello/{ours,raw}`: the same plus the `Hello` call and its reply
//!   (the unique name), with the same prebuilt message and reply reader;
//!   `dbus_hello/libdbus`: `dbus_connection_open_private` +
//!   `dbus_bus_register` + close + unref.
//!
//! Every variant includes closing its socket (libdbus: close + unref) and
//! checks what it receives (`OK <guid>`, `AGREE_UNIX_FD`, the unique name).
//!
//! **Wall time, not CPU time.** The other benchmarks measure the CPU time
//! of the benchmark process (`mon_ipc_bench::measure::CpuTime`), which
//! is right when both ends are threads of it. Here the server is
//! `dbus-daemon`, another process: the CPU time it spends parsing our
//! lines, answering and routing the `Hello` would be invisible to
//! `CLOCK_PROCESS_CPUTIME_ID`, and the libdbus client is another process
//! too. So this benchmark uses criterion's default `WallTime` (the libdbus
//! subprocess times itself with `CLOCK_MONOTONIC`). Everything runs on the
//! CPU the benchmark is pinned to (the daemon and the subprocess inherit
//! its affinity), so the wall time is the sum of both sides' work plus the
//! context switches; on a loaded machine it also counts other processes'
//! time slices. The paired ratios (A and B alternating in ~10 ms slices of
//! wall time, median of the slice ratios, appended to
//! `$CRITERION_HOME/paired.jsonl` like the `ipc` benchmark's) blunt drift.
//!
//! Without `dbus-daemon` it prints `dbus benchmark skipped: ...` and exits
//! 0; without `cc` (or libdbus) the libdbus variants are skipped the same
//! way. `MON_BENCH_QUICK=1` shortens it; criterion's filter selects
//! groups (`RUNS=1 bench/run.sh dbus`).

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::Criterion;
use mon_ipc_bench::dbus_raw::{RawClient, say_hello};
use mon_ipc_bench::libdbus::{Libdbus, build_libdbus};
use mon_ipc_bench::measure::{quick, selected, timing};
use mon_ipc_bench::server::Server;
use mon_ipc_std::{ClientOptions, Listener, ServerOptions, SocketKind, dbus};
use mon_ipc_testkit::dbus_daemon::Daemon;
use mon_ipc_testkit::dbus_message::hello_message;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A variant: runs `n` connections and returns the wall time they took.
struct Wall<'a> {
    name: &'static str,
    run: Box<dyn FnMut(u64) -> Duration + 'a>,
}

/// A variant timed here, one `op` per connection.
fn timed<'a>(name: &'static str, mut op: impl FnMut() + 'a) -> Wall<'a> {
    Wall {
        name,
        run: Box::new(move |n| {
            let t = Instant::now();
            for _ in 0..n {
                op();
            }
            t.elapsed()
        }),
    }
}

/// The libdbus subprocess in `mode`, timing itself; `None` if it could
/// not be built or started (then skipped, visibly).
fn libdbus<'a>(exe: Option<&Path>, daemon: &Daemon, mode: &str) -> Option<Wall<'a>> {
    let mut p = match Libdbus::spawn(exe?, &daemon.address, mode) {
        Ok(p) => p,
        Err(e) => {
            skip(&format!("libdbus {mode} variant skipped: {e}"));
            return None;
        }
    };
    // A first connection, so that a broken libdbus shows here and not
    // inside criterion.
    if let Err(e) = p.run(1) {
        skip(&format!("libdbus {mode} variant skipped: {e}"));
        return None;
    }
    Some(Wall {
        name: "libdbus",
        run: Box::new(move |n| p.run(n).expect("libdbus client").0),
    })
}

/// Our D-Bus client: connect, authenticate; the socket and the bytes read
/// after the last line (normally none).
fn ours_connect(bus: &Path, opts: &dbus::ClientOptions) -> (OwnedFd, Vec<u8>) {
    let sock = mon_ipc_std::connect(bus, SocketKind::Stream).expect("connect to dbus-daemon");
    let (sock, auth) = dbus::client(sock, opts).expect("D-Bus authentication");
    assert!(auth.unix_fd && auth.guid.len() == 32, "{auth:?}");
    (sock, auth.leftover.bytes)
}

fn dbus_handshake(c: &mut Criterion, daemon: &Daemon, exe: Option<&Path>) {
    let bus = daemon.bus.clone();
    let config = dbus::ClientOptions::default().timeout(Some(TIMEOUT));
    let raw = RawClient::new();
    let native = Server::start(
        "dbusnative",
        |path| {
            let l = Listener::bind(path, SocketKind::Stream).unwrap();
            Box::new(move || l.accept().ok().map(OwnedFd::from))
        },
        |fd| drop(mon_ipc_std::server(fd, &ServerOptions::default()).unwrap()),
    );
    let native_path = native.path.clone();
    let native_opts = ClientOptions::default();
    let mut variants = vec![
        timed("ours", || drop(ours_connect(&bus, &config))),
        timed("raw", || drop(raw.connect(&bus).expect("raw D-Bus client"))),
        timed("native", || {
            let sock = mon_ipc_std::connect(&native_path, SocketKind::Stream).unwrap();
            drop(mon_ipc_std::client(sock, &native_opts).unwrap());
        }),
    ];
    variants.extend(libdbus(exe, daemon, "handshake"));
    let pairs = [
        ("ours", "raw"),
        ("ours", "libdbus"),
        ("libdbus", "raw"),
        ("ours", "native"),
    ];
    run_group(c, "dbus_handshake", &mut variants, &pairs);
    drop(variants);
    drop(native);
}

fn dbus_hello(c: &mut Criterion, daemon: &Daemon, exe: Option<&Path>) {
    let bus = daemon.bus.clone();
    let config = dbus::ClientOptions::default().timeout(Some(TIMEOUT));
    let raw = RawClient::new();
    let hello = hello_message();
    let mut buf = Vec::with_capacity(1024);
    let mut buf2 = Vec::with_capacity(1024);
    let mut variants = vec![
        timed("ours", || {
            let (sock, leftover) = ours_connect(&bus, &config);
            buf.clear();
            buf.extend_from_slice(&leftover);
            say_hello(&sock, &hello, &mut buf).expect("Hello reply");
        }),
        timed("raw", || {
            let sock = raw.connect(&bus).expect("raw D-Bus client");
            buf2.clear();
            say_hello(&sock, &hello, &mut buf2).expect("Hello reply");
        }),
    ];
    variants.extend(libdbus(exe, daemon, "hello"));
    let pairs = [("ours", "raw"), ("ours", "libdbus"), ("libdbus", "raw")];
    run_group(c, "dbus_hello", &mut variants, &pairs);
}

/// Benches every variant with criterion (`iter_custom`, wall time), then
/// the paired comparison of the `pairs` present.
fn run_group(c: &mut Criterion, group: &str, variants: &mut [Wall<'_>], pairs: &[(&str, &str)]) {
    let mut g = c.benchmark_group(group);
    for v in variants.iter_mut() {
        g.bench_function(v.name, |b| b.iter_custom(&mut v.run));
    }
    g.finish();
    paired_wall(group, variants, pairs);
}

/// [`mon_ipc_bench::measure::paired`] in wall time: A and B alternate in
/// slices of ~10 ms (A B, then B A, ...) and the median of the ratios of
/// adjacent slices is the ratio A/B. Pairs with a missing variant are
/// left out. Appends to `$CRITERION_HOME/paired.jsonl` in the same format.
fn paired_wall(group: &str, variants: &mut [Wall<'_>], pairs: &[(&str, &str)]) {
    let rounds = if quick() { 3 } else { 40 };
    let slice = Duration::from_millis(if quick() { 2 } else { 10 });
    let names: Vec<&str> = variants.iter().map(|v| v.name).collect();
    for &(a, b) in pairs {
        let (Some(ia), Some(ib)) = (
            names.iter().position(|&v| v == a),
            names.iter().position(|&v| v == b),
        ) else {
            continue;
        };
        // Connections per slice, from the slower of the two.
        let mut per_op = Duration::ZERO;
        for i in [ia, ib] {
            let (mut n, mut t) = (1u64, Duration::ZERO);
            while t < slice * 2 {
                n *= 2;
                t = (variants[i].run)(n);
            }
            per_op = per_op.max(t / n as u32);
        }
        let k = (slice.as_nanos() / per_op.as_nanos().max(1)).max(1) as u64;
        let mut ratios: Vec<f64> = (0..rounds)
            .map(|r| {
                let (ta, tb) = if r % 2 == 0 {
                    let ta = (variants[ia].run)(k);
                    (ta, (variants[ib].run)(k))
                } else {
                    let tb = (variants[ib].run)(k);
                    ((variants[ia].run)(k), tb)
                };
                ta.as_secs_f64() / tb.as_secs_f64()
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        let med = ratios[ratios.len() / 2];
        let (lo, hi) = (ratios[0], ratios[ratios.len() - 1]);
        eprintln!(
            "paired {group}: {a} / {b} = {med:.3} [{lo:.3}..{hi:.3}] ({rounds} rounds of {k} connections, wall time)"
        );
        if let Some(home) = std::env::var_os("CRITERION_HOME") {
            let _ = std::fs::create_dir_all(&home);
            let line = format!(
                r#"{{"group":"{group}","a":"{a}","b":"{b}","median":{med},"min":{lo},"max":{hi},"rounds":{rounds},"ops":{k},"clock":"wall"}}"#
            );
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(Path::new(&home).join("paired.jsonl"));
            if let Err(e) = f.and_then(|mut f| writeln!(f, "{line}")) {
                eprintln!("paired.jsonl: {e}");
            }
        }
    }
}

/// A skip, visible: on stdout and stderr, and in
/// `$CRITERION_HOME/dbus_skipped.txt` for `bench/report.py` (`bench/run.sh`
/// keeps the benchmark's output in a log).
fn skip(why: &str) {
    let line = format!("dbus benchmark skipped: {why}");
    println!("{line}");
    eprintln!("{line}");
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        let _ = std::fs::create_dir_all(&home);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(Path::new(&home).join("dbus_skipped.txt"));
        let _ = f.and_then(|mut f| writeln!(f, "{line}"));
    }
}

/// Criterion in wall time, shortened in quick mode, with the command
/// line's options applied.
fn config() -> Criterion {
    timing(Criterion::default())
}

fn main() {
    let (handshake, hello) = (selected("dbus_handshake"), selected("dbus_hello"));
    if !(handshake || hello) {
        return;
    }
    let daemon = match Daemon::start() {
        Ok(d) => d,
        Err(why) => return skip(&why),
    };
    eprintln!(
        "mon-ipc-bench dbus: cpus allowed {:?}, dbus-daemon pid {} on cpus {:?}{}",
        mon_ipc_bench::pinned_cpus(),
        daemon.pid(),
        mon_ipc_bench::cpus_of(daemon.pid()),
        if quick() { " (quick mode)" } else { "" }
    );
    let exe = match build_libdbus(daemon.dir()) {
        Ok((exe, how)) => {
            eprintln!("libdbus client built with {how}");
            Some(exe)
        }
        Err(why) => {
            skip(&format!("libdbus variants: {why}"));
            None
        }
    };
    let mut c = config();
    if handshake {
        dbus_handshake(&mut c, &daemon, exe.as_deref());
    }
    if hello {
        dbus_hello(&mut c, &daemon, exe.as_deref());
    }
    c.final_summary();
    drop(daemon);
}
