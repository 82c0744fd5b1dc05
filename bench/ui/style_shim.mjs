// bench/ui/style_shim.mjs - node sizes/colors for the bare page, as graph/view.js draws them
// (view.js imports sigma and the store, so it is not loaded in node; keep in step).
const TYPE_COLORS = { host: '#1f5f99', netns: '#7b4fa8', veth: '#2e9d5b', device: '#3d6a9e', bridge: '#d98c1a', tun: '#16a085', internal: '#7f8c8d' };
export function nodeStyleForBench(v) {
  const md = v.node.Metadata;
  return { size: v.collapsed ? 5 + 1.25 * Math.log2(1 + v.count) : v.group ? 6 : 3.5, color: TYPE_COLORS[md.Type] || '#8a94a6', label: String(md.Name) };
}
