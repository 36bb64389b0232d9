/**
 * The console's whole "framework": an element factory and a keyed list sync. Rows are
 * created once per key and updated in place, so a live update never replaces a button
 * under the pointer (a click between mousedown and mouseup would otherwise be lost) nor
 * an input that has focus.
 */

export type Child = Node | string | number | null | undefined | false;
export type Props = Record<string, unknown> & { testid?: string; class?: string };

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props) {
    for (const [name, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'testid') element.setAttribute('data-testid', String(value));
      else if (name === 'class') element.className = String(value);
      else if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value as EventListener);
      else if (name in element && name !== 'list' && name !== 'form') (element as unknown as Record<string, unknown>)[name] = value;
      else element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children) {
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else if (child !== null && child !== undefined && child !== false) parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces the children of `parent`. */
export function mount(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Sets text only when it changed (no layout work for unchanged cells). */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

export interface Row<T> {
  element: HTMLElement;
  update(item: T): void;
}

/**
 * Keeps `container`'s children equal to one row per item, in order: rows of keys that
 * disappeared are removed, new keys get `create`, every row gets `update(item)`.
 */
export function syncList<T>(container: HTMLElement, items: readonly T[], keyOf: (item: T) => string, create: (item: T) => Row<T>): void {
  const rows = rowsOf<T>(container);
  const seen = new Set<string>();
  let cursor: ChildNode | null = container.firstChild;
  for (const item of items) {
    const key = keyOf(item);
    seen.add(key);
    let row = rows.get(key);
    if (!row) {
      row = create(item);
      row.element.dataset.key = key;
      rows.set(key, row);
    }
    row.update(item);
    if (row.element !== cursor) container.insertBefore(row.element, cursor);
    else cursor = cursor.nextSibling;
  }
  for (const [key, row] of rows) {
    if (!seen.has(key)) {
      row.element.remove();
      rows.delete(key);
    }
  }
}

const ROWS = new WeakMap<HTMLElement, Map<string, Row<unknown>>>();
function rowsOf<T>(container: HTMLElement): Map<string, Row<T>> {
  let rows = ROWS.get(container);
  if (!rows) {
    rows = new Map();
    ROWS.set(container, rows);
  }
  return rows as Map<string, Row<T>>;
}

/** Coalesces bursts of live updates into one render per animation frame. */
export function frameScheduler(render: () => void): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  };
}
