//! [`Storage`] for [`PgStorage`]: each method calls its table group's module.

use crate::{
    catalogs, detail, devices, documents, evidence, exemplary, pull, push, queue, report, review,
    units, unsigned, PgStorage,
};
use cdht_core::ids::{AssessmentId, DeviceId, PersonId, UnitCode};
use cdht_core::sync::{EvidenceStatus, PullResponse, RoleGrant};
use cdht_core::{AreaType, Catalog};
use cdht_server_db::{
    AssessmentRecord, AssessmentSummary, AuditEntry, BatchKey, DeviceRef, DuplicatePage,
    EnrolDevice, ExemplaryCandidate, ExemplaryCandidatePage, ExemplaryGrant, NewUnit,
    PreparedRecord, PushOutcome, Reader, Recognition, ReviewAction, Stats, Storage, StorageResult,
    Subject, UnitRow, UnitUpdate, UploadKey, UploadProgress,
};
use std::collections::HashMap;
use uuid::Uuid;

impl Storage for PgStorage {
    fn add_units(&self, units: &[NewUnit]) -> StorageResult<()> {
        Ok(units::add_units(self, units)?)
    }

    fn unit(&self, code: &str) -> StorageResult<Option<UnitRow>> {
        Ok(units::unit(self, code)?)
    }

    fn units(&self) -> StorageResult<Vec<UnitRow>> {
        Ok(units::units(self)?)
    }

    fn ancestors(&self, code: &str) -> StorageResult<Vec<UnitCode>> {
        Ok(units::ancestors(self, code)?)
    }

    fn set_join_key(&self, code: &str, join_key: &str) -> StorageResult<()> {
        Ok(units::set_join_key(self, code, join_key)?)
    }

    fn enrol_device(
        &self,
        unit: &str,
        join_key: &str,
        device: EnrolDevice<'_>,
        token_hash: &str,
    ) -> StorageResult<Option<(UnitRow, u64, DeviceId)>> {
        Ok(devices::enrol_device(
            self, unit, join_key, device, token_hash,
        )?)
    }

    fn subject_for_token(
        &self,
        token_hash: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StorageResult<Option<Subject>> {
        Ok(devices::subject_for_token(
            self,
            token_hash,
            &cdht_server_db::stored_time(now),
        )?)
    }

    fn add_officer(
        &self,
        username: &str,
        password_hash: &str,
        grants: &[RoleGrant],
    ) -> StorageResult<()> {
        Ok(devices::add_officer(self, username, password_hash, grants)?)
    }

    fn officer_login(
        &self,
        username: &str,
    ) -> StorageResult<Option<(i64, String, Vec<RoleGrant>)>> {
        Ok(devices::officer_login(self, username)?)
    }

    fn add_session(
        &self,
        officer_id: i64,
        token_hash: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> StorageResult<()> {
        Ok(devices::add_session(
            self,
            officer_id,
            token_hash,
            &cdht_server_db::stored_time(expires_at),
        )?)
    }

    fn bind_officer(&self, device_id: DeviceId, officer_id: Option<i64>) -> StorageResult<()> {
        Ok(devices::bind_officer(self, device_id, officer_id)?)
    }

    fn apply_push(
        &self,
        device: &DeviceRef,
        key: &BatchKey,
        records: &[PreparedRecord],
    ) -> StorageResult<PushOutcome> {
        Ok(push::apply_push(self, device, key, records)?)
    }

    fn assessment_areas(&self, ids: &[Uuid]) -> StorageResult<HashMap<Uuid, AreaType>> {
        Ok(push::assessment_areas(self, ids)?)
    }

    fn pull(
        &self,
        device: &DeviceRef,
        since: u64,
        limit: u32,
        household: bool,
    ) -> StorageResult<PullResponse> {
        Ok(pull::pull(self, device, since, limit, household)?)
    }

    fn assessment_unit(&self, id: AssessmentId) -> StorageResult<Option<UnitCode>> {
        Ok(review::assessment_unit(self, id)?)
    }

    fn assessment_record(&self, id: AssessmentId) -> StorageResult<Option<AssessmentRecord>> {
        Ok(detail::assessment_record(self, id)?)
    }

    fn list_assessments(&self, unit: &str) -> StorageResult<Vec<AssessmentSummary>> {
        Ok(review::list_assessments(self, unit)?)
    }

    fn review(&self, id: AssessmentId, actor: &str, action: &ReviewAction) -> StorageResult<()> {
        Ok(review::review(self, id, actor, action)?)
    }

    fn recognise(&self, unit: &str, actor: &str, rec: &Recognition) -> StorageResult<()> {
        Ok(review::recognise(self, unit, actor, rec)?)
    }

    fn duplicates(
        &self,
        unit: &str,
        after: Option<AssessmentId>,
        limit: u32,
    ) -> StorageResult<DuplicatePage> {
        Ok(review::duplicates(self, unit, after, limit)?)
    }

    fn audit(&self, unit: &str) -> StorageResult<Vec<AuditEntry>> {
        Ok(review::audit_log(self, unit)?)
    }

    fn exemplary_candidates(
        &self,
        unit: &str,
        year: u16,
        after: Option<PersonId>,
        limit: u32,
    ) -> StorageResult<ExemplaryCandidatePage> {
        Ok(exemplary::exemplary_candidates(
            self, unit, year, after, limit,
        )?)
    }

    fn grant_exemplary(
        &self,
        unit: &str,
        actor: &str,
        grant: &ExemplaryGrant,
        status: &dyn Fn(&ExemplaryCandidate) -> StorageResult<cdht_core::ExemplaryStatus>,
    ) -> StorageResult<()> {
        Ok(exemplary::grant_exemplary(
            self, unit, actor, grant, status,
        )?)
    }

    fn report_facts(
        &self,
        unit: &str,
        year: u16,
    ) -> StorageResult<cdht_server_db::facts::ReportFacts> {
        Ok(report::report_facts(self, unit, year)?)
    }

    fn person_names(&self, ids: &[String]) -> StorageResult<HashMap<String, String>> {
        Ok(report::person_names(self, ids)?)
    }

    fn review_queue(
        &self,
        unit: &str,
        filter: &cdht_server_db::queue::QueueFilter,
    ) -> StorageResult<cdht_server_db::queue::QueuePage> {
        Ok(queue::review_queue(self, unit, filter)?)
    }

    fn certificate(
        &self,
        id: AssessmentId,
        new_token: &str,
    ) -> StorageResult<Option<cdht_server_db::facts::CertificateFacts>> {
        Ok(documents::certificate(self, id, new_token)?)
    }

    fn verify_certificate(
        &self,
        token: &str,
    ) -> StorageResult<Option<cdht_server_db::facts::CertificateFacts>> {
        Ok(documents::verify(self, token)?)
    }

    fn decision_list(
        &self,
        unit: &str,
        decision_no: &str,
    ) -> StorageResult<Vec<cdht_server_db::facts::DecisionRow>> {
        Ok(documents::decision_list(self, unit, decision_no)?)
    }

    fn evidence_status(
        &self,
        reader: &Reader,
        sha256: &[String],
    ) -> StorageResult<Vec<EvidenceStatus>> {
        Ok(evidence::evidence_status(self, reader, sha256)?)
    }

    fn upload_progress(&self, key: &UploadKey) -> StorageResult<Option<UploadProgress>> {
        Ok(evidence::upload_progress(self, key)?)
    }

    fn upload_add_chunk(&self, key: &UploadKey, offset: u64, len: u64) -> StorageResult<bool> {
        Ok(evidence::upload_add_chunk(self, key, offset, len)?)
    }

    fn upload_finish(&self, key: &UploadKey, ok: bool) -> StorageResult<()> {
        Ok(evidence::upload_finish(self, key, ok)?)
    }

    fn stuck_uploads(&self) -> StorageResult<Vec<UploadKey>> {
        Ok(evidence::stuck_uploads(self)?)
    }

    fn readable_photo(&self, sha256: &str, reader: &Reader) -> StorageResult<Option<u64>> {
        Ok(evidence::readable_photo(self, sha256, reader)?)
    }

    fn catalogs(&self) -> StorageResult<Vec<Catalog>> {
        Ok(catalogs::catalogs(self)?)
    }

    fn catalog_revisions(&self) -> StorageResult<Vec<(String, u32)>> {
        Ok(catalogs::catalog_revisions(self)?)
    }

    fn add_catalog(&self, catalog: &Catalog) -> StorageResult<()> {
        Ok(catalogs::add_catalog(self, catalog)?)
    }

    fn announce_shipped_catalog(&self, catalog: &Catalog) -> StorageResult<bool> {
        Ok(catalogs::announce_shipped_catalog(self, catalog)?)
    }

    fn import_units(
        &self,
        new: &[NewUnit],
        updates: &[UnitUpdate],
    ) -> StorageResult<Vec<UnitCode>> {
        Ok(units::import_units(self, new, updates)?)
    }

    fn stats(&self) -> StorageResult<Stats> {
        let r = self
            .conn()?
            .query_one(
                "SELECT (SELECT count(*) FROM persons), (SELECT count(*) FROM assessments),
                (SELECT count(*) FROM evidence),
                (SELECT count(DISTINCT sha256) FROM uploads WHERE complete),
                (SELECT COALESCE(SUM(accepted_bytes), 0)::bigint FROM uploads),
                (SELECT count(*) FROM batches)",
                &[],
            )
            .map_err(crate::Error::from)?;
        Ok(Stats {
            persons: unsigned(r.get(0)),
            assessments: unsigned(r.get(1)),
            evidence_records: unsigned(r.get(2)),
            blobs_complete: unsigned(r.get(3)),
            evidence_bytes_accepted: unsigned(r.get(4)),
            batches: unsigned(r.get(5)),
        })
    }

    /// PostgreSQL checkpoints its own write-ahead log: nothing to fold.
    fn checkpoint(&self, _wait: bool) -> StorageResult<bool> {
        Ok(true)
    }

    fn setting(&self, key: &str) -> StorageResult<Option<String>> {
        Ok(self
            .conn()?
            .query_opt("SELECT value FROM settings WHERE key = $1", &[&key])
            .map_err(crate::Error::from)?
            .map(|r| r.get(0)))
    }

    fn set_setting(&self, key: &str, value: &str) -> StorageResult<()> {
        self.conn()?
            .execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .map_err(crate::Error::from)?;
        Ok(())
    }
}
