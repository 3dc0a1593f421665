import { useEffect, useState } from "preact/hooks";
import { lang, languages, setLang, t } from "@cdht/shared/i18n";
import { go, route, SCREENS, selfId } from "./state";

/**
 * The title, the language menu and the tabs. On a phone the tabs fold behind
 * one button that also names the current screen, so the page itself starts
 * near the top of a 640 px screen.
 */
export function Header() {
  const { screen, key } = route.value;
  const [open, setOpen] = useState(false);
  // Every navigation folds the tabs again.
  useEffect(() => setOpen(false), [key]);
  return (
    <header class="top">
      <div class="brand">
        <h1 id="app-title">{t("app.title")}</h1>
        <label class="lang">
          <span class="sr-only">{t("lang.switch")}</span>
          <select id="lang-select" value={lang()} onChange={(e) => setLang(e.currentTarget.value)}>
            {languages().map((l) => <option key={l.code} value={l.code}>{l.name}</option>)}
          </select>
        </label>
      </div>
      <button class="menu-toggle" id="menu-toggle" aria-expanded={open ? "true" : "false"} aria-controls="main-nav"
        onClick={() => setOpen(!open)}>
        <span class="menu-icon" aria-hidden="true" />
        {t("nav.menu", { screen: t(`nav.${screen}`) })}
      </button>
      <nav class={open ? "tabs open" : "tabs"} id="main-nav" aria-label={t("app.title")}>
        {SCREENS.map((s) => (
          <button key={s} id={`nav-${s}`} class={s === screen ? "tab active" : "tab"} aria-current={s === screen ? "page" : undefined}
            onClick={() => go(s, s === "assess" || s === "history" ? { personId: selfId() } : {})}>
            {t(`nav.${s}`)}
          </button>
        ))}
      </nav>
    </header>
  );
}
