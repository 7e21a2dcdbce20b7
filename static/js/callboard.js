/* The call board, live: a call's change fetches its row again (with the page's
   access checks), a transcript turn is appended as it is said, durations tick
   every second; a reconnection replays what was missed (static/js/live.js),
   or fetches both lists again when it cannot, so nothing shown is stale.
   No build step. */
(function () {
  "use strict";

  const board = document.getElementById("call-board");
  const campaign = document.getElementById("campaign-live");
  if (!board && !campaign) return;

  /* The page's shared live socket (static/js/live.js): each event goes to
     onEvent; events missed while disconnected are replayed in order, and when
     they cannot be ("resync") onResync fetches everything shown again. */
  function connect(onEvent, onResync) {
    if (!window.PortalLive) return;
    PortalLive.on("status", function (state) {
      document.documentElement.dataset.callsLive = state;
    });
    ["call", "call.turn", "campaign"].forEach(function (kind) {
      PortalLive.on(kind, onEvent);
    });
    PortalLive.on("resync", onResync);
  }

  function rowUrl(id) {
    return board.dataset.rowUrl.replace(/\/0\/row\/$/, "/" + id + "/row/");
  }

  function get(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { "HX-Request": "true" },
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.text();
    });
  }

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  }

  function place(row) {
    const old = document.getElementById(row.id);
    const section = document.getElementById(row.dataset.ended ? "calls-recent" : "calls-active");
    section.querySelectorAll(".empty-row").forEach(function (e) { e.remove(); });
    if (old && old.parentElement === section) {
      old.replaceWith(row);
      return;
    }
    if (old) old.remove();
    if (row.dataset.ended) section.prepend(row);
    else section.append(row);
  }

  const loading = new Map();

  function refreshRow(id) {
    if (loading.has(id)) {
      loading.set(id, true); // fetch once more when this one is back
      return;
    }
    loading.set(id, false);
    get(rowUrl(id))
      .then(function (html) {
        const row = parse(html).querySelector("tr");
        if (row) place(row);
        tick();
      })
      .catch(function () {})
      .finally(function () {
        const again = loading.get(id);
        loading.delete(id);
        if (again) refreshRow(id);
      });
  }

  function refreshAll() {
    get(board.dataset.rowsUrl)
      .then(function (html) {
        board.replaceChildren(parse(html));
        tick();
      })
      .catch(function () {});
  }

  function appendTurn(event) {
    const row = document.getElementById("call-" + event.call);
    if (!row) {
      refreshRow(event.call);
      return;
    }
    const list = row.querySelector("[data-call-transcript]");
    if (!list || list.querySelector('[data-turn-id="' + event.id + '"]')) return;
    const item = document.createElement("li");
    item.dataset.turnId = event.id;
    item.className = "turn turn-" + event.speaker;
    const at = new Date(event.at);
    const time = document.createElement("span");
    time.className = "turn-time";
    time.textContent = at.toTimeString().slice(0, 8);
    const who = document.createElement("span");
    who.className = "turn-who";
    who.textContent = event.speaker === "portal" ? "Portal:" : "Caller:";
    item.append(time, " ", who, " " + event.text);
    list.append(item);
    list.scrollTop = list.scrollHeight;
  }

  let progressTimer = null;

  function refreshProgress() {
    // A burst of calls ending refreshes the progress once.
    clearTimeout(progressTimer);
    progressTimer = setTimeout(function () {
      get(campaign.dataset.progressUrl)
        .then(function (html) { campaign.replaceChildren(parse(html)); })
        .catch(function () {});
    }, 300);
  }

  function handle(event) {
    if (!event || typeof event !== "object") return;
    if (campaign) {
      const id = Number(campaign.dataset.campaign);
      if ((event.kind === "campaign" && event.id === id) || (event.kind === "call" && event.campaign === id)) {
        refreshProgress();
      }
      return;
    }
    if (event.kind === "call") refreshRow(event.id);
    else if (event.kind === "call.turn") appendTurn(event);
  }

  function tick() {
    if (!board) return;
    const now = Date.now();
    board.querySelectorAll(".call-row").forEach(function (row) {
      if (row.dataset.ended || !row.dataset.answered) return;
      const seconds = Math.max(0, Math.round((now - Date.parse(row.dataset.answered)) / 1000));
      const cell = row.querySelector("[data-call-duration]");
      const text = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
      if (cell && cell.textContent !== text) cell.textContent = text;
    });
  }

  setInterval(tick, 1000);
  tick();
  connect(handle, board ? refreshAll : refreshProgress);
})();
