//! Collecting scores (image by image) and walking them by distinct threshold.

use super::error::MetricsError;
use super::key::{radix_sort, Score};

/// Scores of anomalous (positive) and normal (negative) samples, collected one
/// sample, one image score list or one pixel map at a time.
///
/// Only an order-preserving key per sample is kept, split by label; labels and
/// the original order are not needed by any ranking metric.
#[derive(Debug, Clone)]
pub struct ScoreSet<S: Score> {
    positives: Vec<S::Key>,
    negatives: Vec<S::Key>,
    maps: u64,
}

impl<S: Score> Default for ScoreSet<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Score> ScoreSet<S> {
    pub fn new() -> Self {
        Self {
            positives: Vec::new(),
            negatives: Vec::new(),
            maps: 0,
        }
    }

    /// A set with room for `samples` scores, so that streaming 10^8 pixels
    /// does not go through the doubling reallocations of a growing vector.
    pub fn with_capacity(samples: usize) -> Self {
        let mut set = Self::new();
        set.negatives.reserve(samples);
        set
    }

    /// The number of samples pushed so far.
    pub fn len(&self) -> u64 {
        (self.positives.len() + self.negatives.len()) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds one sample; `anomalous` is its label (the positive class).
    pub fn push(&mut self, score: S, anomalous: bool) -> Result<(), MetricsError> {
        let key = score.to_key().ok_or(MetricsError::NonFiniteScore {
            index: self.len(),
            value: score.into(),
        })?;
        if anomalous {
            self.positives.push(key);
        } else {
            self.negatives.push(key);
        }
        Ok(())
    }

    /// Adds samples with their labels. On an error nothing is added.
    pub fn extend(&mut self, scores: &[S], anomalous: &[bool]) -> Result<(), MetricsError> {
        if scores.len() != anomalous.len() {
            return Err(MetricsError::LengthMismatch {
                scores: scores.len(),
                labels: anomalous.len(),
            });
        }
        if let Some(offset) = scores.iter().position(|s| s.to_key().is_none()) {
            return Err(MetricsError::NonFiniteScore {
                index: self.len() + offset as u64,
                value: scores[offset].into(),
            });
        }
        for (&score, &label) in scores.iter().zip(anomalous) {
            let key = score.to_key().expect("checked finite above");
            if label {
                self.positives.push(key);
            } else {
                self.negatives.push(key);
            }
        }
        Ok(())
    }

    /// Adds every pixel of one `width`×`height` anomaly map, row-major, with
    /// its binarised ground-truth mask. On an error nothing is added.
    pub fn push_map(
        &mut self,
        scores: &[S],
        mask: &[bool],
        width: usize,
        height: usize,
    ) -> Result<(), MetricsError> {
        check_map_shape(self.maps, scores.len(), mask.len(), width, height)?;
        self.extend(scores, mask)?;
        self.maps += 1;
        Ok(())
    }

    /// Sorts the collected scores for the metric walks. Fails when there are
    /// no samples, no positives or no negatives: every metric is undefined then.
    pub fn rank(mut self) -> Result<Ranking<S>, MetricsError> {
        match (self.positives.len() as u64, self.negatives.len() as u64) {
            (0, 0) => return Err(MetricsError::Empty),
            (0, negatives) => return Err(MetricsError::NoPositives { negatives }),
            (positives, 0) => return Err(MetricsError::NoNegatives { positives }),
            _ => {}
        }
        radix_sort(&mut self.positives);
        radix_sort(&mut self.negatives);
        Ok(Ranking {
            positives: self.positives,
            negatives: self.negatives,
        })
    }
}

/// Checks that a `width`×`height` map has as many scores and mask values as pixels.
pub(crate) fn check_map_shape(
    map: u64,
    scores: usize,
    mask: usize,
    width: usize,
    height: usize,
) -> Result<(), MetricsError> {
    let expected = width * height;
    for (what, got) in [("score map", scores), ("mask", mask)] {
        if got != expected {
            return Err(MetricsError::ShapeMismatch {
                map,
                what,
                width,
                height,
                expected,
                got,
            });
        }
    }
    Ok(())
}

/// Scores sorted by class, with at least one positive and one negative.
#[derive(Debug, Clone)]
pub struct Ranking<S: Score> {
    /// Keys of anomalous samples, ascending.
    positives: Vec<S::Key>,
    /// Keys of normal samples, ascending.
    negatives: Vec<S::Key>,
}

/// All samples sharing one distinct score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step<S> {
    pub threshold: S,
    /// Anomalous samples with exactly this score.
    pub positives: u64,
    /// Normal samples with exactly this score.
    pub negatives: u64,
}

impl<S: Score> Ranking<S> {
    pub fn positives(&self) -> u64 {
        self.positives.len() as u64
    }

    pub fn negatives(&self) -> u64 {
        self.negatives.len() as u64
    }

    /// The `rank`-th lowest score of an anomalous sample (from 0).
    pub fn positive_score(&self, rank: usize) -> S {
        S::from_key(self.positives[rank])
    }

    /// The lowest and highest score over all samples.
    pub fn score_range(&self) -> (S, S) {
        let lowest = self.positives[0].min(self.negatives[0]);
        let highest =
            self.positives[self.positives.len() - 1].max(self.negatives[self.negatives.len() - 1]);
        (S::from_key(lowest), S::from_key(highest))
    }

    /// How many anomalous and normal samples score strictly above `threshold`.
    pub fn counts_above(&self, threshold: f64) -> (u64, u64) {
        let above = |keys: &[S::Key]| {
            let at_or_below = keys.partition_point(|&key| S::from_key(key).into() <= threshold);
            (keys.len() - at_or_below) as u64
        };
        (above(&self.positives), above(&self.negatives))
    }

    /// The distinct scores from the highest down, each with how many samples
    /// of each class share it: lowering the threshold past a step moves all of
    /// them at once.
    pub fn steps(&self) -> impl Iterator<Item = Step<S>> + '_ {
        let mut positives = &self.positives[..];
        let mut negatives = &self.negatives[..];
        std::iter::from_fn(move || {
            let key = match (positives.last(), negatives.last()) {
                (None, None) => return None,
                (Some(&p), None) => p,
                (None, Some(&n)) => n,
                (Some(&p), Some(&n)) => p.max(n),
            };
            let take_run = |keys: &mut &[S::Key]| {
                let mut start = keys.len();
                while start > 0 && keys[start - 1] == key {
                    start -= 1;
                }
                let run = (keys.len() - start) as u64;
                *keys = &keys[..start];
                run
            };
            Some(Step {
                threshold: S::from_key(key),
                positives: take_run(&mut positives),
                negatives: take_run(&mut negatives),
            })
        })
    }
}
