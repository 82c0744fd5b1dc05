// MetadataTree.jsx - a collapsible JSON tree (node metadata, console results).
import { useState } from 'preact/hooks';

function Leaf({ v }) {
  if (v === null) return <span class="jt-null">null</span>;
  if (typeof v === 'string') return <span class="jt-str">{v}</span>;
  if (typeof v === 'number') return <span class="jt-num">{String(v)}</span>;
  if (typeof v === 'boolean') return <span class="jt-bool">{String(v)}</span>;
  return <span>{String(v)}</span>;
}

const isObj = (v) => v !== null && typeof v === 'object';
const summary = (v) => (Array.isArray(v) ? `[${v.length}]` : `{${Object.keys(v).length}}`);

function Entry({ k, v, depth, openDepth }) {
  const [open, setOpen] = useState(depth < openDepth);
  if (!isObj(v)) {
    return (
      <div class="jt-row">
        <span class="jt-key">{k}</span><Leaf v={v} />
      </div>
    );
  }
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return (
    <div class="jt-branch">
      <div class="jt-row jt-toggle" onClick={() => setOpen(!open)} data-key={k}>
        <span class={`jt-caret ${open ? 'open' : ''}`}>▸</span>
        <span class="jt-key">{k}</span>
        <span class="jt-sum">{summary(v)}</span>
      </div>
      {open && (
        <div class="jt-children">
          {entries.length === 0 && <div class="jt-row jt-empty">empty</div>}
          {entries.map(([ck, cv]) => <Entry key={ck} k={ck} v={cv} depth={depth + 1} openDepth={openDepth} />)}
        </div>
      )}
    </div>
  );
}

// value: any JSON; openDepth: levels expanded at first (1 = the top level's children
// shown, their objects collapsed). Keys sorted when sort is set.
export function JsonTree({ value, openDepth = 1, sort = false, testid, rootLabel }) {
  let body;
  if (!isObj(value)) body = <div class="jt-row"><Leaf v={value} /></div>;
  else {
    let entries = Array.isArray(value) ? value.map((x, i) => [i, x]) : Object.entries(value);
    if (sort && !Array.isArray(value)) entries = entries.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    body = entries.map(([k, v]) => <Entry key={k} k={k} v={v} depth={1} openDepth={openDepth} />);
  }
  return (
    <div class="jtree" data-testid={testid}>
      {rootLabel && <div class="jt-root">{rootLabel}</div>}
      {body}
    </div>
  );
}

export function MetadataTree({ metadata }) {
  return <JsonTree value={metadata || {}} openDepth={1} sort testid="metadata-tree" />;
}
