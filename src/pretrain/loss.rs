//! The losses of the pre-training methods and of SPD (SPEC "SPD
//! pre-training"), on plain tensors so each is checked on hand-sized inputs.
//!
//! Every function returns a one-element tensor (the batch mean) that
//! gradients flow through; stop-gradients (`sg`) are applied inside, where
//! the formula has them.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

/// Norms below this are treated as this, as PyTorch's `cosine_similarity`
/// does, so a zero vector gives a cosine of 0 instead of NaN.
const NORM_EPSILON: f64 = 1e-8;

/// Rows scaled to unit length.
///
/// # Shapes
/// - input and output: `[batch, dim]`
pub fn normalize<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(NORM_EPSILON);
    x / norm
}

/// Row-wise cosine similarity.
///
/// # Shapes
/// - inputs: `[batch, dim]`; output: `[batch]`
pub fn cosine<B: Backend>(x: Tensor<B, 2>, y: Tensor<B, 2>) -> Tensor<B, 1> {
    (normalize(x) * normalize(y)).sum_dim(1).flatten(0, 1)
}

/// SimSiam's symmetrised negative cosine (Chen & He 2021, Algorithm 1):
/// `-(cos(p1, sg(z2)) + cos(p2, sg(z1))) / 2`, averaged over the batch.
///
/// # Shapes
/// - inputs: `[batch, dim]` (predictions `p`, projections `z`); output: `[1]`
pub fn simsiam_loss<B: Backend>(
    p1: Tensor<B, 2>,
    p2: Tensor<B, 2>,
    z1: Tensor<B, 2>,
    z2: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let forward = cosine(p1, z2.detach()).mean();
    let backward = cosine(p2, z1.detach()).mean();
    (forward + backward).mul_scalar(-0.5)
}

/// The SPD term in its SimSiam form, for anchor `a`, positive `b` and the
/// SmoothBlend negative `n`:
/// `½[-cos(p_a, sg z_b) + cos(p_a, sg z_n)] + ½[-cos(p_b, sg z_a) + cos(p_n, sg z_a)]`,
/// averaged over the batch.
///
/// # Shapes
/// - inputs: `[batch, dim]` each, ordered `[a, b, n]`; output: `[1]`
pub fn spd_simsiam_loss<B: Backend>(p: [Tensor<B, 2>; 3], z: [Tensor<B, 2>; 3]) -> Tensor<B, 1> {
    let [p_a, p_b, p_n] = p;
    let [z_a, z_b, z_n] = z.map(Tensor::detach);
    let anchor = cosine(p_a.clone(), z_n) - cosine(p_a, z_b);
    let to_anchor = cosine(p_n, z_a.clone()) - cosine(p_b, z_a);
    (anchor + to_anchor).mean().mul_scalar(0.5)
}

/// Cross-entropy towards the positive: `mean(logsumexp(candidates) -
/// positive)`, where the candidates include the positive; the row maximum is
/// subtracted first so large logits do not overflow.
///
/// # Shapes
/// - `positive`: `[batch, 1]`, `candidates`: `[batch, count]`; output: `[1]`
fn contrastive_cross_entropy<B: Backend>(
    positive: Tensor<B, 2>,
    candidates: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let max = candidates.clone().max_dim(1).detach();
    let log_sum = (candidates - max.clone()).exp().sum_dim(1).log();
    (log_sum - (positive - max)).mean()
}

/// InfoNCE as MoCo computes it (He et al. 2020, Algorithm 1): the logits of
/// each query are its positive key, then the shared `negatives` (MoCo's
/// queue), then, if given, its own hard negative (SPD's SmoothBlend view);
/// all divided by `temperature`, with cross-entropy towards the positive.
/// Every vector is normalised here.
///
/// # Shapes
/// - `query`, `positive`, `hard_negative`: `[batch, dim]`
/// - `negatives`: `[count, dim]`
/// - output: `[1]`
pub fn info_nce<B: Backend>(
    query: Tensor<B, 2>,
    positive: Tensor<B, 2>,
    negatives: Tensor<B, 2>,
    hard_negative: Option<Tensor<B, 2>>,
    temperature: f64,
) -> Tensor<B, 1> {
    let query = normalize(query);
    let positive_logit = (query.clone() * normalize(positive)).sum_dim(1);
    let negative_logits = query.clone().matmul(normalize(negatives).transpose());
    let mut candidates = vec![positive_logit.clone(), negative_logits];
    if let Some(hard) = hard_negative {
        candidates.push((query * normalize(hard)).sum_dim(1));
    }
    contrastive_cross_entropy(
        positive_logit.div_scalar(temperature),
        Tensor::cat(candidates, 1).div_scalar(temperature),
    )
}

/// SimCLR's NT-Xent (Chen et al. 2020, Eq. 1): the `2N` views `[z1; z2]`
/// are each an anchor whose positive is the other view of its image and
/// whose negatives are the other `2N - 2` views; with `hard_negative`,
/// the anchor's image's SmoothBlend view is one more negative for both of
/// its views. Cosine similarities divided by `temperature`; the mean over
/// all `2N` anchors.
///
/// # Shapes
/// - inputs: `[batch, dim]` each; output: `[1]`
pub fn nt_xent<B: Backend>(
    z1: Tensor<B, 2>,
    z2: Tensor<B, 2>,
    hard_negative: Option<Tensor<B, 2>>,
    temperature: f64,
) -> Tensor<B, 1> {
    let [batch, _] = z1.dims();
    let device = z1.device();
    let z = normalize(Tensor::cat(vec![z1, z2], 0));
    let similarity = z.clone().matmul(z.clone().transpose());
    // Row i's positive is column (i + N) mod 2N; its candidates are every
    // column but the anchor itself.
    let partner: Vec<i64> = (0..2 * batch)
        .map(|i| ((i + batch) % (2 * batch)) as i64)
        .collect();
    let partner =
        Tensor::<B, 1, Int>::from_ints(partner.as_slice(), &device).reshape([2 * batch, 1]);
    let positive = similarity.clone().gather(1, partner);
    // The anchor's similarity with itself is pushed to where its
    // exponential is exactly 0 (cosines lie in [-1, 1]).
    let itself = Tensor::<B, 2>::eye(2 * batch, &device).equal_elem(1.0);
    let others = similarity.mask_fill(itself, -1e9);
    let mut candidates = vec![others];
    if let Some(hard) = hard_negative {
        let hard = normalize(hard);
        let hard = Tensor::cat(vec![hard.clone(), hard], 0);
        candidates.push((z * hard).sum_dim(1));
    }
    contrastive_cross_entropy(
        positive.div_scalar(temperature),
        Tensor::cat(candidates, 1).div_scalar(temperature),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestBackend;
    use burn::backend::Autodiff;

    type B = TestBackend;

    fn rows<const N: usize>(values: [[f32; 2]; N]) -> Tensor<B, 2> {
        Tensor::from_floats(values, &Default::default())
    }

    fn value(loss: Tensor<B, 1>) -> f32 {
        loss.into_scalar()
    }

    fn assert_close(got: f32, want: f64) {
        assert!(
            (f64::from(got) - want).abs() < 1e-6,
            "got {got}, want {want}"
        );
    }

    #[test]
    fn simsiam_loss_by_hand() {
        // Row 1: cos([1,0],[1,1]) = 1/√2, cos([0,2],[3,0]) = 0.
        // Row 2: cos([0,1],[0,-5]) = -1, cos([1,1],[1,1]) = 1.
        // -(mean(1/√2, -1) + mean(0, 1)) / 2 = -(-0.1464466 + 0.5) / 2.
        let loss = simsiam_loss(
            rows([[1.0, 0.0], [0.0, 1.0]]),
            rows([[0.0, 2.0], [1.0, 1.0]]),
            rows([[3.0, 0.0], [1.0, 1.0]]),
            rows([[1.0, 1.0], [0.0, -5.0]]),
        );
        assert_close(value(loss), -0.176_776_695_3);
    }

    #[test]
    fn spd_simsiam_loss_by_hand() {
        // p = (a [1,0], b [0,1], n [1,0]); z = (a [1,0], b [1,1], n [0,1]).
        // ½[-cos(p_a, z_b) + cos(p_a, z_n)] = ½[-1/√2 + 0];
        // ½[-cos(p_b, z_a) + cos(p_n, z_a)] = ½[-0 + 1]; sum (1 - 1/√2) / 2.
        let loss = spd_simsiam_loss(
            [rows([[1.0, 0.0]]), rows([[0.0, 1.0]]), rows([[1.0, 0.0]])],
            [rows([[1.0, 0.0]]), rows([[1.0, 1.0]]), rows([[0.0, 1.0]])],
        );
        assert_close(value(loss), 0.146_446_609_4);
    }

    #[test]
    fn info_nce_by_hand() {
        // Logits / 0.2: positive 1 → 5, queue [0,1] → 0 and [-1,0] → -5:
        // ln(e^5 + 1 + e^-5) - 5 = 0.0067604435.
        let queue = rows([[0.0, 1.0], [-1.0, 0.0]]);
        let plain = info_nce(
            rows([[1.0, 0.0]]),
            rows([[2.0, 0.0]]),
            queue.clone(),
            None,
            0.2,
        );
        assert_close(value(plain), 0.006_760_443_5);
        // A hard negative [0.6, 0.8] adds the logit 0.6 / 0.2 = 3:
        // ln(e^5 + 1 + e^-5 + e^3) - 5 = 0.1328849851.
        let hard = rows([[0.6, 0.8]]);
        let with_hard = info_nce(
            rows([[1.0, 0.0]]),
            rows([[2.0, 0.0]]),
            queue,
            Some(hard),
            0.2,
        );
        assert_close(value(with_hard), 0.132_884_985_1);
    }

    #[test]
    fn nt_xent_by_hand() {
        // Views e1, e2 (first) and e1, e2 (second, scaled). Every anchor:
        // positive cosine 1 → 2 at T = 0.5, the two others 0 → 0:
        // ln(1 + e^2 + 1) - 2 = 0.2395447662.
        let z1 = rows([[1.0, 0.0], [0.0, 1.0]]);
        let z2 = rows([[2.0, 0.0], [0.0, 3.0]]);
        assert_close(
            value(nt_xent(z1.clone(), z2.clone(), None, 0.5)),
            0.239_544_766_2,
        );
        // Hard negatives [1,1] (image 1) and [0,1] (image 2): image 1's
        // anchors (e1) gain cos 1/√2 → √2, image 2's (e2) gain cos 1 → 2:
        // mean(ln(2 + e^2 + e^√2) - 2, ln(2 + 2e^2) - 2) = 0.7114678563.
        let hard = rows([[1.0, 1.0], [0.0, 1.0]]);
        assert_close(value(nt_xent(z1, z2, Some(hard), 0.5)), 0.711_467_856_3);
    }

    #[test]
    fn stop_gradients_sit_where_the_formula_puts_them() {
        type A = Autodiff<TestBackend>;
        let device = Default::default();
        let leaf = |v: [[f32; 2]; 1]| Tensor::<A, 2>::from_floats(v, &device).require_grad();
        let (p1, p2, z1, z2) = (
            leaf([[1.0, 0.0]]),
            leaf([[0.0, 1.0]]),
            leaf([[1.0, 1.0]]),
            leaf([[1.0, -1.0]]),
        );
        let grads = simsiam_loss(p1.clone(), p2.clone(), z1.clone(), z2.clone()).backward();
        assert!(p1.grad(&grads).is_some() && p2.grad(&grads).is_some());
        assert!(z1.grad(&grads).is_none() && z2.grad(&grads).is_none());
    }

    #[test]
    fn zero_vectors_give_a_cosine_of_zero() {
        let c = cosine(rows([[0.0, 0.0]]), rows([[1.0, 0.0]]));
        assert_eq!(c.into_data().to_vec::<f32>().unwrap(), vec![0.0]);
    }
}
