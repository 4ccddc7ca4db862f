// Pages loaded on demand, without React's suspense delay on the first render.
//
// React holds a Suspense fallback at least 300 ms before revealing what loaded (its
// fallback throttle), so a page whose chunk is fetched during the first render shows
// ~300 ms late for each lazy level. A page made here renders at once when its module is
// already loaded: `preload()` fetches it before the first render (main.tsx preloads the
// page of the address being opened).
import { lazy, type ComponentType } from "react";

export interface Page {
  (): React.JSX.Element;
  preload: () => Promise<void>;
}

export function page(load: () => Promise<{ default: ComponentType }>): Page {
  let loaded: ComponentType | undefined;
  const remember = () =>
    load().then((module) => {
      loaded = module.default;
      return module;
    });
  const Lazy = lazy(remember);
  const Loaded: Page = () => {
    const Component = loaded ?? Lazy;
    return <Component />;
  };
  Loaded.preload = () => remember().then(() => undefined);
  return Loaded;
}
