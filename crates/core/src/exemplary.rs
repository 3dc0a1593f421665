//! Exemplary Learning Citizen (công dân học tập tiêu biểu): recognised a number
//! of years in a row (5 in today's catalogs, a provisional rule) makes a
//! person *eligible* to be considered ("đủ điều kiện xét"); the title itself
//! is granted by a recognition decision, like the yearly title, never by
//! this count. A year without recognition resets the count.

use crate::catalog::Rules;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExemplaryStatus {
    /// The year the status is for.
    pub year: i32,
    /// Consecutive recognised years ending with `year` (0 if `year` is not recognised).
    pub streak: u32,
    /// Years in a row needed.
    pub required: u32,
    /// Eligible to be considered for the exemplary title (not the title).
    pub eligible: bool,
    /// Further consecutive recognised years needed (0 once eligible).
    pub years_to_go: u32,
    /// The years-in-a-row rule is provisional (one source so far).
    pub provisional: bool,
}

/// The status for `year`, from the years in which the person was recognised
/// (in any order; repeats are harmless). For a year whose recognition is not
/// decided yet, ask for the year before.
#[must_use]
pub fn exemplary_status(recognised_years: &[i32], year: i32, rules: &Rules) -> ExemplaryStatus {
    let mut streak = 0u32;
    let mut y = year;
    while recognised_years.contains(&y) {
        streak += 1;
        match y.checked_sub(1) {
            Some(prev) => y = prev,
            None => break,
        }
    }
    let required = rules.exemplary_consecutive_years;
    ExemplaryStatus {
        year,
        streak,
        required,
        eligible: streak >= required,
        years_to_go: required.saturating_sub(streak),
        provisional: crate::provenance::is_provisional("exemplary_consecutive_years"),
    }
}
