//! The measurement harness shared by the benchmarks: criterion measuring
//! the process's CPU time ([`CpuTime`]), the paired comparison of two
//! variants ([`paired`]) that gives the ratios of `docs/PERFORMANCE.md`,
//! and criterion's filter applied before a case's setup ([`selected`]).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkGroup, Criterion, Throughput};

/// Whether criterion's filter (the first positional argument) may select
/// something in `group`: the setup of other groups (threads, handshakes,
/// the Python subprocess) is then skipped.
pub fn selected(group: &str) -> bool {
    const WITH_VALUE: &[&str] = &[
        "--profile-time",
        "--measurement-time",
        "--warm-up-time",
        "--sample-size",
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--load-baseline",
        "--output-format",
        "--plotting-backend",
        "--color",
        "--noise-threshold",
        "--significance-level",
        "--confidence-level",
        "--nresamples",
        "--format",
    ];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if WITH_VALUE.contains(&a.as_str()) {
            args.next();
        } else if !a.starts_with('-') {
            // Alternatives of a regex filter; each `group/case` or a prefix.
            return a.split('|').any(|alt| {
                let f = alt.trim_start_matches('^');
                let g = f.split('/').next().unwrap_or("");
                group.starts_with(g) || (f.contains('/') && g.starts_with(group))
            });
        }
    }
    true
}

/// `MON_BENCH_QUICK=1`: shortened cases (the CI smoke run).
pub fn quick() -> bool {
    std::env::var_os("MON_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The CPU time of this process (`CLOCK_PROCESS_CPUTIME_ID`): all its
/// threads, user and kernel.
pub fn cpu_now() -> Duration {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID)
        .expect("CLOCK_PROCESS_CPUTIME_ID");
    Duration::new(ts.tv_sec() as u64, ts.tv_nsec() as u32)
}

/// Criterion's measurement: the process's CPU time instead of wall time.
///
/// Every case runs pinned to one CPU with both ends in this process, and
/// every case but the Python peer keeps that CPU busy from start to end
/// (one end always runs), so on an idle machine its CPU time equals its
/// wall time. On a shared machine it leaves out the time slices the
/// scheduler gives to other processes on that CPU, which wall time counts.
pub struct CpuTime;

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

/// Formats nanoseconds of CPU time, as criterion does wall time.
pub struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (d, unit) = match typical {
            t if t < 1e3 => (1.0, "ns"),
            t if t < 1e6 => (1e3, "µs"),
            t if t < 1e9 => (1e6, "ms"),
            _ => (1e9, "s"),
        };
        values.iter_mut().for_each(|v| *v /= d);
        unit
    }
    fn scale_throughputs(&self, typical: f64, tp: &Throughput, values: &mut [f64]) -> &'static str {
        let (per, unit_small, unit_big) = match *tp {
            Throughput::Bytes(b) | Throughput::BytesDecimal(b) => (b as f64, "MB/s", "GB/s"),
            Throughput::Elements(e) => (e as f64, "Kelem/s", "Melem/s"),
            _ => (1.0, "Kelem/s", "Melem/s"),
        };
        let rate = per * 1e9 / typical;
        let (d, unit) = if matches!(*tp, Throughput::Elements(_)) {
            if rate < 1e6 {
                (1e3, unit_small)
            } else {
                (1e6, unit_big)
            }
        } else if rate < 1e9 {
            (1e6, unit_small)
        } else {
            (1e9, unit_big)
        };
        values.iter_mut().for_each(|v| *v = per * 1e9 / *v / d);
        unit
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// Criterion measuring CPU time, shortened in [`quick`] mode, with the
/// command line's options applied.
pub fn config() -> Criterion<CpuTime> {
    timing(Criterion::default().with_measurement(CpuTime))
}

/// The sampling of every benchmark, shortened in [`quick`] mode, then the
/// command line's options, for any measurement.
pub fn timing<M: Measurement>(c: Criterion<M>) -> Criterion<M> {
    let c = if quick() {
        c.warm_up_time(Duration::from_millis(50))
            .measurement_time(Duration::from_millis(200))
            .sample_size(10)
    } else {
        c.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(50)
    };
    c.configure_from_args()
}

/// One variant of a case: an operation, run by criterion and by the
/// paired comparison.
pub struct Variant<'a> {
    name: &'static str,
    op: Box<dyn FnMut() + 'a>,
}

/// A [`Variant`] named `name` that runs `op`.
pub fn variant<'a>(name: &'static str, op: impl FnMut() + 'a) -> Variant<'a> {
    Variant {
        name,
        op: Box::new(op),
    }
}

/// Benches every variant with criterion, then compares the `pairs`
/// (first, second) with [`paired`]. `extra` adds benches that need their
/// own timing.
pub fn run_case(
    c: &mut Criterion<CpuTime>,
    group: &str,
    throughput: Option<Throughput>,
    variants: &mut [Variant<'_>],
    pairs: &[(&str, &str)],
    extra: impl FnOnce(&mut BenchmarkGroup<'_, CpuTime>),
) {
    let mut g = c.benchmark_group(group);
    if let Some(t) = throughput {
        g.throughput(t);
    }
    for v in variants.iter_mut() {
        g.bench_function(v.name, |b| b.iter(&mut v.op));
    }
    extra(&mut g);
    g.finish();
    paired(group, variants, pairs);
}

/// The paired comparison: the load on a shared machine drifts between
/// criterion's measurements of two variants, seconds apart. Here the two
/// alternate in slices of ~10 ms of CPU time (A B A B ...), and the ratio
/// A/B of each adjacent pair of slices is kept: the median of those
/// ratios is what `bench/run.sh` reports as the ratio. Appends one JSON line per pair to
/// `$CRITERION_HOME/paired.jsonl` when `CRITERION_HOME` is set.
pub fn paired(group: &str, variants: &mut [Variant<'_>], pairs: &[(&str, &str)]) {
    let rounds = if quick() { 3 } else { 40 };
    let slice = Duration::from_millis(if quick() { 2 } else { 10 });
    let names: Vec<&str> = variants.iter().map(|v| v.name).collect();
    let idx = |n: &str| names.iter().position(|&v| v == n).unwrap();
    for &(a, b) in pairs {
        let (ia, ib) = (idx(a), idx(b));
        // Operations per slice, from the slower of the two (over ~20 ms each).
        let mut per_op = Duration::ZERO;
        for i in [ia, ib] {
            let (t, mut n) = (cpu_now(), 0u32);
            while cpu_now() - t < slice * 2 {
                (variants[i].op)();
                n += 1;
            }
            per_op = per_op.max((cpu_now() - t) / n);
        }
        let k = (slice.as_nanos() / per_op.as_nanos().max(1)).max(1) as u32;
        let mut time = |i: usize| {
            let t = cpu_now();
            for _ in 0..k {
                (variants[i].op)();
            }
            (cpu_now() - t).as_secs_f64()
        };
        let mut ratios: Vec<f64> = (0..rounds)
            .map(|r| {
                // Alternate which goes first, so neither always follows the other.
                let (ta, tb) = if r % 2 == 0 {
                    let ta = time(ia);
                    (ta, time(ib))
                } else {
                    let tb = time(ib);
                    (time(ia), tb)
                };
                ta / tb
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        let med = ratios[ratios.len() / 2];
        let (lo, hi) = (ratios[0], ratios[ratios.len() - 1]);
        eprintln!(
            "paired {group}: {a} / {b} = {med:.3} [{lo:.3}..{hi:.3}] ({rounds} rounds of {k} ops)"
        );
        if let Some(home) = std::env::var_os("CRITERION_HOME") {
            let path = Path::new(&home).join("paired.jsonl");
            let _ = std::fs::create_dir_all(&home);
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
            writeln!(
                f,
                r#"{{"group":"{group}","a":"{a}","b":"{b}","median":{med},"min":{lo},"max":{hi},"rounds":{rounds},"ops":{k}}}"#
            )
            .unwrap();
        }
    }
}
