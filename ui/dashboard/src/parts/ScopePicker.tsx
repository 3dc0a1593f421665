import { Field } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import { navigate, route } from "../router";
import { pageUnit, pageYear, unitOptions, YEARS } from "../scope";

/** The unit and year selects every page starts with; changing one reloads the page's data. */
export function ScopePicker({ extra = {} }: { extra?: Record<string, string | null> }) {
  const go = (params: Record<string, string | number>) =>
    navigate(route.value.path, { ...Object.fromEntries(route.value.params), ...extra, unit: pageUnit(), year: pageYear(), ...params });
  return (
    <div class="scope-picker">
      <Field label={t("dash.unit")}>
        <select id="scope-unit" value={pageUnit()} onChange={(e) => go({ unit: e.currentTarget.value })}>
          {unitOptions().map((u) => <option key={u.code} value={u.code}>{u.label}</option>)}
        </select>
      </Field>
      <Field label={t("dash.year")}>
        <select id="scope-year" value={String(pageYear())} onChange={(e) => go({ year: e.currentTarget.value })}>
          {YEARS.map((y) => <option key={y} value={y}>{y}</option>)}
        </select>
      </Field>
    </div>
  );
}
