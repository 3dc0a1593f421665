// What waits to be sent from this device: shown on the sync screen and
// under the officer's list.
import { t } from "@cdht/shared/i18n";
import type { SyncStatus } from "@cdht/shared/app-types";
import { go, route } from "../state";

export function SyncSummary({ sync }: { sync: SyncStatus }) {
  const onSync = route.peek().screen === "sync";
  const parked = sync.rejected.length + (sync.refused_photos?.length ?? 0);
  return (
    <section class="card" id="sync-summary">
      {/* On the sync screen itself the card is what waits (the page is "Đồng bộ"). */}
      <h3>{onSync ? t("sync.waiting_title") : t("sync.title")}</h3>
      {sync.waiting_records === 0 && sync.waiting_photos === 0 ? (
        <p id="sync-nothing">{t("sync.nothing")}</p>
      ) : (
        <>
          <p id="sync-records">{t("sync.waiting_records", { count: sync.waiting_records })}</p>
          <p id="sync-photos">{t("sync.waiting_photos", { count: sync.waiting_photos })}</p>
        </>
      )}
      {/* The parked records themselves are listed once, on the sync screen ("Cần sửa"). */}
      {parked && !onSync ? (
        <div class="notice error" id="sync-parked-count">
          <p>{t("sync.parked_count", { count: parked })}</p>
          <button class="secondary" id="sync-parked-open" onClick={() => go("sync")}>{t("sync.parked_open")}</button>
        </div>
      ) : null}
      {sync.waiting.length ? (
        <ul class="waiting" id="sync-waiting">
          {sync.waiting.map((w) => (
            <li key={w.record_id}>
              {w.record_kind === "assessment"
                ? t("sync.item_assessment", { name: w.person_name ?? "?", year: w.year ?? "" })
                : w.record_kind === "person"
                  ? t("sync.item_person", { name: w.person_name ?? "?" })
                  : w.record_kind === "evidence" && w.person_name
                    ? t("sync.item_evidence", { name: w.person_name, year: w.year ?? "" })
                    : t("sync.item_other")}
              {w.last_error ? <span class="hint"> · {t("sync.item_retry", { attempts: w.attempts })}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
