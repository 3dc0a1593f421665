// The font is bundled (no network at run time); its CSS picks the Vietnamese
// and Latin subsets by unicode-range, so only what a page uses is loaded.
import "@fontsource/noto-sans/400.css";
import "@fontsource/noto-sans/700.css";
import "./styles.css";
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { call, readFileAsDataUrl } from "./api.js";
import { h, mount, slug } from "./dom.js";
import { languages, lang, setLang, t, tOwn, tx } from "./i18n.js";
import ethnicities from "./data/ethnicities.json";

const root = document.getElementById("app");

/** What every screen may need, refreshed from Rust after each change. */
const state = {
  screen: "home",
  overview: null,
  // The assessment open on the assessment screen.
  view: null,
  // The person whose assessment/history is shown (officer mode picks others).
  personId: null,
  flash: null,
};

// Text size for weak eyes: a choice kept on the device, applied to the root size.
const TEXT_SIZES = { normal: 19, large: 22, larger: 25 };
function applyTextSize(size) {
  const px = TEXT_SIZES[size] ?? TEXT_SIZES.normal;
  document.documentElement.style.fontSize = `${px}px`;
  localStorage.setItem("cdht.textSize", size);
}
applyTextSize(localStorage.getItem("cdht.textSize") ?? "normal");

const IS_MOBILE = /Android|iPhone|iPad/i.test(navigator.userAgent);
const SCREENS = ["home", "join", "profile", "assess", "history", "officer", "sync"];

async function refreshOverview() {
  state.overview = await call("overview");
  return state.overview;
}

function go(screen, extra = {}) {
  Object.assign(state, { year: null }, extra, { screen });
  render();
  window.scrollTo(0, 0);
}

function errorBox(err, id = "error") {
  if (!err) return null;
  return h(
    "div",
    { class: "notice error", role: "alert", id, "data-kind": err.kind },
    h("strong", {}, t("common.error_title")),
    // Rust's messages are Vietnamese; another language may word known kinds itself.
    h("p", {}, tOwn(`error.${err.kind}`) ?? err.message ?? String(err)),
  );
}

function okBox(text, id = "ok") {
  return h("div", { class: "notice ok", role: "status", id }, text);
}

function header() {
  const nav = h(
    "nav",
    { class: "tabs", "aria-label": t("app.title") },
    SCREENS.map((s) =>
      h(
        "button",
        {
          id: `nav-${s}`,
          class: s === state.screen ? "tab active" : "tab",
          "aria-current": s === state.screen ? "page" : null,
          onclick: () => go(s, s === "assess" || s === "history" ? { personId: selfId() } : {}),
        },
        t(`nav.${s}`),
      ),
    ),
  );
  const langPicker = h(
    "label",
    { class: "lang" },
    h("span", { class: "sr-only" }, t("lang.switch")),
    h(
      "select",
      {
        id: "lang-select",
        onchange: (e) => {
          setLang(e.target.value);
          render();
        },
      },
      languages().map((l) => h("option", { value: l.code, selected: l.code === lang() }, l.name)),
    ),
  );
  // On a phone the tabs fold behind one button that also names the current screen,
  // so the page itself starts near the top of a 640 px screen.
  const menuButton = h(
    "button",
    {
      class: "menu-toggle",
      id: "menu-toggle",
      "aria-expanded": "false",
      "aria-controls": "main-nav",
      onclick: () => {
        const open = nav.classList.toggle("open");
        menuButton.setAttribute("aria-expanded", String(open));
      },
    },
    h("span", { class: "menu-icon", "aria-hidden": "true" }),
    t("nav.menu", { screen: t(`nav.${state.screen}`) }),
  );
  nav.id = "main-nav";
  return h(
    "header",
    { class: "top" },
    h("div", { class: "brand" }, h("h1", { id: "app-title" }, t("app.title")), langPicker),
    menuButton,
    nav,
  );
}

function selfId() {
  return state.overview?.self_person?.person_id ?? null;
}

async function render() {
  const main = h("main", { id: `screen-${state.screen}` }, h("p", {}, t("common.loading")));
  mount(root, header(), main);
  try {
    if (!state.overview) await refreshOverview();
    const screen = {
      home: homeScreen,
      join: joinScreen,
      profile: profileScreen,
      assess: assessScreen,
      history: historyScreen,
      officer: officerScreen,
      sync: syncScreen,
    }[state.screen];
    mount(main, ...(await screen()));
  } catch (err) {
    mount(main, errorBox(err));
  }
}

// ---- Home ------------------------------------------------------------------

async function homeScreen() {
  const o = await refreshOverview();
  const unit = o.units.find((u) => u.active);
  const me = o.self_person;
  // One step and one button, following the person's state (crates/app next_step.rs).
  const year = o.year;
  const mine = o.this_year;
  const assess = () => go("assess", { personId: me.person_id });
  const history = () => go("history", { personId: me.person_id });
  const steps = {
    join: ["home.step_join", "home.step_join_button", () => go("join")],
    profile: ["home.step_profile", "home.step_profile_button", () => go("profile")],
    assess: ["home.step_assess", "home.step_assess_button", assess],
    continue_draft: ["home.step_draft", "home.step_draft_button", assess],
    send: ["home.step_send", "home.step_send_button", () => go("sync")],
    await_review: ["home.step_review", "home.step_review_button", assess],
    fix_returned: ["home.step_returned", "home.step_returned_button", assess],
    await_recognition: ["home.step_approved", "home.step_history_button", history],
    recognised: ["home.step_recognised", "home.step_history_button", history],
  };
  const [text, button, onclick] = steps[o.next_step] ?? steps.join;
  const vars = { year, reason: mine?.return_reason ?? "" };
  const step = h("section", { class: "card next", id: "home-step", "data-step": o.next_step },
    h("h2", {}, t("common.next_step")), h("p", { id: "home-next-text" }, t(text, vars)),
    h("button", { class: "primary", id: "home-next", onclick }, t(button, vars)));
  const thisYear = mine
    ? h("p", { id: "home-status" }, t("home.this_year", { year }), " ",
      h("span", { class: `badge status-${mine.status}` }, t(`status.${mine.status}`)),
      mine.score ? ` · ${t("history.score", { total: mine.score.total_points })}` : "")
    : null;
  return [
    h("h2", {}, t("home.welcome")),
    o.broken_photos > 0 ? h("div", { class: "notice error" }, t("home.broken_photos", { count: o.broken_photos })) : null,
    step,
    h("section", { class: "card" },
      thisYear,
      unit ? h("p", { id: "home-unit" }, unit.name_known === false
        ? t("home.unit_unnamed", { code: unit.unit_code })
        : t("home.unit", { unit: unit.name })) : null,
      me ? h("p", { id: "home-person" }, t("home.person", { name: me.full_name })) : null,
      h("p", {}, t("home.waiting_sync", { records: o.sync.waiting_records, photos: o.sync.waiting_photos })),
      h("p", { class: "hint" }, t("home.officer_hint")),
      h("button", { class: "secondary", id: "home-officer", onclick: () => go("officer") }, t("nav.officer"))),
    h("section", { class: "card", id: "text-size" },
      h("h3", {}, t("home.text_size")),
      h("div", { class: "choices" }, Object.keys(TEXT_SIZES).map((size) =>
        h("button", {
          class: (localStorage.getItem("cdht.textSize") ?? "normal") === size ? "primary" : "secondary",
          id: `text-size-${size}`, "aria-pressed": String((localStorage.getItem("cdht.textSize") ?? "normal") === size),
          onclick: () => { applyTextSize(size); render(); },
        }, t(`home.text_size_${size}`))))),
  ];
}

// ---- Join ------------------------------------------------------------------

async function joinScreen() {
  const o = state.overview;
  const result = h("div", { id: "join-result" });
  const showJoined = (unit) => {
    mount(result, okBox(t("join.done", { unit: unit.unit_code }), "join-ok"),
      h("button", { class: "primary", id: "join-next", onclick: () => go("profile") }, t("join.done_next")));
    refreshOverview();
  };
  const qrInput = h("input", {
    type: "file", id: "join-qr-input", accept: "image/*", class: "file-overlay",
    "aria-label": t("join.qr_button"),
    onchange: async (e) => {
      const file = e.target.files?.[0];
      e.target.value = "";
      if (!file) return;
      mount(result, h("p", {}, t("join.reading")));
      try {
        const data = await readFileAsDataUrl(file);
        showJoined(await call("join_unit_from_qr_image", { image_base64: data }));
      } catch (err) {
        mount(result, errorBox(err, "join-error"));
      }
    },
  });
  // On a phone, the camera scanner (Tauri's barcode-scanner plugin, mobile only).
  const scan = async () => {
    try {
      await invoke("plugin:barcode-scanner|request_permissions").catch(() => null);
      const scanned = await invoke("plugin:barcode-scanner|scan", { windowed: false, formats: ["QR_CODE"] });
      showJoined(await call("join_unit_from_qr_text", { text: scanned.content }));
    } catch (err) {
      mount(result, errorBox(err?.kind ? err : { kind: "scan_failed", message: t("join.scan_failed") }, "join-error"));
    }
  };
  // The server of a unit joined before is the likeliest one for the next.
  const knownServer = o.units[0]?.server_url;
  const server = h("input", { id: "join-server", type: "url", inputmode: "url", autocomplete: "off", value: knownServer ?? "https://" });
  const unit = h("input", { id: "join-unit", autocapitalize: "characters", autocomplete: "off" });
  const key = h("input", { id: "join-key", autocapitalize: "characters", autocomplete: "off" });
  const joinTyped = async (e) => {
    e.preventDefault();
    try {
      showJoined(await call("join_unit_typed", { server: server.value, unit: unit.value, join_key: key.value }));
    } catch (err) {
      mount(result, errorBox(err, "join-error"));
    }
  };
  return [
    h("h2", {}, t("join.title")),
    h("p", {}, t("join.intro")),
    result,
    h("section", { class: "card" },
      h("h3", {}, t("join.qr_title")),
      IS_MOBILE ? h("p", {}, h("button", { class: "primary", id: "join-scan", onclick: scan }, t("join.scan_button"))) : null,
      h("div", { class: "file-button primary" }, h("span", {}, t("join.qr_button")), qrInput),
      h("p", { class: "hint" }, t("join.qr_help"))),
    h("section", { class: "card" },
      h("h3", {}, t("join.typed_title")),
      h("form", { onsubmit: joinTyped, novalidate: true },
        field(t("join.server"), server),
        field(t("join.unit"), unit),
        field(t("join.key"), key),
        h("button", { class: "primary", id: "join-typed-submit", type: "submit" }, t("join.typed_button")))),
    o.units.length
      ? h("section", { class: "card" }, h("h3", {}, t("join.joined_units")),
        h("ul", { id: "join-units" }, o.units.map((u) =>
          h("li", {}, h("strong", {}, u.name), " — ", t("join.server_of", { server: u.server_url })))))
      : null,
  ];
}

function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), input, hint ? h("span", { class: "hint" }, hint) : null);
}

// ---- Profile ---------------------------------------------------------------

async function profileScreen() {
  const o = state.overview;
  const me = o.self_person ?? {};
  const result = h("div", { id: "profile-result" });
  const name = h("input", { id: "profile-name", autocomplete: "name", value: me.full_name ?? "" });
  const birth = h("input", { id: "profile-birth-year", type: "number", inputmode: "numeric", min: 1900, max: o.year, value: me.birth_year ?? "" });
  const gender = h("select", { id: "profile-gender" },
    h("option", { value: "" }, "—"),
    ["female", "male", "other"].map((g) => h("option", { value: g, selected: me.gender === g }, t(`profile.gender_${g}`))));
  const ethnicity = h("input", { id: "profile-ethnicity", list: "ethnicity-names", autocomplete: "off", placeholder: t("profile.ethnicity_placeholder"), value: me.ethnicity ?? "" });
  const ethnicityNames = h("datalist", { id: "ethnicity-names" }, ethnicities.names.map((n) => h("option", { value: n })));
  const group = h("select", { id: "profile-group" },
    h("option", { value: "" }, t("profile.group_choose")),
    o.catalog.groups.map((g) => h("option", { value: g.id, selected: me.target_group === g.id }, tx(g.name))));
  const consent = h("input", { type: "checkbox", id: "profile-cccd-consent" });
  const cccd = h("input", { id: "profile-cccd", inputmode: "numeric", autocomplete: "off", maxlength: 15, disabled: true });
  consent.addEventListener("change", () => {
    cccd.disabled = !consent.checked;
    if (!consent.checked) cccd.value = "";
  });
  const cccdError = h("span", { class: "field-error", id: "profile-cccd-error" });
  cccd.addEventListener("input", () => {
    const digits = cccd.value.replace(/\s/g, "");
    cccdError.textContent = digits && !/^\d{12}$/.test(digits) ? t("profile.cccd_bad") : "";
  });
  let erase = false;
  const save = async (e) => {
    e.preventDefault();
    try {
      const form = {
        full_name: name.value,
        birth_year: birth.value ? Number(birth.value) : null,
        gender: gender.value || null,
        ethnicity: ethnicity.value || null,
        target_group: group.value || null,
        cccd: cccd.value || null,
        cccd_consent: consent.checked,
        erase_cccd: erase,
      };
      const person = await call("save_profile", { form });
      await refreshOverview();
      const next = person.target_group
        ? h("button", { class: "primary", id: "profile-next", onclick: () => go("assess", { personId: person.person_id }) }, t("profile.next"))
        : null;
      mount(result, okBox(t("profile.saved"), "profile-ok"), next);
      // The saved notice and the next button sit under a long form: bring them
      // into view, the button included, so the next step is never off-screen.
      (next ?? result).scrollIntoView({ block: "center" });
      cccd.value = "";
      consent.checked = false;
      cccd.disabled = true;
      mount(storedCccd, cccdStored(person));
    } catch (err) {
      mount(result, errorBox(err, "profile-error"));
    }
  };
  const cccdStored = (person) =>
    person.cccd_masked
      ? h("p", { id: "profile-cccd-stored" }, t("profile.cccd_stored", { masked: person.cccd_masked }), " ",
        h("button", { type: "button", class: "secondary", onclick: async (e) => { erase = true; await save(e); erase = false; } }, t("profile.cccd_erase")))
      : null;
  const storedCccd = h("div", {}, cccdStored(me));
  return [
    h("h2", {}, t("profile.title")),
    h("p", {}, t("profile.intro")),
    h("form", { class: "card", onsubmit: save },
      field(t("profile.name"), name),
      field(t("profile.birth_year"), birth),
      field(t("profile.gender"), gender),
      field(t("profile.ethnicity"), ethnicity),
      ethnicityNames,
      field(t("profile.group"), group),
      h("fieldset", { class: "cccd" },
        h("legend", {}, t("profile.cccd_title")),
        h("p", { class: "hint" }, t("profile.cccd_why")),
        storedCccd,
        h("label", { class: "check" }, consent, h("span", {}, t("profile.cccd_consent"))),
        field(t("profile.cccd"), cccd),
        cccdError),
      h("button", { class: "primary", id: "profile-save", type: "submit" }, t("profile.save"))),
    result,
  ];
}

// ---- Self-assessment ------------------------------------------------------

async function assessScreen() {
  const o = state.overview;
  const personId = state.personId ?? selfId();
  if (!personId) {
    return [h("h2", {}, t("assess.title", { year: o.year })), h("p", {}, t("assess.need_profile")),
      h("button", { class: "primary", id: "assess-go-profile", onclick: () => go("profile") }, t("home.step_profile_button"))];
  }
  // A past year opened from the history; otherwise this year.
  const year = state.year ?? o.year;
  let view;
  try {
    view = await call("open_assessment", { person_id: personId, year });
  } catch (err) {
    if (err.kind === "no_target_group") {
      // The citizen fixes their own profile; an officer fixes the person in officer mode.
      const own = personId === selfId();
      return [h("h2", {}, t("assess.title", { year })), errorBox(err, "assess-error"),
        h("button", { class: "primary", id: "assess-go-profile", onclick: () => go(own ? "profile" : "officer") },
          own ? t("home.step_profile_button") : t("nav.officer"))];
    }
    throw err;
  }
  state.view = view;
  return assessmentForm(view);
}

function assessmentForm(view) {
  const a = view.assessment;
  const savedEl = h("div", { id: "saved-indicator", class: "saved", role: "status" });
  const scoreEl = h("section", { id: "score-panel", class: "score card" });
  const messages = h("div", { id: "assess-messages" });
  const editable = view.editable;

  // On a phone the side panel scrolls away: a bar at the bottom keeps the score in sight.
  const miniScore = h("div", { class: "mini-score", "aria-hidden": "true" });
  const miniSaved = h("span", { class: "mini-saved" });
  const showScore = (score) => {
    mount(scoreEl, ...scorePanel(score, view));
    const verdict = scoreEl.querySelector(".verdict");
    mount(miniScore, h("span", { class: "mini-total" }, `${score.total}/${score.max_total}`),
      h("span", { class: verdict.className }, verdict.textContent), miniSaved);
  };
  const showSaved = (saved) => {
    const time = new Date(saved.updated_at_ms).toLocaleTimeString(lang() === "vi" ? "vi-VN" : "en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    savedEl.className = "saved done";
    miniSaved.textContent = `✓ ${t("assess.saved")}`;
    mount(savedEl, h("span", { class: "tick", "aria-hidden": "true" }, "✓ "), h("span", { id: "saved-text" }, t("assess.saved")), h("span", { class: "hint" }, " · " + t("assess.saved_at", { time })));
  };
  const showSaving = () => {
    savedEl.className = "saved pending";
    miniSaved.textContent = t("assess.saving");
    mount(savedEl, t("assess.saving"));
  };
  const showNotSaved = () => {
    savedEl.className = "saved failed";
    miniSaved.textContent = t("assess.not_saved");
    mount(savedEl, t("assess.not_saved"));
  };
  showScore(view.score);
  if (a.updated_at_ms && a.revision > 1) showSaved({ updated_at_ms: a.updated_at_ms });

  // Saves run one after another, in the order the person made the changes: two
  // quick taps on one indicator are never stored in the wrong order, and "Đã lưu"
  // shows only once every change made so far is stored.
  let queue = Promise.resolve();
  let pending = 0;
  let failed = false;
  const save = (action) => {
    pending += 1;
    showSaving();
    queue = queue.then(action).then(
      (saved) => {
        pending -= 1;
        if (pending === 0) (failed ? showNotSaved() : showSaved(saved));
        if (pending === 0) failed = false;
      },
      () => {
        pending -= 1;
        failed = true;
        if (pending === 0) {
          showNotSaved();
          failed = false;
        }
      },
    );
    return queue;
  };

  // Evidence is the hard part: keep in sight how many indicators have a photo.
  const evidenceSummary = h("p", { id: "evidence-summary", class: "hint" });
  const indicatorCount = view.group.competencies.reduce((n, c) => n + c.indicators.length, 0);
  const updateEvidenceSummary = () => {
    const withPhoto = new Set(view.evidence.map((e) => e.indicator_id)).size;
    evidenceSummary.textContent = t("assess.evidence_summary", { photos: view.evidence.length, with: withPhoto, total: indicatorCount });
  };
  updateEvidenceSummary();

  const indicatorCard = (competency, ind) => {
    const id = slug(ind.id);
    const answer = view.answers[ind.id];
    const photos = h("div", { class: "thumbs", id: `thumbs-${id}` });
    const photoMsg = h("div", { id: `photo-msg-${id}` });
    const renderPhotos = () => {
      updateEvidenceSummary();
      mount(photos, view.evidence.filter((e) => e.indicator_id === ind.id).map((e) =>
        h("figure", { class: e.thumbnail || e.on_device !== false ? "thumb" : "thumb on-server" },
          e.thumbnail
            ? h("button", { type: "button", class: "thumb-open", "aria-label": t("assess.view_photo"), onclick: () => showPhoto(e) },
              h("img", { src: e.thumbnail, alt: t("assess.view_photo") }))
            : e.on_device === false
              // A pulled record's photo stays on the server until someone opens it.
              ? h("div", { class: "thumb-server", "data-sha256": e.sha256 },
                h("span", {}, t("assess.photo_on_server")),
                h("button", { type: "button", class: "secondary fetch-photo", onclick: async (ev) => {
                  ev.target.disabled = true;
                  ev.target.textContent = t("assess.photo_fetching");
                  try {
                    const fresh = await call("fetch_evidence_photo", { evidence_id: e.evidence_id, sha256: e.sha256 });
                    view.evidence = view.evidence.map((x) => (x.evidence_id === fresh.evidence_id ? fresh : x));
                    mount(photoMsg);
                    renderPhotos();
                  } catch (err) {
                    ev.target.disabled = false;
                    ev.target.textContent = t("assess.photo_fetch");
                    mount(photoMsg, errorBox(err, `photo-error-${id}`));
                  }
                } }, t("assess.photo_fetch")))
              : h("div", { class: "thumb-missing" }, "?"),
          editable ? h("button", { class: "remove", type: "button", "aria-label": t("assess.remove_photo"),
            onclick: () => save(async () => {
              try {
                const saved = await call("remove_evidence", { evidence_id: e.evidence_id });
                view.evidence = view.evidence.filter((x) => x.evidence_id !== e.evidence_id);
                renderPhotos();
                return saved;
              } catch (err) {
                mount(photoMsg, errorBox(err, `photo-error-${id}`));
                throw err;
              }
            }) }, t("assess.remove_photo")) : null)));
    };
    renderPhotos();
    const photoInput = h("input", {
      type: "file", accept: "image/*", multiple: true, id: `photo-input-${id}`, class: "file-overlay",
      "aria-label": t("assess.add_photo"), disabled: !editable,
      onchange: async (e) => {
        const files = [...(e.target.files ?? [])];
        e.target.value = "";
        for (const file of files) {
          save(async () => {
            mount(photoMsg, h("p", { class: "hint" }, t("assess.photo_adding")));
            try {
              const data = await readFileAsDataUrl(file);
              const added = await call("add_evidence", { assessment_id: a.assessment_id, indicator: ind.id, image_base64: data });
              if (!view.evidence.some((x) => x.evidence_id === added.evidence.evidence_id)) view.evidence.push(added.evidence);
              renderPhotos();
              mount(photoMsg);
              return added.saved;
            } catch (err) {
              mount(photoMsg, errorBox(err, `photo-error-${id}`));
              throw err;
            }
          });
        }
      },
    });
    const levels = h("div", { class: "levels", role: "radiogroup", "aria-label": tx(ind.title) },
      ind.levels.map((level) => {
        const checked = answer === level.id || answer === level.points;
        const radio = h("input", {
          type: "radio", name: `ind-${ind.id}`, value: level.id, id: `lvl-${id}-${level.id}`, checked, disabled: !editable,
          onchange: () => save(async () => {
            try {
              const r = await call("set_answer", { assessment_id: a.assessment_id, indicator: ind.id, answer: level.id });
              view.answers[ind.id] = level.id;
              showScore(r.score);
              mount(messages);
              return r.saved;
            } catch (err) {
              mount(messages, errorBox(err, "assess-error"));
              // Show what is stored, not the choice that failed to save.
              for (const r of levels.querySelectorAll("input[type=radio]")) r.checked = r.value === view.answers[ind.id];
              throw err;
            }
          }),
        });
        return h("label", { class: "level", for: `lvl-${id}-${level.id}` }, radio,
          h("span", { class: "level-text" }, tx(level.label),
            level.evidence ? h("span", { class: "level-evidence" }, t("assess.level_evidence", { hint: tx(level.evidence) })) : null),
          h("span", { class: "level-points" }, t("assess.points", { points: level.points })));
      }));
    return h("article", { class: "indicator card", id: `indicator-${id}` },
      h("h4", {}, t("assess.indicator", { id: ind.id }), " · ", tx(ind.title)),
      h("p", { class: "question" }, tx(ind.question)),
      levels,
      h("p", { class: "hint" }, t("assess.evidence_hint", { hint: tx(ind.evidence_hint) })),
      photos,
      editable ? h("div", { class: "file-button secondary" }, h("span", {}, t("assess.add_photo")), photoInput) : null,
      photoMsg);
  };

  let confirmFail = false;
  const submit = async () => {
    await queue; // every change is stored before the submission freezes it
    try {
      if (!confirmFail) {
        const current = await call("assessment_view", { assessment_id: a.assessment_id });
        if (current.score.unanswered.length) {
          mount(messages, h("div", { class: "notice error", id: "assess-error" }, t("assess.submit_need_all")));
          return;
        }
        if (!current.score.passed) {
          confirmFail = true;
          mount(messages, h("div", { class: "notice warn", id: "assess-confirm" }, t("assess.submit_confirm_fail")));
          return;
        }
      }
      const submitted = await call("submit_assessment", { assessment_id: a.assessment_id });
      await refreshOverview();
      state.view = submitted;
      go("assess", { flash: t("assess.submitted"), year: a.year, personId: a.person_id });
    } catch (err) {
      mount(messages, errorBox(err, "assess-error"));
    }
  };

  const flash = state.flash;
  state.flash = null;
  return [
    h("div", { class: "assess-head" },
      h("h2", { id: "assess-title" }, t("assess.title", { year: a.year })),
      h("p", { id: "assess-person" }, t("assess.for", { name: view.person_name })),
      h("p", { class: "status-line" }, h("span", { class: `badge status-${a.status}`, id: "assess-status" }, t(`status.${a.status}`))),
      h("p", { id: "assess-group" }, t("assess.group", { group: tx(view.group.name) })),
      h("p", { class: "hint" }, t("assess.catalog", { title: tx(view.catalog_title) })),
      view.catalog_draft ? h("p", { class: "hint" }, t("assess.catalog_draft")) : null),
    flash ? okBox(flash, "assess-flash") : null,
    a.status === "returned" && a.return_reason
      ? h("div", { class: "notice warn", id: "assess-returned" }, t("history.returned_reason", { reason: a.return_reason }))
      : null,
    replacedNotice(view, () => queue),
    !editable ? h("div", { class: "notice info", id: "assess-locked" }, t("assess.locked"),
      h("div", {}, h("button", { class: "secondary", onclick: () => go("history", { personId: a.person_id }) }, t("assess.next_history")))) : null,
    h("div", { class: "assess-layout" },
      h("div", { class: "assess-form" },
        view.group.competencies.map((c) =>
          h("section", { class: "competency" },
            h("h3", {}, t("assess.competency", { id: c.id, name: tx(c.name) })),
            c.indicators.map((ind) => indicatorCard(c, ind)))),
        messages,
        editable ? h("button", { class: "primary big", id: "submit-assessment", onclick: submit }, t("assess.submit")) : null),
      h("aside", { class: "assess-side" }, savedEl, scoreEl, evidenceSummary)),
    miniScore,
  ];
}

/**
 * Answers the person changed on this device and had not sent, replaced by a
 * version another device sent first: kept and shown until "Đã xem", and used
 * again while the assessment can be edited here. `saved()` waits for the
 * form's autosaves.
 */
function replacedNotice(view, saved) {
  const kept = view.replaced_answers ?? [];
  if (!kept.length) return null;
  const a = view.assessment;
  const msg = h("div", { id: "replaced-messages" });
  const indicators = view.group.competencies.flatMap((c) => c.indicators);
  const answerText = (indicatorId, answer) => {
    if (answer === null || answer === undefined) return t("assess.replaced_unanswered");
    const level = indicators.find((i) => i.id === indicatorId)?.levels.find((l) => l.id === answer || l.points === answer);
    if (level) return `${tx(level.label)} (${t("assess.points", { points: level.points })})`;
    return typeof answer === "number" ? t("assess.points", { points: answer }) : String(answer);
  };
  const keptText = (row) =>
    row.level_label && row.points !== null ? `${tx(row.level_label)} (${t("assess.points", { points: row.points })})` : answerText(row.indicator_id, row.answer);
  const act = (command, args, flash) => async (ev) => {
    ev.target.disabled = true;
    try {
      await saved(); // every change made so far is stored first
      state.view = await call(command, { assessment_id: a.assessment_id, ...args });
      go("assess", { flash, year: a.year, personId: a.person_id });
    } catch (err) {
      ev.target.disabled = false;
      mount(msg, errorBox(err, "replaced-error"));
    }
  };
  const when = (ms) => new Date(ms).toLocaleString(lang() === "vi" ? "vi-VN" : "en-GB", { hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit", year: "numeric" });
  return h("div", { class: "notice warn", id: "assess-replaced", role: "status" },
    h("p", {}, h("strong", {}, t("assess.replaced_notice"))),
    kept.map((k) => h("div", { class: "replaced-set", "data-replaced-id": k.replaced_id },
      h("p", { class: "hint" }, t("assess.replaced_at", { time: when(k.replaced_at_ms) })),
      h("ul", { class: "replaced-rows" }, k.rows.map((row) =>
        h("li", { "data-indicator": row.indicator_id },
          h("strong", {}, t("assess.indicator", { id: row.indicator_id }), row.indicator_title ? ` · ${tx(row.indicator_title)}` : "", ": "),
          keptText(row),
          h("div", { class: "hint" }, t("assess.replaced_now", { answer: answerText(row.indicator_id, row.current) }))))),
      h("p", { class: "hint" }, k.can_restore ? t("assess.replaced_restore_hint") : t("assess.replaced_locked_hint")),
      k.can_restore
        ? h("button", { class: "primary", type: "button", id: `replaced-restore-${k.replaced_id}`,
          onclick: act("restore_replaced_answers", { replaced_id: k.replaced_id }, t("assess.replaced_restored")) }, t("assess.replaced_restore"))
        : null)),
    h("div", {}, h("button", { class: "secondary", type: "button", id: "replaced-seen",
      onclick: act("dismiss_replaced_answers", {}, null) }, t("assess.replaced_seen"))),
    msg);
}

/** The whole photo over the page, to check that a certificate reads well. */
async function showPhoto(evidence) {
  const close = () => overlay.remove();
  const body = h("div", { class: "photo-body" }, h("p", {}, t("common.loading")));
  const overlay = h("div", { class: "photo-overlay", id: "photo-viewer", role: "dialog", "aria-modal": "true",
    onclick: (e) => { if (e.target === overlay) close(); } },
    h("div", { class: "photo-box" },
      h("button", { class: "primary", id: "photo-close", onclick: close }, t("assess.close_photo")),
      body));
  document.body.appendChild(overlay);
  try {
    const url = await call("evidence_photo", { sha256: evidence.sha256 });
    mount(body, h("img", { src: url, alt: t("assess.view_photo") }),
      h("p", { class: "hint" }, `${evidence.width_px ?? "?"}×${evidence.height_px ?? "?"} · ${Math.round(evidence.byte_size / 1024)} KB`));
  } catch (err) {
    mount(body, errorBox(err));
  }
}

function scorePanel(score, view) {
  if (view) view.score = score;
  const unanswered = score.unanswered.length;
  let verdict;
  let cls;
  if (unanswered > 0) {
    verdict = t("assess.verdict_unanswered", { count: unanswered });
    cls = "pending";
  } else if (score.passed) {
    verdict = t("assess.verdict_pass");
    cls = "pass";
  } else {
    verdict = t("assess.verdict_fail");
    cls = "fail";
  }
  const reasons = score.reasons.filter((r) => r.kind !== "unanswered");
  const jump = (indicator) => {
    const card = document.getElementById(`indicator-${slug(indicator)}`);
    card?.scrollIntoView({ behavior: "smooth", block: "start" });
    card?.querySelector("input[type=radio]")?.focus({ preventScroll: true });
  };
  return [
    h("p", { class: "total", id: "score-total" }, t("assess.score", { total: score.total, max: score.max_total })),
    h("p", { class: `verdict ${cls}`, id: "verdict", "data-verdict": cls }, verdict),
    score.provisional.length && unanswered === 0
      ? h("div", { class: "provisional", id: "score-provisional" }, score.provisional.map((p) => h("p", {}, t(`provisional.${p.rule}`, { threshold: score.threshold }))))
      : null,
    unanswered > 0
      ? h("div", { class: "unanswered", id: "score-unanswered" }, h("span", { class: "hint" }, t("assess.go_unanswered")),
        score.unanswered.map((id) => h("button", { class: "secondary small", type: "button", onclick: () => jump(id) }, id)))
      : null,
    h("p", { class: "hint" }, t("assess.threshold", { threshold: score.threshold, min: score.min_indicator_points })),
    h("ul", { class: "competency-scores" }, score.competencies.map((c) =>
      h("li", {}, `${c.id}. ${tx(c.name)}: ${c.points}/${c.max_points}`))),
    reasons.length && unanswered === 0
      ? h("div", { id: "score-reasons" }, h("h4", {}, t("assess.reasons")), h("ul", {}, reasons.map((r) => h("li", {}, tx(r.message)))))
      : null,
    score.improvements.length && unanswered === 0
      ? h("div", { id: "score-improvements" }, h("h4", {}, t("assess.improvements")), h("ul", {}, score.improvements.map((i) => h("li", {}, tx(i.message)))))
      : null,
  ];
}

// ---- History ---------------------------------------------------------------

async function historyScreen() {
  const personId = state.personId ?? selfId();
  if (!personId) return [h("h2", {}, t("history.title")), h("p", {}, t("history.empty"))];
  const hist = await call("history", { person_id: personId });
  const ex = hist.exemplary;
  return [
    h("h2", {}, t("history.title")),
    h("p", {}, hist.person.full_name),
    h("section", { class: "card", id: "history-exemplary" },
      h("p", {}, t("history.streak", { streak: ex.streak, required: ex.required })),
      ex.eligible ? h("p", { class: "verdict pass", id: "history-eligible" }, t("history.exemplary")) : h("p", { class: "hint" }, t("history.to_go", { years: ex.years_to_go })),
      ex.provisional ? h("p", { class: "hint provisional" }, t("history.exemplary_provisional", { required: ex.required })) : null),
    hist.entries.length === 0
      ? [h("p", {}, t("history.empty")),
        h("button", { class: "primary", id: "history-start", onclick: () => go("assess", { personId }) }, t("home.step_assess_button", { year: state.overview.year }))]
      : h("ul", { class: "history", id: "history-list" }, hist.entries.map((e) =>
        h("li", { class: "card" },
          h("h3", {}, t("history.year", { year: e.year })),
          h("p", {}, h("span", { class: `badge status-${e.status}` }, t(`status.${e.status}`)),
            e.score ? ` · ${t("history.score", { total: e.score.total_points })} (${e.score.passed ? t("history.passed") : t("history.failed")})` : ""),
          e.return_reason ? h("p", { class: "notice warn" }, t("history.returned_reason", { reason: e.return_reason })) : null,
          h("button", { class: "secondary", id: `history-open-${e.year}`, onclick: () => go("assess", { personId, year: e.year }) }, t("history.open"))))),
  ];
}

// ---- Officer mode ------------------------------------------------------------

async function officerScreen() {
  const o = state.overview;
  const list = h("ul", { class: "people", id: "people-list" });
  const count = h("p", { class: "hint", id: "people-count" });
  const search = h("input", { id: "people-search", type: "search", autocomplete: "off", placeholder: "nguyen van" });
  const PAGE = 100;
  let seq = 0;
  let timer = null;
  const load = async () => {
    const mine = ++seq;
    const people = await call("list_people", { query: search.value, limit: PAGE });
    if (mine !== seq) return; // a newer keystroke's answer wins
    count.textContent = people.length >= PAGE ? t("officer.first_n", { count: PAGE }) : t("officer.count", { count: people.length });
    if (people.length === 0) {
      mount(list, h("li", { class: "hint", id: "people-empty" }, search.value.trim() ? t("officer.no_match") : t("officer.empty")));
      return;
    }
    // Grouped by household: the list comes in household order; search results
    // keep their ranking, each household where its first match is.
    const groups = new Map();
    for (const p of people) {
      const label = (p.household_label ?? "").trim();
      const key = p.is_self ? "self" : `h:${label.toLocaleLowerCase("vi")}`;
      if (!groups.has(key)) groups.set(key, { label, people: [] });
      groups.get(key).people.push(p);
    }
    mount(list, [...groups.values()].map((g) =>
      h("li", { class: "household" },
        h("h4", { class: "household-label" },
          t("officer.household_group", { label: g.label || t("officer.no_household"), count: g.people.length })),
        h("ul", { class: "people" }, g.people.map(personItem)))));
  };
  const personItem = (p) =>
    h("li", { class: "person card", "data-person-id": p.person_id },
      h("div", { class: "person-main" },
        h("strong", { class: "person-name" }, p.full_name), p.is_self ? ` ${t("officer.self")}` : "",
        p.birth_year ? ` · ${p.birth_year}` : "",
        p.cccd_masked ? h("div", { class: "hint person-cccd" }, t("officer.person_cccd", { masked: p.cccd_masked })) : null,
        p.owner_unit ? h("div", { class: "hint person-unit" }, t("officer.person_unit", { unit: p.owner_unit })) : null),
      h("span", { class: `badge status-${p.assessment?.status ?? "none"}` },
        p.assessment ? t(`status.${p.assessment.status}`) : t("officer.no_assessment"),
        p.assessment?.score ? ` · ${p.assessment.score.total_points}` : ""),
      h("div", { class: "person-actions" },
        h("button", { class: "secondary", onclick: () => go("assess", { personId: p.person_id }) }, t("officer.assess")),
        h("button", { class: "secondary", onclick: () => go("history", { personId: p.person_id }) }, t("nav.history")),
        h("button", { class: "secondary edit-person", onclick: () => startEditing(p.person_id) }, t("officer.edit")),
        p.household_label
          ? h("button", { class: "secondary", onclick: () => {
            household.value = p.household_label;
            mount(result);
            name.focus();
            name.scrollIntoView({ block: "center" });
          } }, t("officer.same_household"))
          : null));
  // A short pause after typing: one query per word typed, not per letter.
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load().catch((err) => mount(list, errorBox(err))), 120);
  });

  const result = h("div", { id: "officer-result" });
  const name = h("input", { id: "officer-name", autocomplete: "off" });
  const birth = h("input", { id: "officer-birth-year", type: "number", inputmode: "numeric", min: 1900, max: o.year });
  const gender = h("select", { id: "officer-gender" }, h("option", { value: "" }, "—"),
    ["female", "male", "other"].map((g) => h("option", { value: g }, t(`profile.gender_${g}`))));
  const household = h("input", { id: "officer-household", autocomplete: "off" });
  const group = h("select", { id: "officer-group" },
    o.catalog.groups.map((g, i) => h("option", { value: g.id, selected: i === 0 }, tx(g.name))));
  // The CCCD, as on the profile: only after the person's explicit consent,
  // 12 digits, and only ever shown back masked.
  const consent = h("input", { type: "checkbox", id: "officer-cccd-consent" });
  const cccd = h("input", { id: "officer-cccd", inputmode: "numeric", autocomplete: "off", maxlength: 15, disabled: true });
  const cccdError = h("span", { class: "field-error", id: "officer-cccd-error" });
  const cccdStored = h("div", {});
  const resetCccd = () => {
    cccd.value = "";
    consent.checked = false;
    cccd.disabled = true;
    cccdError.textContent = "";
  };
  consent.addEventListener("change", () => {
    cccd.disabled = !consent.checked;
    if (!consent.checked) cccd.value = "";
    cccdError.textContent = "";
  });
  cccd.addEventListener("input", () => {
    const digits = cccd.value.replace(/\s/g, "");
    cccdError.textContent = digits && !/^\d{12}$/.test(digits) ? t("profile.cccd_bad") : "";
  });
  // A stored number (or one the server holds for a pulled person) can be
  // erased here as on the profile: the consent is withdrawn with it.
  let eraseCccd = false;
  const showStoredCccd = (person) => {
    const text = person?.cccd_masked
      ? t("profile.cccd_stored", { masked: person.cccd_masked })
      : person?.server_has_cccd ? t("officer.cccd_on_server") : null;
    mount(cccdStored, text
      ? h("p", { id: "officer-cccd-stored" }, text, " ",
        h("button", { type: "button", class: "secondary", id: "officer-cccd-erase",
          onclick: async (e) => { eraseCccd = true; try { await add(e); } finally { eraseCccd = false; } } },
        t("profile.cccd_erase")))
      : null);
  };
  // Editing a person already collected: the form holds their details until saved.
  let editing = null;
  const formTitle = h("h3", {}, t("officer.add_title"));
  const submitButton = h("button", { class: "primary", id: "officer-add-submit", type: "submit" }, t("officer.add"));
  const cancelButton = h("button", { class: "secondary", type: "button", id: "officer-edit-cancel", hidden: true, onclick: () => stopEditing() }, t("common.cancel"));
  const stopEditing = () => {
    editing = null;
    formTitle.textContent = t("officer.add_title");
    submitButton.textContent = t("officer.add");
    cancelButton.hidden = true;
    name.value = "";
    birth.value = "";
    resetCccd();
    showStoredCccd(null);
  };
  const startEditing = async (personId) => {
    try {
      const p = await call("person", { person_id: personId });
      editing = p;
      name.value = p.full_name;
      birth.value = p.birth_year ?? "";
      gender.value = p.gender ?? "";
      household.value = p.household_label ?? "";
      if (p.target_group) group.value = p.target_group;
      resetCccd();
      showStoredCccd(p);
      formTitle.textContent = t("officer.edit_title", { name: p.full_name });
      submitButton.textContent = t("officer.save_changes");
      cancelButton.hidden = false;
      mount(result);
      name.focus();
      name.scrollIntoView({ block: "center" });
    } catch (err) {
      mount(result, errorBox(err, "officer-error"));
    }
  };
  const add = async (e) => {
    e.preventDefault();
    try {
      const person = await call("save_person", {
        form: {
          person_id: editing?.person_id ?? null,
          full_name: name.value,
          birth_year: birth.value ? Number(birth.value) : null,
          gender: gender.value || null,
          household_label: household.value || null,
          target_group: group.value || null,
          cccd: eraseCccd ? null : cccd.value || null,
          cccd_consent: consent.checked,
          erase_cccd: eraseCccd,
          // Not on this form: kept as stored.
          ethnicity: editing?.ethnicity ?? null,
          household_address: editing?.household_address ?? null,
        },
      });
      mount(result, okBox(t(eraseCccd ? "officer.cccd_erased" : editing ? "officer.saved" : "officer.added", { name: person.full_name }), "officer-ok"),
        person.cccd_masked
          ? h("p", { id: "officer-cccd-saved" }, t("officer.person_cccd", { masked: person.cccd_masked }))
          : null);
      stopEditing();
      name.focus();
      await load();
      refreshOverview();
    } catch (err) {
      mount(result, errorBox(err, "officer-error"));
    }
  };
  await load();
  // A round after the officer logs in brings the unit's people: the list
  // reloads when it ends (the form keeps what is being typed).
  live.reloadPeople = () => load().catch(() => {});
  return [
    h("h2", {}, t("officer.title")),
    officerLoginCard(o),
    h("div", { class: "officer-layout" },
    h("section", { class: "card" }, field(t("officer.search"), search), count, list),
    h("form", { class: "card", onsubmit: add, id: "officer-add" },
      formTitle,
      field(t("profile.name"), name),
      field(t("profile.birth_year"), birth),
      field(t("profile.gender"), gender),
      field(t("officer.household"), household),
      field(t("profile.group"), group),
      h("fieldset", { class: "cccd" },
        h("legend", {}, t("profile.cccd_title")),
        h("p", { class: "hint" }, t("officer.cccd_why")),
        cccdStored,
        h("label", { class: "check" }, consent, h("span", {}, t("officer.cccd_consent"))),
        field(t("profile.cccd"), cccd),
        cccdError),
      h("div", { class: "choices" }, submitButton, cancelButton),
      result)),
    syncSummary(o.sync),
  ];
}

/**
 * "Cán bộ đăng nhập trên máy này": with an officer logged in, the device
 * receives every record of its unit. Needs the network; the loop does it.
 */
function officerLoginCard(o) {
  const result = h("div", { id: "officer-login-result" });
  if (o.device_officer) {
    const logout = async (e) => {
      e.target.disabled = true;
      try {
        await call("officer_logout");
        await refreshOverview();
        go("officer", { flash: t("officer.logged_out") });
      } catch (err) {
        e.target.disabled = false;
        mount(result, errorBox(err, "officer-login-error"));
      }
    };
    const flash = state.flash;
    state.flash = null;
    return h("section", { class: "card", id: "officer-login" },
      h("h3", {}, t("officer.login_title")),
      flash ? okBox(flash, "officer-login-ok") : null,
      h("p", { id: "officer-bound", class: "notice ok" }, t("officer.bound", { name: o.device_officer })),
      h("p", { class: "hint" }, t("officer.logout_hint")),
      h("button", { class: "secondary", id: "officer-logout", onclick: logout }, t("officer.logout")),
      result);
  }
  const flash = state.flash;
  state.flash = null;
  const username = h("input", { id: "officer-username", autocomplete: "username", autocapitalize: "none" });
  const password = h("input", { id: "officer-password", type: "password", autocomplete: "current-password" });
  const submit = h("button", { class: "primary big", id: "officer-login-submit", type: "submit" }, t("officer.login"));
  const login = async (e) => {
    e.preventDefault();
    submit.disabled = true;
    mount(result, h("p", { class: "hint" }, t("officer.logging_in")));
    try {
      const bound = await call("officer_login", { username: username.value, password: password.value });
      password.value = "";
      await refreshOverview();
      go("officer", { flash: t("officer.logged_in", { name: bound.username }) });
    } catch (err) {
      submit.disabled = false;
      mount(result, errorBox(err, "officer-login-error"));
    }
  };
  return h("form", { class: "card", id: "officer-login", onsubmit: login },
    h("h3", {}, t("officer.login_title")),
    flash ? okBox(flash, "officer-login-ok") : null,
    h("p", { class: "hint" }, o.enrolled ? t("officer.login_why") : t("officer.login_need_join")),
    field(t("officer.username"), username),
    field(t("officer.password"), password),
    submit,
    result);
}

// ---- Sync ------------------------------------------------------------------

function syncSummary(sync) {
  return h("section", { class: "card", id: "sync-summary" },
    // On the sync screen itself the card is what waits (the page is "Đồng bộ").
    h("h3", {}, state.screen === "sync" ? t("sync.waiting_title") : t("sync.title")),
    sync.waiting_records === 0 && sync.waiting_photos === 0
      ? h("p", { id: "sync-nothing" }, t("sync.nothing"))
      : [h("p", { id: "sync-records" }, t("sync.waiting_records", { count: sync.waiting_records })),
        h("p", { id: "sync-photos" }, t("sync.waiting_photos", { count: sync.waiting_photos }))],
    // The parked records themselves are listed once, on the sync screen ("Cần sửa").
    sync.rejected.length + (sync.refused_photos?.length ?? 0) && state.screen !== "sync"
      ? h("div", { class: "notice error", id: "sync-parked-count" },
        h("p", {}, t("sync.parked_count", { count: sync.rejected.length + (sync.refused_photos?.length ?? 0) })),
        h("button", { class: "secondary", id: "sync-parked-open", onclick: () => go("sync") }, t("sync.parked_open")))
      : null,
    sync.waiting.length
      ? h("ul", { class: "waiting", id: "sync-waiting" }, sync.waiting.map((w) =>
        h("li", {},
          w.record_kind === "assessment"
            ? t("sync.item_assessment", { name: w.person_name ?? "?", year: w.year ?? "" })
            : w.record_kind === "person"
              ? t("sync.item_person", { name: w.person_name ?? "?" })
              : w.record_kind === "evidence" && w.person_name
                ? t("sync.item_evidence", { name: w.person_name, year: w.year ?? "" })
                : t("sync.item_other"),
          w.last_error ? h("span", { class: "hint" }, " · ", t("sync.item_retry", { attempts: w.attempts })) : null)))
      : null);
}

// The background loop (src-tauri → cdht_app::background) reports by events;
// the sync screen redraws its live card from them, without waiting on the network.
const live = { progress: null, reloadPeople: null };

function kb(bytes) {
  return Math.ceil((bytes ?? 0) / 1024);
}

/** The plain-language state of the background loop. */
function syncStateText(bg) {
  const err = bg.last_error;
  if (bg.running) return { id: "running", text: t("sync.state_running") };
  if (err) {
    switch (err.kind) {
      case "offline":
      case "retry_later":
        return { id: "offline", text: t("sync.state_offline") };
      case "auth_expired":
        return { id: "auth", text: t("sync.state_auth_expired"), rescan: true };
      case "certificate_untrusted":
        return { id: "certificate", text: t("sync.state_certificate") };
      // The network works but this address answers nothing, or answers and is
      // not a CDHT server: waiting for a signal would never help.
      case "server_not_answering":
        return { id: "server_not_answering", text: t("sync.state_server_not_answering", { server: bg.server ?? "" }), rescan: true };
      case "not_cdht":
        return { id: "not_cdht", text: t("sync.state_not_cdht", { server: bg.server ?? "" }), rescan: true };
      case "store":
        return { id: "store", text: t("sync.state_store") };
      default:
        return { id: "rejected", text: t("sync.state_rejected", { reason: refusalText(err.code, err.message) }) };
    }
  }
  if (!bg.enrolled && !bg.enrol_pending) return { id: "not_joined", text: t("sync.state_not_joined") };
  if (bg.last_success_ms) return { id: "ok", text: t("sync.state_ok") };
  return { id: "waiting", text: t("sync.state_waiting") };
}

function progressBlock(p) {
  if (!p) return null;
  const items = p.items_total > 0 ? p.items_done / p.items_total : 1;
  return h("div", { id: "sync-progress-block" },
    h("progress", { id: "sync-progress", max: "100", value: String(Math.round(items * 100)) }),
    h("p", { id: "sync-progress-text" }, t("sync.progress", {
      done: p.items_done, total: p.items_total, kb_done: kb(p.bytes_done), kb_total: kb(p.bytes_total),
    })));
}

function syncLiveCard(bg) {
  const st = syncStateText(bg);
  const progress = live.progress ?? bg.progress;
  return h("section", { class: "card", id: "sync-live" },
    h("p", { id: "sync-state", "data-state": st.id, class: st.id === "ok" || st.id === "running" ? "" : "notice" }, st.text),
    st.rescan
      ? h("button", { class: "primary", id: "sync-rescan", onclick: () => go("join") }, t("sync.rescan"))
      : null,
    progressBlock(progress),
    h("p", { id: "sync-last" }, bg.last_success_ms
      ? t("sync.last_success", { time: new Date(bg.last_success_ms).toLocaleString(lang() === "vi" ? "vi-VN" : "en-GB") })
      : t("sync.never")),
    h("button", {
      class: "primary", id: "sync-now",
      onclick: async (e) => {
        e.target.disabled = true;
        try { await call("sync_now"); } finally { setTimeout(() => { if (state.screen === "sync") render(); }, 300); }
      },
    }, t("sync.now")));
}

/**
 * Why the server refused something, in the chosen language: its stable code
 * worded by the catalog (with the next step), or the server's own sentence
 * (Vietnamese) for a code this version does not know.
 */
function refusalText(code, message) {
  return (code && tOwn(`refusal.${code}`)) || message || t("sync.parked_no_reason");
}

/** What a parked record is, named for people ("Bài tự đánh giá năm 2026 của …"). */
function parkedName(r) {
  if (r.record_kind === "assessment" && r.person_name) return t("sync.item_assessment", { name: r.person_name, year: r.year ?? "" });
  if (r.record_kind === "person" && r.person_name) return t("sync.item_person", { name: r.person_name });
  if (r.record_kind === "evidence" && r.person_name) return t("sync.item_evidence", { name: r.person_name, year: r.year ?? "" });
  return r.record_kind === "assessment" ? t("sync.parked_assessment") : r.record_kind === "person" ? t("sync.parked_person") : t("sync.parked_other");
}

/** The one list of what the server refused, each with its reason and a way to fix it. */
function parkedList(sync) {
  const photos = sync.refused_photos ?? [];
  if (!sync.rejected.length && !photos.length) return null;
  const fix = (r) => {
    if (!r.person_id) return null;
    const own = r.person_id === selfId();
    const open = r.record_kind === "person"
      ? () => go(own ? "profile" : "officer")
      : () => go("assess", { personId: r.person_id, year: r.year ?? null });
    return h("button", { class: "secondary parked-fix", onclick: open }, t(r.record_kind === "person" ? "sync.parked_fix_person" : "sync.parked_fix_assessment"));
  };
  return h("section", { class: "card", id: "sync-parked" },
    h("h3", {}, t("sync.parked_title")),
    h("p", { class: "hint" }, t("sync.parked_intro")),
    h("ul", { class: "parked" }, sync.rejected.map((r) => h("li", { class: "notice error", "data-code": r.code ?? "" },
      h("strong", {}, parkedName(r)),
      h("p", { class: "parked-reason" }, refusalText(r.code, r.reason)),
      fix(r))),
    // A refused photo: its reason, and the next step is always to take it again.
    photos.map((p) => h("li", { class: "notice error refused-photo", "data-code": p.code },
      h("strong", {}, t("sync.refused_photo", { indicator: p.indicator_id, year: p.year, name: p.person_name ?? "?" })),
      h("p", { class: "parked-reason" }, refusalText(p.code, p.reason)),
      h("button", { class: "primary parked-fix", onclick: () => go("assess", { personId: p.person_id, year: p.year }) },
        t("sync.retake_photo"))))));
}

async function syncScreen() {
  const sync = await call("sync_status");
  live.progress = null;
  return [h("h2", {}, t("sync.title")), h("p", {}, t("sync.intro")), syncLiveCard(sync.background), syncSummary(sync), parkedList(sync),
    h("button", { class: "secondary", id: "sync-home", onclick: () => go("home") }, t("nav.home"))];
}

function onSyncEvent(name, payload) {
  if (name === "sync-progress") {
    live.progress = payload;
    const block = document.getElementById("sync-progress-block");
    const fresh = progressBlock(payload);
    if (block && fresh) block.replaceWith(fresh);
    const stateEl = document.getElementById("sync-state");
    if (stateEl && payload.phase !== "done") {
      stateEl.textContent = t("sync.state_running");
      stateEl.dataset.state = "running";
    }
    return;
  }
  if (state.screen === "sync") {
    // Only the live card is redrawn on an error; after a success (or an
    // enrolment) the waiting counts and parked records changed too.
    call("sync_status").then((sync) => {
      if (state.screen !== "sync") return;
      live.progress = null;
      document.getElementById("sync-live")?.replaceWith(syncLiveCard(sync.background));
      if (name === "sync-error") return;
      document.getElementById("sync-summary")?.replaceWith(syncSummary(sync));
      const parked = parkedList(sync);
      const old = document.getElementById("sync-parked");
      if (old && parked) old.replaceWith(parked);
      else if (old) old.remove();
      else if (parked) document.getElementById("sync-summary")?.after(parked);
    }).catch(() => {});
  } else if (state.screen === "officer" && name === "sync-done") {
    // Records pulled by the round (the unit's people, for an officer's device).
    live.reloadPeople?.();
  } else if (state.screen === "home" && name !== "sync-error") {
    // The unit's real name and the waiting counts came with the round.
    refreshOverview().then(() => { if (state.screen === "home") render(); }).catch(() => {});
  }
}

try {
  for (const name of ["sync-progress", "sync-done", "sync-error", "sync-enrolled"]) {
    listen(name, (event) => onSyncEvent(name, event.payload)).catch(() => {});
  }
} catch {
  // Outside Tauri (a plain browser preview) there are no events.
}

render();
