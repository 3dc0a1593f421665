//! The TypeScript declarations of what crosses the app's IPC: every command's
//! arguments and answers and every sync event's payload, derived from the Rust
//! types themselves (ts-rs, test builds only) into
//! `ui/shared/src/generated/app-ipc.ts`, which the UI imports. This test
//! fails when the committed file is not what the types make now;
//! `CDHT_UPDATE_GENERATED=1 cargo test -p cdht-app --lib ts_types` rewrites it.

use ts_rs::TS;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../ui/shared/src/generated/app-ipc.ts"
);

const HEADER: &str = "\
// Generated from the Rust types by crates/app/src/ts_types.rs (ts-rs). Do not edit:
// run `CDHT_UPDATE_GENERATED=1 cargo test -p cdht-app --lib ts_types`.
// 64-bit integers are `number`: serde_json writes them as JSON numbers, and the
// values crossing (milliseconds, counts, bytes, revisions) stay below 2^53.
";

macro_rules! declarations {
    ($($ty:ty),* $(,)?) => {
        vec![$(<$ty as TS>::decl()),*]
    };
}

fn generated() -> String {
    use cdht_core::catalog::{Competency, Group, Indicator, Level, Rules, Text};
    use cdht_core::ids::{
        AssessmentId, CatalogId, CompetencyId, EvidenceId, GroupId, IndicatorId, LevelId, PersonId,
        UnitCode,
    };
    use cdht_core::options::ForeignOnlyWording;
    use cdht_core::score::{
        CompetencyScore, Improvement, ImprovementCode, IndicatorScore, Reason, ReasonKind,
    };
    use cdht_core::sync::DeviceScope;
    use cdht_core::{Answer, AreaType, ExemplaryStatus, ProvisionalRule, ScoreResult};
    use cdht_store::{
        Assessment, AssessmentBrief, AssessmentStatus, DeleteOutcome, Evidence, Gender, Person,
        PersonListItem, Saved, ScoreSummary, Unit,
    };
    use cdht_sync_engine::{SyncErrorKind, SyncPhase, SyncProgress};

    let declarations = declarations![
        // cdht-core: ids, catalog texts, scoring.
        PersonId,
        AssessmentId,
        EvidenceId,
        CatalogId,
        GroupId,
        CompetencyId,
        IndicatorId,
        LevelId,
        UnitCode,
        Text,
        Rules,
        Group,
        Competency,
        Indicator,
        Level,
        ForeignOnlyWording,
        AreaType,
        Answer,
        ScoreResult,
        ProvisionalRule,
        CompetencyScore,
        IndicatorScore,
        Reason,
        ReasonKind,
        Improvement,
        ImprovementCode,
        ExemplaryStatus,
        DeviceScope,
        cdht_core::Code,
        // cdht-store: the records.
        serde_json::Value,
        Unit,
        Person,
        Gender,
        Saved,
        DeleteOutcome,
        ScoreSummary,
        AssessmentBrief,
        AssessmentStatus,
        PersonListItem,
        Assessment,
        Evidence,
        // cdht-sync-engine: a round's progress and failures.
        SyncPhase,
        SyncProgress,
        SyncErrorKind,
        // cdht-app: the commands' arguments and answers, and the events.
        crate::AppError,
        crate::next_step::NextStep,
        crate::Overview,
        crate::CatalogSummary,
        crate::GroupSummary,
        crate::SyncStatus,
        crate::RefusedPhoto,
        crate::WaitingRecord,
        crate::RejectedRecord,
        crate::ProfileForm,
        crate::PersonForm,
        crate::PeopleListItem,
        crate::AssessmentView,
        crate::ReplacedAnswersView,
        crate::ReplacedAnswerRow,
        crate::EvidenceView,
        crate::AnswerSaved,
        crate::EvidenceAdded,
        crate::HistoryView,
        crate::background::SyncEvent,
        crate::background::SyncDone,
        crate::background::SyncErrorView,
        crate::background::EnrolledView,
        crate::background::SyncState,
        crate::background::OfficerBinding,
    ];
    let mut out = String::from(HEADER);
    for declaration in declarations {
        out.push('\n');
        out.push_str("export ");
        out.push_str(&declaration.replace("bigint", "number"));
        out.push('\n');
    }
    // Every code's name: `npm run check` requires each in every catalog.
    out.push_str("\n/** Every code's name (cdht_core::Code::ALL). */\nexport const CODES = [\n");
    for code in cdht_core::Code::ALL {
        out.push_str(&format!("  \"{}\",\n", code.name));
    }
    out.push_str("] as const;\n");
    out
}

#[test]
fn the_uis_ipc_types_are_current() {
    let text = generated();
    if std::env::var_os("CDHT_UPDATE_GENERATED").is_some() {
        std::fs::write(PATH, &text).expect("write the generated types");
        return;
    }
    let committed = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        committed == text,
        "{PATH} is not what the Rust types make now: run \
         `CDHT_UPDATE_GENERATED=1 cargo test -p cdht-app --lib ts_types` and commit it"
    );
}
