/**
 * Credential redaction for anything divan prints or puts in an error message.
 */

const URL_WITH_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]+)(?::([^/@\s]*))?@/gi;

/**
 * Replaces the password (and keeps the user name) of every URL in `text`:
 * `http://admin:secret@host:5984/db` → `http://admin:***@host:5984/db`.
 */
export function redact(text: string): string {
  return text.replace(URL_WITH_USERINFO, (_m, scheme: string, user: string, pass: string | undefined) =>
    pass === undefined ? `${scheme}${user}@` : `${scheme}${user}:***@`,
  );
}

/** A URL without credentials at all, for places that should not even show the user. */
export function stripCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return redact(url);
  }
}
