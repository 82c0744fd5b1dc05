// filterError.js - the filter box's error excerpt: the filter split around the position
// the analyzer gave (SyncReply Status 400, Obj.Position). Pure: no browser API.

// [before, at, after] with the text around cut to max characters (null without a
// position); `at` is a space when the position is past the end (a missing token).
export function errorExcerpt(filter, pos, max = 40) {
  if (pos == null || !Number.isInteger(pos) || pos < 0 || filter == null) return null;
  const f = String(filter);
  const p = Math.min(pos, f.length);
  let before = f.slice(0, p);
  if (before.length > max) before = `…${before.slice(-max)}`;
  let after = f.slice(p + 1);
  if (after.length > max) after = `${after.slice(0, max)}…`;
  return [before, f.charAt(p) || ' ', after];
}
