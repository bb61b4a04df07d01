import pino from 'pino';
import { botLogPrettifier } from '../../../src/dev/process-log';

/** What the bot's pino logger writes, line by line (the real logger, into a buffer). */
function botLines(log: (logger: pino.Logger) => void): string[] {
  let written = '';
  log(pino({ level: 'info' }, { write: (chunk: string) => void (written += chunk) }));
  return written.split('\n').filter((line) => line !== '');
}

describe("npm run dev's view of the bot's logs", () => {
  const pretty = botLogPrettifier({ color: false });

  it('shows a transition as its sentence alone, with the time and level, not as JSON', () => {
    const [line] = botLines((logger) =>
      logger.info(
        { requestId: 'R-4F2K', event: 'approved', status: 'approved', group: 'db-read', actor: 'a1' },
        'R-4F2K pending → approved by Megan Bowen',
      ),
    );
    expect(pretty(line!)).toEqual([
      expect.stringMatching(/^\[\d\d:\d\d:\d\d\] INFO: R-4F2K pending → approved by Megan Bowen$/),
    ]);
  });

  it('keeps the fields of other records on the line, and an error stack on lines of its own', () => {
    const [listening, failed] = botLines((logger) => {
      logger.info({ url: 'http://127.0.0.1:3978', dev: true }, 'timebox listening');
      logger.error({ err: new Error('Graph said no') }, 'effect failed');
    });
    const shown = pretty(listening!);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatch(/INFO: timebox listening .*"url":"http:\/\/127\.0\.0\.1:3978"/);
    expect(shown[0]).not.toContain('"pid"');
    const error = pretty(failed!);
    expect(error[0]).toMatch(/ERROR: effect failed/);
    expect(error.join('\n')).toMatch(/Graph said no[\s\S]*\n\s+at /);
  });

  it('passes on anything that is not a pino record unchanged', () => {
    for (const line of ['plain text', '{not json', '{"level":"info"}', '[1,2]', '{"level":30}', ''])
      expect(pretty(line)).toEqual([line]);
  });

  it('colours only when asked', () => {
    const [line] = botLines((logger) => logger.warn('slow Graph'));
    expect(pretty(line!)[0]).not.toContain('\x1b[');
    expect(botLogPrettifier({ color: true })(line!)[0]).toContain('\x1b[');
  });
});
