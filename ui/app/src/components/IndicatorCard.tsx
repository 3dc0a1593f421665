// One indicator of the self-assessment: its question, the answer levels as
// large radio rows, and its evidence photos (add, remove, open, fetch).
import { useState } from "preact/hooks";
import type { JSX } from "preact";
import { ErrorNotice } from "@cdht/shared/components";
import { t, tx } from "@cdht/shared/i18n";
import { slug } from "@cdht/shared/util";
import type { Answer, EvidenceView, Indicator, Saved } from "@cdht/shared/app-types";
import { call, readFileAsDataUrl } from "../api";

export type IndicatorCardProps = {
  ind: Indicator;
  assessmentId: string;
  editable: boolean;
  /** The answer shown (chosen here, or stored). */
  choice: Answer | undefined;
  onChoose: (levelId: string) => void;
  photos: EvidenceView[];
  setEvidence: (update: (all: EvidenceView[]) => EvidenceView[]) => void;
  /** Queues a save (the autosave order); its promise settles when it is stored. */
  save: (action: () => Promise<Saved>) => void;
  onOpenPhoto: (e: EvidenceView) => void;
};

export function IndicatorCard({ ind, assessmentId, editable, choice, onChoose, photos, setEvidence, save, onOpenPhoto }: IndicatorCardProps) {
  const id = slug(ind.id);
  const [photoMsg, setPhotoMsg] = useState<{ adding?: boolean; error?: unknown } | null>(null);
  const [fetching, setFetching] = useState<string | null>(null);
  const fetchPhoto = async (e: EvidenceView) => {
    setFetching(e.evidence_id);
    try {
      const fresh = await call("fetch_evidence_photo", { evidence_id: e.evidence_id, sha256: e.sha256 });
      setEvidence((all) => all.map((x) => (x.evidence_id === fresh.evidence_id ? fresh : x)));
      setPhotoMsg(null);
    } catch (error) {
      setPhotoMsg({ error });
    } finally {
      setFetching(null);
    }
  };
  const remove = (e: EvidenceView) =>
    save(async () => {
      try {
        const saved = await call("remove_evidence", { evidence_id: e.evidence_id });
        setEvidence((all) => all.filter((x) => x.evidence_id !== e.evidence_id));
        return saved;
      } catch (error) {
        setPhotoMsg({ error });
        throw error;
      }
    });
  const addPhotos = (ev: JSX.TargetedEvent<HTMLInputElement>) => {
    const input = ev.currentTarget;
    const files = [...(input.files ?? [])];
    input.value = "";
    for (const file of files) {
      save(async () => {
        setPhotoMsg({ adding: true });
        try {
          const data = await readFileAsDataUrl(file);
          const added = await call("add_evidence", { assessment_id: assessmentId, indicator: ind.id, image_base64: data });
          setEvidence((all) => (all.some((x) => x.evidence_id === added.evidence.evidence_id) ? all : [...all, added.evidence]));
          setPhotoMsg(null);
          return added.saved;
        } catch (error) {
          setPhotoMsg({ error });
          throw error;
        }
      });
    }
  };
  return (
    <article class="indicator card" id={`indicator-${id}`}>
      <h4>{t("assess.indicator", { id: ind.id })} · {tx(ind.title)}</h4>
      <p class="question">{tx(ind.question)}</p>
      <div class="levels" role="radiogroup" aria-label={tx(ind.title)}>
        {ind.levels.map((level) => (
          <label class="level" for={`lvl-${id}-${level.id}`} key={level.id}>
            <input type="radio" name={`ind-${ind.id}`} value={level.id} id={`lvl-${id}-${level.id}`}
              checked={choice === level.id || choice === level.points} disabled={!editable}
              onChange={() => onChoose(level.id)} />
            <span class="level-text">
              {tx(level.label)}
              {level.evidence ? <span class="level-evidence">{t("assess.level_evidence", { hint: tx(level.evidence) })}</span> : null}
            </span>
            <span class="level-points">{t("assess.points", { points: level.points })}</span>
          </label>
        ))}
      </div>
      <p class="hint">{t("assess.evidence_hint", { hint: tx(ind.evidence_hint) })}</p>
      <div class="thumbs" id={`thumbs-${id}`}>
        {photos.map((e) => (
          <figure key={e.evidence_id} class={e.thumbnail || e.on_device !== false ? "thumb" : "thumb on-server"}>
            {e.thumbnail ? (
              <button type="button" class="thumb-open" aria-label={t("assess.view_photo")} onClick={() => onOpenPhoto(e)}>
                <img src={e.thumbnail} alt={t("assess.view_photo")} />
              </button>
            ) : e.on_device === false ? (
              // A pulled record's photo stays on the server until someone opens it.
              <div class="thumb-server" data-sha256={e.sha256}>
                <span>{t("assess.photo_on_server")}</span>
                <button type="button" class="secondary fetch-photo" disabled={fetching === e.evidence_id} onClick={() => fetchPhoto(e)}>
                  {fetching === e.evidence_id ? t("assess.photo_fetching") : t("assess.photo_fetch")}
                </button>
              </div>
            ) : (
              <div class="thumb-missing">?</div>
            )}
            {editable ? (
              <button class="remove" type="button" aria-label={t("assess.remove_photo")} onClick={() => remove(e)}>{t("assess.remove_photo")}</button>
            ) : null}
          </figure>
        ))}
      </div>
      {editable ? (
        <div class="file-button secondary">
          <span aria-hidden="true">{t("assess.add_photo")}</span>
          <input type="file" accept="image/*" multiple id={`photo-input-${id}`} class="file-overlay" aria-label={t("assess.add_photo")}
            disabled={!editable} onChange={addPhotos} />
        </div>
      ) : null}
      <div id={`photo-msg-${id}`}>
        {photoMsg?.adding ? <p class="hint">{t("assess.photo_adding")}</p> : null}
        {photoMsg?.error ? <ErrorNotice error={photoMsg.error} id={`photo-error-${id}`} /> : null}
      </div>
    </article>
  );
}
