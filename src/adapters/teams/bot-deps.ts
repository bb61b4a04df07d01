import type { AccessService } from '../../app/access-service';
import type { DelegationService } from '../../app/delegations';
import type { Clock } from '../../ports/clock';
import type { Directory } from '../../ports/directory';
import type { Logger } from '../../ports/logger';
import type { Store } from '../../ports/store';

export interface BotDeps {
  service: AccessService;
  store: Store;
  directory: Directory;
  logger: Logger;
  clock: Clock;
  /** `delegate to … until …` / `delegate off`; absent: one over `store`, `directory` and the service's authorizer. */
  delegations?: DelegationService;
  /** When set, activities from any other tenant are refused. */
  tenantId?: string;
  /** Learns the bot's own Teams id from incoming activities (for proactive sends). */
  onBotId?: (id: string) => void;
}
