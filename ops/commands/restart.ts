import { watcherActionCommand } from './control.js';

/** `corral restart`: see watcherActionCommand in control.ts. */
export const { usage, run } = watcherActionCommand('restart');
