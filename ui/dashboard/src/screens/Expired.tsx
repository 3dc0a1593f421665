import { Notice } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import { expired } from "../session";

/** Shown when the server refused the token (expired, or logged out elsewhere). */
export function Expired() {
  return (
    <div class="card" id="session-expired">
      <h2>{t("dash.expired_title")}</h2>
      <Notice kind="warn">{t("dash.expired_text")}</Notice>
      <button class="primary big" id="login-again" onClick={() => (expired.value = false)}>{t("dash.login_again")}</button>
    </div>
  );
}
