/* Texting, live: the unread count in the navigation on every page, and on the
   Messages page the conversation list and the open thread, refreshed when the
   clinic's events say a text arrived or changed (calls.events), through the
   shared socket of static/js/live.js (which replays what a reconnect missed).
   No build step; needs htmx and live.js (loaded by base.html). Without them
   pages still work. */
(function () {
  "use strict";

  if (window.__messagesLive) return; // the nav item is on every page once
  window.__messagesLive = true;

  let pending = new Set();
  let everything = false;
  let timer = null;

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
    if (!window.PortalLive || !window.htmx) return;
    PortalLive.on("status", (state) => {
      document.documentElement.dataset.messagesLive = state === "on" ? "on" : "off";
    });
    PortalLive.on("message", (event) => changed(event.conversations, false));
    // The server could not replay what was missed: fetch everything again.
    PortalLive.on("resync", () => changed([], true));
  }

  function start() {
    if (document.getElementById("nav-unread")) connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
