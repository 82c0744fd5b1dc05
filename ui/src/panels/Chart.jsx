// Chart.jsx - interface counter rates of a node (uPlot), fed from the model's
// node-updated events. Samples are kept per node while the page lives, so reopening a
// node shows what was already seen.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatBytes, formatCount } from '../lib/flows.js';

const MAX_SAMPLES = 180;
const samples = new Map(); // node ID -> [{t, rxp, txp, rxb, txb}]
let collecting = null;

// One sample from a node's metrics: rates over LastUpdateMetric's window when it has
// one, else the difference from the previous cumulative Metric.
export function sampleOf(node, prev) {
  const md = node && node.Metadata;
  if (!md) return null;
  const lu = md.LastUpdateMetric;
  const m = md.Metric;
  if (lu && lu.Last && lu.Start && lu.Last > lu.Start) {
    const dt = (lu.Last - lu.Start) / 1000;
    return { t: lu.Last / 1000, rxp: (lu.RxPackets || 0) / dt, txp: (lu.TxPackets || 0) / dt,
      rxb: (lu.RxBytes || 0) / dt, txb: (lu.TxBytes || 0) / dt, cum: m };
  }
  if (m && m.Last && prev && prev.cum && prev.cum.Last && m.Last > prev.cum.Last) {
    const dt = (m.Last - prev.cum.Last) / 1000;
    const d = (k) => Math.max(0, (m[k] || 0) - (prev.cum[k] || 0)) / dt;
    return { t: m.Last / 1000, rxp: d('RxPackets'), txp: d('TxPackets'), rxb: d('RxBytes'), txb: d('TxBytes'), cum: m };
  }
  if (m && m.Last) return { t: m.Last / 1000, cum: m, seed: true };
  return null;
}

function record(node) {
  if (!node || !node.Metadata || (!node.Metadata.Metric && !node.Metadata.LastUpdateMetric)) return;
  let list = samples.get(node.ID);
  if (!list) samples.set(node.ID, (list = []));
  const prev = list[list.length - 1];
  const s = sampleOf(node, prev);
  if (!s || (prev && s.t <= prev.t)) return;
  if (s.seed && prev) return;
  list.push(s);
  if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES);
}

export function startCollecting(model) {
  if (collecting) return;
  collecting = model.on((ev) => {
    if (ev.type === 'node-added' || ev.type === 'node-updated') record(ev.node);
    else if (ev.type === 'node-deleted') samples.delete(ev.node.ID);
    else if (ev.type === 'reset') for (const n of model.nodes.values()) record(n);
  });
  for (const n of model.nodes.values()) record(n);
}

export function feedSample(node) { record(node); }

function data(id) {
  const list = (samples.get(id) || []).filter((s) => !s.seed);
  return [list.map((s) => s.t), list.map((s) => s.rxb), list.map((s) => s.txb), list.map((s) => s.rxp), list.map((s) => s.txp)];
}

// The agent sends interface counters every agent.topology.netlink.metrics_update seconds
// (30 by default): the chart needs two updates, so until then a one-line note stands in
// for it (the totals table below is shown at once).
export function CounterChart({ node, revision }) {
  const el = useRef(null);
  const plot = useRef(null);
  const id = node && node.ID;
  const n = (samples.get(id) || []).filter((s) => !s.seed).length;
  const ready = n >= 2;
  useEffect(() => {
    if (!ready || !el.current) return undefined;
    const width = Math.max(200, el.current.clientWidth || 340);
    const bytesFmt = (u, vals) => vals.map((v) => (v == null ? '' : `${formatBytes(v)}/s`));
    const pktFmt = (u, vals) => vals.map((v) => (v == null ? '' : `${v < 10 ? +v.toFixed(1) : formatCount(Math.round(v))}/s`));
    plot.current = new uPlot({
      width, height: 150,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, B: { auto: true, range: (u, mn, mx) => [0, Math.max(mx, 1) * 1.1] }, P: { auto: true, range: (u, mn, mx) => [0, Math.max(mx, 1) * 1.1] } },
      series: [
        {},
        { label: 'Rx bytes', scale: 'B', stroke: '#2b7bb9', width: 1.5, value: (u, v) => (v == null ? '-' : `${formatBytes(v)}/s`) },
        { label: 'Tx bytes', scale: 'B', stroke: '#2e9d5b', width: 1.5, value: (u, v) => (v == null ? '-' : `${formatBytes(v)}/s`) },
        { label: 'Rx pkts', scale: 'P', stroke: '#2b7bb9', dash: [4, 3], width: 1, value: (u, v) => (v == null ? '-' : `${v.toFixed(1)}/s`) },
        { label: 'Tx pkts', scale: 'P', stroke: '#2e9d5b', dash: [4, 3], width: 1, value: (u, v) => (v == null ? '-' : `${v.toFixed(1)}/s`) },
      ],
      axes: [
        { size: 28, font: '10px system-ui', stroke: '#6b7385', grid: { stroke: '#eef0f4' } },
        { scale: 'B', values: bytesFmt, size: 64, font: '10px system-ui', stroke: '#6b7385', grid: { stroke: '#eef0f4' } },
        { scale: 'P', side: 1, values: pktFmt, size: 50, font: '10px system-ui', stroke: '#6b7385', grid: { show: false } },
      ],
    }, data(id), el.current);
    // follow the panel's width (it can be resized)
    let ro = null;
    if (typeof ResizeObserver !== 'undefined') {
      let last = width;
      ro = new ResizeObserver(() => {
        const w = Math.max(200, (el.current && el.current.clientWidth) || 0);
        if (plot.current && w && Math.abs(w - last) > 4) { last = w; plot.current.setSize({ width: w, height: 150 }); }
      });
      ro.observe(el.current);
    }
    return () => { if (ro) ro.disconnect(); if (plot.current) plot.current.destroy(); plot.current = null; };
  }, [id, ready]);
  useEffect(() => { if (plot.current) plot.current.setData(data(id)); }, [id, revision, n]);
  return (
    <div class={`chart-wrap ${ready ? '' : 'empty'}`} data-testid="node-chart" data-samples={n}>
      {ready ? <div ref={el} class="chart" />
        : (
          <div class="chart-empty" title="the agent sends interface counters every agent.topology.netlink.metrics_update seconds (agent configuration; 30 by default)">
            Rate chart: {n ? 'one counter update so far, waiting for the next' : 'waiting for counter updates'}
            {' '}(the agent sends them every <span class="mono">agent.topology.netlink.metrics_update</span> s, 30 by default)
          </div>
        )}
    </div>
  );
}
