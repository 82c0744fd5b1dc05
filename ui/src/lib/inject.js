// inject.js - the Inject tab's logic: form values → the POST /api/injectpacket body
// (Skydive's PacketInjection: Src, Dst, Type, Count, Interval, Payload, SrcIP, DstIP,
// SrcMAC, DstMAC, SrcPort, DstPort, ICMPID, Mode, TTL; docs/API.md "Packet injection"),
// which field an analyzer 400 reason concerns, and the Gremlin queries the tab runs.
// Pure: no browser API.

export const TYPES = ['icmp4', 'icmp6', 'tcp4', 'tcp6', 'udp4', 'udp6'];

// Gremlin string literal (quotes escaped), as api.gq.
function lit(s) {
  return `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

// The Src / Dst query of a node: by its TID (stable across agent restarts), else its ID.
export function nodeQuery(node) {
  if (!node) return '';
  const tid = node.Metadata && node.Metadata.TID;
  return tid ? `G.V().Has('TID', ${lit(tid)})` : `G.V(${lit(node.ID)})`;
}

export function emptyInjectForm(src = null, dst = null) {
  return {
    Src: nodeQuery(src), Dst: nodeQuery(dst), Type: 'icmp4', Count: '5', Interval: '100', Payload: '',
    SrcIP: '', DstIP: '', SrcMAC: '', DstMAC: '', SrcPort: '', DstPort: '', ICMPID: '', Mode: 'unique', TTL: '',
  };
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/;
const IPV6 = /^[0-9a-f:.]*:[0-9a-f:.]*(\/\d{1,3})?$/i;

// The analyzer's bounds, checked first so the user gets the hint before a round trip; the
// analyzer checks again and its reason wins. Returns { body, errors }.
export function buildInjectRequest(v) {
  const errors = {};
  const body = {};
  const str = (k) => String(v[k] == null ? '' : v[k]).trim();
  const src = str('Src');
  if (!src) errors.Src = 'a Gremlin query of the source interface, e.g. G.V().Has(\'Name\', \'eth0\'): select a node first';
  else if (!src.startsWith('G.')) errors.Src = 'a Gremlin query starting with G.';
  body.Src = src;
  const dst = str('Dst');
  if (dst && !dst.startsWith('G.')) errors.Dst = 'a Gremlin query starting with G.';
  if (dst) body.Dst = dst;
  if (!TYPES.includes(v.Type)) errors.Type = `one of ${TYPES.join(', ')}`;
  body.Type = v.Type;
  const v6 = /6$/.test(v.Type || '');
  const ints = [['Count', 1, 1000000], ['Interval', 0, 3600000], ['SrcPort', 0, 65535], ['DstPort', 0, 65535],
    ['ICMPID', 0, 65535], ['TTL', 0, 255]];
  for (const [k, min, max] of ints) {
    const s = str(k);
    if (!s) continue;
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < min || n > max) errors[k] = `a whole number from ${min} to ${max}`;
    else body[k] = n;
  }
  for (const k of ['SrcIP', 'DstIP']) {
    const s = str(k);
    if (!s) continue;
    if (!(v6 ? IPV6 : IPV4).test(s)) errors[k] = `an IPv${v6 ? 6 : 4} address (the Type is ${v.Type})`;
    body[k] = s;
  }
  for (const k of ['SrcMAC', 'DstMAC']) {
    const s = str(k);
    if (!s) continue;
    if (!MAC.test(s)) errors[k] = 'a MAC address such as 02:00:00:00:00:01';
    body[k] = s;
  }
  if (!dst && !str('DstIP')) errors.Dst = 'a destination node (its address and MAC) or a destination IP';
  if (str('Payload')) body.Payload = String(v.Payload);
  if (v.Mode === 'random') body.Mode = 'random';
  return { body, errors };
}

// The field an analyzer 400 reason concerns, else null.
export function injectErrorField(message) {
  const m = String(message || '');
  if (/source node|Src query|\bSrc\b|source IP|source MAC|SrcIP|SrcMAC/i.test(m)) {
    if (/SrcIP|source IP/i.test(m)) return 'SrcIP';
    if (/SrcMAC|source MAC/i.test(m)) return 'SrcMAC';
    return 'Src';
  }
  if (/dest node|destination node|Dst query/i.test(m)) return 'Dst';
  if (/DstIP|dest IP/i.test(m)) return 'DstIP';
  if (/DstMAC|destination MAC/i.test(m)) return 'DstMAC';
  if (/\bDst\b/.test(m)) return 'Dst';
  if (/\btype\b/i.test(m)) return 'Type';
  if (/Count/.test(m)) return 'Count';
  if (/Interval/.test(m)) return 'Interval';
  if (/Payload|payload/.test(m)) return 'Payload';
  return null;
}

// The flows of an injection's packets (the TrackingID POST returned).
export function trackingQuery(tid) {
  return `G.Flows().Has('TrackingID', ${lit(tid)})`;
}

// Each source node's state from /api/status "Injections" (docs/API.md): "injecting",
// "sent", "error: ...", or "done" once the analyzer no longer lists it.
export function injectionStates(status, uuid) {
  const nodes = status && status.Injections && status.Injections.Nodes;
  return (nodes && nodes[uuid]) || {};
}
