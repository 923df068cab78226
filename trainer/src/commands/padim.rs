//! `spotdiff padim fit`: each class's training normals through the core's
//! PaDiM fit, one statistics file per class, the backbone it used and a
//! manifest that says how to repeat it.

use anyhow::Context;
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use spotdiff::data::PreprocessConfig;
use spotdiff::eval::{ClassImages, PadimFit};
use spotdiff::model::Backbone;
use spotdiff::padim::PadimConfig;

use crate::cli::PadimFitArgs;
use crate::dataset::open_data;
use crate::output::{image_bar, say, write_atomically};
use crate::stats_folder::{
    stats_path, Manifest, StatsFolder, BACKBONE_FILE, MANIFEST, MANIFEST_VERSION,
};
use crate::weights_file::WeightsFile;

pub fn fit(args: &PadimFitArgs) -> anyhow::Result<()> {
    // Every input is checked before the first image is read.
    let weights = args.weights.as_deref().map(WeightsFile::open).transpose()?;
    let (backbone, width) = match &weights {
        Some(file) => file.resolve(args.backbone, args.width)?,
        None => {
            eprintln!(
                "warning: no --weights: the backbone is randomly initialised (--seed {}); pass --weights FILE for trained features",
                args.seed
            );
            (
                args.backbone.unwrap_or(Backbone::Resnet18),
                args.width.unwrap_or(1.0),
            )
        }
    };
    let config = backbone.config(width);
    let tapped: usize = config.feature_channels()?[..3].iter().sum();
    let mut preprocess = PreprocessConfig::padim(args.size);
    if let Some(resize) = args.resize {
        preprocess.resize = resize;
    }
    let preprocess = preprocess.check()?;
    let data = open_data(&args.data)?;
    let classes = data.classes(args.class.as_deref())?;
    let padim = match args.d {
        Some(d) => PadimConfig::new(d),
        None => {
            let paper = PadimConfig::paper(backbone, tapped);
            if width != 1.0 {
                say!(
                    "d = {}: the paper's d scaled with the width {width} to the {tapped} tapped channels",
                    paper.d,
                );
            }
            paper
        }
    }
    .with_seed(args.seed);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let mut manifest = Manifest {
        version: MANIFEST_VERSION,
        generator: format!("spotdiff {}", env!("CARGO_PKG_VERSION")),
        backbone,
        width,
        weights: args.weights.clone(),
        seed: args.seed,
        data: Some(
            std::fs::canonicalize(&args.data.data)
                .with_context(|| format!("cannot resolve --data {}", args.data.data.display()))?,
        ),
        backbone_file: BACKBONE_FILE.to_string(),
        preprocess: *preprocess.config(),
        padim,
        split: data.reader.to_string(),
        classes: Vec::new(),
    };
    // Fitting into a folder that holds other classes adds to them, on the
    // same backbone; other settings would leave those classes' statistics
    // meaningless, so they are refused.
    let previous = if args.out.join(MANIFEST).is_file() {
        let previous = StatsFolder::open(&args.out)?;
        let differences = previous.manifest.differences(&manifest)?;
        if !differences.is_empty() {
            anyhow::bail!(
                "{} holds statistics fitted with other settings ({}): fit into another --out folder, or delete it first",
                args.out.display(),
                differences.join("; ")
            );
        }
        Some(previous)
    } else {
        None
    };

    let device = Default::default();
    let model = match &previous {
        Some(previous) => previous.load_backbone::<Flex>(&device)?,
        None => {
            let model = match weights {
                Some(file) => file.load::<Flex>(config.clone(), &device)?,
                None => {
                    Flex::seed(&device, args.seed);
                    config.init::<Flex>(&device)?
                }
            };
            write_atomically(&args.out.join(BACKBONE_FILE), &model.to_safetensors()?)?;
            model
        }
    };
    let fit = PadimFit::new(
        &config,
        model.into_trunk(),
        manifest.padim.clone(),
        preprocess,
        device,
    )?;

    for class in &classes {
        let normals = data.training_normals(class);
        if normals.is_empty() {
            anyhow::bail!(
                "class `{class}` has no normal training images in the {} split",
                data.reader
            );
        }
        let bar = image_bar(normals.len(), format!("fit {class}"));
        let images = ClassImages::new(&normals, &data.source, args.data.batch);
        let stats = fit
            .fit_class(&images, &mut |done| bar.inc(done as u64))
            .with_context(|| format!("cannot fit class `{class}`"))?;
        bar.finish_and_clear();
        let path = stats_path(&args.out, class);
        write_atomically(&path, &stats.to_bytes())?;
        say!("{class}: {} images -> {}", normals.len(), path.display());
    }

    manifest.classes = previous.map(|p| p.manifest.classes).unwrap_or_default();
    for class in classes {
        if !manifest.classes.contains(&class) {
            manifest.classes.push(class);
        }
    }
    write_atomically(
        &args.out.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    Ok(())
}
