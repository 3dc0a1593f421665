//! The report's figures from its facts: pure, no SQL, no clock.

use super::{
    share, ChildCounts, Counts, EligiblePerson, ExemplaryFigures, GroupCounts, Household,
    HouseholdSummary, IndicatorFigure, Progress, Report, ReportFacts, UnitMembers, ADULT_AGE,
    DIGITAL_INDICATOR, LEARNING_UNIT_SHARE, NO_POINTS, TARGET_ADULTS_RECOGNISED,
    TARGET_DIGITAL_SKILLS,
};
use cdht_core::catalog::Text;
use cdht_core::sync::ReviewState;
use cdht_core::Catalog;
use rustc_hash::FxHashMap as HashMap;

/// The minimum per indicator when a catalog is unknown (the published rule).
const DEFAULT_MIN_POINTS: u32 = 5;

/// An indicator's title: as the group with the most assessments sent in
/// words it (then by group id), from the report's catalogs first, then any
/// catalog; the id itself when none has it.
fn indicator_titles<'a>(
    groups: &'a [GroupCounts],
    used: &'a [Option<&'a Catalog>],
    catalogs: &'a [Catalog],
) -> impl Fn(&str) -> Text + 'a {
    let mut order: Vec<&GroupCounts> = groups.iter().collect();
    order.sort_by(|a, b| {
        b.counts
            .submitted
            .cmp(&a.counts.submitted)
            .then_with(|| a.group.cmp(&b.group))
    });
    let known: Vec<&Catalog> = used.iter().flatten().copied().chain(catalogs).collect();
    move |id: &str| {
        let all = || known.iter().flat_map(|c| &c.groups);
        order
            .iter()
            .find_map(|g| {
                all()
                    .filter(|cg| cg.id.as_str() == g.group)
                    .find_map(|cg| cg.indicator(id))
            })
            .or_else(|| all().find_map(|cg| cg.indicator(id)))
            .map_or_else(
                || Text {
                    vi: id.to_owned(),
                    en: id.to_owned(),
                },
                |i| i.title.clone(),
            )
    }
}

/// A set of people (indexes into `ReportFacts::people`), one bit each: a
/// province's half a million people fit in 64 kB, and adding one is a shift.
#[derive(Clone)]
struct People {
    bits: Vec<u64>,
    len: u64,
}

impl People {
    fn new(people: usize) -> Self {
        Self {
            bits: vec![0; people.div_ceil(64)],
            len: 0,
        }
    }

    fn insert(&mut self, p: u32) {
        let (word, bit) = (p as usize / 64, p % 64);
        if let Some(w) = self.bits.get_mut(word) {
            if *w & (1 << bit) == 0 {
                *w |= 1 << bit;
                self.len += 1;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.bits.iter().enumerate().flat_map(|(i, &w)| {
            (0..64u32)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| i as u32 * 64 + b)
        })
    }
}

/// Counts of a set of assessments, with the people seen.
struct Tally {
    people: People,
    counts: Counts,
}

impl Tally {
    fn new(people: usize) -> Self {
        Self {
            people: People::new(people),
            counts: Counts::default(),
        }
    }

    fn add(&mut self, person: u32, state: ReviewState, passed: bool) {
        self.people.insert(person);
        let c = &mut self.counts;
        if state != ReviewState::Draft {
            c.submitted += 1;
            if passed {
                c.passed += 1;
            }
        }
        match state {
            ReviewState::Approved => c.approved += 1,
            ReviewState::Recognised => {
                c.approved += 1;
                c.recognised += 1;
            }
            ReviewState::Returned => c.returned += 1,
            ReviewState::Draft | ReviewState::Submitted => {}
        }
    }

    fn finish(self) -> Counts {
        Counts {
            registered: self.people.len,
            pass_rate: share(self.counts.passed, self.counts.submitted),
            ..self.counts
        }
    }
}

/// The person's recognised assessment of the year (the first met).
struct Recognised {
    unit: u32,
    catalog: u32,
    digital: Option<u8>,
}

/// The report of `facts.units[0]` for `facts.year`, with every household
/// listed. `catalogs` give group names and each catalog's rules (minimum per
/// indicator, years in a row for exemplary). Eligible persons' names are
/// left empty for the caller to fill.
#[must_use]
pub fn compute(facts: &ReportFacts, catalogs: &[Catalog]) -> Report {
    compute_with(facts, catalogs, true)
}

/// [`compute`]; `households`: list every household (the exports), or only
/// count them (the JSON).
#[must_use]
pub fn compute_with(facts: &ReportFacts, catalogs: &[Catalog], households: bool) -> Report {
    let year = facts.year;
    let child_of = children_of(facts);
    let catalog_of: Vec<Option<&Catalog>> = facts
        .catalogs
        .iter()
        .map(|id| catalogs.iter().find(|c| c.id.as_str() == id))
        .collect();
    let min_points: Vec<u32> = catalog_of
        .iter()
        .map(|c| c.map_or(DEFAULT_MIN_POINTS, |c| c.rules.min_indicator_points))
        .collect();
    let digital = facts.indicators.iter().position(|i| i == DIGITAL_INDICATOR);

    let n = facts.people.len();
    let mut total = Tally::new(n);
    let mut by_group: Vec<Tally> = facts.groups.iter().map(|_| Tally::new(n)).collect();
    let mut by_child: HashMap<u32, Tally> = HashMap::default();
    // (sum, count, below minimum) per indicator.
    let mut indicators = vec![(0u64, 0u64, 0u64); facts.indicators.len()];
    // By person index: a vector, not a map (half a million people).
    let mut recognised: Vec<Option<Recognised>> = Vec::new();
    recognised.resize_with(n, || None);
    for a in &facts.assessments {
        total.add(a.person, a.state, a.passed);
        by_group[a.group as usize].add(a.person, a.state, a.passed);
        if let Some(child) = child_of[a.unit as usize] {
            by_child
                .entry(child)
                .or_insert_with(|| Tally::new(n))
                .add(a.person, a.state, a.passed);
        }
        if a.state != ReviewState::Draft {
            let min = min_points[a.catalog as usize];
            for (slot, &p) in indicators.iter_mut().zip(&a.points) {
                if p == NO_POINTS {
                    continue;
                }
                slot.0 += u64::from(p);
                slot.1 += 1;
                if u32::from(p) < min {
                    slot.2 += 1;
                }
            }
        }
        if a.state == ReviewState::Recognised && recognised[a.person as usize].is_none() {
            recognised[a.person as usize] = Some(Recognised {
                unit: a.unit,
                catalog: a.catalog,
                digital: digital
                    .and_then(|d| a.points.get(d).copied())
                    .filter(|p| *p != NO_POINTS),
            });
        }
    }

    let group_name = |id: &str| {
        catalogs
            .iter()
            .flat_map(|c| &c.groups)
            .find(|g| g.id.as_str() == id)
            .map_or_else(|| id.to_owned(), |g| g.name.vi.clone())
    };
    let mut groups: Vec<GroupCounts> = by_group
        .into_iter()
        .enumerate()
        .filter(|(_, t)| t.people.len > 0)
        .map(|(i, t)| GroupCounts {
            group: facts.groups[i].clone(),
            name: group_name(&facts.groups[i]),
            counts: t.finish(),
        })
        .collect();
    groups.sort_by(|a, b| a.group.cmp(&b.group));

    // Every direct child, with or without assessments.
    let mut children: Vec<ChildCounts> = facts
        .units
        .iter()
        .enumerate()
        .filter(|(_, u)| u.parent == Some(0))
        .map(|(i, u)| ChildCounts {
            unit: u.code.clone(),
            name: u.name.clone(),
            counts: by_child
                .remove(&(i as u32))
                .map(Tally::finish)
                .unwrap_or_default(),
        })
        .collect();
    children.sort_by(|a, b| a.unit.cmp(&b.unit));

    let titles: Vec<Text> = {
        let title = indicator_titles(&groups, &catalog_of, catalogs);
        facts.indicators.iter().map(|i| title(i)).collect()
    };
    let mut indicator_figures: Vec<IndicatorFigure> = indicators
        .iter()
        .enumerate()
        .filter(|(_, (_, n, _))| *n > 0)
        .map(|(i, &(sum, n, below))| IndicatorFigure {
            id: facts.indicators[i].clone(),
            title: titles[i].clone(),
            mean_points: share(sum, n),
            below_min_share: share(below, n),
            assessments: n,
        })
        .collect();
    indicator_figures.sort_by(|a, b| {
        a.mean_points
            .total_cmp(&b.mean_points)
            .then_with(|| a.id.cmp(&b.id))
    });

    let exemplary = exemplary(facts, &recognised, &catalog_of);
    // Birth years by person; `None` for people who are no members here.
    let mut birth: Vec<Option<Option<u16>>> = vec![None; n];
    for m in &facts.members {
        if let Some(slot) = birth.get_mut(m.person as usize) {
            *slot = Some(m.birth_year);
        }
    }
    let adult = |birth_year: Option<u16>| birth_year.is_none_or(|b| b + ADULT_AGE <= year);
    let (units, homes) = members(facts, &recognised, adult);

    let adults_registered: Vec<u32> = total
        .people
        .iter()
        .filter(|&p| adult(birth.get(p as usize).copied().flatten().flatten()))
        .collect();
    let adults_recognised = adults_registered
        .iter()
        .filter(|&&p| recognised[p as usize].is_some())
        .count() as u64;
    let title_holders = recognised.iter().flatten().count() as u64;
    let digital_skills = recognised
        .iter()
        .flatten()
        .filter(|r| r.digital.is_some_and(|p| p >= 5))
        .count() as u64;
    let progress = Progress {
        adults_registered: adults_registered.len() as u64,
        adults_recognised,
        adults_recognised_share: share(adults_recognised, adults_registered.len() as u64),
        adults_recognised_target: TARGET_ADULTS_RECOGNISED,
        title_holders,
        digital_skills,
        digital_skills_share: share(digital_skills, title_holders),
        digital_skills_target: TARGET_DIGITAL_SKILLS,
    };
    let with_adults = || homes.values().filter(|h| h.1 > 0);
    let summary = HouseholdSummary {
        households: with_adults().count() as u64,
        all_recognised: with_adults().filter(|h| h.2 == h.1).count() as u64,
        at_least_60: with_adults()
            .filter(|h| share(h.2, h.1) >= TARGET_ADULTS_RECOGNISED)
            .count() as u64,
    };
    let household_list = if households {
        household_list(facts, &homes)
    } else {
        Vec::new()
    };
    let root = facts.units.first();
    Report {
        unit: root.map(|u| u.code.clone()).unwrap_or_default(),
        unit_name: root.map(|u| u.name.clone()).unwrap_or_default(),
        year,
        counts: total.finish(),
        by_group: groups,
        by_child: children,
        indicators: indicator_figures,
        exemplary,
        units,
        households: summary,
        household_list,
        progress,
    }
}

/// For each unit of the subtree, the direct child of the root it lies under
/// (`None` for the root). Units come parent first.
fn children_of(facts: &ReportFacts) -> Vec<Option<u32>> {
    let mut out: Vec<Option<u32>> = Vec::with_capacity(facts.units.len());
    for (i, u) in facts.units.iter().enumerate() {
        let child = match u.parent {
            None => None,
            Some(0) => Some(i as u32),
            Some(p) => out.get(p as usize).copied().flatten(),
        };
        out.push(child);
    }
    out
}

fn exemplary(
    facts: &ReportFacts,
    recognised: &[Option<Recognised>],
    catalog_of: &[Option<&Catalog>],
) -> ExemplaryFigures {
    let year = i32::from(facts.year);
    let mut persons = Vec::new();
    let mut provisional = false;
    for (person, r) in recognised.iter().enumerate() {
        let Some(r) = r else {
            continue;
        };
        let person = person as u32;
        let Some(catalog) = catalog_of[r.catalog as usize] else {
            continue;
        };
        let mut years = facts
            .earlier_recognised
            .get(&person)
            .cloned()
            .unwrap_or_default();
        years.push(year);
        let status = cdht_core::exemplary_status(&years, year, &catalog.rules);
        provisional |= status.provisional;
        if status.eligible {
            persons.push(EligiblePerson {
                person: facts.people[person as usize].clone(),
                person_name: String::new(),
                unit: facts.units[r.unit as usize].code.clone(),
                streak: status.streak,
            });
        }
    }
    persons.sort_by(|a, b| a.unit.cmp(&b.unit).then_with(|| a.person.cmp(&b.person)));
    ExemplaryFigures {
        eligible: persons.len() as u64,
        persons,
        provisional,
    }
}

/// (unit, household label) → (members, adults, adults recognised).
type Homes<'a> = HashMap<(u32, &'a str), (u64, u64, u64)>;

/// Units' adult members, and households.
fn members<'a>(
    facts: &'a ReportFacts,
    recognised: &[Option<Recognised>],
    adult: impl Fn(Option<u16>) -> bool,
) -> (Vec<UnitMembers>, Homes<'a>) {
    let mut adults = vec![0u64; facts.units.len()];
    let mut held = vec![0u64; facts.units.len()];
    let mut homes: Homes<'a> = HashMap::default();
    for m in &facts.members {
        let is_adult = adult(m.birth_year);
        let is_recognised = is_adult
            && recognised
                .get(m.person as usize)
                .is_some_and(Option::is_some);
        if is_adult {
            let mut u = Some(m.unit);
            while let Some(i) = u {
                adults[i as usize] += 1;
                held[i as usize] += u64::from(is_recognised);
                u = facts.units[i as usize].parent;
            }
        }
        if let Some(label) = m
            .household
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let home = homes.entry((m.unit, label)).or_default();
            home.0 += 1;
            home.1 += u64::from(is_adult);
            home.2 += u64::from(is_recognised);
        }
    }
    let mut units: Vec<UnitMembers> = facts
        .units
        .iter()
        .enumerate()
        .filter(|(i, _)| adults[*i] > 0)
        .map(|(i, u)| {
            let s = share(held[i], adults[i]);
            UnitMembers {
                unit: u.code.clone(),
                name: u.name.clone(),
                adults: adults[i],
                recognised: held[i],
                share: s,
                meets_learning_unit: s >= LEARNING_UNIT_SHARE,
            }
        })
        .collect();
    units.sort_by(|a, b| a.unit.cmp(&b.unit));
    (units, homes)
}

/// Every household, by unit, then label.
fn household_list(facts: &ReportFacts, homes: &Homes<'_>) -> Vec<Household> {
    let mut households: Vec<Household> = homes
        .iter()
        .map(|(&(unit, label), &(members, adults, rec))| Household {
            unit: facts.units[unit as usize].code.clone(),
            label: label.to_owned(),
            members,
            adults,
            recognised: rec,
            share: share(rec, adults),
        })
        .collect();
    households.sort_by(|a, b| a.unit.cmp(&b.unit).then_with(|| a.label.cmp(&b.label)));
    households
}
