/* The clinic's live events, one socket per page, shared by every script on it.

     PortalLive.on("appointment", (event) => ...);  // events of one kind
     PortalLive.on("*", (event) => ...);            // every event
     PortalLive.on("resync", () => ...);            // refetch everything shown
     PortalLive.on("status", (state) => ...);       // "on" | "off" | "refused"

   Events are {"kind": ..., "seq": n, ...} (portal.live). The page remembers the
   last seq it saw (starting from the <meta name="portal-live-seq"> the page
   was rendered with) and reconnects with ?since=<seq>, so the server replays
   what was missed, in order and once; when it cannot reach back that far it
   sends "resync". Reconnects back off from 1 s to 30 s; a refusal (4401 not
   signed in, 4403 not allowed here, 4404 unknown clinic) is not retried.
   No build step, no inline script (CSP). */
(function () {
  "use strict";

  if (window.PortalLive) return;

  const REFUSED = [4401, 4403, 4404];
  const handlers = new Map();
  let lastSeq = null;
  let socket = null;
  let delay = 1000;
  let pinger = null;
  let retry = null;
  let state = "off";

  const meta = document.querySelector('meta[name="portal-live-seq"]');
  if (meta && /^\d+$/.test(meta.content)) lastSeq = Number(meta.content);

  function emit(kind, value) {
    (handlers.get(kind) || []).slice().forEach((handler) => {
      try {
        handler(value);
      } catch (error) {
        setTimeout(() => {
          throw error;
        });
      }
    });
  }

  function setState(next) {
    if (state === next) return;
    state = next;
    document.documentElement.dataset.live = next;
    emit("status", next);
  }

  function receive(message) {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch (error) {
      return;
    }
    if (!event || typeof event.seq !== "number") return;
    if (event.kind === "hello") {
      lastSeq = event.seq;
      return;
    }
    if (event.kind === "resync") {
      lastSeq = event.seq;
      emit("resync", event);
      return;
    }
    if (lastSeq !== null && event.seq <= lastSeq) return; // seen already
    lastSeq = event.seq;
    emit(event.kind, event);
    emit("*", event);
  }

  function connect() {
    retry = null;
    if (!("WebSocket" in window)) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = lastSeq === null ? "" : `?since=${lastSeq}`;
    socket = new WebSocket(`${scheme}//${location.host}/ws/events/${query}`);
    socket.addEventListener("open", () => {
      delay = 1000;
      setState("on");
      // Keeps proxies from closing an idle socket.
      pinger = setInterval(() => socket.send('{"type":"ping"}'), 30000);
    });
    socket.addEventListener("message", receive);
    socket.addEventListener("close", (event) => {
      clearInterval(pinger);
      socket = null;
      if (REFUSED.includes(event.code)) {
        setState("refused");
        return;
      }
      setState("off");
      const jitter = Math.random() * 0.3 * delay;
      retry = setTimeout(connect, delay + jitter);
      delay = Math.min(delay * 2, 30000);
    });
  }

  window.PortalLive = {
    on(kind, handler) {
      if (!handlers.has(kind)) handlers.set(kind, []);
      handlers.get(kind).push(handler);
      if (kind === "status") setTimeout(() => handler(state)); // where it stands now
      if (!socket && !retry && state !== "refused") connect();
      return () => {
        const list = handlers.get(kind) || [];
        const at = list.indexOf(handler);
        if (at >= 0) list.splice(at, 1);
      };
    },
    get lastSeq() {
      return lastSeq;
    },
    get state() {
      return state;
    },
  };
})();
