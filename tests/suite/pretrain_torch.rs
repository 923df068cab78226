//! SPD pre-training's step against PyTorch's: the first independent check of
//! the training step.
//!
//! tests/fixtures/make_pretrain_step_fixtures.py (torch 2.15.0, torchvision
//! 0.29.2; versions and settings in expected.safetensors' metadata) writes a
//! width-1/32 ResNet-18 with random weights and batch-norm statistics, each
//! method's heads, five views of a batch of 16 (16 × 12 noise) and MoCo's
//! queue, and runs the same step in PyTorch: every view through the network
//! on its own in training mode, `L_method + 0.1 · L_spd`, SGD with momentum
//! 0.9 (no dampening) and weight decay 1e-4 at lr 0.5, in float64 from the
//! float32 inputs. Here spotdiff's own step runs on `Autodiff<Flex>`, the
//! trainer's backend, from the same weights (the backbone through spotdiff's
//! safetensors import) and batch:
//!
//! - SimSiam + SPD: the losses, the gradients of the stem, layer2.0 and both
//!   heads, and every parameter and batch-norm running statistic after the
//!   update and after a second update with the same gradients (momentum's
//!   first real one; the script says why there is no second forward pass);
//! - MoCo v2 + SPD: the losses, the stem's gradient and the keys the step adds
//!   to the queue;
//! - SimCLR + SPD: the losses and the stem's gradient.
//!
//! Every element is checked as `|rust − torch| ≤ TOLERANCE · scale`, with
//! `TOLERANCE` = 1e-4 and a scale per tensor (the script's `scale`, which
//! also checks that PyTorch's own float32 step stays within half of this):
//! - losses: `max(|torch|, 1)` (the cosine losses lie in [−2, 2] and can be
//!   near 0 by cancellation, so 1 is their scale);
//! - keys: `max |torch|` over the tensor;
//! - gradients: `max |torch|` over the tensor `+ 1e-3 ·` the largest over
//!   the method's compared gradients;
//! - the state after an update: `max |torch − initial|` over the tensor `+
//!   1e-3 ·` the largest over the whole model, so the change is checked and
//!   not only the weights it barely moves.
//!
//! The second terms matter only for tensors that are 0, or change only by
//! weight decay, in exact arithmetic: the biases of linear layers followed
//! by batch norm, whose gradients are float32 rounding (~1e-8).

use std::collections::BTreeMap;
use std::path::Path;

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use burn_store::{
    BurnToPyTorchAdapter, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, SafetensorsStore,
};
use spotdiff::model::{ResNet, ResNetConfig};
use spotdiff::pretrain::{
    apply_step, momentum_update, sgd, step_gradients, Batch, MethodKind, Mlp, Moco, Pretrain,
    PretrainConfig, SimClr, SimSiam, StepGradients, StepLosses,
};

type A = Autodiff<Flex>;

const TOLERANCE: f32 = 1e-4;
/// The script's settings.
const WIDTH: f64 = 1.0 / 32.0;
const CLASSES: usize = 10;
const SPD_WEIGHT: f64 = 0.1;
const LEARNING_RATE: f64 = 0.5;
const MOCO_QUEUE: usize = 32;

/// Named tensors: a fixture file, or a module's tensors by the names
/// PyTorch gives them.
type Named = BTreeMap<String, TensorData>;

fn fixture_path(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pretrain_step")
        .join(file)
}

fn fixture(file: &str) -> Named {
    SafetensorsStore::from_file(fixture_path(file))
        .get_all_snapshots()
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .iter()
        .map(|(name, snapshot)| (name.clone(), snapshot.to_data().unwrap()))
        .collect()
}

/// Every tensor of `module` (parameters and batch-norm running statistics)
/// by its PyTorch name and in PyTorch's layout (linear weights `[out, in]`).
fn named<B: Backend, M: ModuleSnapshot<B>>(module: &M) -> Named {
    module
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .into_iter()
        .map(|snapshot| (snapshot.full_path(), snapshot.to_data().unwrap()))
        .collect()
}

/// Puts each parameter's gradient in its place, so [`named`] names the
/// gradients; a parameter without one becomes NaN and fails any comparison.
/// Batch-norm running statistics (no gradient, no parameters) keep their
/// values: a module's clones share them, so this writes them back as found.
struct GradientsInPlace<'a>(&'a GradientsParams);

impl ModuleMapper<A> for GradientsInPlace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<A, D>>) -> Param<Tensor<A, D>> {
        let gradient = self.0.get::<Flex, D>(param.id);
        param.map(|value| match gradient {
            Some(gradient) => Tensor::from_inner(gradient),
            None if value.is_require_grad() => value.full_like(f32::NAN),
            None => value,
        })
    }
}

fn gradients<M: Module<A> + ModuleSnapshot<A>>(model: &M, grads: &GradientsParams) -> Named {
    named(&model.clone().map(&mut GradientsInPlace(grads)))
}

fn values(data: &TensorData) -> Vec<f32> {
    data.to_vec::<f32>().unwrap()
}

fn largest_magnitude(values: impl IntoIterator<Item = f32>) -> f32 {
    values.into_iter().map(f32::abs).fold(0.0, f32::max)
}

/// Checks `|got − want| ≤ TOLERANCE · scale` everywhere and returns the
/// largest `|got − want| / scale`.
fn assert_close(what: &str, got: &TensorData, want: &TensorData, scale: f32) -> f32 {
    assert_eq!(got.shape, want.shape, "{what}: shape");
    // A NaN (a missing gradient) is kept, and fails the check.
    let worst = values(got)
        .iter()
        .zip(values(want))
        .map(|(g, w)| (g - w).abs())
        .fold(
            0.0,
            |worst, d| if d > worst || d.is_nan() { d } else { worst },
        );
    assert!(
        worst <= TOLERANCE * scale,
        "{what}: max |rust − torch| = {worst}, allowed {TOLERANCE} · {scale}"
    );
    if scale > 0.0 {
        worst / scale
    } else {
        0.0
    }
}

/// The largest relative difference of a kind of quantity, with its name.
#[derive(Default)]
struct Worst(f32, String);

impl Worst {
    fn update(&mut self, name: &str, relative: f32) {
        if relative >= self.0 {
            *self = Worst(relative, name.to_owned());
        }
    }

    fn report(&self, what: &str) {
        eprintln!(
            "{what}: largest |rust − torch| / scale = {:.2e} ({})",
            self.0, self.1
        );
    }
}

/// The tensors of `named` whose names start with `prefix`, with the prefix
/// cut off.
fn under(named: &Named, prefix: &str) -> Named {
    let found: Named = named
        .iter()
        .filter_map(|(name, data)| Some((name.strip_prefix(prefix)?.to_owned(), data.clone())))
        .collect();
    assert!(!found.is_empty(), "nothing under {prefix}");
    found
}

/// A method's expected values (`prefix`: `simsiam.`, `moco.`, `simclr.`).
fn expected(prefix: &str) -> Named {
    under(&fixture("expected.safetensors"), prefix)
}

fn check_losses(what: &str, got: StepLosses, expected: &Named) {
    let mut worst = Worst::default();
    let spd = got.spd.expect("the batch has SPD views");
    for (name, value) in [
        ("method_loss", got.method),
        ("spd_loss", spd),
        ("total_loss", got.total),
    ] {
        let want = values(&expected[name])[0];
        let got = TensorData::from([value as f32]);
        let scale = want.abs().max(1.0);
        worst.update(
            name,
            assert_close(
                &format!("{what}: {name}"),
                &got,
                &TensorData::from([want]),
                scale,
            ),
        );
    }
    worst.report(&format!("{what} losses"));
}

/// Compares tensors by name, each at the scale of its largest `magnitude`
/// plus 1e-3 of the largest of them all.
fn check_tensors(what: &str, got: &Named, expected: &Named, magnitude: impl Fn(&str) -> f32) {
    let largest = expected
        .keys()
        .map(|name| magnitude(name))
        .fold(0.0, f32::max);
    let mut worst = Worst::default();
    for (name, want) in expected {
        let got = got
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no tensor {name}"));
        let scale = magnitude(name) + 1e-3 * largest;
        let relative = assert_close(&format!("{what}: {name}"), got, want, scale);
        worst.update(name, relative);
    }
    worst.report(what);
}

fn check_gradients(what: &str, got: &Named, expected: &Named) {
    check_tensors(&format!("{what} gradients"), got, expected, |name| {
        largest_magnitude(values(&expected[name]))
    });
}

/// The parameters and running statistics of a model being trained. Through
/// `valid()`: burn keeps a batch norm's newest running statistics pending
/// until something synchronises them, which collecting tensors does not.
fn state<M: AutodiffModule<A>>(model: &M) -> Named
where
    M::InnerModule: ModuleSnapshot<Flex>,
{
    named(&model.valid())
}

/// Compares the whole state after an update, each tensor at the scale of
/// its change from `initial`.
fn check_state(what: &str, got: &Named, expected: &Named, initial: &Named) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{what}: tensor names"
    );
    check_tensors(what, got, expected, |name| {
        let change = values(&expected[name])
            .into_iter()
            .zip(values(&initial[name]))
            .map(|(after, before)| after - before);
        largest_magnitude(change)
    });
}

fn config(method: MethodKind) -> PretrainConfig {
    let backbone = ResNetConfig::resnet18()
        .with_width(WIDTH)
        .with_num_classes(CLASSES);
    PretrainConfig::new(method, backbone)
        .with_spd_weight(SPD_WEIGHT)
        .with_moco_queue(MOCO_QUEUE)
}

fn read_backbone(backbone: ResNet<A>) -> ResNet<A> {
    let bytes = std::fs::read(fixture_path("backbone.safetensors")).unwrap();
    backbone.load_safetensors(bytes).unwrap()
}

/// Loads a head from heads.safetensors, where its tensors are named
/// `<name>.<path in the head>` with PyTorch's names and layouts.
fn read_head(mut head: Mlp<A>, name: &str) -> Mlp<A> {
    let mut store = SafetensorsStore::from_file(fixture_path("heads.safetensors"))
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(format!("^{}\\.", name.replace('.', "\\.")), "");
    let result = head.load_from(&mut store).unwrap();
    assert!(
        result.missing.is_empty() && result.errors.is_empty() && !result.applied.is_empty(),
        "{name}: {result}"
    );
    head
}

fn batch() -> Batch<A> {
    let device = Default::default();
    let views = fixture("batch.safetensors");
    let view = |name: &str| Tensor::<A, 4>::from_data(views[name].clone(), &device);
    let images = views["view1"].shape[0];
    Batch {
        views: vec![view("view1"), view("view2")],
        spd: Some([view("anchor"), view("positive"), view("negative")]),
        // Only the supervised method reads labels.
        labels: Tensor::<A, 1, Int>::zeros([images], &device),
    }
}

/// Copies the gradients `from` holds for the parameters it visits.
struct CopyGradients<'a> {
    from: &'a GradientsParams,
    copy: GradientsParams,
}

impl ModuleVisitor<A> for CopyGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<A, D>>) {
        if let Some(gradient) = self.from.get::<Flex, D>(param.id) {
            self.copy.register(param.id, gradient);
        }
    }
}

/// A copy of the gradients `grads` holds for `module`'s parameters
/// (`GradientsParams` is not `Clone`).
fn copy_gradients<M: Module<A>>(module: &M, grads: &GradientsParams) -> GradientsParams {
    let mut copy = CopyGradients {
        from: grads,
        copy: GradientsParams::new(),
    };
    module.visit(&mut copy);
    copy.copy
}

/// The first half of spotdiff's step (`train_step` is `step_gradients`, then
/// `apply_step`) on the fixture's batch, its losses and gradients checked
/// against `expected`.
fn checked_step<M: Pretrain<A>>(what: &str, model: M, expected: &Named) -> (M, StepGradients<A>) {
    let (model, step) = step_gradients(model, &batch(), SPD_WEIGHT);
    check_losses(what, step.losses, expected);
    let got = gradients(&model, &step.grads);
    check_gradients(what, &got, &under(expected, "grad."));
    (model, step)
}

#[test]
fn simsiam_spd_step_matches_pytorch() {
    let device = Default::default();
    let model = SimSiam::<A>::init(&config(MethodKind::SimSiam), &device).unwrap();
    let model = SimSiam {
        backbone: read_backbone(model.backbone),
        projector: read_head(model.projector, "simsiam.projector"),
        predictor: read_head(model.predictor, "simsiam.predictor"),
    };
    let expected = expected("simsiam.");
    let mut optimizer = sgd().init::<A, SimSiam<A>>();
    let initial = state(&model);

    let (model, step) = checked_step("SimSiam", model, &expected);
    // The second update applies the same gradients again (the script says
    // why).
    let again = StepGradients {
        grads: copy_gradients(&model, &step.grads),
        losses: step.losses,
        memory: None,
    };
    let model = apply_step(model, &mut optimizer, step, LEARNING_RATE);
    check_state(
        "SimSiam update 1",
        &state(&model),
        &under(&expected, "update1."),
        &initial,
    );
    let model = apply_step(model, &mut optimizer, again, LEARNING_RATE);
    check_state(
        "SimSiam update 2",
        &state(&model),
        &under(&expected, "update2."),
        &initial,
    );
}

#[test]
fn moco_spd_step_matches_pytorch() {
    let device = Default::default();
    let model = Moco::<A>::init(&config(MethodKind::Moco), &device).unwrap();
    let backbone = read_backbone(model.backbone);
    let head = read_head(model.head, "moco.head");
    let model = Moco {
        // The key encoder starts as a copy of the query encoder, as in init.
        key_backbone: momentum_update(model.key_backbone, &backbone, 0.0),
        key_head: momentum_update(model.key_head, &head, 0.0),
        backbone,
        head,
        ..model
    };
    let queue = fixture("batch.safetensors")["moco.queue"].clone();
    model.queue.update(Tensor::from_data(queue, &device));

    let expected = expected("moco.");
    let (_, step) = checked_step("MoCo", model, &expected);
    let keys = step.memory.expect("MoCo's step adds keys").into_data();
    let want = &expected["keys"];
    let relative = assert_close("keys", &keys, want, largest_magnitude(values(want)));
    Worst(relative, "keys".into()).report("MoCo new keys");
}

#[test]
fn simclr_spd_step_matches_pytorch() {
    let device = Default::default();
    let model = SimClr::<A>::init(&config(MethodKind::SimClr), &device).unwrap();
    let model = SimClr {
        backbone: read_backbone(model.backbone),
        head: read_head(model.head, "simclr.head"),
        ..model
    };
    checked_step("SimCLR", model, &expected("simclr."));
}
