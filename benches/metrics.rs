//! Exact AU-ROC + AU-PR + max-F1 on many tied random scores, streamed from
//! disk in chunks as pixel maps would be. `just bench-metrics` runs it beside
//! scikit-learn on the same files (benches/metrics_sklearn.py).
//!
//! cargo bench --bench metrics -- generate N PREFIX   writes PREFIX.scores (f32 LE), PREFIX.labels (u8)
//! cargo bench --bench metrics -- run PREFIX          prints one JSON object

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::time::Instant;

use spotdiff::metrics::{binary_metrics, ScoreSet};

const CHUNK: usize = 1 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.as_slice() {
        [command, count, prefix] if command == "generate" => generate(count.parse()?, prefix),
        [command, prefix] if command == "run" => run(prefix),
        _ => Err("usage: metrics generate N PREFIX | metrics run PREFIX".into()),
    }
}

/// SplitMix64: a seeded stream, the same on every machine.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Scores on a grid of 2^16 levels in [0, 1) (so most scores are tied), with
/// anomalies more likely at high scores: about 7% anomalous, AU-ROC about 0.7.
fn generate(count: usize, prefix: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut scores = BufWriter::new(File::create(format!("{prefix}.scores"))?);
    let mut labels = BufWriter::new(File::create(format!("{prefix}.labels"))?);
    let mut state = 20_221_023u64;
    for _ in 0..count {
        let level = (splitmix(&mut state) >> 48) as f32 / 65_536.0;
        let uniform = (splitmix(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
        let anomalous = uniform < 0.01 + 0.12 * f64::from(level);
        scores.write_all(&level.to_le_bytes())?;
        labels.write_all(&[u8::from(anomalous)])?;
    }
    scores.flush()?;
    labels.flush()?;
    Ok(())
}

fn run(prefix: &str) -> Result<(), Box<dyn std::error::Error>> {
    let count = (std::fs::metadata(format!("{prefix}.labels"))?.len()) as usize;
    let mut scores_file = BufReader::new(File::open(format!("{prefix}.scores"))?);
    let mut labels_file = BufReader::new(File::open(format!("{prefix}.labels"))?);
    let mut score_bytes = vec![0u8; CHUNK * 4];
    let mut label_bytes = vec![0u8; CHUNK];
    let mut scores = vec![0f32; CHUNK];
    let mut labels = vec![false; CHUNK];
    let mut read_seconds = 0.0;
    let mut push_seconds = 0.0;

    let mut set = ScoreSet::with_capacity(count);
    let mut remaining = count;
    while remaining > 0 {
        let n = remaining.min(CHUNK);
        let started = Instant::now();
        scores_file.read_exact(&mut score_bytes[..n * 4])?;
        labels_file.read_exact(&mut label_bytes[..n])?;
        for (score, bytes) in scores[..n].iter_mut().zip(score_bytes.chunks_exact(4)) {
            *score = f32::from_le_bytes(bytes.try_into()?);
        }
        for (label, &byte) in labels[..n].iter_mut().zip(&label_bytes[..n]) {
            *label = byte == 1;
        }
        read_seconds += started.elapsed().as_secs_f64();
        let started = Instant::now();
        set.extend(&scores[..n], &labels[..n])?;
        push_seconds += started.elapsed().as_secs_f64();
        remaining -= n;
    }
    let started = Instant::now();
    let ranking = set.rank()?;
    let rank_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let m = binary_metrics(&ranking)?;
    let walk_seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"n\":{count},\"read_seconds\":{read_seconds:.4},\"seconds\":{:.4},\"push_seconds\":{push_seconds:.4},\"rank_seconds\":{rank_seconds:.4},\"walk_seconds\":{walk_seconds:.4},\"peak_rss_mib\":{:.1},\"auroc\":{},\"aupr\":{},\"max_f1\":{}}}",
        push_seconds + rank_seconds + walk_seconds,
        peak_rss_mib(),
        m.auroc,
        m.aupr,
        m.max_f1
    );
    Ok(())
}

/// The process's peak resident memory (Linux `VmHWM`), or NaN elsewhere.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib / 1024.0)
        })
        .unwrap_or(f64::NAN)
}
