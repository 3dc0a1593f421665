// "Cán bộ đăng nhập trên máy này": with an officer logged in, the device
// receives every record of its unit. Needs the network; the loop does it.
import { useRef, useState } from "preact/hooks";
import { ErrorNotice, Field, OkNotice } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import type { Overview } from "@cdht/shared/app-types";
import { call } from "../api";
import { go, refreshOverview, takeFlash } from "../state";

export function OfficerLogin({ o }: { o: Overview }) {
  const [flash] = useState(takeFlash);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ error?: unknown; pending?: boolean } | null>(null);
  const username = useRef<HTMLInputElement>(null);
  const password = useRef<HTMLInputElement>(null);
  const resultBox = (
    <div id="officer-login-result">
      {result?.pending ? <p class="hint">{t("officer.logging_in")}</p> : null}
      {result?.error ? <ErrorNotice error={result.error} id="officer-login-error" /> : null}
    </div>
  );
  if (o.device_officer) {
    const logout = async () => {
      setBusy(true);
      try {
        await call("officer_logout");
        await refreshOverview();
        go("officer", { flash: t("officer.logged_out") });
      } catch (error) {
        setBusy(false);
        setResult({ error });
      }
    };
    return (
      <section class="card" id="officer-login">
        <h3>{t("officer.login_title")}</h3>
        {flash ? <OkNotice id="officer-login-ok">{flash}</OkNotice> : null}
        <p id="officer-bound" class="notice ok">{t("officer.bound", { name: o.device_officer })}</p>
        <p class="hint">{t("officer.logout_hint")}</p>
        <button class="secondary" id="officer-logout" disabled={busy} onClick={logout}>{t("officer.logout")}</button>
        {resultBox}
      </section>
    );
  }
  const login = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setResult({ pending: true });
    try {
      const bound = await call("officer_login", { username: username.current!.value, password: password.current!.value });
      password.current!.value = "";
      await refreshOverview();
      go("officer", { flash: t("officer.logged_in", { name: bound.username }) });
    } catch (error) {
      setBusy(false);
      setResult({ error });
    }
  };
  return (
    <form class="card" id="officer-login" onSubmit={login}>
      <h3>{t("officer.login_title")}</h3>
      {flash ? <OkNotice id="officer-login-ok">{flash}</OkNotice> : null}
      <p class="hint">{o.enrolled ? t("officer.login_why") : t("officer.login_need_join")}</p>
      <Field label={t("officer.username")}>
        <input id="officer-username" ref={username} autoComplete="username" autoCapitalize="none" />
      </Field>
      <Field label={t("officer.password")}>
        <input id="officer-password" ref={password} type="password" autoComplete="current-password" />
      </Field>
      <button class="primary big" id="officer-login-submit" type="submit" disabled={busy}>{t("officer.login")}</button>
      {resultBox}
    </form>
  );
}
