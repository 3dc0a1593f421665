// The citizen's own profile: name, birth year, gender, ethnicity, target
// group, and the CCCD behind its consent box.
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNotice, Field, OkNotice } from "@cdht/shared/components";
import { t, tx } from "@cdht/shared/i18n";
import type { Gender, Person } from "@cdht/shared/app-types";
import { call } from "../api";
import { CccdFields, type CccdState } from "../components/CccdFields";
import ethnicities from "../data/ethnicities.json";
import { go, overview, refreshOverview } from "../state";

type Result = { kind: "saved"; person: Person } | { kind: "error"; error: unknown } | null;

export function ProfileScreen() {
  const o = overview.peek()!;
  const me = o.self_person;
  const [result, setResult] = useState<Result>(null);
  const [stored, setStored] = useState<Person | null>(me);
  const [cccd, setCccd] = useState<CccdState>({ consent: false, error: "" });
  const name = useRef<HTMLInputElement>(null);
  const birth = useRef<HTMLInputElement>(null);
  const gender = useRef<HTMLSelectElement>(null);
  const ethnicity = useRef<HTMLInputElement>(null);
  const group = useRef<HTMLSelectElement>(null);
  const cccdInput = useRef<HTMLInputElement>(null);
  const resultBox = useRef<HTMLDivElement>(null);

  // The saved notice and the next button sit under a long form: bring them
  // into view, the button included, so the next step is never off-screen.
  useEffect(() => {
    if (result?.kind !== "saved") return;
    const next = document.getElementById("profile-next") ?? resultBox.current;
    next?.scrollIntoView({ block: "center" });
  }, [result]);

  const save = async (e: Event, erase = false) => {
    e.preventDefault();
    try {
      const person = await call("save_profile", {
        form: {
          full_name: name.current!.value,
          birth_year: birth.current!.value ? Number(birth.current!.value) : null,
          gender: (gender.current!.value || null) as Gender | null,
          ethnicity: ethnicity.current!.value || null,
          target_group: group.current!.value || null,
          cccd: cccdInput.current!.value || null,
          cccd_consent: cccd.consent,
          erase_cccd: erase,
        },
      });
      await refreshOverview();
      cccdInput.current!.value = "";
      setCccd({ consent: false, error: cccd.error });
      setStored(person);
      setResult({ kind: "saved", person });
    } catch (error) {
      setResult({ kind: "error", error });
    }
  };

  return (
    <>
      <h2>{t("profile.title")}</h2>
      <p>{t("profile.intro")}</p>
      <form class="card" onSubmit={(e) => save(e)}>
        <Field label={t("profile.name")}>
          <input id="profile-name" ref={name} autoComplete="name" defaultValue={me?.full_name ?? ""} />
        </Field>
        <Field label={t("profile.birth_year")}>
          <input id="profile-birth-year" ref={birth} type="number" inputMode="numeric" min={1900} max={o.year}
            defaultValue={me?.birth_year == null ? "" : String(me.birth_year)} />
        </Field>
        <Field label={t("profile.gender")}>
          <select id="profile-gender" ref={gender}>
            <option value="">—</option>
            {(["female", "male", "other"] as const).map((g) => (
              <option key={g} value={g} selected={me?.gender === g}>{t(`profile.gender_${g}`)}</option>
            ))}
          </select>
        </Field>
        <Field label={t("profile.ethnicity")}>
          <input id="profile-ethnicity" ref={ethnicity} list="ethnicity-names" autoComplete="off"
            placeholder={t("profile.ethnicity_placeholder")} defaultValue={me?.ethnicity ?? ""} />
        </Field>
        <datalist id="ethnicity-names">
          {ethnicities.names.map((n) => <option key={n} value={n} />)}
        </datalist>
        <Field label={t("profile.group")}>
          <select id="profile-group" ref={group}>
            <option value="">{t("profile.group_choose")}</option>
            {o.catalog.groups.map((g) => (
              <option key={g.id} value={g.id} selected={me?.target_group === g.id}>{tx(g.name)}</option>
            ))}
          </select>
        </Field>
        <CccdFields prefix="profile" why={t("profile.cccd_why")} consentLabel={t("profile.cccd_consent")}
          state={cccd} setState={setCccd} input={cccdInput}
          stored={
            <div>
              {stored?.cccd_masked ? (
                <p id="profile-cccd-stored">
                  {t("profile.cccd_stored", { masked: stored.cccd_masked })}{" "}
                  <button type="button" class="secondary" onClick={(e) => save(e, true)}>{t("profile.cccd_erase")}</button>
                </p>
              ) : null}
            </div>
          } />
        <button class="primary" id="profile-save" type="submit">{t("profile.save")}</button>
      </form>
      <div id="profile-result" ref={resultBox}>
        {result?.kind === "error" ? <ErrorNotice error={result.error} id="profile-error" /> : null}
        {result?.kind === "saved" ? (
          <>
            <OkNotice id="profile-ok">{t("profile.saved")}</OkNotice>
            {result.person.target_group ? (
              <button class="primary" id="profile-next" onClick={() => go("assess", { personId: result.person.person_id })}>
                {t("profile.next")}
              </button>
            ) : null}
          </>
        ) : null}
      </div>
    </>
  );
}
