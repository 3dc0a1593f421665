import type { ComponentChildren } from "preact";
import { t, tOwn } from "../i18n";
import type { AppError } from "../types";

/**
 * A failure, in the chosen language: the catalog words a known kind
 * (`error.<kind>`); otherwise the sentence that came with it (Vietnamese).
 */
export function ErrorNotice({ error, id = "error" }: { error: AppError | unknown; id?: string }) {
  if (!error) return null;
  const err = error as AppError;
  const kind = typeof err === "object" && err && "kind" in err ? err.kind : undefined;
  return (
    <div class="notice error" role="alert" id={id} data-kind={kind}>
      <strong>{t("common.error_title")}</strong>
      <p>{(kind && tOwn(`error.${kind}`)) ?? err.message ?? String(error)}</p>
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
