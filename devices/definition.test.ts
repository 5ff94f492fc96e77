import { describe, expect, it } from 'vitest';
import { deviceDefinitionSchema, deviceFileJsonSchema } from './definition.js';

describe('device definitions', () => {
  it('fill defaults: adapter mqtt, convention edgehub, zigbee2mqtt base, empty sensor and actuator lists', () => {
    expect(deviceDefinitionSchema.parse({ id: 'x' })).toEqual({
      id: 'x',
      adapter: 'mqtt',
      convention: 'edgehub',
      base: 'zigbee2mqtt',
      sensors: [],
      actuators: [],
    });
  });

  it('have a JSON Schema for editors that is current', async () => {
    await expect(JSON.stringify(deviceFileJsonSchema(), null, 2) + '\n').toMatchFileSnapshot(
      '../schemas/devices.schema.json',
    );
  });
});
