// emeterai's pages: they call the API of the server that served them (same origin, its
// cookie) and show its answers. No text lives here: the words come from the page
// (#words, in the page's language); no rule lives here: the server decides everything.
"use strict";

const WORDS = JSON.parse(document.getElementById("words").textContent);

function say(key, values) {
  let text = WORDS[key] || key;
  for (const [k, v] of Object.entries(values || {})) text = text.split("{" + k + "}").join(String(v));
  return text;
}

function $(id) { return document.getElementById(id); }

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  if (!response.ok) {
    let text = response.statusText;
    try { const body = await response.json(); text = body.text || body.message || text; } catch (e) { /* not JSON */ }
    const error = new Error(text);
    error.status = response.status;
    throw error;
  }
  return response;
}

function show(el, text, bad) {
  el.textContent = text;
  el.classList.toggle("bad", !!bad);
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

// -- wallet ------------------------------------------------------------------------------

async function loadWallet() {
  const data = await (await api("/api/v1/wallet")).json();
  const t = data.totals;
  $("totals").textContent = [
    t.usable + " " + say("available"), t.used + " " + say("used"), t.expired + " " + say("expired"),
  ].join(" · ");
  show($("lock-state"), data.unlocked ? say("unlocked") : say("locked"));
  const body = document.querySelector("#stamps tbody");
  body.replaceChildren();
  for (const s of data.stamps) {
    const row = document.createElement("tr");
    row.dataset.serial = s.serial;
    cell(row, s.serial, "mono");
    cell(row, "Rp" + Number(s.value).toLocaleString(document.documentElement.lang === "id" ? "id-ID" : "en-US"));
    cell(row, s.issuer);
    cell(row, say(s.state === "available" ? "available" : s.state));
    cell(row, (s.expires || "").slice(0, 10));
    cell(row, s.file || "");
    body.appendChild(row);
  }
  const list = $("stamped-list");
  list.replaceChildren();
  for (const f of data.stamped) list.appendChild(downloadItem(f));
  return data;
}

function downloadItem(f) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.href = f.download;
  a.download = f.name;
  a.textContent = f.name + " (" + f.serial + ")";
  li.appendChild(a);
  return li;
}

function walletPage() {
  loadWallet().catch((e) => show($("lock-state"), say("failed", { message: e.message }), true));
  $("unlock-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("/api/v1/wallet/unlock", { method: "POST", body: new FormData($("unlock-form")) });
      $("unlock-passphrase").value = "";
      await loadWallet();
    } catch (e) { show($("lock-state"), e.message, true); }
  });
  $("lock").addEventListener("click", async () => {
    await api("/api/v1/wallet/lock", { method: "POST" });
    await loadWallet();
  });
  $("import-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = $("import-result");
    out.replaceChildren();
    try {
      const res = await api("/api/v1/wallet/import", { method: "POST", body: new FormData($("import-form")) });
      for (const o of (await res.json()).imported) {
        const li = document.createElement("li");
        li.textContent = o.file + ": " + say(o.status) + (o.serial ? " " + o.serial : "") + (o.text ? " (" + o.text + ")" : "");
        li.className = o.status === "error" ? "bad" : "";
        out.appendChild(li);
      }
      $("import-passphrase").value = "";
      await loadWallet();
    } catch (e) {
      const li = document.createElement("li");
      li.className = "bad";
      li.textContent = e.message;
      out.appendChild(li);
    }
  });
  $("trust-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const res = await api("/api/v1/trust", { method: "POST", body: new FormData($("trust-form")) });
      const roots = (await res.json()).trusted;
      show($("trust-result"), roots.map((r) => say("trusted", { name: r.subject || r.name || "" })).join("; "));
    } catch (e) { show($("trust-result"), e.message, true); }
  });
}

// -- stamping ----------------------------------------------------------------------------

const DPI = 100;
const PX_PER_MM = DPI / 25.4;

function stampPage() {
  let doc = null; // what the server said about the uploaded document
  let page = 1;
  let center = [0, 0]; // mm from the top-left of the page as read
  const img = $("page-image");
  const box = $("stamp-box");
  const message = $("stamp-message");

  function size() { return Number($("stamp-size").value) || 25; }

  function scale() { return img.clientWidth / img.naturalWidth || 1; } // shown px per rendered px

  function placeBox() {
    const s = scale() * PX_PER_MM;
    const side = size() * s;
    box.style.width = side + "px";
    box.style.height = side + "px";
    box.style.left = (center[0] * s - side / 2) + "px";
    box.style.top = (center[1] * s - side / 2) + "px";
  }

  function showPage() {
    $("page-label").textContent = say("page_of", { page: page, pages: doc.pages.length });
    img.onload = placeBox;
    img.src = "/api/v1/documents/" + encodeURIComponent(doc.id) + "/pages/" + page + "?dpi=" + DPI;
  }

  function fields() {
    const f = new FormData();
    f.append("document", doc.id);
    f.append("page", String(page));
    f.append("at", center[0].toFixed(1) + "," + center[1].toFixed(1));
    f.append("size", String(size()));
    const maxSize = $("max-size").value.trim();
    if (maxSize) f.append("max_size", maxSize);
    return f;
  }

  $("upload-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("pdf-file").files[0];
    if (!file) { show(message, say("no_files"), true); return; }
    show(message, say("uploading"));
    $("placing").hidden = true;
    $("preview-image").hidden = true;
    $("download-row").hidden = true;
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      doc = await (await api("/api/v1/documents", { method: "POST", body: form })).json();
    } catch (e) { show(message, e.message, true); return; }
    page = doc.page;
    center = doc.center_mm;
    $("stamp-size").value = String(Math.round(doc.size_mm * 10) / 10); // 25, not 25.000000001
    const notes = [];
    if (doc.placement === "fallback") notes.push(say("fallback"));
    else if (doc.placeholder_text) notes.push(say("placeholder", { text: doc.placeholder_text, page: doc.page }));
    if (doc.repair) notes.push(doc.repair);
    for (const w of doc.warnings) notes.push(w);
    show(message, notes.join(" "), doc.placement === "fallback");
    $("placing").hidden = false;
    const wallet = await (await api("/api/v1/wallet")).json();
    $("passphrase-row").hidden = wallet.unlocked;
    showPage();
  });

  $("prev-page").addEventListener("click", () => { if (doc && page > 1) { page -= 1; showPage(); } });
  $("next-page").addEventListener("click", () => { if (doc && page < doc.pages.length) { page += 1; showPage(); } });
  $("stamp-size").addEventListener("input", placeBox);
  window.addEventListener("resize", () => { if (doc) placeBox(); });

  // Dragging: pointer events, so mouse, pen and touch move the stamp the same way.
  let grab = null;
  box.addEventListener("pointerdown", (ev) => {
    grab = { x: ev.clientX, y: ev.clientY, center: center.slice() };
    box.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  box.addEventListener("pointermove", (ev) => {
    if (!grab) return;
    const s = scale() * PX_PER_MM;
    const page = doc.pages[pageIndex()];
    const half = size() / 2;
    center = [
      Math.min(Math.max(grab.center[0] + (ev.clientX - grab.x) / s, half), page.width_mm - half),
      Math.min(Math.max(grab.center[1] + (ev.clientY - grab.y) / s, half), page.height_mm - half),
    ];
    placeBox();
  });
  const drop = () => { grab = null; box.dataset.center = center.map((v) => v.toFixed(1)).join(","); };
  box.addEventListener("pointerup", drop);
  box.addEventListener("pointercancel", drop);
  function pageIndex() { return page - 1; }

  $("preview").addEventListener("click", async () => {
    try {
      const res = await api("/api/v1/documents/" + encodeURIComponent(doc.id) + "/preview", { method: "POST", body: fields() });
      const blob = await res.blob();
      const preview = $("preview-image");
      preview.src = URL.createObjectURL(blob);
      preview.hidden = false;
      show(message, say("preview_ready"));
    } catch (e) { show(message, e.message, true); }
  });

  $("stamp-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = fields();
    const passphrase = $("stamp-passphrase").value;
    if (passphrase) form.append("passphrase", passphrase);
    show(message, say("stamping"));
    let res;
    try {
      res = await api("/api/v1/stamp", { method: "POST", body: form });
    } catch (e) { show(message, e.message, true); return; }
    $("stamp-passphrase").value = "";
    const record = JSON.parse(res.headers.get("Emeterai-Stamp"));
    const link = $("download-link");
    link.href = record.download;
    link.download = record.output;
    link.textContent = record.output;
    $("download-row").hidden = false;
    show(message, say("stamped", { name: record.output, serial: record.serial }));
    link.click();
  });
}

// -- checking ----------------------------------------------------------------------------

function verifyPage() {
  const drop = $("drop");
  const input = $("verify-files");
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    input.files = ev.dataTransfer.files;
  });

  $("verify-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const files = Array.from(input.files);
    if (!files.length) { show($("progress"), say("no_files"), true); return; }
    const form = new FormData();
    for (const f of files) form.append("files", f, f.name);
    if ($("verify-ledger").checked) form.append("ledger", "1");
    form.append("explain", "1");
    const body = document.querySelector("#results tbody");
    body.replaceChildren();
    $("results-card").hidden = true;
    const bar = $("progress-bar");
    bar.hidden = false;
    bar.value = 0;
    show($("progress"), say("uploading"));
    let res;
    try {
      res = await api("/api/v1/verify/batch", { method: "POST", body: form });
    } catch (e) { show($("progress"), e.message, true); bar.hidden = true; return; }
    const report = res.headers.get("Emeterai-Report");
    const total = Number(res.headers.get("Emeterai-Files")) || files.length;
    bar.max = total;
    const results = [];
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (value) pending += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.trim()) continue;
        results.push(JSON.parse(line));
        bar.value = results.length;
        show($("progress"), say("checking", { done: results.length, total: total }));
      }
      if (done) break;
    }
    showResults(results, report);
  });
}

function showResults(results, report) {
  const body = document.querySelector("#results tbody");
  body.replaceChildren();
  const ordered = results.filter((r) => !r.valid).concat(results.filter((r) => r.valid));
  for (const r of ordered) {
    const row = document.createElement("tr");
    row.className = r.valid ? "valid" : "invalid";
    cell(row, r.file);
    cell(row, r.valid ? say("valid") : say("invalid"), r.valid ? "good" : "bad");
    const why = cell(row, "");
    for (const p of (r.shown || [])) {
      const line = document.createElement("div");
      const code = document.createElement("code");
      code.textContent = p.code;
      line.appendChild(code);
      line.appendChild(document.createTextNode(" " + p.text + (p.action ? " — " + p.action : "")));
      why.appendChild(line);
    }
    body.appendChild(row);
  }
  const valid = results.filter((r) => r.valid).length;
  show($("summary"), say("checked", { valid: valid, invalid: results.length - valid }));
  $("progress").textContent = "";
  $("progress-bar").hidden = true;
  if (report) {
    $("report-csv").href = "/api/v1/reports/" + encodeURIComponent(report) + "?format=csv";
    $("report-html").href = "/api/v1/reports/" + encodeURIComponent(report) + "?format=html";
  }
  $("results-card").hidden = false;
}

const PAGES = { wallet: walletPage, stamp: stampPage, verify: verifyPage };
(PAGES[document.body.dataset.page] || (() => {}))();
