import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n";
import { ErrorNotice } from "./Notice";

export type PhotoMeta = { width_px?: number | null; height_px?: number | null; byte_size: number };

/**
 * The whole photo over the page, to check that a certificate reads well.
 * `load` gives its URL (a data: URL from the app, an API URL on the dashboard).
 */
export function PhotoViewer({ photo, load, onClose }: { photo: PhotoMeta; load: () => Promise<string>; onClose: () => void }) {
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    let live = true;
    load().then((u) => live && setUrl(u), (err) => live && setError(err));
    close.current?.focus();
    const onKey = (e: KeyboardEvent) => { if (e.key === "Escape") onClose(); };
    document.addEventListener("keydown", onKey);
    return () => { live = false; document.removeEventListener("keydown", onKey); };
  }, []);
  return (
    <div class="photo-overlay" id="photo-viewer" role="dialog" aria-modal="true" aria-label={t("assess.view_photo")}
      onClick={(e) => { if (e.target === e.currentTarget) onClose(); }}>
      <div class="photo-box">
        <button class="primary" id="photo-close" ref={close} onClick={onClose}>{t("assess.close_photo")}</button>
        <div class="photo-body">
          {error ? <ErrorNotice error={error} /> : url ? (
            <>
              <img src={url} alt={t("assess.view_photo")} />
              <p class="hint">{`${photo.width_px ?? "?"}×${photo.height_px ?? "?"} · ${Math.round(photo.byte_size / 1024)} KB`}</p>
            </>
          ) : <p>{t("common.loading")}</p>}
        </div>
      </div>
    </div>
  );
}
