// What every screen may need: the current screen, the overview refreshed from
// Rust after each change, and what the last navigation asked for.
import { signal } from "@preact/signals";
import type { Overview } from "@cdht/shared/app-types";
import { call } from "./api";

export const SCREENS = ["home", "join", "profile", "assess", "history", "officer", "sync"] as const;
export type Screen = (typeof SCREENS)[number];

/** The screen shown; `key` changes at every navigation, so the screen is drawn afresh. */
export const route = signal<{ screen: Screen; key: number }>({ screen: "home", key: 0 });

/** What a navigation passes to the next screen (read once it is drawn). */
export const nav: { personId: string | null; year: number | null; flash: string | null } = {
  personId: null,
  year: null,
  flash: null,
};

export const overview = signal<Overview | null>(null);

export async function refreshOverview(): Promise<Overview> {
  const o = await call("overview");
  overview.value = o;
  return o;
}

export function selfId(): string | null {
  return overview.peek()?.self_person?.person_id ?? null;
}

/** Opens `screen` (again, when it is the current one), scrolled to the top. */
export function go(screen: Screen, extra: Partial<typeof nav> = {}): void {
  Object.assign(nav, { year: null }, extra);
  route.value = { screen, key: route.peek().key + 1 };
  window.scrollTo(0, 0);
}

/** The flash message a navigation left for this screen, taken once. */
export function takeFlash(): string | null {
  const flash = nav.flash;
  nav.flash = null;
  return flash;
}

// Text size for weak eyes: a choice kept on the device, applied to the root size.
export const TEXT_SIZES = { normal: 19, large: 22, larger: 25 } as const;
export type TextSize = keyof typeof TEXT_SIZES;
const storedSize = localStorage.getItem("cdht.textSize");
export const textSize = signal<TextSize>(storedSize && storedSize in TEXT_SIZES ? (storedSize as TextSize) : "normal");

export function applyTextSize(size: TextSize): void {
  document.documentElement.style.fontSize = `${TEXT_SIZES[size] ?? TEXT_SIZES.normal}px`;
  localStorage.setItem("cdht.textSize", size);
  textSize.value = size;
}

export const IS_MOBILE = /Android|iPhone|iPad/i.test(navigator.userAgent);
