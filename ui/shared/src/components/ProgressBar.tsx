import { t } from "../i18n";
import { kb } from "../util";

export type Progress = { items_done: number; items_total: number; bytes_done: number; bytes_total: number; phase?: string };

/** How far a transfer is: a full-width bar and "3/10 mục · 120/400 KB". */
export function ProgressBar({ progress, id = "sync-progress" }: { progress: Progress | null | undefined; id?: string }) {
  if (!progress) return null;
  const share = progress.items_total > 0 ? progress.items_done / progress.items_total : 1;
  return (
    <div id={`${id}-block`}>
      <progress id={id} max={100} value={Math.round(share * 100)} aria-label={t("sync.progress_label")} />
      <p id={`${id}-text`}>
        {t("sync.progress", {
          done: progress.items_done,
          total: progress.items_total,
          kb_done: kb(progress.bytes_done),
          kb_total: kb(progress.bytes_total),
        })}
      </p>
    </div>
  );
}
