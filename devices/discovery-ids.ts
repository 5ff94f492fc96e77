/**
 * A device id, metric or actuator name as a Home Assistant node or object id, which allow only
 * `[A-Za-z0-9_-]`: edgehub's ids may also hold `.`, which becomes `_`. Two names that differ only
 * there would share a unique_id, so the definitions refuse them at load.
 */
export function discoveryId(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, '_');
}
