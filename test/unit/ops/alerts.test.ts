import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * The alert rules and the dashboard (ops/): promtool accepts the rules and their unit tests
 * pass (each alert fires on its series and stays quiet on healthy ones), and every metric they
 * query is one Timebox exports.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const RULES = path.join(ROOT, 'ops', 'prometheus', 'timebox-alerts.yml');
const RULE_TESTS = path.join(ROOT, 'ops', 'prometheus', 'timebox-alerts.test.yml');
const DASHBOARD = path.join(ROOT, 'ops', 'grafana', 'timebox-dashboard.json');

const havePromtool = spawnSync('promtool', ['--version']).status === 0;
if (!havePromtool)
  console.warn(
    'SKIPPED promtool checks in test/unit/ops/alerts.test.ts: promtool is not installed (apt-get install -y prometheus; .ci/run installs it).',
  );
const withPromtool = havePromtool ? it : it.skip;

/** Metric names src/adapters/http/metrics.ts defines. */
function exported(): Set<string> {
  const source = readFileSync(path.join(ROOT, 'src', 'adapters', 'http', 'metrics.ts'), 'utf8');
  return new Set([...source.matchAll(/name: '(timebox_[a-z_]+)'/g)].map((m) => m[1]!));
}

/** timebox_* names an expression uses, histogram suffixes taken off. */
function used(expr: string): string[] {
  return [...expr.matchAll(/\btimebox_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''));
}

describe('ops/prometheus and ops/grafana', () => {
  withPromtool('promtool check rules accepts the rules', () => {
    const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect([check.status, check.stderr]).toEqual([0, '']);
    expect(check.stdout).toMatch(/SUCCESS: 6 rules found/);
  });

  withPromtool('promtool test rules: every alert fires on its case and not on healthy series', () => {
    const check = spawnSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
    expect([check.status, check.stderr]).toEqual([0, '']);
    expect(check.stdout).toMatch(/SUCCESS/);
    const tests = parse(readFileSync(RULE_TESTS, 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const firing = new Set(
      tests.tests.flatMap((t) =>
        t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
      ),
    );
    const rules = parse(readFileSync(RULES, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string }> }>;
    };
    expect([...firing].sort()).toEqual(rules.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort());
  });

  it('has the alerts issue 14 asks for, on metrics Timebox exports', () => {
    const rules = parse(readFileSync(RULES, 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string; for?: string }> }>;
    };
    const byName = new Map(rules.groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));
    expect(byName.get('TimeboxOverdueGrants')).toMatchObject({
      expr: 'max(timebox_overdue_grants) > 0',
      for: '1m',
    });
    expect(byName.get('TimeboxRemovalLagHigh')?.expr).toMatch(
      /histogram_quantile\(0\.99, .*timebox_removal_lag_seconds_bucket.*\) > 5$/,
    );
    expect(byName.get('TimeboxGraphForbidden')?.expr).toContain('outcome="DIRECTORY.PERMISSION_MISSING"');
    expect(byName.get('TimeboxOutboxStuck')?.expr).toContain('timebox_outbox_oldest_due_seconds');
    expect(byName.get('TimeboxNotReady')?.expr).toContain('timebox_ready');
    const names = exported();
    for (const rule of byName.values())
      for (const metric of used(rule.expr))
        expect([rule.alert, metric, names.has(metric)]).toEqual([rule.alert, metric, true]);
  });

  it('has a Grafana dashboard whose panels query exported metrics', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      title: string;
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    expect(dashboard.title).toBe('Timebox');
    const names = exported();
    const queried = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => used(t.expr))));
    for (const metric of queried) expect([metric, names.has(metric)]).toEqual([metric, true]);
    for (const metric of [
      'timebox_decision_seconds',
      'timebox_removal_lag_seconds',
      'timebox_graph_request_duration_seconds',
      'timebox_connector_request_duration_seconds',
      'timebox_outbox_depth',
    ]) {
      expect([metric, queried.has(metric)]).toEqual([metric, true]);
    }
  });
});
