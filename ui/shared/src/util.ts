/** An id safe for CSS selectors from an indicator id like "1.2". */
export function slug(text: string | number): string {
  return String(text).replace(/[^a-zA-Z0-9]+/g, "-");
}

/** Kilobytes for people: whole KB, rounded up. */
export function kb(bytes: number | null | undefined): number {
  return Math.ceil((bytes ?? 0) / 1024);
}
