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

  function render() {
    const now = Date.now() + clockSkewMs;
    body.replaceChildren();
    for (const row of rows) {
      const tr = document.createElement("tr");
      const waited = now - Date.parse(row.created_at);
      const overdue = now > Date.parse(row.due_at);
      tr.dataset.caseId = row.id;
      tr.dataset.risk = row.risk_level;
      tr.dataset.status = row.status;
      tr.className = (overdue ? "overdue " : "") + (row.id === table.dataset.highlight ? "highlight" : "");
      const risk = document.createElement("td");
      const badge = document.createElement("span");
      badge.className = "badge risk-" + row.risk_level;
      badge.textContent = row.risk_level + (row.provisional ? "*" : "");
      badge.title = row.provisional ? "provisional: analysis pending" : "analyzed";
      risk.appendChild(badge);
      tr.appendChild(risk);
      const complaint = document.createElement("td");
      const link = document.createElement("a");
      link.href = caseUrl.replace("ID", encodeURIComponent(row.id));
      link.textContent = row.chief_complaint;
      complaint.appendChild(link);
      tr.appendChild(complaint);
      tr.appendChild(cell(row.reason || "", "reason"));
      tr.appendChild(cell(row.status, "status status-" + row.status));
      tr.appendChild(cell(minutes(Math.max(waited, 0)) + (overdue ? " — overdue, re-assess" : ""), "waiting"));
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
        for (const level of ["high", "medium", "low"]) {
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
