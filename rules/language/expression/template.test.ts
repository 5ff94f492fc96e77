import { describe, expect, it } from 'vitest';
import { EdgehubError } from '../../../kernel/index.js';
import { makeScope } from './scope.js';
import { compileTemplate } from './template.js';

const scope = makeScope({
  payload: { value: 31.5, seq: 42, on: true, list: [1, 2], text: 'hi' },
  topic: 'sensors/gh-1/temperature',
  captures: Object.assign(Object.create(null) as Record<string, string>, { device: 'gh-1' }),
});

const render = (value: unknown): unknown => compileTemplate(value).render(scope);

function templateError(value: unknown): EdgehubError {
  try {
    compileTemplate(value);
  } catch (err) {
    if (err instanceof EdgehubError) return err;
    throw err;
  }
  throw new Error('compiled');
}

describe('templates', () => {
  it('a string that is exactly one template keeps the expression type', () => {
    expect(render('{{ payload.seq }}')).toBe(42);
    expect(render('{{payload.on}}')).toBe(true);
    expect(render('{{ payload.list }}')).toEqual([1, 2]);
    expect(render('{{ payload.missing }}')).toBeNull();
    expect(render('{{ payload }}')).toEqual(scope.payload);
  });

  it('anything else is interpolated as text', () => {
    expect(render('actuators/{{ device }}/fan')).toBe('actuators/gh-1/fan');
    expect(render(' {{ payload.seq }}')).toBe(' 42');
    expect(render('{{ payload.seq }}{{ payload.seq }}')).toBe('4242');
    expect(render('v={{ payload.list }} m={{ payload.missing }}.')).toBe('v=[1,2] m=.');
    expect(render('no templates')).toBe('no templates');
    expect(render('closing }} alone')).toBe('closing }} alone');
  });

  it('templates maps and lists recursively, keeping keys literal', () => {
    expect(render({ on: true, seq: '{{ payload.seq }}', '{{ key }}': ['{{ device }}', 3, null] })).toEqual({
      on: true,
      seq: 42,
      '{{ key }}': ['gh-1', 3, null],
    });
  });

  it('marks values without templates static and returns them unchanged', () => {
    const value = { on: true, list: [1, 'x'] };
    const t = compileTemplate(value);
    expect(t.isStatic).toBe(true);
    expect(t.render(scope)).toBe(value);
    expect(compileTemplate(42).render(scope)).toBe(42);
    expect(compileTemplate({ a: '{{ 1 }}' }).isStatic).toBe(false);
  });

  it('finds the closing braces after a string literal that contains them', () => {
    expect(render('{{ "a}}b" + device }}!')).toBe('a}}bgh-1!');
  });

  it('rejects unclosed and empty templates with RULE_TEMPLATE_INVALID', () => {
    expect(templateError('a/{{ device').code).toBe('RULE_TEMPLATE_INVALID');
    expect(templateError('a/{{ }}').code).toBe('RULE_TEMPLATE_INVALID');
  });

  it('reports expression errors at their offset inside the string and path inside the value', () => {
    const seen: { path: readonly PropertyKey[]; offset: number }[] = [];
    try {
      compileTemplate({ inner: ['ok', 'x {{ payload.value > }}'] }, (path, offset) => {
        seen.push({ path, offset });
        return { file: 'f.yaml', line: 1, col: 1 + offset, path: '' };
      });
      expect.unreachable();
    } catch (err) {
      expect((err as EdgehubError).code).toBe('RULE_EXPRESSION_INVALID');
    }
    // "x {{" is 4 characters; the expression " payload.value > " fails at its end (offset 17).
    expect(seen).toEqual([{ path: ['inner', 1], offset: 4 + 17 }]);
  });
});
