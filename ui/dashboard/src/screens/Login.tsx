import { useState } from "preact/hooks";
import { ErrorNotice, Field } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import type { components } from "@cdht/shared/generated/dashboard-api.ts";
import { postJson } from "../api";
import { startSession } from "../session";

/** An officer's username and password; the token the server gives starts the session. */
export function Login() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await postJson<components["schemas"]["LoginResponse"]>("/login", { username: username.trim(), password });
      if (res) startSession(res.token);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card login" id="login-form" onSubmit={submit}>
      <h2>{t("dash.login_title")}</h2>
      <p class="hint">{t("dash.login_intro")}</p>
      <Field label={t("dash.username")}>
        <input type="text" id="login-username" autocomplete="username" required value={username}
          onInput={(e) => setUsername(e.currentTarget.value)} />
      </Field>
      <Field label={t("dash.password")}>
        <input type="password" id="login-password" autocomplete="current-password" required value={password}
          onInput={(e) => setPassword(e.currentTarget.value)} />
      </Field>
      <ErrorNotice error={error} id="login-error" />
      <button class="primary big" id="login-submit" type="submit" disabled={busy}>{t("dash.login")}</button>
    </form>
  );
}
