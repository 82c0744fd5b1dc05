// Unit tests of graph/framing.js: where the camera goes on a fit and on a selection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  extentOf, framedPerUnit, framedBBox, cameraFor, focusSet, inViewport, sameCamera, toFramed,
  FIT_PAD, FIT_MAX_PX_PER_UNIT, FOCUS_MIN_SPAN,
} from '../src/graph/framing.js';

const near = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);
// A 1400 x 850 viewport whose framed unit is 730 px at ratio 1 (sigma: min side - 2*60).
const VIEW = { W: 1400, H: 850, kx: 730, ky: 730 };

test('extentOf skips missing and non-finite points', () => {
  assert.equal(extentOf([]), null);
  assert.equal(extentOf([undefined, { x: NaN, y: 1 }]), null);
  assert.deepEqual(extentOf([{ x: 1, y: 5 }, null, { x: -2, y: 3 }, { x: 0, y: 9 }]), { x1: -2, y1: 3, x2: 1, y2: 9 });
});

test('framedBBox is what sigma normalises a bounding box to', () => {
  // Two hosts 1500 apart on one row: [0, 1] x [0.5, 0.5].
  const bb = { x: [0, 1500], y: [0, 0] };
  near(framedPerUnit(bb), 1 / 1500);
  assert.deepEqual(framedBBox(bb), { x1: 0, y1: 0.5, x2: 1, y2: 0.5 });
  const tall = framedBBox({ x: [0, 500], y: [-1000, 1000] });
  near(tall.x1, 0.375); near(tall.x2, 0.625); near(tall.y1, 0); near(tall.y2, 1);
  assert.equal(framedPerUnit({ x: [3, 3], y: [4, 4] }), 1); // one node: no division by 0
});

test('fit: a big graph fills the viewport less the margins, centred', () => {
  const ext = { x1: 0, y1: 0.2, x2: 1, y2: 0.8 };
  const c = cameraFor(ext, { ...VIEW, pad: FIT_PAD });
  near(c.y, 0.5);
  // width is the constraint: 1 framed unit on W - 2*pad.x - pad.right pixels
  const aw = 1400 - 2 * FIT_PAD.x - FIT_PAD.right;
  near(c.ratio, 730 / aw);
  const wpx = (ext.x2 - ext.x1) * VIEW.kx / c.ratio, hpx = (ext.y2 - ext.y1) * VIEW.ky / c.ratio;
  assert.ok(wpx <= aw + 1e-6 && hpx <= 850 - 2 * FIT_PAD.y + 1e-6);
  // left edge at pad.x, right edge pad.x + pad.right from the viewport's right side
  const px = (fx) => 700 + ((fx - c.x) * VIEW.kx) / c.ratio;
  near(px(ext.x1), FIT_PAD.x, 1e-6);
  near(1400 - px(ext.x2), FIT_PAD.x + FIT_PAD.right, 1e-6);
});

test('fit: two hosts are not spread to the edges (bounded scale)', () => {
  const bb = { x: [0, 1500], y: [0, 0] };
  const f = framedPerUnit(bb);
  const c = cameraFor(framedBBox(bb), { ...VIEW, pad: FIT_PAD, maxPx: FIT_MAX_PX_PER_UNIT / f });
  const span = VIEW.kx / c.ratio; // pixels between the two hosts
  near(span, 1500 * FIT_MAX_PX_PER_UNIT, 1e-6);
  assert.ok(span < 1400 / 2, 'hosts sit in the middle half');
  const left = 700 + (0 - c.x) * span, right = 700 + (1 - c.x) * span;
  assert.ok(left > 300 && right < 1100, `${left} .. ${right}`);
  assert.ok(Math.abs((left + right) / 2 - 700) < 60, 'about centred');
});

test('focus: one node is never zoomed onto alone (minimum span)', () => {
  const f = 1 / 3000;
  const c = cameraFor({ x1: 0.3, y1: 0.4, x2: 0.3, y2: 0.4 }, { ...VIEW, pad: FIT_PAD, minSpan: FOCUS_MIN_SPAN * f, minRatio: 0.005, maxRatio: 20 });
  near(c.y, 0.4);
  const sx = 700 + ((0.3 - c.x) * VIEW.kx) / c.ratio; // a little left of the centre (label room)
  assert.ok(sx < 700 && sx > 550, `${sx}`);
  // the smaller side shows at least FOCUS_MIN_SPAN layout units
  const visible = Math.min((1400 * c.ratio) / VIEW.kx, (850 * c.ratio) / VIEW.ky) / f;
  assert.ok(visible >= FOCUS_MIN_SPAN - 1e-6, `${visible}`);
  // a wider selection is framed whole
  const w = cameraFor({ x1: 0, y1: 0.5, x2: 0.5, y2: 0.5 }, { ...VIEW, pad: FIT_PAD, minSpan: FOCUS_MIN_SPAN * f });
  assert.ok((0.5 * VIEW.kx) / w.ratio <= 1400 - 2 * FIT_PAD.x - FIT_PAD.right + 1e-6);
});

test('cameraFor clamps the ratio and survives a degenerate viewport', () => {
  const c = cameraFor({ x1: 0, y1: 0, x2: 0, y2: 0 }, { W: 1, H: 1, kx: 1, ky: 1, minRatio: 0.01, maxRatio: 20 });
  assert.ok(c.ratio >= 0.01 && c.ratio <= 20);
  const big = cameraFor({ x1: -500, y1: 0, x2: 500, y2: 0 }, { ...VIEW, maxRatio: 20 });
  assert.equal(big.ratio, 20);
});

test('focusSet: selection, neighbours, group and siblings, drawn ones only', () => {
  const drawn = new Set(['h1', 'a', 'b', 'c', 'h2', 'x']);
  const nb = { a: ['h1', 'x'], x: ['a', 'h2'], h1: ['a', 'b', 'c'] };
  const par = { a: 'h1', b: 'h1', c: 'h1', x: 'h2', hidden: 'h1' };
  const ch = { h1: ['a', 'b', 'c', 'hidden'], h2: ['x'] };
  const g = {
    has: (id) => drawn.has(id), neighbors: (id) => nb[id] || [],
    parent: (id) => par[id], children: (id) => ch[id] || [],
  };
  assert.deepEqual(focusSet(['a'], g).sort(), ['a', 'b', 'c', 'h1', 'x']);
  assert.deepEqual(focusSet(['x', 'nope'], g).sort(), ['a', 'h2', 'x']);
  // siblings skipped past the limit: parent and neighbours stay
  assert.deepEqual(focusSet(['a'], g, 2).sort(), ['a', 'h1', 'x']);
  assert.deepEqual(focusSet([], g), []);
});

test('inViewport and sameCamera', () => {
  assert.ok(inViewport({ x: 10, y: 10 }, 100, 100));
  assert.ok(!inViewport({ x: 10, y: 10 }, 100, 100, 20));
  assert.ok(!inViewport({ x: 101, y: 50 }, 100, 100));
  assert.ok(!inViewport(undefined, 100, 100));
  const s = { x: 0.5, y: 0.5, ratio: 1.2, angle: 0 };
  assert.ok(sameCamera(s, { ...s }));
  assert.ok(sameCamera(s, { ...s, x: 0.5 + 1e-8 }));
  assert.ok(!sameCamera(s, { ...s, x: 0.52 }));
  assert.ok(!sameCamera(s, { ...s, ratio: 0.9 }));
  assert.ok(!sameCamera(null, s));
});

test('toFramed is sigma\'s normalisation of a layout point', () => {
  const bb = { x: [0, 1500], y: [0, 0] };
  assert.deepEqual(toFramed(bb, { x: 0, y: 0 }), { x: 0, y: 0.5 });
  assert.deepEqual(toFramed(bb, { x: 1500, y: 0 }), { x: 1, y: 0.5 });
  const p = toFramed(bb, { x: -300, y: 750 });
  near(p.x, -0.2); near(p.y, 1);
});
