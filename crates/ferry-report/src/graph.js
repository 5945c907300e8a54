// ferry report: pan/zoom, namespace filter and neighbour highlighting for the
// dependency graph. Only works on the SVG already in the page; loads nothing,
// and never turns input text into markup (textContent only). Without it the
// static SVG shows the whole graph.
(function () {
  "use strict";
  var box = document.querySelector(".graph");
  var svg = box && box.querySelector("svg.ferry-graph");
  var vp = svg && svg.querySelector("g.viewport");
  var heads = svg && svg.querySelector("g.headers");
  if (!vp || !heads) return;
  var NS = "http://www.w3.org/2000/svg", NODE_H = 40, PITCH = 62, TOP = 96, GAP = 140, PAD = 24, BAR = 64, LABEL = 22;
  var nodes = [].slice.call(svg.querySelectorAll("g.node"));
  var edges = [].slice.call(svg.querySelectorAll("path.edge"));
  var bands = [].slice.call(svg.querySelectorAll(".band, rect.outside"));
  var titles = [].slice.call(heads.querySelectorAll("text.column-header"));
  var legend = svg.querySelector("g.legend");
  var byId = {};
  nodes.forEach(function (n) {
    var t = /translate\(([-\d.]+),([-\d.]+)\)/.exec(n.getAttribute("transform"));
    n._x = +t[1]; n._y = +t[2]; n._w = +n.querySelector("rect").getAttribute("width");
    n._edges = []; byId[n.getAttribute("data-id")] = n;
  });
  edges.forEach(function (e) {
    e._d = e.getAttribute("d");
    e._a = byId[e.getAttribute("data-from")]; e._b = byId[e.getAttribute("data-to")];
    if (e._a) e._a._edges.push(e);
    if (e._b && e._b !== e._a) e._b._edges.push(e);
  });
  titles.forEach(function (t) { t._x = +t.getAttribute("x"); });

  // Tool bar: namespace filter, registry edges, zoom, and a status line.
  var bar = document.createElement("div");
  bar.className = "graph-tools";
  var select = document.createElement("select");
  select.setAttribute("aria-label", "Namespace");
  var all = document.createElement("option");
  all.value = ""; all.textContent = "all namespaces";
  select.appendChild(all);
  var names = {};
  nodes.forEach(function (n) { var ns = n.getAttribute("data-ns"); if (ns !== null) names[ns] = true; });
  Object.keys(names).sort().forEach(function (ns) {
    var o = document.createElement("option");
    o.value = ns; o.textContent = ns; select.appendChild(o);
  });
  function button(label, title, action) {
    var b = document.createElement("button");
    b.type = "button"; b.textContent = label; b.title = title;
    b.addEventListener("click", action); bar.appendChild(b);
    return b;
  }
  var label = document.createElement("label");
  label.textContent = "Namespace ";
  label.appendChild(select);
  bar.appendChild(label);
  var registry = svg.querySelectorAll("path.edge.registry").length;
  var regBox = document.createElement("input");
  regBox.type = "checkbox"; regBox.checked = registry <= 20;
  if (registry > 0) {
    var reg = document.createElement("label");
    reg.appendChild(regBox);
    reg.appendChild(document.createTextNode(" registry edges (" + registry + ")"));
    bar.appendChild(reg);
  }
  var near = document.createElement("input");
  near.type = "checkbox";
  var nearLabel = document.createElement("label");
  nearLabel.appendChild(near);
  nearLabel.appendChild(document.createTextNode(" with neighbours"));
  nearLabel.title = "Also show the applications of other namespaces that the chosen one needs or is needed by";
  bar.appendChild(nearLabel);
  button("−", "Zoom out", function () { zoom(1 / 1.25); });
  button("+", "Zoom in", function () { zoom(1.25); });
  button("Fit", "Show everything shown", function () { fit(); });
  var status = document.createElement("span");
  status.className = "graph-status";
  bar.appendChild(status);
  box.parentNode.insertBefore(bar, box);
  box.classList.add("interactive");
  svg.removeAttribute("width"); svg.removeAttribute("height");
  var shade = document.createElementNS(NS, "rect");
  shade.setAttribute("x", "-100000"); shade.setAttribute("width", "200000");
  shade.setAttribute("y", "0"); shade.setAttribute("height", "" + BAR);
  shade.setAttribute("fill", "#ffffff"); shade.setAttribute("fill-opacity", "0.92");
  heads.insertBefore(shade, heads.firstChild);

  var view = { k: 1, x: 0, y: 0 }, size = { w: 1, h: 1 };
  function headScale() { return Math.min(Math.max(view.k, 0.6), 1.2); }
  function apply() {
    vp.setAttribute("transform", "translate(" + view.x.toFixed(1) + "," + view.y.toFixed(1) + ") scale(" + view.k.toFixed(4) + ")");
    // Wave headers follow the graph sideways but stay at the top.
    heads.setAttribute("transform", "translate(" + view.x.toFixed(1) + ",0) scale(" + headScale().toFixed(4) + ")");
    titles.forEach(function (t) { t.setAttribute("x", (t._cx * view.k / headScale()).toFixed(1)); });
  }
  function resize() {
    size.w = Math.max(box.clientWidth, 1); size.h = Math.max(box.clientHeight, 1);
    svg.setAttribute("viewBox", "0 0 " + size.w + " " + size.h);
  }
  function shown(n) { return !n.classList.contains("hidden"); }
  function fit() {
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    nodes.forEach(function (n) {
      if (!shown(n)) return;
      x0 = Math.min(x0, n._fx); y0 = Math.min(y0, n._fy);
      x1 = Math.max(x1, n._fx + n._w); y1 = Math.max(y1, n._fy + NODE_H);
    });
    if (x0 === Infinity) return;
    y0 -= LABEL;
    if (legend) {
      var lb = legend.getBBox(), dy = +(/,([-\d.]+)\)/.exec(legend.getAttribute("transform") || "") || [0, 0])[1];
      x0 = Math.min(x0, lb.x); x1 = Math.max(x1, lb.x + lb.width); y1 = Math.max(y1, lb.y + lb.height + dy);
    }
    var k = Math.min((size.w - 2 * PAD) / (x1 - x0), (size.h - BAR - 2 * PAD) / (y1 - y0), 1.5);
    view.k = Math.max(k, 0.02);
    view.x = (size.w - (x1 - x0) * view.k) / 2 - x0 * view.k;
    view.y = BAR + PAD - y0 * view.k;
    apply();
  }
  function zoom(f, cx, cy) {
    if (cx === undefined) { cx = size.w / 2; cy = size.h / 2; }
    var k = Math.min(Math.max(view.k * f, 0.02), 4);
    view.x = cx - (cx - view.x) * k / view.k; view.y = cy - (cy - view.y) * k / view.k; view.k = k;
    apply();
  }
  function curve(e) {
    var a = e._a, b = e._b;
    var ay = a._fy + NODE_H / 2, by = b._fy + NODE_H / 2;
    if (Math.abs(a._fx - b._fx) < 1) {
      var sx = a._fx + a._w, ex = b._fx + b._w, bulge = 40 + Math.abs(by - ay) / 4;
      return "M" + sx + "," + ay + " C" + (sx + bulge) + "," + ay + " " + (ex + bulge) + "," + by + " " + ex + "," + by;
    }
    var right = a._fx < b._fx;
    var x0 = right ? a._fx + a._w : a._fx, x1 = right ? b._fx : b._fx + b._w, m = (x0 + x1) / 2;
    return "M" + x0 + "," + ay + " C" + m + "," + ay + " " + m + "," + by + " " + x1 + "," + by;
  }
  // Shows one namespace (and the cloud services and missing objects it uses)
  // packed into the columns it occupies; "" shows everything as drawn.
  function filter(ns) {
    var keep = nodes.filter(function (n) { return !ns || n.getAttribute("data-ns") === ns; });
    var context = [];
    if (ns) {
      keep.slice().forEach(function (n) {
        n._edges.forEach(function (e) {
          var o = e._a === n ? e._b : e._a;
          if (!o || keep.indexOf(o) >= 0 || context.indexOf(o) >= 0) return;
          if (o.getAttribute("data-ns") === null) keep.push(o);
          else if (near.checked && !(e.classList.contains("registry") && !regBox.checked)) context.push(o);
        });
      });
      keep = keep.concat(context);
    }
    nodes.forEach(function (n) { n.classList.toggle("context", context.indexOf(n) >= 0); });
    nodes.forEach(function (n) { n.classList.toggle("hidden", keep.indexOf(n) < 0); n._fx = n._x; n._fy = n._y; });
    bands.forEach(function (b) { b.classList.toggle("hidden", !!ns); });
    titles.forEach(function (t) { t._cx = t._x; });
    if (ns) {
      var cols = {};
      keep.forEach(function (n) { var c = +n.getAttribute("data-col"); (cols[c] = cols[c] || []).push(n); });
      var x = PAD, at = {};
      Object.keys(cols).map(Number).sort(function (p, q) { return p - q; }).forEach(function (c) {
        var list = cols[c].sort(function (p, q) { return p._y - q._y; });
        var w = Math.max.apply(null, list.map(function (n) { return n._w; }));
        list.forEach(function (n, i) { n._fx = x; n._fy = TOP + i * PITCH; });
        at[c] = x + w / 2; x += w + GAP;
      });
      titles.forEach(function (t) {
        var c = t.getAttribute("data-col");
        t.classList.toggle("hidden", !(c in at));
        if (c in at) t._cx = at[c];
      });
    } else {
      titles.forEach(function (t) { t.classList.remove("hidden"); });
    }
    nodes.forEach(function (n) { n.setAttribute("transform", "translate(" + n._fx + "," + n._fy + ")"); });
    // The legend goes below what is shown.
    var bottom = Math.max.apply(null, keep.map(function (n) { return n._fy + NODE_H; }));
    if (legend) legend.setAttribute("transform", ns ? "translate(0," + (bottom + 34 - +legend.getAttribute("data-y")) + ")" : "");
    var drawn = 0, cut = 0;
    edges.forEach(function (e) {
      var ok = e._a && e._b && shown(e._a) && shown(e._b);
      e.classList.toggle("hidden", !ok);
      e.setAttribute("d", ns && ok ? curve(e) : e._d);
      if (!regBox.checked && e.classList.contains("registry")) return;
      if (ok) drawn++; else if ((e._a && shown(e._a)) || (e._b && shown(e._b))) cut++;
    });
    var apps = keep.filter(function (n) { return n.classList.contains("app") && context.indexOf(n) < 0; }).length;
    status.textContent = ns
      ? ns + ": " + apps + " application(s)" + (context.length ? " and " + context.length + " neighbour(s)" : "") + ", " + drawn + " edge(s) drawn, " + cut + " to other namespaces hidden"
      : nodes.length + " nodes, " + edges.length + " edges; drag to pan, wheel to zoom, hover or click a node for its neighbours";
    select.value = ns;
    fit();
  }
  // `#ns=NAMESPACE`, optionally `&neighbours`.
  function fromHash() {
    var m = /^#ns=([^&]*)(&neighbours)?$/.exec(location.hash);
    if (!m) return null;
    near.checked = !!m[2];
    return decodeURIComponent(m[1]);
  }
  function toHash() {
    history.replaceState(null, "", select.value ? "#ns=" + encodeURIComponent(select.value) + (near.checked ? "&neighbours" : "") : "#graph");
  }

  // Neighbours of the node under the pointer (or clicked, until clicked again).
  var pinned = null;
  function focus(n) {
    svg.classList.toggle("focus", !!n);
    svg.querySelectorAll(".hl").forEach(function (el) { el.classList.remove("hl"); });
    if (!n) return;
    n.classList.add("hl");
    n._edges.forEach(function (e) {
      e.classList.add("hl");
      if (e._a) e._a.classList.add("hl");
      if (e._b) e._b.classList.add("hl");
    });
  }
  nodes.forEach(function (n) {
    n.addEventListener("mouseenter", function () { if (!pinned) focus(n); });
    n.addEventListener("mouseleave", function () { if (!pinned) focus(null); });
    n.addEventListener("click", function (ev) { ev.stopPropagation(); pinned = pinned === n ? null : n; focus(pinned || n); });
  });

  // Pan by dragging, zoom with the wheel around the pointer.
  var drag = null;
  svg.addEventListener("pointerdown", function (ev) { drag = { x: ev.clientX - view.x, y: ev.clientY - view.y }; });
  window.addEventListener("pointerup", function () { drag = null; });
  svg.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    view.x = ev.clientX - drag.x; view.y = ev.clientY - drag.y; apply();
  });
  svg.addEventListener("click", function () { if (pinned) { pinned = null; focus(null); } });
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = svg.getBoundingClientRect();
    zoom(Math.exp(-ev.deltaY / 500), ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });

  near.addEventListener("change", function () { toHash(); filter(select.value); });
  regBox.addEventListener("change", function () { svg.classList.toggle("no-registry", !regBox.checked); filter(select.value); });
  svg.classList.toggle("no-registry", !regBox.checked);
  select.addEventListener("change", function () {
    toHash();
    filter(select.value);
  });
  window.addEventListener("hashchange", function () { var ns = fromHash(); if (ns !== null) filter(ns in names ? ns : ""); });
  window.addEventListener("resize", function () { resize(); fit(); });
  resize();
  var start = fromHash();
  filter(start !== null && start in names ? start : "");
})();
