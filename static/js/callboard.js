/* The call board, live: a call's change fetches its row again (with the page's
   access checks), a transcript turn is appended as it is said, durations tick
   every second, and every (re)connection fetches both lists again so nothing
   shown is stale. No build step. The socket lives in connect() alone, so the
   shared live client can replace it. */
(function () {
  "use strict";

  const board = document.getElementById("call-board");
  const campaign = document.getElementById("campaign-live");
  if (!board && !campaign) return;

  /* The clinic's events socket: reconnects with backoff; each JSON event goes to
     onEvent, each (re)connection to onOpen. */
  function connect(onEvent, onOpen) {
    let delay = 1000;
    function open() {
      const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      const socket = new WebSocket(scheme + window.location.host + "/ws/events/");
      socket.addEventListener("open", function () {
        delay = 1000;
        document.documentElement.dataset.callsLive = "on";
        onOpen();
      });
      socket.addEventListener("message", function (message) {
        try {
          onEvent(JSON.parse(message.data));
        } catch (error) {
          /* not an event of ours */
        }
      });
      socket.addEventListener("close", function () {
        document.documentElement.dataset.callsLive = "off";
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 30000);
      });
    }
    open();
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
