import { ConnectorFactory, type ConnectorClient } from 'botframework-connector';

/** Clients remembered at most (Teams uses a handful of service URLs; made-up ones must not grow memory). */
const MAX_CLIENTS = 64;

/**
 * Bot Framework clients made once per key and kept. NB: botbuilder makes a new ConnectorClient
 * and a new UserTokenClient (each an HTTP pipeline of a dozen policies around its credentials)
 * for every incoming turn and every proactive call: ~0.8 ms of CPU and a pipeline's worth of
 * garbage each, seven of them per approval. A client holds nothing of a turn; its credentials
 * fetch and renew the token themselves, so one per key serves every call.
 */
export class KeptClients<T> {
  private readonly clients = new Map<string, Promise<T>>();

  /** The client kept under `key`, made by `make` the first time. */
  get(key: string, make: () => Promise<T>): Promise<T> {
    const known = this.clients.get(key);
    if (known) return known;
    if (this.clients.size >= MAX_CLIENTS) this.clients.clear();
    const made = make();
    this.clients.set(key, made);
    // A client that could not be made (its credentials failed) is made again next time.
    made.catch(() => {
      if (this.clients.get(key) === made) this.clients.delete(key);
    });
    return made;
  }
}

/**
 * The connector factory of an authenticated incoming activity, keeping the clients it makes
 * (by app id, service URL and audience) across turns. The clients are botbuilder's as they are,
 * its own retry policy included: replies within a turn behave as before.
 */
export class KeptConnectorFactory extends ConnectorFactory {
  constructor(
    private readonly inner: ConnectorFactory,
    private readonly clients: KeptClients<ConnectorClient>,
    private readonly appId: string,
  ) {
    super();
  }

  create(serviceUrl: string, audience?: string): Promise<ConnectorClient> {
    return this.clients.get(JSON.stringify([this.appId, serviceUrl, audience ?? null]), () =>
      this.inner.create(serviceUrl, audience),
    );
  }
}
