import { spawnSync } from 'node:child_process';
import { startHarness, GROUPS, type Harness } from '../helpers/harness';
import { waitFor } from '../helpers/fake-connector';
import { users } from '../helpers/teams-client';
import { RecordingLogger } from '../security/recording-logger';

const havePromtool = spawnSync('promtool', ['--version']).status === 0;
if (!havePromtool)
  console.warn(
    'SKIPPED `promtool check metrics` in test/integration/metrics.test.ts: promtool is not installed (apt-get install -y prometheus; .ci/run installs it).',
  );

/** A metric's value in the text exposition format, by name and exact label set (as printed). */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics on their own port, and the transitions they measure', () => {
  let h: Harness;
  const logger = new RecordingLogger();
  beforeEach(async () => {
    h = await startHarness({ env: { TIMEBOX_METRICS_PORT: '0' }, overrides: { logger } });
  });
  afterEach(async () => {
    await h.close();
  });

  const scrape = async () => {
    const res = await fetch(`${h.bot.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };

  it('serves /metrics on TIMEBOX_METRICS_PORT only, not next to /api/messages', async () => {
    expect(h.bot.metricsUrl).toBeDefined();
    expect(h.bot.metricsUrl).not.toBe(h.bot.url);
    expect((await fetch(`${h.bot.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${h.bot.metricsUrl}/api/messages`, { method: 'POST' })).status).toBe(404);
    const text = await scrape();
    expect(valueOf(text, 'timebox_ready')).toBe(1);
    expect(valueOf(text, 'timebox_outbox_depth{lane="directory"}')).toBe(0);
    expect(valueOf(text, 'timebox_outbox_depth{lane="teams"}')).toBe(0);
    expect(valueOf(text, 'timebox_overdue_grants')).toBe(0);
  });

  it('times decision and removal, counts Graph and Bot Connector calls by outcome, logs each transition', async () => {
    const request = await h.ask(users.alex, 'request sandbox for 2s because metrics');
    const click = await h.clickOnCard(users.alex, 'approve', request);
    expect(click.status).toBe(200);
    await waitFor(
      () => h.directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId),
      'membership added',
    );
    await waitFor(
      async () => (await h.bot.store.get(request.id))?.membershipRemovedAt,
      'membership removed',
      8000,
    );
    await h.bot.settled();
    const text = await scrape();
    expect(valueOf(text, 'timebox_decision_seconds_count{outcome="approved"}')).toBe(1);
    expect(valueOf(text, 'timebox_removal_lag_seconds_count')).toBe(1);
    // Removed within a second of the end (bucket le=1 holds it).
    expect(valueOf(text, 'timebox_removal_lag_seconds_bucket{le="1"}')).toBe(1);
    expect(
      valueOf(text, 'timebox_graph_request_duration_seconds_count{operation="addMember",outcome="ok"}'),
    ).toBe(1);
    expect(
      valueOf(text, 'timebox_graph_request_duration_seconds_count{operation="removeMember",outcome="ok"}'),
    ).toBe(1);
    expect(
      valueOf(
        text,
        'timebox_connector_request_duration_seconds_count{operation="postToChannel",outcome="ok"}',
      ),
    ).toBeGreaterThanOrEqual(1);

    const transitions = logger.entries.filter(
      (e) => e.level === 'info' && (e.obj as { requestId?: string }).requestId === request.id,
    );
    const events = transitions.map((e) => (e.obj as { event: string }).event);
    expect(events).toEqual(
      expect.arrayContaining(['submitted', 'approved', 'granted', 'expired', 'member_removed']),
    );
    const approved = transitions.find((e) => (e.obj as { event: string }).event === 'approved')!;
    expect(approved.obj).toMatchObject({
      group: 'sandbox',
      groupId: GROUPS.sandbox,
      actor: users.alex.aadObjectId,
      requester: users.alex.aadObjectId,
    });
    // The justification is the requester's text: not for the operator's log.
    expect(JSON.stringify(transitions)).not.toContain('because metrics');
    expect(JSON.stringify(transitions)).not.toMatch(/"metrics"/);

    if (havePromtool) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      // promtool lints names; prom-client's own process metrics (timebox_process_nodejs_*_total
      // gauges) break its "_total" rule and are not ours to rename. Ours must be clean.
      const problems = `${check.stdout}${check.stderr}`
        .split('\n')
        .filter((line) => line.trim() && !line.startsWith('timebox_process_nodejs_'));
      expect(problems).toEqual([]);
      expect(check.error).toBeUndefined();
    }
  });

  it('counts a Graph failure by its error code', async () => {
    h.directory.faults.add({ route: 'POST /groups/*/members/$ref', status: 403, times: 1 });
    const request = await h.ask(users.alex, 'request sandbox for 1h because metrics');
    await h.clickOnCard(users.alex, 'approve', request);
    await waitFor(async () => {
      const text = await scrape();
      return (
        valueOf(
          text,
          'timebox_graph_request_duration_seconds_count{operation="addMember",outcome="DIRECTORY.PERMISSION_MISSING"}',
        ) === 1
      );
    }, 'the 403 counted');
  });
});
