import { watcherActionCommand } from './control.js';

/** `corral stop`: see watcherActionCommand in control.ts. */
export const { usage, run } = watcherActionCommand('stop');
