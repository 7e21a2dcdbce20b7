/* Documents, live: the patient page's drop zone (several files, each its own
   upload with a progress bar) and document list, refreshed when the clinic's
   events socket says a document's status moved; the review page reloads when
   its document's extraction finishes. No build step, no inline script (CSP). */
(function () {
  "use strict";

  if (window.__documentsLive) return;
  window.__documentsLive = true;

  const SETTLED = ["processed", "needs_review", "failed"];

  // Document events from the page's shared live socket (static/js/live.js).
  // A reconnect that could not replay what was missed ("resync") refreshes too.
  function connectEvents(onEvent) {
    if (!window.PortalLive) return;
    PortalLive.on("status", (state) => {
      document.documentElement.dataset.documentsLive = state;
    });
    PortalLive.on("document", onEvent);
    PortalLive.on("resync", () => onEvent({ kind: "document", id: null, status: "reconnected" }));
  }

  // --- Patient page: the list and the drop zone ------------------------------

  const section = document.getElementById("documents");
  const rows = document.getElementById("document-rows");
  const mine = new Set();
  let refreshTimer = null;

  function refreshRows() {
    if (!section || !rows) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      fetch(section.dataset.rowsUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
        .then((html) => {
          rows.innerHTML = html;
        })
        .catch(() => {});
    }, 150);
  }

  function shown(id) {
    return Boolean(rows && rows.querySelector(`[data-document="${id}"]`));
  }

  function uploadOne(form, file, list) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    const note = document.createElement("span");
    note.className = "upload-note";
    note.textContent = "Uploading…";
    item.append(name, bar, note);
    list.append(item);

    const data = new FormData();
    data.append("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
    data.append("kind", form.elements.kind.value);
    data.append("appointment", form.elements.appointment.value);
    data.append("file", file, file.name);

    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch (error) {
        body = {};
      }
      if (xhr.status === 201) {
        bar.value = 100;
        note.textContent = "Uploaded";
        item.dataset.document = body.id;
        mine.add(Number(body.id));
        refreshRows();
        return;
      }
      const errors = body.errors || {};
      const problems = Object.values(errors).flat();
      note.className = "upload-note upload-error";
      note.textContent =
        problems.join(" ") || (xhr.status === 413 ? "The file is too large." : `Upload refused (${xhr.status}).`);
    });
    xhr.addEventListener("error", () => {
      note.className = "upload-note upload-error";
      note.textContent = "The upload did not reach the server.";
    });
    xhr.send(data);
  }

  function setUpDropZone() {
    const form = document.getElementById("document-upload");
    const zone = document.getElementById("document-dropzone");
    const input = document.getElementById("document-files");
    const list = document.getElementById("upload-progress");
    if (!form || !zone || !input || !list) return;
    const send = (files) => Array.from(files || []).forEach((file) => uploadOne(form, file, list));
    input.addEventListener("change", () => {
      send(input.files);
      input.value = "";
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(input.files);
    });
    ["dragenter", "dragover"].forEach((name) =>
      zone.addEventListener(name, (event) => {
        event.preventDefault();
        zone.classList.add("is-over");
      })
    );
    ["dragleave", "drop"].forEach((name) =>
      zone.addEventListener(name, () => zone.classList.remove("is-over"))
    );
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer) send(event.dataTransfer.files);
    });
  }

  // --- Review page -------------------------------------------------------------

  const detail = document.getElementById("document-detail");

  function onDocumentEvent(event) {
    if (section && (event.id === null || mine.has(Number(event.id)) || shown(event.id))) {
      refreshRows();
    }
    if (detail && (event.id === null || String(event.id) === detail.dataset.document)) {
      const was = detail.dataset.status;
      if (event.status && event.status !== was && SETTLED.includes(event.status)) {
        location.reload();
      } else if (event.status && event.status !== "reconnected") {
        const badge = document.getElementById("document-status");
        if (badge) badge.textContent = event.status.replace("_", " ");
      }
    }
  }

  if (section || detail) {
    setUpDropZone();
    connectEvents(onDocumentEvent);
  }
})();
