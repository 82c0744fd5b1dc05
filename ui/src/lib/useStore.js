// useStore.js - a Preact hook that re-renders a component when some store keys change.
import { useEffect, useState } from 'preact/hooks';
import * as store from '../store.js';

// keys: the store keys the component reads (undefined: every change).
// Effects run after the first paint: a change made between render and subscription
// (a fast answer to the first request) would be missed, so the effect re-renders once
// when the store moved on meanwhile.
export function useStore(keys) {
  const [, force] = useState(0);
  const seen = store.version();
  useEffect(() => {
    const unsub = store.subscribe((_, changed) => {
      if (!keys || changed.some((k) => keys.includes(k))) force((n) => n + 1);
    });
    if (store.version() !== seen) force((n) => n + 1);
    return unsub;
  }, []);
  return store.get();
}
