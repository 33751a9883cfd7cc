// Polls the board; an unchanged board answers 304 and only the waiting times are redrawn.
(function () {
  "use strict";
  const table = document.getElementById("board");
  if (!table) return;
  const body = table.querySelector("tbody");
  const status = document.getElementById("board-status");
  const empty = document.getElementById("board-empty");
  const pollMs = parseInt(table.dataset.pollMs, 10) || 3000;
  const caseUrl = table.dataset.caseUrl;
  let etag = null;
  let rows = [];
  let clockSkewMs = 0; // server clock minus this terminal's clock, from the Date header

  function minutes(ms) {
    const m = Math.floor(ms / 60000);
    return m < 60 ? m + " min" : Math.floor(m / 60) + " h " + (m % 60) + " min";
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function acuityCell(row) {
    const td = document.createElement("td");
    td.className = "acuity";
    const badge = document.createElement("span");
    badge.className = "badge acuity-" + row.acuity;
    badge.title = row.provisional ? "provisional: analysis pending" : "analyzed";
    const number = document.createElement("b");
    number.textContent = row.acuity + (row.provisional ? "*" : "");
    badge.append(number, " " + row.acuity_name);
    const risk = document.createElement("span");
    risk.className = "risk risk-" + row.risk_level;
    risk.textContent = row.risk_level;
    td.append(badge, " ", risk);
    return td;
  }

  function flag(text, className) {
    const span = document.createElement("span");
    span.className = "flag " + className;
    span.textContent = text;
    return span;
  }

  function render() {
    const now = Date.now() + clockSkewMs;
    body.replaceChildren();
    for (const row of rows) {
      const tr = document.createElement("tr");
      const waited = now - Date.parse(row.created_at);
      const overdue = now > Date.parse(row.due_at);
      tr.dataset.caseId = row.id;
      tr.dataset.acuity = row.acuity;
      tr.dataset.risk = row.risk_level;
      tr.dataset.status = row.status;
      tr.dataset.vitalsDocumented = row.vitals_documented ? "yes" : "no";
      const classes = ["level-" + row.acuity];
      if (overdue) classes.push("overdue");
      if (row.id === table.dataset.highlight) classes.push("highlight");
      tr.className = classes.join(" ");
      tr.appendChild(acuityCell(row));
      const complaint = document.createElement("td");
      complaint.className = "complaint";
      const link = document.createElement("a");
      link.href = caseUrl.replace("ID", encodeURIComponent(row.id));
      link.textContent = row.chief_complaint;
      complaint.appendChild(link);
      if (!row.vitals_documented) complaint.appendChild(flag("vital signs not documented", "flag-missing"));
      for (const conflict of row.conflicts) complaint.appendChild(flag(conflict.text, "flag-conflict"));
      tr.appendChild(complaint);
      tr.appendChild(cell(row.reason || "", "reason"));
      tr.appendChild(cell(row.status, "status status-" + row.status));
      const waiting = cell(minutes(Math.max(waited, 0)), "waiting");
      if (overdue) waiting.appendChild(flag("overdue, re-assess", "flag-overdue"));
      tr.appendChild(waiting);
      tr.appendChild(cell(row.target_minutes === 0 ? "immediate" : row.target_minutes + " min", "target"));
      body.appendChild(tr);
    }
    empty.hidden = rows.length > 0;
  }

  async function poll() {
    try {
      const headers = etag ? { "If-None-Match": etag } : {};
      const response = await fetch(table.dataset.source, { headers: headers, cache: "no-store", credentials: "same-origin" });
      const date = response.headers.get("Date");
      if (date) clockSkewMs = Date.parse(date) - Date.now();
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        const data = await response.json();
        rows = data.rows;
        for (const level of ["1", "2", "3", "4", "5"]) {
          document.querySelector('[data-count="' + level + '"]').textContent = data.counts[level];
        }
        status.textContent = "";
      } else if (response.status === 401 || response.redirected) {
        window.location.reload();
        return;
      } else if (response.status !== 304) {
        status.textContent = "Board not updated (" + response.status + "); retrying.";
      }
    } catch (err) {
      status.textContent = "Server unreachable; retrying.";
    }
    render();
    window.setTimeout(poll, pollMs);
  }
  poll();
})();
