// bench/ui/topo_gen.mjs - a synthetic Skydive topology and a /ws/publisher client.
//   genTopology({hosts}) -> {Nodes, Edges}: per host 200 nodes / ~400 edges: the host,
//   eth0, lo, br0, 4 more NICs, 16 network namespaces each holding 10 interfaces (eth0
//   peer of a host-side veth on br0, lo, 8 more), ownership edges for the tree, layer2
//   edges inside namespaces, veth pairs, bridge ports, and links to 5 neighbour hosts.
//   50 hosts -> 10,000 nodes / 20,000 edges.
//   publish(url, msgs) sends envelopes on /ws/publisher and resolves once all are read.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
const require = createRequire(resolve(dirname(fileURLToPath(import.meta.url)), '../../ui/package.json'));
export const WebSocketClient = require('ws');

export function genTopology({ hosts = 50, netns = 16, perNs = 10, extraNics = 4, crossLinks = 4 } = {}) {
  const Nodes = [], Edges = [];
  const now = Date.now();
  let e = 0;
  const node = (id, host, md) => { Nodes.push({ ID: id, Host: host, Metadata: md, CreatedAt: now, UpdatedAt: now, Revision: 1 }); return id; };
  const edge = (p, c, rel, host, extra = {}) => { Edges.push({ ID: `e${String(e++).padStart(6, '0')}`, Parent: p, Child: c, Host: host, Metadata: { RelationType: rel, ...extra }, CreatedAt: now, UpdatedAt: now, Revision: 1 }); };
  const mac = (h, i) => `02:${[h >> 8, h & 255, i >> 8, i & 255, 7].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
  for (let h = 0; h < hosts; h++) {
    const H = `host-${String(h).padStart(3, '0')}`;
    const hn = node(`${H}`, H, { Name: H, Type: 'host', OS: 'linux', Hostname: H });
    let k = 0;
    const intf = (owner, name, type, md = {}) => {
      const id = `${H}-if${k}`;
      node(id, H, { Name: name, Type: type, State: 'UP', MTU: 1500, MAC: mac(h, k), IfIndex: k + 1, ...md });
      k++;
      edge(owner, id, 'ownership', H);
      return id;
    };
    const eth0 = intf(hn, 'eth0', 'device', { IPV4: [`10.0.${h}.1/16`] });
    intf(hn, 'lo', 'device', { IPV4: ['127.0.0.1/8'] });
    const br0 = intf(hn, 'br0', 'bridge');
    edge(br0, eth0, 'layer2', H);
    for (let i = 0; i < extraNics; i++) intf(hn, `eno${i + 1}`, 'device', { State: i === extraNics - 1 ? 'DOWN' : 'UP' });
    for (let n = 0; n < netns; n++) {
      const ns = `${H}-ns${n}`;
      node(ns, H, { Name: `ns${n}`, Type: 'netns', Path: `/var/run/netns/ns${n}` });
      edge(hn, ns, 'ownership', H);
      const hv = intf(hn, `veth${n}`, 'veth');
      edge(br0, hv, 'layer2', H);
      const nse = intf(ns, 'eth0', 'veth', { IPV4: [`192.168.${n}.${h + 2}/24`] });
      edge(hv, nse, 'layer2', H, { Type: 'veth' });
      intf(ns, 'lo', 'device', { IPV4: ['127.0.0.1/8'] });
      for (let j = 0; j < perNs - 2; j++) {
        const x = intf(ns, `tap${j}`, j % 3 === 0 ? 'tun' : 'internal');
        edge(nse, x, 'layer2', H);
      }
    }
  }
  // Cross-host links: eth0 of each host to the netns eth0 of 4 neighbours... and to reach
  // 2 edges per node, more between namespaces of neighbour hosts.
  const target = hosts * 400;
  const nIf = 3 + extraNics + netns * (perNs + 1);
  let i = 0;
  while (Edges.length < target) {
    const h = i % hosts, d = 1 + (Math.floor(i / hosts) % crossLinks);
    const o = (h + d) % hosts;
    const r = Math.floor(i / (hosts * crossLinks));
    const a = `host-${String(h).padStart(3, '0')}-if${(r * 7) % nIf}`;
    const b = `host-${String(o).padStart(3, '0')}-if${(r * 11 + 3) % nIf}`;
    edge(a, b, 'layer2', `host-${String(h).padStart(3, '0')}`);
    i++;
  }
  return { Nodes, Edges };
}

export function connect(url) {
  return new Promise((res, rej) => {
    const ws = new WebSocketClient(url, { maxPayload: 512 * 1024 * 1024 });
    ws.once('open', () => res(ws));
    ws.once('error', rej);
  });
}

// Sends every envelope, then a ping: the pong says the server read them all.
export async function publish(ws, msgs) {
  for (const m of msgs) ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  await new Promise((res) => { ws.once('pong', res); ws.ping(); });
}

export const env = (Type, Obj) => ({ Namespace: 'Graph', Type, Obj });

// Topology as NodeAdded / EdgeAdded messages.
export function addMessages(topo) {
  return [...topo.Nodes.map((n) => env('NodeAdded', n)), ...topo.Edges.map((e) => env('EdgeAdded', e))];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // node topo_gen.mjs 127.0.0.1:PORT [hosts]
  const [addr, hosts = '50'] = process.argv.slice(2);
  const topo = genTopology({ hosts: Number(hosts) });
  const ws = await connect(`ws://${addr}/ws/publisher?x-host-id=bench&x-client-type=cli`);
  const t0 = Date.now();
  await publish(ws, addMessages(topo));
  console.log(`published ${topo.Nodes.length} nodes / ${topo.Edges.length} edges in ${Date.now() - t0} ms`);
  ws.close();
}
