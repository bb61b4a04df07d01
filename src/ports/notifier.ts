/** Where a message lives, so it can be updated or replied to. */
export interface MessageRef {
  serviceUrl: string;
  conversationId: string;
  activityId: string;
}

/** An approvers' channel, as Teams knows it. */
export interface ChannelTarget {
  serviceUrl: string;
  tenantId?: string;
  teamId: string;
  channelId: string;
}

/** A person's personal chat with the bot, learned from their messages. */
export interface PersonalChat {
  serviceUrl: string;
  tenantId?: string;
  conversationId: string;
  /** The Teams user id (29:...) and the bot's id in that conversation. */
  userId: string;
  botId: string;
  /** The person's IANA time zone from their latest activity, when Teams sent a valid one. */
  timeZone?: string;
}

/** A person to @mention in a message. */
export interface Mention {
  /** Teams id (29:...) or Entra object id. */
  id: string;
  name: string;
}

/** A message: text (plain, not markdown that users wrote), and/or one Adaptive Card. */
export interface OutgoingMessage {
  text?: string;
  card?: object;
  mentions?: Mention[];
}

/** Sends and updates what people see in Teams. Implementations retry transient failures. */
export interface Notifier {
  /** Starts a new thread in a channel with a card; returns where it is. */
  postToChannel(channel: ChannelTarget, message: OutgoingMessage): Promise<MessageRef>;
  /** Replaces a card that was posted earlier, for everyone. */
  updateCard(ref: MessageRef, card: object): Promise<void>;
  /** Replies in the thread that `ref` started. */
  replyInThread(ref: MessageRef, message: OutgoingMessage): Promise<void>;
  /** Sends a message in a person's personal chat; returns where it is. */
  sendToPerson(chat: PersonalChat, message: OutgoingMessage): Promise<MessageRef>;
}
