// useForm.js - the state the resource forms share (alerts, injections): the field values,
// the errors shown at their fields ("form" for one that names none), busy while a request
// runs, and an input handler that sets a field and clears its error and the form's.
import { useState } from 'preact/hooks';

export function useForm(init) {
  const [v, setV] = useState(init);
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => {
    const val = e.currentTarget.value;
    setV((x) => ({ ...x, [k]: val }));
    if (errors[k] || errors.form) setErrors((er) => { const n = { ...er }; delete n[k]; delete n.form; return n; });
  };
  return { v, setV, errors, setErrors, busy, setBusy, set };
}
