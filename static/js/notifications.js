/* Notifications, live: the navigation's unread count follows the clinic's events
   socket. Events carry a member id and a count only ({"kind": "notification",
   "member": 12, "unread": 3}); this page refreshes its badge from the server
   when the event is about its own member, and ignores everyone else's.
   No build step; needs htmx (loaded by base.html). Without it the count is
   still right on every page load. */
(function () {
  "use strict";

  if (window.__notificationsLive) return;
  window.__notificationsLive = true;

  let delay = 1000;

  function refreshBadge() {
    const link = document.getElementById("nav-notifications");
    if (!link || !window.htmx) return;
    htmx.ajax("GET", link.dataset.badgeUrl, { target: "#nav-notif", swap: "outerHTML" });
  }

  // The socket, in one function, so it can share the page's other event socket.
  function listen(member, onChange) {
    if (!("WebSocket" in window)) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws/events/`);
    socket.addEventListener("open", () => {
      delay = 1000;
      document.documentElement.dataset.notificationsLive = "on";
    });
    socket.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (data && data.kind === "notification" && String(data.member) === member) onChange();
    });
    socket.addEventListener("close", (event) => {
      document.documentElement.dataset.notificationsLive = "off";
      if (event.code === 4403 || event.code === 4404) return;
      setTimeout(() => listen(member, onChange), delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  function start() {
    const link = document.getElementById("nav-notifications");
    if (link && link.dataset.member) listen(link.dataset.member, refreshBadge);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
