import { describe, expect, it } from 'vitest';
import { EdgehubError } from '../../kernel/index.js';
import { classifyOpenFailure, portOpenError } from './port-errors.js';

const PATH = '/dev/ttyACM0';

describe('portOpenError', () => {
  it('names the path and the dialout fix on permission denied (EACCES)', () => {
    const err = portOpenError(PATH, new Error(`Error: Permission denied, cannot open ${PATH}`));
    expect(err).toBeInstanceOf(EdgehubError);
    expect(err.code).toBe('DEVICE_PORT_OPEN_FAILED');
    expect(err.message).toContain(PATH);
    expect(err.message).toContain('dialout');
  });

  it('names the path and /dev/serial/by-id on a missing device (ENOENT)', () => {
    const err = portOpenError(PATH, Object.assign(new Error('nope'), { code: 'ENOENT' }));
    expect(err.code).toBe('DEVICE_PORT_OPEN_FAILED');
    expect(err.message).toContain(PATH);
    expect(err.message).toContain('/dev/serial/by-id/');
  });

  it('classifies serialport messages and errno codes alike', () => {
    expect(classifyOpenFailure(new Error(`Error: No such file or directory, cannot open ${PATH}`))).toBe(
      'missing',
    );
    expect(classifyOpenFailure(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe('permission');
    expect(classifyOpenFailure(new Error('Error Resource temporarily unavailable Cannot lock port'))).toBe(
      'busy',
    );
    expect(classifyOpenFailure(new Error('Input/output error'))).toBe('other');
  });

  it('keeps the cause for the log', () => {
    const cause = new Error('Input/output error');
    const err = portOpenError(PATH, cause);
    expect(err.cause).toBe(cause);
    expect(err.message).toBe(`cannot open ${PATH}: Input/output error`);
  });
});
