// The background loop (src-tauri → cdht_app::background) reports by events;
// screens follow the last one (the sync screen redraws its live card from it,
// without waiting on the network).
import { signal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { listen } from "@tauri-apps/api/event";
import type { SyncEvents } from "@cdht/shared/app-types";

export type SyncEventName = keyof SyncEvents;
export type LiveEvent = { [N in SyncEventName]: { name: N; payload: SyncEvents[N]; n: number } }[SyncEventName];

export const lastSyncEvent = signal<LiveEvent | null>(null);

export function listenToSync(): void {
  let n = 0;
  try {
    for (const name of ["sync-progress", "sync-done", "sync-error", "sync-enrolled"] as const) {
      listen<SyncEvents[typeof name]>(name, (event) => {
        n += 1;
        lastSyncEvent.value = { name, payload: event.payload, n } as LiveEvent;
      }).catch(() => {});
    }
  } catch {
    // Outside Tauri (a plain browser preview) there are no events.
  }
}

/**
 * The sync events that arrive while a screen is shown (never one from
 * before it was drawn): `handle` runs once for each.
 */
export function useSyncEvent(handle: (event: LiveEvent) => void): void {
  const event = lastSyncEvent.value;
  const seenAtStart = useRef(event?.n ?? 0);
  useEffect(() => {
    if (!event || event.n <= seenAtStart.current) return;
    handle(event);
  }, [event?.n]);
}
