import { VIEW_NAMES, internSpecifier, parseSpecifier, type Change, type ProjectionEngine } from '../../projections/index.js';
import { objectVisible, type TenantScope } from './scope.js';

/**
 * The objects a `snapshot:true` subscription starts with: every object of the views its
 * specifier can match, as they were right after `position`, that pass its type, key and
 * filter (the action list does not apply to a state). The client then receives every change
 * after `position`, so snapshot plus changes is exactly the live state.
 */
export async function snapshotItems(
  engine: ProjectionEngine,
  specifier: string,
  scope: TenantScope,
  position: number,
  model: number,
): Promise<object[]> {
  const parsed = parseSpecifier(specifier);
  const stateMatcher = internSpecifier({ ...parsed, actions: ['*'] });
  const types = stateMatcher.changeTypes ?? VIEW_NAMES;
  const tenants = scope.all ? ['*'] : [...scope.tenants];
  const items: object[] = [];
  for (const view of types) {
    if (!(VIEW_NAMES as readonly string[]).includes(view)) continue;
    const objects =
      view === 'connections'
        ? await engine.view(view, { tenants, model })
        : await engine.view(view, { tenants, model, at: position });
    for (const object of objects as Record<string, unknown>[]) {
      if (!objectVisible(scope, view, object)) continue;
      const change: Change = {
        position,
        time: Date.now(),
        id: '',
        stream: '',
        revision: -1,
        type: view,
        action: 'snapshot',
        key: String(object.key),
        tenant: typeof object.tenant === 'string' ? object.tenant : view === 'tenants' ? String(object.key) : undefined,
        schema: model,
        data: null,
        object,
        original: null,
      };
      if (stateMatcher.matches(change)) items.push(object);
    }
  }
  return items;
}
