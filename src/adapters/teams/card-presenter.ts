import { channelTimeZone, personTimeZone, type Presenter } from '../../app/presenter';
import type { AccessService } from '../../app/access-service';
import { currentDelegations } from '../../app/delegations';
import type { AccessRequest, ListCardRef } from '../../domain/request';
import type { Clock } from '../../ports/clock';
import type { Directory } from '../../ports/directory';
import type { Mention } from '../../ports/notifier';
import type { Store } from '../../ports/store';
import {
  MAX_REFRESH_USERS,
  renderApprovalCard,
  renderNotice,
  renderReceiptCard,
  type NoticeKind,
} from '../../cards';
import type { TeamMember, TeamRoster } from './team-roster';
import { renderList } from './list-cards';

const APPROVER_TTL_MS = 10 * 60_000;

/** The members of the approvers' team at a service URL, as one card reads them (see teamMembersOf). */
type TeamMembers = (serviceUrl: string) => Promise<TeamMember[]>;

/**
 * The worker's view of the cards. The approval card goes to everyone as the status-only view,
 * with `refresh.userIds` naming the group's approvers and the requester, so Teams fetches
 * their own view (with their buttons) from the bot.
 */
export class CardPresenter implements Presenter {
  private readonly approverCache = new Map<string, { at: number; members: TeamMember[] }>();

  constructor(
    private readonly deps: {
      clock: Clock;
      store: Store;
      service: AccessService;
      roster?: TeamRoster;
      /** Out of office (automatic replies): away approvers are not @mentioned when others can be. */
      directory?: Pick<Directory, 'automaticReplies'>;
      defaultServiceUrl?: string;
      /**
       * Put the approvers' buttons on the card everyone sees. Needed where the client cannot
       * fetch user-specific views (the Agents Playground), and used whenever `refresh.userIds`
       * cannot name every approver (more than 60, or the roster is unknown). Safe: every
       * click is authorized from the store and the clicker's identity, never from the card.
       */
      sharedButtons?: boolean;
    },
  ) {}

  async approvalCard(request: AccessRequest): Promise<object> {
    const team = this.teamMembersOf(request);
    const approvers = [
      ...(await this.approversInTeam(request, team)),
      ...(await this.delegatesInTeam(request, team)),
    ];
    const { away, total } = await this.awayApprovers(request, team);
    const requester = await this.teamsIdOf(request);
    const ids = [...new Set([...(requester ? [requester] : []), ...approvers.map((m) => m.teamsId)])].slice(
      0,
      MAX_REFRESH_USERS,
    );
    const everyApproverNamed = approvers.length > 0 && approvers.length < MAX_REFRESH_USERS - 1;
    // NB: once escalated, people outside the approvers' team may decide (another channel, another
    // team's roster): the buttons are shown to everyone, and every click is checked as always.
    const shared = this.deps.sharedButtons || !everyApproverNamed || request.escalatedAt !== undefined;
    const viewer = shared ? 'approver' : 'other';
    return renderApprovalCard({
      request,
      viewer,
      now: this.deps.clock.now(),
      refreshUserIds: ids,
      timeZone: channelTimeZone(this.deps.service.policy, request),
      away: { names: away, everyone: total > 0 && away.length === total },
    });
  }

  /** Members of the approvers' team who stand in for an approver now (delegation): they get the buttons too. */
  private async delegatesInTeam(request: AccessRequest, team: TeamMembers): Promise<TeamMember[]> {
    const { roster, service, store, clock } = this.deps;
    const channel = service.policy.approverChannels[request.approverChannel];
    if (!roster || !channel || request.status !== 'pending') return [];
    const delegations = await currentDelegations(store, clock.now());
    if (delegations.length === 0) return [];
    const serviceUrl = request.approvalCard?.serviceUrl ?? this.deps.defaultServiceUrl;
    if (!serviceUrl) return [];
    const members = await team(serviceUrl);
    const delegateIds = new Set(delegations.map((d) => d.to.id.toLowerCase()));
    const out: TeamMember[] = [];
    for (const m of members)
      if (
        delegateIds.has(m.aadObjectId.toLowerCase()) &&
        (await service.canDecide(request, { id: m.aadObjectId, name: m.name, upn: m.upn }).catch(() => false))
      )
        out.push(m);
    return out;
  }

  /** Who of the approvers the card names is away now (cached by the directory a few minutes). */
  async awayApprovers(
    request: AccessRequest,
    team = this.teamMembersOf(request),
  ): Promise<{ away: string[]; total: number }> {
    const { directory } = this.deps;
    if (!directory || request.status !== 'pending') return { away: [], total: 0 };
    const members = await this.approversInTeam(request, team);
    const answers = await Promise.all(members.map((m) => directory.automaticReplies(m.aadObjectId)));
    return {
      away: members.filter((_, i) => answers[i] === 'away').map((m) => m.name),
      total: members.length,
    };
  }

  async receiptCard(request: AccessRequest): Promise<object> {
    const timeZone = await personTimeZone(this.deps.store, request.requester.id);
    return renderReceiptCard({ request, now: this.deps.clock.now(), timeZone });
  }

  listCard(ref: ListCardRef) {
    return renderList(this.deps, ref.list, ref.viewer, { userId: ref.userId });
  }

  async notice(
    template: NoticeKind,
    request: AccessRequest,
    audience: 'channel' | 'requester',
    data?: Record<string, unknown>,
  ) {
    const team = this.teamMembersOf(request);
    const mentions: Mention[] =
      audience !== 'channel'
        ? []
        : template === 'escalated'
          ? await this.escalationApproversInTeam(request, team)
          : template === 'reminder' || template === 'break_glass' || template === 'extension_requested'
            ? await this.mentionable(request, team)
            : [];
    return renderNotice(template, {
      request,
      now: this.deps.clock.now(),
      audience,
      mentions,
      rules: this.deps.service.rulesOf(request),
      detail: noticeDetail(data),
      timeZone: await this.zoneOf(request, audience),
    });
  }

  /** The escalation approvers (`escalateTo` users and groups) who are members of the approvers' team: @mentioned on escalation. */
  private async escalationApproversInTeam(request: AccessRequest, team: TeamMembers): Promise<Mention[]> {
    const { roster, service } = this.deps;
    const escalation = service.rulesOf(request).escalation;
    const channel = service.policy.approverChannels[request.approverChannel];
    const serviceUrl = request.approvalCard?.serviceUrl ?? this.deps.defaultServiceUrl;
    if (!roster || !channel || !escalation || !serviceUrl) return [];
    const out: Mention[] = [];
    for (const m of await team(serviceUrl)) {
      if (out.length >= MAX_REFRESH_USERS - 1) break;
      const person = { id: m.aadObjectId, name: m.name, upn: m.upn };
      if (await service.authorizer.matches(escalation.approvers, person).catch(() => false))
        out.push({ id: m.teamsId, name: m.name });
    }
    return out;
  }

  /** The approvers to @mention: those who are in, or everyone when nobody is (someone must be told). */
  private async mentionable(request: AccessRequest, team: TeamMembers): Promise<Mention[]> {
    const members = await this.approversInTeam(request, team);
    const { away } = await this.awayApprovers(request, team);
    const present = members.filter((m) => !away.includes(m.name));
    return (present.length > 0 ? present : members).map((m) => ({ id: m.teamsId, name: m.name }));
  }

  /** A thread reply is read in the approver channel's zone; a personal message in the requester's. */
  private async zoneOf(
    request: AccessRequest,
    audience: 'channel' | 'requester',
  ): Promise<string | undefined> {
    return audience === 'channel'
      ? channelTimeZone(this.deps.service.policy, request)
      : personTimeZone(this.deps.store, request.requester.id);
  }

  /** Members of the approvers' team who may approve this group (cached: group checks cost Graph calls). */
  private async approversInTeam(request: AccessRequest, team: TeamMembers): Promise<TeamMember[]> {
    const { roster, service } = this.deps;
    const channel = service.policy.approverChannels[request.approverChannel];
    if (!roster || !channel) return [];
    const key = `${request.group.alias}|${channel.teamId}`;
    const cached = this.approverCache.get(key);
    if (cached && this.deps.clock.now() - cached.at < APPROVER_TTL_MS) return cached.members;
    const serviceUrl =
      request.approvalCard?.serviceUrl ??
      (request.tenantId && (await this.deps.store.getServiceUrl(request.tenantId))) ??
      this.deps.defaultServiceUrl;
    if (!serviceUrl) return [];
    const rules = service.rulesOf(request);
    const members: TeamMember[] = [];
    for (const member of await team(serviceUrl)) {
      if (members.length >= MAX_REFRESH_USERS - 1) break;
      const person = { id: member.aadObjectId, name: member.name, upn: member.upn };
      if (await service.authorizer.isApprover(rules, person).catch(() => false)) members.push(member);
    }
    this.approverCache.set(key, { at: this.deps.clock.now(), members });
    return members;
  }

  /**
   * The members of the approvers' team, for one card: the roster is read once, when a part of
   * the card first needs them (approvers, delegates, escalation approvers), and shared by the
   * others. [] without a roster or an approvers' channel.
   */
  private teamMembersOf(request: AccessRequest): TeamMembers {
    const { roster, service } = this.deps;
    const channel = service.policy.approverChannels[request.approverChannel];
    const reads = new Map<string, Promise<TeamMember[]>>();
    return (serviceUrl) => {
      if (!roster || !channel) return Promise.resolve([]);
      let read = reads.get(serviceUrl);
      if (!read) reads.set(serviceUrl, (read = roster.members(serviceUrl, channel.teamId)));
      return read;
    };
  }

  private async teamsIdOf(request: AccessRequest): Promise<string | undefined> {
    return (await this.deps.store.getPersonalChat(request.requester.id))?.userId;
  }
}

/** The notice's extra facts from an effect's data, taking only strings. */
function noticeDetail(
  data: Record<string, unknown> | undefined,
): { by?: string; reason?: string; added?: string } | undefined {
  if (!data) return undefined;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return { by: text(data.by), reason: text(data.reason), added: text(data.added) };
}
