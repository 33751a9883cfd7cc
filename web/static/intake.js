// The intake form: plausibility warnings and the server's limits checked in the browser,
// errors announced and focused, the temperature unit remembered per terminal, Ctrl+Enter for
// "submit and start the next case", and the half-entered form kept in this tab's
// sessionStorage across an idle lock or a switch of user (never on the server).
(function () {
  "use strict";
  const form = document.getElementById("intake");
  if (!form) return;
  const DRAFT_KEY = "medtriage.intake.draft";
  const UNIT_KEY = "medtriage.temperatureUnit";
  const DRAFT_MAX_AGE_MS = 60 * 60 * 1000;
  // Files are never kept in a draft (a file name may be the patient's name).
  const SKIP = new Set(["csrf_token", "form_token", "then", "images"]);
  const checked = Array.from(form.querySelectorAll("input[data-label], input[data-kind]"));

  // ---- messages, in the server's words -------------------------------------------------
  function fmt(n) { return String(Math.round(n * 10) / 10); }
  function isF() { return form.elements.temperature_unit.value === "F"; }
  function cToF(c) { return Math.round((c * 9 / 5 + 32) * 10) / 10; }
  function numberOf(raw) {
    const text = raw.trim().replace(",", ".");
    return /^-?\d+(\.\d+)?$/.test(text) ? parseFloat(text) : NaN;
  }
  function range(label, unit, value, min, max, check) {
    const u = unit ? " " + unit : "";
    const tail = "; check the value" + (check || "") + ".";
    if (value > max) return label + " over " + fmt(max) + u + " is not possible" + tail;
    if (value < min) return label + " below " + fmt(min) + u + " is not possible" + tail;
    return "";
  }
  function unusual(label, unit, value, low, high) {
    if (isNaN(low) || (value >= low && value <= high)) return "";
    return label + " " + fmt(value) + (unit ? " " + unit : "") + "? That is unusual: check it.";
  }
  function pair(text) { return text ? text.split(",").map(parseFloat) : [NaN, NaN]; }

  // [error, warning] for one field; empty strings when fine.
  function check(input) {
    const raw = input.value.trim();
    if (!raw) return ["", ""];
    const d = input.dataset;
    if (d.kind === "bp") {
      const m = /^(\d{1,3})\s*(?:\/\s*(\d{1,3})?)?$/.exec(raw);
      if (!m) return ["Blood pressure: write systolic/diastolic in mmHg, for example 120/80.", ""];
      const sys = parseInt(m[1], 10);
      const dia = m[2] ? parseInt(m[2], 10) : null;
      const [smin, smax] = pair(d.sys), [dmin, dmax] = pair(d.dia);
      let error = range("Systolic BP", "mmHg", sys, smin, smax);
      if (!error && dia !== null) error = range("Diastolic BP", "mmHg", dia, dmin, dmax);
      if (!error && dia !== null && dia >= sys) {
        error = "Diastolic pressure must be lower than systolic pressure.";
      }
      const [ws, wS] = pair(d.warnSys), [wd, wD] = pair(d.warnDia);
      const warning = unusual("Systolic BP", "mmHg", sys, ws, wS) ||
        (dia === null ? "" : unusual("Diastolic BP", "mmHg", dia, wd, wD));
      return [error, error ? "" : warning];
    }
    if (d.kind === "temperature") {
      const m = /^(\d+(?:[.,]\d+)?)\s*°?\s*([CcFf])?$/.exec(raw);
      if (!m) return ["Temperature must be a number, for example 37.2.", ""];
      if (m[2]) setUnit(m[2].toUpperCase());
      const value = parseFloat(m[1].replace(",", "."));
      const f = isF();
      const c = f ? (value - 32) * 5 / 9 : value;
      const min = parseFloat(d.min), max = parseFloat(d.max);
      if (c < min || c > max) {
        const unit = f ? "°F" : "°C";
        const error = range("Temperature", unit, value, f ? cToF(min) : min, f ? cToF(max) : max,
          " and the unit");
        const hint = !f && cToF(min) <= value && value <= cToF(max) ? " In °F? Choose °F." : "";
        return [error + hint, ""];
      }
      return ["", unusual("Temperature", f ? "°F" : "°C", value,
        f ? cToF(parseFloat(d.warnMin)) : parseFloat(d.warnMin),
        f ? cToF(parseFloat(d.warnMax)) : parseFloat(d.warnMax))];
    }
    const value = numberOf(raw);
    if (isNaN(value)) return [d.label + " must be a number.", ""];
    if (d.whole && !Number.isInteger(value)) return [d.label + " must be a whole number.", ""];
    const error = range(d.label, d.unit, value, parseFloat(d.min), parseFloat(d.max));
    if (error) return [error, ""];
    return ["", unusual(d.label, d.unit, value, parseFloat(d.warnMin), parseFloat(d.warnMax))];
  }

  // ---- showing them ---------------------------------------------------------------------
  function note(input, kind, text) {
    const id = kind + "-" + input.name;
    let span = document.getElementById(id);
    if (!span && !text) return;
    if (!span) {
      span = document.createElement("span");
      span.id = id;
      span.className = kind === "err" ? "error" : "warning";
      input.closest(".field").appendChild(span);
    }
    span.textContent = text;
    const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean)
      .filter((x) => x !== id);
    if (text) ids.unshift(id);
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
    if (kind === "err") {
      if (text) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      input.closest(".field").classList.toggle("invalid", Boolean(text));
    }
  }
  const live = document.createElement("p");
  live.className = "visually-hidden";
  live.setAttribute("aria-live", "polite");
  form.appendChild(live);

  function show(input, announce) {
    const [error, warning] = check(input);
    note(input, "err", error);
    note(input, "warn", warning);
    if (announce && (error || warning)) live.textContent = error || warning;
    return error;
  }
  checked.forEach((input) => input.addEventListener("blur", () => show(input, true)));

  function required(name, message) {
    const input = form.elements[name];
    const error = input.value.trim() ? "" : message;
    if (error) note(input, "err", error);
    return error;
  }

  function summary(errors) {
    let box = document.getElementById("error-summary");
    if (!box) {
      box = document.createElement("div");
      box.id = "error-summary";
      box.className = "error-summary";
      box.setAttribute("role", "alert");
      form.parentNode.insertBefore(box, form);
    }
    box.replaceChildren();
    const p = document.createElement("p");
    p.textContent = "Please correct the marked fields. Nothing was sent.";
    const ul = document.createElement("ul");
    errors.forEach(([input, text]) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "#" + input.id;
      a.textContent = text;
      li.appendChild(a);
      ul.appendChild(li);
    });
    box.append(p, ul);
  }

  form.addEventListener("submit", (event) => {
    const errors = [];
    checked.forEach((input) => {
      const error = show(input, false);
      if (error) errors.push([input, error]);
    });
    const age = required("age_years", "Enter the age in years.");
    if (age) errors.push([form.elements.age_years, age]);
    const complaint = required("chief_complaint", "Enter the chief complaint.");
    if (complaint) errors.push([form.elements.chief_complaint, complaint]);
    if (errors.length) {
      event.preventDefault();
      const order = Array.from(form.elements);
      errors.sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
      summary(errors);
      errors[0][0].focus();
      return;
    }
    sessionStorage.removeItem(DRAFT_KEY);
    form.dataset.submitted = "1";
  });

  // Ctrl+Enter: submit and start the next case.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit(document.getElementById("submit-next"));
    }
  });

  // ---- temperature unit, remembered on this terminal ----------------------------------
  function setUnit(unit) {
    const radio = form.querySelector("input[name=temperature_unit][value=" + unit + "]");
    if (radio && !radio.checked) radio.checked = true;
    try { localStorage.setItem(UNIT_KEY, unit); } catch (e) { /* storage disabled */ }
  }
  form.querySelectorAll("input[name=temperature_unit]").forEach((radio) => {
    radio.addEventListener("change", () => {
      setUnit(radio.value);
      show(form.elements.temperature, true);
    });
  });
  const serverUnit = form.querySelector("input[name=temperature_unit][data-server]");
  if (serverUnit && !serverUnit.dataset.server) {
    try {
      const saved = localStorage.getItem(UNIT_KEY);
      if (saved === "C" || saved === "F") setUnit(saved);
    } catch (e) { /* storage disabled */ }
  }

  // ---- pregnancy only asked when it can apply -------------------------------------------
  const sex = form.elements.sex;
  const pregnant = document.getElementById("pregnant-field");
  function pregnancyShown() {
    pregnant.hidden = sex.value === "male";
    if (pregnant.hidden) form.elements.pregnant.checked = false;
  }
  sex.addEventListener("change", pregnancyShown);
  pregnancyShown();

  // ---- the half-entered form, kept in this tab only ------------------------------------
  function fields() {
    return Array.from(form.elements).filter((el) => el.name && !SKIP.has(el.name));
  }
  function save() {
    if (form.dataset.submitted) return;
    const values = {};
    let any = false;
    fields().forEach((el) => {
      if (el.type === "checkbox") values[el.name] = el.checked;
      else if (el.type === "radio") { if (el.checked) values[el.name] = el.value; }
      else {
        values[el.name] = el.value;
        if (el.value.trim() && el.tagName !== "SELECT") any = true;
      }
    });
    if (!any) { sessionStorage.removeItem(DRAFT_KEY); return; }
    const by = document.body.dataset.user || "";
    sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ at: Date.now(), by: by, values: values }));
  }
  form.addEventListener("input", save);
  form.addEventListener("change", save);
  document.addEventListener("medtriage:lock", save);

  function restore() {
    let draft = null;
    try { draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null"); } catch (e) { draft = null; }
    if (!draft || !draft.values || Date.now() - draft.at > DRAFT_MAX_AGE_MS) {
      sessionStorage.removeItem(DRAFT_KEY);
      return;
    }
    fields().forEach((el) => {
      if (!(el.name in draft.values)) return;
      const value = draft.values[el.name];
      if (el.type === "checkbox") el.checked = Boolean(value);
      else if (el.type === "radio") el.checked = el.value === value;
      else el.value = value;
    });
    pregnancyShown();
    const notice = document.getElementById("draft-notice");
    const time = new Date(draft.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    notice.textContent = "Unfinished case restored (entered" + (draft.by ? " by " + draft.by : "") +
      " at " + time + "). Check it before submitting. ";
    const discard = document.createElement("button");
    discard.type = "button";
    discard.textContent = "Discard it";
    discard.addEventListener("click", () => {
      sessionStorage.removeItem(DRAFT_KEY);
      form.reset();
      fields().forEach((el) => { if (el.type !== "radio" && el.tagName !== "SELECT" && el.type !== "checkbox") el.value = ""; });
      notice.hidden = true;
      form.elements.patient_ref.focus();
    });
    notice.appendChild(discard);
    notice.hidden = false;
  }
  if (form.dataset.fresh === "1") restore();

  // ---- images: drag and drop onto the fieldset, and the chosen files listed ---------------
  const drop = document.getElementById("image-drop");
  const picker = document.getElementById("f-images");
  const list = document.getElementById("image-list");
  function listFiles() {
    list.replaceChildren();
    form.querySelectorAll("input[type=file][name=images]").forEach((input) => {
      Array.from(input.files).forEach((file) => {
        const item = document.createElement("li");
        item.textContent = file.name + " (" + (file.size / 1048576).toFixed(1) + " MB)";
        list.append(item);
      });
    });
  }
  form.querySelectorAll("input[type=file][name=images]").forEach((input) => {
    input.addEventListener("change", listFiles);
  });
  ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (event) => {
    event.preventDefault();
    drop.classList.add("dragging");
  }));
  ["dragleave", "drop"].forEach((name) => drop.addEventListener(name, () => {
    drop.classList.remove("dragging");
  }));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const files = new DataTransfer();
    Array.from(picker.files).concat(Array.from(event.dataTransfer.files)).forEach((f) => files.items.add(f));
    picker.files = files.files;
    listFiles();
  });
})();
