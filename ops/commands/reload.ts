import { watcherActionCommand } from './control.js';

/** `corral reload`: see watcherActionCommand in control.ts. */
export const { usage, run } = watcherActionCommand('reload');
