import type { ComponentChildren } from "preact";
import { describe, t } from "../i18n";
import type { AppError } from "../types";

/**
 * A failure, in the chosen language: the catalogs word its code
 * (`code.<name>`, with its parameters); a failure the UI made itself
 * carries its own (already translated) message.
 */
export function ErrorNotice({ error, id = "error" }: { error: AppError | unknown; id?: string }) {
  if (!error) return null;
  const err = error as AppError;
  const kind = typeof err === "object" && err && "kind" in err ? err.kind : undefined;
  return (
    <div class="notice error" role="alert" id={id} data-kind={kind}>
      <strong>{t("common.error_title")}</strong>
      <p>{err?.code ? describe(err.code) : err?.message ?? t("code.app_failed")}</p>
    </div>
  );
}

/** Something went right ("Đã lưu"). */
export function OkNotice({ id = "ok", children }: { id?: string; children: ComponentChildren }) {
  return (
    <div class="notice ok" role="status" id={id}>
      {children}
    </div>
  );
}

/** A plain notice box: `kind` is its colour (warn, info, error). */
export function Notice({ kind, id, children }: { kind: "warn" | "info" | "error" | "ok"; id?: string; children: ComponentChildren }) {
  return (
    <div class={`notice ${kind}`} id={id}>
      {children}
    </div>
  );
}
