/**
 * The PostgreSQL schema, as versioned migrations applied in order by `migrate` (migrate.ts).
 * Never edit a migration that has shipped: add the next version. Each runs in the open()
 * transaction that records it in schema_version, so a migration is applied whole or not at all.
 */
export interface Migration {
  version: number;
  /** What it does, for the logs and for schema_version. */
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'requests, outbox, audit chain, chats, baselines, leases',
    sql: `
-- Requests: the document as JSONB, plus the columns the queries filter on. Ids of people and
-- groups are stored lower-cased (the port compares them case-insensitively).
CREATE TABLE requests (
  id            text PRIMARY KEY,
  status        text NOT NULL,
  is_open       boolean NOT NULL,
  requester_id  text NOT NULL,
  group_alias   text NOT NULL,
  group_id      text NOT NULL,
  created_at    bigint NOT NULL,
  updated_at    bigint NOT NULL,
  due_at        bigint,
  version       integer NOT NULL,
  doc           jsonb NOT NULL
);
-- One open request per person and policy group (the alias, not the Entra group): the store
-- constraint behind REQUEST_OPEN_EXISTS, holding across replicas.
CREATE UNIQUE INDEX requests_one_open ON requests (requester_id, group_alias) WHERE is_open;
CREATE INDEX requests_open ON requests (created_at, id) WHERE is_open;
CREATE INDEX requests_open_by_requester ON requests (requester_id, created_at) WHERE is_open;
CREATE INDEX requests_closed_by_requester ON requests (requester_id, updated_at DESC) WHERE NOT is_open;
CREATE INDEX requests_by_membership ON requests (requester_id, group_id);
CREATE INDEX requests_due ON requests (due_at, id) WHERE due_at IS NOT NULL;

-- The outbox. rank is the claim order the port documents: 0 directory.remove, 1 other
-- directory work, 2 Teams work. A queue's head is its effect of lowest seq.
CREATE SEQUENCE effect_seq;
CREATE TABLE effects (
  id           text PRIMARY KEY,
  request_id   text NOT NULL,
  lane         text NOT NULL,
  queue        text NOT NULL,
  rank         smallint NOT NULL,
  kind         text NOT NULL,
  template     text,
  data         jsonb,
  seq          bigint NOT NULL UNIQUE,
  attempts     integer NOT NULL DEFAULT 0,
  not_before   bigint NOT NULL,
  created_at   bigint NOT NULL,
  last_error   text,
  lease_owner  text,
  lease_token  text,
  lease_until  bigint
);
CREATE INDEX effects_queue ON effects (queue, seq);
CREATE INDEX effects_claim ON effects (rank, not_before, seq);
CREATE INDEX effects_request ON effects (request_id, seq);

-- The audit log: each record's JSON text exactly as written (text, not jsonb: jsonb would
-- reorder keys and refuses \\u0000), and the chain head, one row, locked by each appender.
CREATE TABLE audit (
  seq     bigint PRIMARY KEY,
  record  text NOT NULL
);
CREATE TABLE audit_head (
  id    boolean PRIMARY KEY DEFAULT true CHECK (id),
  seq   bigint NOT NULL,
  hash  text NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (true, 0, repeat('0', 64));

CREATE TABLE personal_chats (
  user_id  text PRIMARY KEY,
  chat     jsonb NOT NULL
);
CREATE TABLE service_urls (
  tenant_id    text PRIMARY KEY,
  service_url  text NOT NULL
);
-- Keyed by the group id lower-cased; doc keeps the id as given.
CREATE TABLE baselines (
  group_id  text PRIMARY KEY,
  version   integer NOT NULL,
  doc       jsonb NOT NULL
);
CREATE TABLE named_leases (
  name   text PRIMARY KEY,
  owner  text NOT NULL,
  until  bigint NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'signed audit checkpoints, shared request rate limit',
    sql: `
-- Signed checkpoints of the audit head (TIMEBOX_AUDIT_KEY), each the JSON text as signed, in
-- the order written (n): every insert happens under the audit_head row lock, so n follows seq.
-- One interval checkpoint per seq, whichever replica crossed it.
CREATE TABLE audit_checkpoints (
  n           bigserial PRIMARY KEY,
  seq         bigint NOT NULL,
  checkpoint  text NOT NULL,
  -- Read from the signed text, so that a row can never say otherwise than its checkpoint.
  reason      text GENERATED ALWAYS AS (checkpoint::jsonb ->> 'reason') STORED,
  key_id      text GENERATED ALWAYS AS (checkpoint::jsonb ->> 'keyId') STORED
);
CREATE UNIQUE INDEX audit_checkpoints_one_per_crossing ON audit_checkpoints (seq) WHERE reason = 'every';
CREATE INDEX audit_checkpoints_by_key ON audit_checkpoints (key_id, n);

-- The request rate limit, shared by all replicas: one row per slot taken (key: a person's id).
CREATE TABLE rate_hits (
  id   bigserial PRIMARY KEY,
  key  text NOT NULL,
  at   bigint NOT NULL
);
CREATE INDEX rate_hits_by_key ON rate_hits (key, at);
`,
  },
  {
    version: 3,
    name: 'welcomes',
    sql: `
-- Who (person:<Entra id>) and which teams (team:<team id>) were welcomed: one row each, ever,
-- so that a re-install on any replica never welcomes again.
CREATE TABLE welcomes (
  key          text PRIMARY KEY,
  welcomed_at  bigint NOT NULL
);
`,
  },
  {
    version: 4,
    name: 'effect leases know their holder',
    sql: `
-- The backend pid of the lease holder's long-lived connection (its change feed) and the server
-- start it was seen under (outbox.ts, OWNER_GONE): a replica that dies mid-effect is seen dead
-- as soon as its connection is gone, rather than when its lease runs out.
ALTER TABLE effects ADD COLUMN lease_pid integer;
ALTER TABLE effects ADD COLUMN lease_server timestamptz;
`,
  },
  {
    version: 5,
    name: 'approval-token signing keys',
    sql: `
-- The keys that sign approval tokens (§11), one row for the whole set, so that every replica
-- signs with and publishes the same keys; versioned like baselines (conditional UPDATE).
-- NB: private keys: whoever can read this table can sign approval tokens.
CREATE TABLE signing_keys (
  id       boolean PRIMARY KEY DEFAULT true CHECK (id),
  version  integer NOT NULL,
  keys     jsonb NOT NULL
);
`,
  },
  {
    version: 6,
    name: 'delegations',
    sql: `
-- The approvers' delegations ("delegate to … until …"), one row for the whole list, so that
-- every replica sees the same ones; versioned like the signing keys (conditional UPDATE).
CREATE TABLE delegations (
  id           boolean PRIMARY KEY DEFAULT true CHECK (id),
  version      integer NOT NULL,
  delegations  jsonb NOT NULL
);
`,
  },
  {
    version: 7,
    name: 'requests by creation time',
    sql: `
-- The insights report (PRODUCT.md §13) reads every request, open or closed, created in a
-- period: requests_open covers open ones only.
CREATE INDEX requests_by_created ON requests (created_at, id);
`,
  },
  {
    version: 8,
    name: 'insight records',
    sql: `
-- What the insights report reads of a request (domain/insights.ts insightRecordOf: the same
-- keys, absent ones left out; the store contract compares the two on every field), kept beside
-- the document, so that a month's report reads a third of the bytes as stored text (json, not
-- jsonb: nothing is rebuilt per row). A trigger computes it on every write, whichever Timebox
-- version writes. NB: rows written before this migration keep it NULL (the report computes
-- theirs as it reads them): filling 100k rows here took 6 s with the table locked, and a
-- rolling deploy's old replicas would have waited that long to record a removal.
CREATE FUNCTION timebox_insight_record(doc jsonb) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object(
    'id', doc->'id',
    'group', jsonb_build_object('alias', doc->'group'->'alias'),
    'approverChannel', doc->'approverChannel',
    'status', doc->'status',
    'kind', doc->'kind',
    'createdAt', doc->'createdAt',
    'durationMs', doc->'durationMs',
    'grantedAt', doc->'grantedAt',
    'expiresAt', doc->'expiresAt',
    'remindedAt', doc->'remindedAt',
    'escalatedAt', doc->'escalatedAt',
    'acknowledgedBy', CASE WHEN doc ? 'acknowledgedBy' THEN jsonb_build_object('id', doc->'acknowledgedBy'->'id') END,
    'acknowledgedAt', doc->'acknowledgedAt',
    'resolution', CASE WHEN doc ? 'resolution' THEN jsonb_build_object('at', doc->'resolution'->'at') END,
    'votes', COALESCE((SELECT jsonb_agg(jsonb_build_object(
        'by', jsonb_build_object('id', v->'by'->'id', 'name', v->'by'->'name'), 'at', v->'at') ORDER BY n)
      FROM jsonb_array_elements(doc->'votes') WITH ORDINALITY AS e(v, n)), '[]'::jsonb),
    'extensions', COALESCE((SELECT jsonb_agg('{}'::jsonb) FROM jsonb_array_elements(doc->'extensions')), '[]'::jsonb)
  ))::json
$$;
ALTER TABLE requests ADD COLUMN insight json;
CREATE FUNCTION timebox_keep_insight_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.insight := timebox_insight_record(NEW.doc);
  RETURN NEW;
END
$$;
CREATE TRIGGER requests_insight_record BEFORE INSERT OR UPDATE OF doc ON requests
  FOR EACH ROW EXECUTE FUNCTION timebox_keep_insight_record();
`,
  },
];

/** The newest schema this code knows. */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));
