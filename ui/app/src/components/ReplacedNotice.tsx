// Answers the person changed on this device and had not sent, replaced by a
// version another device sent first: kept and shown until "Đã xem", and used
// again while the assessment can be edited here.
import { useState } from "preact/hooks";
import type { JSX } from "preact";
import { ErrorNotice } from "@cdht/shared/components";
import { locale, t, tx } from "@cdht/shared/i18n";
import type { Answer, AssessmentView, ReplacedAnswerRow } from "@cdht/shared/app-types";
import { call } from "../api";
import { go } from "../state";

/** `saved()` waits for the form's autosaves. */
export function ReplacedNotice({ view, saved }: { view: AssessmentView; saved: () => Promise<unknown> }) {
  const [error, setError] = useState<unknown>(null);
  const kept = view.replaced_answers ?? [];
  if (!kept.length) return null;
  const a = view.assessment;
  const indicators = view.group.competencies.flatMap((c) => c.indicators);
  const answerText = (indicatorId: string, answer: Answer | null | undefined): string => {
    if (answer === null || answer === undefined) return t("assess.replaced_unanswered");
    const level = indicators.find((i) => i.id === indicatorId)?.levels.find((l) => l.id === answer || l.points === answer);
    if (level) return `${tx(level.label)} (${t("assess.points", { points: level.points })})`;
    return typeof answer === "number" ? t("assess.points", { points: answer }) : String(answer);
  };
  const keptText = (row: ReplacedAnswerRow) =>
    row.level_label && row.points !== null
      ? `${tx(row.level_label)} (${t("assess.points", { points: row.points })})`
      : answerText(row.indicator_id, row.answer);
  const act = (run: () => Promise<AssessmentView>, flash: string | null) => async (ev: JSX.TargetedMouseEvent<HTMLButtonElement>) => {
    const button = ev.currentTarget;
    button.disabled = true;
    try {
      await saved(); // every change made so far is stored first
      await run();
      go("assess", { flash, year: a.year, personId: a.person_id });
    } catch (err) {
      button.disabled = false;
      setError(err);
    }
  };
  const when = (ms: number) =>
    new Date(ms).toLocaleString(locale(), { hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit", year: "numeric" });
  return (
    <div class="notice warn" id="assess-replaced" role="status">
      <p><strong>{t("assess.replaced_notice")}</strong></p>
      {kept.map((k) => (
        <div class="replaced-set" key={k.replaced_id} data-replaced-id={k.replaced_id}>
          <p class="hint">{t("assess.replaced_at", { time: when(k.replaced_at_ms) })}</p>
          <ul class="replaced-rows">
            {k.rows.map((row) => (
              <li key={row.indicator_id} data-indicator={row.indicator_id}>
                <strong>{t("assess.indicator", { id: row.indicator_id })}{row.indicator_title ? ` · ${tx(row.indicator_title)}` : ""}: </strong>
                {keptText(row)}
                <div class="hint">{t("assess.replaced_now", { answer: answerText(row.indicator_id, row.current) })}</div>
              </li>
            ))}
          </ul>
          <p class="hint">{k.can_restore ? t("assess.replaced_restore_hint") : t("assess.replaced_locked_hint")}</p>
          {k.can_restore ? (
            <button class="primary" type="button" id={`replaced-restore-${k.replaced_id}`}
              onClick={act(() => call("restore_replaced_answers", { assessment_id: a.assessment_id, replaced_id: k.replaced_id }), t("assess.replaced_restored"))}>
              {t("assess.replaced_restore")}
            </button>
          ) : null}
        </div>
      ))}
      <div>
        <button class="secondary" type="button" id="replaced-seen"
          onClick={act(() => call("dismiss_replaced_answers", { assessment_id: a.assessment_id }), null)}>
          {t("assess.replaced_seen")}
        </button>
      </div>
      <div id="replaced-messages">{error ? <ErrorNotice error={error} id="replaced-error" /> : null}</div>
    </div>
  );
}
