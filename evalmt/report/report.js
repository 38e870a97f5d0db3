/* evalmt report.html behaviour: plain JavaScript, inlined at render time, no network.
 * Reads the JSON payload from the element #report-data, draws every section, and keeps
 * large runs usable: documents and segments are paginated (never all rows in the DOM),
 * the heatmap is one canvas per metric, word diffs are computed only for visible rows. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var DOC_PAGE = 50, SEG_PAGE = 20, WORST = 5, MAX_DIFF_TOKENS = 600;
  var state = {};

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "cls") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function fmt(x) { return x === null || x === undefined ? "–" : Number(x).toFixed(2); }
  function option(select, value, label) { select.appendChild(el("option", {value: value, text: label || value})); }

  /* ---------- generic sortable table: header click sorts rows by that column ---------- */
  function sortableHeader(table, columns, sortState, onSort) {
    var tr = el("tr");
    columns.forEach(function (col, i) {
      var th = el("th", {cls: col.num ? "num" : "", text: col.label, "data-col": String(i)});
      if (sortState.col === i) th.className += sortState.dir > 0 ? " sorted-asc" : " sorted-desc";
      th.addEventListener("click", function () {
        if (sortState.col === i) sortState.dir = -sortState.dir;
        else { sortState.col = i; sortState.dir = col.num && col.higher !== false ? -1 : 1; }
        onSort();
      });
      tr.appendChild(th);
    });
    var thead = el("thead", null, [tr]);
    table.appendChild(thead);
  }
  function compare(a, b, dir) {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    return (a < b ? -1 : 1) * dir;
  }

  /* ---------- summary ---------- */
  function renderSummary() {
    var ds = state.ds, table = $("summary-table");
    table.textContent = "";
    var cells = {};
    ds.scores.forEach(function (r) { cells[r.system + "\u0000" + r.metric] = r; });
    var cols = [{label: "system"}].concat(ds.metrics.map(function (m, i) {
      return {label: m, num: true, higher: ds.higher[i]};
    }));
    var rows = ds.systems.map(function (s) {
      return [s].concat(ds.metrics.map(function (m) { return cells[s + "\u0000" + m] || null; }));
    });
    var st = state.summarySort;
    rows.sort(function (a, b) {
      if (st.col === null) return 0;
      if (st.col === 0) return compare(a[0], b[0], st.dir);
      return compare(a[st.col] && a[st.col].score, b[st.col] && b[st.col].score, st.dir);
    });
    sortableHeader(table, cols, st, renderSummary);
    var tbody = el("tbody");
    rows.forEach(function (row) {
      var tr = el("tr", {"data-system": row[0]}, [el("td", {text: row[0]})]);
      row.slice(1).forEach(function (c) {
        var td = el("td", {cls: "num"});
        if (!c) td.textContent = "–";
        else {
          td.appendChild(document.createTextNode(fmt(c.score)));
          if (c.ci_low !== null && c.ci_low !== undefined)
            td.appendChild(el("span", {cls: "ci", text: " [" + fmt(c.ci_low) + ", " + fmt(c.ci_high) + "]"}));
          if (c.cluster !== null && c.cluster !== undefined)
            td.appendChild(el("span", {cls: "cluster", text: " (" + c.cluster + ")"}));
          td.title = c.signature || "";
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    var notes = $("summary-notes");
    notes.textContent = "";
    var ul = el("ul");
    var seen = {};
    ds.scores.forEach(function (r) {
      if (!seen[r.metric]) { seen[r.metric] = 1; ul.appendChild(el("li", null, [r.metric + ": ", el("code", {text: r.signature || ""})])); }
    });
    if (ds.cluster_rule) ul.appendChild(el("li", {cls: "cluster-rule", text: "rank clusters: " + ds.cluster_rule}));
    ds.notes.forEach(function (n) { ul.appendChild(el("li", {text: "note: " + n})); });
    notes.appendChild(ul);
    renderAgreement();
  }

  /* ---------- metric-human agreement (scores.json "human_agreement") ---------- */
  function renderAgreement() {
    var box = $("summary-agreement"), rows = state.ds.agreement || [];
    box.textContent = "";
    if (!rows.length) return;
    function num(v) { return v === null || v === undefined ? "n/a" : v.toFixed(3); }
    var cols = ["human", "metric", "systems", "Kendall τ", "Pearson r", "pairwise accuracy", "cluster contradictions (metric's better > humans' better)"];
    box.appendChild(el("h3", {text: "Agreement with human judgements"}));
    box.appendChild(el("table", {id: "agreement-table"}, [
      el("thead", null, [el("tr", null, cols.map(function (c) { return el("th", {text: c}); }))]),
      el("tbody", null, rows.map(function (a) {
        var contra = a.contradictions === null ? "n/a" : (a.contradictions.length ? a.contradictions.map(function (p) { return p[0] + " > " + p[1]; }).join("; ") : "none");
        var acc = a.pairwise_accuracy === null ? "n/a" : num(a.pairwise_accuracy) + " (" + a.concordant + "/" + a.pairs + ")";
        return el("tr", null, [a.human, a.metric, String(a.systems.length), num(a.kendall_tau), num(a.pearson), acc, contra]
          .map(function (v) { return el("td", {text: v}); }));
      }))]));
    var first = rows[0], left = [];
    if (first.not_in_human.length) left.push("not in the human ranking: " + first.not_in_human.join(", "));
    if (first.not_scored.length) left.push("judged by humans but not scored here: " + first.not_scored.join(", "));
    if (left.length) box.appendChild(el("ul", null, left.map(function (t) { return el("li", {text: t}); })));
  }

  /* ---------- documents: sorted/filtered index shared by table, chart and worst lists ---------- */
  function docOrder() {
    var ds = state.ds, metric = $("doc-metric").value, filter = $("doc-filter").value.toLowerCase();
    var scores = ds.docs.scores[metric] || {}, st = state.docSort, idx = [];
    for (var i = 0; i < ds.docs.ids.length; i++)
      if (!filter || ds.docs.ids[i].toLowerCase().indexOf(filter) >= 0) idx.push(i);
    function key(i) {
      if (st.col === 0) return ds.docs.ids[i];
      if (st.col === 1) return ds.docs.segments[i];
      if (st.col === ds.systems.length + 2) return spread(scores, i);
      return scores[ds.systems[st.col - 2]][i];
    }
    if (st.col !== null) idx.sort(function (a, b) { return compare(key(a), key(b), st.dir) || a - b; });
    return idx;
  }
  function spread(scores, i) {
    var lo = Infinity, hi = -Infinity;
    for (var s in scores) { var v = scores[s][i]; if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
    return hi >= lo ? hi - lo : null;
  }
  function renderDocuments() {
    var ds = state.ds, metric = $("doc-metric").value, table = $("doc-table");
    var h = ds.higher[ds.metrics.indexOf(metric)];
    var idx = docOrder(), scores = ds.docs.scores[metric] || {};
    state.docIdx = idx;
    var pages = Math.max(1, Math.ceil(idx.length / DOC_PAGE));
    state.docPage = Math.min(state.docPage, pages - 1);
    table.textContent = "";
    var cols = [{label: "document"}, {label: "segments", num: true}].concat(
      ds.systems.map(function (s) { return {label: s, num: true, higher: h}; }), [{label: "spread", num: true}]);
    sortableHeader(table, cols, state.docSort, function () { state.docPage = 0; renderDocuments(); drawChart(); });
    var tbody = el("tbody");
    idx.slice(state.docPage * DOC_PAGE, (state.docPage + 1) * DOC_PAGE).forEach(function (i) {
      var flag = (ds.docs.flags || [])[i] || "";
      var name = el("td", {text: ds.docs.ids[i]});
      if (flag) { name.appendChild(el("span", {cls: "doc-flag", text: " ⚠"})); name.title = "degenerate: " + flag; }
      var tr = el("tr", {cls: "clickable", "data-doc": ds.docs.ids[i]},
        [name, el("td", {cls: "num", text: String(ds.docs.segments[i])})]);
      ds.systems.forEach(function (s) { tr.appendChild(el("td", {cls: "num", text: fmt(scores[s][i])})); });
      tr.appendChild(el("td", {cls: "num", text: fmt(spread(scores, i))}));
      tr.addEventListener("click", function () { showDocument(ds.docs.ids[i]); });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    $("doc-count").textContent = idx.length + " of " + ds.docs.ids.length + " documents";
    pager($("doc-pager"), state.docPage, pages, function (p) { state.docPage = p; renderDocuments(); });
  }
  function pager(box, page, pages, go) {
    box.textContent = "";
    var prev = el("button", {text: "‹ prev", type: "button"}), next = el("button", {text: "next ›", type: "button"});
    prev.disabled = page <= 0; next.disabled = page >= pages - 1;
    prev.addEventListener("click", function () { go(page - 1); });
    next.addEventListener("click", function () { go(page + 1); });
    box.appendChild(prev); box.appendChild(el("span", {text: "page " + (page + 1) + " / " + pages})); box.appendChild(next);
  }
  function showDocument(docId) {
    $("seg-doc").value = docId; state.segPage = 0; renderSegments();
    $("segments").scrollIntoView();
  }

  /* ---------- heatmap: one canvas per metric, systems × documents ---------- */
  function drawChart() {
    var ds = state.ds, box = $("chart-panels"), idx = state.docIdx || [];
    box.textContent = "";
    var label = 150, rowH = 18, width = Math.max(320, Math.min(1100, box.clientWidth || 1100) - label - 10);
    var cell = idx.length ? Math.min(40, Math.max(width / idx.length, 0.25)) : 1;
    ds.metrics.forEach(function (metric, mi) {
      var scores = ds.docs.scores[metric], higher = ds.higher[mi], lo = Infinity, hi = -Infinity;
      ds.systems.forEach(function (s) { idx.forEach(function (i) { var v = scores[s][i]; if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
      // Under the cells: document labels (every k-th when cells are narrow), then a colour legend.
      var every = Math.max(1, Math.ceil(14 / cell)), labelsTop = rowH * ds.systems.length + 4;
      var labelH = 84, legendTop = labelsTop + labelH, ramp = 200;
      function colour(t) { return "hsl(215," + Math.round(30 + 40 * t) + "%," + Math.round(94 - 62 * t) + "%)"; }
      var canvas = el("canvas", {width: String(Math.max(label + Math.ceil(cell * idx.length) + 2, label + ramp + 160)),
        height: String(legendTop + 40), "data-metric": metric, "data-cells": String(idx.length * ds.systems.length)});
      var ctx = canvas.getContext("2d");
      ctx.font = "12px sans-serif"; ctx.textBaseline = "middle";
      ds.systems.forEach(function (s, si) {
        ctx.fillStyle = "#1d2430";
        ctx.fillText(s.length > 22 ? s.slice(0, 21) + "…" : s, 2, si * rowH + rowH / 2 + 1);
        idx.forEach(function (i, col) {
          var v = scores[s][i], t = v === null || hi <= lo ? 0.5 : (v - lo) / (hi - lo);
          if (!higher) t = 1 - t;
          ctx.fillStyle = v === null ? "#ccc" : colour(t);
          ctx.fillRect(label + col * cell, si * rowH + 1, Math.max(cell - (cell > 3 ? 1 : 0), 0.25), rowH - 2);
        });
      });
      ctx.fillStyle = "#1d2430"; ctx.font = "11px sans-serif";
      ctx.fillText(every > 1 ? "documents (every " + every + "th)" : "documents", 2, labelsTop + 8);
      var labelled = 0;
      ctx.textAlign = "right";
      idx.forEach(function (i, col) {
        if (col % every) return;
        var id = String(ds.docs.ids[i]);
        ctx.save(); ctx.translate(label + col * cell + Math.min(cell, 14) / 2, labelsTop);
        ctx.rotate(-Math.PI / 3); ctx.fillText(id.length > 16 ? id.slice(0, 15) + "…" : id, 0, 0);
        ctx.restore(); labelled++;
      });
      ctx.textAlign = "left";
      ctx.fillText("colour", 2, legendTop + 8);
      for (var k = 0; k < ramp; k++) { ctx.fillStyle = colour(k / (ramp - 1)); ctx.fillRect(label + k, legendTop + 2, 1, 12); }
      ctx.fillStyle = "#ccc"; ctx.fillRect(label + ramp + 12, legendTop + 2, 12, 12);
      ctx.fillStyle = "#1d2430"; ctx.fillText("n/a", label + ramp + 28, legendTop + 8);
      var worse = higher ? lo : hi, better = higher ? hi : lo, known = isFinite(lo);
      ctx.fillText((known ? fmt(worse) + " " : "") + "worse", label, legendTop + 26);
      ctx.textAlign = "right"; ctx.fillText("better" + (known ? " " + fmt(better) : ""), label + ramp, legendTop + 26);
      ctx.textAlign = "left";
      canvas.setAttribute("data-doc-labels", String(labelled));
      canvas.setAttribute("data-legend", known ? fmt(worse) + " worse … better " + fmt(better) : "");
      function hit(ev) {
        var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left - label, y = ev.clientY - r.top;
        var col = Math.floor(x / cell), si = Math.floor(y / rowH);
        if (x < 0 || col >= idx.length || si < 0 || si >= ds.systems.length) return null;
        return {doc: idx[col], system: ds.systems[si]};
      }
      canvas.addEventListener("mousemove", function (ev) {
        var h = hit(ev), tip = $("chart-tip");
        if (!h) { tip.hidden = true; return; }
        tip.hidden = false; tip.style.left = (ev.clientX + 12) + "px"; tip.style.top = (ev.clientY + 12) + "px";
        tip.textContent = ds.docs.ids[h.doc] + " · " + h.system + " · " + metric + " " + fmt(scores[h.system][h.doc]);
      });
      canvas.addEventListener("mouseleave", function () { $("chart-tip").hidden = true; });
      canvas.addEventListener("click", function (ev) { var h = hit(ev); if (h) showDocument(ds.docs.ids[h.doc]); });
      var range = isFinite(lo) ? " (" + fmt(lo) + " … " + fmt(hi) + (higher ? "" : ", lower is better") + ")" : "";
      box.appendChild(el("div", {cls: "panel"}, [el("h3", {text: metric + range}), canvas]));
    });
  }

  /* ---------- worst documents per system ---------- */
  function renderWorst() {
    var ds = state.ds, metric = $("worst-metric").value, box = $("worst-lists");
    var scores = ds.docs.scores[metric], higher = ds.higher[ds.metrics.indexOf(metric)];
    box.textContent = "";
    ds.systems.forEach(function (s) {
      var idx = [];
      for (var i = 0; i < ds.docs.ids.length; i++) if (scores[s][i] !== null) idx.push(i);
      idx.sort(function (a, b) { return compare(scores[s][a], scores[s][b], higher ? 1 : -1) || a - b; });
      var ol = el("ol");
      idx.slice(0, WORST).forEach(function (i) {
        var a = el("a", {href: "#segments", text: ds.docs.ids[i]});
        a.addEventListener("click", function (ev) { ev.preventDefault(); showDocument(ds.docs.ids[i]); });
        ol.appendChild(el("li", null, [a, " " + fmt(scores[s][i])]));
      });
      box.appendChild(el("div", {cls: "worst-system", "data-system": s}, [el("strong", {text: s}), ol]));
    });
  }

  /* ---------- segments: filter, sort, paginate, word diff against the reference ---------- */
  function tokens(text) {
    var cjk = /^(zh|ja|ko|yue)/i.test(state.ds.tgt_lang || "");
    return cjk ? Array.from(text).filter(function (c) { return !/\s/.test(c); }) : text.split(/\s+/).filter(Boolean);
  }
  /* Longest common subsequence over tokens: O(n·m), bounded by MAX_DIFF_TOKENS. */
  function wordDiff(hyp, ref) {
    var a = tokens(hyp), b = tokens(ref), n = a.length, m = b.length;
    if (!n || !m || n > MAX_DIFF_TOKENS || m > MAX_DIFF_TOKENS) return null;
    var L = new Uint16Array((n + 1) * (m + 1));
    for (var i = n - 1; i >= 0; i--)
      for (var j = m - 1; j >= 0; j--)
        L[i * (m + 1) + j] = a[i] === b[j] ? L[(i + 1) * (m + 1) + j + 1] + 1
          : Math.max(L[(i + 1) * (m + 1) + j], L[i * (m + 1) + j + 1]);
    var out = [], x = 0, y = 0;
    while (x < n || y < m) {
      if (x < n && y < m && a[x] === b[y]) { out.push(["=", a[x]]); x++; y++; }
      else if (y < m && (x >= n || L[x * (m + 1) + y + 1] >= L[(x + 1) * (m + 1) + y])) { out.push(["-", b[y]]); y++; }
      else { out.push(["+", a[x]]); x++; }
    }
    return out;
  }
  function diffNode(ops, sep) {
    var frag = document.createDocumentFragment();
    ops.forEach(function (op, k) {
      if (k && sep) frag.appendChild(document.createTextNode(sep));
      frag.appendChild(op[0] === "=" ? document.createTextNode(op[1]) : el(op[0] === "+" ? "ins" : "del", {text: op[1]}));
    });
    return frag;
  }
  function segOrder() {
    var ds = state.ds, seg = ds.segments, docQ = $("seg-doc").value.trim(), textQ = $("seg-text").value.toLowerCase();
    var sort = $("seg-sort").value, idx = [], exact = docQ && ds.docs.ids.indexOf(docQ) >= 0;
    for (var i = 0; i < seg.id.length; i++) {
      var docId = ds.docs.ids[seg.doc[i]];
      if (docQ && (exact ? docId !== docQ : docId.indexOf(docQ) < 0)) continue;
      if (textQ && !matches(i, textQ)) continue;
      idx.push(i);
    }
    if (sort !== "order") {
      var parts = sort.split(":"), metric = ds.metrics[Number(parts[1])], higher = ds.higher[Number(parts[1])];
      var scores = ds.segments.scores[metric], system = ds.systems[Number(parts[2])];
      var key = parts[0] === "spread" ? function (i) { return spread(scores, i); }
        : function (i) { return scores[system][i]; };
      var dir = parts[0] === "spread" ? -1 : (higher ? 1 : -1);
      idx.sort(function (a, b) { return compare(key(a), key(b), dir) || a - b; });
    }
    return idx;
  }
  function matches(i, q) {
    var seg = state.ds.segments;
    if (seg.src[i].toLowerCase().indexOf(q) >= 0 || seg.ref[i].toLowerCase().indexOf(q) >= 0) return true;
    for (var s in seg.hyp) if (seg.hyp[s][i].toLowerCase().indexOf(q) >= 0) return true;
    return false;
  }
  /* error spans of metrics such as XCOMET: text, severity, confidence */
  function spanList(spans) {
    return el("div", {cls: "error-spans"}, [el("span", {cls: "label", text: "error spans "})].concat(
      spans.map(function (e) {
        return el("mark", {cls: "sev-" + e.severity, title: e.metric + ", characters " + e.start + "-" + e.end +
          ", confidence " + fmt(e.confidence), text: e.text + " (" + e.severity + ")"});
      })));
  }
  function renderSegments() {
    var ds = state.ds, seg = ds.segments, box = $("segment-viewer");
    var idx = segOrder(), pages = Math.max(1, Math.ceil(idx.length / SEG_PAGE));
    state.segPage = Math.min(state.segPage, pages - 1);
    box.textContent = "";
    var sep = /^(zh|ja|ko|yue)/i.test(ds.tgt_lang || "") ? "" : " ";
    idx.slice(state.segPage * SEG_PAGE, (state.segPage + 1) * SEG_PAGE).forEach(function (i) {
      var grid = el("div", {cls: "seg-grid"}, [
        el("div", {cls: "seg-cell src"}, [el("span", {cls: "label", text: "source (" + (ds.src_lang || "") + ")"}), seg.src[i]]),
        el("div", {cls: "seg-cell ref"}, [el("span", {cls: "label", text: "reference"}), seg.ref[i]])]);
      ds.systems.forEach(function (s) {
        var label = el("span", {cls: "label", text: s + " "}), scoreText = ds.metrics.map(function (m) {
          return m + " " + fmt(seg.scores[m][s][i]);
        }).join(" · ");
        label.appendChild(el("span", {cls: "scores", text: scoreText}));
        var ops = wordDiff(seg.hyp[s][i], seg.ref[i]);
        var cell = el("div", {cls: "seg-cell hyp", "data-system": s}, [label, ops ? diffNode(ops, sep) : seg.hyp[s][i]]);
        var spans = ((seg.spans || {})[s] || {})[String(i)];
        if (spans) cell.appendChild(spanList(spans));
        grid.appendChild(cell);
      });
      box.appendChild(el("div", {cls: "seg", "data-segment": ds.docs.ids[seg.doc[i]] + "/" + seg.id[i]}, [
        el("div", {cls: "seg-head", text: ds.docs.ids[seg.doc[i]] + " · segment " + seg.id[i]}), grid]));
    });
    $("seg-count").textContent = idx.length + " of " + seg.id.length + " segments";
    pager($("seg-pager"), state.segPage, pages, function (p) { state.segPage = p; renderSegments(); });
  }

  /* ---------- manifest ---------- */
  function pre(obj) { return el("pre", {text: JSON.stringify(obj, null, 2)}); }
  function details(title, body, open) {
    var d = el("details", null, [el("summary", {text: title}), body]);
    if (open) d.open = true;
    return d;
  }
  function kvTable(rows) {
    return el("table", null, [el("tbody", null, rows.map(function (r) {
      return el("tr", null, [el("th", {text: r[0]}), el("td", {text: r[1] === null || r[1] === undefined ? "–" : String(r[1])})]);
    }))]);
  }
  function renderManifest() {
    var m = DATA.manifest, box = $("manifest-body"), ds = state.ds, entry = (m.datasets || {})[ds.name] || {};
    box.textContent = "";
    var warnings = (m.warnings || []).concat(entry.warnings || []);
    box.appendChild(details("Warnings (" + warnings.length + ")",
      warnings.length ? el("ul", {cls: "warn"}, warnings.map(function (w) { return el("li", {text: w}); })) : el("p", {text: "none"}), warnings.length > 0));
    box.appendChild(details("Signatures", el("ul", null, (entry.metrics || []).map(function (x) {
      return el("li", null, [x.name + ": ", el("code", {text: x.signature})]);
    })), true));
    var hyg = ds.hygiene || [], hcols = hyg.length ? Object.keys(hyg[0]) : [];
    box.appendChild(details("Output hygiene", hyg.length ? el("table", {id: "hygiene-table"}, [
      el("thead", null, [el("tr", null, hcols.map(function (c) { return el("th", {text: c}); }))]),
      el("tbody", null, hyg.map(function (r) { return el("tr", null, hcols.map(function (c) { return el("td", {text: String(r[c])}); })); }))])
      : el("p", {text: "not recorded"}), true));
    var use = ds.usage || [], ucols = use.length ? Object.keys(use[0]) : [];
    if (use.length) box.appendChild(details("API usage and cost", el("table", {id: "usage-table"}, [
      el("thead", null, [el("tr", null, ucols.map(function (c) { return el("th", {text: c}); }))]),
      el("tbody", null, use.map(function (r) { return el("tr", null, ucols.map(function (c) {
        return el("td", {text: r[c] === null || r[c] === undefined ? "–" : String(r[c])}); })); }))]), true));
    box.appendChild(details("Data set: " + ds.name, kvTable([
      ["languages", (entry.src_lang || "") + " → " + (entry.tgt_lang || "")], ["documents", entry.documents],
      ["segments", entry.segments], ["reference streams", entry.reference_streams],
      ["content sha256", entry.content_sha256], ["alignment decisions", JSON.stringify(entry.alignment_counts || {})]]), true));
    var docMeta = entry.document_meta || {}, docRows = Object.keys(docMeta).slice(0, 200);
    var acols = ["document", "layout", "kind", "source lines", "reference lines", "confidence", "source", "reference"], arows = [];
    docRows.forEach(function (d) {
      var meta = docMeta[d] || {};
      (meta.alignment || []).forEach(function (a) {
        var conf = a.confidence === null || a.confidence === undefined ? "" :
          fmt(a.confidence) + (a.flagged ? " FLAGGED, not scored" : "");
        arows.push([d, meta.layout + (meta.no_trustworthy_pair ? " (no trustworthy pair, not scored)" : ""),
          a.move === "title" ? "title" : a.kind, (a.src_lines || []).join(","), (a.ref_lines || []).join(","),
          conf, a.src_preview, a.ref_preview]);
      });
    });
    box.appendChild(details("Ingest alignment decisions" + (Object.keys(docMeta).length > 200 ? " (first 200 documents)" : ""),
      el("div", null, [arows.length ? el("table", {id: "alignment-table"}, [
        el("thead", null, [el("tr", null, acols.map(function (c) { return el("th", {text: c}); }))]),
        el("tbody", null, arows.slice(0, 2000).map(function (r) { return el("tr", null, r.map(function (v) {
          return el("td", {text: v === null || v === undefined ? "" : String(v)}); })); }))]) : el("p", {text: "no alignment decisions recorded"}),
        details("Document metadata (JSON)", pre(docRows.reduce(function (o, k) { o[k] = docMeta[k]; return o; }, {})))])));
    box.appendChild(details("Systems", pre(m.systems || {})));
    box.appendChild(details("Timings and hygiene per system", pre((m.results || {})[ds.name] || {})));
    box.appendChild(details("Versions", kvTable(Object.entries(((m.environment || {}).packages) || {})
      .concat([["python", (m.environment || {}).python], ["platform", (m.environment || {}).platform],
               ["git", m.git ? m.git.commit + (m.git.dirty ? " (dirty)" : "") : null]]))));
    box.appendChild(details("Resolved config", pre(m.config || {})));
    var sig = ds.significance || [], dcol = sig.length && !("delta_b_minus_a" in sig[0]) ? "delta" : "delta_b_minus_a";  // runs before the rename: "delta"
    var scols = ["metric", "method", "unit", "system_a", "system_b", dcol,
      "delta_ci_low", "delta_ci_high", "p_value", "p_mc_error", "p_adjusted", "significant"];
    var twoDp = {delta_ci_low: 1, delta_ci_high: 1}, fourDp = {p_value: 1, p_mc_error: 1, p_adjusted: 1};
    twoDp[dcol] = 1;
    box.appendChild(details("Pairwise significance (" + sig.length + " tests; delta = b − a with its paired bootstrap 95% CI; p_mc_error = Monte Carlo error of p; p_adjusted after the multiplicity correction)", sig.length ? el("table", {id: "significance-table"}, [
      el("thead", null, [el("tr", null, scols.map(function (c) { return el("th", {text: c}); }))]),
      el("tbody", null, sig.map(function (r) { return el("tr", null, scols.map(function (c) {
        var v = r[c] === undefined || r[c] === null ? "" : r[c], num = twoDp[c] || fourDp[c];
        return el("td", {cls: num ? "num" : "", text: num && v !== "" ? Number(v).toFixed(twoDp[c] ? 2 : 4) : String(v)});
      })); }))]) : el("p", {text: "no tests in this run"})));
  }

  /* ---------- wiring ---------- */
  function selectDataset(k) {
    var ds = DATA.datasets[k];
    state = {ds: ds, summarySort: {col: null, dir: -1}, docSort: {col: null, dir: 1}, docPage: 0, segPage: 0};
    [$("doc-metric"), $("worst-metric"), $("seg-sort")].forEach(function (s) { s.textContent = ""; });
    ds.metrics.forEach(function (m) { option($("doc-metric"), m); option($("worst-metric"), m); });
    option($("seg-sort"), "order", "document order");
    ds.metrics.forEach(function (m, mi) {
      option($("seg-sort"), "spread:" + mi, "largest " + m + " spread between systems");
      ds.systems.forEach(function (s, si) { option($("seg-sort"), "score:" + mi + ":" + si, "worst " + m + " of " + s); });
    });
    var dl = $("doc-ids"); dl.textContent = "";
    ds.docs.ids.slice(0, 2000).forEach(function (d) { option(dl, d); });
    renderSummary(); renderDocuments(); drawChart(); renderWorst(); renderSegments(); renderManifest();
  }
  function init() {
    var m = DATA.manifest;
    $("title").textContent = "evalmt report: " + DATA.run;
    $("run-info").textContent = "status " + m.status + " · started " + m.started + " · finished " + m.finished +
      " · evalmt " + (((m.environment || {}).packages || {}).evalmt || "?");
    var pick = $("dataset-select");
    DATA.datasets.forEach(function (d, k) { option(pick, String(k), d.name); });
    $("dataset-picker").hidden = DATA.datasets.length < 2;
    pick.addEventListener("change", function () { selectDataset(Number(pick.value)); });
    $("doc-metric").addEventListener("change", function () { renderDocuments(); drawChart(); });
    $("doc-filter").addEventListener("input", function () { state.docPage = 0; renderDocuments(); drawChart(); });
    $("worst-metric").addEventListener("change", renderWorst);
    ["seg-doc", "seg-text"].forEach(function (id) { $(id).addEventListener("input", function () { state.segPage = 0; renderSegments(); }); });
    $("seg-sort").addEventListener("change", function () { state.segPage = 0; renderSegments(); });
    selectDataset(0);
    document.body.setAttribute("data-ready", "1");
  }
  init();
})();
