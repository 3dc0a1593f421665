// Home: one next step and one button, following the person's state
// (crates/app next_step.rs), then what this device holds.
import { ErrorNotice } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import type { NextStep } from "@cdht/shared/app-types";
import { useSyncEvent } from "../live";
import { applyTextSize, go, refreshOverview, TEXT_SIZES, textSize, type TextSize } from "../state";
import { useLoad } from "../useLoad";

export function HomeScreen() {
  const loaded = useLoad(refreshOverview);
  // The unit's real name and the waiting counts come with a sync round.
  useSyncEvent((event) => {
    if (event.name !== "sync-error" && event.name !== "sync-progress") loaded.reload();
  });
  if (loaded.error) return <ErrorNotice error={loaded.error} />;
  const o = loaded.data;
  if (!o) return <p>{t("common.loading")}</p>;
  const unit = o.units.find((u) => u.active);
  const me = o.self_person;
  const year = o.year;
  const mine = o.this_year;
  const assess = () => go("assess", { personId: me?.person_id ?? null });
  const history = () => go("history", { personId: me?.person_id ?? null });
  const steps: Record<NextStep, [string, string, () => void]> = {
    join: ["home.step_join", "home.step_join_button", () => go("join")],
    profile: ["home.step_profile", "home.step_profile_button", () => go("profile")],
    assess: ["home.step_assess", "home.step_assess_button", assess],
    continue_draft: ["home.step_draft", "home.step_draft_button", assess],
    send: ["home.step_send", "home.step_send_button", () => go("sync")],
    await_review: ["home.step_review", "home.step_review_button", assess],
    fix_returned: ["home.step_returned", "home.step_returned_button", assess],
    await_recognition: ["home.step_approved", "home.step_history_button", history],
    recognised: ["home.step_recognised", "home.step_history_button", history],
  };
  const [text, button, onClick] = steps[o.next_step] ?? steps.join;
  const vars = { year, reason: mine?.return_reason ?? "" };
  return (
    <>
      <h2>{t("home.welcome")}</h2>
      {o.broken_photos > 0 ? <div class="notice error">{t("home.broken_photos", { count: o.broken_photos })}</div> : null}
      <section class="card next" id="home-step" data-step={o.next_step}>
        <h2>{t("common.next_step")}</h2>
        <p id="home-next-text">{t(text, vars)}</p>
        <button class="primary" id="home-next" onClick={onClick}>{t(button, vars)}</button>
      </section>
      <section class="card">
        {mine ? (
          <p id="home-status">
            {t("home.this_year", { year })}{" "}
            <span class={`badge status-${mine.status}`}>{t(`status.${mine.status}`)}</span>
            {mine.score ? ` · ${t("history.score", { total: mine.score.total_points })}` : ""}
          </p>
        ) : null}
        {unit ? (
          <p id="home-unit">
            {unit.name_known === false ? t("home.unit_unnamed", { code: unit.unit_code }) : t("home.unit", { unit: unit.name })}
          </p>
        ) : null}
        {me ? <p id="home-person">{t("home.person", { name: me.full_name })}</p> : null}
        <p>{t("home.waiting_sync", { records: o.sync.waiting_records, photos: o.sync.waiting_photos })}</p>
        <p class="hint">{t("home.officer_hint")}</p>
        <button class="secondary" id="home-officer" onClick={() => go("officer")}>{t("nav.officer")}</button>
      </section>
      <section class="card" id="text-size">
        <h3>{t("home.text_size")}</h3>
        <div class="choices">
          {(Object.keys(TEXT_SIZES) as TextSize[]).map((size) => (
            <button key={size} class={textSize.value === size ? "primary" : "secondary"} id={`text-size-${size}`}
              aria-pressed={textSize.value === size ? "true" : "false"} onClick={() => applyTextSize(size)}>
              {t(`home.text_size_${size}`)}
            </button>
          ))}
        </div>
      </section>
    </>
  );
}
