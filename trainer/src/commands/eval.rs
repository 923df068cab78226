//! `spotdiff eval`: scores every test image of every class with each fitted
//! backbone (and the per-pixel baseline if asked) through the core's class
//! evaluation and writes the paper's tables, the scatter plot, per-class
//! curves and segmentation panels.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::backend::Flex;
use spotdiff::data::{Preprocess, PreprocessConfig, SizeLimit, Split};
use spotdiff::eval::{
    evaluate_class, load_preprocessed, ClassEvaluation, ClassEvaluator, ClassImages, ClassSummary,
    Detector as Padim, PixelBaseline,
};
use spotdiff::model::ResNetTrunk;
use spotdiff::padim::ScoreMap;
use spotdiff::report::{
    curves_figure, encode_png, panel_rows, scatter_plot, segmentation_panel, ClassResult,
    ResultTable, Task,
};

use crate::cli::{Baseline, EvalArgs};
use crate::dataset::{open_checked_visa, CheckedVisa};
use crate::output::{image_bar, say, write_atomically};
use crate::stats_folder::{read_stats, stats_path, StatsFolder};

/// One column of the report.
enum Detector {
    Padim {
        name: String,
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
    for dir in &args.stats {
        let folder = StatsFolder::open(dir)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| folder.manifest.backbone.to_string());
        if detectors.iter().any(|d: &Detector| d.name() == name) {
            anyhow::bail!("two --stats folders are named `{name}`: the report names backbones by folder, so rename one");
        }
        let preprocess = folder.preprocess()?;
        let trunk = Box::new(folder.load_backbone::<Flex>(&device)?.into_trunk());
        fitted_classes.get_or_insert_with(|| folder.manifest.classes.clone());
        detectors.push(Detector::Padim {
            name,
            dir: dir.clone(),
            preprocess,
            trunk,
        });
    }
    if let Some(Baseline::Pixel) = args.baseline {
        let preprocess = match detectors.first() {
            Some(Detector::Padim { preprocess, .. }) => *preprocess,
            _ => PreprocessConfig::padim(args.size).check()?,
        };
        detectors.push(Detector::Pixel { preprocess });
    }

    let data = open_checked_visa(&args.data.data, args.data.split)?;
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
    std::fs::create_dir_all(args.out.join("curves"))
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let mut results = Vec::new();
    let mut details = Vec::new();
    for class in &classes {
        let mut per_class = Vec::new();
        let mut panel_maps = Vec::new();
        for detector in &detectors {
            let ClassEvaluation { metrics, kept_maps } =
                evaluate(detector, &data, class, args, &device).with_context(|| {
                    format!("cannot evaluate `{}` on class `{class}`", detector.name())
                })?;
            say!(
                "{class} / {}: classification AU-ROC {:.4} AU-PR {:.4}; segmentation AU-ROC {:.4} AU-PR {:.4}; AU-PRO {:.4}",
                detector.name(),
                metrics.classification.auroc,
                metrics.classification.aupr,
                metrics.segmentation.auroc,
                metrics.segmentation.aupr,
                metrics.pro.au_pro
            );
            results.push(ClassResult::new(class, detector.name(), &metrics));
            details.push(ClassSummary::new(class, detector.name(), &metrics));
            per_class.push((detector.name().to_string(), metrics));
            panel_maps.push(kept_maps);
        }
        write_atomically(
            &args.out.join("curves").join(format!("{class}.svg")),
            curves_figure(class, &per_class).as_bytes(),
        )?;
        write_panels(&args.out, &data, class, &detectors, &panel_maps)?;
    }
    write_report(&args.out, &results, &details)
}

/// One detector's evaluation of one class's test images, keeping the anomaly
/// maps of the images the panels show; the pixel baseline is fitted on the class's
/// training normals first.
fn evaluate(
    detector: &Detector,
    data: &CheckedVisa,
    class: &str,
    args: &EvalArgs,
    device: &burn::tensor::Device<Flex>,
) -> anyhow::Result<ClassEvaluation> {
    let tests = data.samples(class, Split::Test);
    let test_images = ClassImages::new(&tests, &data.source, args.data.batch);
    let shown = panel_rows(tests.iter().map(|s| s.label.is_anomaly()));
    let bar = image_bar(tests.len(), format!("{class} {}", detector.name()));
    let mut progress = |done: usize| bar.inc(done as u64);
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
            evaluate_class(
                &padim,
                &test_images,
                ClassEvaluator::new(),
                args.protocol,
                &shown,
                &mut progress,
            )?
        }
        Detector::Pixel { preprocess } => {
            let normals = data.training_normals(class);
            let normals = ClassImages::new(&normals, &data.source, args.data.batch);
            let baseline = PixelBaseline::fit(&normals, *preprocess, &mut |_| {})?;
            evaluate_class(
                &baseline,
                &test_images,
                ClassEvaluator::new(),
                args.protocol,
                &shown,
                &mut progress,
            )?
        }
    };
    bar.finish_and_clear();
    Ok(evaluation)
}

/// The paper's Fig. 12 for one class (`report::segmentation_panel`), when
/// every detector scores the same input size.
fn write_panels(
    out: &Path,
    data: &CheckedVisa,
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

fn write_report(
    out: &Path,
    results: &[ClassResult],
    details: &[ClassSummary],
) -> anyhow::Result<()> {
    for task in [Task::Classification, Task::Segmentation] {
        let table = ResultTable::new(results, task)?;
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
