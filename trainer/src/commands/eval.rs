//! `spotdiff eval`: scores every test image of every class with each fitted
//! backbone (and the per-pixel baseline if asked) through the core's class
//! evaluation and writes the paper's tables, the scatter plot, per-class
//! curves and segmentation panels.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use burn::backend::Flex;
use serde::Serialize;
use spotdiff::data::{Preprocess, PreprocessConfig, SizeLimit, Split};
use spotdiff::eval::{
    evaluate_class, load_preprocessed, Bootstrap, ClassEvaluation, ClassEvaluator, ClassImages,
    ClassSummary, Detector as Padim, Intervals, MapDetector, Metrics, PixelBaseline, Protocol,
    Uncertain, Versus,
};
use spotdiff::model::ResNetTrunk;
use spotdiff::padim::ScoreMap;
use spotdiff::report::{
    curves_figure, encode_npy, encode_png, panel_rows, scatter_plot, segmentation_panel,
    ClassResult, Provenance, ResultTable, Task,
};

use crate::cli::{Baseline, EvalArgs};
use crate::dataset::{open_data, CheckedData};
use crate::output::{image_bar, say, write_atomically};
use crate::stats_folder::{read_stats, stats_path, StatsFolder};

/// One column of the report.
enum Detector {
    Padim {
        name: String,
        /// The `--stats` backbone this folder is one seed of.
        group: String,
        dir: PathBuf,
        preprocess: Preprocess,
        trunk: Box<ResNetTrunk<Flex>>,
    },
    Pixel {
        preprocess: Preprocess,
    },
}

impl Detector {
    fn preprocess(&self) -> &Preprocess {
        match self {
            Detector::Padim { preprocess, .. } | Detector::Pixel { preprocess } => preprocess,
        }
    }

    fn name(&self) -> &str {
        match self {
            Detector::Padim { name, .. } => name,
            Detector::Pixel { .. } => "pixel",
        }
    }
}

pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    if args.stats.is_empty() && args.baseline.is_none() {
        anyhow::bail!(
            "nothing to evaluate: give --stats DIR (from `spotdiff padim fit`) or --baseline pixel"
        );
    }
    let device = Default::default();
    let mut detectors = Vec::new();
    let mut fitted_classes: Option<Vec<String>> = None;
    let mut fitted_splits = Vec::new();
    for group in &args.stats {
        for (seed, dir) in group.dirs.iter().enumerate() {
            let folder = StatsFolder::open(dir)?;
            let group_name = group.name.clone().unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| folder.manifest.backbone.to_string())
            });
            // A backbone's seeds are its columns `name#1`, `name#2`, ….
            let name = if group.dirs.len() > 1 {
                format!("{group_name}#{}", seed + 1)
            } else {
                group_name.clone()
            };
            if detectors.iter().any(|d: &Detector| d.name() == name) {
                anyhow::bail!("two --stats backbones are named `{name}`: the report names backbones by folder (DIR) or by NAME (NAME=DIR,...), so rename one");
            }
            let preprocess = folder.preprocess()?;
            let trunk = Box::new(folder.load_backbone::<Flex>(&device)?.into_trunk());
            fitted_classes.get_or_insert_with(|| folder.manifest.classes.clone());
            fitted_splits.push((dir.clone(), folder.manifest.split.clone()));
            detectors.push(Detector::Padim {
                name,
                group: group_name,
                dir: dir.clone(),
                preprocess,
                trunk,
            });
        }
    }
    if let Some(Baseline::Pixel) = args.baseline {
        let preprocess = match detectors.first() {
            Some(Detector::Padim { preprocess, .. }) => *preprocess,
            _ => PreprocessConfig::padim(args.size).check()?,
        };
        detectors.push(Detector::Pixel { preprocess });
    }

    let data = open_data(&args.data)?;
    for (dir, split) in &fitted_splits {
        data.refuse_other_split(dir, split)?;
    }
    let classes = match (&args.class, fitted_classes) {
        (Some(class), _) => data.classes(Some(class))?,
        (None, Some(fitted)) => {
            for class in &fitted {
                data.classes(Some(class))?;
            }
            fitted
        }
        (None, None) => data.classes(None)?,
    };
    // Every statistics file must be there before the first image is scored.
    for detector in &detectors {
        if let Detector::Padim { dir, .. } = detector {
            for class in &classes {
                let path = stats_path(dir, class);
                if !path.is_file() {
                    anyhow::bail!(
                        "{} is missing: fit class `{class}` with `spotdiff padim fit --class {class} --out {}`",
                        path.display(),
                        dir.display()
                    );
                }
            }
        }
    }
    clear_previous_report(&args.out)?;
    std::fs::create_dir_all(args.out.join("curves"))
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let bootstrap = (args.bootstrap > 0).then_some(Bootstrap {
        resamples: args.bootstrap as usize,
        seed: args.bootstrap_seed,
    });
    let mut results = Vec::new();
    let mut details = Vec::new();
    // Per detector, its bootstrap on each class (or why there is none).
    let mut uncertain: Vec<Vec<Result<Uncertain, String>>> = vec![Vec::new(); detectors.len()];
    let mut points: Vec<Vec<Metrics<f64>>> = vec![Vec::new(); detectors.len()];
    for class in &classes {
        let tests: Vec<(String, bool)> = data
            .samples(class, Split::Test)
            .iter()
            .map(|s| (s.image.clone(), s.label.is_anomaly()))
            .collect();
        let mut per_class = Vec::new();
        let mut panel_maps = Vec::new();
        let mut first: Option<(String, Uncertain)> = None;
        for (column, detector) in detectors.iter().enumerate() {
            let (ClassEvaluation { metrics, kept_maps }, scoring) =
                evaluate(detector, &data, class, args, bootstrap, &device).with_context(|| {
                    format!("cannot evaluate `{}` on class `{class}`", detector.name())
                })?;
            say!(
                "{class} / {}: classification AU-ROC {:.4} AU-PR {:.4}; segmentation AU-ROC {:.4} AU-PR {:.4}; AU-PRO {:.4}; {} images scored and measured in {:.2} s ({:.1} images/s)",
                detector.name(),
                metrics.classification.auroc,
                metrics.classification.aupr,
                metrics.segmentation.auroc,
                metrics.segmentation.aupr,
                metrics.pro.au_pro,
                tests.len(),
                scoring.as_secs_f64(),
                tests.len() as f64 / scoring.as_secs_f64().max(1e-9)
            );
            let shown = panel_rows(tests.iter().map(|&(_, anomalous)| anomalous));
            let kept_maps = if args.save_maps {
                write_maps(&args.out, detector.name(), &tests, &kept_maps)?;
                shown.iter().map(|&i| kept_maps[i].clone()).collect()
            } else {
                kept_maps
            };
            results.push(ClassResult::new(class, detector.name(), &metrics));
            let mut summary = ClassSummary::new(class, detector.name(), &metrics, &tests);
            let point = Metrics::of(&metrics);
            if let Some(resampled) = metrics.resampled.clone() {
                let this = resampled
                    .map(|resampled| Uncertain {
                        point: point.clone(),
                        resampled,
                    })
                    .map_err(|e| e.to_string());
                if let Err(reason) = &this {
                    say!("{class} / {}: no intervals: {reason}", detector.name());
                }
                summary.bootstrap = Some(Intervals::of(&this));
                match (&first, &this) {
                    (Some((name, base)), Ok(this)) => {
                        summary.versus_first = Some(Versus {
                            backbone: name.clone(),
                            difference: this.minus(base),
                        })
                    }
                    (None, Ok(this)) if column == 0 => {
                        first = Some((detector.name().to_string(), this.clone()))
                    }
                    _ => {}
                }
                uncertain[column].push(this);
            }
            points[column].push(point);
            details.push(summary);
            per_class.push((detector.name().to_string(), metrics));
            panel_maps.push(kept_maps);
        }
        write_atomically(
            &args.out.join("curves").join(format!("{class}.svg")),
            curves_figure(class, &per_class).as_bytes(),
        )?;
        write_panels(&args.out, &data, class, &detectors, &panel_maps)?;
    }
    let means = mean_summaries(&detectors, &classes, &points, &uncertain);
    let report = Details {
        data: args.data.data.display().to_string(),
        protocol: args.protocol,
        bootstrap,
        classes: details,
        seeds: seed_summaries(&detectors, &classes, &points),
        mean: means,
    };
    write_report(&args.out, &results, &report, args.bootstrap)
}

/// details.json: every class and detector, the means over classes and, for
/// backbones given with several seeds, the statistics over seeds.
#[derive(Serialize)]
struct Details {
    /// The data set's root, as given.
    data: String,
    protocol: Protocol,
    /// The resamples and their seed; null without intervals.
    bootstrap: Option<Bootstrap>,
    classes: Vec<ClassSummary>,
    mean: Vec<MeanSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    seeds: Vec<SeedSummary>,
}

/// One detector's mean over classes, with its interval and its paired
/// difference to the first detector.
#[derive(Serialize)]
struct MeanSummary {
    backbone: String,
    #[serde(flatten)]
    point: Metrics<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bootstrap: Option<Intervals>,
    #[serde(skip_serializing_if = "Option::is_none")]
    versus_first: Option<Versus>,
}

/// Each detector's mean over classes; its interval needs every class's.
fn mean_summaries(
    detectors: &[Detector],
    classes: &[String],
    points: &[Vec<Metrics<f64>>],
    uncertain: &[Vec<Result<Uncertain, String>>],
) -> Vec<MeanSummary> {
    let bootstraps: Vec<Option<Result<Uncertain, String>>> = uncertain
        .iter()
        .map(|per_class| {
            let mut resampled = Vec::new();
            for (class, result) in classes.iter().zip(per_class) {
                match result {
                    Ok(u) => resampled.push(u),
                    Err(reason) => return Some(Err(format!("class `{class}`: {reason}"))),
                }
            }
            Uncertain::mean(&resampled).map(Ok)
        })
        .collect();
    detectors
        .iter()
        .enumerate()
        .map(|(column, detector)| MeanSummary {
            backbone: detector.name().to_string(),
            point: mean_of(&points[column]),
            bootstrap: bootstraps[column].as_ref().map(Intervals::of),
            versus_first: match (&bootstraps[column], &bootstraps[0]) {
                (Some(Ok(this)), Some(Ok(first))) if column > 0 => Some(Versus {
                    backbone: detectors[0].name().to_string(),
                    difference: this.minus(first),
                }),
                _ => None,
            },
        })
        .collect()
}

/// The unweighted mean of each metric.
fn mean_of(values: &[Metrics<f64>]) -> Metrics<f64> {
    let count = values.len() as f64;
    let mut sum = values[0].clone();
    for value in &values[1..] {
        sum = sum.zip(value, |a, b| a + b);
    }
    sum.map(|total| total / count)
}

/// A metric's mean and sample standard deviation over seeds.
#[derive(Serialize)]
struct OverSeeds {
    mean: f64,
    sd: f64,
}

impl OverSeeds {
    fn of(values: &[f64]) -> Self {
        let count = values.len() as f64;
        let mean = values.iter().sum::<f64>() / count;
        let squares = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
        Self {
            mean,
            sd: (squares / (count - 1.0)).sqrt(),
        }
    }
}

/// One backbone fitted with several seeds: per class and for the mean over
/// classes, each metric's mean ± standard deviation over its seeds, and the
/// same of its difference to the first such backbone, seed k against seed k.
#[derive(Serialize)]
struct SeedSummary {
    backbone: String,
    seeds: usize,
    /// The classes in report order, then `mean`.
    rows: Vec<SeedRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    versus_first: Option<SeedVersus>,
}

#[derive(Serialize)]
struct SeedRow {
    class: String,
    #[serde(flatten)]
    metrics: Metrics<OverSeeds>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum SeedVersus {
    Paired {
        backbone: String,
        rows: Vec<SeedRow>,
    },
    Skipped {
        backbone: String,
        skipped: String,
    },
}

fn seed_summaries(
    detectors: &[Detector],
    classes: &[String],
    points: &[Vec<Metrics<f64>>],
) -> Vec<SeedSummary> {
    // Each group's seeds (columns), in the order given.
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (column, detector) in detectors.iter().enumerate() {
        if let Detector::Padim { group, .. } = detector {
            match groups.iter_mut().find(|(name, _)| name == group) {
                Some((_, columns)) => columns.push(column),
                None => groups.push((group, vec![column])),
            }
        }
    }
    groups.retain(|(_, columns)| columns.len() > 1);
    // Per seed: each class's metrics, then their mean.
    let rows_of = |column: usize| -> Vec<Metrics<f64>> {
        let mut rows = points[column].clone();
        rows.push(mean_of(&points[column]));
        rows
    };
    let names: Vec<String> = classes.iter().cloned().chain(["mean".into()]).collect();
    let over_seeds = |per_seed: Vec<Vec<Metrics<f64>>>| -> Vec<SeedRow> {
        names
            .iter()
            .enumerate()
            .map(|(row, class)| {
                let values: Vec<&Metrics<f64>> = per_seed.iter().map(|rows| &rows[row]).collect();
                let mut collected = values[0].map(|&v| vec![v]);
                for value in &values[1..] {
                    collected =
                        collected.zip(*value, |list, &v| list.iter().copied().chain([v]).collect());
                }
                SeedRow {
                    class: class.clone(),
                    metrics: collected.map(|list| OverSeeds::of(list)),
                }
            })
            .collect()
    };
    let first = groups
        .first()
        .map(|(name, columns)| (name.to_string(), columns.clone()));
    groups
        .iter()
        .enumerate()
        .map(|(index, (name, columns))| SeedSummary {
            backbone: name.to_string(),
            seeds: columns.len(),
            rows: over_seeds(columns.iter().map(|&c| rows_of(c)).collect()),
            versus_first: first
                .as_ref()
                .filter(|_| index > 0)
                .map(|(base, base_columns)| {
                    if base_columns.len() != columns.len() {
                        return SeedVersus::Skipped {
                            backbone: base.clone(),
                            skipped: format!(
                            "`{name}` has {} seeds and `{base}` {}: seeds are paired one to one",
                            columns.len(),
                            base_columns.len()
                        ),
                        };
                    }
                    let differences = columns
                        .iter()
                        .zip(base_columns)
                        .map(|(&c, &b)| {
                            rows_of(c)
                                .iter()
                                .zip(rows_of(b))
                                .map(|(this, base)| this.zip(&base, |x, y| x - y))
                                .collect()
                        })
                        .collect();
                    SeedVersus::Paired {
                        backbone: base.clone(),
                        rows: over_seeds(differences),
                    }
                }),
        })
        .collect()
}

/// One detector's evaluation of one class's test images, keeping the anomaly
/// maps of the images the panels show; the pixel baseline is fitted on the class's
/// training normals first.
fn evaluate(
    detector: &Detector,
    data: &CheckedData,
    class: &str,
    args: &EvalArgs,
    bootstrap: Option<Bootstrap>,
    device: &burn::tensor::Device<Flex>,
) -> anyhow::Result<(ClassEvaluation, Duration)> {
    let tests = data.samples(class, Split::Test);
    let test_images = ClassImages::new(&tests, &data.source, args.data.batch);
    // Every map when they are all saved, else the panel's.
    let shown: Vec<usize> = if args.save_maps {
        (0..tests.len()).collect()
    } else {
        panel_rows(tests.iter().map(|s| s.label.is_anomaly()))
    };
    let evaluator = || match bootstrap {
        Some(bootstrap) => ClassEvaluator::with_bootstrap(class, bootstrap),
        None => ClassEvaluator::new(),
    };
    let bar = image_bar(tests.len(), format!("{class} {}", detector.name()));
    let mut progress = |done: usize| bar.inc(done as u64);
    // The test images read, scored and measured, as a scoring loop is timed
    // (the detector's set-up is not in it).
    let mut timed = |detector: &dyn MapDetector| {
        let started = Instant::now();
        let evaluation = evaluate_class(
            detector,
            &test_images,
            evaluator(),
            args.protocol,
            &shown,
            &mut progress,
        )?;
        anyhow::Ok((evaluation, started.elapsed()))
    };
    let evaluation = match detector {
        Detector::Padim {
            dir,
            preprocess,
            trunk,
            ..
        } => {
            let padim = Padim::new(
                (**trunk).clone(),
                read_stats(dir, class)?,
                *preprocess,
                *device,
            )
            .with_context(|| {
                format!(
                    "{} does not fit its manifest",
                    stats_path(dir, class).display()
                )
            })?;
            timed(&padim)?
        }
        Detector::Pixel { preprocess } => {
            let normals = data.training_normals(class);
            let normals = ClassImages::new(&normals, &data.source, args.data.batch);
            let baseline = PixelBaseline::fit(&normals, *preprocess, &mut |_| {})?;
            timed(&baseline)?
        }
    };
    bar.finish_and_clear();
    Ok(evaluation)
}

/// Writes each test image's raw anomaly map as
/// `maps/<detector>/<image path with .npy>` (f32, [`encode_npy`]).
fn write_maps(
    out: &Path,
    detector: &str,
    tests: &[(String, bool)],
    maps: &[ScoreMap],
) -> anyhow::Result<()> {
    for ((file, _), map) in tests.iter().zip(maps) {
        let path = out
            .join("maps")
            .join(detector)
            .join(file)
            .with_extension("npy");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let size = map.size();
        write_atomically(&path, &encode_npy(map.values(), size.height, size.width))?;
    }
    Ok(())
}

/// The paper's Fig. 12 for one class (`report::segmentation_panel`), when
/// every detector scores the same input size.
fn write_panels(
    out: &Path,
    data: &CheckedData,
    class: &str,
    detectors: &[Detector],
    maps: &[Vec<ScoreMap>],
) -> anyhow::Result<()> {
    let Some(preprocess) = detectors.first().map(Detector::preprocess) else {
        return Ok(());
    };
    let size = preprocess.output_size() as usize;
    if let Some(other) = detectors
        .iter()
        .find(|d| d.preprocess().output_size() as usize != size)
    {
        say!(
            "{class}: no segmentation panels: `{}` and `{}` score different input sizes",
            detectors[0].name(),
            other.name()
        );
        return Ok(());
    }
    let tests = data.samples(class, Split::Test);
    let mut images = Vec::new();
    let mut masks = Vec::new();
    for index in panel_rows(tests.iter().map(|s| s.label.is_anomaly())) {
        let item = load_preprocessed(
            tests[index],
            &data.source,
            preprocess,
            &SizeLimit::default(),
        )?;
        images.push(preprocess.to_rgb8(&item.image));
        masks.push(item.mask);
    }
    if images.is_empty() {
        return Ok(());
    }
    let masks: Vec<_> = masks.iter().collect();
    let panel = segmentation_panel(&images, &masks, maps)?;
    std::fs::create_dir_all(out.join("panels"))
        .with_context(|| format!("cannot create {}", out.join("panels").display()))?;
    let columns = ["image", "ground truth"]
        .into_iter()
        .chain(detectors.iter().map(Detector::name))
        .collect::<Vec<_>>()
        .join(", ");
    write_atomically(
        &out.join("panels").join(format!("{class}.png")),
        &encode_png(&panel)?,
    )?;
    say!("{class}: segmentation panels, columns {columns}");
    Ok(())
}

/// Every file and folder a report writes into its folder ([`write_report`],
/// `write_panels`, `write_maps`, the curves).
const REPORT_ENTRIES: [&str; 12] = [
    "classification.md",
    "classification.csv",
    "classification.json",
    "segmentation.md",
    "segmentation.csv",
    "segmentation.json",
    "seeds.md",
    "scatter.svg",
    "details.json",
    "curves",
    "panels",
    "maps",
];

/// Removes a previous report's files from `out`, so that its panels, curves
/// and maps of classes or backbones this run leaves out do not sit beside
/// the new ones as if they were part of it. Other files are left alone.
fn clear_previous_report(out: &Path) -> anyhow::Result<()> {
    for entry in REPORT_ENTRIES {
        let path = out.join(entry);
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(error).with_context(|| {
                    format!("cannot remove {} of the previous report", path.display())
                })
            }
            _ => {}
        }
    }
    Ok(())
}

fn write_report(
    out: &Path,
    results: &[ClassResult],
    details: &Details,
    resamples: u32,
) -> anyhow::Result<()> {
    for task in [Task::Classification, Task::Segmentation] {
        let provenance = Provenance {
            data: details.data.clone(),
            protocol: details.protocol,
            resamples,
        };
        let mut table = ResultTable::new(results, task, provenance)?;
        for (mean, summary) in table.mean.iter_mut().zip(&details.mean) {
            if let Some(Intervals::Estimated(intervals)) = &summary.bootstrap {
                let task = match task {
                    Task::Classification => &intervals.classification,
                    Task::Segmentation => &intervals.segmentation,
                };
                mean.ci95 = Some([task.aupr.ci95, task.auroc.ci95]);
            }
        }
        let stem = match task {
            Task::Classification => "classification",
            Task::Segmentation => "segmentation",
        };
        write_atomically(
            &out.join(format!("{stem}.md")),
            table.to_markdown().as_bytes(),
        )?;
        write_atomically(&out.join(format!("{stem}.csv")), table.to_csv().as_bytes())?;
        write_atomically(
            &out.join(format!("{stem}.json")),
            serde_json::to_string_pretty(&table)?.as_bytes(),
        )?;
        say!("{}", table.to_markdown());
    }
    if !details.seeds.is_empty() {
        let text = seeds_markdown(details);
        write_atomically(&out.join("seeds.md"), text.as_bytes())?;
        say!("{text}");
    }
    write_atomically(
        &out.join("scatter.svg"),
        scatter_plot("classification vs segmentation", results).as_bytes(),
    )?;
    write_atomically(
        &out.join("details.json"),
        serde_json::to_string_pretty(details)?.as_bytes(),
    )?;
    say!("wrote the report to {}", out.display());
    Ok(())
}

/// seeds.md: per class and for the mean, each multi-seed backbone's
/// classification and segmentation AU-ROC as mean ± standard deviation over
/// seeds, and its difference to the first such backbone (seed against seed).
fn seeds_markdown(details: &Details) -> String {
    let mut text = format!(
        "AU-ROC over seeds on `{}`, segmentation protocol {}: mean ± standard deviation, percent.\n\n| class |",
        details.data,
        details.protocol.name()
    );
    let mut rule = String::from("|---|");
    let mut columns: Vec<(String, &Vec<SeedRow>)> = Vec::new();
    for seeds in &details.seeds {
        columns.push((
            format!("{} ({} seeds)", seeds.backbone, seeds.seeds),
            &seeds.rows,
        ));
        if let Some(SeedVersus::Paired { backbone, rows }) = &seeds.versus_first {
            columns.push((format!("{} − {backbone}", seeds.backbone), rows));
        }
    }
    for (name, _) in &columns {
        text.push_str(&format!(" {name} classification | {name} segmentation |"));
        rule.push_str("---:|---:|");
    }
    text.push_str(&format!("\n{rule}\n"));
    for row in 0..details.seeds[0].rows.len() {
        text.push_str(&format!("| {} |", details.seeds[0].rows[row].class));
        for (_, rows) in &columns {
            let m = &rows[row].metrics;
            for value in [&m.classification.auroc, &m.segmentation.auroc] {
                text.push_str(&format!(
                    " {:.1} ± {:.1} |",
                    100.0 * value.mean,
                    100.0 * value.sd
                ));
            }
        }
        text.push('\n');
    }
    text
}
