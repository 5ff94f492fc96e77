import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { setUnauthorizedHandler } from './api.js';
import { ErrorBox, Loading } from './components/states.js';
import { html } from './html.js';
import { loadDevices, stream, streamStatus } from './live.js';
import { AlertsPage } from './pages/alerts-page.js';
import { DevicesPage } from './pages/devices-page.js';
import { EventsPage } from './pages/events-page.js';
import { LoginPage } from './pages/login-page.js';
import { RulesPage } from './pages/rules-page.js';
import { navigate, pathOf, route, type Route } from './router.js';
import { loadMe, logOut, me } from './session.js';

// uPlot and CodeMirror load only with the pages that use them: each is its own chunk.
type Props = Record<string, unknown>;
const loaders: Record<'device' | 'editor', () => Promise<FunctionComponent<Props>>> = {
  device: () => import('./pages/device-page.js').then((m) => m.DevicePage as FunctionComponent<Props>),
  editor: () => import('./editor/editor-page.js').then((m) => m.EditorPage as FunctionComponent<Props>),
};

function Lazy({ page, props }: { page: keyof typeof loaders; props: Props }) {
  const [component, setComponent] = useState<{ c: FunctionComponent<Props> } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    loaders[page]().then(
      (c) => setComponent({ c }),
      () => setError('This page could not be loaded; the hub may have been updated. Reload the page.'),
    );
  }, [page]);
  if (error) return html`<${ErrorBox} message=${error} />`;
  if (!component) return html`<${Loading} what="the page" />`;
  return html`<${component.c} ...${props} />`;
}

const NAV: { label: string; to: Route }[] = [
  { label: 'Devices', to: { page: 'devices' } },
  { label: 'Events', to: { page: 'events' } },
  { label: 'Alerts', to: { page: 'alerts' } },
  { label: 'Rules', to: { page: 'rules' } },
];

function Page({ at }: { at: Route }) {
  switch (at.page) {
    case 'login':
      return html`<${LoginPage} />`;
    case 'devices':
      return html`<${DevicesPage} />`;
    case 'device':
      return html`<${Lazy} key=${`device-${at.id}`} page="device" props=${{ id: at.id }} />`;
    case 'events':
      return html`<${EventsPage} />`;
    case 'alerts':
      return html`<${AlertsPage} />`;
    case 'rules':
      return html`<${RulesPage} />`;
    case 'editor':
      return html`<${Lazy} key=${`editor-${at.file ?? ''}`} page="editor" props=${{ file: at.file }} />`;
    case 'missing':
      return html`<${ErrorBox} message=${`There is no page at ${at.path}.`} />`;
  }
}

function StreamBadge() {
  const s = streamStatus.value;
  if (s.state === 'open') return html`<span class="live on" title="live updates on">live</span>`;
  if (s.state === 'connecting')
    return html`<span class="live" title="connecting to the live stream">connecting…</span>`;
  return html`<span class="live off" title=${s.reason}
    >offline, retrying in ${Math.ceil(s.inMs / 1000)} s</span
  >`;
}

export function App() {
  const who = me.value;
  const at = route.value;
  useEffect(() => {
    setUnauthorizedHandler(() => {
      me.value = null;
    });
    void loadMe();
  }, []);
  useEffect(() => {
    if (who === null) {
      stream.stop();
      if (route.value.page !== 'login') navigate({ page: 'login' }, { replace: true });
    } else if (who !== undefined) {
      stream.start();
      void loadDevices();
      if (route.value.page === 'login') navigate({ page: 'devices' }, { replace: true });
    }
  }, [who]);
  if (who === undefined) return html`<${Loading} what="edgehub" />`;
  if (who === null || at.page === 'login') return html`<${LoginPage} />`;
  return html`<div class="shell">
    <header class="top">
      <a class="brand" href="/">edgehub</a>
      <nav>
        ${NAV.map(
          (n) =>
            html`<a
              key=${n.label}
              href=${pathOf(n.to)}
              aria-current=${at.page === n.to.page || (at.page === 'device' && n.to.page === 'devices') || (at.page === 'editor' && n.to.page === 'rules') ? 'page' : undefined}
              >${n.label}</a
            >`,
        )}
      </nav>
      <span class="who">
        <${StreamBadge} />
        <span class="user">${who.user ?? 'local'} <span class="badge">${who.role}</span></span>
        ${who.auth === 'session' && html`<button type="button" class="link" onClick=${() => void logOut()}>Log out</button>`}
      </span>
    </header>
    <main><${Page} at=${at} /></main>
  </div>`;
}
