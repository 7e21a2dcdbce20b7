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

  function refreshBadge() {
    const link = document.getElementById("nav-notifications");
    if (!link || !window.htmx) return;
    htmx.ajax("GET", link.dataset.badgeUrl, { target: "#nav-notif", swap: "outerHTML" });
  }

  // The page's shared live socket (static/js/live.js); a "resync" after a long
  // disconnection refreshes the badge as well.
  function listen(member, onChange) {
    if (!window.PortalLive) return;
    PortalLive.on("status", (state) => {
      document.documentElement.dataset.notificationsLive = state;
    });
    PortalLive.on("notification", (event) => {
      if (String(event.member) === member) onChange();
    });
    PortalLive.on("resync", onChange);
  }

  function start() {
    const link = document.getElementById("nav-notifications");
    if (link && link.dataset.member) listen(link.dataset.member, refreshBadge);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
