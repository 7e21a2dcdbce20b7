/* Schedule pages: open visits and free time in the side panel, and refresh the
   calendar when an appointment changes anywhere in the clinic (WebSocket).
   No build step; needs htmx (loaded by base.html). Links work without it. */
(function () {
  "use strict";

  const REFRESH_EVENT = "appointments-changed";

  function drawer() {
    const el = document.getElementById("drawer");
    return el && el.classList.contains("drawer") ? el : null;
  }

  function closeDrawer() {
    const el = drawer();
    if (!el) return;
    el.innerHTML = "";
    document.querySelectorAll(".is-selected").forEach((x) => x.classList.remove("is-selected"));
  }

  // "2025-03-10T10:30" plus minutes, on the same day (wall clock, no timezone maths).
  function addMinutes(wall, minutes) {
    const [day, clock] = wall.split("T");
    const [h, m] = clock.split(":").map(Number);
    const total = h * 60 + m + minutes;
    const pad = (n) => String(n).padStart(2, "0");
    return `${day}T${pad(Math.floor(total / 60))}:${pad(total % 60)}`;
  }

  function stepOf(link) {
    const grid = link.closest("[data-step]");
    return (grid && Number(grid.dataset.step)) || 15;
  }

  // In the day view a free stretch is one link; the time under the pointer is the one booked.
  function offsetUnderPointer(link, clientY) {
    const minutes = Number(link.dataset.minutes);
    const rect = link.getBoundingClientRect();
    if (!minutes || !rect.height) return 0;
    const step = stepOf(link);
    const offset = Math.floor(((clientY - rect.top) / rect.height) * minutes / step) * step;
    return Math.max(0, Math.min(offset, minutes - step));
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-close-drawer]")) {
      if (drawer()) {
        event.preventDefault();
        closeDrawer();
      }
      return;
    }
    // Calendar items are plain links (thousands of them): recognised by place, not marked.
    const link = event.target.closest("a[data-drawer], #calendar a.appt, #calendar a.free");
    if (!link || !drawer() || !window.htmx) return;
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    const url = new URL(link.href, location.href);
    if (link.dataset.minutes && event.detail > 0 && url.searchParams.get("start")) {
      const offset = offsetUnderPointer(link, event.clientY);
      url.searchParams.set("start", addMinutes(url.searchParams.get("start"), offset));
    }
    document.querySelectorAll(".is-selected").forEach((x) => x.classList.remove("is-selected"));
    link.classList.add("is-selected");
    htmx.ajax("GET", url.pathname + url.search, { target: "#drawer", swap: "innerHTML" });
  });

  // Show which time a click on free time would book.
  document.addEventListener("mousemove", (event) => {
    const link = event.target.closest && event.target.closest(".day-grid a.free");
    if (!link) return;
    const offset = offsetUnderPointer(link, event.clientY);
    const start = new URL(link.href, location.href).searchParams.get("start");
    link.style.setProperty("--h", offset);
    if (start) link.dataset.hover = "+ " + addMinutes(start, offset).slice(11);
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && drawer() && drawer().children.length) closeDrawer();
  });

  // Date picker and filters submit as soon as they change.
  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-autosubmit]") && event.target.form) event.target.form.requestSubmit();
  });

  // Focus the panel's heading when it opens, for keyboard and screen reader users.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "drawer") {
      const heading = event.detail.target.querySelector("h2");
      const focusable = event.detail.target.querySelector("[autofocus]");
      if (focusable) focusable.focus();
      else if (heading) {
        heading.tabIndex = -1;
        heading.focus({ preventScroll: true });
      }
    }
  });

  // Live updates: the clinic's events through the shared socket (static/js/live.js).
  let timer = null;

  function changed() {
    clearTimeout(timer);
    // A burst of changes (a cancellation and a rebooking) refreshes once.
    timer = setTimeout(() => htmx.trigger(document.body, REFRESH_EVENT), 250);
  }

  if (
    window.PortalLive &&
    window.htmx &&
    (document.getElementById("calendar") || document.getElementById("today-board"))
  ) {
    PortalLive.on("appointment", changed);
    PortalLive.on("resync", changed); // what was missed is too old to replay
  }
})();
