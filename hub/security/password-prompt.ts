import type { ReadStream } from 'node:tty';
import { EdgehubError } from '../../kernel/index.js';
import type { PasswordSource } from './passwd-command.js';

/** The first line of a piped stdin (`printf 'secret\n' | edgehub passwd ...`), without its line break. */
export function pipedPassword(input: NodeJS.ReadableStream): PasswordSource {
  return {
    read: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
    },
  };
}

/** Asks twice on the terminal, echoing nothing, and insists both answers agree. */
export function promptedPassword(input: ReadStream, output: NodeJS.WritableStream): PasswordSource {
  return {
    read: async () => {
      const first = await readHidden(input, output, 'Password: ');
      const second = await readHidden(input, output, 'Reenter password: ');
      if (first !== second) throw new EdgehubError('USAGE', 'passwords do not match; nothing written');
      return first;
    },
  };
}

function readHidden(input: ReadStream, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (err?: Error): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new EdgehubError('USAGE', 'interrupted; nothing written'));
        if (ch === '\u0004') return finish();
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}
