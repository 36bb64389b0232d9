import { watcherActionCommand } from './control.js';

/** `corral start`: see watcherActionCommand in control.ts. */
export const { usage, run } = watcherActionCommand('start');
