import { useState } from 'preact/hooks';
import { messageOf } from '../api.js';
import { html } from '../html.js';
import { navigate } from '../router.js';
import { logIn } from '../session.js';

export function LoginPage() {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await logIn(user, password);
      navigate({ page: 'devices' }, { replace: true });
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <form class="card login-form" onSubmit=${(e: Event) => void submit(e)}>
      <h1>edgehub</h1>
      <p class="muted">Log in with a user from the hub's password file (<code>edgehub passwd</code>).</p>
      <label
        >User
        <input
          name="user"
          autocomplete="username"
          required
          value=${user}
          onInput=${(e: Event) => setUser((e.target as HTMLInputElement).value)}
      /></label>
      <label
        >Password
        <input
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value=${password}
          onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)}
      /></label>
      ${error && html`<p class="error-box" role="alert">${error}</p>`}
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Logging in…' : 'Log in'}</button>
    </form>
  </main>`;
}
