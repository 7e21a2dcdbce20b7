/* Texting, live: the unread count in the navigation on every page, and on the
   Messages page the conversation list and the open thread, refreshed when the
   clinic's events socket says a text arrived or changed (calls.events).
   No build step; needs htmx (loaded by base.html). Without it pages still work. */
(function () {
  "use strict";

  if (window.__messagesLive) return; // the nav item is on every page once
  window.__messagesLive = true;

  let pending = new Set();
  let everything = false;
  let timer = null;
  let delay = 1000;
  let wasOpen = false;

  function openThread() {
    return document.querySelector("#thread .thread[data-conversation]");
  }

  function refreshBadge() {
    const badge = document.getElementById("nav-unread");
    if (!badge || !window.htmx) return;
    htmx.ajax("GET", badge.dataset.url, { target: "#nav-unread", swap: "outerHTML" });
  }

  function refreshList() {
    const inbox = document.getElementById("inbox");
    if (!inbox) return;
    const form = inbox.querySelector(".inbox-search");
    const query = form ? new URLSearchParams(new FormData(form)).toString() : "";
    htmx.ajax("GET", inbox.dataset.listUrl + (query ? "?" + query : ""), {
      target: "#conversations",
      swap: "innerHTML",
    });
  }

  function refreshThread(ids, all) {
    const thread = openThread();
    if (!thread || !thread.dataset.conversation || !thread.dataset.textsUrl) return;
    if (!all && !ids.has(Number(thread.dataset.conversation))) return;
    // The texts only: a reply being written stays as it is.
    htmx.ajax("GET", thread.dataset.textsUrl, { target: "#thread-live", swap: "innerHTML" });
  }

  function flush() {
    const ids = pending;
    const all = everything;
    pending = new Set();
    everything = false;
    refreshBadge();
    refreshList();
    refreshThread(ids, all);
  }

  function changed(ids, all) {
    (ids || []).forEach((id) => pending.add(Number(id)));
    everything = everything || Boolean(all);
    clearTimeout(timer);
    // A burst (a text and its three status callbacks) refreshes once.
    timer = setTimeout(flush, 200);
  }

  function connect() {
    if (!("WebSocket" in window) || !window.htmx) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws/events/`);
    socket.addEventListener("open", () => {
      delay = 1000;
      document.documentElement.dataset.messagesLive = "on";
      // After a reconnect, catch up on whatever was missed meanwhile.
      if (wasOpen) changed([], true);
      wasOpen = true;
    });
    socket.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (data && data.kind === "message") changed(data.conversations, false);
    });
    socket.addEventListener("close", (event) => {
      document.documentElement.dataset.messagesLive = "off";
      if (event.code === 4403 || event.code === 4404) return; // not a member, unknown clinic
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  function start() {
    if (document.getElementById("nav-unread")) connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
