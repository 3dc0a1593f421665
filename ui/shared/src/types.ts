// What crosses the app's IPC and the sync protocol, as the UI reads it. The
// shapes come from the Rust types (crates/core, crates/store, crates/app).

/** A text in the criteria catalogs: Vietnamese always, English when known. */
export type Text = { vi: string; en?: string | null };

/** Every failure of a command: `kind` is the stable code, `message` Vietnamese. */
export type AppError = { kind: string; message?: string | null; detail?: string | null };
