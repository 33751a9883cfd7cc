// Shared terminals: the idle lock. Any key, click or touch in any tab of this browser counts
// as activity (shared through localStorage); after the configured idle time the terminal
// locks: the session ends on the server and the page goes to the login, which returns here
// after the next login, by whoever logs in. An unfinished intake form stays in the tab
// (intake.js keeps it in sessionStorage); an explicit "Log out" clears it.
(function () {
  "use strict";
  const body = document.body;
  const idleMs = parseInt(body.dataset.idleMs || "0", 10);
  if (!body.dataset.user || !idleMs) return;
  const ACTIVITY_KEY = "medtriage.activity";
  const PING_MS = 20000;  // the server renews the session at most this often
  const WARN_MS = Math.min(60000, idleMs / 2);
  const warning = document.getElementById("idle-warning");
  const logoutForm = document.querySelector("form.logout");
  let local = Date.now();
  let lastPing = local;  // loading this page renewed the session
  let locking = false;

  function shared() {
    try { return parseInt(localStorage.getItem(ACTIVITY_KEY) || "0", 10) || 0; }
    catch (e) { return 0; }
  }
  function publish() {
    try { localStorage.setItem(ACTIVITY_KEY, String(local)); } catch (e) { /* disabled */ }
  }
  publish();

  function ping() {
    fetch(body.dataset.sessionUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => { if (r.status === 401) lock("ended"); })
      .catch(() => { /* offline: the server's own timeout decides */ });
  }

  function activity() {
    if (locking) return;
    const now = Date.now();
    if (now - local > 1000) { local = now; publish(); }
    if (!warning.hidden) warning.hidden = true;
    if (now - lastPing > PING_MS) { lastPing = now; ping(); }
  }
  ["keydown", "pointerdown", "input", "wheel", "touchstart"].forEach((type) =>
    window.addEventListener(type, activity, { capture: true, passive: true }));

  function here() { return location.pathname + location.search; }

  function lock(reason) {
    if (locking) return;
    locking = true;
    document.dispatchEvent(new Event("medtriage:lock"));  // intake.js saves the form
    if (reason === "ended") {
      location.assign(body.dataset.loginUrl + "?locked=ended&next=" + encodeURIComponent(here()));
      return;
    }
    const reasonInput = document.createElement("input");
    reasonInput.type = "hidden";
    reasonInput.name = "reason";
    reasonInput.value = reason;
    logoutForm.appendChild(reasonInput);
    logoutForm.querySelector("input[name=next]").value = here();
    HTMLFormElement.prototype.submit.call(logoutForm);
  }

  setInterval(() => {
    if (locking) return;
    const idle = Date.now() - Math.max(local, shared());
    if (idle >= idleMs) {
      lock("idle");
    } else if (idle >= idleMs - WARN_MS) {
      const seconds = Math.ceil((idleMs - idle) / 1000);
      warning.textContent = "No activity: this terminal locks in " + seconds +
        " s. Press any key to stay logged in.";
      warning.hidden = false;
    }
  }, 500);

  // "Log out" ends the shift: nothing unfinished stays in the tab. "Switch user" keeps it.
  logoutForm.addEventListener("submit", (event) => {
    const by = event.submitter;
    if (!by || by.value === "logout") sessionStorage.removeItem("medtriage.intake.draft");
  });
})();
