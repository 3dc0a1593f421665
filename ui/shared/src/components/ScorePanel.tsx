import { describe, t, tx } from "../i18n";
import type { Text } from "../types";

export type Score = {
  total: number;
  max_total: number;
  passed: boolean;
  threshold: number;
  min_indicator_points: number;
  unanswered: string[];
  competencies: { id: string; name: Text; points: number; max_points: number }[];
  reasons: { kind: string }[];
  /** Each a code with its params (`raise_indicator`, `raise_indicator_to_level`). */
  improvements: { code: string; indicator: string }[];
  provisional: { rule: string }[];
};

export type Verdict = { cls: "pending" | "pass" | "fail"; text: string };

/** The verdict in words: unanswered indicators first, then pass or fail. */
export function verdictOf(score: Score): Verdict {
  const unanswered = score.unanswered.length;
  if (unanswered > 0) return { cls: "pending", text: t("assess.verdict_unanswered", { count: unanswered }) };
  return score.passed ? { cls: "pass", text: t("assess.verdict_pass") } : { cls: "fail", text: t("assess.verdict_fail") };
}

/**
 * The live score of an assessment: total, verdict, why it fails and the
 * smallest changes that would pass, all worded from codes by the catalogs.
 * `indicatorTitle` names an indicator (from the assessment's catalog);
 * `onJump` goes to an unanswered indicator.
 */
export function ScorePanel({ score, indicatorTitle, onJump }: {
  score: Score;
  indicatorTitle: (indicator: string) => Text | null | undefined;
  onJump?: (indicator: string) => void;
}) {
  const unanswered = score.unanswered.length;
  const verdict = verdictOf(score);
  const reasons = score.reasons.filter((r) => r.kind !== "unanswered");
  return (
    <section id="score-panel" class="score card">
      <p class="total" id="score-total">{t("assess.score", { total: score.total, max: score.max_total })}</p>
      <p class={`verdict ${verdict.cls}`} id="verdict" data-verdict={verdict.cls}>{verdict.text}</p>
      {score.provisional.length && unanswered === 0 ? (
        <div class="provisional" id="score-provisional">
          {score.provisional.map((p) => <p key={p.rule}>{t(`provisional.${p.rule}`, { threshold: score.threshold })}</p>)}
        </div>
      ) : null}
      {unanswered > 0 ? (
        <div class="unanswered" id="score-unanswered">
          <span class="hint">{t("assess.go_unanswered")}</span>
          {score.unanswered.map((id) => (
            <button key={id} class="secondary small" type="button" onClick={() => onJump?.(id)}>{id}</button>
          ))}
        </div>
      ) : null}
      <p class="hint">{t("assess.threshold", { threshold: score.threshold, min: score.min_indicator_points })}</p>
      <ul class="competency-scores">
        {score.competencies.map((c) => <li key={c.id}>{`${c.id}. ${tx(c.name)}: ${c.points}/${c.max_points}`}</li>)}
      </ul>
      {reasons.length && unanswered === 0 ? (
        <div id="score-reasons">
          <h4>{t("assess.reasons")}</h4>
          <ul>{reasons.map((r, i) => <li key={i}>{describe({ ...r, code: r.kind })}</li>)}</ul>
        </div>
      ) : null}
      {score.improvements.length && unanswered === 0 ? (
        <div id="score-improvements">
          <h4>{t("assess.improvements")}</h4>
          <ul>{score.improvements.map((i, n) => <li key={n}>{describe(i, { indicator_title: tx(indicatorTitle(i.indicator)) })}</li>)}</ul>
        </div>
      ) : null}
    </section>
  );
}
