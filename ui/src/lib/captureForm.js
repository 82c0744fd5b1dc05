// captureForm.js - the capture form's logic: the Gremlin query prefilled from a selection,
// the capture types a node type allows (as the analyzer's capture_types_for_node), form
// values → the POST /api/capture body and headers, and which field an analyzer 400
// reason concerns. Pure: no browser API.
import { quote } from './flows.js';

export const CAPTURE_TYPES = ['afpacket', 'pcap', 'pcapsocket', 'sflow', 'ovssflow', 'ovsmirror',
  'ovsnetflow', 'ebpf', 'dpdk'];

export const TYPE_HELP = {
  afpacket: 'AF_PACKET socket (default for interfaces)',
  pcap: 'libpcap',
  pcapsocket: 'listens for pcap streams on the agent (tcpdump -w - | nc)',
  sflow: 'sFlow collector',
  ovssflow: 'Open vSwitch sFlow (default for ovsbridge)',
  ovsmirror: 'Open vSwitch port mirror (default for ovsport)',
  ovsnetflow: 'Open vSwitch NetFlow',
  ebpf: 'in-kernel flow table (no BPF filter, no raw packets)',
  dpdk: 'DPDK port',
};

const GENERIC = ['internal', 'veth', 'tun', 'bridge', 'dummy', 'gre', 'bond', 'can', 'hsr', 'ifb',
  'macvlan', 'macvtap', 'vlan', 'vxlan', 'gretap', 'ip6gretap', 'geneve', 'ipoib', 'vcan', 'ipip',
  'ipvlan', 'lowpan', 'ip6tnl', 'ip6gre', 'sit', 'device'];

// Types allowed on a node type, its default first; null when it cannot be captured.
export function typesForNodeType(t) {
  if (t === 'ovsbridge') return ['ovssflow', 'pcapsocket', 'ovsnetflow'];
  if (t === 'ovsport') return ['ovsmirror'];
  if (t === 'dpdkport') return ['dpdk'];
  if (GENERIC.includes(t)) return ['afpacket', 'pcap', 'pcapsocket', 'sflow', 'ebpf'];
  return null;
}

// Type choices for a set of node types: [{value, label}]. Types every capturable node
// allows (else those any allows), the first node type's default first. '' (each node's
// default) leads when the types differ or none is known.
export function typeOptions(nodeTypes) {
  const lists = [...new Set(nodeTypes || [])].map(typesForNodeType).filter(Boolean);
  const opt = (v) => ({ value: v, label: v, help: TYPE_HELP[v] });
  if (!lists.length) {
    return [{ value: '', label: 'default of each node type' }, ...CAPTURE_TYPES.map(opt)];
  }
  let types = lists[0].filter((t) => lists.every((l) => l.includes(t)));
  if (!types.length) types = [...new Set(lists.flat())];
  const defaults = new Set(lists.map((l) => l[0]));
  const out = types.map(opt);
  if (defaults.size > 1) out.unshift({ value: '', label: 'default of each node type' });
  else out[0].label = `${out[0].value} (default)`;
  return out;
}

// Gremlin query for the selected nodes: by TID when every node has one (stable across
// agent restarts, as Skydive's UI), else by ID.
export function gremlinForNodes(nodes) {
  const list = (nodes || []).filter(Boolean);
  if (!list.length) return '';
  const tids = list.map((n) => n.Metadata && n.Metadata.TID);
  if (tids.every(Boolean)) {
    const uniq = [...new Set(tids)];
    return uniq.length === 1 ? `G.V().Has('TID', ${quote(uniq[0])})`
      : `G.V().Has('TID', Within(${uniq.map(quote).join(', ')}))`;
  }
  return `G.V(${[...new Set(list.map((n) => n.ID))].map(quote).join(', ')})`;
}

// A name for the capture from the selection, e.g. "eth0 capture" or "eth0, eth1 capture".
export function nameForNodes(nodes) {
  const names = (nodes || []).map((n) => n && n.Metadata && n.Metadata.Name).filter(Boolean);
  if (!names.length) return '';
  const s = names.length > 3 ? `${names.slice(0, 3).join(', ')} +${names.length - 3}` : names.join(', ');
  return `${s} capture`;
}

export const EXTRA_LAYERS = ['DNS', 'DHCPv4', 'VRRP'];

// Every field of the form (strings for text inputs, booleans, ExtraLayers an array).
export function emptyForm() {
  return {
    GremlinQuery: '', Name: '', Description: '', BPFFilter: '', Type: '',
    RawPacketLimit: '', HeaderSize: '', SamplingRate: '', PollingInterval: '', Port: '',
    LayerKeyMode: '', ExtraTCPMetric: false, IPDefrag: false, ReassembleTCP: false,
    ExtraLayers: [], Target: '', TargetType: '', TTL: '',
  };
}

const INT_FIELDS = {
  RawPacketLimit: [-1, Number.MAX_SAFE_INTEGER, '-1 (every packet), 0 (none) or a positive count'],
  HeaderSize: [0, 65535, '0 (256 bytes) or 14..65535'],
  SamplingRate: [0, 4294967295, '0..4294967295'],
  PollingInterval: [0, 4294967295, '0..4294967295 seconds'],
  Port: [0, 65535, '0..65535'],
};

// Go duration (30s, 5m, 1h30m, 1.5h) or a number of milliseconds, as the analyzer reads it.
export function validTTL(s) {
  s = String(s || '').trim();
  if (!s) return true;
  return /^\d+$/.test(s) || /^\+?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/.test(s) || s === '0';
}

// Form values → {body, headers, errors}. Empty fields are left out (the analyzer's
// defaults apply); errors: {field: message} for what is surely wrong before sending.
export function buildCaptureRequest(v) {
  const errors = {};
  const body = {};
  const str = (k) => String(v[k] ?? '').trim();
  if (!str('GremlinQuery')) errors.GremlinQuery = 'required: the nodes to capture on, e.g. G.V().Has(\'Name\', \'eth0\')';
  else body.GremlinQuery = str('GremlinQuery');
  for (const k of ['Name', 'Description', 'BPFFilter', 'Type', 'LayerKeyMode', 'Target', 'TargetType']) {
    const s = k === 'Description' ? String(v[k] ?? '') : str(k);
    if (s.trim()) body[k] = s;
  }
  for (const [k, [lo, hi, expect]] of Object.entries(INT_FIELDS)) {
    const s = str(k);
    if (!s) continue;
    if (!/^-?\d+$/.test(s)) { errors[k] = `an integer: ${expect}`; continue; }
    const n = Number(s);
    if (n < lo || n > hi || (k === 'HeaderSize' && n !== 0 && n < 14)) { errors[k] = `out of range: ${expect}`; continue; }
    body[k] = n;
  }
  for (const k of ['ExtraTCPMetric', 'IPDefrag', 'ReassembleTCP']) if (v[k]) body[k] = true;
  const layers = (v.ExtraLayers || []).filter((l) => EXTRA_LAYERS.includes(l));
  if (layers.length) body.ExtraLayers = layers;
  if (body.Target && !/^(\[[^\]]+\]|[^:\s]+):\d+$/.test(body.Target)) errors.Target = 'HOST:PORT, e.g. 192.0.2.10:2055';
  if (body.Type === 'ebpf' && body.BPFFilter) errors.BPFFilter = 'an ebpf capture takes no BPF filter: remove it, or use afpacket or pcap';
  const headers = {};
  const ttl = str('TTL');
  if (ttl) {
    if (!validTTL(ttl)) errors.TTL = 'a duration such as 30s, 5m or 1h30m (or milliseconds)';
    else headers['X-Resource-TTL'] = ttl;
  }
  return { body, headers, errors };
}

// The form field an analyzer 400/409 reason concerns, or null (shown above the form).
const FIELD_RULES = [
  [/X-Resource-TTL/i, 'TTL'],
  [/\bGremlinQuery\b|\bGremlin\b/i, 'GremlinQuery'],
  [/ebpf does not (take|support) a BPF ?Filter/i, 'BPFFilter'],
  [/\bBPF ?Filter\b|invalid BPF filter/i, 'BPFFilter'],
  [/capture type|unknown capture type|\bType\b '/i, 'Type'],
  [/\bHeaderSize\b/, 'HeaderSize'],
  [/\bRawPacketLimit\b/, 'RawPacketLimit'],
  [/\bSamplingRate\b/, 'SamplingRate'],
  [/\bPollingInterval\b/, 'PollingInterval'],
  [/\bLayerKeyMode\b/, 'LayerKeyMode'],
  [/\bExtraLayers\b/, 'ExtraLayers'],
  [/\bTargetType\b/, 'TargetType'],
  [/\bTarget\b/, 'Target'],
  [/\bPort\b/, 'Port'],
  [/\bExtraTCPMetric\b/, 'ExtraTCPMetric'],
  [/\bIPDefrag\b/, 'IPDefrag'],
  [/\bReassembleTCP\b/, 'ReassembleTCP'],
  [/\bName\b/, 'Name'],
  [/\bDescription\b/, 'Description'],
];

export function fieldForError(message) {
  const m = String(message || '');
  if (/already has the same settings/i.test(m)) return null;
  for (const [re, f] of FIELD_RULES) if (re.test(m)) return f;
  return null;
}

// An ApiError-like {status, message, position} → {field, message, position}.
export function captureErrorInfo(err) {
  const message = (err && err.message) || String(err);
  let position = err && Number.isInteger(err.position) ? err.position : null;
  if (position == null) {
    const m = /\b(?:position|character|offset)\s+(\d+)/i.exec(message);
    if (m) position = Number(m[1]);
  }
  const field = fieldForError(message);
  return { field, message, position: field === 'GremlinQuery' ? position : null };
}

// A TTL as the analyzer reads it → ms (null when invalid or empty).
export function ttlToMs(s) {
  s = String(s || '').trim();
  if (!s || !validTTL(s)) return null;
  if (/^\d+$/.test(s)) return Number(s);
  const units = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  let ms = 0;
  for (const m of s.replace(/^\+/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) ms += Number(m[1]) * units[m[2]];
  return Math.ceil(ms);
}
