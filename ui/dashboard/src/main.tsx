// The officers' web dashboard, served by the sync server at /dashboard/. A
// shell for now: the dashboard's own issue fills it, with the components,
// catalogs and generated API types it shares with the app.
import "@cdht/shared/fonts.css";
import "@cdht/shared/styles.css";
import { render } from "preact";
import { Notice } from "@cdht/shared/components";
import { lang, languages, setLang, t } from "@cdht/shared/i18n";

function Dashboard() {
  return (
    <>
      <header class="top">
        <div class="brand">
          <h1 id="dashboard-title">{t("dashboard.title")}</h1>
          <label class="lang">
            <span class="sr-only">{t("lang.switch")}</span>
            <select id="lang-select" value={lang()} onChange={(e) => setLang(e.currentTarget.value)}>
              {languages().map((l) => <option key={l.code} value={l.code}>{l.name}</option>)}
            </select>
          </label>
        </div>
      </header>
      <main id="dashboard">
        <Notice kind="info">{t("dashboard.intro")}</Notice>
      </main>
    </>
  );
}

render(<Dashboard />, document.getElementById("app")!);
