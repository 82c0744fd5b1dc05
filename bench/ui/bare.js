// bench/ui/bare.js - the bare renderer: sigma 3 drawing a graph handed in window.__bareData
// ({nodes:[[id,x,y,size,color,label]], edges:[[s,t]]}), nothing else. Bundled by ui_bench.mjs.
import Graph from 'graphology';
import Sigma from 'sigma';
const d = window.__bareData;
const g = new Graph({ type: 'mixed', multi: true });
for (const [id, x, y, size, color, label] of d.nodes) g.addNode(id, { x, y, size, color, label });
for (const [s, t] of d.edges) if (g.hasNode(s) && g.hasNode(t)) g.addEdge(s, t, { size: 1, color: '#a3abba' });
window.__bare = new Sigma(g, document.getElementById('c'));
window.__bareReady = performance.now();
