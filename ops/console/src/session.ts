/**
 * The session token: taken from `?token=` (the URL `corral serve` prints), kept in
 * sessionStorage (gone when the tab closes) and removed from the address bar at once, so
 * it does not linger in history, bookmarks or screenshots.
 */
const STORAGE_KEY = 'corral.token';

export function takeTokenFromUrl(): void {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (token === null) return;
  if (token !== '') sessionStorage.setItem(STORAGE_KEY, token);
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

export const storedToken = (): string | null => sessionStorage.getItem(STORAGE_KEY);
export const storeToken = (token: string): void => sessionStorage.setItem(STORAGE_KEY, token);
export const forgetToken = (): void => sessionStorage.removeItem(STORAGE_KEY);
