//! Time to write the default demo data set (6 classes, 256 px, 200 normal and
//! 60 anomalous images each) with `spotdiff synth`'s generator.
//!
//! cargo bench --bench synth -- OUT_DIR

use std::time::Instant;

use spotdiff::data::synth::SynthConfig;
use spotdiff::data::DirSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .skip(1)
        .find(|a| a != "--bench")
        .ok_or("usage: synth OUT_DIR")?;
    if std::path::Path::new(&out).exists() {
        return Err(format!("{out} exists; give a new folder").into());
    }
    let synth = SynthConfig::default().check()?;
    let started = Instant::now();
    let summary = synth.generate(&mut DirSource::new(&out))?;
    println!(
        "{} images, {} files in {:.1} s",
        summary.images,
        summary.files,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
