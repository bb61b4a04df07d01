import type { FakeConnector } from '../helpers/fake-connector';
import { cardError, type ChaosTeams } from './client';
import { approversOf, MANAGED, type ChaosUser, type Fixture, type ManagedGroup } from './fixture';

export type Scenario =
  | 'expire'
  | 'release'
  | 'revoke'
  | 'extend'
  | 'deny'
  | 'cancel'
  | 'timeout'
  | 'double'
  | 'auto'
  | 'glass'
  | 'scheduled';

/** How often each scenario is picked (weights). */
const MIX: Array<[Scenario, number]> = [
  ['expire', 26],
  ['release', 12],
  ['revoke', 10],
  ['extend', 12],
  ['deny', 10],
  ['cancel', 6],
  ['timeout', 4],
  ['double', 10],
  ['auto', 6],
  ['glass', 4],
  ['scheduled', 12],
];

/** The groups a scheduled request is filed for (break-glass starts now; `auto` needs no approval card). */
const SCHEDULABLE: ManagedGroup[] = ['std', 'two', 'enforce'];

export interface WorkloadOptions {
  fixture: Fixture;
  teams: ChaosTeams;
  connector: FakeConnector;
  rand: () => number;
  /** Scenarios to start (each files one request). */
  requests: number;
  minGrantS: number;
  maxGrantS: number;
  /** Pause of each person between their scenarios. */
  thinkMs: [number, number];
  /** How far ahead a scheduled request starts, seconds (the product wants at least a minute). */
  scheduleAheadS: [number, number];
  /** Scheduled scenarios are only started in this first share of the scenarios, so that their starts fall within the run. */
  scheduledWithin: number;
  log: (line: string) => void;
}

/** A decision the bot acknowledged (its answer showed the card with no error): it must be in the audit log. */
export interface AckedDecision {
  requestId: string;
  actorId: string;
  verb: 'approve' | 'deny' | 'revoke';
  at: number;
}

interface Card {
  requestId: string;
  where: { conversationId: string; replyToId: string };
}

/**
 * Requesters and approvers doing what they do in Teams, over HTTP, through crashes: each
 * requester runs scenarios one after another (a request, then the decisions, releases,
 * extensions and revocations that scenario calls for), in parallel with everyone else.
 */
export class Workload {
  readonly started: Record<Scenario, number> = {
    expire: 0,
    release: 0,
    revoke: 0,
    extend: 0,
    deny: 0,
    cancel: 0,
    timeout: 0,
    double: 0,
    auto: 0,
    glass: 0,
    scheduled: 0,
  };
  readonly acked: AckedDecision[] = [];
  /** Request ids learned from the approval cards in the channel. */
  readonly requestIds = new Set<string>();
  /** Messages and clicks the bot never answered, even after retrying for a minute. */
  undelivered = 0;
  /** Scenarios whose approval card never showed up (the request was refused, or lost with its message). */
  noCard = 0;
  clicks = 0;
  refusedClicks = 0;
  /** Requests sent again because the bot answered "try again" or nothing. */
  resent = 0;
  private next = 0;
  private scanned = 0;
  private readonly cards = new Map<string, Card>();
  /** (requester, group) → until when a request of it may still be open. */
  private readonly busy = new Map<string, number>();

  constructor(private readonly o: WorkloadOptions) {}

  get scenarios(): number {
    return this.next;
  }

  async run(): Promise<void> {
    await Promise.all(this.o.fixture.requesters.map((user) => this.person(user)));
  }

  private async person(user: ChaosUser): Promise<void> {
    const { rand } = this.o;
    await sleep(rand() * 3000);
    while (this.next < this.o.requests) {
      const scenario = this.pickScenario(user);
      const group = this.pickGroup(user, scenario);
      if (!group) {
        await sleep(1000 + rand() * 2000);
        continue;
      }
      const n = this.next++;
      this.started[scenario]++;
      try {
        await this.play(user, group, scenario, n);
      } catch (error) {
        this.o.log(`scenario ${n} (${scenario}) failed in the workload: ${(error as Error).message}`);
      }
      await sleep(this.o.thinkMs[0] + rand() * (this.o.thinkMs[1] - this.o.thinkMs[0]));
    }
  }

  private pickScenario(user: ChaosUser): Scenario {
    const total = MIX.reduce((sum, [, w]) => sum + w, 0);
    let r = this.o.rand() * total;
    for (const [scenario, weight] of MIX) {
      r -= weight;
      if (r < 0) {
        if (scenario === 'auto' && !this.o.fixture.oncall.has(user.aadObjectId)) return 'expire';
        if (scenario === 'scheduled' && this.next >= this.o.requests * this.o.scheduledWithin)
          return 'expire';
        return scenario;
      }
    }
    return 'expire';
  }

  private pickGroup(user: ChaosUser, scenario: Scenario): ManagedGroup | undefined {
    const now = Date.now();
    const free = (g: ManagedGroup) => (this.busy.get(`${user.key}/${g}`) ?? 0) <= now;
    if (scenario === 'auto') return free('auto') ? 'auto' : undefined;
    if (scenario === 'glass') return free('glass') ? 'glass' : undefined;
    if (scenario === 'scheduled') {
      const options = SCHEDULABLE.filter(free);
      return options.length ? options[Math.floor(this.o.rand() * options.length)] : undefined;
    }
    // On-call people asking for `auto` are approved by the rule: keep the approval scenarios elsewhere.
    const options = MANAGED.filter(
      (g) => free(g) && !(g === 'auto' && this.o.fixture.oncall.has(user.aadObjectId)),
    );
    return options.length ? options[Math.floor(this.o.rand() * options.length)] : undefined;
  }

  private markBusy(user: ChaosUser, group: ManagedGroup, untilMs: number): void {
    this.busy.set(`${user.key}/${group}`, Math.max(this.busy.get(`${user.key}/${group}`) ?? 0, untilMs));
  }

  private async play(user: ChaosUser, group: ManagedGroup, scenario: Scenario, n: number): Promise<void> {
    const { rand, teams } = this.o;
    const seconds = this.o.minGrantS + Math.floor(rand() * (this.o.maxGrantS - this.o.minGrantS + 1));
    const token = `chaos${n}x`;
    // A scheduled request starts this far ahead of each time it is sent (ISO 8601, to the second).
    const aheadS =
      scenario === 'scheduled'
        ? this.o.scheduleAheadS[0] +
          Math.floor(rand() * (this.o.scheduleAheadS[1] - this.o.scheduleAheadS[0] + 1))
        : 0;
    let startsAt = 0;
    // Until the scenario is over, and for as long as the grant can last (extensions included).
    this.markBusy(user, group, Date.now() + (seconds + 60 + (aheadS ? aheadS + 150 : 0)) * 1000);
    const verb = scenario === 'glass' ? 'break-glass' : 'request';
    let card: Card | undefined;
    // As a person would: a request answered with "try again" (Graph failing even after the bot's
    // retries) or not answered at all is sent again; a refusal is not.
    for (let attempt = 1; attempt <= 3 && !card; attempt++) {
      startsAt = Date.now() + aheadS * 1000;
      const at = aheadS ? ` at ${new Date(startsAt).toISOString().replace(/\.\d{3}Z$/, 'Z')}` : '';
      const said = await teams.say(
        user,
        `${verb} ${group}${at} for ${seconds}s because ${token} chaos workload`,
      );
      if (!said.delivered) this.undelivered++;
      const outcome = await this.cardOrReply(token, said.activityId, 45_000);
      card = outcome.card;
      if (card) break;
      this.o.log(
        `scenario ${n}: no approval card for ${user.key}/${group} (${scenario}), attempt ${attempt}; the bot said: ${outcome.reply ?? '(nothing)'}`,
      );
      // A start that came too close while the message waited out a restart: asked again, from now.
      if (outcome.reply && !/try again|at least a minute ahead/i.test(outcome.reply)) break;
      this.resent++;
    }
    if (!card) {
      this.noCard++;
      return;
    }
    this.requestIds.add(card.requestId);
    const approvers = approversOf(this.o.fixture, group);
    const shuffled = [...approvers].sort(() => rand() - 0.5);
    const approvals = group === 'two' ? 2 : 1;
    const approve = async () => {
      for (const approver of shuffled.slice(0, approvals)) await this.click(approver, 'approve', card, {});
    };
    const waitS = (lo: number, hi: number) => sleep((lo + rand() * (hi - lo)) * 1000);
    const short = Math.max(2, Math.min(8, seconds - 3));

    switch (scenario) {
      case 'expire':
        await approve();
        break;
      case 'release':
        await approve();
        await waitS(1, short);
        await this.say(user, `release ${group}`);
        break;
      case 'revoke':
        await approve();
        await waitS(1, short);
        await this.click(shuffled[0]!, 'revoke', card, { reason: `${token} revoked by the workload` });
        break;
      case 'extend':
        await approve();
        await waitS(2, short);
        await this.say(user, `extend ${group} by 10s because ${token} more time`);
        if (group === 'two') {
          await waitS(0.5, 2);
          // The approval card's button for the extension names it: the first one asked on the grant.
          for (const approver of shuffled.slice(0, 2))
            await this.click(approver, 'approve', card, { subject: 'extension:1' }, false);
        }
        break;
      case 'deny':
        await waitS(0, 2);
        await this.click(shuffled[0]!, 'deny', card, { reason: `${token} denied by the workload` });
        break;
      case 'cancel':
        await waitS(0, 2);
        await this.say(user, `cancel ${card.requestId}`);
        break;
      case 'timeout':
        // Nobody decides: it times out (pendingTimeout), through restarts.
        this.markBusy(user, group, Date.now() + 45_000);
        break;
      case 'double': {
        // Two approvers at once (one approval needed: one decides, the other is told it is
        // resolved), or one approver clicking twice at once: decided once, voted once.
        const [a, b] = shuffled as [ChaosUser, ChaosUser];
        await Promise.all(
          group === 'two'
            ? [
                this.click(a, 'approve', card, {}),
                this.click(a, 'approve', card, {}),
                this.click(b, 'approve', card, {}),
              ]
            : [this.click(a, 'approve', card, {}), this.click(b, 'approve', card, {})],
        );
        break;
      }
      case 'auto':
        if (rand() < 0.4) {
          await waitS(2, short);
          await this.say(user, `release ${group}`);
        }
        break;
      case 'scheduled':
        // Approved ahead of its start (status `scheduled`); granted by the scheduler at the start,
        // through whatever kills fall on it. A share is cancelled before the start instead.
        await approve();
        if (rand() < 0.2) {
          await waitS(1, 5);
          if (Date.now() < startsAt - 15_000) await this.say(user, `cancel ${card.requestId}`);
          break;
        }
        await sleep(Math.max(0, startsAt - Date.now()));
        if (rand() < 0.3) {
          await waitS(2, short);
          await this.say(user, `release ${group}`);
        }
        break;
      case 'glass':
        await waitS(1, short);
        if (rand() < 0.5) await this.click(shuffled[0]!, 'acknowledge', card, {});
        else if (rand() < 0.5)
          await this.click(shuffled[0]!, 'revoke', card, { reason: `${token} break-glass not justified` });
        break;
    }
  }

  private async say(user: ChaosUser, text: string): Promise<void> {
    const result = await this.o.teams.say(user, text);
    if (!result.delivered) this.undelivered++;
  }

  /** A click; `decision` false: an extension approval (audited as the extension, not as a vote). */
  private async click(
    user: ChaosUser,
    verb: 'approve' | 'deny' | 'revoke' | 'acknowledge',
    card: Card,
    extra: Record<string, unknown>,
    decision = true,
  ): Promise<void> {
    this.clicks++;
    const result = await this.o.teams.click(user, verb, { requestId: card.requestId, ...extra }, card.where);
    if (!result.delivered) {
      this.undelivered++;
      return;
    }
    // Taken into account only when the answer is the request's approval card without an error
    // line: an error can also come back as a plain message card (e.g. Graph failing while the
    // bot looked the person up), which shows no decision.
    const approvalCard = JSON.stringify(result.body ?? '').includes(`Request ${card.requestId} ·`);
    const error =
      result.status !== 200
        ? `HTTP ${result.status}`
        : cardError(result.body) || (approvalCard ? '' : 'not the approval card');
    if (error) {
      this.refusedClicks++;
      return;
    }
    if (decision && verb !== 'acknowledge')
      this.acked.push({ requestId: card.requestId, actorId: user.aadObjectId, verb, at: Date.now() });
  }

  /**
   * The approval card of the request filed with `token`, as the approvers see it in the channel;
   * or the bot's answer to the message (`activityId`) when it refused it or failed: a request
   * that works gets no text answer in personal chat, only the receipt card.
   */
  private async cardOrReply(
    token: string,
    activityId: string,
    timeoutMs: number,
  ): Promise<{ card?: Card; reply?: string }> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      this.scan();
      const card = this.cards.get(token);
      if (card) return { card };
      const reply = this.o.connector.sent.find(
        (s) => s.replyToId === activityId && typeof s.activity.text === 'string',
      )?.activity.text;
      // A refusal comes at once; give a card that is on its way a moment more.
      if (reply && Date.now() > end - timeoutMs + 3000) return { reply };
      if (Date.now() > end) return { reply };
      await sleep(200);
    }
  }

  private scan(): void {
    const created = this.o.connector.created;
    for (; this.scanned < created.length; this.scanned++) {
      const entry = created[this.scanned]!;
      const text = JSON.stringify(entry.params.activity ?? {});
      const token = /chaos\d+x/.exec(text)?.[0];
      const requestId = /"requestId":"(R-[A-Z0-9]+)"/.exec(text)?.[1];
      if (token && requestId && !this.cards.has(token))
        this.cards.set(token, {
          requestId,
          where: { conversationId: entry.id, replyToId: entry.activityId },
        });
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
