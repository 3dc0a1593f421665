import { useEffect, useState } from "preact/hooks";
import { PhotoViewer } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import { photoUrl } from "../api";

/** An evidence photo fetched with the officer's token; a click shows it full size. */
export function Photo({ sha256, index }: { sha256: string; index: number }) {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    let made: string | null = null;
    photoUrl(sha256).then((u) => { made = u; setUrl(u); }, () => setFailed(true));
    return () => { if (made) URL.revokeObjectURL(made); };
  }, [sha256]);
  if (failed) return <span class="thumb-missing">{t("dash.photo_missing")}</span>;
  return (
    <>
      <button class="thumb-open" data-sha={sha256} onClick={() => setOpen(true)} disabled={!url}
        aria-label={t("dash.photo_open", { n: index + 1 })}>
        {url ? <img src={url} alt="" /> : t("common.loading")}
      </button>
      {open && url ? <PhotoViewer photo={{ byte_size: 0 }} load={() => Promise.resolve(url)} onClose={() => setOpen(false)} /> : null}
    </>
  );
}
