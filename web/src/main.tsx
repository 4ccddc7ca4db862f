import { StrictMode, type ComponentType } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import "./index.css";
import "./lib/earlyMe";

// One bundle, two apps: the portal at /portal, the operators' app everywhere else. The app
// (and, for operators, the page being opened) is loaded before the first render, so
// nothing waits behind a Suspense fallback (see lib/pages.tsx).
async function start(): Promise<void> {
  const path = window.location.pathname;
  let App: ComponentType;
  if (path === "/portal" || path.startsWith("/portal/")) {
    App = (await import("./portal/PortalApp")).default;
  } else {
    const admin = await import("./admin/AdminApp");
    await admin.preloadPages(path);
    App = admin.default;
  }
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </StrictMode>,
  );
}

void start();
