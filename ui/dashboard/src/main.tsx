// The officers' web dashboard, served by the sync server at /dashboard/:
// log in, then the pages of the roles held. One file per screen in screens/.
import "@cdht/shared/fonts.css";
import "@cdht/shared/styles.css";
import "./dashboard.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorNotice } from "@cdht/shared/components";
import { lang, languages, setLang, t } from "@cdht/shared/i18n";
import { getJson } from "./api";
import { href, onLink, route } from "./router";
import { endSession, expired, hasRole, me, token, type Me } from "./session";
import { Login } from "./screens/Login";
import { Expired } from "./screens/Expired";
import { Queue } from "./screens/Queue";
import { Review } from "./screens/Review";
import { Recognition } from "./screens/Recognition";
import { Duplicates } from "./screens/Duplicates";
import { Reports } from "./screens/Reports";

const PAGES = [
  { path: "queue", label: "dash.nav_queue", show: () => true },
  { path: "recognition", label: "dash.nav_recognition", show: () => hasRole("recogniser") },
  { path: "duplicates", label: "dash.nav_duplicates", show: () => true },
  { path: "reports", label: "dash.nav_reports", show: () => true },
];

function LangSelect() {
  return (
    <label class="lang">
      <span class="sr-only">{t("lang.switch")}</span>
      <select id="lang-select" value={lang()} onChange={(e) => setLang(e.currentTarget.value)}>
        {languages().map((l) => <option key={l.code} value={l.code}>{l.name}</option>)}
      </select>
    </label>
  );
}

function Page() {
  const path = route.value.path;
  if (path.startsWith("review/")) return <Review id={path.slice("review/".length)} />;
  if (path === "recognition") return <Recognition />;
  if (path === "duplicates") return <Duplicates />;
  if (path === "reports") return <Reports />;
  return <Queue />;
}

function Signed() {
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    getJson<Me>("/me").then((m) => (me.value = m), setError);
  }, [token.value]);
  const current = route.value.path.split("/")[0] || "queue";
  return (
    <>
      <header class="top">
        <div class="brand">
          <h1 id="dashboard-title">{t("dashboard.title")}</h1>
          <div class="who">
            {me.value ? <span id="who">{t("dash.signed_in_as", { name: me.value.username })}</span> : null}
            <LangSelect />
            <button class="secondary small" id="logout" onClick={() => endSession("logout")}>{t("dash.logout")}</button>
          </div>
        </div>
        <nav class="tabs" aria-label={t("dash.nav_label")}>
          {PAGES.filter((p) => p.show()).map((p) => (
            <a key={p.path} href={href(p.path)} class={`tab${current === p.path || (p.path === "queue" && current === "review") ? " active" : ""}`}
              aria-current={current === p.path ? "page" : undefined} id={`nav-${p.path}`}>{t(p.label)}</a>
          ))}
        </nav>
      </header>
      <main id="dashboard">
        {error ? <ErrorNotice error={error} /> : me.value ? <Page /> : <p>{t("common.loading")}</p>}
      </main>
    </>
  );
}

function Dashboard() {
  if (token.value) return <Signed />;
  return (
    <>
      <header class="top">
        <div class="brand">
          <h1 id="dashboard-title">{t("dashboard.title")}</h1>
          <LangSelect />
        </div>
      </header>
      <main id="dashboard">{expired.value ? <Expired /> : <Login />}</main>
    </>
  );
}

document.addEventListener("click", onLink);
render(<Dashboard />, document.getElementById("app")!);
