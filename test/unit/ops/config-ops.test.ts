import { loadConfig } from '../../../src/config';
import { startTimebox } from '../../../src/main';
import { silentLogger } from '../../../src/ports/logger';

describe('operations settings', () => {
  it('TIMEBOX_METRICS_PORT: a port other than PORT', () => {
    expect(loadConfig({ TIMEBOX_DEV: '1', PORT: '3978', TIMEBOX_METRICS_PORT: '9464' }).metricsPort).toBe(
      9464,
    );
    expect(loadConfig({ TIMEBOX_DEV: '1' }).metricsPort).toBeUndefined();
    expect(() => loadConfig({ TIMEBOX_DEV: '1', PORT: '3978', TIMEBOX_METRICS_PORT: '3978' })).toThrow(
      /TIMEBOX_METRICS_PORT "3978" is not a port number other than PORT/,
    );
    expect(() => loadConfig({ TIMEBOX_DEV: '1', TIMEBOX_METRICS_PORT: 'metrics' })).toThrow(
      /TIMEBOX_METRICS_PORT/,
    );
    expect(() => loadConfig({ TIMEBOX_DEV: '1', TIMEBOX_METRICS_PORT: '70000' })).toThrow(
      /TIMEBOX_METRICS_PORT/,
    );
  });

  it('a DATABASE_URL that is not a PostgreSQL URL is refused first, rather than ignored, without repeating it', async () => {
    const config = loadConfig({
      TIMEBOX_DEV: '1',
      DATABASE_URL: 'timebox:s3cret@db.example:5432/timebox',
      TIMEBOX_POLICY: '/nonexistent/policy.yaml',
    });
    const refused = startTimebox(config, { logger: silentLogger });
    await expect(refused).rejects.toThrow(/DATABASE_URL must start with postgres:\/\/ or postgresql:\/\//);
    await expect(refused).rejects.not.toThrow(/s3cret/);
  });
});
