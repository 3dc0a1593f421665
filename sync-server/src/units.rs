//! `cdht-server units import|list|rotate-key`: the unit tree from a CSV file,
//! checked whole before anything is written, then added in one transaction.
//!
//! The CSV (UTF-8, with or without a byte-order mark) has the header
//! `code,name,kind,parent,area` (any column order); `parent` is empty for a
//! root unit and may name a unit already on the server or one further down
//! the same file; `area` is `normal`, `difficult` or empty to inherit. A code
//! already on the server updates that unit (name, kind, parent, area); its
//! devices, and those of units below whose inherited area changes, pull the
//! change.

use crate::storage::{NewUnit, Storage, UnitUpdate};
use cdht_core::ids::UnitCode;
use cdht_core::qr::{valid_unit_code, JoinPayload};
use cdht_core::AreaType;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// The setting `init` writes and `units qr` reads.
pub const PUBLIC_URL: &str = "public_url";

/// One thing wrong with an input, with a stable code, for one line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

impl Problem {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Everything wrong with an import (every line is checked, not just the first).
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) in the unit file", .0.len())]
pub struct Problems(pub Vec<Problem>);

/// A unit as the CLI prints it.
#[derive(Debug, Clone, Serialize)]
pub struct UnitOut {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent: Option<String>,
    /// The unit's own setting (`null`: inherited).
    pub own_area: Option<AreaType>,
    /// The effective area type.
    pub area: AreaType,
    pub join_key: String,
    /// The unit QR's text, when the server's public URL is known.
    pub qr_url: Option<String>,
    /// For `units import`: `added`, `updated` or `unchanged`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<&'static str>,
}

/// A checked CSV row.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    unit: NewUnit,
    /// The code is on the server already: the row updates it.
    exists: bool,
}

/// A checked unit file: units to add (parents first, join keys still
/// empty) and units on the server to update.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub new: Vec<NewUnit>,
    pub updates: Vec<UnitUpdate>,
}

const COLUMNS: [&str; 5] = ["code", "name", "kind", "parent", "area"];

/// Reads and checks a unit CSV against the units that already exist (code →
/// parent). Returns the new units ordered parents first and the updates, or
/// every problem found.
pub fn parse_csv(
    file_name: &str,
    bytes: &[u8],
    existing: &HashMap<String, Option<String>>,
) -> Result<Parsed, Problems> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut problems = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(Problems(vec![Problem::new(
                "bad_csv",
                format!("{file_name} line 1: {}", csv_error(&e)),
            )]))
        }
    };
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.to_ascii_lowercase();
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) if !index.contains_key(c) => {
                index.insert(c, i);
            }
            Some(c) => problems.push(Problem::new(
                "bad_header",
                format!("{file_name} line 1: the column {c:?} appears twice"),
            )),
            None => problems.push(Problem::new(
                "bad_header",
                format!(
                    "{file_name} line 1: unknown column {name:?}; the header is code,name,kind,parent,area"
                ),
            )),
        }
    }
    for c in COLUMNS {
        if !index.contains_key(c) {
            problems.push(Problem::new(
                "bad_header",
                format!(
                    "{file_name} line 1: the column {c:?} is missing; the header is code,name,kind,parent,area"
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let col = |record: &csv::StringRecord, c: &str| -> String {
        index
            .get(c)
            .and_then(|i| record.get(*i))
            .unwrap_or_default()
            .to_owned()
    };

    let mut rows: Vec<Row> = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                problems.push(Problem::new(
                    "bad_csv",
                    format!("{file_name} line {line}: {}", csv_error(&e)),
                ));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let at = |what: String| format!("{file_name} line {line}: {what}");
        let mut ok = true;

        let code = col(&record, "code").to_ascii_uppercase();
        if !valid_unit_code(&code) {
            ok = false;
            problems.push(Problem::new(
                "bad_code",
                at(format!(
                    "the unit code {code:?} is not valid (3–32 letters A–Z, digits or '-', not at either end)"
                )),
            ));
        } else if let Some(first) = first_line.get(&code) {
            ok = false;
            problems.push(Problem::new(
                "duplicate_unit",
                at(format!("the unit {code} is already on line {first}")),
            ));
        }
        let exists = existing.contains_key(&code);
        if valid_unit_code(&code) {
            first_line.entry(code.clone()).or_insert(line);
        }

        let name: String =
            unicode_normalization::UnicodeNormalization::nfc(col(&record, "name").as_str())
                .collect();
        if name.is_empty() || name.chars().count() > 200 {
            ok = false;
            problems.push(Problem::new(
                "bad_name",
                at(format!("the unit {code} needs a name of 1–200 characters")),
            ));
        }
        let kind = col(&record, "kind").to_lowercase();
        let kind_ok = !kind.is_empty()
            && kind.len() <= 40
            && kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !kind_ok {
            ok = false;
            problems.push(Problem::new(
                "bad_kind",
                at(format!(
                    "the kind {kind:?} is not valid (a word such as province, commune, branch, agency)"
                )),
            ));
        }
        let parent = col(&record, "parent").to_ascii_uppercase();
        let parent = (!parent.is_empty()).then_some(parent);
        if parent.as_deref() == Some(code.as_str()) {
            ok = false;
            problems.push(Problem::new(
                "cycle",
                at(format!("the unit {code} is its own parent")),
            ));
        }
        let area = match col(&record, "area").to_ascii_lowercase().as_str() {
            "" => None,
            "normal" => Some(AreaType::Normal),
            "difficult" => Some(AreaType::Difficult),
            other => {
                ok = false;
                problems.push(Problem::new(
                    "bad_area",
                    at(format!(
                        "the area {other:?} is not valid: normal, difficult, or empty to inherit"
                    )),
                ));
                None
            }
        };
        if ok {
            rows.push(Row {
                line,
                exists,
                unit: NewUnit {
                    code: UnitCode::new(code),
                    name,
                    kind,
                    parent: parent.map(UnitCode::new),
                    area,
                    join_key: String::new(),
                },
            });
        }
    }

    // Parents: on the server already, or in this file.
    let in_file: HashMap<&str, &Row> = rows.iter().map(|r| (r.unit.code.as_str(), r)).collect();
    for row in &rows {
        if let Some(parent) = &row.unit.parent {
            let parent = parent.as_str();
            if parent != row.unit.code.as_str()
                && !existing.contains_key(parent)
                && !in_file.contains_key(parent)
                && !first_line.contains_key(parent)
            {
                problems.push(Problem::new(
                    "unknown_parent",
                    format!(
                        "{file_name} line {}: the parent {parent} of {} is neither on the server nor in the file",
                        row.line, row.unit.code
                    ),
                ));
            }
        }
    }

    // Order parents first; a loop of parents inside the file is a cycle.
    let mut ordered: Vec<NewUnit> = Vec::with_capacity(rows.len());
    let mut placed: HashSet<&str> = HashSet::new();
    let mut reported: HashSet<&str> = HashSet::new();
    for row in &rows {
        let mut chain: Vec<&Row> = Vec::new();
        let mut current: Option<&Row> = Some(row);
        let mut seen: HashSet<&str> = HashSet::new();
        while let Some(r) = current {
            let code = r.unit.code.as_str();
            if placed.contains(code) {
                break;
            }
            if !seen.insert(code) {
                // A loop: `code` is met again.
                let start = chain
                    .iter()
                    .position(|c| c.unit.code.as_str() == code)
                    .unwrap_or(0);
                let cycle = &chain[start..];
                if cycle.iter().all(|c| reported.insert(c.unit.code.as_str())) {
                    let path: Vec<&str> = cycle
                        .iter()
                        .map(|c| c.unit.code.as_str())
                        .chain(std::iter::once(code))
                        .collect();
                    let lines: Vec<String> = cycle.iter().map(|c| c.line.to_string()).collect();
                    problems.push(Problem::new(
                        "cycle",
                        format!(
                            "{file_name} lines {}: the parents go round in a circle: {}",
                            lines.join(", "),
                            path.join(" → ")
                        ),
                    ));
                }
                chain.clear();
                break;
            }
            chain.push(r);
            current = r
                .unit
                .parent
                .as_ref()
                .and_then(|p| in_file.get(p.as_str()).copied());
        }
        for r in chain.iter().rev() {
            if placed.insert(r.unit.code.as_str()) {
                ordered.push(r.unit.clone());
            }
        }
    }

    // An existing unit given a new parent must not end up below itself
    // through units already on the server.
    for row in rows.iter().filter(|r| r.exists) {
        let code = row.unit.code.as_str();
        if reported.contains(code) {
            continue;
        }
        let parent_of = |c: &str| -> Option<String> {
            match in_file.get(c) {
                Some(r) => r.unit.parent.as_ref().map(|p| p.as_str().to_owned()),
                None => existing.get(c).cloned().flatten(),
            }
        };
        let mut next = parent_of(code);
        let mut steps = 0;
        while let Some(p) = next {
            steps += 1;
            if p == code {
                problems.push(Problem::new(
                    "cycle",
                    format!(
                        "{file_name} line {}: {code} would end up below itself (its new parent is one of its own units)",
                        row.line
                    ),
                ));
                break;
            }
            if steps > 10_000 {
                break;
            }
            next = parent_of(&p);
        }
    }

    if problems.is_empty() && ordered.is_empty() {
        problems.push(Problem::new(
            "empty_csv",
            format!("{file_name}: no units after the header line"),
        ));
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let updating: HashSet<&str> = rows
        .iter()
        .filter(|r| r.exists)
        .map(|r| r.unit.code.as_str())
        .collect();
    let mut parsed = Parsed::default();
    for unit in ordered {
        if updating.contains(unit.code.as_str()) {
            parsed.updates.push(UnitUpdate {
                code: unit.code,
                name: unit.name,
                kind: unit.kind,
                parent: unit.parent,
                area: unit.area,
            });
        } else {
            parsed.new.push(unit);
        }
    }
    Ok(parsed)
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text (save the file as \"CSV UTF-8\")".to_owned(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => e.to_string(),
    }
}

/// Imports a CSV file: checks it whole, then, in one transaction, adds the
/// new units (a new join key each) and updates the existing ones (their
/// devices pull a unit change). Prints the units of the file, parents first.
pub fn import(
    storage: &dyn Storage,
    file_name: &str,
    bytes: &[u8],
) -> anyhow::Result<Vec<UnitOut>> {
    let existing: HashMap<String, Option<String>> = storage
        .units()?
        .into_iter()
        .map(|u| {
            (
                u.code.as_str().to_owned(),
                u.parent.map(|p| p.as_str().to_owned()),
            )
        })
        .collect();
    let mut parsed = parse_csv(file_name, bytes, &existing)?;
    for unit in &mut parsed.new {
        unit.join_key = crate::random_code(10)?;
    }
    let changed = storage.import_units(&parsed.new, &parsed.updates)?;
    let public_url = storage.setting(PUBLIC_URL)?;
    let mut out = Vec::with_capacity(parsed.new.len() + parsed.updates.len());
    let listed = parsed
        .new
        .iter()
        .map(|u| (&u.code, "added"))
        .chain(parsed.updates.iter().map(|u| {
            let status = if changed.contains(&u.code) {
                "updated"
            } else {
                "unchanged"
            };
            (&u.code, status)
        }));
    for (code, status) in listed {
        let row = storage
            .unit(code.as_str())?
            .ok_or_else(|| anyhow::anyhow!("unit {code} vanished after import"))?;
        let mut unit = unit_out(row, public_url.as_deref());
        unit.import = Some(status);
        out.push(unit);
    }
    Ok(out)
}

/// Every unit, for `units list`.
pub fn list(storage: &dyn Storage) -> anyhow::Result<Vec<UnitOut>> {
    let public_url = storage.setting(PUBLIC_URL)?;
    Ok(storage
        .units()?
        .into_iter()
        .map(|row| unit_out(row, public_url.as_deref()))
        .collect())
}

/// Gives the unit a new join key. Devices already enrolled keep working; the
/// old poster stops enrolling new ones.
pub fn rotate_key(storage: &dyn Storage, code: &str) -> anyhow::Result<UnitOut> {
    let code = code.trim().to_ascii_uppercase();
    let key = crate::random_code(10)?;
    storage.set_join_key(&code, &key)?;
    let row = storage
        .unit(&code)?
        .ok_or_else(|| anyhow::anyhow!("unit {code} vanished"))?;
    Ok(unit_out(row, storage.setting(PUBLIC_URL)?.as_deref()))
}

fn unit_out(row: crate::storage::UnitRow, public_url: Option<&str>) -> UnitOut {
    let qr_url = public_url.and_then(|url| {
        JoinPayload::from_typed(url, row.code.as_str(), &row.join_key)
            .ok()
            .map(|p| p.to_url())
    });
    UnitOut {
        code: row.code.as_str().to_owned(),
        name: row.name,
        kind: row.kind,
        parent: row.parent.map(|p| p.as_str().to_owned()),
        own_area: row.own_area,
        area: row.area,
        join_key: row.join_key,
        qr_url,
        import: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(csv: &str, existing: &[&str]) -> Result<Vec<String>, Vec<&'static str>> {
        let existing: HashMap<String, Option<String>> =
            existing.iter().map(|s| ((*s).to_owned(), None)).collect();
        parse_csv("u.csv", csv.as_bytes(), &existing)
            .map(|parsed| {
                parsed
                    .new
                    .into_iter()
                    .map(|u| u.code.as_str().to_owned())
                    .collect()
            })
            .map_err(|p| p.0.into_iter().map(|p| p.code).collect())
    }

    #[test]
    fn parents_come_first_whatever_the_file_order() {
        let csv = "code,name,kind,parent,area\n\
                   T-C1,Chi hội,branch,T-X1,\n\
                   T-X1,Xã,commune,TINH,difficult\n\
                   TINH,Tỉnh,province,,normal\n";
        assert_eq!(
            codes(csv, &[]).ok(),
            Some(vec!["TINH".into(), "T-X1".into(), "T-C1".into()])
        );
    }

    #[test]
    fn names_are_stored_precomposed() {
        // "Nậm Pồ" typed with combining accents (NFD).
        let csv =
            "code,name,kind,parent,area\nNAM-PO,Na\u{323}\u{302}m Po\u{302}\u{300},commune,,\n";
        let units = parse_csv("u.csv", csv.as_bytes(), &HashMap::new())
            .unwrap_or_else(|e| panic!("{e}"))
            .new;
        assert_eq!(units[0].name, "Nậm Pồ");
    }

    #[test]
    fn a_cycle_is_reported_once() {
        let csv = "code,name,kind,parent,area\n\
                   AAA,A,commune,BBB,\n\
                   BBB,B,commune,CCC,\n\
                   CCC,C,commune,AAA,\n";
        assert_eq!(codes(csv, &[]).err(), Some(vec!["cycle"]));
    }

    #[test]
    fn an_existing_code_is_an_update_and_may_not_move_below_itself() {
        // On the server: TTT ← XXX ← CCC.
        let tree: HashMap<String, Option<String>> =
            [("TTT", None), ("XXX", Some("TTT")), ("CCC", Some("XXX"))]
                .into_iter()
                .map(|(c, p)| (c.to_owned(), p.map(str::to_owned)))
                .collect();
        let csv = "code,name,kind,parent,area\nXXX,Xã,commune,TTT,difficult\n";
        let parsed = parse_csv("u.csv", csv.as_bytes(), &tree).unwrap_or_else(|e| panic!("{e}"));
        assert!(parsed.new.is_empty());
        assert_eq!(parsed.updates[0].area, Some(AreaType::Difficult));
        // TTT moved below CCC, which is below TTT.
        let csv = "code,name,kind,parent,area\nTTT,Tỉnh,province,CCC,\n";
        let Err(err) = parse_csv("u.csv", csv.as_bytes(), &tree) else {
            panic!("a cycle was accepted")
        };
        assert_eq!(err.0[0].code, "cycle", "{:?}", err.0);
    }
}
