//! People: the citizen's own profile, an officer's quick-add of household
//! members, the list and the search; and the checks of what was typed.

use super::*;
use cdht_core::Code;

/// A person's line in the officer's list, with the unit that owns a pulled
/// person on the server when it is not the unit joined on this device.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PeopleListItem {
    #[serde(flatten)]
    pub item: PersonListItem,
    pub owner_unit: Option<String>,
}

impl std::ops::Deref for PeopleListItem {
    type Target = PersonListItem;

    fn deref(&self) -> &PersonListItem {
        &self.item
    }
}

/// The profile form (the citizen's own profile).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(default)]
pub struct ProfileForm {
    pub full_name: String,
    pub birth_year: Option<i32>,
    pub gender: Option<Gender>,
    pub ethnicity: Option<String>,
    pub target_group: Option<GroupId>,
    /// A newly typed CCCD; `None` or empty keeps what is stored.
    pub cccd: Option<String>,
    /// The consent checkbox, required with a new CCCD.
    pub cccd_consent: bool,
    /// Erase the stored CCCD and its consent.
    pub erase_cccd: bool,
}

/// The officer's quick-add form (a household member).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(default)]
pub struct PersonForm {
    pub person_id: Option<PersonId>,
    pub full_name: String,
    pub birth_year: Option<i32>,
    pub gender: Option<Gender>,
    pub ethnicity: Option<String>,
    pub target_group: Option<GroupId>,
    pub household_label: Option<String>,
    pub household_address: Option<String>,
    pub cccd: Option<String>,
    pub cccd_consent: bool,
    /// Erase the stored CCCD and its consent (also one the server holds for a
    /// pulled person: the consent is withdrawn there too).
    pub erase_cccd: bool,
}

impl App {
    /// Saves the citizen's own profile (creating it the first time).
    pub fn save_profile(&mut self, form: &ProfileForm) -> AppResult<Person> {
        let existing = self.store.self_person()?;
        let cccd = cccd_update(form.cccd.as_deref(), form.cccd_consent, form.erase_cccd)?;
        let unit_code = match existing.as_ref().and_then(|p| p.unit_code.clone()) {
            Some(code) => Some(code),
            None => self.active_unit()?.map(|u| u.unit_code),
        };
        let input = PersonInput {
            person_id: existing.as_ref().map(|p| p.person_id),
            unit_code,
            is_self: true,
            full_name: check_name(&form.full_name)?,
            birth_year: check_birth_year(form.birth_year)?,
            gender: form.gender,
            ethnicity: check_optional("ethnicity", form.ethnicity.as_ref(), 100)?,
            target_group: self.check_group(form.target_group.as_ref())?,
            household_label: existing.as_ref().and_then(|p| p.household_label.clone()),
            household_address: existing.as_ref().and_then(|p| p.household_address.clone()),
            cccd,
        };
        Ok(self.store.upsert_person(&input)?)
    }

    /// Adds (or edits) a person an officer collects door to door.
    pub fn save_person(&mut self, form: &PersonForm) -> AppResult<Person> {
        let cccd = cccd_update(form.cccd.as_deref(), form.cccd_consent, form.erase_cccd)?;
        let existing = match form.person_id {
            Some(id) => Some(self.store.person(id)?),
            None => None,
        };
        let unit_code = match existing.as_ref().and_then(|p| p.unit_code.clone()) {
            Some(code) => Some(code),
            None => self.active_unit()?.map(|u| u.unit_code),
        };
        let input = PersonInput {
            person_id: form.person_id,
            unit_code,
            is_self: existing.as_ref().is_some_and(|p| p.is_self),
            full_name: check_name(&form.full_name)?,
            birth_year: check_birth_year(form.birth_year)?,
            gender: form.gender,
            ethnicity: check_optional("ethnicity", form.ethnicity.as_ref(), 100)?,
            target_group: self.check_group(form.target_group.as_ref())?,
            household_label: check_optional("household", form.household_label.as_ref(), 200)?,
            household_address: check_optional(
                "address",
                form.household_address.as_ref(),
                cdht_core::text::MAX_ADDRESS_CHARS,
            )?,
            cccd,
        };
        Ok(self.store.upsert_person(&input)?)
    }

    pub fn person(&self, person_id: PersonId) -> AppResult<Person> {
        Ok(self.store.person(person_id)?)
    }

    fn check_group(&self, group: Option<&GroupId>) -> AppResult<Option<GroupId>> {
        let Some(group) = group.filter(|g| !g.as_str().is_empty()) else {
            return Ok(None);
        };
        let catalog = self.current_catalog()?;
        if catalog.group(group.as_str()).is_none() {
            return Err(AppError::new(
                Code::UnknownGroup {
                    group: group.to_string(),
                },
                format!("group {group} not in catalog {}", catalog.id),
            ));
        }
        Ok(Some(group.clone()))
    }

    /// People on this device grouped by household (the officer's list: own
    /// profile first, households by label, members by name), each with this
    /// year's assessment.
    pub fn list_people(&self, limit: usize, offset: usize) -> AppResult<Vec<PeopleListItem>> {
        let people = self.store.list_people_by_household(
            Self::current_year(),
            None,
            limit.min(MAX_PAGE),
            offset,
        )?;
        Ok(self.with_owner_units(people))
    }

    /// Names the owning unit of pulled people from another unit of the subtree.
    fn with_owner_units(&self, people: Vec<PersonListItem>) -> Vec<PeopleListItem> {
        people
            .into_iter()
            .map(|item| {
                // A courtesy: a row that cannot be read is listed without it.
                let owner_unit = self
                    .store
                    .person(item.person_id)
                    .ok()
                    .and_then(|p| p.server_unit_code)
                    .filter(|owner| item.unit_code.as_ref() != Some(owner))
                    .map(|owner| owner.as_str().to_owned());
                PeopleListItem { item, owner_unit }
            })
            .collect()
    }

    /// Name search with or without diacritics ("nguyen" finds "Nguyễn"), then
    /// the members of households whose label matches ("xom 3", "ho ong tam"):
    /// every query word starts a word of the label.
    ///
    /// The household part scans the people list here (the store's search index
    /// covers names only); a few thousand people take milliseconds.
    pub fn search_people(&self, query: &str, limit: usize) -> AppResult<Vec<PeopleListItem>> {
        if query.trim().is_empty() {
            return self.list_people(limit, 0);
        }
        let limit = limit.min(MAX_PAGE);
        let mut found = self.store.search_people(query, limit)?;
        let words: Vec<String> = fold_name(query)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        if found.len() >= limit || words.is_empty() {
            return Ok(self.with_owner_units(found));
        }
        let everyone =
            self.store
                .list_people_by_household(Self::current_year(), None, HOUSEHOLD_SCAN, 0)?;
        for person in everyone {
            if found.len() >= limit {
                break;
            }
            let matches = person
                .household_label
                .as_deref()
                .is_some_and(|label| household_matches(label, &words));
            if matches && !found.iter().any(|f| f.person_id == person.person_id) {
                found.push(person);
            }
        }
        Ok(self.with_owner_units(found))
    }
}

/// Whether every (folded) query word starts a word of the household label.
fn household_matches(label: &str, words: &[String]) -> bool {
    let folded = fold_name(label);
    let label_words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words
        .iter()
        .all(|w| label_words.iter().any(|l| l.starts_with(w.as_str())))
}

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::new(Code::NameRequired, "full name is empty"));
    }
    check_text("full_name", name, cdht_core::text::MAX_NAME_CHARS)?;
    Ok(name.to_owned())
}

/// The server's text rule (`cdht_core::text`), checked when the form is
/// saved, so a record is never parked later with `invalid_text`.
fn check_text(field: &str, text: &str, max_chars: usize) -> AppResult<()> {
    if cdht_core::text::has_forbidden_char(text, false) {
        return Err(AppError::new(
            Code::TextInvalid {
                field: field.to_owned(),
            },
            format!("{field}: a control or bidi character"),
        ));
    }
    if text.chars().count() > max_chars {
        return Err(AppError::new(
            Code::TextTooLong {
                field: field.to_owned(),
                max: max_chars as u32,
            },
            format!("{field}: over {max_chars} characters"),
        ));
    }
    Ok(())
}

/// An optional free-text field, checked like [`check_text`], kept as typed.
fn check_optional(
    field: &str,
    text: Option<&String>,
    max_chars: usize,
) -> AppResult<Option<String>> {
    if let Some(t) = text {
        check_text(field, t.trim(), max_chars)?;
    }
    Ok(text.cloned())
}

fn check_birth_year(year: Option<i32>) -> AppResult<Option<i32>> {
    let this_year = App::current_year();
    match year {
        Some(y) if !(1900..=this_year).contains(&y) => Err(AppError::new(
            Code::BirthYearInvalid {
                max: this_year as u32,
            },
            format!("birth year {y} out of range"),
        )),
        other => Ok(other),
    }
}

/// The CCCD rule: stored only with explicit consent, exactly 12 digits.
fn cccd_update(typed: Option<&str>, consent: bool, erase: bool) -> AppResult<CccdUpdate> {
    if erase {
        return Ok(CccdUpdate::Erase);
    }
    let Some(typed) = typed.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(CccdUpdate::Keep);
    };
    if !consent {
        return Err(AppError::new(
            Code::CccdConsentRequired,
            "CCCD given without consent",
        ));
    }
    let number = cdht_store::normalize_cccd(typed)
        .map_err(|_| AppError::new(Code::CccdInvalid, "CCCD is not 12 digits"))?;
    Ok(CccdUpdate::Set {
        number,
        consent_given: true,
    })
}
