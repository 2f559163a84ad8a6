//! Draws the figures of `docs/PERFORMANCE.md` from the `sweep` benchmark
//! (`benches/sweep.rs`): one-way throughput against message size, and
//! against fds per message, ours and raw.
//!
//! ```sh
//! RUNS=3 OUT=/tmp/sweep bench/run.sh sweep
//! cargo run -p mon-ipc-bench --bin plot -- /tmp/sweep/run*
//! ```
//!
//! Arguments: the `CRITERION_HOME` of one or more runs (as `bench/run.sh`
//! leaves them: `$OUT/run1`, `$OUT/run2`, ...), each with
//! `<group>/<id>/new/estimates.json` and `benchmark.json`. With several
//! runs each point is the median of the runs' medians. `--out DIR`
//! chooses where the PNGs go (default: the repository's `docs/img`).
//! Writes `throughput-vs-size.png` and `throughput-vs-fds.png`, and prints
//! the values plotted.
//!
//! Text is drawn with DejaVu Sans, loaded at run time from [`FONT`] (pure
//! Rust: `ab_glyph`, no fontconfig or freetype); the PNGs are encoded by
//! the `png` crate.

use std::collections::BTreeMap;
use std::error::Error;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use serde_json::Value;

/// The font of every text in the figures.
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

type Res<T> = Result<T, Box<dyn Error>>;

/// One benchmark of one run: criterion's median time per iteration (ns)
/// and the throughput declared per iteration (bytes or messages).
#[derive(Clone, Copy)]
struct Sample {
    ns: f64,
    per_iter: f64,
}

/// `(group, id)` → one sample per run that has it.
type Results = BTreeMap<(String, String), Vec<Sample>>;

/// A line of a figure: its legend, its colour, and its (x, y) points.
struct Line {
    label: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("plot: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no repository")?;
    let mut out = repo.join("docs/img");
    let mut runs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().ok_or("--out needs a directory")?.into(),
            "-h" | "--help" => {
                println!("usage: plot [--out DIR] RUNDIR...  (CRITERION_HOME of each run)");
                return Ok(());
            }
            _ => runs.push(PathBuf::from(a)),
        }
    }
    if runs.is_empty() {
        return Err("usage: plot [--out DIR] RUNDIR...  (CRITERION_HOME of each run)".into());
    }
    let font = std::fs::read(FONT).map_err(|e| {
        format!(
            "cannot read the font {FONT}: {e} (DejaVu Sans, for the text of the plots; \
             on Debian: apt-get install fonts-dejavu-core)"
        )
    })?;
    register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| format!("{FONT} is not a font that ab_glyph can read"))?;

    let results = load(&runs)?;
    std::fs::create_dir_all(&out)?;
    let nruns = runs.len();
    let note = if nruns == 1 {
        "1 run".to_string()
    } else {
        format!("median of {nruns} runs")
    };

    // Message size: MB/s of payload.
    let size_lines = [
        ("ours", "ours: Channel::send (no copy)", BLUE),
        (
            "ours_copy",
            "ours: Channel::push_copy + flush_all (queued, copied)",
            RGBColor(150, 0, 200),
        ),
        (
            "ours_shared",
            "ours: Channel::push of a shared Bytes + flush_all",
            RGBColor(0, 150, 0),
        ),
        ("raw", "raw: write / read, no framing", RED),
    ]
    .map(|(id, label, color)| Line {
        label,
        color,
        points: series(&results, "sweep_size_", id, |n, s| {
            (n.log2(), s.per_iter / s.ns * 1e9 / 1e6)
        }),
    });
    if size_lines.iter().all(|l| l.points.is_empty()) {
        return Err(
            "no sweep_size_* results in these directories (run: bench/run.sh sweep)".into(),
        );
    }
    print_table("size (bytes)", "MB/s", &size_lines, |x| x.exp2());
    let path = out.join("throughput-vs-size.png");
    draw(&path, (1000, 640), |root| {
        chart(
            root,
            &format!("One-way throughput against message size (stream, no fds; {note})"),
            "message size (payload bytes, log scale)",
            "throughput, MB/s of payload (log scale)",
            &size_lines,
            |x| fmt_size(x.exp2()),
            SeriesLabelPosition::LowerRight,
        )
    })?;
    println!("wrote {}", path.display());

    // Fds per message: messages/s and fds/s. The k are 0 and (about)
    // powers of two: x is the index of k among them, so about log2(k).
    let fd_ids = [
        ("ours", "ours: Channel::send_borrowed, the same k fds", BLUE),
        ("raw", "raw: sendmsg / recvmsg, the same k fds", RED),
        (
            "ours_owned",
            "ours: Channel::send, k dups (closed once sent)",
            RGBColor(0, 150, 0),
        ),
        (
            "raw_dup",
            "raw + dup / close of the k fds",
            RGBColor(230, 140, 0),
        ),
    ];
    let mut ks: Vec<f64> = results
        .keys()
        .filter_map(|(g, _)| g.strip_prefix("sweep_fds_")?.parse().ok())
        .collect();
    ks.sort_by(f64::total_cmp);
    ks.dedup();
    let x_of = |k: f64| ks.iter().position(|&v| v == k).unwrap_or(0) as f64;
    let msg_lines = fd_ids.map(|(id, label, color)| Line {
        label,
        color,
        points: series(&results, "sweep_fds_", id, |k, s| {
            (x_of(k), s.per_iter / s.ns * 1e9)
        }),
    });
    if msg_lines.iter().all(|l| l.points.is_empty()) {
        return Err("no sweep_fds_* results in these directories (run: bench/run.sh sweep)".into());
    }
    let fd_lines = fd_ids.map(|(id, label, color)| Line {
        label,
        color,
        points: series(&results, "sweep_fds_", id, |k, s| {
            (x_of(k), s.per_iter / s.ns * 1e9 * k)
        })
        .into_iter()
        .filter(|&(_, y)| y > 0.0)
        .collect(),
    });
    let k_of = |x: f64| ks.get(x.round() as usize).copied().unwrap_or(f64::NAN);
    print_table("fds per message", "messages/s", &msg_lines, k_of);
    print_table("fds per message", "fds/s", &fd_lines, k_of);
    let path = out.join("throughput-vs-fds.png");
    draw(&path, (1000, 1100), |root| {
        let (top, bottom) = root.split_vertically(550);
        let label = |x: f64| format!("{}", k_of(x));
        chart(
            &top,
            &format!("Messages/s against fds per message (64 B + k fds, stream; {note})"),
            "fds per message k (points evenly spaced: about log scale)",
            "messages/s (log scale)",
            &msg_lines,
            label,
            SeriesLabelPosition::UpperRight,
        )?;
        chart(
            &bottom,
            &format!("Fds/s against fds per message (64 B + k fds, stream; {note})"),
            "fds per message k (points evenly spaced: about log scale)",
            "fds/s (log scale)",
            &fd_lines,
            label,
            SeriesLabelPosition::LowerRight,
        )
    })?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Reads every `sweep_*` benchmark of every run.
fn load(runs: &[PathBuf]) -> Res<Results> {
    let mut res = Results::new();
    for run in runs {
        let groups = std::fs::read_dir(run).map_err(|e| format!("{}: {e}", run.display()))?;
        for group in groups {
            let group = group?;
            let gname = group.file_name().to_string_lossy().into_owned();
            if !gname.starts_with("sweep_") || !group.path().is_dir() {
                continue;
            }
            for id in std::fs::read_dir(group.path())? {
                let id = id?;
                let new = id.path().join("new");
                let (Ok(est), Ok(bm)) = (
                    std::fs::read_to_string(new.join("estimates.json")),
                    std::fs::read_to_string(new.join("benchmark.json")),
                ) else {
                    continue;
                };
                let est: Value = serde_json::from_str(&est)?;
                let bm: Value = serde_json::from_str(&bm)?;
                let ns = est["median"]["point_estimate"]
                    .as_f64()
                    .ok_or_else(|| format!("{}: no median", new.display()))?;
                let tp = &bm["throughput"];
                let per_iter = tp["Bytes"]
                    .as_f64()
                    .or_else(|| tp["Elements"].as_f64())
                    .ok_or_else(|| format!("{}: no throughput", new.display()))?;
                let key = (gname.clone(), id.file_name().to_string_lossy().into_owned());
                res.entry(key).or_default().push(Sample { ns, per_iter });
            }
        }
    }
    Ok(res)
}

/// The points of variant `id` in the groups `<prefix><n>`, sorted by n:
/// `f(n, sample)` of the median run (the median of the runs' times).
fn series(
    res: &Results,
    prefix: &str,
    id: &str,
    f: impl Fn(f64, Sample) -> (f64, f64),
) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, (f64, f64))> = res
        .iter()
        .filter(|((g, i), _)| i == id && g.starts_with(prefix))
        .filter_map(|((g, _), samples)| {
            let n: f64 = g[prefix.len()..].parse().ok()?;
            let mut ns: Vec<f64> = samples.iter().map(|s| s.ns).collect();
            ns.sort_by(f64::total_cmp);
            let m = ns.len() / 2;
            let ns = if ns.len() % 2 == 1 {
                ns[m]
            } else {
                (ns[m - 1] + ns[m]) / 2.0
            };
            let per_iter = samples[0].per_iter;
            Some((n, f(n, Sample { ns, per_iter })))
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts.into_iter().map(|(_, p)| p).collect()
}

/// Prints the points of `lines` as a table, x shown by `x_label`.
fn print_table(x_name: &str, unit: &str, lines: &[Line], x_label: impl Fn(f64) -> f64) {
    println!("\n{x_name} | {}", {
        let names: Vec<String> = lines
            .iter()
            .map(|l| format!("{} ({unit})", l.label))
            .collect();
        names.join(" | ")
    });
    let mut xs: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    for x in xs {
        let cells: Vec<String> = lines
            .iter()
            .map(|l| {
                l.points
                    .iter()
                    .find(|p| p.0 == x)
                    .map_or("-".into(), |p| fmt_num(p.1))
            })
            .collect();
        println!("{} | {}", x_label(x), cells.join(" | "));
    }
}

/// Draws into an RGB buffer of `size` pixels and writes it to `path` as a PNG.
fn draw(
    path: &Path,
    size: (u32, u32),
    f: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Res<()>,
) -> Res<()> {
    let mut buf = vec![255u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)?;
        f(&root)?;
        root.present()?;
    }
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut enc = png::Encoder::new(BufWriter::new(file), size.0, size.1);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Best);
    let mut w = enc.write_header()?;
    w.write_image_data(&buf)?;
    w.finish()?;
    Ok(())
}

/// One chart: x linear over the points' x (labelled by `x_label` where a
/// tick falls on a point), y logarithmic (drawn as log10 on a linear axis,
/// with grid lines at 1..9 × 10^n and labels at 1, 2, 5 × 10^n), a line
/// with markers per series, a legend at `legend`.
fn chart(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    lines: &[Line],
    x_label: impl Fn(f64) -> String,
    legend: SeriesLabelPosition,
) -> Res<()> {
    let pts = || lines.iter().flat_map(|l| l.points.iter().copied());
    let mut xs: Vec<f64> = pts().map(|p| p.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let (x0, x1) = (xs[0], xs[xs.len() - 1]);
    let pad = (x1 - x0).max(1.0) * 0.04;
    let (xa, xb) = (x0 - pad, x1 + pad);
    let (y0, y1) = pts().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (ya, yb) = ((y0 / 1.6).log10(), (y1 * 1.6).log10());
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(52)
        .y_label_area_size(84)
        .build_cartesian_2d(xa..xb, ya..yb)?;
    // x: ticks where plotters puts them, a label only at a point's x.
    // y: no mesh of plotters' own; the grid and labels are drawn below.
    let at_point = |x: f64| xs.iter().any(|&v| (v - x).abs() < 1e-6);
    c.configure_mesh()
        .x_labels(xs.len())
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(("sans-serif", 17))
        .label_style(("sans-serif", 15))
        .x_label_formatter(&|x| {
            if at_point(*x) {
                x_label(*x)
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|_| String::new())
        .disable_y_mesh()
        .set_tick_mark_size(LabelAreaPosition::Left, 0)
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    let (bx, by) = area.get_base_pixel();
    let label_style =
        TextStyle::from(("sans-serif", 15).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for e in (ya.floor() as i32)..=(yb.ceil() as i32) {
        for m in 1..=9 {
            let v = f64::from(m) * 10f64.powi(e);
            let lv = v.log10();
            if lv < ya || lv > yb {
                continue;
            }
            let shade = if m == 1 { 0.22 } else { 0.08 };
            c.draw_series(std::iter::once(PathElement::new(
                vec![(xa, lv), (xb, lv)],
                BLACK.mix(shade),
            )))?;
            if [1, 2, 5].contains(&m) {
                let (px, py) = c.backend_coord(&(xa, lv));
                area.draw(&Text::new(
                    fmt_num(v),
                    (px - bx - 8, py - by),
                    label_style.clone(),
                ))?;
            }
        }
    }
    for l in lines {
        let color = l.color;
        let points: Vec<(f64, f64)> = l.points.iter().map(|&(x, y)| (x, y.log10())).collect();
        c.draw_series(LineSeries::new(
            points.iter().copied(),
            color.stroke_width(2),
        ))?
        .label(l.label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2)));
        c.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    c.configure_series_labels()
        .position(legend)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

/// A byte count as 64 B, 4 KiB, 1 MiB.
fn fmt_size(n: f64) -> String {
    let n = n.round() as u64;
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// A number with 3 significant digits and a k / M / G suffix.
fn fmt_num(v: f64) -> String {
    let (d, s) = match v.abs() {
        a if a >= 1e9 => (1e9, "G"),
        a if a >= 1e6 => (1e6, "M"),
        a if a >= 1e3 => (1e3, "k"),
        _ => (1.0, ""),
    };
    let x = v / d;
    let digits = if x.abs() >= 100.0 {
        0
    } else if x.abs() >= 10.0 {
        1
    } else {
        2
    };
    let t = format!("{x:.digits$}");
    let t = if t.contains('.') {
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        t
    };
    format!("{t}{s}")
}
