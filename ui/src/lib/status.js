// status.js - the status page's logic: every loss counter the analyzer and the agents
// report (GET /api/status, the nodes' Captures and interface metrics), agents and
// their links, captures per node. Pure: no browser API.

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

// Known counters of /api/status: [path, label, help, severity]. 'loss' = data lost;
// 'info' = by design (retention), shown but not alarming.
const STATUS_COUNTERS = [
  ['WebSocket.SlowClientsDisconnected', 'Slow subscribers disconnected', 'a subscriber\'s send queue (http.ws.queue_size) overflowed', 'loss'],
  ['WebSocket.InvalidMessages', 'Invalid WebSocket messages', 'graph messages from agents/publishers that could not be applied', 'loss'],
  ['Agent.Dropped', 'Agent topology messages dropped', 'the local agent\'s queue to the analyzer was full', 'loss'],
  ['Agent.FlowMessagesDropped', 'Agent flow messages dropped', 'the local agent\'s flow send queue to the analyzer was full', 'loss'],
  ['Flows.DroppedMaxFlows', 'Flow store eviction (full)', 'oldest flows dropped: analyzer.flow.max_flows reached', 'loss'],
  ['Flows.DroppedAge', 'Flow store eviction (age)', 'flows older than analyzer.flow.max_age dropped', 'info'],
  ['Flows.RawDropped', 'Raw packets refused (store)', 'raw packet bytes over analyzer.flow.raw_max_bytes', 'loss'],
  ['Captures.Dispatch.SendFailed', 'Capture starts/stops not sent', 'the agent link failed', 'loss'],
  ['Captures.Dispatch.ErrorReplies', 'Capture start errors', 'agents answered a Start with an error', 'loss'],
  ['Captures.Dispatch.StopErrors', 'Capture stop errors', 'agents answered a Stop with an error', 'loss'],
  ['Flows.IngestQueue.Dropped', 'Flow frames dropped (ingest queue)', 'agents\' flow frames over analyzer.flow_queue / flow_queue_bytes: lost', 'loss'],
  ['Flows.Storage.DroppedFlows', 'Flow states not written (disk)', 'a write of the flow log failed (disk full?)', 'loss'],
  ['Flows.Storage.DroppedRaw', 'Raw packets not written (disk)', 'a write of the flow log failed (disk full?)', 'loss'],
  ['Flows.Storage.WriteErrors', 'Flow log write errors', 'see the analyzer\'s log for the file and error', 'loss'],
  ['Flows.Storage.CorruptBlocks', 'Flow log blocks skipped (corrupt)', 'found at start; the analyzer\'s log names file and offset', 'loss'],
  ['Flows.Storage.EvictedRecords', 'Flow log retention', 'oldest segments removed: analyzer.storage.max_bytes / max_age', 'info'],
  ['GraphWriter.Overflows', 'Graph messages refused (writer queue)', 'analyzer.graph_queue full: the sender was closed and resyncs', 'loss'],
  ['Queries.Refused', 'Queries refused (busy)', 'analyzer.query_queue full: answered 503', 'loss'],
  ['TopologyHistory.Dropped', 'Topology history not written (disk)', 'a write of the topology log failed', 'loss'],
];

const FLOWSTATS_COUNTERS = [
  ['DecodeErrors', 'Flow messages undecodable', 'frames on /ws/agent/flow that are not a flow.Message', 'loss'],
  ['Errors', 'Flow ingest errors', '', 'loss'],
  ['FlowsRejected', 'Flows rejected', 'flows without a hex UUID', 'loss'],
  ['RawPacketsRejected', 'Raw packets refused', 'raw packets the store refused', 'loss'],
];
const FLOWSTATS_CAPTURE_COUNTERS = [
  ['FlowDropped', 'Flow table full', 'new flows the agent\'s flow table refused', 'loss'],
  ['KernelFlowDropped', 'Kernel flow map full (ebpf)', 'new flows the kernel map refused', 'loss'],
  ['PacketsDropped', 'Ring/kernel drops', 'packets the capture socket dropped', 'loss'],
];
const NODE_CAPTURE_COUNTERS = [
  ['PacketsDropped', 'Ring/kernel drops', 'packets dropped by the capture socket (ring full)', 'loss'],
  ['PacketsIfDropped', 'Interface drops (capture)', 'packets the interface dropped while captured', 'loss'],
  ['FlowMessagesDropped', 'Flow messages dropped (agent send queue)', 'flow messages the agent could not send to the analyzer in time', 'loss'],
  ['KernelFlowDropped', 'Kernel flow map full (ebpf)', '', 'loss'],
  ['StreamErrors', 'pcapsocket stream errors', 'streams closed: not pcap, truncated or corrupt', 'loss'],
];
const IF_COUNTERS = [
  ['RxDropped', 'Interface RX drops'], ['TxDropped', 'Interface TX drops'],
  ['RxErrors', 'Interface RX errors'], ['TxErrors', 'Interface TX errors'],
  ['RxMissedErrors', 'Interface RX missed'], ['RxFifoErrors', 'Interface RX FIFO errors'],
  ['TxFifoErrors', 'Interface TX FIFO errors'],
];

const LOSS_WORD = /(Drop|Reject|Error|Fail|Slow|Invalid|Lost|Overflow|Refus|Evict)/;

function at(obj, path) {
  return path.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj);
}

const nodeName = (n) => (n.Metadata && n.Metadata.Name) || n.ID;

// Loss counters: [{id, group, label, value, help, severity, details?:[{where, value}]}].
export function lossCounters(status, nodes) {
  const out = [];
  const seen = new Set();
  const add = (c) => { out.push(c); seen.add(c.id); };
  const s = status || {};
  for (const [path, label, help, severity] of STATUS_COUNTERS) {
    const v = at(s, path);
    if (v === undefined && path.startsWith('Agent.')) continue; // allinone only
    seen.add(path);
    add({ id: path, group: 'Analyzer', label, value: num(v), help, severity, missing: v === undefined });
  }
  // per agent flow link (FlowStats) and per capture there
  const fs = s.FlowStats || {};
  for (const [key, label, help, severity] of FLOWSTATS_COUNTERS) {
    const details = [];
    let total = 0;
    for (const [host, st] of Object.entries(fs)) {
      const v = num(st && st[key]);
      total += v;
      if (v) details.push({ where: host, value: v });
    }
    add({ id: `FlowStats.${key}`, group: 'Agent flow links', label, value: total, help, severity, details });
  }
  for (const [key, label, help, severity] of FLOWSTATS_CAPTURE_COUNTERS) {
    const details = [];
    let total = 0;
    for (const [host, st] of Object.entries(fs)) {
      for (const [cid, c] of Object.entries((st && st.Captures) || {})) {
        const v = num(c && c[key]);
        total += v;
        if (v) details.push({ where: `${host} / ${cid.slice(0, 8)}`, value: v });
      }
    }
    add({ id: `FlowStats.Captures.${key}`, group: 'Agent flow links', label: `${label} (agents' Stats)`, value: total, help, severity, details });
  }
  // the nodes' Captures metadata and interface counters
  const list = nodes ? [...nodes] : [];
  for (const [key, label, help, severity] of NODE_CAPTURE_COUNTERS) {
    const details = [];
    let total = 0;
    for (const n of list) {
      for (const c of (n.Metadata && Array.isArray(n.Metadata.Captures) ? n.Metadata.Captures : [])) {
        const v = num(c[key]);
        total += v;
        if (v) details.push({ where: `${nodeName(n)} / ${c.Name || String(c.ID || '').slice(0, 8)}`, value: v, node: n.ID });
      }
    }
    add({ id: `Node.Captures.${key}`, group: 'Captures on nodes', label, value: total, help, severity, details });
  }
  for (const [key, label] of IF_COUNTERS) {
    const details = [];
    let total = 0;
    for (const n of list) {
      const v = num(n.Metadata && n.Metadata.Metric && n.Metadata.Metric[key]);
      total += v;
      if (v) details.push({ where: `${nodeName(n)}${n.Host ? ` (${n.Host})` : ''}`, value: v, node: n.ID });
    }
    details.sort((a, b) => b.value - a.value);
    add({ id: `Node.Metric.${key}`, group: 'Interfaces', label, value: total, help: 'sum over every interface (netlink counters)', severity: 'info', details: details.slice(0, 20) });
  }
  // any other counter of /api/status named like a loss (added later by the analyzer)
  const walk = (o, path) => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) return;
    for (const [k, v] of Object.entries(o)) {
      const p = path ? `${path}.${k}` : k;
      if (p.startsWith('FlowStats')) continue;
      if (typeof v === 'number' && LOSS_WORD.test(k) && !seen.has(p) && !/^Flows\.Dropped$/.test(p)) {
        add({ id: p, group: 'Other', label: p, value: v, help: '', severity: 'loss' });
      } else if (typeof v === 'object') walk(v, p);
    }
  };
  walk(s, '');
  return out;
}

// Agents and the analyzer's other links: [{kind, id, host, addr, connectTime, type}].
export function links(status) {
  const out = [];
  const s = status || {};
  for (const [kind, key] of [['agent', 'Agents'], ['publisher', 'Publishers'], ['subscriber', 'Subscribers']]) {
    for (const [id, c] of Object.entries(s[key] || {})) {
      out.push({
        kind, id, host: c.RemoteHost || id, addr: c.Addr ? `${c.Addr}:${c.Port}` : '',
        connectTime: c.ConnectTime || '', type: c.RemoteServiceType || '', connected: c.IsConnected !== false,
      });
    }
  }
  for (const [dir, m] of Object.entries((s.Peers) || {})) {
    for (const [id, c] of Object.entries(m || {})) {
      out.push({ kind: `peer (${dir})`, id, host: (c && c.RemoteHost) || id, addr: c && c.Addr ? `${c.Addr}:${c.Port}` : '', connectTime: (c && c.ConnectTime) || '', type: 'analyzer', connected: true });
    }
  }
  return out;
}

// Captures per node: [{node, name, host, captures:[{ID, State, Type, Name, PacketsReceived,
// PacketsDropped, PacketsIfDropped, Error}]}] from the nodes' Captures metadata, sorted.
export function capturesPerNode(nodes) {
  const out = [];
  for (const n of nodes || []) {
    const caps = n.Metadata && Array.isArray(n.Metadata.Captures) ? n.Metadata.Captures : null;
    if (caps && caps.length) out.push({ node: n.ID, name: nodeName(n), host: n.Host || '', type: (n.Metadata && n.Metadata.Type) || '', captures: caps });
  }
  return out.sort((a, b) => a.host.localeCompare(b.host) || a.name.localeCompare(b.name));
}

// The dispatcher's view of a capture (status Captures[uuid].Nodes): counts by state.
export function dispatchSummary(status, uuid) {
  const c = status && status.Captures && status.Captures[uuid];
  if (!c || typeof c !== 'object' || !c.Nodes) return null;
  const counts = {};
  for (const st of Object.values(c.Nodes)) {
    const k = String(st).split(':')[0];
    counts[k] = (counts[k] || 0) + 1;
  }
  return { counts, error: c.Error || null, ignored: c.Ignored || 0, nodes: c.Nodes };
}
