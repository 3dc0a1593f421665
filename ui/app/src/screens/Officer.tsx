// Officer mode: the people this device holds (searched without diacritics,
// grouped by household), the quick-add form that also corrects a person, and
// the officer's login on this device.
import { useEffect, useRef, useState } from "preact/hooks";
import type { JSX } from "preact";
import { ErrorNotice, Field, Notice, OkNotice } from "@cdht/shared/components";
import { t, tx } from "@cdht/shared/i18n";
import type { Gender, PeopleListItem, Person } from "@cdht/shared/app-types";
import { call } from "../api";
import { CccdFields, type CccdState } from "../components/CccdFields";
import { OfficerLogin } from "../components/OfficerLogin";
import { PeopleList } from "../components/PeopleList";
import { SyncSummary } from "../components/SyncSummary";
import { useSyncEvent } from "../live";
import { overview, refreshOverview } from "../state";

const PAGE = 100;
type Result = { kind: "ok"; text: string; person: Person } | { kind: "deleted"; text: string } | { kind: "error"; error: unknown } | null;

export function OfficerScreen() {
  const o = overview.peek()!;
  const [people, setPeople] = useState<{ list: PeopleListItem[]; query: string } | null>(null);
  const [listError, setListError] = useState<unknown>(null);
  const search = useRef<HTMLInputElement>(null);
  const seq = useRef(0);
  const timer = useRef<number | undefined>(undefined);
  const load = async () => {
    const mine = ++seq.current;
    const query = search.current?.value ?? "";
    const list = await call("list_people", { query, limit: PAGE });
    if (mine !== seq.current) return; // a newer keystroke's answer wins
    setListError(null);
    setPeople({ list, query });
  };
  useEffect(() => { load().catch(setListError); }, []);
  // A round after the officer logs in brings the unit's people: the list
  // reloads when it ends (the form keeps what is being typed).
  useSyncEvent((event) => { if (event.name === "sync-done") load().catch(() => {}); });
  // A short pause after typing: one query per word typed, not per letter.
  const onSearch = () => {
    clearTimeout(timer.current);
    timer.current = window.setTimeout(() => load().catch(setListError), 120);
  };

  const [result, setResult] = useState<Result>(null);
  const [editing, setEditing] = useState<Person | null>(null);
  const [storedCccd, setStoredCccd] = useState<Person | null>(null);
  const [cccd, setCccd] = useState<CccdState>({ consent: false, error: "" });
  const name = useRef<HTMLInputElement>(null);
  const birth = useRef<HTMLInputElement>(null);
  const gender = useRef<HTMLSelectElement>(null);
  const household = useRef<HTMLInputElement>(null);
  const group = useRef<HTMLSelectElement>(null);
  const cccdInput = useRef<HTMLInputElement>(null);
  const focusName = () => {
    name.current!.focus();
    name.current!.scrollIntoView({ block: "center" });
  };
  const resetCccd = () => {
    cccdInput.current!.value = "";
    setCccd({ consent: false, error: "" });
  };
  const stopEditing = () => {
    setEditing(null);
    setConfirmDelete(false);
    name.current!.value = "";
    birth.current!.value = "";
    resetCccd();
    setStoredCccd(null);
  };
  // Editing a person already collected: the form holds their details until saved.
  const startEditing = async (personId: string) => {
    try {
      const p = await call("person", { person_id: personId });
      setEditing(p);
      name.current!.value = p.full_name;
      birth.current!.value = p.birth_year == null ? "" : String(p.birth_year);
      gender.current!.value = p.gender ?? "";
      household.current!.value = p.household_label ?? "";
      if (p.target_group) group.current!.value = p.target_group;
      resetCccd();
      setStoredCccd(p);
      setResult(null);
      focusName();
    } catch (error) {
      setResult({ kind: "error", error });
    }
  };
  const add = async (e: Event, eraseCccd = false) => {
    e.preventDefault();
    try {
      const person = await call("save_person", {
        form: {
          person_id: editing?.person_id ?? null,
          full_name: name.current!.value,
          birth_year: birth.current!.value ? Number(birth.current!.value) : null,
          gender: (gender.current!.value || null) as Gender | null,
          household_label: household.current!.value || null,
          target_group: group.current!.value || null,
          cccd: eraseCccd ? null : cccdInput.current!.value || null,
          cccd_consent: cccd.consent,
          erase_cccd: eraseCccd,
          // Not on this form: kept as stored.
          ethnicity: editing?.ethnicity ?? null,
          household_address: editing?.household_address ?? null,
        },
      });
      const text = t(eraseCccd ? "officer.cccd_erased" : editing ? "officer.saved" : "officer.added", { name: person.full_name });
      setResult({ kind: "ok", text, person });
      stopEditing();
      name.current!.focus();
      await load();
      refreshOverview().catch(() => {});
    } catch (error) {
      setResult({ kind: "error", error });
    }
  };
  // A person entered by mistake: deleted after the officer confirms it in
  // plain words, once none of their assessments is left (the reason shows).
  const [confirmDelete, setConfirmDelete] = useState(false);
  // The question comes into sight with the safe answer focused.
  useEffect(() => {
    if (!confirmDelete) return;
    document.getElementById("officer-delete-confirm")?.scrollIntoView({ block: "center" });
    document.getElementById("officer-delete-no")?.focus({ preventScroll: true });
  }, [confirmDelete]);
  const remove = async () => {
    if (!editing) return;
    try {
      await call("delete_person", { person_id: editing.person_id });
      setResult({ kind: "deleted", text: t("officer.deleted", { name: editing.full_name }) });
      setConfirmDelete(false);
      stopEditing();
      await load();
      refreshOverview().catch(() => {});
    } catch (error) {
      setConfirmDelete(false);
      setResult({ kind: "error", error });
    }
  };
  // A stored number (or one the server holds for a pulled person) can be
  // erased here as on the profile: the consent is withdrawn with it.
  const storedText = storedCccd?.cccd_masked
    ? t("profile.cccd_stored", { masked: storedCccd.cccd_masked })
    : storedCccd?.server_has_cccd ? t("officer.cccd_on_server") : null;
  const onSameHousehold = (label: string) => {
    household.current!.value = label;
    setResult(null);
    focusName();
  };
  const count = people ? (people.list.length >= PAGE ? t("officer.first_n", { count: PAGE }) : t("officer.count", { count: people.list.length })) : "";
  return (
    <>
      <h2>{t("officer.title")}</h2>
      <OfficerLogin o={o} />
      <div class="officer-layout">
        <section class="card">
          <Field label={t("officer.search")}>
            <input id="people-search" ref={search} type="search" autoComplete="off" placeholder="nguyen van" onInput={onSearch} />
          </Field>
          <p class="hint" id="people-count">{count}</p>
          {listError ? <ErrorNotice error={listError} /> : people ? (
            <PeopleList people={people.list} searched={!!people.query.trim()} onEdit={startEditing} onSameHousehold={onSameHousehold} />
          ) : <ul class="people" id="people-list" />}
        </section>
        <form class="card" id="officer-add" onSubmit={(e) => add(e)}>
          <h3>{editing ? t("officer.edit_title", { name: editing.full_name }) : t("officer.add_title")}</h3>
          <Field label={t("profile.name")}><input id="officer-name" ref={name} autoComplete="off" /></Field>
          <Field label={t("profile.birth_year")}>
            <input id="officer-birth-year" ref={birth} type="number" inputMode="numeric" min={1900} max={o.year} />
          </Field>
          <Field label={t("profile.gender")}>
            <select id="officer-gender" ref={gender}>
              <option value="">—</option>
              {(["female", "male", "other"] as const).map((g) => <option key={g} value={g}>{t(`profile.gender_${g}`)}</option>)}
            </select>
          </Field>
          <Field label={t("officer.household")}><input id="officer-household" ref={household} autoComplete="off" /></Field>
          <Field label={t("profile.group")}>
            <select id="officer-group" ref={group}>
              {o.catalog.groups.map((g, i) => <option key={g.id} value={g.id} selected={i === 0}>{tx(g.name)}</option>)}
            </select>
          </Field>
          <CccdFields prefix="officer" why={t("officer.cccd_why")} consentLabel={t("officer.cccd_consent")}
            state={cccd} setState={setCccd} input={cccdInput}
            stored={
              <div>
                {storedText ? (
                  <p id="officer-cccd-stored">
                    {storedText}{" "}
                    <button type="button" class="secondary" id="officer-cccd-erase"
                      onClick={(e: JSX.TargetedMouseEvent<HTMLButtonElement>) => add(e, true)}>
                      {t("profile.cccd_erase")}
                    </button>
                  </p>
                ) : null}
              </div>
            } />
          <div class="choices">
            <button class="primary" id="officer-add-submit" type="submit">{editing ? t("officer.save_changes") : t("officer.add")}</button>
            <button class="secondary" type="button" id="officer-edit-cancel" hidden={!editing} onClick={stopEditing}>{t("common.cancel")}</button>
            {editing && !confirmDelete ? (
              <button class="secondary" type="button" id="officer-delete" onClick={() => setConfirmDelete(true)}>{t("officer.delete")}</button>
            ) : null}
          </div>
          {editing && confirmDelete ? (
            <Notice kind="warn" id="officer-delete-confirm">
              {t("officer.delete_confirm", { name: editing.full_name })}
              <div class="choices">
                <button class="primary" type="button" id="officer-delete-yes" onClick={remove}>{t("officer.delete_yes")}</button>
                <button class="secondary" type="button" id="officer-delete-no" onClick={() => setConfirmDelete(false)}>{t("officer.delete_no")}</button>
              </div>
            </Notice>
          ) : null}
          <div id="officer-result">
            {result?.kind === "error" ? <ErrorNotice error={result.error} id="officer-error" /> : null}
            {result?.kind === "deleted" ? <OkNotice id="officer-ok">{result.text}</OkNotice> : null}
            {result?.kind === "ok" ? (
              <>
                <OkNotice id="officer-ok">{result.text}</OkNotice>
                {result.person.cccd_masked ? <p id="officer-cccd-saved">{t("officer.person_cccd", { masked: result.person.cccd_masked })}</p> : null}
              </>
            ) : null}
          </div>
        </form>
      </div>
      <SyncSummary sync={o.sync} />
    </>
  );
}
