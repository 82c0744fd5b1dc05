// graph/framing.js - where the camera goes when the view frames something (Fit, a new
// graph, a selection): pure geometry, no sigma, no browser (node --test runs it).
//
// Coordinates: "framed" units are sigma's normalised graph space (the bounding box's
// larger side is 1, centred on 0.5); kx, ky are the viewport pixels one framed unit takes
// at camera ratio 1 (sigma's matrix, measured by the view). A camera ratio r draws one
// framed unit on kx / r pixels.

// Fit: margins around the graph (px; more on the right: labels go right of their node),
// and at most this
// many pixels per layout unit, so a small graph (2 hosts) sits in the middle instead of
// being stretched to the edges (1 layout cell = 1000 units -> 300 px).
export const FIT_PAD = { x: 70, y: 70, right: 100 };
export const FIT_MAX_PX_PER_UNIT = 0.3;
// Selection: at least this many layout units visible across the smaller side, so a
// selected node never fills the screen alone.
export const FOCUS_MIN_SPAN = 150;
// Draw every label when so few nodes are drawn; sigma's density culling above.
export const FEW_NODES = 300;

// {x1, y1, x2, y2} of points {x, y} (null when none).
export function extentOf(points) {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const p of points) {
    if (!p || !Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    if (p.x < x1) x1 = p.x;
    if (p.x > x2) x2 = p.x;
    if (p.y < y1) y1 = p.y;
    if (p.y > y2) y2 = p.y;
  }
  return x1 === Infinity ? null : { x1, y1, x2, y2 };
}

// Framed units per layout unit for sigma's bounding box {x:[a,b], y:[c,d]}.
export function framedPerUnit(bbox) {
  const m = Math.max(bbox.x[1] - bbox.x[0], bbox.y[1] - bbox.y[0]);
  return m > 0 && Number.isFinite(m) ? 1 / m : 1;
}

// The framed extent of sigma's bounding box (what sigma's normalisation makes of it).
export function framedBBox(bbox) {
  const f = framedPerUnit(bbox);
  const w = (bbox.x[1] - bbox.x[0]) * f, h = (bbox.y[1] - bbox.y[0]) * f;
  return { x1: 0.5 - w / 2, y1: 0.5 - h / 2, x2: 0.5 + w / 2, y2: 0.5 + h / 2 };
}

// Camera {x, y, ratio} showing ext (framed units) inside the viewport W x H less the pads,
// zoomed in no further than maxPx pixels per framed unit and than minSpan framed units
// across the smaller side; ratio clamped to [minRatio, maxRatio].
export function cameraFor(ext, o) {
  const { W, H, kx, ky } = o;
  const pad = o.pad || { x: 0, y: 0 };
  const right = Math.min(pad.right || 0, W * 0.2); // room for the labels of the right-most nodes
  const y = (ext.y1 + ext.y2) / 2;
  const aw = Math.max(W * 0.25, W - 2 * pad.x - right), ah = Math.max(H * 0.25, H - 2 * pad.y);
  let ratio = Math.max(((ext.x2 - ext.x1) * kx) / aw, ((ext.y2 - ext.y1) * ky) / ah);
  if (o.maxPx) ratio = Math.max(ratio, Math.max(kx, ky) / o.maxPx);
  if (o.minSpan) ratio = Math.max(ratio, Math.max((o.minSpan * kx) / W, (o.minSpan * ky) / H));
  if (!Number.isFinite(ratio) || ratio <= 0) ratio = 1;
  ratio = Math.min(o.maxRatio ?? Infinity, Math.max(o.minRatio ?? 0, ratio));
  // the extent centred in the viewport less the right room: the camera looks right of it
  const x = (ext.x1 + ext.x2) / 2 + ((right / 2) * ratio) / kx;
  return { x, y, ratio };
}

// What framing a selection shows: the selected nodes, their drawn neighbours, and their
// group (the drawn parent and its drawn children) for context. g: {has(id),
// neighbors(id) -> ids, parent(id) -> id|undefined, children(id) -> ids}; limit caps the
// siblings taken per group (a host of thousands is framed by its parent and neighbours).
export function focusSet(ids, g, limit = 400) {
  const out = new Set();
  for (const id of ids) {
    if (!g.has(id)) continue;
    out.add(id);
    for (const n of g.neighbors(id)) out.add(n);
    const p = g.parent(id);
    if (p != null && g.has(p)) {
      out.add(p);
      const ch = g.children(p);
      if (ch.length <= limit) for (const c of ch) if (g.has(c)) out.add(c);
    }
  }
  return [...out];
}

// Is a point (viewport px) inside the viewport less a margin?
export function inViewport(p, W, H, margin = 0) {
  return !!p && p.x >= margin && p.y >= margin && p.x <= W - margin && p.y <= H - margin;
}

// Two camera states equal (to rounding): the camera has not moved since a framing.
export function sameCamera(a, b, eps = 1e-6) {
  if (!a || !b) return false;
  const r = Math.max(Math.abs(a.ratio), Math.abs(b.ratio), 1e-9);
  return Math.abs(a.x - b.x) <= eps + 1e-4 * r && Math.abs(a.y - b.y) <= eps + 1e-4 * r
    && Math.abs(a.ratio - b.ratio) <= 1e-4 * r && Math.abs((a.angle || 0) - (b.angle || 0)) <= 1e-6;
}

// A layout point {x, y} in framed units for sigma's bounding box (its normalisation).
export function toFramed(bbox, p) {
  const f = framedPerUnit(bbox);
  return { x: 0.5 + (p.x - (bbox.x[0] + bbox.x[1]) / 2) * f, y: 0.5 + (p.y - (bbox.y[0] + bbox.y[1]) / 2) * f };
}
