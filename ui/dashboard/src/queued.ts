// The ids the queue page last showed, in its order: the review page's
// j/k (next/previous) walk them.
import { signal } from "@preact/signals";

export const queuedIds = signal<string[]>([]);

export function neighbour(id: string, step: 1 | -1): string | null {
  const ids = queuedIds.value;
  const i = ids.indexOf(id);
  return i < 0 ? null : (ids[i + step] ?? null);
}
