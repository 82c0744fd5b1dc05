// timeTravel.js - the time slider's logic: the range of history the analyzer holds
// (GET /api/status Topology.HistoryOldest .. now), slider position ↔ time, labels.
// Pure: no browser API.
import { formatTime } from './flows.js';

export const SLIDER_STEPS = 1000;

// Flow windows offered (seconds): the flows shown are those seen in [time - w, time].
export const WINDOWS = [
  { value: 10, label: '10 s' }, { value: 60, label: '1 min' }, { value: 300, label: '5 min' },
  { value: 900, label: '15 min' }, { value: 3600, label: '1 h' },
];

// {min, max} in ms. Without HistoryOldest, HistoryMaxAge back from now (else 1 h).
export function historyRange(status, now) {
  const t = (status && status.Topology) || {};
  let min = Number(t.HistoryOldest) || 0;
  if (!min || min > now) min = now - (Number(t.HistoryMaxAge) || 3600000);
  if (now - min < 1000) min = now - 1000;
  return { min, max: now };
}

export function timeToSlider(time, range) {
  if (time == null) return SLIDER_STEPS;
  const span = range.max - range.min;
  if (span <= 0) return SLIDER_STEPS;
  const v = Math.round(((time - range.min) / span) * SLIDER_STEPS);
  return Math.min(SLIDER_STEPS, Math.max(0, v));
}

// Slider position → ms (whole seconds); the right end is null (live).
export function sliderToTime(v, range) {
  v = Number(v);
  if (v >= SLIDER_STEPS) return null;
  const t = range.min + ((range.max - range.min) * Math.max(0, v)) / SLIDER_STEPS;
  return Math.floor(t / 1000) * 1000;
}

// "3 min 20 s ago"
export function agoText(time, now) {
  let s = Math.max(0, Math.round((now - time) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  s %= 60;
  if (m < 60) return s ? `${m} min ${s} s ago` : `${m} min ago`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min ago`;
}

export function timeLabel(time, now) {
  if (time == null) return 'Live';
  return `${formatTime(time, now).replace(/\.\d{3}$/, '')} (${agoText(time, now)})`;
}
