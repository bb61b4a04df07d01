import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Locator, Page, Response } from 'playwright-core';
import { RESULTS_DIR } from './e2e-stack';

// Selectors of the playground's page (0.2.28), explained in docs/dev/playground.md.
const SEL = {
  editor: '[data-lexical-editor="true"][role="textbox"]',
  /** A top-level Adaptive Card (a ShowCard's inner card is also .ac-adaptiveCard, nested). */
  cardPanel: '.ac-preview-panel',
  card: '.ac-preview-panel > .ac-adaptiveCard',
  /** A bot message in a personal or group chat. */
  botBubble: '.fai-OutputCard',
  /** A whole chat message: header (author, time), bubble, and the notes under it. */
  chatMessage: 'div:has(> [aria-label="Message header"])',
  /** A channel thread (root post, its replies and its reply box); the first one is the new-post box. */
  thread: '.fui-Card[role="group"]',
  mentionMenuItem: '#typeahead-menu [role="menuitem"]',
} as const;

export interface PlaygroundUser {
  id: string;
  name: string;
  aadObjectId: string;
  userPrincipleName?: string;
}

/** What GET /_internal/v1/config answers: the .m365agentsplayground.yml as the playground read it. */
export interface PlaygroundConfig {
  tenantId: string;
  bot: { id: string; name: string };
  currentUser: PlaygroundUser;
  users: PlaygroundUser[];
  personalChat: { id: string; name: string };
  groupChats: { id: string; name: string; members: string[] }[];
  teams: { id: string; name: string; channels: { id: string; name: string }[] }[];
}

/** A message the bot sent or updated, as the playground pushed it to the page (WebSocket). */
export interface RecordedMessage {
  messageId: string;
  /** The channel id for a root post, `<channel>;messageid=<root>` for a thread reply, the chat id otherwise. */
  conversationId: string;
  text?: string;
  cards: AdaptiveCardJson[];
  /** How many times it was updated (updateActivity). */
  updates: number;
  at: number;
}

type AdaptiveCardJson = Record<string, unknown>;

/** One entry of the playground's log panel (an activity either way, with the HTTP answer). */
export interface ActivityLogEntry {
  activityName?: string;
  conversationId?: string;
  from?: string;
  to?: string;
  displayText?: string;
  request?: { body?: unknown };
  response?: { statusCode?: number; body?: unknown };
}

export interface InvokeResult {
  status: number;
  body: unknown;
}

type ViewKind = 'personal' | 'group' | 'channel';

interface View {
  kind: ViewKind;
  name: string;
  conversationId: string;
  /** Bumped on every switch: the page re-renders a conversation when it is opened again. */
  generation: number;
}

/** A card found in the page; valid until the view is switched (re-find it afterwards). */
export class Card {
  constructor(
    readonly locator: Locator,
    readonly view: View,
    private readonly owner: PlaygroundPage,
  ) {}

  /** The card's visible text. */
  async text(): Promise<string> {
    this.owner.assertCurrent(this);
    return this.locator.innerText();
  }

  /** Waits until the card's text matches (e.g. after an invoke or an updateActivity). */
  async waitForText(text: string | RegExp, timeoutMs = 15_000): Promise<void> {
    this.owner.assertCurrent(this);
    await waitUntil(
      async () => matches(await this.locator.innerText(), text),
      timeoutMs,
      () => `card to show ${String(text)}`,
    );
  }

  /** The channel thread this card is the root post (or a reply) of. */
  thread(): Locator {
    this.owner.assertCurrent(this);
    return this.owner.page.locator(SEL.thread).filter({ has: this.locator });
  }

  /**
   * The message that holds the card: its thread in a channel; in a chat, the message with its
   * header (author, time) and the notes the playground puts under it.
   */
  message(): Locator {
    this.owner.assertCurrent(this);
    if (this.view.kind === 'channel') return this.thread();
    return this.owner.page.locator(SEL.chatMessage).filter({ has: this.locator });
  }

  /** A button of the card (an opened ShowCard's buttons included), by its title. */
  button(title: string): Locator {
    this.owner.assertCurrent(this);
    return this.locator.getByRole('button', { name: title, exact: true });
  }
}

function matches(haystack: string, needle: string | RegExp): boolean {
  return typeof needle === 'string' ? haystack.includes(needle) : needle.test(haystack);
}

async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The texts of the card the bot answered an invoke with (TextBlocks and TextRuns, in order),
 * or its message string: what the page would show for that click.
 */
export function answerText(result: InvokeResult | undefined): string {
  const body = result?.body as { type?: string; value?: unknown } | undefined;
  if (typeof body?.value === 'string') return body.value;
  const texts: string[] = [];
  walkCard(body?.value, (element) => {
    if ((element.type === 'TextBlock' || element.type === 'TextRun') && typeof element.text === 'string')
      texts.push(element.text);
  });
  return texts.join('\n');
}

function walkCard(node: unknown, visit: (element: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walkCard(item, visit);
  } else if (node !== null && typeof node === 'object') {
    visit(node as Record<string, unknown>);
    for (const value of Object.values(node)) walkCard(value, visit);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function safeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'screenshot';
}

/** Drives the Microsoft 365 Agents Playground's page like a person would. */
export class PlaygroundPage {
  private readonly recorded = new Map<string, RecordedMessage>();
  private readonly activityLog: ActivityLogEntry[] = [];
  private view: View | undefined;
  private generation = 0;
  private cardMarks = 0;
  /** Messages whose updates the page is not shown (`holdUpdatesOf`). */
  private readonly held = new Set<string>();

  private constructor(
    readonly page: Page,
    readonly url: string,
    readonly config: PlaygroundConfig,
    private readonly screenshotDir: string,
    private readonly activityLogFile: string | undefined,
    private readonly routed: boolean,
  ) {}

  /**
   * Opens the playground in a new page. Keep one page per test file: the page holds the
   * conversation history (a reload starts empty).
   */
  static async open(
    context: BrowserContext,
    url: string,
    options: {
      screenshotDir?: string;
      showLogPanel?: boolean;
      activityLogFile?: string;
      /** Routes the page's WebSocket through the test, so that `holdUpdatesOf` can hold updates back. */
      holdableUpdates?: boolean;
    } = {},
  ): Promise<PlaygroundPage> {
    const response = await fetch(`${url}/_internal/v1/config`);
    if (!response.ok) throw new Error(`GET ${url}/_internal/v1/config: HTTP ${response.status}`);
    const { config } = (await response.json()) as { config: PlaygroundConfig };
    const page = await context.newPage();
    const playground = new PlaygroundPage(
      page,
      url,
      config,
      options.screenshotDir ?? RESULTS_DIR,
      options.activityLogFile,
      options.holdableUpdates === true,
    );
    if (options.activityLogFile) {
      mkdirSync(path.dirname(options.activityLogFile), { recursive: true });
      writeFileSync(options.activityLogFile, '');
    }
    if (options.holdableUpdates) {
      // The playground's feed passes through here: recorded as it comes, shown unless held.
      await page.routeWebSocket(
        () => true,
        (socket) => {
          const server = socket.connectToServer();
          socket.onMessage((message) => server.send(message));
          server.onMessage((message) => {
            const payload = String(message);
            playground.onFrame(payload);
            if (!playground.isHeld(payload)) socket.send(message);
          });
        },
      );
    } else {
      page.on('websocket', (socket) => {
        socket.on('framereceived', (frame) => playground.onFrame(String(frame.payload)));
      });
    }
    await page.goto(url);
    await page.getByRole('treeitem', { name: config.personalChat.name }).waitFor();
    if (!options.showLogPanel) {
      // More room for the conversation, and its texts are not matched twice.
      await page.getByRole('button', { name: 'Hide log panel' }).click();
    }
    return playground;
  }

  /**
   * Calls between the bot and the playground (both ways, as the log panel shows them) that were
   * answered with an HTTP error: a connector call the playground refused (e.g. 400 "Invalid
   * input"), or an activity the bot failed on.
   */
  failedActivities(): ActivityLogEntry[] {
    return this.activityLog.filter((entry) => (entry.response?.statusCode ?? 0) >= 400);
  }

  /** Every message the bot posted or updated since the page opened (latest version of each). */
  messages(): RecordedMessage[] {
    return [...this.recorded.values()].sort((a, b) => a.at - b.at);
  }

  /** The newest recorded message whose card JSON or text contains `text`. */
  findMessage(text: string): RecordedMessage | undefined {
    return this.findMessages(text)[0];
  }

  /** The recorded messages whose card JSON or text contains `text`, newest first. */
  findMessages(text: string): RecordedMessage[] {
    return this.messages()
      .reverse()
      .filter(
        (m) => (m.text ?? '').includes(text) || m.cards.some((card) => JSON.stringify(card).includes(text)),
      );
  }

  /**
   * Keeps the page's copy of a bot message as it is now, like a client that has not caught up
   * yet: the bot's updates of it are recorded (`messages()`) but not shown, so a click on it is a
   * stale click. Needs `holdableUpdates` when the page is opened. Returns the end of the hold:
   * what was held back is dropped, and the page shows the next update (or an invoke's answer).
   */
  holdUpdatesOf(messageId: string): () => void {
    if (!this.routed)
      throw new Error(
        'holdUpdatesOf needs the page opened with holdableUpdates (useE2E({ holdableUpdates: true }))',
      );
    this.held.add(messageId);
    return () => this.held.delete(messageId);
  }

  /** Waits until the bot has updated a message at least `count` times since the page opened. */
  async waitForUpdates(messageId: string, count = 1, timeoutMs = 20_000): Promise<void> {
    await waitUntil(
      async () => (this.recorded.get(messageId)?.updates ?? 0) >= count,
      timeoutMs,
      () => `the bot to update message ${messageId} ${count} time(s)`,
    );
  }

  /** Whether a frame of the playground's feed is an update of a held message. */
  private isHeld(payload: string): boolean {
    if (this.held.size === 0) return false;
    try {
      const frame = JSON.parse(payload) as { action?: string; message?: { messageId?: unknown } };
      return frame.action === 'updateMessage' && this.held.has(String(frame.message?.messageId));
    } catch {
      return false;
    }
  }

  user(userId: string): PlaygroundUser {
    const user = [this.config.currentUser, ...this.config.users].find(
      (u) => u.id === userId || u.aadObjectId === userId,
    );
    if (!user)
      throw new Error(
        `no user ${userId} in .m365agentsplayground.yml (users: ${this.config.users.map((u) => u.id).join(', ')})`,
      );
    return user;
  }

  // --- views --------------------------------------------------------------------------

  async openPersonalChat(): Promise<void> {
    await this.switchTo(
      { kind: 'personal', name: this.config.personalChat.name, conversationId: this.config.personalChat.id },
      this.config.personalChat.name,
    );
  }

  async openGroupChat(name = this.config.groupChats[0]?.name): Promise<void> {
    const chat = this.config.groupChats.find((c) => c.name === name);
    if (!chat) throw new Error(`no group chat "${name}" in .m365agentsplayground.yml`);
    await this.switchTo({ kind: 'group', name: chat.name, conversationId: chat.id }, chat.name);
  }

  /** Opens a team channel by its name, e.g. "ops-approvals". */
  async openChannel(name: string): Promise<void> {
    for (const team of this.config.teams) {
      const channel = team.channels.find((c) => c.name === name);
      // The tree item's accessible name is "<team> - <channel>".
      if (channel)
        return this.switchTo(
          { kind: 'channel', name, conversationId: channel.id },
          `${team.name} - ${channel.name}`,
        );
    }
    throw new Error(`no channel "${name}" in .m365agentsplayground.yml`);
  }

  private async switchTo(next: Omit<View, 'generation'>, treeItem: string): Promise<void> {
    // Already there: no click, so the card handles found in this view stay valid.
    if (this.view?.conversationId === next.conversationId) return;
    await this.page.getByRole('treeitem', { name: treeItem, exact: true }).click();
    this.generation += 1;
    this.view = { ...next, generation: this.generation };
    if (next.kind === 'channel') await this.newPostBox().waitFor();
    else await this.page.locator(SEL.editor).last().waitFor();
  }

  private currentView(): View {
    if (!this.view)
      throw new Error('open a conversation first (openPersonalChat, openChannel, openGroupChat)');
    return this.view;
  }

  /** @internal */
  assertCurrent(card: Card): void {
    if (card.view.generation !== this.view?.generation) {
      throw new Error(
        'this card handle is stale: the view was switched since it was found (the page re-rendered it); find it again with waitForCardWithText',
      );
    }
  }

  // --- sending ------------------------------------------------------------------------

  /**
   * Types `text` into the compose box and sends it as the signed-in user. In a channel this
   * starts a new post. In channels and group chats the bot only receives messages that
   * @mention it, so `mentionBot` defaults to true there.
   */
  async sendMessage(text: string, options: { mentionBot?: boolean } = {}): Promise<void> {
    const view = this.currentView();
    const mention = options.mentionBot ?? view.kind !== 'personal';
    if (view.kind === 'channel') {
      const box = this.newPostBox();
      await this.typeInto(box.locator(SEL.editor), text, mention);
      await this.afterSend(view.conversationId, () =>
        box.getByRole('button', { name: 'Post', exact: true }).click(),
      );
    } else {
      await this.typeInto(this.page.locator(SEL.editor).last(), text, mention);
      await this.afterSend(view.conversationId, () => this.page.keyboard.press('Enter'));
    }
  }

  /** Replies in the thread of a channel card (mentioning the bot unless told otherwise). */
  async replyInThread(card: Card, text: string, options: { mentionBot?: boolean } = {}): Promise<void> {
    const thread = card.thread();
    await this.typeInto(thread.locator(SEL.editor), text, options.mentionBot ?? true);
    await this.afterSend(card.view.conversationId, () => this.page.keyboard.press('Enter'));
  }

  private newPostBox(): Locator {
    return this.page
      .locator(SEL.thread)
      .filter({ has: this.page.getByRole('button', { name: 'Post', exact: true }) });
  }

  private async typeInto(editor: Locator, text: string, mentionBot: boolean): Promise<void> {
    await editor.click();
    if (mentionBot) {
      const botName = this.config.bot.name;
      await this.page.keyboard.type(`@${botName.slice(0, 3)}`);
      await this.page.locator(SEL.mentionMenuItem).filter({ hasText: botName }).first().click();
      await this.page.keyboard.type(' ');
    }
    // The compose box is a Lexical editor: it needs key events, fill() does not reach it.
    await this.page.keyboard.type(text);
  }

  private async afterSend(conversationId: string, send: () => Promise<void>): Promise<void> {
    const posted = this.page.waitForResponse(
      (r) =>
        r.request().method() === 'POST' &&
        decodeURIComponent(r.url()).includes(`/_conversation/v1/conversations/${conversationId}`),
      { timeout: 15_000 },
    );
    await send();
    const response = await posted;
    if (!response.ok())
      throw new Error(
        `the playground refused the message: HTTP ${response.status()} ${await response.text()}`,
      );
  }

  // --- reading ------------------------------------------------------------------------

  /**
   * Waits for a top-level Adaptive Card whose visible text contains `text` in the current view
   * and returns the newest one (the last in a chat; in a channel, where the newest thread is
   * on top, the first).
   */
  async waitForCardWithText(text: string | RegExp, timeoutMs = 20_000): Promise<Card> {
    const view = this.currentView();
    const candidates = this.page.locator(SEL.card).filter({ hasText: text });
    const newest = view.kind === 'channel' ? candidates.first() : candidates.last();
    await newest.waitFor({ timeout: timeoutMs });
    // Pin it: the element survives card updates (invoke responses, updateActivity) as long as
    // the view is not switched, while "the card with text X" may no longer match after one.
    const mark = `c${++this.cardMarks}`;
    await newest.evaluate(
      (element, value) => element.parentElement?.setAttribute('data-e2e-card', value),
      mark,
    );
    return new Card(this.page.locator(`[data-e2e-card="${mark}"] > .ac-adaptiveCard`), view, this);
  }

  /**
   * The newest chat message (the person's or the bot's: its header, bubble and the notes under
   * it) whose text contains `text`, in the current chat: for a picture of what was typed.
   */
  chatMessage(text: string | RegExp): Locator {
    if (this.currentView().kind === 'channel')
      throw new Error('chatMessage is for a chat; in a channel use a card thread');
    return this.page.locator(SEL.chatMessage).filter({ hasText: text }).last();
  }

  /** Waits for a bot message (text or card) containing `text` in the current view. */
  async waitForBotMessage(text: string | RegExp, timeoutMs = 20_000): Promise<Locator> {
    const view = this.currentView();
    const scope = view.kind === 'channel' ? this.page.locator(SEL.thread) : this.page.locator(SEL.botBubble);
    const found = scope.filter({ hasText: text });
    const newest = view.kind === 'channel' ? found.first() : found.last();
    await newest.waitFor({ timeout: timeoutMs });
    return newest;
  }

  // --- cards --------------------------------------------------------------------------

  /**
   * Clicks a card button by its title. For Action.Execute / Action.Submit it waits for the
   * playground's call to the bot and returns the bot's answer (the page then replaces the card
   * with a returned card). Action.ShowCard only toggles the inner card: returns undefined.
   */
  async clickCardButton(
    card: Card,
    label: string,
    options: { inShowCard?: boolean } = {},
  ): Promise<InvokeResult | undefined> {
    this.assertCurrent(card);
    // `inShowCard`: the button of an opened Action.ShowCard's inner card (e.g. the "Deny" that
    // sends the reason, under the "Deny" that opened it).
    const scope = options.inShowCard ? card.locator.locator('.ac-adaptiveCard') : card.locator;
    const button = scope.getByRole('button', { name: label, exact: true }).first();
    await button.waitFor();
    if ((await button.getAttribute('aria-expanded')) !== null) {
      await button.click();
      return undefined;
    }
    const answered = this.page.waitForResponse(
      (r) =>
        r.request().method() === 'POST' &&
        /\/_conversation\/v1\/(invoke|submit)$/.test(new URL(r.url()).pathname),
      { timeout: 20_000 },
    );
    await button.click();
    return responseResult(await answered);
  }

  /**
   * Sets a card input, found by its label or by its Adaptive Card `id` (the page does not carry
   * input ids: the id is looked up in the card JSON the bot sent, and its label used).
   * Text inputs are filled (`typing`: clicked and typed into key by key); a ChoiceSet takes the
   * choice's title (or value), picked by clicking; a Toggle takes a boolean.
   */
  async fillCardInput(
    card: Card,
    idOrLabel: string,
    value: string | boolean,
    options: { typing?: boolean } = {},
  ): Promise<void> {
    this.assertCurrent(card);
    const definition = this.inputDefinition(idOrLabel);
    const names = [idOrLabel, definition?.label, definition?.placeholder, definition?.title].filter(
      (n): n is string => typeof n === 'string' && n !== '',
    );
    let control: Locator | undefined;
    const fields = card.locator.locator('input, textarea, [role="radiogroup"]');
    for (const name of names) {
      // A required input's label reads "<label> *".
      const label = new RegExp(`^\\s*${escapeRegExp(name)}\\s*\\*?\\s*$`);
      for (const candidate of [
        card.locator.getByLabel(label).and(fields),
        card.locator.getByPlaceholder(name, { exact: true }),
      ]) {
        if ((await candidate.count()) > 0) {
          control = candidate.first();
          break;
        }
      }
      if (control) break;
    }
    if (!control) throw new Error(`no input labelled ${names.map((n) => `"${n}"`).join(' or ')} in the card`);

    const kind = await control.evaluate((element) => ({
      tag: element.tagName.toLowerCase(),
      type: element.getAttribute('type'),
      role: element.getAttribute('role'),
    }));
    if (kind.role === 'combobox') {
      const title = this.choiceTitle(definition, String(value));
      await control.click();
      await this.page.getByRole('option', { name: title, exact: true }).click();
    } else if (kind.type === 'checkbox') {
      await control.setChecked(value === true || value === 'true');
    } else if (kind.role === 'radiogroup') {
      await control
        .getByRole('radio', { name: this.choiceTitle(definition, String(value)), exact: true })
        .check();
    } else if (options.typing) {
      // As a person does it: click into the field, type key by key.
      await control.click();
      await control.pressSequentially(String(value));
    } else {
      await control.fill(String(value));
    }
  }

  /** The newest card input with this id (or label) in what the bot sent. */
  private inputDefinition(id: string): Record<string, unknown> | undefined {
    for (const message of this.messages().reverse()) {
      let found: Record<string, unknown> | undefined;
      for (const card of message.cards) {
        walkCard(card, (element) => {
          if (
            !found &&
            (element.id === id || element.label === id) &&
            typeof element.type === 'string' &&
            element.type.startsWith('Input.')
          )
            found = element;
        });
      }
      if (found) return found;
    }
    return undefined;
  }

  private choiceTitle(definition: Record<string, unknown> | undefined, value: string): string {
    const choices = (definition?.choices ?? []) as { title?: string; value?: string }[];
    return choices.find((c) => c.value === value)?.title ?? value;
  }

  // --- acting as another user -------------------------------------------------------

  /**
   * Clicks a card button as another user of .m365agentsplayground.yml (e.g. "29:megan"): the
   * playground sends the bot the same adaptiveCard/action invoke a click sends, with that user
   * as `from` (name and aadObjectId filled in from the config). The card is found in the
   * recorded messages by a text of its JSON; `inputs` are merged into the action's data as a
   * click merges the card's inputs. The page changes only if the bot updates the message.
   */
  async clickCardButtonAs(
    userId: string,
    cardText: string,
    label: string,
    inputs: Record<string, unknown> = {},
  ): Promise<InvokeResult> {
    // The newest card with that text that has the button (the receipt in the requester's chat
    // may carry the same text), else one that can be refreshed into a view that has it.
    const candidates = this.findMessages(cardText);
    const message =
      candidates.find((m) => findAction(m.cards, label)) ??
      candidates.find((m) => m.cards.some((card) => card.refresh)) ??
      candidates[0];
    if (!message) throw new Error(`the bot sent no card containing "${cardText}" since the page opened`);
    const conversation = { id: invokeConversationId(message) };
    let action = findAction(message.cards, label);
    const refresh = message.cards
      .map((card) => card.refresh as { action?: Record<string, unknown> } | undefined)
      .find((r) => r?.action);
    if (!action && refresh?.action) {
      // Everyone sees the shared card in the playground (it has no user-specific views): ask
      // the bot for this user's view, as Teams does with refresh.userIds, and use its action.
      const view = (await this.sendActivityAs(userId, {
        type: 'invoke',
        name: 'adaptiveCard/action',
        value: { action: refresh.action, trigger: 'automatic' },
        replyToId: message.messageId,
        conversation,
      })) as InvokeResult;
      const body = view.body as { type?: string; value?: unknown } | undefined;
      if (body?.type === 'application/vnd.microsoft.card.adaptive')
        action = findAction([body.value as AdaptiveCardJson], label);
    }
    if (!action)
      throw new Error(
        `the card containing "${cardText}" has no Action.Execute titled "${label}" for ${userId}`,
      );
    const data = { ...((action.data as Record<string, unknown> | undefined) ?? {}), ...inputs };
    return this.sendActivityAs(userId, {
      type: 'invoke',
      name: 'adaptiveCard/action',
      value: { action: { type: action.type, title: label, verb: action.verb, data } },
      replyToId: message.messageId,
      conversation,
    }) as Promise<InvokeResult>;
  }

  /**
   * Sends an activity to the bot as another user, through the playground (its serviceUrl, its
   * conversation ids, so the bot's answers show in the page).
   * - an `adaptiveCard/action` invoke goes through the playground's own invoke API, which fills
   *   in the user from the config and returns the bot's answer (needs `replyToId`, and for a
   *   channel post the conversation id `<channel>;messageid=<root id>`);
   * - anything else is a "custom activity" (Mock an Activity → Custom activity): sent as given
   *   on top of the playground's template for the conversation (default: the current view).
   */
  async sendActivityAs(userId: string, activity: Record<string, unknown>): Promise<InvokeResult | undefined> {
    const user = this.user(userId);
    const conversation = (activity.conversation ?? {}) as { id?: string };
    const conversationId = conversation.id ?? this.currentView().conversationId;
    if (activity.type === 'invoke' && activity.name === 'adaptiveCard/action') {
      if (typeof activity.replyToId !== 'string')
        throw new Error('an adaptiveCard/action invoke needs replyToId (the card message id)');
      const response = await fetch(`${this.url}/_conversation/v1/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: activity.name,
          value: activity.value,
          from: { id: user.id },
          conversation: { id: conversationId },
          replyToId: activity.replyToId,
        }),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body };
    }
    const templateUrl = `${this.url}/_internal/v1/customActivities/template?conversationId=${encodeURIComponent(conversationId.split(';')[0])}`;
    const templateResponse = await fetch(templateUrl);
    if (!templateResponse.ok)
      throw new Error(`GET ${templateUrl}: HTTP ${templateResponse.status} ${await templateResponse.text()}`);
    const template = (await templateResponse.json()) as Record<string, unknown>;
    const channelData = this.channelDataFor(conversationId);
    const full: Record<string, unknown> = {
      ...template,
      ...activity,
      conversation: { ...(template.conversation as object), ...conversation, id: conversationId },
      from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
      channelData: { ...channelData, ...((activity.channelData as object | undefined) ?? {}) },
    };
    const mention = `<at>${this.config.bot.name}</at>`;
    if (
      full.type === 'message' &&
      typeof full.text === 'string' &&
      full.text.includes(mention) &&
      full.entities === undefined
    ) {
      // What Teams (and the compose box) send along with an @mention of the bot.
      full.entities = [
        { type: 'mention', mentioned: { id: this.config.bot.id, name: this.config.bot.name }, text: mention },
      ];
    }
    const response = await fetch(`${this.url}/_internal/v1/customActivities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(full),
    });
    if (!response.ok)
      throw new Error(
        `the playground refused the custom activity: HTTP ${response.status} ${await response.text()}`,
      );
    return undefined;
  }

  /** The channelData Teams sends in a conversation: tenant, and team and channel for a channel. */
  private channelDataFor(conversationId: string): Record<string, unknown> {
    const channelData: Record<string, unknown> = { tenant: { id: this.config.tenantId } };
    const channelId = conversationId.split(';')[0];
    const team = this.config.teams.find((t) => t.channels.some((c) => c.id === channelId));
    if (team) {
      Object.assign(channelData, {
        team: { id: team.id },
        channel: { id: channelId },
        teamsTeamId: team.id,
        teamsChannelId: channelId,
      });
    }
    return channelData;
  }

  // --- evidence -----------------------------------------------------------------------

  /** Saves a screenshot of the page as test-results/e2e/<name>.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    mkdirSync(this.screenshotDir, { recursive: true });
    const file = path.join(this.screenshotDir, `${safeName(name)}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  // --- the WebSocket feed -------------------------------------------------------------

  private onFrame(payload: string): void {
    let frame: {
      action?: string;
      actionConversationId?: string;
      message?: Record<string, unknown>;
      logAction?: string;
      log?: unknown;
    };
    try {
      frame = JSON.parse(payload) as typeof frame;
    } catch {
      return;
    }
    // The log panel's feed: every activity both ways with its HTTP status and bodies (the
    // playground's log file does not have them while a page is connected).
    if (frame.logAction) {
      this.activityLog.push(frame.log as ActivityLogEntry);
      if (this.activityLogFile) appendFileSync(this.activityLogFile, `${JSON.stringify(frame.log)}\n`);
    }
    if ((frame.action !== 'createMessage' && frame.action !== 'updateMessage') || !frame.message) return;
    const message = frame.message;
    const messageId = String(message.messageId);
    const attachments = (message.attachments ?? []) as { contentType?: string; content?: unknown }[];
    const cards = attachments
      .filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')
      .map((a) => a.content as AdaptiveCardJson);
    const previous = this.recorded.get(messageId);
    this.recorded.set(messageId, {
      messageId,
      conversationId: frame.actionConversationId ?? previous?.conversationId ?? '',
      text: typeof message.text === 'string' ? message.text : undefined,
      cards,
      updates: (previous?.updates ?? -1) + 1,
      at: Date.now(),
    });
  }
}

function findAction(cards: AdaptiveCardJson[], title: string): Record<string, unknown> | undefined {
  let action: Record<string, unknown> | undefined;
  for (const card of cards) {
    walkCard(card, (element) => {
      if (
        !action &&
        element.title === title &&
        (element.type === 'Action.Execute' || element.type === 'Action.Submit')
      )
        action = element;
    });
  }
  return action;
}

/** A channel root post is invoked in its thread: `<channel>;messageid=<root id>`. */
function invokeConversationId(message: RecordedMessage): string {
  const isChannelRoot =
    message.conversationId.endsWith('@thread.tacv2') && !message.conversationId.includes(';messageid=');
  return isChannelRoot ? `${message.conversationId};messageid=${message.messageId}` : message.conversationId;
}

async function responseResult(response: Response): Promise<InvokeResult> {
  const text = await response.text();
  try {
    return { status: response.status(), body: JSON.parse(text) as unknown };
  } catch {
    return { status: response.status(), body: text };
  }
}
