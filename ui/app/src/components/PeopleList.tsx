// The officer's people, grouped by household: the list comes in household
// order; search results keep their ranking, each household where its first
// match is.
import { t } from "@cdht/shared/i18n";
import type { PeopleListItem } from "@cdht/shared/app-types";
import { go } from "../state";

export function PeopleList({ people, searched, onEdit, onSameHousehold }: {
  people: PeopleListItem[];
  searched: boolean;
  onEdit: (personId: string) => void;
  onSameHousehold: (label: string) => void;
}) {
  if (people.length === 0) {
    return (
      <ul class="people" id="people-list">
        <li class="hint" id="people-empty">{searched ? t("officer.no_match") : t("officer.empty")}</li>
      </ul>
    );
  }
  const groups = new Map<string, { label: string; people: PeopleListItem[] }>();
  for (const p of people) {
    const label = (p.household_label ?? "").trim();
    const key = p.is_self ? "self" : `h:${label.toLocaleLowerCase("vi")}`;
    if (!groups.has(key)) groups.set(key, { label, people: [] });
    groups.get(key)!.people.push(p);
  }
  return (
    <ul class="people" id="people-list">
      {[...groups.entries()].map(([key, g]) => (
        <li class="household" key={key}>
          <h4 class="household-label">
            {t("officer.household_group", { label: g.label || t("officer.no_household"), count: g.people.length })}
          </h4>
          <ul class="people">
            {g.people.map((p) => (
              <li class="person card" key={p.person_id} data-person-id={p.person_id}>
                <div class="person-main">
                  <strong class="person-name">{p.full_name}</strong>
                  {p.is_self ? ` ${t("officer.self")}` : ""}
                  {p.birth_year ? ` · ${p.birth_year}` : ""}
                  {p.cccd_masked ? <div class="hint person-cccd">{t("officer.person_cccd", { masked: p.cccd_masked })}</div> : null}
                  {p.owner_unit ? <div class="hint person-unit">{t("officer.person_unit", { unit: p.owner_unit })}</div> : null}
                </div>
                <span class={`badge status-${p.assessment?.status ?? "none"}`}>
                  {p.assessment ? t(`status.${p.assessment.status}`) : t("officer.no_assessment")}
                  {p.assessment?.score ? ` · ${p.assessment.score.total_points}` : ""}
                </span>
                <div class="person-actions">
                  <button class="secondary" onClick={() => go("assess", { personId: p.person_id })}>{t("officer.assess")}</button>
                  <button class="secondary" onClick={() => go("history", { personId: p.person_id })}>{t("nav.history")}</button>
                  <button class="secondary edit-person" onClick={() => onEdit(p.person_id)}>{t("officer.edit")}</button>
                  {p.household_label ? (
                    <button class="secondary" onClick={() => onSameHousehold(p.household_label!)}>{t("officer.same_household")}</button>
                  ) : null}
                </div>
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ul>
  );
}
