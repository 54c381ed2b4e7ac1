// Asks for a bearer token once (kept in localStorage); opens again on a 401.
import { useState } from 'preact/hooks';
import { setToken, settings } from '../lib/settings.ts';

export function TokenDialog() {
  const [value, setValue] = useState('');
  if (!settings.askToken.value && settings.token.value !== null) return null;
  return (
    <div class="modal-backdrop">
      <form
        class="modal"
        onSubmit={(event) => {
          event.preventDefault();
          if (value.trim()) setToken(value.trim());
        }}
      >
        <h2>API token</h2>
        <p class="muted">
          {settings.token.value ? 'The API refused the stored token.' : 'The dashboard needs a bearer token for the API.'} It is kept in this browser's local storage.
        </p>
        <input type="password" autoFocus placeholder="token" value={value} onInput={(e) => setValue(e.currentTarget.value)} aria-label="token" />
        <div class="row">
          <button type="submit" class="primary">use token</button>
        </div>
      </form>
    </div>
  );
}
