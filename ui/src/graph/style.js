// graph/style.js - how a visible node or edge is drawn (sigma attributes) from its
// Skydive element and its group state: colours by Type / State / RelationType, sizes,
// labels ("⊕ name (n)" for a collapsed group, "⊖ name" for an expanded one). Pure: no
// sigma, no browser (node --test runs it).

export const TYPE_COLORS = {
  host: '#1f5f99', netns: '#7b4fa8', veth: '#2e9d5b', device: '#3d6a9e', physical: '#3d6a9e',
  bridge: '#d98c1a', ovsbridge: '#b5651d', ovsport: '#e0a458', internal: '#7f8c8d',
  tun: '#16a085', tap: '#16a085', vxlan: '#13a3b3', gre: '#13a3b3', geneve: '#13a3b3',
  bond: '#6c5ce7', vlan: '#00a8cc', macvlan: '#4aa3df', loopback: '#9aa3b2',
};
const DEFAULT_NODE = '#8a94a6';
export const EDGE_COLORS = {
  ownership: '#d5d9e0', layer2: '#5b8def', mixed: '#8893a6', patch: '#d98c1a',
  tunnel: '#16a085', layer3: '#9b59b6',
};
const DEFAULT_EDGE = '#a3abba';
export const DIM = '#e4e7ec';
export const DIM_LABEL = '#aab1bd';

// Color c mixed with m by t (0..1), both '#rrggbb'.
function mix(c, m, t) {
  const p = (h, i) => parseInt(h.slice(1 + 2 * i, 3 + 2 * i), 16);
  let out = '#';
  for (let i = 0; i < 3; i++) out += Math.round(p(c, i) * (1 - t) + p(m, i) * t).toString(16).padStart(2, '0');
  return out;
}

export function nodeStyle(v) {
  const md = (v.node && v.node.Metadata) || {};
  const type = md.Type || '';
  let color = TYPE_COLORS[type] || DEFAULT_NODE;
  const down = md.State === 'DOWN';
  if (down) color = mix(color, '#e9b7b3', 0.7);
  const name = md.Name != null ? String(md.Name) : String(v.id);
  let size, label;
  if (v.collapsed) {
    size = 5 + 1.25 * Math.log2(1 + v.count);
    label = `⊕ ${name} (${v.count})`;
  } else if (v.group) {
    size = type === 'host' ? 7 : 6;
    label = `⊖ ${name}`;
  } else {
    size = type === 'host' ? 7 : 3.5;
    label = name;
  }
  return {
    label, size, color, down, ntype: type,
    forceLabel: type === 'host',
    zIndex: v.collapsed ? 2 : v.group ? 1 : 0,
    group: v.group, collapsed: v.collapsed,
  };
}

export function edgeStyle(ve, relType) {
  const n = ve.members.size;
  const color = EDGE_COLORS[relType] || DEFAULT_EDGE;
  return {
    color,
    size: ve.own ? 0.7 : Math.min(5, 0.8 + 0.7 * Math.log2(n)),
    label: n > 1 ? `×${n}` : undefined,
    rel: relType, count: n,
  };
}
