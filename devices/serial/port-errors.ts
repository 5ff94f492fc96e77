import { EdgehubError, errorMessage } from '../../kernel/index.js';

/** Why a port did not open, as far as the fix is concerned. */
export type PortOpenFailure = 'permission' | 'missing' | 'busy' | 'other';

/**
 * serialport reports open failures as plain Errors whose message carries the OS reason
 * ("Error: Permission denied, cannot open /dev/ttyACM0"); some bindings also set `code`.
 */
export function classifyOpenFailure(err: unknown): PortOpenFailure {
  const code = (err as { code?: unknown } | null)?.code;
  const text = errorMessage(err);
  if (code === 'EACCES' || code === 'EPERM' || /permission denied|EACCES/i.test(text)) return 'permission';
  if (code === 'ENOENT' || /no such file|ENOENT/i.test(text)) return 'missing';
  if (code === 'EBUSY' || /busy|cannot lock|resource temporarily unavailable/i.test(text)) return 'busy';
  return 'other';
}

/** One clear message naming the path and the fix; code DEVICE_PORT_OPEN_FAILED. */
export function portOpenError(path: string, err: unknown): EdgehubError {
  const failure = classifyOpenFailure(err);
  return new EdgehubError('DEVICE_PORT_OPEN_FAILED', `cannot open ${path}: ${HINTS[failure](err)}`, {
    cause: err,
  });
}

const HINTS: Record<PortOpenFailure, (err: unknown) => string> = {
  permission: () =>
    'permission denied. Add the user running edgehub to the dialout group ' +
    '(sudo usermod -aG dialout $USER, then log in again), or run it as a systemd service with ' +
    'SupplementaryGroups=dialout',
  missing: () =>
    'no such device. Check that the board is plugged in and the path is right; prefer the stable ' +
    '/dev/serial/by-id/... name (ls -l /dev/serial/by-id/), since ttyUSB/ttyACM numbers change between boots',
  busy: () =>
    'the port is in use by another program (a serial console, ModemManager, another edgehub); ' +
    'stop it or disable ModemManager for this device',
  other: (err) => errorMessage(err),
};
