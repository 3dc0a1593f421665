import { useState } from "preact/hooks";
import { ErrorNotice, Field, Notice, OkNotice } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import type { components } from "@cdht/shared/generated/dashboard-api.ts";
import { postJson } from "../api";
import { hasRole } from "../session";
import { unitName } from "../scope";

type Eligible = components["schemas"]["EligiblePerson"];

/** The people eligible for the exemplary title; a recogniser records the decision for those chosen. */
export function ExemplaryForm({ unit, year, persons, onDone }: { unit: string; year: number; persons: Eligible[]; onDone: () => void }) {
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [no, setNo] = useState("");
  const [date, setDate] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  if (persons.length === 0) return <Notice kind="info" id="exemplary-empty">{t("dash.exemplary_none")}</Notice>;
  const canGrant = hasRole("recogniser");
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await postJson(`/units/${encodeURIComponent(unit)}/exemplary`, { year, decision_no: no.trim(), decision_date: date, persons: [...chosen] });
      setDone(t("dash.exemplary_ok", { count: chosen.size, no: no.trim() }));
      setChosen(new Set());
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form id="exemplary-form" onSubmit={submit}>
      <ul class="pick-list">
        {persons.map((p) => (
          <li key={p.person}>
            <label class="check">
              {canGrant ? <input type="checkbox" data-person={p.person} checked={chosen.has(p.person)} onChange={() => {
                const next = new Set(chosen);
                if (next.has(p.person)) next.delete(p.person); else next.add(p.person);
                setChosen(next);
              }} /> : null}
              <span>{p.person_name}</span>
              <span class="hint">{unitName(p.unit)} · {t("dash.streak", { years: p.streak })}</span>
            </label>
          </li>
        ))}
      </ul>
      {canGrant ? (
        <div class="filters">
          <Field label={t("dash.decision_no")}>
            <input type="text" id="exemplary-no" required maxLength={100} value={no} onInput={(e) => setNo(e.currentTarget.value)} />
          </Field>
          <Field label={t("dash.decision_date")}>
            <input type="date" id="exemplary-date" required value={date} onInput={(e) => setDate(e.currentTarget.value)} />
          </Field>
          <button class="primary" id="exemplary-grant" type="submit" disabled={chosen.size === 0}>{t("dash.exemplary_grant", { count: chosen.size })}</button>
        </div>
      ) : null}
      {done ? <OkNotice id="exemplary-done">{done}</OkNotice> : null}
      <ErrorNotice error={error} id="exemplary-error" />
    </form>
  );
}
