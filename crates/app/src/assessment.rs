//! The self-assessment screen: open or create the year's assessment, answer,
//! add and remove evidence photos, submit, and the answers another device's
//! version replaced. Each command is one store action; the score is computed
//! on the device from the catalog the assessment was made with.

use super::*;
use cdht_core::Code;

/// Everything the self-assessment screen shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AssessmentView {
    pub assessment: Assessment,
    pub person_name: String,
    pub catalog_id: CatalogId,
    pub catalog_title: Text,
    pub catalog_draft: bool,
    pub rules: Rules,
    pub group: Group,
    // Answers is serialized by hand: an object of indicator id to answer.
    #[cfg_attr(test, ts(type = "Record<string, Answer>"))]
    pub answers: Answers,
    pub evidence: Vec<EvidenceView>,
    pub score: ScoreResult,
    pub editable: bool,
    /// Answers edited here and not sent that another device's version
    /// replaced (the first to reach the server wins), newest first: shown
    /// until the person says "Đã xem". Only kept sets that differ from the
    /// answers now are listed.
    pub replaced_answers: Vec<ReplacedAnswersView>,
}

/// One kept set of answers, for the notice on the assessment.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ReplacedAnswersView {
    pub replaced_id: i64,
    pub replaced_at_ms: i64,
    /// The answers that differ from the assessment's answers now, in the
    /// catalog's order.
    pub rows: Vec<ReplacedAnswerRow>,
    /// "Dùng lại câu trả lời của tôi" can be offered: the assessment is
    /// editable here (the other device's version is a draft or was returned).
    pub can_restore: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ReplacedAnswerRow {
    pub indicator_id: IndicatorId,
    /// `None` for an indicator the catalog no longer has.
    pub indicator_title: Option<Text>,
    /// The person's kept answer.
    pub answer: Answer,
    /// Its level's label and points, when the catalog knows them.
    pub level_label: Option<Text>,
    pub points: Option<u32>,
    /// What the assessment holds now for the indicator (`None`: unanswered).
    pub current: Option<Answer>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EvidenceView {
    #[serde(flatten)]
    pub evidence: Evidence,
    /// A small JPEG as a `data:` URL (no file access from the webview needed).
    pub thumbnail: Option<String>,
}

/// What an autosave returns: the "Đã lưu" tick and the new live score.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AnswerSaved {
    pub saved: Saved,
    pub score: ScoreResult,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EvidenceAdded {
    pub evidence: EvidenceView,
    pub saved: Saved,
}

impl App {
    /// The person's assessment for `year`, created as a draft with their target
    /// group and their unit's area type if there is none yet.
    pub fn open_assessment(&mut self, person_id: PersonId, year: i32) -> AppResult<AssessmentView> {
        let person = self.store.person(person_id)?;
        let existing = self
            .store
            .history(person_id)?
            .into_iter()
            .find(|a| a.year == year);
        if let Some(brief) = existing {
            return self.assessment_view(brief.assessment_id);
        }
        let Some(group) = person.target_group.clone() else {
            return Err(AppError::new(
                Code::NoTargetGroup,
                "person has no target group",
            ));
        };
        self.refresh_catalogs()?;
        let catalog_id = self.current_catalog()?.id.clone();
        let area = match &person.unit_code {
            Some(code) => self.store.unit(code)?.area_type,
            None => AreaType::Normal,
        };
        let assessment =
            self.store
                .create_or_get_assessment(person_id, year, &catalog_id, &group, area)?;
        self.assessment_view(assessment.assessment_id)
    }

    pub fn assessment_view(&self, assessment_id: AssessmentId) -> AppResult<AssessmentView> {
        let detail = self.store.assessment_detail(assessment_id)?;
        let assessment = detail.assessment;
        let catalog = self.catalog(&assessment.catalog_id)?;
        let group = catalog
            .group(assessment.group_id.as_str())
            .ok_or_else(|| {
                AppError::new(
                    Code::UnknownGroup {
                        group: assessment.group_id.to_string(),
                    },
                    format!("group {} not in {}", assessment.group_id, catalog.id),
                )
            })?
            .clone();
        let score = self.score(&assessment, &detail.answers, Completeness::Draft)?;
        let person = self.store.person(assessment.person_id)?;
        let evidence = detail
            .evidence
            .into_iter()
            .map(|e| self.evidence_view(e))
            .collect();
        let replaced_answers = self
            .store
            .replaced_answers(assessment_id)?
            .into_iter()
            .map(|kept| ReplacedAnswersView {
                replaced_id: kept.replaced_id,
                replaced_at_ms: kept.replaced_at_ms,
                rows: replaced_rows(&group, &kept.answers, &detail.answers),
                can_restore: assessment.status.is_editable(),
            })
            .filter(|kept| !kept.rows.is_empty())
            .collect();
        Ok(AssessmentView {
            replaced_answers,
            editable: assessment.status.is_editable(),
            person_name: person.full_name,
            catalog_id: catalog.id.clone(),
            catalog_title: catalog.title.clone(),
            catalog_draft: catalog.draft,
            rules: catalog.rules,
            group,
            answers: detail.answers,
            evidence,
            score,
            assessment,
        })
    }

    /// "Đã xem": the person has seen the answers another device's version
    /// replaced; they go. Returns the assessment as it is now.
    pub fn dismiss_replaced_answers(
        &mut self,
        assessment_id: AssessmentId,
    ) -> AppResult<AssessmentView> {
        self.store.dismiss_replaced_answers(assessment_id)?;
        self.assessment_view(assessment_id)
    }

    /// "Dùng lại câu trả lời của tôi": the kept answers become the
    /// assessment's answers again, as one autosave (the person submits when
    /// ready). Only while the assessment is editable here.
    pub fn restore_replaced_answers(
        &mut self,
        assessment_id: AssessmentId,
        replaced_id: i64,
    ) -> AppResult<AssessmentView> {
        let assessment = self.store.assessment(assessment_id)?;
        let kept = self
            .store
            .replaced_answers(assessment_id)?
            .into_iter()
            .find(|k| k.replaced_id == replaced_id)
            .ok_or_else(|| {
                AppError::new(
                    Code::ReplacedAnswersGone,
                    format!("kept answers {replaced_id} of {assessment_id} are gone"),
                )
            })?;
        // Scoring first: answers the catalog no longer takes are refused
        // before anything is stored.
        let score = self.score(&assessment, &kept.answers, Completeness::Draft)?;
        self.store
            .restore_replaced_answers(assessment_id, replaced_id, Some(summary(&score)))?;
        self.assessment_view(assessment_id)
    }

    /// Autosave of one answer; returns the saved tick and the new live score.
    pub fn set_answer(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
        answer: Answer,
    ) -> AppResult<AnswerSaved> {
        let detail = self.store.assessment_detail(assessment_id)?;
        let mut answers = detail.answers;
        answers.set(indicator.clone(), answer.clone());
        // Scoring first: an unknown indicator or level is refused before it is stored.
        let score = self.score(&detail.assessment, &answers, Completeness::Draft)?;
        let saved =
            self.store
                .set_answer(assessment_id, indicator, &answer, Some(summary(&score)))?;
        Ok(AnswerSaved { saved, score })
    }

    pub fn clear_answer(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
    ) -> AppResult<AnswerSaved> {
        let detail = self.store.assessment_detail(assessment_id)?;
        let answers: Answers = detail
            .answers
            .0
            .into_iter()
            .filter(|(id, _)| id != indicator)
            .collect();
        let score = self.score(&detail.assessment, &answers, Completeness::Draft)?;
        let saved = self
            .store
            .clear_answer(assessment_id, indicator, Some(summary(&score)))?;
        Ok(AnswerSaved { saved, score })
    }

    /// Runs a picked or photographed image through the photo pipeline (upright,
    /// shrunk, metadata stripped) and stores it as evidence for one indicator.
    pub fn add_evidence(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
        image_bytes: &[u8],
    ) -> AppResult<EvidenceAdded> {
        let photo = process_photo(image_bytes, &self.photo_options)?;
        self.add_processed_evidence(assessment_id, indicator, &photo)
    }

    /// The photo pipeline's settings, for [`process_photo`] run outside the app's lock.
    #[must_use]
    pub fn photo_options(&self) -> PhotoOptions {
        self.photo_options.clone()
    }

    /// Stores a photo already run through [`process_photo`] (the slow part, which
    /// the Tauri shell runs without holding the app, so autosaves never wait on it).
    pub fn add_processed_evidence(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
        photo: &ProcessedPhoto,
    ) -> AppResult<EvidenceAdded> {
        let detail = self.store.assessment_detail(assessment_id)?;
        if !detail.assessment.status.is_editable() {
            return Err(cdht_store::StoreError::Locked {
                assessment_id: assessment_id.to_string(),
                status: detail.assessment.status.as_str(),
            }
            .into());
        }
        let catalog = self.catalog(&detail.assessment.catalog_id)?;
        let known = catalog
            .group(detail.assessment.group_id.as_str())
            .and_then(|g| g.indicator(indicator.as_str()))
            .is_some();
        if !known {
            return Err(AppError::new(
                Code::IndicatorNotInAssessment {
                    indicator: indicator.to_string(),
                },
                format!("indicator {indicator} is not in this assessment"),
            ));
        }
        let meta = EvidenceMeta {
            mime: photo.mime.to_owned(),
            width_px: Some(photo.width),
            height_px: Some(photo.height),
            taken_at_ms: photo.taken_at.as_deref().and_then(local_iso_to_ms),
        };
        let evidence = self
            .store
            .add_evidence(assessment_id, indicator, &photo.jpeg, &meta)?;
        // A thumbnail failure must not lose the photo: it is made again when shown.
        let _ = thumbnail::write(&self.thumbnails_dir, &evidence.sha256, &photo.jpeg);
        let assessment = self.store.assessment(assessment_id)?;
        Ok(EvidenceAdded {
            evidence: self.evidence_view(evidence),
            saved: Saved {
                revision: assessment.revision,
                updated_at_ms: assessment.updated_at_ms,
            },
        })
    }

    /// Same as [`App::add_evidence`] with the bytes as base64 (how the webview sends files).
    pub fn add_evidence_base64(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
        image_base64: &str,
    ) -> AppResult<EvidenceAdded> {
        let bytes = decode_base64(image_base64)?;
        self.add_evidence(assessment_id, indicator, &bytes)
    }

    /// A stored photo as a `data:` URL, for the full-size view.
    pub fn evidence_photo(&self, sha256: &str) -> AppResult<String> {
        let is_hash = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_hash {
            return Err(AppError::new(
                Code::PhotoUnknown,
                format!("no evidence {sha256} on the device"),
            ));
        }
        if !self.store.evidence_on_device(sha256).unwrap_or(true) {
            return Err(AppError::new(
                Code::PhotoOnServer,
                "pulled photo not fetched yet",
            ));
        }
        let path = self.store.evidence_path(sha256);
        let jpeg = std::fs::read(&path).map_err(|err| {
            AppError::new(
                Code::PhotoMissing,
                format!("reading {}: {err}", path.display()),
            )
        })?;
        Ok(format!(
            "data:image/jpeg;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(jpeg)
        ))
    }

    /// One evidence line with its thumbnail (after a photo was fetched).
    pub fn evidence_view_by_id(&self, evidence_id: EvidenceId) -> AppResult<EvidenceView> {
        Ok(self.evidence_view(self.store.evidence(evidence_id)?))
    }

    pub fn remove_evidence(&mut self, evidence_id: EvidenceId) -> AppResult<Saved> {
        Ok(self.store.remove_evidence(evidence_id)?)
    }

    fn evidence_view(&self, evidence: Evidence) -> EvidenceView {
        let thumbnail = thumbnail::read_or_make(
            &self.thumbnails_dir,
            &evidence.sha256,
            &self.store.evidence_path(&evidence.sha256),
        )
        .ok()
        .map(|jpeg| {
            format!(
                "data:image/jpeg;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(jpeg)
            )
        });
        EvidenceView {
            evidence,
            thumbnail,
        }
    }

    /// Sends the assessment for the branch officer's check (queued in the outbox
    /// until a connection carries it). Every indicator must be answered.
    pub fn submit_assessment(&mut self, assessment_id: AssessmentId) -> AppResult<AssessmentView> {
        let detail = self.store.assessment_detail(assessment_id)?;
        let score = self.score(&detail.assessment, &detail.answers, Completeness::Complete)?;
        self.store.cache_score(assessment_id, summary(&score))?;
        self.store.submit_assessment(assessment_id)?;
        self.assessment_view(assessment_id)
    }
}

pub(crate) fn assessment_input(assessment: &Assessment, answers: &Answers) -> AssessmentInput {
    AssessmentInput {
        catalog: assessment.catalog_id.clone(),
        group: assessment.group_id.clone(),
        area: assessment.area_type,
        answers: answers.clone(),
    }
}

/// The kept answers that differ from `now`, in the group's order (indicators
/// the catalog no longer has last), with their labels.
fn replaced_rows(group: &Group, kept: &Answers, now: &Answers) -> Vec<ReplacedAnswerRow> {
    let indicators: Vec<_> = group
        .competencies
        .iter()
        .flat_map(|c| c.indicators.iter())
        .collect();
    let mut rows: Vec<(usize, ReplacedAnswerRow)> = kept
        .0
        .iter()
        .filter(|(id, answer)| now.get(id.as_str()) != Some(answer))
        .map(|(id, answer)| {
            let position = indicators.iter().position(|i| &i.id == id);
            let indicator = position.map(|p| indicators[p]);
            let level = indicator.and_then(|i| {
                i.levels.iter().find(|l| match answer {
                    Answer::Level(level) => &l.id == level,
                    Answer::Points(points) => i64::from(l.points) == *points,
                })
            });
            let row = ReplacedAnswerRow {
                indicator_id: id.clone(),
                indicator_title: indicator.map(|i| i.title.clone()),
                answer: answer.clone(),
                level_label: level.map(|l| l.label.clone()),
                points: level.map(|l| l.points).or_else(|| match answer {
                    Answer::Points(points) => u32::try_from(*points).ok(),
                    Answer::Level(_) => None,
                }),
                current: now.get(id.as_str()).cloned(),
            };
            (position.unwrap_or(usize::MAX), row)
        })
        .collect();
    rows.sort_by_key(|(position, _)| *position);
    rows.into_iter().map(|(_, row)| row).collect()
}

fn summary(score: &ScoreResult) -> ScoreSummary {
    ScoreSummary {
        total_points: i64::from(score.total),
        passed: score.passed,
    }
}
