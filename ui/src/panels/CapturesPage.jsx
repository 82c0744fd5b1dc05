// CapturesPage.jsx - the captures tab: the capture list and the form for a new one.
import { useState } from 'preact/hooks';
import * as store from '../store.js';
import { CaptureList } from './CaptureList.jsx';
import { CaptureForm } from './CaptureForm.jsx';
import { can } from '../lib/session.js';

export function CapturesPage({ model }) {
  const [form, setForm] = useState(false);
  const [created, setCreated] = useState(null);
  const sel = (store.get().selection || []).map((id) => model && model.getNode(id)).filter(Boolean);
  return (
    <div class="tab-page captures-page" data-testid="captures-page">
      <div class="page-head">
        <h2>Captures</h2>
        {can(store.get().session, 'capture', 'write') && <button class="primary" data-testid="capture-new" onClick={() => { setForm(!form); setCreated(null); }}>{form ? 'Close the form' : '+ New capture'}</button>}
        {created && <span class="inline-info" data-testid="capture-created">Capture <b>{created.Name || created.UUID}</b> created</span>}
      </div>
      {form && (
        <div class="card form-card">
          <CaptureForm nodes={sel} onDone={(c) => { setCreated(c); setForm(false); }} onCancel={() => setForm(false)} />
        </div>
      )}
      <div class="card">
        <CaptureList highlight={created && created.UUID} />
      </div>
    </div>
  );
}
