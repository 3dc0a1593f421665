// A person's years: status and score of each, and the streak towards the
// exemplary title.
import { ErrorNotice } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import { call } from "../api";
import { go, nav, overview, selfId } from "../state";
import { useLoad } from "../useLoad";

export function HistoryScreen() {
  const personId = nav.personId ?? selfId();
  const loaded = useLoad(async () => (personId ? call("history", { person_id: personId }) : null));
  if (!personId) return <><h2>{t("history.title")}</h2><p>{t("history.empty")}</p></>;
  if (loaded.error) return <ErrorNotice error={loaded.error} />;
  const hist = loaded.data;
  if (!hist) return <p>{t("common.loading")}</p>;
  const ex = hist.exemplary;
  return (
    <>
      <h2>{t("history.title")}</h2>
      <p>{hist.person.full_name}</p>
      <section class="card" id="history-exemplary">
        <p>{t("history.streak", { streak: ex.streak, required: ex.required })}</p>
        {ex.eligible
          ? <p class="verdict pass" id="history-eligible">{t("history.exemplary")}</p>
          : <p class="hint">{t("history.to_go", { years: ex.years_to_go })}</p>}
        {ex.provisional ? <p class="hint provisional">{t("history.exemplary_provisional", { required: ex.required })}</p> : null}
      </section>
      {hist.entries.length === 0 ? (
        <>
          <p>{t("history.empty")}</p>
          <button class="primary" id="history-start" onClick={() => go("assess", { personId })}>
            {t("home.step_assess_button", { year: overview.peek()?.year })}
          </button>
        </>
      ) : (
        <ul class="history" id="history-list">
          {hist.entries.map((e) => (
            <li class="card" key={e.year}>
              <h3>{t("history.year", { year: e.year })}</h3>
              <p>
                <span class={`badge status-${e.status}`}>{t(`status.${e.status}`)}</span>
                {e.score ? ` · ${t("history.score", { total: e.score.total_points })} (${e.score.passed ? t("history.passed") : t("history.failed")})` : ""}
              </p>
              {e.return_reason ? <p class="notice warn">{t("history.returned_reason", { reason: e.return_reason })}</p> : null}
              <button class="secondary" id={`history-open-${e.year}`} onClick={() => go("assess", { personId, year: e.year })}>
                {t("history.open")}
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
