// What most pages are about: a unit of the officer's subtrees and a year.
// Kept in the address (?unit=&year=) so a page can be bookmarked and shared.
import { route } from "./router";
import { me } from "./session";

export const THIS_YEAR = new Date().getFullYear();
export const YEARS = Array.from({ length: 6 }, (_, i) => THIS_YEAR - i);

export function pageYear(): number {
  const y = Number(route.value.params.get("year"));
  return y >= 2021 && y <= 2100 ? y : THIS_YEAR;
}

/** The unit asked for, else the root of the officer's first role. */
export function pageUnit(): string {
  return route.value.params.get("unit") ?? me.value?.roles[0]?.unit ?? "";
}

export function unitName(code: string): string {
  return me.value?.units.find((u) => u.code === code)?.name ?? code;
}

/** The officer's units, indented by depth, for a <select>. */
export function unitOptions(): { code: string; label: string }[] {
  const units = me.value?.units ?? [];
  const depth = (code: string): number => {
    let d = 0;
    let u = units.find((x) => x.code === code);
    while (u?.parent && units.some((x) => x.code === u!.parent)) {
      d += 1;
      u = units.find((x) => x.code === u!.parent);
    }
    return d;
  };
  return units.map((u) => ({ code: u.code, label: `${"— ".repeat(depth(u.code))}${u.name} (${u.code})` }));
}

/** A date-time from the server (RFC 3339), in the chosen language's form. */
export function when(at: string, locale: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString(locale, { dateStyle: "short", timeStyle: "short" });
}
