import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startHarness, testPolicy, type Harness } from '../helpers/harness';
import { cardText, waitFor } from '../helpers/fake-connector';
import { personalChatOf, users, type TeamsUser } from '../helpers/teams-client';
import type { AccessRequest } from '../../src/domain/request';
import type { PolicyInput } from '../../src/domain/policy';

// Issue 19, finding 3: with extension.requireApproval false, break-glass and auto-approved
// grants grew with no approval through `request` and `extend`, and grants of groups gone from
// the policy were extended by the defaults. Through the real bot: what people are told.

const ROOT = path.join(__dirname, '../..');

/** Extensions need no approval by default: the demo policy's setting. */
function directExtensions(): PolicyInput {
  return testPolicy({
    defaults: {
      defaultDuration: '1h',
      maxDuration: '8h',
      pendingTimeout: '1h',
      remindAfter: '15m',
      expiryWarning: '1m',
      approvals: 1,
      requireJustification: true,
      extension: { requireApproval: false, maxTotal: '4h' },
    },
  });
}

describe('break-glass and auto-approved grants in chat', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ policy: directExtensions() });
  });
  afterEach(async () => {
    await h.close();
  });

  const textsTo = (user: TeamsUser) =>
    h.connector
      .sentTo(personalChatOf(user))
      .map((s) => s.activity.text)
      .filter((t): t is string => typeof t === 'string');
  const activeGrant = (who: TeamsUser) =>
    waitFor(
      async () =>
        (await h.bot.store.listOpen({ requesterId: who.aadObjectId })).find((r) => r.status === 'active'),
      'active grant',
    );

  it('a typed request on a break-glass grant says that more time needs an approver, and asks them', async () => {
    await h.teams.say(users.alex, 'break-glass prod-admin 15m because site down INC-1');
    const glass = await activeGrant(users.alex);
    expect(glass).toMatchObject({ kind: 'break_glass', durationMs: 15 * 60_000 });
    await h.bot.settled();

    await h.teams.say(users.alex, 'request prod-admin for 2h because still down INC-1');
    const reply = await waitFor(() => textsTo(users.alex).find((t) => t.includes('more time')), 'the reply');
    expect(reply).toBe(
      `You hold prod-admin by break-glass, so more time needs an approver: I asked the approvers to extend ${glass.id} by 2h.`,
    );
    const after = (await h.bot.store.get(glass.id)) as AccessRequest;
    expect(after).toMatchObject({
      status: 'active',
      expiresAt: glass.expiresAt,
      extensions: [],
      pendingExtension: { addedMs: 2 * 3_600_000 },
    });
    // The approvers are asked in the card's thread, as for any pending extension.
    const card = after.approvalCard!;
    const thread = await waitFor(
      () =>
        h.connector.sent.find(
          (s) =>
            s.conversationId.endsWith(`messageid=${card.activityId}`) &&
            /asks to extend/.test(cardText(s.activity.attachments?.[0]?.content)),
        ),
      'extension request in the thread',
    );
    expect(cardText(thread.activity.attachments?.[0]?.content)).toMatch(
      /Alex Wilber asks to extend .* by 2h/,
    );

    // `extend` meets the waiting extension; nothing moves.
    await h.teams.say(users.alex, 'extend prod-admin by 1h because still down');
    await waitFor(
      () => textsTo(users.alex).find((t) => /already waiting for approval/.test(t)),
      'the duplicate reply',
    );
    expect((await h.bot.store.get(glass.id))?.expiresAt).toBe(glass.expiresAt);
  });

  it('the request form on an auto-approved grant says the same', async () => {
    await h.teams.say(users.isaiah, 'request prod-admin for 30m because pager INC-5');
    const auto = await activeGrant(users.isaiah);
    expect(auto.kind).toBe('auto');
    await h.bot.settled();

    const answer = await h.teams.click(
      users.isaiah,
      'submitRequest',
      { group: 'prod-admin', duration: '30m', justification: 'pager again', ticket: 'INC-5' },
      { conversationId: personalChatOf(users.isaiah), personal: true },
    );
    expect(answer.status).toBe(200);
    expect(cardText(answer.body.value)).toContain(
      `You hold prod-admin by auto-approval, so more time needs an approver: I asked the approvers to extend ${auto.id} by 30m.`,
    );
    expect(await h.bot.store.get(auto.id)).toMatchObject({
      expiresAt: auto.expiresAt,
      extensions: [],
      pendingExtension: { addedMs: 30 * 60_000 },
    });
  });

  it('a grant of a group gone from the policy: extend is refused with why, release still works', async () => {
    await h.teams.say(users.alex, 'request sandbox for 1h because trying it');
    const pending = await waitFor(
      async () => (await h.bot.store.listOpen()).find((r) => r.approvalCard),
      'approval card',
    );
    await h.teams.click(
      users.alex,
      'approve',
      { requestId: pending.id },
      { conversationId: pending.approvalCard!.conversationId, replyToId: pending.approvalCard!.activityId },
    );
    const active = await activeGrant(users.alex);
    await h.bot.settled();

    // The admin takes sandbox out of the policy and restarts the bot.
    const policy = directExtensions();
    delete policy.groups['sandbox'];
    writeFileSync(path.join(h.dataDir, 'policy.yaml'), stringify(policy));
    await h.restart();

    await h.teams.say(users.alex, 'extend sandbox by 30m because more');
    const refused = await waitFor(
      () => textsTo(users.alex).find((t) => t.includes('no longer in the policy')),
      'the refusal',
    );
    expect(refused).toBe(
      'sandbox is no longer in the policy; its grant cannot be extended. File a new request for a group the policy has ("help" lists them), or ask an admin.',
    );
    expect(await h.bot.store.get(active.id)).toMatchObject({
      status: 'active',
      expiresAt: active.expiresAt,
      extensions: [],
    });
    expect(
      (await h.audit()).find((r) => r.type === 'refused' && r.detail?.code === 'EXTENSION.NOT_ALLOWED'),
    ).toMatchObject({ actor: { id: users.alex.aadObjectId } });

    await h.teams.say(users.alex, 'release sandbox');
    await waitFor(
      () => textsTo(users.alex).find((t) => t.startsWith(`Released ${active.id}`)),
      'the release reply',
    );
    await waitFor(
      async () => ((await h.bot.store.get(active.id))?.status === 'released' ? true : undefined),
      'released',
    );
  });
});

describe('timebox policy check', () => {
  it('warns, without failing, about breakGlass or autoApprove with extensions that need no approval', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'timebox-policy-check-'));
    try {
      const file = path.join(dir, 'policy.yaml');
      writeFileSync(file, stringify(directExtensions()));
      const { code, stdout, stderr } = await new Promise<{
        code: number | null;
        stdout: string;
        stderr: string;
      }>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
            path.join(ROOT, 'src/cli.ts'),
            'policy',
            'check',
            file,
          ],
          { env: { PATH: process.env.PATH ?? '' } },
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('exit', (c) => resolve({ code: c, stdout: out, stderr: err }));
      });
      expect(code).toBe(0);
      expect(stdout).toContain(`${file} is valid: 3 group(s), 1 approver channel(s), 1 warning(s).`);
      expect(stderr.trim()).toBe(
        "warning: groups.prod-admin: breakGlass and autoApprove with extension.requireApproval: false (from defaults): extensions of break-glass and auto-approved grants will still need an approver's approval; only grants people approved are extended at once.",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
