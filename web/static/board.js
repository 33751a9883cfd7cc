// The live board. Polls with If-None-Match (an unchanged board answers 304 and only the
// clocks are redrawn); filters, acknowledged alerts and the sound choice are remembered on
// this terminal (localStorage); every open level 1-2 case is always a row.
(function () {
  "use strict";
  const table = document.getElementById("board");
  if (!table) return;
  const $ = (id) => document.getElementById(id);
  const body = table.querySelector("tbody");
  const form = $("filters");
  const pollMs = parseInt(table.dataset.pollMs, 10) || 3000;
  const pageSize = parseInt(table.dataset.pageSize, 10) || 100;
  const caseUrl = (id) => table.dataset.caseUrl.replace("ID", encodeURIComponent(id));
  const KEY = "medtriage.board.";
  const SEX = { female: "F", male: "M", other: "X", unknown: "?" };
  const CARE = { waiting: "waiting", in_assessment: "in assessment", disposed: "disposed" };
  const baseTitle = document.title;

  let etag = null;
  let data = null;
  let limit = pageSize;
  let clockSkewMs = 0; // server clock minus this terminal's clock, from the Date header
  let request = 0; // answers to an older request (filters changed since) are dropped
  let timer = null;
  let focusedId = null;
  const expanded = new Set();
  const alerted = new Set(); // alerts this page has already sounded for
  let audio = null;

  function load(name, fallback) {
    try {
      const value = JSON.parse(window.localStorage.getItem(KEY + name));
      return value === null ? fallback : value;
    } catch (err) {
      return fallback;
    }
  }
  function save(name, value) {
    try {
      window.localStorage.setItem(KEY + name, JSON.stringify(value));
    } catch (err) { /* private mode: remembered for this page only */ }
  }
  let acked = load("acked", {}); // case id -> the level acknowledged on this terminal

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function flag(text, className, icon, title) {
    const span = el("span", "flag " + className);
    if (icon) span.append(el("span", "icon", icon), " ");
    span.append(text);
    if (icon) span.firstChild.setAttribute("aria-hidden", "true");
    if (title) span.title = title;
    return span;
  }
  function duration(ms) {
    const m = Math.floor(Math.max(ms, 0) / 60000);
    if (m >= 48 * 60) return Math.floor(m / 1440) + " days";
    return m < 60 ? m + " min" : Math.floor(m / 60) + " h " + (m % 60) + " min";
  }
  const targetText = (minutes) => (minutes === 0 ? "immediate" : minutes + " min");
  const levelText = (level) => level + " " + data.level_names[level];
  function age(years) {
    if (years < 1) return Math.floor(years * 12) + " mo";
    return Math.floor(years) + " y";
  }

  // Filters -------------------------------------------------------------------------------
  function filters() {
    return {
      area: form.area.value,
      level: form.level.value,
      status: form.status.value,
      mine: form.mine.checked,
    };
  }
  function setFilters(saved) {
    if (saved.area && ![...form.area.options].some((o) => o.value === saved.area)) {
      form.area.append(new Option(saved.area, saved.area));
    }
    form.area.value = saved.area || "";
    form.level.value = saved.level || "";
    form.status.value = saved.status || "";
    form.mine.checked = !!saved.mine;
  }
  function filtersChanged() {
    save("filters", filters());
    limit = pageSize;
    pollNow();
  }
  function sourceUrl() {
    const f = filters();
    const params = new URLSearchParams();
    for (const name of ["area", "level", "status"]) if (f[name]) params.set(name, f[name]);
    if (f.mine) params.set("mine", "1");
    if (limit !== pageSize) params.set("limit", String(limit));
    const query = params.toString();
    return table.dataset.source + (query ? "?" + query : "");
  }
  function describeFilter() {
    const f = filters();
    const parts = [];
    if (f.area) parts.push("area " + f.area);
    if (f.level) parts.push("level " + levelText(f.level));
    if (f.status) parts.push(form.status.selectedOptions[0].textContent);
    if (f.mine) parts.push("mine only");
    return parts.join(", ");
  }

  // Rows ----------------------------------------------------------------------------------
  function acuityCell(row) {
    const td = el("td", "acuity");
    td.dataset.label = "Acuity";
    const badge = el("span", "badge acuity-" + row.acuity);
    badge.title = row.provisional ? "provisional: analysis pending" : "analyzed";
    badge.append(el("b", null, row.acuity + (row.provisional ? "*" : "")), " " + row.acuity_name);
    td.append(badge, " ", el("span", "risk risk-" + row.risk_level, row.risk_level));
    if (row.override_acuity !== null) {
      td.append(el("span", "override", "override; engine " + levelText(row.engine_acuity)));
    }
    if (row.escalated_from) {
      td.append(flag("escalated from " + row.escalated_from, "flag-escalated", "\u2191"));
    }
    if (!row.in_filter) td.append(el("span", "outside", "outside your filter"));
    return td;
  }
  function patientCell(row) {
    const td = el("td", "patient");
    td.dataset.label = "Patient";
    td.append(el("b", "ref", row.patient_ref || "no reference"));
    const who = el("span", "who");
    const sex = el("abbr", null, SEX[row.sex] || row.sex);
    sex.title = row.sex;
    who.append(age(row.age_years) + " ", sex);
    td.append(" ", who);
    return td;
  }
  function complaintCell(row) {
    const td = el("td", "complaint");
    td.dataset.label = "Complaint";
    const link = el("a", null, row.chief_complaint);
    link.href = caseUrl(row.id);
    td.append(link);
    if (!row.vitals_documented) {
      td.append(flag("vitals needed", "flag-missing", "\u2661", "vital signs not documented"));
    }
    for (const conflict of row.conflicts) {
      const text = conflict.label + " " + conflict.note + " in note vs " + conflict.structured + " typed";
      td.append(flag("conflicting vitals \u2014 re-measure: " + text, "flag-conflict", "\u21c4", conflict.text));
    }
    if (row.images) td.append(flag(row.images + (row.images > 1 ? " images" : " image"), "flag-image", "\u{1F5BC}", "images attached: open the case"));
    return td;
  }
  function reasonCell(row) {
    const td = el("td", "reason");
    td.dataset.label = "Why";
    const all = row.reasons.map((r) => (r.acuity ? r.acuity + ": " : "") + r.detail);
    td.title = all.join("\n");
    if (row.reasons.length <= 1) {
      td.append(row.reason || "");
      return td;
    }
    const details = el("details");
    details.open = expanded.has(row.id);
    details.addEventListener("toggle", () => {
      if (details.open) expanded.add(row.id);
      else expanded.delete(row.id);
    });
    const summary = el("summary", null, row.reason + " ");
    summary.append(el("span", "more", "+" + (row.reasons.length - 1) + " more"));
    const list = el("ul");
    for (const text of all) list.append(el("li", null, text));
    details.append(summary, list);
    td.append(details);
    return td;
  }
  function careCell(row) {
    const td = el("td", "care");
    td.dataset.label = "Care";
    td.append(el("span", "care-status care-" + row.care_status, CARE[row.care_status] || row.care_status));
    td.append(el("span", "retriage-slot"));
    td.append(el("span", "analysis status-" + row.status, "analysis " + row.status));
    td.append(el("span", "area", row.area ? "in " + row.area : "area not set"));
    td.append(el("span", "assigned", row.assigned_to ? "with " + row.assigned_to : "unassigned"));
    return td;
  }

  function buildRows() {
    const rows = data.rows;
    const hadFocus = body.contains(document.activeElement);
    const fragment = document.createDocumentFragment();
    for (const row of rows) {
      const tr = el("tr");
      tr.dataset.caseId = row.id;
      tr.dataset.acuity = row.acuity;
      tr.dataset.risk = row.risk_level;
      tr.dataset.status = row.status;
      tr.dataset.care = row.care_status;
      tr.dataset.vitalsDocumented = row.vitals_documented ? "yes" : "no";
      tr.tabIndex = row.id === focusedId ? 0 : -1;
      const waited = el("td", "waiting");
      waited.dataset.label = "Waited / target";
      const since = el("td", "since");
      since.dataset.label = "Since assessment";
      tr.append(acuityCell(row), patientCell(row), complaintCell(row), reasonCell(row), careCell(row), waited, since);
      tr._row = row;
      fragment.append(tr);
    }
    body.replaceChildren(fragment);
    if (body.firstElementChild) body.firstElementChild.tabIndex = 0;
    $("board-empty").hidden = rows.length > 0;
    updateClocks();
    // Rebuilt rows must not steal or drop the keyboard focus of someone moving through them.
    const again = focusedId && body.querySelector('tr[data-case-id="' + CSS.escape(focusedId) + '"]');
    if (again) {
      for (const tr of body.rows) tr.tabIndex = -1;
      again.tabIndex = 0;
      if (hadFocus) again.focus();
    }
  }

  // Clocks: redrawn on every poll and every 15 s, without rebuilding the rows.
  function updateClocks() {
    if (!data) return;
    const now = Date.now() + clockSkewMs;
    for (const tr of body.rows) {
      const row = tr._row;
      const waiting = row.care_status === "waiting";
      const overdue = waiting && now >= Date.parse(row.due_at);
      const due = row.retriage_due_at !== null && now >= Date.parse(row.retriage_due_at);
      const classes = ["level-" + row.acuity];
      if (overdue) classes.push("overdue");
      if (due) classes.push("retriage-due");
      if (row.id === table.dataset.highlight) classes.push("highlight");
      tr.className = classes.join(" ");
      const waitedCell = tr.cells[5];
      if (waiting) {
        waitedCell.replaceChildren(duration(now - Date.parse(row.created_at)) + " / " + targetText(row.target_minutes));
        if (overdue) waitedCell.append(" ", flag("overdue", "flag-overdue", "\u25f7", "waited past the level's target"));
      } else {
        const seen = row.acknowledged_at ? Date.parse(row.acknowledged_at) : now;
        waitedCell.replaceChildren("seen after " + duration(seen - Date.parse(row.created_at)) + " / " + targetText(row.target_minutes));
      }
      const sinceCell = tr.cells[6];
      sinceCell.replaceChildren(duration(now - Date.parse(row.last_assessed_at)));
      sinceCell.append(el("span", "muted", row.target_minutes === 0 ? " (continuous)" : " (every " + row.target_minutes + " min)"));
      const slot = tr.cells[4].querySelector(".retriage-slot");
      slot.replaceChildren();
      if (due) slot.append(flag("re-triage due", "flag-retriage", "\u21bb", "last assessed longer ago than the level's target"));
    }
  }

  // Counts and "showing N of M" -----------------------------------------------------------
  function renderCounts() {
    for (const level of ["1", "2", "3", "4", "5"]) {
      document.querySelector('[data-count="' + level + '"]').textContent = data.counts[level];
      const shown = data.shown_counts[level];
      document.querySelector('[data-shown="' + level + '"]').textContent =
        shown === data.counts[level] ? "" : " (" + shown + " shown)";
    }
    const parts = [];
    if (data.shown === data.total) {
      parts.push("Showing all " + data.total + " open cases.");
    } else {
      parts.push("Showing " + data.shown + " of " + data.total + " open cases:");
      if (data.matching < data.total) parts.push((data.total - data.matching) + " hidden by the filter (" + describeFilter() + ");");
      if (data.shown < data.matching) parts.push((data.matching - data.shown) + " more of levels 3\u20135 below this page.");
    }
    const outside = data.rows.filter((r) => !r.in_filter).length;
    if (outside) parts.push(outside + " level 1\u20132 outside the filter listed anyway.");
    $("board-shown").textContent = parts.join(" ");
    const more = $("board-more");
    const left = data.matching - data.shown;
    more.hidden = left <= 0;
    more.textContent = "Show " + Math.min(left, pageSize) + " more (" + left + " not shown)";
    for (const area of data.areas) {
      if (![...form.area.options].some((o) => o.value === area)) form.area.append(new Option(area, area));
    }
  }

  // New level 1-2 cases: a banner until acknowledged on this terminal, and optional sound ----
  function unacknowledged() {
    return data.rows.filter((r) => data.always_shown.includes(r.acuity) && !(acked[r.id] <= r.acuity));
  }
  function renderAlert() {
    const fresh = unacknowledged();
    const banner = $("alert");
    banner.hidden = fresh.length === 0;
    document.title = (fresh.length ? "(" + fresh.length + " new level 1\u20132) " : "") + baseTitle;
    if (!fresh.length) return;
    $("alert-title").textContent = fresh.length === 1
      ? "New level " + fresh[0].acuity + " case: not yet acknowledged on this terminal"
      : fresh.length + " new level 1\u20132 cases: not yet acknowledged on this terminal";
    const list = $("alert-cases");
    list.replaceChildren();
    for (const row of fresh.slice(0, 5)) {
      const item = el("li");
      const link = el("a", null, levelText(row.acuity) + " \u2014 " + row.chief_complaint);
      link.href = caseUrl(row.id);
      item.append(link, " (" + (row.patient_ref || "no reference") + ", " + age(row.age_years) + " " + (SEX[row.sex] || row.sex) + ", " + (CARE[row.care_status] || row.care_status) + ")");
      list.append(item);
    }
    if (fresh.length > 5) list.append(el("li", null, "and " + (fresh.length - 5) + " more"));
    const unheard = fresh.filter((r) => !alerted.has(r.id + ":" + r.acuity));
    for (const row of unheard) alerted.add(row.id + ":" + row.acuity);
    if (unheard.length && load("sound", false)) beep();
  }
  function acknowledge() {
    if (!data) return;
    for (const row of unacknowledged()) acked[row.id] = row.acuity;
    // Forget cases that left levels 1-2 or the board, so the terminal's list stays small.
    const urgent = new Set(data.rows.filter((r) => data.always_shown.includes(r.acuity)).map((r) => r.id));
    for (const id of Object.keys(acked)) if (!urgent.has(id)) delete acked[id];
    save("acked", acked);
    renderAlert();
  }
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      for (let i = 0; i < 3; i++) {
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        tone.frequency.value = 880;
        gain.gain.value = 0.2;
        tone.connect(gain).connect(audio.destination);
        const at = audio.currentTime + i * 0.3;
        tone.start(at);
        tone.stop(at + 0.18);
      }
    } catch (err) { /* no audio device: the banner still shows */ }
  }

  // Polling -------------------------------------------------------------------------------
  async function poll() {
    const mine = ++request;
    const status = $("board-status");
    try {
      const headers = etag ? { "If-None-Match": etag } : {};
      const response = await fetch(sourceUrl(), { headers: headers, cache: "no-store", credentials: "same-origin" });
      if (mine !== request) return;
      const date = response.headers.get("Date");
      if (date) clockSkewMs = Date.parse(date) - Date.now();
      if (response.status === 200) {
        const answer = await response.json();
        if (mine !== request) return;
        etag = response.headers.get("ETag");
        data = answer;
        renderCounts();
        buildRows();
        renderAlert();
        status.textContent = "";
      } else if (response.status === 304) {
        updateClocks();
        status.textContent = "";
      } else if (response.status === 401 || response.redirected) {
        window.location.reload();
        return;
      } else if (response.status === 400) {
        setFilters({}); // a filter this version no longer knows: show everything
        save("filters", filters());
        status.textContent = "Filters reset: " + (await response.text()).slice(0, 200);
      } else {
        status.textContent = "Board not updated (" + response.status + "); retrying.";
      }
    } catch (err) {
      if (mine !== request) return;
      status.textContent = "Server unreachable; retrying. The board may be out of date.";
    }
    schedule(pollMs);
  }
  function schedule(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, ms);
  }
  function pollNow() {
    etag = null;
    schedule(0);
  }

  // Keyboard ------------------------------------------------------------------------------
  function moveFocus(step) {
    const rows = [...body.rows];
    if (!rows.length) return;
    const index = rows.findIndex((tr) => tr.dataset.caseId === focusedId);
    const next = rows[Math.min(Math.max(index + step, 0), rows.length - 1)];
    for (const tr of rows) tr.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    // Typing in a field is typing, not a shortcut; a checkbox or button leaves them on.
    if (target.matches("textarea, select, input:not([type=checkbox]):not([type=radio]):not([type=button])")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const row = target.closest("tbody tr");
    const key = event.key;
    if (key === "j" || key === "ArrowDown") moveFocus(1);
    else if (key === "k" || key === "ArrowUp") moveFocus(-1);
    else if (key === "Enter" && row && target === row) window.location.href = caseUrl(row.dataset.caseId);
    else if (key === "e" && row) {
      const details = row.querySelector("details");
      if (details) details.open = !details.open;
    } else if (key === "a") acknowledge();
    else if (key === "f" || key === "/") form.area.focus();
    else if (key === "m") { form.mine.checked = !form.mine.checked; filtersChanged(); }
    else if (key === "r") { setFilters({}); filtersChanged(); }
    else if (key === "n") window.location.href = table.dataset.newUrl;
    else if (key === "?") $("shortcuts").open = !$("shortcuts").open;
    else return;
    event.preventDefault();
  });
  body.addEventListener("focusin", (event) => {
    const row = event.target.closest("tr");
    if (row) focusedId = row.dataset.caseId;
  });

  setFilters(load("filters", {}));
  $("sound").checked = !!load("sound", false);
  form.addEventListener("change", (event) => {
    if (event.target.id === "sound") {
      save("sound", event.target.checked);
      if (event.target.checked) beep(); // a user gesture: lets the browser play later alerts
      return;
    }
    filtersChanged();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  $("filter-reset").addEventListener("click", () => { setFilters({}); filtersChanged(); });
  $("alert-ack").addEventListener("click", acknowledge);
  $("board-more").addEventListener("click", () => { limit += pageSize; pollNow(); });
  window.setInterval(updateClocks, 15000);
  poll();
})();
