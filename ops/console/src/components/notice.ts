import { h, setText } from '../dom.js';

/** A line for the outcome of an action: the server's message on failure, a short note on success. */
export function createNotice(testid: string): { element: HTMLElement; error(message: string): void; ok(message: string): void; clear(): void } {
  const element = h('div', { class: 'notice', testid, role: 'status', hidden: true });
  const show = (kind: string, message: string): void => {
    element.className = `notice ${kind}`;
    setText(element, message);
    element.hidden = false;
  };
  return {
    element,
    error: (message) => show('error', message),
    ok: (message) => show('ok', message),
    clear: () => {
      element.hidden = true;
    },
  };
}

/** Runs an action, showing the server's error message in `notice` if it fails. */
export async function runAction(notice: ReturnType<typeof createNotice>, action: () => Promise<unknown>, success?: string): Promise<boolean> {
  try {
    await action();
    if (success) notice.ok(success);
    else notice.clear();
    return true;
  } catch (error) {
    notice.error((error as Error).message);
    return false;
  }
}
