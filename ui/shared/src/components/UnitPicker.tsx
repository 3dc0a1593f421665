import { t } from "../i18n";

export type UnitChoice = { unit_code: string; name: string; server_url?: string | null };

/**
 * A list of units, each by its name and where it lives; with `onPick`, each
 * one is a button that picks it (the dashboard), without it a plain list
 * (the app's joined units).
 */
export function UnitPicker({ units, id, selected, onPick }: {
  units: UnitChoice[];
  id?: string;
  selected?: string | null;
  onPick?: (code: string) => void;
}) {
  return (
    <ul id={id} class={onPick ? "unit-picker" : undefined}>
      {units.map((u) => (
        <li key={u.unit_code}>
          {onPick ? (
            <button type="button" class={selected === u.unit_code ? "primary" : "secondary"}
              aria-pressed={selected === u.unit_code} onClick={() => onPick(u.unit_code)}>
              {u.name} ({u.unit_code})
            </button>
          ) : (
            <>
              <strong>{u.name}</strong>
              {u.server_url ? <> — {t("join.server_of", { server: u.server_url })}</> : null}
            </>
          )}
        </li>
      ))}
    </ul>
  );
}
