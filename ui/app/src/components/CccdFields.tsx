// The CCCD (national ID) on a form: only after the person's explicit
// consent, 12 digits, and only ever shown back masked.
import type { ComponentChildren, RefObject } from "preact";
import { Field } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";

export type CccdState = { consent: boolean; error: string };

/** The hint under the field while typing: 12 digits (spaces allowed). */
export function cccdProblem(value: string): string {
  const digits = value.replace(/\s/g, "");
  return digits && !/^\d{12}$/.test(digits) ? t("profile.cccd_bad") : "";
}

export function CccdFields({ prefix, why, consentLabel, stored, state, setState, input }: {
  prefix: "profile" | "officer";
  why: string;
  consentLabel: string;
  stored: ComponentChildren;
  state: CccdState;
  setState: (s: CccdState) => void;
  input: RefObject<HTMLInputElement>;
}) {
  return (
    <fieldset class="cccd">
      <legend>{t("profile.cccd_title")}</legend>
      <p class="hint">{why}</p>
      {stored}
      <label class="check">
        <input type="checkbox" id={`${prefix}-cccd-consent`} checked={state.consent}
          onChange={(e) => {
            const consent = e.currentTarget.checked;
            if (!consent && input.current) input.current.value = "";
            setState({ consent, error: prefix === "officer" ? "" : state.error });
          }} />
        <span>{consentLabel}</span>
      </label>
      <Field label={t("profile.cccd")}>
        <input id={`${prefix}-cccd`} ref={input} inputMode="numeric" autoComplete="off" maxLength={15} disabled={!state.consent}
          onInput={(e) => setState({ ...state, error: cccdProblem(e.currentTarget.value) })} />
      </Field>
      <span class="field-error" id={`${prefix}-cccd-error`}>{state.error}</span>
    </fieldset>
  );
}
