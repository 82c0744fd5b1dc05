// TimeTravel.jsx - in the top bar: a slider over the history the analyzer holds
// (GET /api/status Topology.HistoryOldest .. now) and a flow window; moving it sets
// store.time (ms), "Live" sets it back to null.
import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api.js';
import * as store from '../store.js';
import { useStore } from '../lib/useStore.js';
import { historyRange, sliderToTime, timeToSlider, timeLabel, WINDOWS, SLIDER_STEPS } from '../lib/timeTravel.js';

export function TimeTravel() {
  const s = useStore(['time', 'window']);
  const [range, setRange] = useState(() => historyRange(null, Date.now()));
  const [drag, setDrag] = useState(null); // slider value while dragging
  const [, tick] = useState(0);
  const commitTimer = useRef(null);

  useEffect(() => {
    let stop = false;
    let timer;
    const load = async () => {
      try {
        const st = await api.get('/api/status');
        if (!stop) setRange(historyRange(st, Date.now()));
      } catch (_) { if (!stop) setRange((r) => ({ ...r, max: Date.now() })); }
      if (!stop) timer = setTimeout(load, 10000);
    };
    load();
    const clock = setInterval(() => { setRange((r) => ({ ...r, max: Date.now() })); tick((n) => n + 1); }, 1000);
    return () => { stop = true; clearTimeout(timer); clearInterval(clock); };
  }, []);

  const live = s.time == null;
  const value = drag != null ? drag : timeToSlider(s.time, range);
  const shown = drag != null ? sliderToTime(drag, range) : s.time;
  const commit = (v) => { clearTimeout(commitTimer.current); setDrag(null); store.set({ time: sliderToTime(v, range) }); };
  // dragging: the topology follows once the slider rests
  const onInput = (v) => { setDrag(v); clearTimeout(commitTimer.current); commitTimer.current = setTimeout(() => commit(v), 400); };
  return (
    <div class={`time-travel ${live ? 'live' : 'past'}`} data-testid="time-travel" data-time={s.time ?? ''}>
      <input type="range" class="time-slider" data-testid="time-slider" min={0} max={SLIDER_STEPS} step={1} value={value}
        title={`history held: since ${new Date(range.min).toLocaleString()}`}
        onInput={(e) => onInput(Number(e.currentTarget.value))}
        onChange={(e) => commit(Number(e.currentTarget.value))} />
      {shown != null && (
        <span class="time-label" data-testid="time-label" title={new Date(shown).toString()}>{timeLabel(shown, Date.now())}</span>
      )}
      {!live && (
        <select class="time-window" value={s.window} title="flows shown: those seen in this window before the time"
          onChange={(e) => store.set({ window: Number(e.currentTarget.value) })} data-testid="time-window">
          {WINDOWS.map((w) => <option key={w.value} value={w.value}>flows: {w.label}</option>)}
        </select>
      )}
      <button class={`time-live ${live ? 'on' : ''}`} data-testid="time-live" disabled={live}
        title={live ? 'showing the live topology' : 'back to the live topology'}
        onClick={() => { clearTimeout(commitTimer.current); setDrag(null); store.set({ time: null }); }}>{live && <span class="live-dot" />}Live</button>
    </div>
  );
}
