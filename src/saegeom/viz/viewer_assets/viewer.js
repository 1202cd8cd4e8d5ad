// Linked side-by-side feature-map viewer (saegeom.viz.viewer). Plain JavaScript, no dependencies:
// two <canvas> scatter plots drawn point by point (2-D canvas draws 2 x 16k squares in a few ms),
// a uniform grid per plot for hover lookup, and DOM built only through textContent (data strings
// are never parsed as HTML). window.viewer exposes the state for tests and notebooks.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("viewer-data").textContent);
  const SIDES = ["a", "b"];
  const OTHER = { a: "b", b: "a" };
  const PALETTE = D.palette;  // one colour per group, far from NONE and from each other (viewer_palette.py)
  const NONE = D.no_group;
  const SIG = 0.01;           // p-values below this are bold in the metrics header
  const TIP_TOKEN = 40, TIP_TEXT = 300, CELL_TOKEN = 40, CELL_TEXT = 200; // characters shown before "…"
  const MEMBER = "#111111", PARTNER = "#e6007e", HOVER = "#ff2d00";
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const HEADLINE = ["random_partners", "random_directions"];

  const $ = (id) => document.getElementById(id);
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function fmt(v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(2) : v.toFixed(digits === undefined ? 3 : digits);
  }
  // p-value text: never rounds across SIG, and the smallest p the null draws allow, 1/(n + 1), is shown as
  // the bound it is ("< 0.01" for 1/101) rather than a rounded number. Other p-values are rounded up
  // (never shown smaller than they are) to two significant digits.
  function ceilSig(v, digits) {
    const f = Math.pow(10, Math.floor(Math.log10(v)) - digits + 1);
    return Math.ceil(v / f - 1e-9) * f;
  }
  const plain = (v) => String(Number(v.toPrecision(3)));
  function isP(p) { return typeof p === "number" && Number.isFinite(p); }
  function fmtP(p, nValid) {
    if (!isP(p)) return "–";
    if (p <= 0) return "0";
    if (typeof nValid === "number" && nValid > 0) {
      const floor = 1 / (nValid + 1);
      if (p <= floor * (1 + 1e-9)) {
        const bound = ceilSig(floor, 1);
        return (bound > floor * (1 + 1e-9) ? "< " : "≤ ") + plain(bound);
      }
    }
    const up = ceilSig(p, 2);
    return p < SIG && up >= SIG ? "< " + plain(SIG) : plain(up);
  }
  // a long string cut to n UTF-16 units (never between the halves of a surrogate pair) with how many
  // characters (code points) are hidden
  function trunc(s, n) {
    s = String(s);
    if (s.length <= n) return s;
    let cut = n;
    const c = s.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--;
    const hidden = Array.from(s.slice(cut)).length;
    return s.slice(0, cut) + "… [+" + hidden.toLocaleString("en") + " chars]";
  }
  // whitespace and control characters made visible: space ␣, line breaks ↵, tab ⇥, other C0 as control pictures
  function visible(t) {
    if (t === "") return "∅";
    return String(t).replace(/[\u0000-\u0020\u007f\u0085\u2028\u2029]/g, (c) => c === " " ? "␣"
      : c === "\n" || c === "\r" || c > "\u007f" ? "↵" : c === "\t" ? "⇥" : c === "\u007f" ? "␡"
      : String.fromCharCode(0x2400 + c.charCodeAt(0)));
  }
  // tokens as separate chips (no joining character that could be mistaken for a punctuation token)
  function chips(tokens, cap) {
    const box = el("span", null, "tokens");
    for (const t of tokens) {
      const chip = el("span", trunc(visible(t), cap), t === "" ? "tok empty" : "tok");
      if (t.length > cap) chip.title = t;
      box.appendChild(chip);
    }
    return box;
  }
  const labelText = (s) => (s === "" ? "—" : s);
  function viridis(t) {
    t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
    const i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i, p = VIRIDIS[i], q = VIRIDIS[i + 1];
    return "rgb(" + [0, 1, 2].map((k) => Math.round(p[k] + f * (q[k] - p[k]))).join(",") + ")";
  }

  // ---------------------------------------------------------------- data per side
  const S = {};
  for (const s of SIDES) {
    const d = D.sides[s];
    const n = d.x.length;
    const lower = new Array(n);
    for (let i = 0; i < n; i++) {
      lower[i] = (d.label[i] + "\u0000" + d.tokens[i].join("\u0000")).toLowerCase();
    }
    S[s] = { name: d.name, n: n, x: Float32Array.from(d.x), y: Float32Array.from(d.y), label: d.label,
      tokens: d.tokens, group: Int32Array.from(d.group), freq: d.freq, lower: lower };
  }

  // ---------------------------------------------------------------- families (only where the page has them)
  // D.families: {list: [[family id, models, size, mean score]], a: [index into list per latent, -1: none], b: …}
  const F = D.families || null;
  const FAM = {};
  if (F) {
    for (const s of SIDES) {
      const members = F.list.map(() => []);
      F[s].forEach((k, i) => { if (k >= 0) members[k].push(i); });
      FAM[s] = { of: Int32Array.from(F[s]), members: members };
    }
  }
  // the latents of the other map in latent i's family, as [id, family mean score] like partners()
  function familyMembers(side, i) {
    const k = FAM[side].of[i];
    if (k < 0) return [];
    return FAM[OTHER[side]].members[k].map((j) => [j, F.list[k][3]]);
  }

  // ---------------------------------------------------------------- state
  const state = {
    pairing: D.pairing, colour: D.groups.length ? "group" : "score", mode: "pan",
    hl: { a: new Uint8Array(S.a.n), b: new Uint8Array(S.b.n) }, hlKind: null, hlCount: 0,
    hover: null, focus: null, sortKey: "score", sortDir: -1, tableRows: [], lastHoverMs: NaN, details: null,
    metricRows: 0, hoverMode: F ? "family" : "partners",
  };
  let P = null; // current pairing: {a, b, score: arrays; adj: {a: [[pair idx]], b: ...}; best: {a, b}}

  function buildPairing(name) {
    const src = D.pairings[name];
    const adj = { a: Array.from({ length: S.a.n }, () => []), b: Array.from({ length: S.b.n }, () => []) };
    const best = { a: new Float64Array(S.a.n).fill(NaN), b: new Float64Array(S.b.n).fill(NaN) };
    for (let k = 0; k < src.a.length; k++) {
      const i = src.a[k], j = src.b[k], sc = src.score[k];
      adj.a[i].push(k); adj.b[j].push(k);
      if (!(best.a[i] >= sc)) best.a[i] = sc;
      if (!(best.b[j] >= sc)) best.b[j] = sc;
    }
    const ends = { a: src.a, b: src.b };
    let lo = Infinity, hi = -Infinity;
    for (const v of src.score) { if (v < lo) lo = v; if (v > hi) hi = v; }
    return { name: name, a: src.a, b: src.b, score: src.score, adj: adj, best: best, ends: ends,
      lo: lo, hi: hi };
  }
  function partners(side, i) {
    const other = OTHER[side];
    const seen = new Set(), out = [];
    for (const k of P.adj[side][i]) {
      const j = P.ends[other][k];
      if (!seen.has(j)) { seen.add(j); out.push([j, P.score[k]]); }
    }
    out.sort((u, v) => v[1] - u[1]);
    return out;
  }

  // ---------------------------------------------------------------- plots
  function Plot(side) {
    const d = S[side];
    this.side = side;
    this.canvas = $("plot-" + side);
    this.ctx = this.canvas.getContext("2d");
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < d.n; i++) {
      if (d.x[i] < x0) x0 = d.x[i]; if (d.x[i] > x1) x1 = d.x[i];
      if (d.y[i] < y0) y0 = d.y[i]; if (d.y[i] > y1) y1 = d.y[i];
    }
    if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
    if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
    const px = 0.04 * (x1 - x0), py = 0.04 * (y1 - y0);
    this.home = { x0: x0 - px, x1: x1 + px, y0: y0 - py, y1: y1 + py };
    this.view = Object.assign({}, this.home);
    // uniform grid over the data bounds: cell -> point ids (CSR), for hover lookup in O(points near cursor)
    const G = Math.max(8, Math.min(256, Math.round(Math.sqrt(d.n / 4))));
    this.grid = { G: G, x0: x0, y0: y0, sx: G / (x1 - x0), sy: G / (y1 - y0) };
    const cell = new Int32Array(d.n), count = new Int32Array(G * G + 1);
    for (let i = 0; i < d.n; i++) { cell[i] = this.cellOf(d.x[i], d.y[i]); count[cell[i] + 1]++; }
    for (let c = 0; c < G * G; c++) count[c + 1] += count[c];
    const fill = count.slice(0, G * G), items = new Int32Array(d.n);
    for (let i = 0; i < d.n; i++) items[fill[cell[i]]++] = i;
    this.cellStart = count; this.cellItems = items;
    this.order = null; this.colours = null;
    this.drag = null;
    this.size = Math.max(2.5, Math.min(7, 400 / Math.sqrt(d.n))); // point side in CSS pixels: larger for small maps
    this.resize();
  }
  Plot.prototype.cellOf = function (x, y) {
    const g = this.grid;
    const cx = Math.min(g.G - 1, Math.max(0, Math.floor((x - g.x0) * g.sx)));
    const cy = Math.min(g.G - 1, Math.max(0, Math.floor((y - g.y0) * g.sy)));
    return cy * g.G + cx;
  };
  Plot.prototype.resize = function () {
    const r = this.canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    this.W = Math.max(1, r.width); this.H = Math.max(1, r.height);
    this.canvas.width = Math.round(this.W * dpr); this.canvas.height = Math.round(this.H * dpr);
    this.dpr = dpr;
  };
  Plot.prototype.toPx = function (x, y) {
    const v = this.view;
    return [(x - v.x0) / (v.x1 - v.x0) * this.W, (1 - (y - v.y0) / (v.y1 - v.y0)) * this.H];
  };
  Plot.prototype.fromPx = function (px, py) {
    const v = this.view;
    return [v.x0 + px / this.W * (v.x1 - v.x0), v.y0 + (1 - py / this.H) * (v.y1 - v.y0)];
  };
  Plot.prototype.inView = function (i) {
    const d = S[this.side], v = this.view;
    return d.x[i] >= v.x0 && d.x[i] <= v.x1 && d.y[i] >= v.y0 && d.y[i] <= v.y1;
  };
  Plot.prototype.nearest = function (px, py, radius) {
    const d = S[this.side], g = this.grid;
    const [x, y] = this.fromPx(px, py);
    const rx = radius * (this.view.x1 - this.view.x0) / this.W, ry = radius * (this.view.y1 - this.view.y0) / this.H;
    const cx0 = Math.max(0, Math.floor((x - rx - g.x0) * g.sx)), cx1 = Math.min(g.G - 1, Math.floor((x + rx - g.x0) * g.sx));
    const cy0 = Math.max(0, Math.floor((y - ry - g.y0) * g.sy)), cy1 = Math.min(g.G - 1, Math.floor((y + ry - g.y0) * g.sy));
    let best = -1, bestD = radius * radius;
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        const c = cy * g.G + cx;
        for (let k = this.cellStart[c]; k < this.cellStart[c + 1]; k++) {
          const i = this.cellItems[k];
          const [qx, qy] = this.toPx(d.x[i], d.y[i]);
          const dd = (qx - px) * (qx - px) + (qy - py) * (qy - py);
          if (dd <= bestD) { bestD = dd; best = i; }
        }
      }
    }
    return best;
  };
  Plot.prototype.setColours = function () {
    const d = S[this.side], n = d.n, cols = new Array(n);
    for (let i = 0; i < n; i++) {
      if (state.colour === "group") cols[i] = d.group[i] >= 0 ? PALETTE[d.group[i]] : NONE;
      else if (state.colour === "paired") cols[i] = P.adj[this.side][i].length ? "#1f77b4" : NONE;
      else {
        const sc = P.best[this.side][i];
        cols[i] = Number.isNaN(sc) ? NONE : viridis(P.hi > P.lo ? (sc - P.lo) / (P.hi - P.lo) : 1);
      }
    }
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((u, v) => (cols[u] < cols[v] ? -1 : cols[u] > cols[v] ? 1 : u - v));
    // grey (unlabelled, unpaired) first so coloured points are drawn on top
    order.sort((u, v) => (cols[u] === NONE ? 0 : 1) - (cols[v] === NONE ? 0 : 1));
    this.colours = cols; this.order = order;
  };
  Plot.prototype.draw = function () {
    const d = S[this.side], ctx = this.ctx, hl = state.hl[this.side];
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.W, this.H);
    const dim = state.hlCount > 0 || state.hover !== null || state.focus !== null;
    ctx.globalAlpha = dim ? 0.3 : 0.85;
    let last = null;
    const v = this.view, sx = this.W / (v.x1 - v.x0), sy = this.H / (v.y1 - v.y0), sz = this.size, h = sz / 2;
    for (const i of this.order) {
      const x = d.x[i], y = d.y[i];
      if (x < v.x0 || x > v.x1 || y < v.y0 || y > v.y1) continue;
      const c = this.colours[i];
      if (c !== last) { ctx.fillStyle = c; last = c; }
      ctx.fillRect((x - v.x0) * sx - h, (v.y1 - y) * sy - h, sz, sz);
    }
    ctx.globalAlpha = 1;
    if (state.hlCount > 0) {
      for (let i = 0; i < d.n; i++) {
        if (!hl[i] || !this.inView(i)) continue;
        const [px, py] = this.toPx(d.x[i], d.y[i]);
        ctx.fillStyle = this.colours[i] === NONE ? "#888" : this.colours[i];
        const r = Math.max(3, h + 1.5);
        ctx.fillRect(px - r, py - r, 2 * r, 2 * r);
        ctx.strokeStyle = hl[i] === 1 ? MEMBER : PARTNER; ctx.lineWidth = 1.5;
        ctx.strokeRect(px - r - 0.5, py - r - 0.5, 2 * r + 1, 2 * r + 1);
      }
    }
    const rings = [];
    if (state.focus) rings.push([state.focus[this.side], "#ff8c00", 9]);
    if (state.hover) {
      if (state.hover.side === this.side) rings.push([state.hover.id, HOVER, 7]);
      else for (const j of state.hover.partners) rings.push([j[0], HOVER, 7]);
    }
    for (const [i, colour, r] of rings) {
      const [px, py] = this.toPx(d.x[i], d.y[i]);
      ctx.fillStyle = colour; ctx.beginPath(); ctx.arc(px, py, 4, 0, 2 * Math.PI); ctx.fill();
      ctx.strokeStyle = colour; ctx.lineWidth = 2; ctx.beginPath(); ctx.arc(px, py, r, 0, 2 * Math.PI); ctx.stroke();
    }
    if (this.drag && this.drag.path) {
      ctx.strokeStyle = "#333"; ctx.lineWidth = 1; ctx.setLineDash([4, 3]); ctx.beginPath();
      const p = this.drag.path;
      if (this.drag.mode === "box") ctx.rect(p[0][0], p[0][1], p[1][0] - p[0][0], p[1][1] - p[0][1]);
      else { ctx.moveTo(p[0][0], p[0][1]); for (const q of p) ctx.lineTo(q[0], q[1]); ctx.closePath(); }
      ctx.stroke(); ctx.setLineDash([]);
    }
  };
  Plot.prototype.setView = function (x0, x1, y0, y1) {
    this.view = { x0: x0, x1: x1, y0: y0, y1: y1 };
  };
  Plot.prototype.zoomTo = function (ids, minFrac) {
    if (!ids.length) return;
    const d = S[this.side], h = this.home;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const i of ids) {
      x0 = Math.min(x0, d.x[i]); x1 = Math.max(x1, d.x[i]); y0 = Math.min(y0, d.y[i]); y1 = Math.max(y1, d.y[i]);
    }
    const wx = Math.max((x1 - x0) * 1.2, minFrac * (h.x1 - h.x0)), wy = Math.max((y1 - y0) * 1.2, minFrac * (h.y1 - h.y0));
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    this.setView(cx - wx / 2, cx + wx / 2, cy - wy / 2, cy + wy / 2);
  };

  const plots = {};
  function drawAll() { plots.a.draw(); plots.b.draw(); }

  // ---------------------------------------------------------------- highlight actions
  function setHighlight(kind, members) { // members: {a: ids, b: ids}; partners of members are marked 2
    for (const s of SIDES) state.hl[s].fill(0);
    for (const s of SIDES) for (const i of members[s]) state.hl[s][i] = 1;
    if (kind === "group" || kind === "selection") {
      for (const s of SIDES) {
        for (const i of members[s]) {
          for (const [j] of partners(s, i)) if (!state.hl[OTHER[s]][j]) state.hl[OTHER[s]][j] = 2;
        }
      }
    }
    let count = 0;
    for (const s of SIDES) for (let i = 0; i < S[s].n; i++) if (state.hl[s][i]) count++;
    state.hlKind = members.a.length + members.b.length ? kind : null;
    state.hlCount = count;
    drawAll(); scheduleTable();
  }
  function members() {
    const m = { a: [], b: [] };
    for (const s of SIDES) state.hl[s].forEach((v, i) => { if (v === 1) m[s].push(i); });
    return m;
  }
  function clearHighlight(keepSearchText) {
    if (keepSearchText !== true) $("search").value = "";
    $("search-count").textContent = ""; $("group").value = "";
    state.focus = null;
    setHighlight(null, { a: [], b: [] });
  }
  // typed: the call comes from the search box, whose text is left exactly as the user typed it;
  // matching ignores case and surrounding whitespace
  function search(q, typed) {
    const raw = String(q);
    if (typed !== true) $("search").value = raw;
    const needle = raw.trim().toLowerCase();
    if (!needle) { clearHighlight(true); return { a: [], b: [] }; }
    const found = {};
    for (const s of SIDES) {
      found[s] = [];
      for (let i = 0; i < S[s].n; i++) if (S[s].lower[i].includes(needle)) found[s].push(i);
      plots[s].zoomTo(found[s], 0.05);
    }
    $("search-count").textContent = found.a.length + " in " + S.a.name + ", " + found.b.length + " in " + S.b.name;
    setHighlight("search", found);
    return found;
  }
  function selectGroup(g) {
    $("group").value = g;
    if (g === "") { setHighlight(null, { a: [], b: [] }); return; }
    const gi = D.groups.indexOf(g);
    const m = { a: [], b: [] };
    for (const s of SIDES) for (let i = 0; i < S[s].n; i++) if (S[s].group[i] === gi) m[s].push(i);
    setHighlight("group", m);
  }
  function selectIds(side, ids) {
    const m = { a: [], b: [] };
    m[side] = ids;
    setHighlight("selection", m);
  }

  // ---------------------------------------------------------------- tooltip and hover
  const tooltip = $("tooltip");
  // one latent as DOM lines; tokenCap/textCap: characters shown per token / label (Infinity: all)
  function describe(side, i, tokenCap, textCap) {
    const d = S[side], lines = [], od = S[OTHER[side]];
    const line = (text, cls) => { const e = el("div", text, cls); lines.push(e); return e; };
    line(trunc(d.name, textCap) + " · feature " + i, "head");
    line(labelText(trunc(d.label[i], textCap)), "label");
    if (d.tokens[i].length) line("top tokens: ").appendChild(chips(d.tokens[i], tokenCap));
    line("frequency " + fmt(d.freq[i], 4));
    if (F) {
      const k = FAM[side].of[i];
      if (k < 0) line("family: none (not in the families table)");
      else {
        const f = F.list[k], fm = familyMembers(side, i);
        line("family " + f[0] + " · held by " + f[1].split(",").join(", ") + " · size " + f[2] +
          (f[3] === null ? "" : " · mean score " + fmt(f[3])), "family");
        if (state.hoverMode === "family") {
          line("family members in " + trunc(od.name, textCap) + ": " +
            (fm.length ? fm.map(([j]) => "#" + j).join(", ") : "none"));
        }
      }
    }
    const ps = partners(side, i);
    if (ps.length) {
      const shown = ps.slice(0, 6).map(([j, sc]) => "#" + j + " (" + fmt(sc) + ")").join(", ");
      line("partners in " + trunc(od.name, textCap) + " [" + P.name + "]: " + shown +
        (ps.length > 6 ? " +" + (ps.length - 6) + " more" : ""));
      const j = ps[0][0], best = line("best partner: ");
      if (od.tokens[j].length) best.appendChild(chips(od.tokens[j], tokenCap));
      else best.append(labelText(trunc(od.label[j], textCap)));
    } else line("no partner in " + trunc(od.name, textCap) + " [" + P.name + "]");
    return lines;
  }
  function isLong(side, i) {
    const d = S[side];
    return d.label[i].length > TIP_TEXT || d.tokens[i].some((t) => t.length > TIP_TOKEN);
  }
  function showTooltip(side, i, clientX, clientY) {
    const lines = describe(side, i, TIP_TOKEN, TIP_TEXT);
    if (isLong(side, i)) lines.push(el("div", "click the point for the full text", "hint"));
    tooltip.replaceChildren(...lines);
    tooltip.hidden = false;
    const w = tooltip.offsetWidth, h = tooltip.offsetHeight;
    let x = clientX + 14, y = clientY + 14;
    if (x + w > window.innerWidth) x = clientX - w - 14;
    if (y + h > window.innerHeight) y = clientY - h - 14;
    tooltip.style.left = Math.max(0, x) + "px"; tooltip.style.top = Math.max(0, y) + "px";
  }
  function setHover(side, i, clientX, clientY) {
    const t0 = performance.now();
    if (i < 0) {
      if (state.hover) { state.hover = null; tooltip.hidden = true; drawAll(); }
      return;
    }
    if (!state.hover || state.hover.side !== side || state.hover.id !== i) {
      state.hover = { side: side, id: i, mode: state.hoverMode,
        partners: state.hoverMode === "family" ? familyMembers(side, i) : partners(side, i) };
      drawAll();
    }
    showTooltip(side, i, clientX, clientY);
    state.lastHoverMs = performance.now() - t0;
  }

  // ---------------------------------------------------------------- mouse
  function localXY(plot, ev) {
    const r = plot.canvas.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }
  function pointInPolygon(x, y, poly) {
    let inside = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i], [xj, yj] = poly[j];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }
  function bindPlot(plot) {
    const c = plot.canvas, side = plot.side;
    c.addEventListener("mousedown", (ev) => {
      ev.preventDefault();
      const [px, py] = localXY(plot, ev);
      plot.drag = { mode: state.mode, start: [px, py], view: Object.assign({}, plot.view),
        path: state.mode === "pan" ? null : [[px, py], [px, py]] };
      setHover(side, -1);
    });
    window.addEventListener("mousemove", (ev) => {
      if (!plot.drag) return;
      const [px, py] = localXY(plot, ev), g = plot.drag;
      if (g.mode === "pan") {
        const dx = (px - g.start[0]) / plot.W * (g.view.x1 - g.view.x0);
        const dy = (py - g.start[1]) / plot.H * (g.view.y1 - g.view.y0);
        plot.setView(g.view.x0 - dx, g.view.x1 - dx, g.view.y0 + dy, g.view.y1 + dy);
        scheduleTable();
      } else if (g.mode === "box") g.path[1] = [px, py];
      else g.path.push([px, py]);
      plot.draw();
    });
    window.addEventListener("mouseup", (ev) => {
      if (!plot.drag) return;
      const g = plot.drag;
      plot.drag = null;
      const [ux, uy] = localXY(plot, ev);
      if (g.mode === "pan" && Math.abs(ux - g.start[0]) + Math.abs(uy - g.start[1]) < 4) {  // a click
        const i = plot.nearest(ux, uy, 8);
        if (i >= 0) showDetails([[side, i]]);
      }
      if (g.mode !== "pan") {
        const d = S[side], ids = [];
        let inside;
        if (g.mode === "box") {
          const [[ax, ay], [bx, by]] = g.path;
          const lx = Math.min(ax, bx), hx = Math.max(ax, bx), ly = Math.min(ay, by), hy = Math.max(ay, by);
          inside = (px, py) => px >= lx && px <= hx && py >= ly && py <= hy;
        } else inside = (px, py) => pointInPolygon(px, py, g.path);
        for (let i = 0; i < d.n; i++) {
          if (!plot.inView(i)) continue;
          const [px, py] = plot.toPx(d.x[i], d.y[i]);
          if (inside(px, py)) ids.push(i);
        }
        if (ids.length || g.path.length > 2) selectIds(side, ids);
        else plot.draw();
      }
    });
    c.addEventListener("mousemove", (ev) => {
      if (plot.drag) return;
      const [px, py] = localXY(plot, ev);
      setHover(side, plot.nearest(px, py, 8), ev.clientX, ev.clientY);
    });
    c.addEventListener("mouseleave", () => { if (!plot.drag) setHover(side, -1); });
    c.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const [px, py] = localXY(plot, ev), [x, y] = plot.fromPx(px, py), v = plot.view;
      const f = Math.exp(Math.max(-1, Math.min(1, ev.deltaY / 300)));
      plot.setView(x - (x - v.x0) * f, x + (v.x1 - x) * f, y - (y - v.y0) * f, y + (v.y1 - y) * f);
      plot.draw(); scheduleTable();
    }, { passive: false });
    c.addEventListener("dblclick", () => { plot.view = Object.assign({}, plot.home); plot.draw(); scheduleTable(); });
  }

  // ---------------------------------------------------------------- pairs table
  const COLUMNS = [["score", "score"], ["a", S.a.name + " id"], ["a_text", S.a.name + " tokens / label"],
    ["b", S.b.name + " id"], ["b_text", S.b.name + " tokens / label"]];
  function text(side, i) { // full text of a latent for sorting and the cell's title
    const d = S[side];
    return d.tokens[i].length ? d.tokens[i].join(" │ ") : labelText(d.label[i]);
  }
  function cell(side, i) {
    const d = S[side], td = el("td", null, "text");
    if (d.tokens[i].length) td.appendChild(chips(d.tokens[i], CELL_TOKEN));
    else td.textContent = labelText(trunc(d.label[i], CELL_TEXT));
    td.title = text(side, i);
    return td;
  }
  let tableTimer = null;
  function scheduleTable() {
    if (tableTimer !== null) return;
    tableTimer = setTimeout(() => { tableTimer = null; renderTable(); }, 60);
  }
  function renderTable() {
    const rows = [];
    const restrict = state.hlCount > 0;
    for (let k = 0; k < P.a.length; k++) {
      const i = P.a[k], j = P.b[k];
      if (!(plots.a.inView(i) || plots.b.inView(j))) continue;
      if (restrict && !(state.hl.a[i] || state.hl.b[j])) continue;
      rows.push(k);
    }
    const key = state.sortKey, dir = state.sortDir;
    const val = (k) => key === "score" ? P.score[k] : key === "a" ? P.a[k] : key === "b" ? P.b[k]
      : text(key === "a_text" ? "a" : "b", key === "a_text" ? P.a[k] : P.b[k]);
    rows.sort((u, v) => {
      const x = val(u), y = val(v);
      return (x < y ? -1 : x > y ? 1 : u - v) * dir;
    });
    state.tableRows = rows.slice(0, D.table_rows);
    $("pairs-caption").textContent = rows.length + " mapped pairs in view [" + P.name + "]" +
      (restrict ? " touching the highlighted features" : "") +
      (rows.length > D.table_rows ? " — first " + D.table_rows + " shown" : "") + "; click a row to focus both plots";
    const head = $("pairs").tHead;
    const tr = el("tr");
    for (const [k, name] of COLUMNS) {
      const th = el("th", name + (k === key ? (dir > 0 ? " ▲" : " ▼") : ""));
      th.dataset.key = k;
      th.addEventListener("click", () => {
        if (state.sortKey === k) state.sortDir = -state.sortDir;
        else { state.sortKey = k; state.sortDir = k === "score" ? -1 : 1; }
        renderTable();
      });
      tr.appendChild(th);
    }
    head.replaceChildren(tr);
    const body = $("pairs").tBodies[0];
    const frag = document.createDocumentFragment();
    for (const k of state.tableRows) {
      const r = el("tr");
      r.dataset.pair = String(k);
      if (state.focus && state.focus.pair === k) r.className = "focused";
      r.append(el("td", fmt(P.score[k])), el("td", P.a[k]), cell("a", P.a[k]), el("td", P.b[k]), cell("b", P.b[k]));
      r.addEventListener("click", () => focusPair(k));
      frag.appendChild(r);
    }
    body.replaceChildren(frag);
  }
  function focusPair(k) {
    const ends = { a: P.a[k], b: P.b[k] };
    state.focus = { pair: k, a: ends.a, b: ends.b };
    for (const s of SIDES) {
      const p = plots[s], h = p.home, d = S[s], i = ends[s];
      const wx = Math.min(p.view.x1 - p.view.x0, 0.15 * (h.x1 - h.x0));
      const wy = Math.min(p.view.y1 - p.view.y0, 0.15 * (h.y1 - h.y0));
      p.setView(d.x[i] - wx / 2, d.x[i] + wx / 2, d.y[i] - wy / 2, d.y[i] + wy / 2);
    }
    showDetails([["a", ends.a], ["b", ends.b]]);
    drawAll(); renderTable();
  }
  // the full text of clicked latents (a point, or both ends of a table row), in a scrolling box
  function showDetails(items) {
    state.details = items;
    $("details-box").hidden = false;
    $("details").replaceChildren(...items.map(([s, i]) => {
      const box = el("div", null, "latent");
      box.append(...describe(s, i, Infinity, Infinity));
      return box;
    }));
  }

  // ---------------------------------------------------------------- header, controls
  // metrics rows shown: this pairing's (and pairing-free) rows against a headline null whose subspace,
  // representation, metric, baseline or note contain every word of the filter box (any case)
  function renderMetrics() {
    const cols = D.metrics.columns, idx = (n) => cols.indexOf(n);
    const show = ["subspace", "representation", "metric", "value", "baseline", "baseline_mean", "p_value", "n_pairs"];
    const all = D.metrics.rows.filter((r) => (r[idx("pairing")] === P.name || r[idx("pairing")] === "none") &&
      HEADLINE.includes(r[idx("baseline")]));
    const words = $("metrics-filter").value.toLowerCase().split(/\s+/).filter((w) => w);
    const haystack = (r) => ["subspace", "representation", "metric", "baseline", "note"]
      .map((c) => (idx(c) >= 0 && r[idx(c)] !== null ? String(r[idx(c)]) : "")).join(" ").toLowerCase();
    const rows = words.length ? all.filter((r) => { const h = haystack(r); return words.every((w) => h.includes(w)); })
      : all;
    state.metricRows = rows.length;
    $("metrics-caption").textContent = "Metrics of this comparison (results/metrics.parquet): " +
      (words.length ? rows.length + " of " : "") + all.length + " rows for pairing " + P.name +
      " against the headline nulls; bold: p < 0.01; \u201c< 0.01\u201d: the smallest p-value the null draws allow";
    const tr = el("tr");
    for (const c of show) tr.appendChild(el("th", c));
    $("metrics").tHead.replaceChildren(tr);
    const frag = document.createDocumentFragment();
    for (const r of rows) {
      const row = el("tr");
      for (const c of show) {
        const v = r[idx(c)];
        const td = el("td", c === "p_value" ? fmtP(v, r[idx("n_baseline_valid")]) : fmt(v));
        if (c === "p_value" && isP(v) && v < SIG) td.className = "sig";
        row.appendChild(td);
      }
      const note = r[idx("note")];
      if (note) row.title = note;
      frag.appendChild(row);
    }
    $("metrics").tBodies[0].replaceChildren(frag);
    const paired = { a: 0, b: 0 };
    for (const s of SIDES) for (let i = 0; i < S[s].n; i++) if (P.adj[s][i].length) paired[s]++;
    $("summary").textContent = P.a.length + " pairs [" + P.name + "] · " + S.a.name + ": " + S.a.n + " latents, " +
      paired.a + " paired · " + S.b.name + ": " + S.b.n + " latents, " + paired.b + " paired";
  }
  function renderLegends() {
    for (const s of SIDES) {
      const box = $("legend-" + s), items = [];
      if (state.colour === "group") {
        const present = new Set(S[s].group);
        D.groups.forEach((g, gi) => { if (present.has(gi)) items.push([PALETTE[gi], g]); });
        if (present.has(-1)) items.push([NONE, "no group"]);
      } else if (state.colour === "paired") items.push(["#1f77b4", "paired"], [NONE, "unpaired"]);
      else if (P.a.length) items.push([viridis(0), "score " + fmt(P.lo)], [viridis(1), fmt(P.hi)], [NONE, "unpaired"]);
      else items.push([NONE, "no pairs in " + P.name]);
      const spans = items.slice(0, 60).map(([c, t]) => {
        const span = el("span", trunc(t, 60)), sw = el("span", null, "swatch");
        sw.style.background = c; span.prepend(sw); return span;
      });
      if (items.length > 60) spans.push(el("span", "+" + (items.length - 60) + " more groups"));
      box.replaceChildren(...spans);
    }
  }
  function setColour(mode) {
    state.colour = mode; $("colour").value = mode;
    plots.a.setColours(); plots.b.setColours(); renderLegends(); drawAll();
  }
  function setPairing(name) {
    if (!D.pairings[name]) throw new Error("unknown pairing " + name);
    state.pairing = name; $("pairing").value = name;
    P = buildPairing(name);
    state.hover = null; state.focus = null; tooltip.hidden = true;
    if (plots.a) {
      plots.a.setColours(); plots.b.setColours(); renderLegends(); renderMetrics(); renderAbout();
      // the same members (search hits, group, box/lasso selection), partners of the new pairing
      if (state.hlKind) setHighlight(state.hlKind, members());
      else { drawAll(); renderTable(); }
      if (state.details) showDetails(state.details);
    }
  }
  // the "what am I looking at" lines; the score line follows the pairing
  function renderAbout() {
    const L = D.layout;
    const how = L.aligned ? "one aligned UMAP of all models of the world, anchored on their " + L.anchor_pairing +
      " pairs" : "an independent UMAP per SAE, so the two maps' positions and axes are not comparable";
    $("about-map").textContent = "Each point is one SAE latent, placed by UMAP of its decoder direction (its row of " +
      "the decoder; n_neighbors " + L.n_neighbors + ", min_dist " + L.min_dist + ", metric " + L.metric + "; " +
      how + "). Nearby points write similar directions into the model.";
    $("about-score").textContent = "Pairing " + P.name + ": a latent of one map is linked to its partners in the " +
      "other; score = " + (D.scores[P.name] || "pairing score") + ".";
    $("about-use").textContent = (state.hoverMode === "family"
      ? "Hover a point: the members of its feature family (" + S.a.name + ", " + S.b.name + " and the other models " +
        "of the study; \"Hover shows\" switches to pairing partners) ring red in the other map and a tooltip lists " +
        "the family, the models that hold it and its size."
      : "Hover a point: its partners ring red in the other map and a tooltip lists them.") + " Click a point or a table row: full text below the maps. Drag mode box/lasso: select latents " +
      "(black outline) and light up their partners (magenta outline). Search: tokens or label, any case. " +
      "Wheel: zoom; double-click: whole map. Tokens are boxed; ␣ is a space, ↵ a newline, ⇥ a tab, ∅ empty.";
  }
  function setHoverMode(mode) {
    if (mode !== "partners" && !(mode === "family" && F)) throw new Error("unknown hover mode " + mode);
    state.hoverMode = mode;
    if (F) $("hover-mode").value = mode;
    state.hover = null; tooltip.hidden = true;
    renderAbout(); drawAll();
  }
  function options(select, items) {
    select.replaceChildren(...items.map(([v, t]) => { const o = el("option", t); o.value = v; return o; }));
  }

  function init() {
    document.title = D.title;
    $("title").textContent = D.title;
    $("name-a").textContent = S.a.name + " — " + S.a.n + " latents";
    $("name-b").textContent = S.b.name + " — " + S.b.n + " latents";
    const colourModes = [["score", "pairing score"], ["paired", "paired / unpaired"]];
    if (D.groups.length) colourModes.unshift(["group", "group (keyword category / GT cluster)"]);
    options($("colour"), colourModes);
    options($("group"), [["", "— none —"], ...D.groups.map((g) => [g, g])]);
    options($("pairing"), Object.keys(D.pairings).map((p) => [p, p]));
    if (F) {  // the hover-mode control exists only on pages with families
      const sel = el("select"), lab = el("label", "Hover shows ");
      sel.id = "hover-mode"; lab.appendChild(sel);
      options(sel, [["family", "family members"], ["partners", "pairing partners"]]);
      sel.value = state.hoverMode;
      sel.addEventListener("change", (e) => setHoverMode(e.target.value));
      $("pairing").parentElement.after(lab);
    }
    P = buildPairing(state.pairing);
    $("pairing").value = state.pairing;
    plots.a = new Plot("a"); plots.b = new Plot("b");
    bindPlot(plots.a); bindPlot(plots.b);
    $("colour").addEventListener("change", (e) => setColour(e.target.value));
    $("pairing").addEventListener("change", (e) => setPairing(e.target.value));
    $("group").addEventListener("change", (e) => selectGroup(e.target.value));
    let searchTimer = null;
    $("search").addEventListener("input", (e) => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => search(e.target.value, true), 150);
    });
    $("search").addEventListener("keydown", (e) => {
      if (e.key === "Enter") { clearTimeout(searchTimer); search(e.target.value, true); }
    });
    $("metrics-filter").addEventListener("input", renderMetrics);
    for (const r of document.querySelectorAll("input[name=mode]")) {
      r.addEventListener("change", (e) => { state.mode = e.target.value; });
    }
    $("clear").addEventListener("click", clearHighlight);
    $("reset").addEventListener("click", () => {
      for (const s of SIDES) plots[s].view = Object.assign({}, plots[s].home);
      drawAll(); scheduleTable();
    });
    window.addEventListener("resize", () => { plots.a.resize(); plots.b.resize(); drawAll(); });
    setColour(state.colour);
    renderAbout(); renderMetrics(); renderTable();
  }

  init();

  // ---------------------------------------------------------------- API for tests and notebooks
  window.viewer = {
    ready: true,
    n: () => ({ a: S.a.n, b: S.b.n }),
    highlighted: () => {
      const out = { kind: state.hlKind };
      for (const s of SIDES) {
        out[s] = []; out[s + "_members"] = []; out[s + "_partners"] = [];
        state.hl[s].forEach((v, i) => {
          if (v) out[s].push(i);
          if (v === 1) out[s + "_members"].push(i);
          if (v === 2) out[s + "_partners"].push(i);
        });
      }
      return out;
    },
    hovered: () => state.hover && { side: state.hover.side, id: state.hover.id, mode: state.hover.mode,
      partners: state.hover.partners.map((p) => p[0]), ms: state.lastHoverMs },
    hoverMode: () => state.hoverMode, setHoverMode: setHoverMode,
    family: (side, i) => (F && FAM[side].of[i] >= 0 ? F.list[FAM[side].of[i]][0] : null),
    tooltip: () => (tooltip.hidden ? null : tooltip.textContent),
    details: () => ($("details-box").hidden ? null : $("details").textContent),
    metricRows: () => state.metricRows,
    palette: () => PALETTE.slice(),
    view: (side) => Object.assign({}, plots[side].view),
    home: (side) => Object.assign({}, plots[side].home),
    inView: (side, i) => plots[side].inView(i),
    toClient: (side, i) => {
      const p = plots[side], r = p.canvas.getBoundingClientRect(), [px, py] = p.toPx(S[side].x[i], S[side].y[i]);
      return { x: r.left + px, y: r.top + py };
    },
    pixel: (side, i) => {
      const p = plots[side], [px, py] = p.toPx(S[side].x[i], S[side].y[i]);
      return Array.from(p.ctx.getImageData(Math.round(px * p.dpr), Math.round(py * p.dpr), 1, 1).data);
    },
    tableRows: () => state.tableRows.map((k) => ({ pair: k, a: P.a[k], b: P.b[k], score: P.score[k] })),
    focused: () => state.focus && { a: state.focus.a, b: state.focus.b },
    pairing: () => state.pairing,
    search: search, selectGroup: selectGroup, selectIds: selectIds, setPairing: setPairing, setColour: setColour,
    clear: clearHighlight, focusPair: focusPair, renderTable: renderTable,
  };
})();
