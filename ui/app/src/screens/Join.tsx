// Joining a unit: its QR (a picked image, or the camera on a phone) or its
// server address, unit code and join key typed from the poster.
import { useRef, useState } from "preact/hooks";
import type { JSX } from "preact";
import { invoke } from "@tauri-apps/api/core";
import { ErrorNotice, Field, OkNotice, UnitPicker } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import type { Unit } from "@cdht/shared/app-types";
import type { AppError } from "@cdht/shared/types";
import { call, readFileAsDataUrl } from "../api";
import { go, IS_MOBILE, overview, refreshOverview } from "../state";

// "checking": the app asks the unit's server whether it is CDHT, which can
// take a few seconds on a weak link (then the join is kept for later).
type Result = { kind: "reading" } | { kind: "checking" } | { kind: "joined"; unit: Unit } | { kind: "error"; error: unknown } | null;

export function JoinScreen() {
  const o = overview.peek()!;
  const [result, setResult] = useState<Result>(null);
  const server = useRef<HTMLInputElement>(null);
  const unit = useRef<HTMLInputElement>(null);
  const key = useRef<HTMLInputElement>(null);
  const joined = (u: Unit) => {
    setResult({ kind: "joined", unit: u });
    refreshOverview().catch(() => {});
  };
  const pickQr = async (e: JSX.TargetedEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    setResult({ kind: "reading" });
    try {
      const data = await readFileAsDataUrl(file);
      joined(await call("join_unit_from_qr_image", { image_base64: data }));
    } catch (error) {
      setResult({ kind: "error", error });
    }
  };
  // On a phone, the camera scanner (Tauri's barcode-scanner plugin, mobile only).
  const scan = async () => {
    try {
      await invoke("plugin:barcode-scanner|request_permissions").catch(() => null);
      const scanned = await invoke<{ content: string }>("plugin:barcode-scanner|scan", { windowed: false, formats: ["QR_CODE"] });
      setResult({ kind: "checking" });
      joined(await call("join_unit_from_qr_text", { text: scanned.content }));
    } catch (err) {
      const error: AppError = (err as AppError)?.kind ? (err as AppError) : { kind: "scan_failed", message: t("join.scan_failed") };
      setResult({ kind: "error", error });
    }
  };
  const joinTyped = async (e: Event) => {
    e.preventDefault();
    if (result?.kind === "checking") return;
    setResult({ kind: "checking" });
    try {
      joined(await call("join_unit_typed", { server: server.current!.value, unit: unit.current!.value, join_key: key.current!.value }));
    } catch (error) {
      setResult({ kind: "error", error });
    }
  };
  // The server of a unit joined before is the likeliest one for the next.
  const knownServer = o.units[0]?.server_url;
  return (
    <>
      <h2>{t("join.title")}</h2>
      <p>{t("join.intro")}</p>
      <div id="join-result">
        {result?.kind === "reading" ? <p role="status">{t("join.reading")}</p> : null}
        {result?.kind === "checking" ? <p role="status" id="join-checking">{t("join.checking")}</p> : null}
        {result?.kind === "error" ? <ErrorNotice error={result.error} id="join-error" /> : null}
        {result?.kind === "joined" ? (
          <>
            <OkNotice id="join-ok">{t("join.done", { unit: result.unit.unit_code })}</OkNotice>
            <button class="primary" id="join-next" onClick={() => go("profile")}>{t("join.done_next")}</button>
          </>
        ) : null}
      </div>
      <section class="card">
        <h3>{t("join.qr_title")}</h3>
        {IS_MOBILE ? <p><button class="primary" id="join-scan" onClick={scan}>{t("join.scan_button")}</button></p> : null}
        <div class="file-button primary">
          <span aria-hidden="true">{t("join.qr_button")}</span>
          <input type="file" id="join-qr-input" accept="image/*" class="file-overlay" aria-label={t("join.qr_button")} onChange={pickQr} />
        </div>
        <p class="hint">{t("join.qr_help")}</p>
      </section>
      <section class="card">
        <h3>{t("join.typed_title")}</h3>
        <form onSubmit={joinTyped} noValidate>
          <Field label={t("join.server")}>
            <input id="join-server" ref={server} type="url" inputMode="url" autoComplete="off" defaultValue={knownServer ?? "https://"} />
          </Field>
          <Field label={t("join.unit")}>
            <input id="join-unit" ref={unit} autoCapitalize="characters" autoComplete="off" />
          </Field>
          <Field label={t("join.key")}>
            <input id="join-key" ref={key} autoCapitalize="characters" autoComplete="off" />
          </Field>
          <button class="primary" id="join-typed-submit" type="submit" disabled={result?.kind === "checking"}>{t("join.typed_button")}</button>
        </form>
      </section>
      {o.units.length ? (
        <section class="card">
          <h3>{t("join.joined_units")}</h3>
          <UnitPicker id="join-units" units={o.units} />
        </section>
      ) : null}
    </>
  );
}
