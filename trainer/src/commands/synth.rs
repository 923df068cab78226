use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use spotdiff::data::synth::{contact_sheet, SynthClass, SynthConfig};
use spotdiff::data::{
    DirSource, FolderSplit, Layout, Reader, Sink, SizeLimit, SourceError, VisaSplit,
};

use crate::cli::SynthArgs;
use crate::output::{say, write_atomically};

/// Tiles per contact-sheet row, rows (one of normals, the rest anomalies), tile side.
const SHEET: (u32, u32, u32) = (6, 3, 128);

/// A sink that advances a progress bar with every file written.
struct ProgressSink {
    inner: DirSource,
    bar: ProgressBar,
}

impl Sink for ProgressSink {
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), SourceError> {
        self.inner.write(path, bytes)?;
        self.bar.inc(1);
        Ok(())
    }
}

pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let layout = args.layout;
    let classes = if args.classes.is_empty() {
        SynthClass::ALL.to_vec()
    } else {
        args.classes.clone()
    };
    let config = SynthConfig {
        seed: args.seed,
        size: args.size,
        normals: args.normals,
        anomalies: args.anomalies,
        classes,
        layout,
        jpeg_quality: args.jpeg_quality,
    };
    let synth = config.clone().check()?;
    refuse_non_empty(&args.out)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    // Images, one mask per anomaly, and the three split CSVs (VisA only).
    let per_class = u64::from(args.normals) + 2 * u64::from(args.anomalies);
    let csvs = if layout == Layout::Visa { 3 } else { 0 };
    let bar = ProgressBar::new(per_class * config.classes.len() as u64 + csvs);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} files, {per_sec}, ETA {eta}")
            .expect("the progress template is valid"),
    );
    let mut sink = ProgressSink {
        inner: DirSource::new(&args.out),
        bar,
    };
    let summary = synth.generate(&mut sink)?;
    sink.bar.finish_and_clear();
    let manifest = serde_json::to_string_pretty(&serde_json::json!({
        "generator": format!("spotdiff {}", env!("CARGO_PKG_VERSION")),
        "config": config,
    }))?;
    write_atomically(&args.out.join("synth.json"), manifest.as_bytes())?;
    say!(
        "wrote {} images ({} files) of {} classes to {}",
        summary.images,
        summary.files,
        config.classes.len(),
        args.out.display()
    );
    let defects: Vec<String> = summary
        .defects
        .iter()
        .map(|(kind, n)| format!("{kind:?} {n}"))
        .collect();
    say!("defects painted: {}", defects.join(", "));
    if args.contact_sheet {
        write_contact_sheets(&args.out, &config)?;
    }
    Ok(())
}

/// Nothing already written is lost: generating into a folder with files is refused.
fn refuse_non_empty(dir: &Path) -> anyhow::Result<()> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", dir.display())),
    };
    if entries.next().is_some() {
        anyhow::bail!(
            "{} already exists and is not empty; choose a new folder so that nothing there is overwritten",
            dir.display()
        );
    }
    Ok(())
}

fn write_contact_sheets(root: &Path, config: &SynthConfig) -> anyhow::Result<()> {
    let source = DirSource::new(root);
    let reader = match config.layout {
        Layout::Visa => Reader::Visa(VisaSplit::OneClass),
        Layout::Mvtec => Reader::Mvtec,
        Layout::Folder => Reader::Folder(FolderSplit {
            test_share: FolderSplit::DEFAULT_TEST_SHARE,
            seed: 0,
        }),
    };
    let dataset = reader.read(&source)?;
    let folder = root.join("contact_sheets");
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let (columns, rows, tile) = SHEET;
    for class in &config.classes {
        let png = contact_sheet(
            &source,
            &dataset,
            class.name(),
            columns,
            rows,
            tile,
            &SizeLimit::default(),
        )?;
        write_atomically(&folder.join(format!("{}.png", class.name())), &png)?;
    }
    say!("contact sheets: {}", folder.display());
    Ok(())
}
