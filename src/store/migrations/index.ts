/**
 * The schema, as numbered steps. A step never changes once released: add a new one instead.
 * Tables are keyed by partner tenant first where they belong to a partner, so the schema can be
 * distributed by that key later without redesign.
 */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    id: 1,
    name: 'bot state, conversation references, secrets',
    sql: `
      CREATE TABLE bot_state (
        key         text PRIMARY KEY,
        doc         jsonb NOT NULL,
        etag        text NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE conversation_references (
        tenant_id          text NOT NULL,
        conversation_id    text NOT NULL,
        conversation_type  text NOT NULL,
        reference          jsonb NOT NULL,
        installed          boolean NOT NULL DEFAULT true,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, conversation_id)
      );

      CREATE TABLE secrets (
        name        text PRIMARY KEY,
        nonce       bytea NOT NULL,
        ciphertext  bytea NOT NULL,
        auth_tag    bytea NOT NULL,
        key_id      text NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
];
