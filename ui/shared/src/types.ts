// What crosses the app's IPC and the sync protocol, as the UI reads it. The
// shapes come from the Rust types (crates/core, crates/store, crates/app).

/** A text in the criteria catalogs: Vietnamese always, English when known. */
export type Text = { vi: string; en?: string | null };

/**
 * Every failure of a command: `code` (cdht_core::Code) is what the catalogs
 * word, `kind` its name; `message` only for a failure the UI itself words.
 */
export type AppError = { kind: string; code?: { code: string } | null; message?: string | null; detail?: string | null };
