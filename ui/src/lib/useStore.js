// useStore.js - a Preact hook that re-renders a component when some store keys change.
import { useEffect, useState } from 'preact/hooks';
import * as store from '../store.js';

// keys: the store keys the component reads (undefined: every change).
export function useStore(keys) {
  const [, force] = useState(0);
  useEffect(() => store.subscribe((_, changed) => {
    if (!keys || changed.some((k) => keys.includes(k))) force((n) => n + 1);
  }), []);
  return store.get();
}
