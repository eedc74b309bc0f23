// The JSON Schema of a `sql:` step's settings: assembled into schema/scenario.schema.json as `$defs.sqlQuery` by
// `npm run generate` (engine/build/gen-schema.mjs). Edit here, then regenerate.

import type { JsonSchema } from '../types.js';

export const schema: JsonSchema = {
  "type": "object",
  "additionalProperties": false,
  "required": [
    "query"
  ],
  "description": "A SQL statement on PostgreSQL, always with bound parameters.",
  "properties": {
    "query": {
      "type": "string",
      "minLength": 1,
      "description": "The statement, with `$1`, `$2`… placeholders.",
      "examples": [
        "SELECT * FROM debates WHERE topic = $1"
      ]
    },
    "params": {
      "type": "array",
      "description": "Values bound to the placeholders (templates allowed).",
      "items": {
        "type": [
          "string",
          "number",
          "boolean",
          "null"
        ]
      }
    },
    "db": {
      "type": "string",
      "description": "The database: a service name (a `postgres` service) or a `postgres://` URL. Default: the " +
        "scenario's only postgres service."
    },
    "explain": {
      "enum": [
        true,
        false,
        "analyze"
      ],
      "description": "Take the statement's query plan on its first execution (EXPLAIN, with that execution's " +
        "parameters) into the report and the `sql.plan.*` metrics: `true` the planner's estimate; `analyze` also " +
        "runs it (EXPLAIN ANALYZE, rolled back) for the actual time and rows. Shows whether an index is used.",
      "examples": [
        "analyze"
      ]
    }
  }
};
