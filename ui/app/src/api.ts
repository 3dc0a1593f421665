// The Rust commands (src-tauri → crates/app), typed by their names. Every
// failure is an AppError {kind, code, detail}: the catalogs word `code`.
import { invoke } from "@tauri-apps/api/core";
import type { Commands } from "@cdht/shared/app-types";
import type { AppError } from "@cdht/shared/types";

export async function call<C extends keyof Commands>(command: C, ...args: {} extends Commands[C][0] ? [Commands[C][0]?] : [Commands[C][0]]): Promise<Commands[C][1]> {
  try {
    return await invoke<Commands[C][1]>(command, (args[0] ?? {}) as Record<string, unknown>);
  } catch (err) {
    if (err && typeof err === "object" && "kind" in err) throw err;
    throw { kind: "app_failed", code: { code: "app_failed" }, detail: String(err) } satisfies AppError;
  }
}

/** A picked File as a data: URL (base64), the way the commands take file bytes. */
export function readFileAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () =>
      reject({ kind: "file_unreadable", code: { code: "file_unreadable" }, detail: String(reader.error) } satisfies AppError);
    reader.readAsDataURL(file);
  });
}
